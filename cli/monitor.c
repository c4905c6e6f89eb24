/* cli/monitor.c — vpcbpf monitor: streams the datapath's drop events (what, where, why) until stopped. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <bpf/libbpf.h>
#include "cli/cli.h"
#include "maps/clock.h"

#define POLL_MS 200

static volatile sig_atomic_t stop;

struct monitor {
	__u64 count, limit;   /* events printed; 0 = no limit */
	int reason;           /* only this drop reason; 0 = all */
	__u64 since;          /* events older than the monitor (left unread in the ring) are skipped */
	__s64 mono_to_real;   /* add to bpf_ktime_get_ns to get wall-clock ns */
	bool out_closed;
};

static void on_signal(int sig)
{
	stop = 1;
}

static const char *proto_str(__u8 proto, char buf[8])
{
	switch (proto) {
	case IPPROTO_TCP: return "tcp";
	case IPPROTO_UDP: return "udp";
	case IPPROTO_ICMP: return "icmp";
	default: snprintf(buf, 8, "%u", proto); return buf;
	}
}

/* The ethertype by name where it has a common one, else 0xNNNN: always a string. */
static const char *ethertype_str(__u16 t, char buf[8])
{
	switch (t) {
	case 0x0800: return "ipv4";
	case 0x0806: return "arp";
	case 0x86dd: return "ipv6";
	case 0x8100: return "vlan";
	case 0x88a8: return "qinq";
	case 0x8847: return "mpls";
	case 0x88cc: return "lldp";
	default: snprintf(buf, 8, "0x%04x", t); return buf;
	}
}

