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

struct nic_args {
	struct nic_key key;
	struct nic nic;
	bool have_vpc, have_mac, have_dev, have_remote, have_sg, have_ct_quota;
	char dev[IF_NAMESIZE];
	char sg[NAME_LEN]; /* empty with have_sg: "sg none" */
};

/* "sg NAME|none": the NIC's security group, or none (open). */
static int parse_sg_arg(const char *val, struct nic_args *a)
{
	a->have_sg = true;
	if (!strcmp(val, "none")) {
		a->sg[0] = '\0';
		return 0;
	}
	return parse_name(val, "security group name", a->sg);
}

/* The sg_id that "sg NAME|none" names. */
static int resolve_sg(struct store *s, const struct nic_args *a, __u32 *sg_id)
{
	if (!a->sg[0]) {
		*sg_id = 0;
		return 0;
	}
	return sg_lookup(s, a->sg, sg_id);
}

static int parse_nic_args(int argc, char **argv, const char *cmd, struct nic_args *a)
{
	bool source_check = true;

	memset(a, 0, sizeof(*a));
	if (argc < 1)
		return fail("nic %s: missing IP", cmd);
	if (parse_ip(argv[0], &a->key.ip))
		return 1;
	for (argc--, argv++; argc > 0; argc--, argv++) {
		const char *val;
		if (matches(*argv, "vpc")) {
			if (!(val = next_value(&argc, &argv, "vpc")) || parse_vni(val, &a->key.vni))
				return 1;
			a->have_vpc = true;
		} else if (matches(*argv, "mac")) {
			if (!(val = next_value(&argc, &argv, "mac")) || parse_mac(val, a->nic.mac))
				return 1;
			a->have_mac = true;
		} else if (matches(*argv, "dev")) {
			if (!(val = next_value(&argc, &argv, "dev")))
				return 1;
			if (strlen(val) >= IF_NAMESIZE)
				return fail("invalid device name \"%s\"", val);
			snprintf(a->dev, sizeof(a->dev), "%s", val);
			a->have_dev = true;
		} else if (matches(*argv, "remote")) {
			if (!(val = next_value(&argc, &argv, "remote")) || parse_ip(val, &a->nic.remote))
				return 1;
			a->have_remote = true;
		} else if (matches(*argv, "source-check")) {
			if (!(val = next_value(&argc, &argv, "source-check")) ||
			    parse_on_off(val, "source-check", &source_check))
				return 1;
		} else if (!strcmp(*argv, "sg")) {
			if (!(val = next_value(&argc, &argv, "sg")) || parse_sg_arg(val, a))
				return 1;
		} else if (matches(*argv, "ct-quota")) {
			if (!(val = next_value(&argc, &argv, "ct-quota")) || parse_ct_quota(val, &a->nic.ct_quota))
				return 1;
			a->have_ct_quota = true;
		} else {
			return unknown_word(*argv);
		}
	}
	if (!a->have_vpc)
		return fail("nic %s: missing \"vpc VNI\"", cmd);
	if (!a->have_mac)
		return fail("nic %s: missing \"mac MAC\"", cmd);
	if (a->have_dev == a->have_remote)
		return fail("nic %s: give exactly one of \"dev IFNAME\" or \"remote UNDERLAY_IP\"", cmd);
	a->nic.flags = (a->have_dev ? NIC_F_LOCAL : NIC_F_REMOTE) | (source_check ? NIC_F_SOURCE_CHECK : 0);
	return 0;
}

struct subnet_find {
	__u32 vni;
	__be32 ip;
	struct subnet_key key;
	struct subnet sn;
	bool found;
};

static int find_subnet(const void *key, const void *value, void *ctx)
{
	const struct subnet_key *k = key;
	struct subnet_find *f = ctx;
	if (k->vni == f->vni && (f->ip & prefix_mask(k->len)) == k->prefix) {
		f->key = *k;
		f->sn = *(const struct subnet *)value;
		f->found = true;
		return 1;
	}
	return 0;
}

static int dev_mtu(const char *dev)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), mtu = -1;
	if (fd < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev);
	if (ioctl(fd, SIOCGIFMTU, &ifr) == 0)
		mtu = ifr.ifr_mtu;
	close(fd);
	return mtu;
}

