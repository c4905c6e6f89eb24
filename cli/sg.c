/* cli/sg.c — vpcbpf sg: security groups (stateful per-NIC filtering) and their ordered rules. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include "cli/cli.h"
#include "maps/sg_table.h"


static struct sg_maps maps_of(struct store *s)
{
	return (struct sg_maps){ s->fd[SM_SGS], s->fd[SM_SG_RULES], s->fd[SM_SG_PORTS], s->fd[SM_SG_ADDRS] };
}

struct sg_find {
	const char *name;
	__u32 id;
	__u32 used[MAX_SGS / 32 + 1]; /* ids taken */
};

static int find_by_name(const void *key, const void *value, void *ctx)
{
	struct sg_find *f = ctx;
	__u32 id = *(const __u32 *)key;
	const struct sg *g = value;

	if (id <= MAX_SGS)
		f->used[id / 32] |= 1U << (id % 32);
	if (f->name && !strncmp(g->name, f->name, NAME_LEN))
		f->id = id;
	return 0;
}

int sg_lookup(struct store *s, const char *name, __u32 *id)
{
	struct sg_find f = { .name = name };

	store_foreach(s->fd[SM_SGS], sizeof(__u32), sizeof(struct sg), find_by_name, &f);
	if (!f.id)
		return fail("security group \"%s\" does not exist", name);
	*id = f.id;
	return 0;
}

const char *sg_name(struct store *s, __u32 id, char buf[NAME_LEN])
{
	struct sg g;

	if (bpf_map_lookup_elem(s->fd[SM_SGS], &id, &g))
		snprintf(buf, NAME_LEN, "#%u", id);
	else
		snprintf(buf, NAME_LEN, "%.*s", NAME_LEN - 1, g.name);
	return buf;
}

/* ---- sg add / del ---- */

static int do_add(int argc, char **argv)
{
	struct sg_find f = { 0 };
	char name[NAME_LEN];
	struct sg g = { 0 };
	struct store *s;
	__u32 id;

	if (argc < 1)
		return fail("sg add: missing NAME");
	if (parse_name(argv[0], "security group name", name))
		return 1;
	if (argc > 1)
		return unknown_word(argv[1]);
	if (!(s = store_get(true)))
		return 1;
	f.name = name;
	store_foreach(s->fd[SM_SGS], sizeof(__u32), sizeof(struct sg), find_by_name, &f);
	if (f.id)
		return fail("security group \"%s\" already exists", name);
	for (id = 1; id <= MAX_SGS; id++)
		if (!(f.used[id / 32] & (1U << (id % 32))))
			break;
	if (id > MAX_SGS)
		return fail("too many security groups (at most %d)", MAX_SGS);
	memcpy(g.name, name, NAME_LEN);
	if (bpf_map_update_elem(s->fd[SM_SGS], &id, &g, BPF_NOEXIST))
		return fail_errno(errno, "cannot add security group \"%s\"", name);
	return 0;
}

struct nic_user {
	__u32 sg_id;
	struct nic_key key;
	unsigned int count;
};

static int find_user(const void *key, const void *value, void *ctx)
{
	struct nic_user *u = ctx;
	if (((const struct nic *)value)->sg_id == u->sg_id) {
		if (!u->count++)
			u->key = *(const struct nic_key *)key;
	}
	return 0;
}

static unsigned int nic_users(struct store *s, __u32 id, struct nic_key *first)
{
	struct nic_user u = { .sg_id = id };

	store_foreach(s->fd[SM_NICS], sizeof(struct nic_key), sizeof(struct nic), find_user, &u);
	if (first)
		*first = u.key;
	return u.count;
}

static int do_del(int argc, char **argv)
{
	struct sg_maps m;
	struct nic_key k;
	struct store *s;
	__u32 id;
	char b1[16];

	if (argc < 1)
		return fail("sg del: missing NAME");
	if (argc > 1)
		return unknown_word(argv[1]);
	if (!(s = store_get(true)))
		return 1;
	if (sg_lookup(s, argv[0], &id))
		return 1;
	if (nic_users(s, id, &k))
		return fail("security group \"%s\" is used by NIC %s of VPC %u: change the NIC's group first",
			    argv[0], ip_str(k.ip, b1), k.vni);
	m = maps_of(s);
	if (bpf_map_delete_elem(s->fd[SM_SGS], &id))
		return fail_errno(errno, "cannot delete security group \"%s\"", argv[0]);
	sg_table_purge(&m, id);
	return 0;
}

