/* cli/metrics.h — Prometheus metrics: the text-format writer and a histogram (the server: cli/metrics_server.h). */
#ifndef VPCBPF_METRICS_H
#define VPCBPF_METRICS_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Names follow Prometheus' conventions: the vpcbpf_ prefix, counters end in
 * _total, base units (seconds, bytes) in the name. docs/metrics.md lists
 * every family.
 */

struct evbuffer;
/* the response of one scrape, being written (the server makes one per scrape) */
struct metrics_out {
	struct evbuffer *buf;
};

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

#endif
