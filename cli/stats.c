/* cli/stats.c — vpcbpf stats: drop counters by reason and traffic counters by NIC (summed over CPUs). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include "cli/cli.h"

static void nic_counters_print(struct store *s, const struct nic_key *k)
{
	__u64 c[NIC_STATS_WORDS];
	struct nic_stats st;
	char b1[16];

	if (store_percpu_sum(s->fd[SM_NIC_STATS], k, c, NIC_STATS_WORDS))
		memset(c, 0, sizeof(c));
	memcpy(&st, c, sizeof(st));
	pr_begin_obj();
	pr_str("ip", "nic %s", ip_str(k->ip, b1));
	pr_u64("vpc", " vpc %llu", k->vni);
	pr_u64("tx_packets", " tx %llu packets", st.tx_packets);
	pr_u64("tx_bytes", " %llu bytes", st.tx_bytes);
	pr_u64("rx_packets", " rx %llu packets", st.rx_packets);
	pr_u64("rx_bytes", " %llu bytes", st.rx_bytes);
	pr_u64("drops", " drops %llu", st.drops);
	{
		__u64 ct = 0;

		if (bpf_map_lookup_elem(s->fd[SM_CT_COUNTS], k, &ct))
			ct = 0;
		pr_u64("conntrack_entries", " conntrack %llu", ct);
	}
	/* by reason, as the host-wide counters: JSON names every reason, text the ones that happened */
	pr_begin_nested("drop_reasons");
	for (__u32 r = 1; r < DROP__MAX; r++)
		if (opts.json || st.drop_reason[r]) {
			char fmt[64];
			snprintf(fmt, sizeof(fmt), " %s %%llu", drop_reason_name(r));
			pr_u64(drop_reason_name(r), fmt, st.drop_reason[r]);
		}
	pr_end_nested();
	pr_end_obj();
}

struct key_list {
	struct nic_key *keys;
	size_t n, cap;
};

static int collect(const void *key, const void *value, void *ctx)
{
	struct key_list *l = ctx;
	struct nic_key *row = store_row_push((void **)&l->keys, &l->n, &l->cap, sizeof(*row));
	if (!row)
		return -ENOMEM;
	*row = *(const struct nic_key *)key;
	return 0;
}

static int cmp_keys(const void *a, const void *b)
{
	const struct nic_key *x = a, *y = b;
	if (x->vni != y->vni)
		return x->vni < y->vni ? -1 : 1;
	return ntohl(x->ip) < ntohl(y->ip) ? -1 : ntohl(x->ip) > ntohl(y->ip);
}

static int do_show(int argc, char **argv)
{
	struct nic_key one = { 0 };
	bool have_nic = false, have_vpc = false;
	struct key_list l = { 0 };
	struct store *s;
	char b1[16];

	for (; argc > 0; argc--, argv++) {
		const char *val;
		if (matches(*argv, "nic")) {
			if (!(val = next_value(&argc, &argv, "nic")) || parse_ip(val, &one.ip))
				return 1;
			have_nic = true;
		} else if (matches(*argv, "vpc")) {
			if (!(val = next_value(&argc, &argv, "vpc")) || parse_vni(val, &one.vni))
				return 1;
			have_vpc = true;
		} else {
			return unknown_word(*argv);
		}
	}
	if (have_nic && !have_vpc)
		return fail("stats nic: missing \"vpc VNI\"");
	if (!(s = store_get(false)))
		return 1;
	if (have_nic) {
		struct nic n;
		if (store_nic(s, one.vni, one.ip, &n))
			return fail("NIC %s does not exist in VPC %u", ip_str(one.ip, b1), one.vni);
		pr_begin_list();
		nic_counters_print(s, &one);
		pr_end_list();
		return 0;
	}
	pr_begin_obj();
	pr_begin_nested("drops");
	pr_text("drops:");
	__u64 total = 0;
	for (__u32 r = 1; r < DROP__MAX; r++) {
		__u64 n;
		if (store_percpu_sum(s->fd[SM_DROPS], &r, &n, 1))
			n = 0;
		total += n;
		/* JSON lists every reason so scripts can rely on the keys; text shows what happened. */
		if (opts.json || n) {
			char fmt[64];
			snprintf(fmt, sizeof(fmt), " %s %%llu", drop_reason_name(r));
			pr_u64(drop_reason_name(r), fmt, n);
		}
	}
	pr_end_nested();
	pr_u64("drops_total", total ? NULL : " none", total);
	pr_text("\n");
	/* the NICs are the nics map's keys (a per-CPU value is too big to walk in batches) */
	if (store_foreach(s->fd[SM_NICS], sizeof(struct nic_key), sizeof(struct nic), collect, &l))
		return fail("out of memory");
	qsort(l.keys, l.n, sizeof(*l.keys), cmp_keys);
	pr_begin_array("nics");
	for (size_t i = 0; i < l.n; i++)
		if (!have_vpc || l.keys[i].vni == one.vni)
			nic_counters_print(s, &l.keys[i]);
	pr_end_array();
	pr_end_obj();
	free(l.keys);
	return 0;
}

static const struct cmd cmds[] = {
	{ "show", do_show }, { 0 },
};

const struct object obj_stats = {
	.name = "stats",
	.cmds = cmds,
	.args_without_verb = true,
	.usage = "stats [show] [nic IP vpc VNI | vpc VNI]\n"
		 "Drop counters by reason and per-NIC counters (tx: sent by the VM, rx: delivered to it)",
};
