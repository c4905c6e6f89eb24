/* cli/nic.c — vpcbpf nic: a VM's interface in a subnet, bound to a local device or a remote host. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "cli/cli.h"
#include "cli/attach.h"
#include "cli/link.h"
#include "cli/state.h"

struct nic_row {
	struct nic_key k;
	struct nic n;
};

struct nic_list {
	struct nic_row *rows;
	size_t n, cap;
	__u32 vni;
};

static int collect(const void *key, const void *value, void *ctx)
{
	struct nic_list *l = ctx;
	const struct nic_key *k = key;
	if (l->vni && k->vni != l->vni)
		return 0;
	struct nic_row *row = store_row_push((void **)&l->rows, &l->n, &l->cap, sizeof(*row));
	if (!row)
		return -ENOMEM;
	row->k = *k;
	row->n = *(const struct nic *)value;
	return 0;
}

static int cmp_rows(const void *a, const void *b)
{
	const struct nic_key *x = &((const struct nic_row *)a)->k, *y = &((const struct nic_row *)b)->k;
	if (x->vni != y->vni)
		return x->vni < y->vni ? -1 : 1;
	return ntohl(x->ip) < ntohl(y->ip) ? -1 : ntohl(x->ip) > ntohl(y->ip);
}

void nic_print(const struct nic_key *k, const struct nic *n)
{
	char b1[16], b2[20], b3[18], ifname[IF_NAMESIZE];

	pr_str("ip", "%s", ip_str(k->ip, b1));
	pr_u64("vpc", " vpc %llu", k->vni);
	pr_str("mac", " mac %s", mac_str(n->mac, b3));
	pr_str("subnet", " subnet %s", prefix_str(n->subnet, n->subnet_len, b2));
	if (n->flags & NIC_F_LOCAL) {
		const char *name = if_indextoname(n->ifindex, ifname);
		pr_str("dev", " dev %s", name ? name : "(gone)");
		pr_u64("ifindex", NULL, n->ifindex);
	} else {
		pr_str("remote", " remote %s", ip_str(n->remote, b1));
	}
	/* a boolean, as save and apply have it: one type per field */
	pr_on_off("source_check", " source-check %s", n->flags & NIC_F_SOURCE_CHECK);
	/* on is the default: the text says only when it is off */
	pr_on_off("dhcp", n->flags & NIC_F_NO_DHCP ? " dhcp %s" : NULL, !(n->flags & NIC_F_NO_DHCP));
	if (n->ct_quota)
		pr_u64("ct_quota", " ct-quota %llu", n->ct_quota);
	if (n->sg_id) {
		struct store *s = store_get(false);
		char name[NAME_LEN];
		if (s)
			pr_str("sg", " sg %s", sg_name(s, n->sg_id, name));
	}
}

static int do_show(int argc, char **argv)
{
	struct nic_list l = { 0 };
	struct store *s;
	const char *ip_typed = NULL;
	__be32 ip = 0;

	/* nic show [vpc VNI] [IP]: a word that is no keyword is the address (iproute2's "ip addr show DEV") */
	for (; argc > 0; argc--, argv++) {
		const char *val;
		if (matches(*argv, "vpc")) {
			if (!(val = next_value(&argc, &argv, "vpc")) || parse_vni(val, &l.vni))
				return 1;
		} else if (!ip_typed && strchr(*argv, '.')) {
			if (parse_ip(*argv, &ip))
				return 1;
			ip_typed = *argv;
		} else {
			return unknown_word(*argv);
		}
	}
	if (!(s = store_get(false)))
		return 1;
	if (ip_typed && l.vni) { /* one lookup, not a walk */
		l.rows = calloc(1, sizeof(*l.rows));
		if (!l.rows)
			return fail("out of memory");
		l.rows[0].k = (struct nic_key){ .vni = l.vni, .ip = ip };
		l.n = store_nic(s, l.vni, ip, &l.rows[0].n) == 0;
	} else if (store_foreach(s->fd[SM_NICS], sizeof(struct nic_key), sizeof(struct nic), collect, &l)) {
		return fail("out of memory");
	}
	if (ip_typed) {
		size_t n = 0;
		for (size_t i = 0; i < l.n; i++)
			if (l.rows[i].k.ip == ip)
				l.rows[n++] = l.rows[i];
		l.n = n;
		if (!n) {
			free(l.rows);
			if (l.vni)
				return fail("NIC %s does not exist in VPC %u", ip_typed, l.vni);
			return fail("NIC %s does not exist", ip_typed);
		}
	}
	qsort(l.rows, l.n, sizeof(*l.rows), cmp_rows);
	pr_begin_list();
	for (size_t i = 0; i < l.n; i++) {
		pr_begin_obj();
		nic_print(&l.rows[i].k, &l.rows[i].n);
		pr_end_obj();
	}
	pr_end_list();
	free(l.rows);
	return 0;
}

static const struct cmd cmds[] = {
	{ "show", do_show }, { "add", NULL }, { "del", NULL }, { "delete", NULL },
	{ "replace", NULL }, { "set", NULL }, { "list", do_show }, { 0 },
};

const struct object obj_nic = {
	.name = "nic",
	.cmds = cmds,
	/* add, replace, set and del: cli/edit.c's table (help writes them from it: object_usage) */
	.usage = "       nic show [vpc VNI] [IP]\n"
		 "replace moves a NIC atomically (e.g. between hosts); host NAME (cluster mode, with dev) is the\n"
		 "machine the NIC's dev is on; source-check off lets an appliance (vCPE, router VM) send packets\n"
		 "of addresses other than its own; ct-quota caps the conntrack entries of the NIC's flows\n"
		 "(default: the host's, dp up ct-quota); dhcp off: the datapath does not answer the NIC's DHCP\n"
		 "(on by default, docs/dhcp.md)",
};
