/* cli/batch.c — vpcbpf --batch FILE: many commands, checked one by one against the state in memory, applied as one transaction. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include "cli/cli.h"
#include "cli/state.h"
#include "maps/sg_table.h"

/*
 * A batch never touches the maps line by line. Every line edits an in-memory
 * copy of the state, with the same checks as the single command, so line 7
 * sees what lines 1..6 did; the first failure names file:line and nothing is
 * applied. At the end the edited state is committed as one transaction (see
 * maps/txn.h): packets see the old tables or the new ones.
 */

/* The verbs of each object, in the order of their command tables, so prefixes resolve the same way. */
static const char *const vpc_verbs[] = { "show", "add", "del", "delete", "list", NULL };
static const char *const subnet_verbs[] = { "show", "add", "del", "delete", "list", NULL };
static const char *const route_verbs[] = { "show", "add", "del", "delete", "replace", "get", "flush", "list", NULL };
static const char *const nic_verbs[] = { "show", "add", "del", "delete", "replace", "set", "list", NULL };
static const char *const sg_verbs[] = { "show", "add", "del", "delete", "rule", "list", NULL };

static const char *verb_of(const char *word, const char *const *verbs)
{
	for (int i = 0; verbs[i]; i++)
		if (matches(word, verbs[i]))
			return !strcmp(verbs[i], "delete") ? "del" : verbs[i];
	return NULL;
}

/* VPC_ARGS := VNI [name NAME] */
static int batch_vpc(struct txn_state *st, const char *verb, int argc, char **argv)
{
	char name[NAME_LEN] = "";
	__u32 vni;

	if (argc < 1)
		return fail("vpc %s: missing VNI", verb);
	if (parse_vni(argv[0], &vni))
		return 1;
	for (argc--, argv++; argc > 0; argc--, argv++) {
		const char *val;
		if (!strcmp(verb, "add") && matches(*argv, "name")) {
			if (!(val = next_value(&argc, &argv, "name")) || parse_name(val, "VPC name", name))
				return 1;
		} else {
			return unknown_word(*argv);
		}
	}
	return !strcmp(verb, "add") ? state_vpc_add(st, vni, name) : state_vpc_del(st, vni);
}

static int batch_subnet(struct txn_state *st, const char *verb, int argc, char **argv)
{
	struct subnet_key k;
	char name[NAME_LEN] = "";
	bool have_vpc = false, have_gw = false, add = !strcmp(verb, "add");
	__be32 gw = 0;

	memset(&k, 0, sizeof(k));
	if (argc < 1)
		return fail("subnet %s: missing CIDR", verb);
	if (parse_prefix(argv[0], &k.prefix, &k.len))
		return 1;
	for (argc--, argv++; argc > 0; argc--, argv++) {
		const char *val;
		if (matches(*argv, "vpc")) {
			if (!(val = next_value(&argc, &argv, "vpc")) || parse_vni(val, &k.vni))
				return 1;
			have_vpc = true;
		} else if (add && matches(*argv, "gateway")) {
			if (!(val = next_value(&argc, &argv, "gateway")) || parse_ip(val, &gw))
				return 1;
			have_gw = true;
		} else if (add && matches(*argv, "name")) {
			if (!(val = next_value(&argc, &argv, "name")) || parse_name(val, "subnet name", name))
				return 1;
		} else {
			return unknown_word(*argv);
		}
	}
	if (!have_vpc)
		return fail("subnet %s: missing \"vpc VNI\"", verb);
	return add ? state_subnet_add(st, k, have_gw, gw, name) : state_subnet_del(st, k);
}

