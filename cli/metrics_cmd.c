/* cli/metrics_cmd.c — vpcbpf metrics [ADDR:]PORT: serves one host's datapath metrics in the foreground. */
#include <signal.h>
#include <stdio.h>
#include <event2/event.h>
#include "cli/cli.h"
#include "cli/metrics.h"
#include "cli/metrics_datapath.h"
#include "cli/metrics_server.h"

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	event_base_loopbreak(arg);
}

static int do_metrics(int argc, char **argv)
{
	struct event *term = NULL, *intr = NULL;
	struct metrics_server *m = NULL;
	struct event_base *base;
	int err = 0;

	if (argc < 1)
		return fail("metrics: missing [ADDR:]PORT (try 'vpcbpf metrics help')");
	if (argc > 1)
		return unknown_word(argv[1]);
	if (!(base = event_base_new()))
		return fail("metrics: cannot create the event loop");
	/* signals first: a SIGTERM right after the listen line must still end us cleanly */
	term = evsignal_new(base, SIGTERM, on_signal, base);
	intr = evsignal_new(base, SIGINT, on_signal, base);
	if (!term || !intr || evsignal_add(term, NULL) || evsignal_add(intr, NULL)) {
		err = fail("metrics: cannot handle signals");
		goto out;
	}
	if (!(m = metrics_start(base, argv[0], opts.pin_dir, NULL, NULL))) {
		err = 1;
		goto out;
	}
	/* one line on stderr, so that a test (or an operator with port 0) learns the port */
	fprintf(stderr, "vpcbpf: serving metrics of %s on http://%s/metrics\n", opts.pin_dir, metrics_address(m));
	if (!metrics_datapath_up(opts.pin_dir))
		fprintf(stderr, "vpcbpf: the datapath is not loaded at %s yet: vpcbpf_datapath_up is 0\n", opts.pin_dir);
	if (event_base_dispatch(base) < 0)
		err = fail("metrics: the event loop failed");
out:
	metrics_stop(m);
	if (term)
		event_free(term);
	if (intr)
		event_free(intr);
	event_base_free(base);
	pr_printed(); /* a server prints no document */
	return err;
}

static const struct cmd cmds[] = {
	{ "serve", do_metrics }, { 0 },
};

const struct object obj_metrics = {
	.name = "metrics",
	.cmds = cmds,
	.no_verbs = true,
	.usage = "metrics [ADDR:]PORT\n"
		 "Serves this host's datapath metrics in Prometheus text format on http://ADDR:PORT/metrics\n"
		 "and /healthz (200 once the datapath is up, 503 before) until SIGTERM or SIGINT.\n"
		 "ADDR: an IPv4 address or [IPV6]; without it, every address. PORT 0 picks a free port\n"
		 "(printed on stderr). 'vpcbpf agent ... metrics PORT' serves the same plus the agent's families.",
};