/* ---- printing ---- */

static const char *proto_name(__u8 proto)
{
	switch (proto) {
	case IPPROTO_TCP: return "tcp";
	case IPPROTO_UDP: return "udp";
	case IPPROTO_ICMP: return "icmp";
	default: return "any";
	}
}

static void rule_print(const struct sg_rule_entry *e)
{
	char b1[20], ports[16];

	pr_u64("priority", "priority %llu", e->priority);
	pr_str("direction", " %s", e->r.dir == SG_INGRESS ? "ingress" : "egress");
	pr_str("proto", " proto %s", proto_name(e->r.proto));
	if (e->r.port_lo != 0 || e->r.port_hi != 65535) {
		if (e->r.port_lo == e->r.port_hi)
			snprintf(ports, sizeof(ports), "%u", e->r.port_lo);
		else
			snprintf(ports, sizeof(ports), "%u-%u", e->r.port_lo, e->r.port_hi);
		pr_str("port", " port %s", ports);
	}
	pr_str("cidr", " cidr %s", prefix_str(e->r.cidr, e->r.cidr_len, b1));
	pr_str("action", " %s", e->r.action == SG_ALLOW ? "allow" : "deny");
}

struct sg_row {
	__u32 id;
	struct sg g;
};

struct sg_list {
	struct sg_row *rows;
	size_t n, cap;
};

static int collect(const void *key, const void *value, void *ctx)
{
	struct sg_list *l = ctx;
	struct sg_row *row = store_row_push((void **)&l->rows, &l->n, &l->cap, sizeof(*row));
	if (!row)
		return -ENOMEM;
	row->id = *(const __u32 *)key;
	row->g = *(const struct sg *)value;
	return 0;
}

static int cmp_rows(const void *a, const void *b)
{
	return strncmp(((const struct sg_row *)a)->g.name, ((const struct sg_row *)b)->g.name, NAME_LEN);
}

static int sg_print(struct store *s, __u32 id, const struct sg *g)
{
	struct sg_maps m = maps_of(s);
	struct sg_rule_entry *rules;
	size_t n;
	char name[NAME_LEN + 1];

	if (sg_table_rules(&m, id, &rules, &n))
		return fail("cannot read the rules of security group \"%.*s\"", NAME_LEN, g->name);
	snprintf(name, sizeof(name), "%.*s", NAME_LEN - 1, g->name);
	pr_begin_obj();
	pr_str("name", "sg %s", name);
	pr_u64("id", " id %llu", id);
	pr_u64("nic_count", " nics %llu", nic_users(s, id, NULL));
	pr_u64("rule_count", " rules %llu", n);
	pr_begin_array("rules");
	for (size_t i = 0; i < n; i++) {
		pr_text("\n    ");
		pr_begin_obj();
		rule_print(&rules[i]);
		if (opts.json)
			pr_end_obj();
		else
			pr_end_nested(); /* no newline: the next rule or the group's end brings it */
	}
	pr_end_array();
	pr_end_obj();
	free(rules);
	return 0;
}

static int do_show(int argc, char **argv)
{
	struct sg_list l = { 0 };
	struct store *s;
	__u32 only = 0;
	int err = 0;

	if (argc > 1)
		return unknown_word(argv[1]);
	if (!(s = store_get(false)))
		return 1;
	if (argc == 1 && sg_lookup(s, argv[0], &only))
		return 1;
	if (store_foreach(s->fd[SM_SGS], sizeof(__u32), sizeof(struct sg), collect, &l))
		return fail("out of memory");
	qsort(l.rows, l.n, sizeof(*l.rows), cmp_rows);
	pr_begin_list();
	for (size_t i = 0; i < l.n && !err; i++)
		if (!only || l.rows[i].id == only)
			err = sg_print(s, l.rows[i].id, &l.rows[i].g);
	pr_end_list();
	free(l.rows);
	return err;
}

/* ---- sg rule add / del ---- */

