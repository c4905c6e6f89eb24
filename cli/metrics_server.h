/* cli/metrics_server.h — the /metrics + /healthz server of `vpcbpf metrics` and of the agent, on libevent. */
#ifndef VPCBPF_METRICS_SERVER_H
#define VPCBPF_METRICS_SERVER_H

#include <stdbool.h>
#include "cli/metrics.h"

/*
 * One server serves one host: `vpcbpf metrics [ADDR:]PORT` alone (the
 * datapath's families), or inside `vpcbpf agent`, which adds its own
 * families and its sync state through struct metrics_hooks. Everything runs
 * on the caller's libevent loop, in its thread: a hook never races the
 * code that changes what it reports.
 */

struct event_base;
struct metrics_server;

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

#endif
