/* cli/sg.c — vpcbpf sg: security groups (stateful per-NIC filtering) and their ordered rules. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include "cli/cli.h"
#include "maps/sg_table.h"


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
	struct sg_maps m = sg_maps_of(s);
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

static int rule_show(int argc, char **argv)
{
	if (argc < 1)
		return fail("sg rule show: missing NAME");
	return do_show(argc, argv);
}

static int do_rule(int argc, char **argv)
{
	static const struct cmd rule_cmds[] = {
		{ "add", NULL }, { "del", NULL }, { "delete", NULL }, { "show", rule_show },
		{ "list", rule_show }, { 0 },
	};

	if (argc < 1)
		return fail("sg rule: missing command (add, del or show)");
	for (const struct cmd *c = rule_cmds; c->name; c++)
		if (matches(argv[0], c->name) && c->fn)
			return c->fn(argc - 1, argv + 1);
	return fail("sg rule: unknown command \"%s\" (try 'vpcbpf sg help')", argv[0]);
}

static const struct cmd cmds[] = {
	{ "show", do_show }, { "add", NULL }, { "del", NULL }, { "delete", NULL }, { "rule", do_rule },
	{ "list", do_show }, { 0 },
};

const struct object obj_sg = {
	.name = "sg",
	.alias = "security-group",
	.cmds = cmds,
	/* add, del, rule add and rule del: cli/edit.c's tables (help writes them from them: object_usage) */
	.usage = "       sg show [NAME]\n"
		 "Lower priority first, first match wins; the default priority is after the last rule (+10).\n"
		 "No match: ingress denied, egress allowed. Stateful: replies of an allowed connection pass.\n"
		 "port is the destination port (the VM's on ingress, the peer's on egress); cidr the peer.\n"
		 "A NIC joins a group with 'nic add/replace ... sg NAME' or 'nic set IP vpc VNI sg NAME|none'.",
};