static int parse_ports(const char *s, __u16 *lo, __u16 *hi)
{
	char buf[32];
	const char *dash = strchr(s, '-');
	__u32 a, b;

	if (!dash)
		return parse_u32(s, "port", &a, 0, 65535) ? 1 : (*lo = *hi = (__u16)a, 0);
	if ((size_t)(dash - s) >= sizeof(buf))
		return fail("invalid port range \"%s\"", s);
	snprintf(buf, sizeof(buf), "%.*s", (int)(dash - s), s);
	if (parse_u32(buf, "port", &a, 0, 65535) || parse_u32(dash + 1, "port", &b, 0, 65535))
		return 1;
	if (a > b)
		return fail("invalid port range \"%s\": %u > %u", s, a, b);
	*lo = (__u16)a;
	*hi = (__u16)b;
	return 0;
}

/* RULE := { ingress | egress } proto PROTO [port N[-M]] [cidr PREFIX] { allow | deny } [priority N] */
int sg_parse_rule(int argc, char **argv, struct sg_rule_entry *e)
{
	bool have_dir = false, have_proto = false, have_port = false, have_action = false;

	memset(e, 0, sizeof(*e));
	e->r.port_hi = 65535;
	for (; argc > 0; argc--, argv++) {
		const char *val;
		if (matches(*argv, "ingress") || matches(*argv, "egress")) {
			if (have_dir)
				return fail("sg rule add: more than one direction (\"%s\")", *argv);
			e->r.dir = matches(*argv, "ingress") ? SG_INGRESS : SG_EGRESS;
			have_dir = true;
		} else if (matches(*argv, "proto")) {
			if (!(val = next_value(&argc, &argv, "proto")))
				return 1;
			if (!strcmp(val, "tcp"))
				e->r.proto = IPPROTO_TCP;
			else if (!strcmp(val, "udp"))
				e->r.proto = IPPROTO_UDP;
			else if (!strcmp(val, "icmp"))
				e->r.proto = IPPROTO_ICMP;
			else if (!strcmp(val, "any"))
				e->r.proto = SG_PROTO_ANY;
			else
				return fail("invalid proto \"%s\" (expected tcp, udp, icmp or any)", val);
			have_proto = true;
		} else if (matches(*argv, "port")) {
			if (!(val = next_value(&argc, &argv, "port")) || parse_ports(val, &e->r.port_lo, &e->r.port_hi))
				return 1;
			have_port = true;
		} else if (matches(*argv, "cidr")) {
			if (!(val = next_value(&argc, &argv, "cidr")) || parse_prefix(val, &e->r.cidr, &e->r.cidr_len))
				return 1;
		} else if (matches(*argv, "allow") || matches(*argv, "deny")) {
			if (have_action)
				return fail("sg rule add: more than one action (\"%s\")", *argv);
			e->r.action = matches(*argv, "allow") ? SG_ALLOW : SG_DENY;
			have_action = true;
		} else if (matches(*argv, "priority")) {
			if (!(val = next_value(&argc, &argv, "priority")) ||
			    parse_u32(val, "priority", &e->priority, 1, SG_PRIORITY_MAX))
				return 1;
		} else {
			return unknown_word(*argv);
		}
	}
	if (!have_dir)
		return fail("sg rule add: missing direction (ingress or egress)");
	if (!have_proto)
		return fail("sg rule add: missing \"proto { tcp | udp | icmp | any }\"");
	if (!have_action)
		return fail("sg rule add: missing action (allow or deny)");
	if (have_port && e->r.proto != IPPROTO_TCP && e->r.proto != IPPROTO_UDP)
		return fail("sg rule add: \"port\" needs proto tcp or udp");
	return 0;
}

