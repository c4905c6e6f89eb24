/* cli/metrics.h — Prometheus metrics: the text-format writer, a histogram, and the /metrics + /healthz server on libevent. */
#ifndef VPCBPF_METRICS_H
#define VPCBPF_METRICS_H

#include <stdbool.h>
#include <stdint.h>

/*
 * One server serves one host: `vpcbpf metrics [ADDR:]PORT` alone (the
 * datapath's families), or inside `vpcbpf agent`, which adds its own
 * families and its sync state through struct metrics_hooks. Everything runs
 * on the caller's libevent loop, in its thread: a hook never races the
 * code that changes what it reports.
 *
 * Names follow Prometheus' conventions: the vpcbpf_ prefix, counters end in
 * _total, base units (seconds, bytes) in the name. docs/metrics.md lists
 * every family.
 */

struct event_base;
struct metrics_out; /* the response of one scrape, being written */
struct metrics_server;

enum metrics_type { METRICS_COUNTER, METRICS_GAUGE, METRICS_HISTOGRAM };

/* The HELP and TYPE lines of a family; its samples follow at once (a family is never split). */
void metrics_family(struct metrics_out *o, const char *name, enum metrics_type type, const char *help);

/*
 * One sample, `name{label="value",...} v`. The variable part is label
 * name/value pairs ended by NULL: metrics_u64(o, "vpcbpf_x_total", 3, "vpc", "100", NULL).
 * Values are escaped as the format wants (\\, \", \n); names are the caller's constants.
 */
void metrics_u64(struct metrics_out *o, const char *name, uint64_t v, ...) __attribute__((sentinel));
void metrics_double(struct metrics_out *o, const char *name, double v, ...) __attribute__((sentinel));

/* ---- histogram: fixed buckets, observed in the loop's thread (no locking) ---- */
#define METRICS_MAX_BUCKETS 24
struct metrics_histogram {
	double bounds[METRICS_MAX_BUCKETS];       /* upper bounds, ascending; +Inf is implied */
	uint64_t counts[METRICS_MAX_BUCKETS + 1]; /* per bucket, not cumulative; the last is +Inf */
	unsigned nbounds;
	uint64_t count;
	double sum;
};

/* Bounds for durations of transactions and syncs, in seconds: 1 ms .. 30 s. */
extern const double metrics_duration_bounds[];
extern const unsigned metrics_duration_nbounds;

/* 0, or -EINVAL when the bounds are not strictly ascending finite numbers, or more than METRICS_MAX_BUCKETS. */
int metrics_histogram_init(struct metrics_histogram *h, const double *bounds, unsigned n);
void metrics_histogram_observe(struct metrics_histogram *h, double v);
/* The whole family: HELP, TYPE, cumulative name_bucket{le=...}, name_sum, name_count. name has no suffix. */
void metrics_histogram_write(struct metrics_out *o, const char *name, const char *help,
			     const struct metrics_histogram *h);

/* ---- the server ---- */
struct metrics_hooks {
	/* Writes the caller's own families after the datapath's (applied revision, sync lag, etcd, hosts...). */
	void (*write)(struct metrics_out *o, void *ctx);
	/* /healthz: true once synced; else *why is a short reason for the 503 body. NULL: healthy when the
	 * datapath is loaded. */
	bool (*synced)(void *ctx, const char **why);
};

/*
 * Listens on [ADDR:]PORT (IPv4 address or [IPv6]; no ADDR: every address;
 * PORT 0: the kernel picks one, see metrics_address) and serves GET
 * /metrics and /healthz on base. The datapath families are read from the
 * pinned maps under pin_dir at every scrape, so a `dp down`/`dp up` in
 * between is seen. hooks may be NULL. NULL after printing one error line
 * (bad address, port in use...). Ignores SIGPIPE for the process (a scraper
 * that hangs up must not kill the agent).
 */
struct metrics_server *metrics_start(struct event_base *base, const char *addr_port, const char *pin_dir,
				     const struct metrics_hooks *hooks, void *ctx);
void metrics_stop(struct metrics_server *m);
/* The address it listens on, "ADDR:PORT" (the real port when PORT was 0). */
const char *metrics_address(const struct metrics_server *m);

/* The datapath's families (cli/metrics_datapath.c); false when the datapath is not loaded there. */
bool metrics_write_datapath(struct metrics_out *o, const char *pin_dir);
/* Whether the datapath under pin_dir is loaded and up (dp up has completed). */
bool metrics_datapath_up(const char *pin_dir);

#endif