static const char *arp_op_str(__u16 op, char buf[8])
{
	switch (op) {
	case 1: return "request";
	case 2: return "reply";
	default: snprintf(buf, 8, "%u", op); return buf;
	}
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct monitor *m = ctx;
	const struct drop_event *ev = data;
	char when[40], ifname[IF_NAMESIZE], b1[16], b2[16], pb[8], eb[8];
	__s64 real;
	time_t secs;
	struct tm tm;

	if (size < sizeof(*ev) || m->out_closed || (m->limit && m->count >= m->limit))
		return 0;
	if ((m->reason && ev->reason != m->reason) || ev->ts_ns < m->since)
		return 0;
	real = (__s64)ev->ts_ns + m->mono_to_real;
	secs = (time_t)(real / 1000000000LL);
	gmtime_r(&secs, &tm);
	snprintf(when, sizeof(when), "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long long)(real % 1000000000LL) / 1000);
	if (!ev->ifindex || !if_indextoname(ev->ifindex, ifname))
		snprintf(ifname, sizeof(ifname), ev->ifindex ? "#%u" : "-", ev->ifindex);

	pr_begin_obj();
	pr_str("time", "%s", when);
	pr_str("dev", " dev %s", ifname);
	pr_u64("vpc", " vpc %llu", ev->vni);
	pr_str("reason", " %s", drop_reason_name(ev->reason));
	/*
	 * One type per field: strings stay strings, numbers numbers, and a field that does not
	 * apply is left out (no "-" or 0.0.0.0 for a frame that has no IP header).
	 */
	if (ev->eth_proto == 0x0806) {
		pr_str("ethertype", " %s", "arp");
		pr_str("arp_op", " %s", arp_op_str(ev->arp_op, pb));
		pr_str("src", " %s", ip_str(ev->saddr, b1)); /* sender and target protocol addresses */
		pr_str("dst", " > %s", ip_str(ev->daddr, b2));
	} else if (ev->eth_proto && ev->eth_proto != 0x0800) {
		pr_str("ethertype", " ethertype %s", ethertype_str(ev->eth_proto, eb));
	} else {
		/* IPv4, or a decapsulated drop whose inner frame was not parsed as far (eth_proto 0) */
		pr_str("ethertype", NULL, "ipv4");
		if (ev->proto || ev->saddr || ev->daddr) {
			pr_str("proto", " %s", proto_str(ev->proto, pb));
			pr_str("src", " %s", ip_str(ev->saddr, b1));
			if (ev->proto == IPPROTO_TCP || ev->proto == IPPROTO_UDP)
				pr_u64("sport", ":%llu", ntohs(ev->sport));
			pr_str("dst", " > %s", ip_str(ev->daddr, b2));
			if (ev->proto == IPPROTO_TCP || ev->proto == IPPROTO_UDP)
				pr_u64("dport", ":%llu", ntohs(ev->dport));
		}
	}
	if (ev->reason == DROP_SG_INGRESS || ev->reason == DROP_SG_EGRESS || ev->reason == DROP_CT_FULL) {
		/* the rule's priority; 0 = no rule matched, the group's default */
		pr_u64("rule", ev->rule ? " rule %llu" : NULL, ev->rule);
		if (!ev->rule)
			pr_text(" rule default");
	}
	pr_end_obj();
	pr_flush();
	m->count++;
	if (ferror(stdout))
		m->out_closed = true;
	return 0;
}

/* A pipe whose reader went away reports POLLERR on our end even before we write. */
static bool stdout_closed(void)
{
	struct pollfd p = { .fd = STDOUT_FILENO, .events = 0 };
	return poll(&p, 1, 0) > 0 && (p.revents & (POLLERR | POLLHUP | POLLNVAL));
}

static int do_monitor(int argc, char **argv)
{
	struct monitor m = { 0 };
	struct ring_buffer *rb;
	struct sigaction sa;
	struct store *s;
	__u32 timeout = 0;
	__s64 deadline = 0;
	int err = 0;

	for (; argc > 0; argc--, argv++) {
		const char *val;
		__u32 n;
		if (matches(*argv, "drops")) {
			continue; /* the only kind of event there is, for now */
		} else if (matches(*argv, "reason")) {
			if (!(val = next_value(&argc, &argv, "reason")))
				return 1;
			for (m.reason = 1; m.reason < DROP__MAX && strcmp(val, drop_reason_name(m.reason)); m.reason++)
				;
			if (m.reason == DROP__MAX)
				return fail("invalid reason \"%s\" (see 'vpcbpf stats help' for the names)", val);
		} else if (matches(*argv, "count")) {
			if (!(val = next_value(&argc, &argv, "count")) || parse_u32(val, "count", &n, 1, UINT32_MAX))
				return 1;
			m.limit = n;
		} else if (matches(*argv, "timeout")) {
			if (!(val = next_value(&argc, &argv, "timeout")) || parse_u32(val, "timeout", &timeout, 1, 86400 * 365))
				return 1;
		} else {
			return unknown_word(*argv);
		}
	}
	if (!(s = store_get(false)))
		return 1;
	rb = ring_buffer__new(s->fd[SM_EVENTS], on_event, &m, NULL);
	if (!rb)
		return fail_errno(errno, "cannot open the event ring buffer under %s", opts.pin_dir);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal; /* no SA_RESTART: the poll returns EINTR and the loop ends */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN); /* a closed stdout is an error on write, seen below */
	m.mono_to_real = clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_MONOTONIC);
	m.since = (__u64)clock_ns(CLOCK_MONOTONIC);
	if (timeout)
		deadline = clock_ns(CLOCK_MONOTONIC) + (__s64)timeout * 1000000000LL;
	if (!opts.json) {
		fprintf(stderr, "monitoring drops at %s (Ctrl-C to stop)\n", opts.pin_dir);
	}

	while (!stop && !m.out_closed && !(m.limit && m.count >= m.limit)) {
		int n = ring_buffer__poll(rb, POLL_MS);
		if (n < 0 && n != -EINTR) {
			err = fail_errno(n, "reading drop events");
			break;
		}
		if (deadline && clock_ns(CLOCK_MONOTONIC) >= deadline)
			break;
		if (stdout_closed())
			break;
	}
	ring_buffer__free(rb);
	pr_printed(); /* the lines were the output: no final {} */
	return err;
}

static const struct cmd cmds[] = {
	{ "drops", do_monitor }, { 0 },
};

const struct object obj_monitor = {
	.name = "monitor",
	.cmds = cmds,
	.args_without_verb = true,
	.usage = "monitor [drops] [reason REASON] [count N] [timeout SECONDS]\n"
		 "Streams drop events: time, host device, VPC, reason, protocol, addresses and ports, and for\n"
		 "security-group drops the rule's priority (default: no rule matched). -j prints JSON lines.\n"
		 "Drops of one reason are sampled per CPU: the first and then every 16th; stats counts them all.",
};
