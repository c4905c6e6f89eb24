/* cli/stats.c — vpcbpf stats: drops by reason for the host, each VPC and each NIC; NIC traffic; reset; help. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "cli/cli.h"

/* What the words after stats name: the host (neither), a VPC, or one NIC. */
struct stats_scope {
	struct nic_key nic;
	bool have_nic, have_vpc;
};

/* One NIC's counters, summed over the CPUs. */
struct nic_row {
	struct nic_key key;
	struct nic nic;
	struct nic_stats st;
};

struct nic_rows {
	struct nic_row *rows;
	size_t n, cap;
	__u32 vni; /* only this VPC's NICs; 0 = all */
};

static int parse_scope(int argc, char **argv, struct stats_scope *sc)
{
	memset(sc, 0, sizeof(*sc));
	for (; argc > 0; argc--, argv++) {
		const char *val;
		if (matches(*argv, "nic")) {
			if (!(val = next_value(&argc, &argv, "nic")) || parse_ip(val, &sc->nic.ip))
				return 1;
			sc->have_nic = true;
		} else if (matches(*argv, "vpc")) {
			if (!(val = next_value(&argc, &argv, "vpc")) || parse_vni(val, &sc->nic.vni))
				return 1;
			sc->have_vpc = true;
		} else {
			return unknown_word(*argv);
		}
	}
	if (sc->have_nic && !sc->have_vpc)
		return fail("stats nic: missing \"vpc VNI\"");
	return 0;
}

/* A filter names something that exists, or the command refuses it (not the whole host's numbers). */
static int check_scope(struct store *s, const struct stats_scope *sc)
{
	struct vpc v;
	struct nic n;
	char b1[16];

	if (sc->have_nic && store_nic(s, sc->nic.vni, sc->nic.ip, &n))
		return fail("NIC %s does not exist in VPC %u", ip_str(sc->nic.ip, b1), sc->nic.vni);
	if (sc->have_vpc && !sc->have_nic && store_vpc(s, sc->nic.vni, &v))
		return fail("VPC %u does not exist", sc->nic.vni);
	return 0;
}

static int collect(const void *key, const void *value, void *ctx)
{
	struct nic_rows *l = ctx;
	const struct nic_key *k = key;
	struct nic_row *row;

	if (l->vni && k->vni != l->vni)
		return 0;
	row = store_row_push((void **)&l->rows, &l->n, &l->cap, sizeof(*row));
	if (!row)
		return -ENOMEM;
	memset(row, 0, sizeof(*row));
	row->key = *k;
	row->nic = *(const struct nic *)value;
	return 0;
}

static int cmp_rows(const void *a, const void *b)
{
	const struct nic_key *x = &((const struct nic_row *)a)->key, *y = &((const struct nic_row *)b)->key;
	if (x->vni != y->vni)
		return x->vni < y->vni ? -1 : 1;
	return ntohl(x->ip) < ntohl(y->ip) ? -1 : ntohl(x->ip) > ntohl(y->ip);
}

/* The NICs (of one VPC, or all) with their counters, sorted by VPC and address. */
static int nic_rows_load(struct store *s, __u32 vni, struct nic_rows *l)
{
	memset(l, 0, sizeof(*l));
	l->vni = vni;
	/* the NICs are the nics map's keys (a per-CPU value is too big to walk in batches) */
	if (store_foreach(s->fd[SM_NICS], sizeof(struct nic_key), sizeof(struct nic), collect, l))
		return fail("out of memory");
	for (size_t i = 0; i < l->n; i++)
		if (store_nic_stats(s, &l->rows[i].key, &l->rows[i].nic, &l->rows[i].st)) {
			free(l->rows);
			return fail("out of memory");
		}
	qsort(l->rows, l->n, sizeof(*l->rows), cmp_rows);
	return 0;
}

/*
 * "drops_total": N and "drops": {reason: N...} at every level (host, VPC, NIC): one type per field.
 * JSON names every reason so scripts can rely on the keys; text shows those that happened.
 */
static void drops_print(const __u64 *by_reason, __u64 total)
{
	pr_u64("drops_total", total ? " drops %llu:" : " drops none", total);
	pr_begin_nested("drops");
	for (__u32 r = 1; r < DROP__MAX; r++)
		if (opts.json || by_reason[r]) {
			char fmt[64];
			snprintf(fmt, sizeof(fmt), " %s %%llu", drop_reason_name(r));
			pr_u64(drop_reason_name(r), fmt, by_reason[r]);
		}
	pr_end_nested();
}