/* Checks the NIC against the store and fills in what it derives (subnet, gateway, ifindex). */
static int resolve_nic(struct store *s, struct nic_args *a, const char *cmd)
{
	struct subnet_find f = { .vni = a->key.vni, .ip = a->key.ip };
	struct host h;
	struct vpc v;
	char b1[16], b2[20];

	if (store_vpc(s, a->key.vni, &v))
		return fail("VPC %u does not exist", a->key.vni);
	store_foreach(s->fd[SM_SUBNETS], sizeof(struct subnet_key), sizeof(struct subnet), find_subnet, &f);
	if (!f.found)
		return fail("%s is in no subnet of VPC %u: add the subnet first", ip_str(a->key.ip, b1), a->key.vni);
	__be32 bcast = f.key.prefix | ~prefix_mask(f.key.len);
	if (a->key.ip == f.key.prefix || a->key.ip == bcast || a->key.ip == f.sn.gateway)
		return fail("%s is the network, broadcast or gateway address of subnet %s", ip_str(a->key.ip, b1),
			    prefix_str(f.key.prefix, f.key.len, b2));
	a->nic.subnet = f.key.prefix;
	a->nic.subnet_len = f.key.len;
	a->nic.gateway = f.sn.gateway;
	if (store_host(s, &h))
		memset(&h, 0, sizeof(h));
	/* The gateway answers with the router MAC: a VM using it would receive frames "from itself". */
	if (!memcmp(a->nic.mac, h.router_mac, sizeof(h.router_mac)))
		return fail("MAC %s is the router MAC of this host (every gateway's): give the NIC its own",
			    mac_str(a->nic.mac, (char[18]){ 0 }));
	if (a->have_dev) {
		int ifindex = (int)if_nametoindex(a->dev);
		if (!ifindex)
			return fail("device \"%s\" does not exist", a->dev);
		if (h.underlay_ifindex && (__u32)ifindex == h.underlay_ifindex)
			return fail("device \"%s\" is the underlay device, not a NIC", a->dev);
		a->nic.ifindex = (__u32)ifindex;
		a->nic.flags |= link_nic_flags((unsigned int)ifindex);
		int mtu = dev_mtu(a->dev);
		if (h.underlay_mtu && mtu > (int)h.underlay_mtu - OVERLAY_OVERHEAD)
			fprintf(stderr,
				"vpcbpf: warning: %s has MTU %d but the overlay carries at most %u (underlay MTU %u - %d): "
				"set the VM's MTU to %u\n",
				a->dev, mtu, h.underlay_mtu - OVERLAY_OVERHEAD, h.underlay_mtu, OVERLAY_OVERHEAD,
				h.underlay_mtu - OVERLAY_OVERHEAD);
	} else if (h.underlay_ip && a->nic.remote == h.underlay_ip) {
		return fail("remote %s is this host's own underlay address: use \"dev IFNAME\"", ip_str(a->nic.remote, b1));
	}
	return 0;
}

/* Binds the device to the NIC; on failure it undoes only what it did itself (never another NIC's binding). */
static int bind_local(struct store *s, const struct nic_args *a, bool replacing)
{
	struct nic_key other;
	bool had;
	char b1[16];
	int prog_fd, err;

	had = bpf_map_lookup_elem(s->fd[SM_IFINDEX_NICS], &a->nic.ifindex, &other) == 0;
	/* A binding whose NIC record never came (a killed nic add) belongs to nobody: take it over. */
	struct nic owner;
	if (had && (store_nic(s, other.vni, other.ip, &owner) || !(owner.flags & NIC_F_LOCAL) ||
		    owner.ifindex != a->nic.ifindex))
		had = false;
	if (had && !(replacing && other.vni == a->key.vni && other.ip == a->key.ip))
		return fail("device \"%s\" is already the NIC %s of VPC %u", a->dev, ip_str(other.ip, b1), other.vni);
	prog_fd = prog_open(PROG_NIC_INGRESS);
	if (prog_fd < 0)
		return fail("the datapath is not loaded at %s: run 'vpcbpf dp up' first", opts.pin_dir);
	if (bpf_map_update_elem(s->fd[SM_IFINDEX_NICS], &a->nic.ifindex, &a->key, BPF_ANY)) {
		err = errno;
		close(prog_fd);
		return fail_errno(err, "cannot bind device \"%s\"", a->dev);
	}
	err = nic_attach((int)a->nic.ifindex, prog_fd);
	close(prog_fd);
	if (err) {
		if (!had)
			bpf_map_delete_elem(s->fd[SM_IFINDEX_NICS], &a->nic.ifindex);
		return fail_errno(err, "cannot attach the datapath to \"%s\"", a->dev);
	}
	return 0;
}

static void unbind_local(struct store *s, __u32 ifindex)
{
	nic_detach((int)ifindex);
	bpf_map_delete_elem(s->fd[SM_IFINDEX_NICS], &ifindex);
}