static int batch_nic(struct txn_state *st, const char *verb, int argc, char **argv)
{
	struct txn_nic n;
	bool have_vpc = false, have_mac = false, have_dev = false, have_remote = false, source_check = true;
	bool del = !strcmp(verb, "del"), set = !strcmp(verb, "set"), have_sg = false, have_sc = false;
	bool have_quota = false;
	__u32 quota = 0;
	const char *sg = NULL;

	memset(&n, 0, sizeof(n));
	if (argc < 1)
		return fail("nic %s: missing IP", verb);
	if (parse_ip(argv[0], &n.k.ip))
		return 1;
	for (argc--, argv++; argc > 0; argc--, argv++) {
		const char *val;
		if (matches(*argv, "vpc")) {
			if (!(val = next_value(&argc, &argv, "vpc")) || parse_vni(val, &n.k.vni))
				return 1;
			have_vpc = true;
		} else if (!del && !strcmp(*argv, "sg")) {
			if (!(val = next_value(&argc, &argv, "sg")))
				return 1;
			sg = val;
			have_sg = true;
		} else if (!del && !set && matches(*argv, "mac")) {
			if (!(val = next_value(&argc, &argv, "mac")) || parse_mac(val, n.v.mac))
				return 1;
			have_mac = true;
		} else if (!del && !set && matches(*argv, "dev")) {
			if (!(val = next_value(&argc, &argv, "dev")))
				return 1;
			if (strlen(val) >= IF_NAMESIZE)
				return fail("invalid device name \"%s\"", val);
			snprintf(n.dev, sizeof(n.dev), "%s", val);
			have_dev = true;
		} else if (!del && !set && matches(*argv, "host")) {
			if (!(val = next_value(&argc, &argv, "host")))
				return 1;
			if (!*val || strlen(val) >= TXN_HOST_LEN || strchr(val, '/'))
				return fail("invalid host name \"%s\"", val);
			snprintf(n.host, sizeof(n.host), "%s", val);
		} else if (!del && !set && matches(*argv, "remote")) {
			if (!(val = next_value(&argc, &argv, "remote")) || parse_ip(val, &n.v.remote))
				return 1;
			have_remote = true;
		} else if (!del && matches(*argv, "source-check")) {
			if (!(val = next_value(&argc, &argv, "source-check")) ||
			    parse_on_off(val, "source-check", &source_check))
				return 1;
			have_sc = true;
		} else if (!del && matches(*argv, "ct-quota")) {
			if (!(val = next_value(&argc, &argv, "ct-quota")) || parse_ct_quota(val, &quota))
				return 1;
			have_quota = true;
		} else {
			return unknown_word(*argv);
		}
	}
	if (!have_vpc)
		return fail("nic %s: missing \"vpc VNI\"", verb);
	if (del)
		return state_nic_del(st, n.k);
	n.v.sg_id = TXN_SG_KEEP;
	if (have_sg && state_sg_id(st, sg, &n.v.sg_id))
		return 1;
	if (set) {
		if (!have_sg && !have_sc && !have_quota)
			return fail("nic set: nothing to set (sg NAME|none, source-check on|off, ct-quota N|default)");
		if ((have_sg || have_sc) && state_nic_update(st, n.k, have_sg, n.v.sg_id, have_sc, source_check))
			return 1;
		return have_quota ? state_nic_set_ct_quota(st, n.k, quota) : 0;
	}
	if (!have_mac)
		return fail("nic %s: missing \"mac MAC\"", verb);
	if (have_dev == have_remote)
		return fail("nic %s: give exactly one of \"dev IFNAME\" or \"remote UNDERLAY_IP\"", verb);
	n.v.flags = (have_dev ? NIC_F_LOCAL : NIC_F_REMOTE) | (source_check ? NIC_F_SOURCE_CHECK : 0);
	n.v.ct_quota = have_quota ? quota : TXN_CT_QUOTA_KEEP;
	return state_nic_set(st, n, !strcmp(verb, "replace"));
}

static int batch_route(struct txn_state *st, const char *verb, int argc, char **argv)
{
	bool set = !strcmp(verb, "add") || !strcmp(verb, "replace"), have_vpc = false;
	struct route r;
	__u32 vni = 0;
	int first = 0;

	memset(&r, 0, sizeof(r));
	if (strcmp(verb, "flush")) {
		if (argc < 1)
			return fail("route %s: missing PREFIX", verb);
		if (parse_prefix(argv[0], &r.prefix, &r.len))
			return 1;
		first = 1;
	}
	for (argc -= first, argv += first; argc > 0; argc--, argv++) {
		const char *val;
		if (matches(*argv, "vpc")) {
			if (!(val = next_value(&argc, &argv, "vpc")) || parse_vni(val, &vni))
				return 1;
			have_vpc = true;
		} else if (set && !strcmp(*argv, "via")) {
			if (r.kind)
				return fail("route %s: more than one next hop (\"%s\")", verb, *argv);
			if (!(val = next_value(&argc, &argv, "via")) || parse_ip(val, &r.via))
				return 1;
			r.kind = ROUTE_VIA;
		} else if (set && matches(*argv, "blackhole")) {
			if (r.kind)
				return fail("route %s: more than one next hop (\"%s\")", verb, *argv);
			r.kind = ROUTE_BLACKHOLE;
		} else if (set && matches(*argv, "peer")) {
			if (r.kind)
				return fail("route %s: more than one next hop (\"%s\")", verb, *argv);
			if (!(val = next_value(&argc, &argv, "peer")) || parse_vni(val, &r.peer_vni))
				return 1;
			r.kind = ROUTE_PEER;
		} else if (set && matches(*argv, "advertise")) {
			r.flags |= ROUTE_F_ADVERTISE;
		} else {
			return unknown_word(*argv);
		}
	}
	if (!have_vpc)
		return fail("route %s: missing \"vpc VNI\"", verb);
	if (!strcmp(verb, "flush"))
		return state_route_flush(st, vni);
	if (!set)
		return state_route_del(st, vni, r.prefix, r.len);
	if (!r.kind)
		return fail("route %s: missing next hop (via IP | blackhole | peer VNI)", verb);
	return state_route_set(st, vni, &r, !strcmp(verb, "replace"));
}