static void nic_row_print(struct store *s, const struct nic_row *r)
{
	__u64 ct = 0;

	char b1[16], ifname[IF_NAMESIZE];

	pr_begin_obj();
	pr_str("ip", "nic %s", ip_str(r->key.ip, b1));
	pr_u64("vpc", " vpc %llu", r->key.vni);
	/* where it lives, as nic show says it */
	if (r->nic.flags & NIC_F_LOCAL) {
		const char *name = if_indextoname(r->nic.ifindex, ifname);
		pr_str("dev", " dev %s", name ? name : "(gone)");
	} else {
		pr_str("remote", " remote %s", ip_str(r->nic.remote, b1));
	}
	pr_u64("tx_packets", " tx %llu packets", r->st.tx_packets);
	pr_u64("tx_bytes", " %llu bytes", r->st.tx_bytes);
	pr_u64("rx_packets", " rx %llu packets", r->st.rx_packets);
	pr_u64("rx_bytes", " %llu bytes", r->st.rx_bytes);
	/* the NIC's live conntrack entries (its quota counts these) */
	if (bpf_map_lookup_elem(s->fd[SM_CT_COUNTS], &r->key, &ct))
		ct = 0;
	pr_u64("conntrack_entries", " conntrack %llu", ct);
	/* its NAT mappings (docs/nat.md): what its quota counts, dead ones not yet swept included */
	if (bpf_map_lookup_elem(s->fd[SM_NAT_COUNTS], &r->key, &ct))
		ct = 0;
	pr_u64("nat_mappings", " nat %llu", ct);
	drops_print(r->st.drop_reason, r->st.drops);
	pr_end_obj();
}

struct vpc_list {
	__u32 *vnis;
	size_t n, cap;
};

static int collect_vpc(const void *key, const void *value, void *ctx)
{
	struct vpc_list *l = ctx;
	__u32 *row = store_row_push((void **)&l->vnis, &l->n, &l->cap, sizeof(*row));
	if (!row)
		return -ENOMEM;
	*row = *(const __u32 *)key;
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;
	return x < y ? -1 : x > y;
}

/* A VPC's drops are its NICs' drops: what the datapath dropped from or to a NIC of this VPC on this host. */
static void vpc_print(__u32 vni, const struct nic_rows *l)
{
	__u64 by_reason[DROP__MAX] = { 0 }, total = 0;

	for (size_t i = 0; i < l->n; i++) {
		if (l->rows[i].key.vni != vni)
			continue;
		total += l->rows[i].st.drops;
		for (__u32 r = 1; r < DROP__MAX; r++)
			by_reason[r] += l->rows[i].st.drop_reason[r];
	}
	pr_begin_obj();
	pr_u64("vpc", "vpc %llu", vni);
	drops_print(by_reason, total);
	pr_end_obj();
}

static int sum_u64(const void *key, const void *value, void *ctx)
{
	(void)key;
	*(__u64 *)ctx += *(const __u64 *)value;
	return 0;
}