static int rule_add(int argc, char **argv)
{
	struct sg_rule_entry e, *rules, *all;
	struct sg_maps m;
	struct store *s;
	size_t n;
	__u32 id;
	int err;

	if (argc < 1)
		return fail("sg rule add: missing NAME");
	if (sg_parse_rule(argc - 1, argv + 1, &e))
		return 1;
	if (!(s = store_get(true)))
		return 1;
	if (sg_lookup(s, argv[0], &id))
		return 1;
	m = maps_of(s);
	if (sg_table_rules(&m, id, &rules, &n))
		return fail("cannot read the rules of security group \"%s\"", argv[0]);
	if (n >= SG_MAX_RULES) {
		free(rules);
		return fail("security group \"%s\" has %zu rules, the most a group may have", argv[0], n);
	}
	if (!e.priority) {
		__u32 last = n ? rules[n - 1].priority : 0;
		if (last + SG_PRIORITY_STEP > SG_PRIORITY_MAX) {
			free(rules);
			return fail("no priority left after %u: give \"priority N\"", last);
		}
		e.priority = last + SG_PRIORITY_STEP;
	}
	for (size_t i = 0; i < n; i++)
		if (rules[i].priority == e.priority) {
			free(rules);
			return fail("security group \"%s\" already has a rule of priority %u", argv[0], e.priority);
		}
	all = realloc(rules, (n + 1) * sizeof(*all));
	if (!all) {
		free(rules);
		return fail("out of memory");
	}
	all[n++] = e;
	err = sg_table_commit(&m, id, all, n);
	free(all);
	if (err == -E2BIG)
		return fail("security group \"%s\": the rules compile to more than %d entries; merge port ranges or CIDRs",
			    argv[0], SG_MAX_COMPILED);
	if (err)
		return fail_errno(err, "cannot add the rule to security group \"%s\"", argv[0]);
	return 0;
}

static int rule_del(int argc, char **argv)
{
	struct sg_rule_entry *rules;
	struct sg_maps m;
	struct store *s;
	__u32 id, prio = 0;
	size_t n, at;
	int err;

	if (argc < 1)
		return fail("sg rule del: missing NAME");
	const char *name = argv[0];
	for (argc--, argv++; argc > 0; argc--, argv++) {
		const char *val;
		if (matches(*argv, "priority")) {
			if (!(val = next_value(&argc, &argv, "priority")) ||
			    parse_u32(val, "priority", &prio, 1, SG_PRIORITY_MAX))
				return 1;
		} else {
			return unknown_word(*argv);
		}
	}
	if (!prio)
		return fail("sg rule del: missing \"priority N\"");
	if (!(s = store_get(true)))
		return 1;
	if (sg_lookup(s, name, &id))
		return 1;
	m = maps_of(s);
	if (sg_table_rules(&m, id, &rules, &n))
		return fail("cannot read the rules of security group \"%s\"", name);
	for (at = 0; at < n && rules[at].priority != prio; at++)
		;
	if (at == n) {
		free(rules);
		return fail("security group \"%s\" has no rule of priority %u", name, prio);
	}
	memmove(&rules[at], &rules[at + 1], (n - at - 1) * sizeof(*rules));
	err = sg_table_commit(&m, id, rules, n - 1);
	free(rules);
	if (err)
		return fail_errno(err, "cannot delete the rule from security group \"%s\"", name);
	return 0;
}

static int rule_show(int argc, char **argv)
{
	if (argc < 1)
		return fail("sg rule show: missing NAME");
	return do_show(argc, argv);
}

static int do_rule(int argc, char **argv)
{
	static const struct cmd rule_cmds[] = {
		{ "add", rule_add }, { "del", rule_del }, { "delete", rule_del }, { "show", rule_show },
		{ "list", rule_show }, { 0 },
	};

	if (argc < 1)
		return fail("sg rule: missing command (add, del or show)");
	for (const struct cmd *c = rule_cmds; c->name; c++)
		if (matches(argv[0], c->name))
			return c->fn(argc - 1, argv + 1);
	return fail("sg rule: unknown command \"%s\" (try 'vpcbpf sg help')", argv[0]);
}

static const struct cmd cmds[] = {
	{ "show", do_show }, { "add", do_add }, { "del", do_del }, { "delete", do_del }, { "rule", do_rule },
	{ "list", do_show }, { 0 },
};

const struct object obj_sg = {
	.name = "sg",
	.alias = "security-group",
	.cmds = cmds,
	.usage = "sg { add | del } NAME\n"
		 "       sg show [NAME]\n"
		 "       sg rule add NAME RULE\n"
		 "       sg rule del NAME priority N\n"
		 "RULE := { ingress | egress } proto { tcp | udp | icmp | any } [port N[-M]] [cidr PREFIX]\n"
		 "        { allow | deny } [priority N]\n"
		 "Lower priority first, first match wins; the default priority is after the last rule (+10).\n"
		 "No match: ingress denied, egress allowed. Stateful: replies of an allowed connection pass.\n"
		 "port is the destination port (the VM's on ingress, the peer's on egress); cidr the peer.\n"
		 "A NIC joins a group with 'nic add/replace ... sg NAME' or 'nic set IP vpc VNI sg NAME|none'.",
};