/* sg { add | del } NAME;  sg rule add NAME RULE;  sg rule del NAME priority N */
static int batch_sg(struct txn_state *st, const char *verb, int argc, char **argv)
{
	char name[NAME_LEN];

	if (!strcmp(verb, "rule")) {
		static const char *const rule_verbs[] = { "add", "del", "delete", "show", "list", NULL };
		const char *rv;
		if (argc < 1)
			return fail("sg rule: missing command (add, del or show)");
		if (!(rv = verb_of(argv[0], rule_verbs)))
			return fail("sg rule: unknown command \"%s\" (try 'vpcbpf sg help')", argv[0]);
		if (!strcmp(rv, "show") || !strcmp(rv, "list"))
			return fail("\"sg rule %s\" only reads: it cannot be part of a transaction", rv);
		if (argc < 2)
			return fail("sg rule %s: missing NAME", rv);
		if (!strcmp(rv, "add")) {
			struct sg_rule_entry e;
			return sg_parse_rule(argc - 2, argv + 2, &e) || state_sg_rule_add(st, argv[1], e);
		}
		__u32 prio = 0;
		const char *sgname = argv[1];
		for (argc -= 2, argv += 2; argc > 0; argc--, argv++) {
			const char *val;
			if (!matches(*argv, "priority"))
				return unknown_word(*argv);
			if (!(val = next_value(&argc, &argv, "priority")) ||
			    parse_u32(val, "priority", &prio, 1, SG_PRIORITY_MAX))
				return 1;
		}
		if (!prio)
			return fail("sg rule del: missing \"priority N\"");
		return state_sg_rule_del(st, sgname, prio);
	}
	if (argc < 1)
		return fail("sg %s: missing NAME", verb);
	if (argc > 1)
		return unknown_word(argv[1]);
	if (!strcmp(verb, "add"))
		return parse_name(argv[0], "security group name", name) || state_sg_add(st, name);
	return state_sg_del(st, argv[0]);
}

/* One command line against the state in memory. */
static int batch_line(struct txn_state *st, int argc, char **argv)
{
	const struct object *o = NULL;
	const char *const *verbs;
	const char *verb;

	for (int i = 0; objects[i] && !o; i++)
		if (matches(argv[0], objects[i]->name) || (objects[i]->alias && matches(argv[0], objects[i]->alias)))
			o = objects[i];
	if (!o)
		return fail("unknown object \"%s\" (try --help)", argv[0]);
	if (o == &obj_vpc)
		verbs = vpc_verbs;
	else if (o == &obj_subnet)
		verbs = subnet_verbs;
	else if (o == &obj_nic)
		verbs = nic_verbs;
	else if (o == &obj_sg)
		verbs = sg_verbs;
	else if (o == &obj_route)
		verbs = route_verbs;
	else
		return fail("\"%s\" cannot be part of a transaction (a batch holds vpc, subnet, nic, route and sg edits)",
			    o->name);
	if (argc < 2)
		return fail("%s: missing command in a batch", o->name);
	verb = verb_of(argv[1], verbs);
	if (!verb)
		return fail("%s: unknown command \"%s\" (try 'vpcbpf %s help')", o->name, argv[1], o->name);
	if (!strcmp(verb, "show") || !strcmp(verb, "list") || !strcmp(verb, "get"))
		return fail("\"%s %s\" only reads: it cannot be part of a transaction", o->name, verb);
	argc -= 2;
	argv += 2;
	if (o == &obj_vpc)
		return batch_vpc(st, verb, argc, argv);
	if (o == &obj_subnet)
		return batch_subnet(st, verb, argc, argv);
	if (o == &obj_nic)
		return batch_nic(st, verb, argc, argv);
	if (o == &obj_sg)
		return batch_sg(st, verb, argc, argv);
	return batch_route(st, verb, argc, argv);
}