static int do_show(int argc, char **argv)
{
	struct stats_scope sc;
	struct nic_rows l;
	struct vpc_list vl = { 0 };
	__u64 by_reason[DROP__MAX] = { 0 }, total = 0;
	struct store *s;

	if (parse_scope(argc, argv, &sc))
		return 1;
	if (!(s = store_get(false)) || check_scope(s, &sc))
		return 1;
	if (nic_rows_load(s, sc.have_vpc ? sc.nic.vni : 0, &l))
		return 1;
	if (sc.have_nic) {
		pr_begin_list();
		for (size_t i = 0; i < l.n; i++)
			if (l.rows[i].key.ip == sc.nic.ip)
				nic_row_print(s, &l.rows[i]);
		pr_end_list();
		free(l.rows);
		return 0;
	}
	if (sc.have_vpc) {
		vl.n = 1;
		vl.vnis = &sc.nic.vni;
	} else {
		for (__u32 r = 1; r < DROP__MAX; r++) {
			if (store_percpu_sum(s->fd[SM_DROPS], &r, &by_reason[r], 1))
				by_reason[r] = 0;
			total += by_reason[r];
		}
		if (store_foreach(s->fd[SM_VPCS], sizeof(__u32), sizeof(struct vpc), collect_vpc, &vl)) {
			free(l.rows);
			return fail("out of memory");
		}
		qsort(vl.vnis, vl.n, sizeof(*vl.vnis), cmp_u32);
	}
	pr_begin_obj();
	if (!sc.have_vpc) {
		/* every drop of the host, also those that no VPC or NIC can be charged with (unknown VNI, ...) */
		__u64 nat = 0;

		pr_text("host");
		drops_print(by_reason, total);
		/* the host's NAT mappings: the sum of its NICs' (an EIP's traffic needs none) */
		if (store_foreach(s->fd[SM_NAT_COUNTS], sizeof(struct nic_key), sizeof(__u64), sum_u64, &nat))
			nat = 0;
		pr_u64("nat_mappings", " nat mappings %llu", nat);
		pr_text("\n");
	}
	pr_begin_array("vpcs");
	for (size_t i = 0; i < vl.n; i++)
		vpc_print(vl.vnis[i], &l);
	pr_end_array();
	pr_begin_array("nics");
	for (size_t i = 0; i < l.n; i++)
		nic_row_print(s, &l.rows[i]);
	pr_end_array();
	if (opts.json)
		pr_end_obj();
	if (!sc.have_vpc)
		free(vl.vnis);
	free(l.rows);
	return 0;
}

static int do_reset(int argc, char **argv)
{
	struct stats_scope sc;
	struct nic_rows l;
	struct store *s;
	size_t reset = 0;
	int err;

	if (parse_scope(argc, argv, &sc))
		return 1;
	if (!(s = store_get(true)) || check_scope(s, &sc))
		return 1;
	if (nic_rows_load(s, sc.have_vpc ? sc.nic.vni : 0, &l))
		return 1;
	for (size_t i = 0; i < l.n; i++) {
		if (sc.have_nic && l.rows[i].key.ip != sc.nic.ip)
			continue;
		if ((err = store_nic_stats_zero(s, &l.rows[i].key, &l.rows[i].nic))) {
			free(l.rows);
			return fail_errno(err, "cannot reset the counters of NIC %s", ip_str(l.rows[i].key.ip, (char[16]){ 0 }));
		}
		reset++;
	}
	free(l.rows);
	/* the host's counters by reason cannot be split by VPC: only a reset of the whole host zeroes them */
	if (!sc.have_vpc)
		for (__u32 r = 1; r < DROP__MAX; r++)
			/* E2BIG: a reason newer than the loaded maps */
			if ((err = store_percpu_zero(s->fd[SM_DROPS], &r, 1, BPF_EXIST)) && err != -E2BIG)
				return fail_errno(err, "cannot reset the drop counter %s", drop_reason_name(r));
	pr_begin_obj();
	pr_u64("nics_reset", "counters reset: %llu NIC(s)", reset);
	pr_bool("host_reset", ", and the host's drops by reason", !sc.have_vpc);
	pr_end_obj();
	return 0;
}

/* stats help: after the grammar, every drop reason with one line of meaning. */
static void stats_help(void)
{
	pr_text("\nDrop reasons (stats, monitor reason REASON):\n");
	pr_begin_array("drop_reasons");
	for (__u32 r = 1; r < DROP__MAX; r++) {
		const char *m = drop_reason_meaning(r);
		char fmt[40];

		snprintf(fmt, sizeof(fmt), "  %%-%ds", 22);
		pr_begin_obj();
		pr_str("name", fmt, drop_reason_name(r));
		pr_u64("value", NULL, r);
		pr_str("meaning", " %s", m ? m : "(not described yet)");
		pr_end_obj();
	}
	pr_end_array();
}

static const struct cmd cmds[] = {
	{ "show", do_show }, { "reset", do_reset }, { 0 },
};

const struct object obj_stats = {
	.name = "stats",
	.cmds = cmds,
	.args_without_verb = true,
	.help = stats_help,
	.usage = "stats [show] [vpc VNI | nic IP vpc VNI]\n"
		 "       stats reset [vpc VNI | nic IP vpc VNI]\n"
		 "       stats help\n"
		 "Drops by reason for the host, each VPC (its NICs' drops) and each NIC, and NIC traffic\n"
		 "(tx: sent by the VM, rx: delivered to it). reset zeroes the counters named (without a\n"
		 "filter: every NIC's and the host's); a VPC or NIC that does not exist is refused.",
};