static int nic_add_or_replace(int argc, char **argv, bool replace)
{
	const char *cmd = replace ? "replace" : "add";
	struct nic_args a;
	struct nic old;
	struct store *s;
	bool exists;
	char b1[16];

	if (parse_nic_args(argc, argv, cmd, &a))
		return 1;
	if (!(s = store_get(true)))
		return 1;
	if (resolve_nic(s, &a, cmd))
		return 1;
	exists = store_nic(s, a.key.vni, a.key.ip, &old) == 0;
	if (exists && !replace)
		return fail("NIC %s already exists in VPC %u (use nic replace to move it)", ip_str(a.key.ip, b1), a.key.vni);
	a.nic.sg_id = exists ? old.sg_id : 0;
	if (!a.have_ct_quota)
		a.nic.ct_quota = exists ? old.ct_quota : 0;
	if (a.have_sg && resolve_sg(s, &a, &a.nic.sg_id))
		return 1;

	if (!exists) {
		/* Counters exist before anything can count into them. */
		int ncpu = libbpf_num_possible_cpus();
		struct nic_stats *zeros = calloc((size_t)ncpu, sizeof(*zeros));
		if (!zeros || bpf_map_update_elem(s->fd[SM_NIC_STATS], &a.key, zeros, BPF_ANY)) {
			free(zeros);
			return fail_errno(errno, "cannot create the counters of NIC %s", ip_str(a.key.ip, b1));
		}
		free(zeros);
	}
	/* A new local binding is complete before the NIC record points the datapath at it. */
	if (a.have_dev && bind_local(s, &a, exists)) {
		if (!exists)
			bpf_map_delete_elem(s->fd[SM_NIC_STATS], &a.key);
		return 1;
	}
	/* The one update that decides where the NIC lives, then the old binding once nothing refers to it:
	 * journaled, so a kill -9 between them is finished by the next command. */
	struct txn_plan p;
	txn_plan_init(&p);
	int err = txn_plan_put(&p, SM_NICS, &a.key, sizeof(a.key), &a.nic, sizeof(a.nic));
	if (!err && exists && (old.flags & NIC_F_LOCAL) && !(a.have_dev && old.ifindex == a.nic.ifindex))
		err = txn_plan_unbind(&p, old.ifindex);
	if (!err)
		err = txn_run(s, &p, &cli_txn_hooks);
	txn_plan_free(&p);
	if (err) {
		if (a.have_dev && !(exists && (old.flags & NIC_F_LOCAL) && old.ifindex == a.nic.ifindex) &&
		    store_nic(s, a.key.vni, a.key.ip, &old))
			unbind_local(s, a.nic.ifindex);
		return fail_errno(err, "cannot %s NIC %s", cmd, ip_str(a.key.ip, b1));
	}
	return 0;
}

static int do_add(int argc, char **argv)
{
	return nic_add_or_replace(argc, argv, false);
}

static int do_replace(int argc, char **argv)
{
	return nic_add_or_replace(argc, argv, true);
}

struct via_scan {
	struct nic_key key;
	struct route_key found;
	struct route r;
	bool referenced;
};

static int find_via(const void *key, const void *value, void *ctx)
{
	const struct route_key *k = key;
	const struct route *r = value;
	struct via_scan *v = ctx;
	if (k->type == ROUTE_KEY_CONFIG && k->vni == v->key.vni && r->kind == ROUTE_VIA && r->via == v->key.ip) {
		v->found = *k;
		v->r = *r;
		v->referenced = true;
		return 1;
	}
	return 0;
}

/* Parses "IP vpc VNI" */
static int parse_nic_key(int argc, char **argv, const char *cmd, struct nic_key *k)
{
	bool have_vpc = false;

	memset(k, 0, sizeof(*k));
	if (argc < 1)
		return fail("nic %s: missing IP", cmd);
	if (parse_ip(argv[0], &k->ip))
		return 1;
	for (argc--, argv++; argc > 0; argc--, argv++) {
		const char *val;
		if (matches(*argv, "vpc")) {
			if (!(val = next_value(&argc, &argv, "vpc")) || parse_vni(val, &k->vni))
				return 1;
			have_vpc = true;
		} else {
			return unknown_word(*argv);
		}
	}
	if (!have_vpc)
		return fail("nic %s: missing \"vpc VNI\"", cmd);
	return 0;
}

static int do_del(int argc, char **argv)
{
	struct nic_key k;
	struct via_scan vs;
	struct store *s;
	struct nic n;
	char b1[16], b2[20];

	if (parse_nic_key(argc, argv, "del", &k))
		return 1;
	if (!(s = store_get(true)))
		return 1;
	if (store_nic(s, k.vni, k.ip, &n))
		return fail("NIC %s does not exist in VPC %u", ip_str(k.ip, b1), k.vni);
	memset(&vs, 0, sizeof(vs));
	vs.key = k;
	store_foreach(s->fd[SM_ROUTES], sizeof(struct route_key), sizeof(struct route), find_via, &vs);
	if (vs.referenced && !opts.force)
		return fail("NIC %s is the next hop of route %s in VPC %u: delete the route first (or --force)",
			    ip_str(k.ip, b1), prefix_str(vs.found.addr, vs.found.len, b2), k.vni);
	/* Stop the traffic it sends, then forget where it lives, then its counters (one journaled transaction). */
	struct txn_plan p;
	txn_plan_init(&p);
	int err = n.flags & NIC_F_LOCAL ? txn_plan_unbind(&p, n.ifindex) : 0;
	if (!err)
		err = txn_plan_del(&p, SM_NICS, &k, sizeof(k));
	if (!err)
		err = txn_plan_del(&p, SM_NIC_STATS, &k, sizeof(k));
	if (!err)
		err = txn_run(s, &p, &cli_txn_hooks);
	txn_plan_free(&p);
	if (err)
		return fail_errno(err, "cannot delete NIC %s", ip_str(k.ip, b1));
	return 0;
}