int split_words(char *line, char **words, int max)
{
	int n = 0;
	char *p = line;

	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == '\r')
			p++;
		if (!*p)
			break;
		if (n == max)
			return -E2BIG;
		if (*p == '"') {
			words[n++] = ++p;
			while (*p && *p != '"')
				p++;
			if (!*p)
				return -EINVAL;
		} else {
			words[n++] = p;
			while (*p && *p != ' ' && *p != '\t' && *p != '\r')
				p++;
		}
		if (*p)
			*p++ = '\0';
	}
	return n;
}

/*
 * err_context = "NAME:LINE: ". Set for every line (a million for a large
 * batch), so the name is copied once and only the number is written each time.
 */
static void line_context(const char *name, int line)
{
	static const char *last;
	static size_t base;
	char digits[16];
	size_t n = 0;
	unsigned int u = line > 0 ? (unsigned int)line : 0;

	if (name != last || strncmp(err_context, name, base - 1)) { /* another file, or the context was cleared */
		snprintf(err_context, sizeof(err_context), "%s:", name);
		base = strlen(err_context);
		last = name;
	}
	do
		digits[n++] = (char)('0' + u % 10);
	while ((u /= 10));
	if (base + n + 3 > sizeof(err_context))
		return;
	for (size_t k = 0; k < n; k++)
		err_context[base + k] = digits[n - 1 - k];
	memcpy(err_context + base + n, ": ", 3);
}

/* Reads FILE: one command a line, '#' comments, '\' continues a line; edits *st line by line. */
/* A '#' starts a comment unless it sits inside double quotes (then it belongs to a word). */
static char *comment_start(char *s)
{
	bool quoted = false;

	for (; *s; s++) {
		if (*s == '"')
			quoted = !quoted;
		else if (*s == '#' && !quoted)
			return s;
	}
	return NULL;
}

int read_batch(FILE *f, const char *name, struct txn_state *st, unsigned int *ncmds)
{
	char *line = NULL, *cmd = NULL;
	size_t cap = 0, cmd_len = 0;
	int lineno = 0, start = 0, err = 0;

	while (!err && getline(&line, &cap, f) >= 0) {
		size_t n = strcspn(line, "\n");
		bool cont = n > 0 && line[n - 1] == '\\';

		lineno++;
		line[cont ? n - 1 : n] = '\0';
		if (!cmd_len)
			start = lineno;
		char *grown = realloc(cmd, cmd_len + strlen(line) + 2);
		if (!grown) {
			err = fail("out of memory");
			break;
		}
		cmd = grown;
		memcpy(cmd + cmd_len, line, strlen(line) + 1);
		cmd_len += strlen(line);
		cmd[cmd_len++] = ' ';
		cmd[cmd_len] = '\0';
		if (cont)
			continue;
		char *hash = comment_start(cmd);
		if (hash)
			*hash = '\0';
		char *words[256];
		int nw = split_words(cmd, words, 256);
		line_context(name, start);
		if (nw < 0)
			err = fail("bad quoting or too many words");
		else if (nw > 0) {
			err = batch_line(st, nw, words);
			(*ncmds)++;
		}
		cmd_len = 0;
	}
	if (!err && cmd_len) { /* the file ended inside a continued line */
		snprintf(err_context, sizeof(err_context), "%s:%d: ", name, start);
		err = fail("the last line ends with '\\' but nothing follows");
	}
	if (!err && ferror(f))
		err = fail_errno(errno, "cannot read");
	err_context[0] = '\0';
	free(line);
	free(cmd);
	return err;
}

int run_batch(const char *path)
{
	const char *name = strcmp(path, "-") ? path : "<stdin>";
	struct txn_state cur, want;
	unsigned int ncmds = 0;
	struct store *s;
	FILE *f;
	int err;

	f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	if (!f)
		return fail_errno(errno, "cannot open batch file \"%s\"", path);
	if (!(s = store_get(true)) || state_load_edit(s, &cur)) {
		if (f != stdin)
			fclose(f);
		return 1;
	}
	if (txn_state_copy(&want, &cur)) {
		txn_state_free(&cur);
		if (f != stdin)
			fclose(f);
		return fail("out of memory");
	}
	err = read_batch(f, name, &want, &ncmds);
	if (f != stdin)
		fclose(f);
	if (!err)
		err = state_commit(s, &cur, &want);
	txn_state_free(&cur);
	txn_state_free(&want);
	if (!err && opts.verbose)
		fprintf(stderr, "vpcbpf: %s: %u command(s) applied as one transaction\n", name, ncmds);
	return err;
}