/* nic set IP vpc VNI { sg NAME|none | source-check on|off }...: one update of the NIC record. */
static int do_set(int argc, char **argv)
{
	struct nic_args a;
	struct store *s;
	struct nic n;
	bool have_sc = false, sc = true;
	__u32 quota = 0;
	char b1[16];

	memset(&a, 0, sizeof(a));
	if (argc < 1)
		return fail("nic set: missing IP");
	if (parse_ip(argv[0], &a.key.ip))
		return 1;
	for (argc--, argv++; argc > 0; argc--, argv++) {
		const char *val;
		if (matches(*argv, "vpc")) {
			if (!(val = next_value(&argc, &argv, "vpc")) || parse_vni(val, &a.key.vni))
				return 1;
			a.have_vpc = true;
		} else if (!strcmp(*argv, "sg")) {
			if (!(val = next_value(&argc, &argv, "sg")) || parse_sg_arg(val, &a))
				return 1;
		} else if (matches(*argv, "source-check")) {
			if (!(val = next_value(&argc, &argv, "source-check")) || parse_on_off(val, "source-check", &sc))
				return 1;
			have_sc = true;
		} else if (matches(*argv, "ct-quota")) {
			if (!(val = next_value(&argc, &argv, "ct-quota")) || parse_ct_quota(val, &quota))
				return 1;
			a.have_ct_quota = true;
		} else {
			return unknown_word(*argv);
		}
	}
	if (!a.have_vpc)
		return fail("nic set: missing \"vpc VNI\"");
	if (!a.have_sg && !have_sc && !a.have_ct_quota)
		return fail("nic set: nothing to set (sg NAME|none, source-check on|off, ct-quota N|default)");
	if (!(s = store_get(true)))
		return 1;
	if (store_nic(s, a.key.vni, a.key.ip, &n))
		return fail("NIC %s does not exist in VPC %u", ip_str(a.key.ip, b1), a.key.vni);
	if (a.have_sg && resolve_sg(s, &a, &n.sg_id))
		return 1;
	if (have_sc)
		n.flags = sc ? (n.flags | NIC_F_SOURCE_CHECK) : (n.flags & ~NIC_F_SOURCE_CHECK);
	if (a.have_ct_quota)
		n.ct_quota = quota;
	if (bpf_map_update_elem(s->fd[SM_NICS], &a.key, &n, BPF_EXIST))
		return fail_errno(errno, "cannot change NIC %s", ip_str(a.key.ip, b1));
	return 0;
}

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

	for (; argc > 0; argc--, argv++) {
		const char *val;
		if (matches(*argv, "vpc")) {
			if (!(val = next_value(&argc, &argv, "vpc")) || parse_vni(val, &l.vni))
				return 1;
		} else {
			return unknown_word(*argv);
		}
	}
	if (!(s = store_get(false)))
		return 1;
	if (store_foreach(s->fd[SM_NICS], sizeof(struct nic_key), sizeof(struct nic), collect, &l))
		return fail("out of memory");
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
	{ "show", do_show }, { "add", do_add }, { "del", do_del }, { "delete", do_del },
	{ "replace", do_replace }, { "set", do_set }, { "list", do_show }, { 0 },
};

const struct object obj_nic = {
	.name = "nic",
	.cmds = cmds,
	.usage = "nic { add | replace } IP vpc VNI mac MAC { dev IFNAME | remote UNDERLAY_IP } [sg NAME|none]\n"
		 "       [source-check on|off] [ct-quota N|default]\n"
		 "       nic set IP vpc VNI [sg NAME|none] [source-check on|off] [ct-quota N|default]\n"
		 "       nic del IP vpc VNI\n"
		 "       nic show [vpc VNI]\n"
		 "replace moves a NIC atomically (e.g. between hosts); source-check off lets an appliance\n"
		 "(vCPE, router VM) send packets of addresses other than its own; ct-quota caps the\n"
		 "conntrack entries of the NIC's flows (default: the host's, dp up ct-quota)",
};
