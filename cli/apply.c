/* cli/apply.c — vpcbpf apply FILE|-: make the host's state equal to a JSON document, as one transaction. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <net/if.h>
#include "cli/cli.h"
#include "cli/edit.h"
#include "cli/jdoc.h"
#include "cli/schema.h"
#include "cli/state.h"
#include "cli/advertise.h"
#include "cli/dhcp.h"
#include "maps/sg_table.h"
#include "maps/clock.h"

/*
 * The document (docs/schema.md) is read whole by cli/jdoc.c, checked strictly
 * (unknown keys, wrong types and duplicates are refused), turned into a state
 * in memory through the same rules as the single commands, and committed
 * against the live state: only the difference is written, as one
 * transaction. Any error names where it is and changes nothing.
 */

static const char *src_name;

/*
 * Error context "FILE: section[i]: " for the object being read. It is set for
 * every object (a million for a large table), so the "FILE: section[" part is
 * formatted once per section and only the index after it each time.
 */
static void where(const char *section, size_t i)
{
	static const char *last;
	static size_t base;
	char digits[24];
	size_t n = 0;

	if (!section) {
		snprintf(err_context, sizeof(err_context), "%s: ", src_name);
		last = NULL;
		return;
	}
	if (section != last || strncmp(err_context, src_name, strlen(src_name))) {
		snprintf(err_context, sizeof(err_context), "%s: %s[", src_name, section);
		base = strlen(err_context);
		last = section;
	}
	do
		digits[n++] = (char)('0' + i % 10);
	while ((i /= 10));
	if (base + n + 4 > sizeof(err_context))
		return; /* a path too long to name anything after it */
	for (size_t k = 0; k < n; k++)
		err_context[base + k] = digits[n - 1 - k];
	memcpy(err_context + base + n, "]: ", 4);
}

struct field {
	const char *key;
	enum jtype type;
	bool required;
	const struct jval *val; /* out */
};

static const char *type_name(enum jtype t)
{
	switch (t) {
	case J_BOOL: return "true or false";
	case J_INT: return "an integer";
	case J_STRING: return "a string";
	case J_ARRAY: return "an array";
	case J_OBJECT: return "an object";
	case J_DOUBLE: return "a number";
	default: return "null";
	}
}

/* Matches an object's keys against the fields it may have: unknown keys, wrong types and missing keys are errors. */
static int take_fields(const struct jval *o, struct field *f, size_t n)
{
	if (o->type != J_OBJECT)
		return fail("expected an object, not %s", type_name(o->type));
	for (uint32_t m = 0; m < o->n; m++) {
		const struct jval *val = &o->items[m];
		const char *key = val->key;
		size_t i;
		for (i = 0; i < n && strcmp(f[i].key, key); i++)
			;
		if (i == n) {
			char known[256] = "";
			for (size_t j = 0; j < n; j++)
				snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s%s", j ? ", " : "", f[j].key);
			return fail("unknown key \"%s\" (expected %s)", key, known);
		}
		if (val->type != f[i].type)
			return fail("\"%s\" must be %s, not %s", key, type_name(f[i].type), type_name(val->type));
		f[i].val = val;
	}
	for (size_t i = 0; i < n; i++)
		if (f[i].required && !f[i].val)
			return fail("missing \"%s\"", f[i].key);
	return 0;
}

/* A VNI key: the same check and words as the command line's VNI (the error context names the object). */
static int get_vni(const struct jval *v, __u32 *vni)
{
	char num[24];

	snprintf(num, sizeof(num), "%lld", (long long)v->i);
	return parse_vni(num, vni);
}

/* Each JSON object becomes the edit its command would be (cli/edit.c), and goes through the same rules. */
static void edit_init(struct edit *e, enum edit_op op)
{
	memset(e, 0, sizeof(*e));
	e->verb = edit_verb_of(op);
	e->source_check = true;
}

static int apply_vpc(struct txn_state *st, const struct jval *o)
{
	struct field f[] = { { "vni", J_INT, true }, { "name", J_STRING, false }, { "table", J_INT, false } };
	char num[24];
	struct edit e;

	edit_init(&e, EDIT_VPC_ADD);
	if (take_fields(o, f, 3) || get_vni(f[0].val, &e.vni))
		return 1;
	if (f[1].val && parse_name(f[1].val->s, "VPC name", e.name))
		return 1;
	/* the number as the command line's table N reads it */
	if (f[2].val && (snprintf(num, sizeof(num), "%lld", (long long)f[2].val->i), parse_advertise_table(num, &e.table)))
		return 1;
	if (table_get(&st->vpcs, &e.vni))
		return fail("duplicate VPC %u", e.vni);
	return edit_apply(st, &e);
}

static int apply_subnet(struct txn_state *st, const struct jval *o)
{
	struct field f[] = { { "cidr", J_STRING, true }, { "vpc", J_INT, true },
			     { "gateway", J_STRING, false }, { "name", J_STRING, false },
			     { "dns", J_STRING, false }, { "domain", J_STRING, false }, { "routes", J_STRING, false } };
	static const unsigned int option[] = { DHCP_HAVE_DNS, DHCP_HAVE_DOMAIN, DHCP_HAVE_ROUTES };
	struct subnet_key k;
	struct edit e;
	char b[20];

	edit_init(&e, EDIT_SUBNET_ADD);
	if (take_fields(o, f, 7) || parse_prefix(f[0].val->s, &e.prefix, &e.len) || get_vni(f[1].val, &e.vni))
		return 1;
	if (f[2].val && parse_ip(f[2].val->s, &e.gateway))
		return 1;
	if (f[2].val)
		e.have |= 1U << ES_GATEWAY;
	if (f[3].val && parse_name(f[3].val->s, "subnet name", e.name))
		return 1;
	/* the DHCP options in the words of subnet add's dns, domain and routes (cli/dhcp.c) */
	for (int i = 0; i < 3; i++)
		if (f[4 + i].val && dhcp_parse_option(option[i], f[4 + i].val->s, &e.dhcp))
			return 1;
	memset(&k, 0, sizeof(k));
	k.vni = e.vni;
	k.prefix = e.prefix;
	k.len = e.len;
	if (table_get(&st->subnets, &k))
		return fail("duplicate subnet %s of VPC %u", prefix_str(k.prefix, k.len, b), k.vni);
	return edit_apply(st, &e);
}

/* A rule is given as the words of 'sg rule add', so it is checked exactly as that command checks it. */
static int apply_sg_rule(struct txn_state *st, const char *sg, const struct jval *o)
{
	struct field f[] = { { "priority", J_INT, false }, { "direction", J_STRING, true },
			     { "proto", J_STRING, true }, { "port", J_STRING, false },
			     { "cidr", J_STRING, false }, { "action", J_STRING, true } };
	char *words[12], prio[24];
	struct edit e;
	int n = 0;

	if (take_fields(o, f, 6))
		return 1;
	words[n++] = (char *)f[1].val->s;
	if (strcmp(words[0], "ingress") && strcmp(words[0], "egress"))
		return fail("\"direction\" must be \"ingress\" or \"egress\", not \"%s\"", words[0]);
	words[n++] = "proto";
	words[n++] = (char *)f[2].val->s;
	if (f[3].val) {
		words[n++] = "port";
		words[n++] = (char *)f[3].val->s;
	}
	if (f[4].val) {
		words[n++] = "cidr";
		words[n++] = (char *)f[4].val->s;
	}
	words[n] = (char *)f[5].val->s;
	if (strcmp(words[n], "allow") && strcmp(words[n], "deny"))
		return fail("\"action\" must be \"allow\" or \"deny\", not \"%s\"", words[n]);
	n++;
	if (f[0].val) {
		snprintf(prio, sizeof(prio), "%lld", (long long)f[0].val->i);
		words[n++] = "priority";
		words[n++] = prio;
	}
	edit_init(&e, EDIT_SG_RULE_ADD);
	e.group = sg;
	return sg_parse_rule(n, words, &e.rule) || edit_apply(st, &e);
}

static int apply_sg(struct txn_state *st, const struct jval *o)
{
	struct field f[] = { { "name", J_STRING, true }, { "rules", J_ARRAY, false } };
	char name[NAME_LEN];
	struct edit e;

	edit_init(&e, EDIT_SG_ADD);
	if (take_fields(o, f, 2) || parse_name(f[0].val->s, "security group name", e.name))
		return 1;
	memcpy(name, e.name, NAME_LEN);
	for (const struct txn_sg *g = NULL; (g = table_next(&st->sgs, g));)
		if (!strncmp(g->name, name, NAME_LEN))
			return fail("duplicate security group \"%s\"", name);
	if (edit_apply(st, &e))
		return 1;
	size_t n = f[1].val ? f[1].val->n : 0;
	size_t len = strlen(err_context);
	for (size_t i = 0; i < n; i++) {
		snprintf(err_context + len - 2, sizeof(err_context) - len + 2, ".rules[%zu]: ", i);
		if (apply_sg_rule(st, name, &f[1].val->items[i]))
			return 1;
	}
	return 0;
}

static int apply_nic(struct txn_state *st, const struct jval *o)
{
	struct field f[] = { { "ip", J_STRING, true }, { "vpc", J_INT, true },
			     { "mac", J_STRING, true }, { "dev", J_STRING, false },
			     { "remote", J_STRING, false }, { "source_check", J_BOOL, false },
			     { "sg", J_STRING, false }, { "ct_quota", J_INT, false }, { "host", J_STRING, false },
			     { "dhcp", J_BOOL, false } };
	struct nic_key k;
	struct edit e;
	char b[16];

	edit_init(&e, EDIT_NIC_ADD);
	if (take_fields(o, f, 10) || parse_ip(f[0].val->s, &e.ip) || get_vni(f[1].val, &e.vni) ||
	    parse_mac(f[2].val->s, e.mac))
		return 1;
	if (f[6].val) {
		if (strcmp(f[6].val->s, "none") && parse_name(f[6].val->s, "security group name", e.sg))
			return 1;
		e.have |= 1U << ES_SG;
	}
	if (!f[3].val == !f[4].val)
		return fail("NIC %s: give exactly one of \"dev\" or \"remote\"", ip_str(e.ip, b));
	if (f[3].val) {
		const char *dev = f[3].val->s;
		if (!*dev || strlen(dev) >= IF_NAMESIZE)
			return fail("invalid device name \"%s\"", dev);
		snprintf(e.dev, sizeof(e.dev), "%s", dev);
		e.have |= 1U << ES_DEV;
	} else {
		if (parse_ip(f[4].val->s, &e.remote))
			return 1;
		e.have |= 1U << ES_REMOTE;
	}
	e.source_check = !f[5].val || f[5].val->i != 0;
	e.dhcp_off = f[9].val && f[9].val->i == 0;
	if (f[7].val && (f[7].val->i < 0 || f[7].val->i > MAX_CONNTRACK))
		return fail("NIC %s: ct_quota %lld out of range (0: the host's, up to %u)", ip_str(e.ip, b),
			    (long long)f[7].val->i, MAX_CONNTRACK);
	if (f[7].val) {
		e.ct_quota = (__u32)f[7].val->i;
		e.have |= 1U << ES_CT_QUOTA;
	}
	if (f[8].val) { /* cluster mode: the host it lives on, as "dev" there */
		const char *h = f[8].val->s;
		if (!*h || strlen(h) >= TXN_HOST_LEN || strchr(h, '/'))
			return fail("invalid host name \"%s\"", h);
		snprintf(e.host, sizeof(e.host), "%s", h);
		e.have |= 1U << ES_HOST;
	}
	k.vni = e.vni;
	k.ip = e.ip;
	if (table_get(&st->nics, &k))
		return fail("duplicate NIC %s of VPC %u", ip_str(e.ip, b), e.vni);
	return edit_apply(st, &e);
}

static int apply_route(struct txn_state *st, const struct jval *o)
{
	struct field f[] = { { "prefix", J_STRING, true }, { "vpc", J_INT, true },
			     { "via", J_STRING, false }, { "peer", J_INT, false },
			     { "blackhole", J_BOOL, false }, { "advertise", J_BOOL, false },
			     { "internet", J_BOOL, false } };
	struct txn_route_key k;
	struct edit e;
	char b[20];

	edit_init(&e, EDIT_ROUTE_ADD);
	if (take_fields(o, f, 7) || parse_prefix(f[0].val->s, &e.prefix, &e.len) || get_vni(f[1].val, &e.vni))
		return 1;
	if ((f[2].val != NULL) + (f[3].val != NULL) + (f[4].val && (f[4].val->i != 0)) +
	    (f[6].val && (f[6].val->i != 0)) != 1)
		return fail("route %s: give exactly one next hop: \"via\", \"peer\", \"blackhole\": true or \"internet\": true",
			    prefix_str(e.prefix, e.len, b));
	if (f[2].val) {
		if (parse_ip(f[2].val->s, &e.via))
			return 1;
		e.have |= 1U << ES_VIA;
	} else if (f[3].val) {
		if (get_vni(f[3].val, &e.peer_vni))
			return 1;
		e.have |= 1U << ES_PEER;
	} else if (f[6].val && f[6].val->i != 0) {
		e.have |= 1U << ES_INTERNET;
	} else {
		e.have |= 1U << ES_BLACKHOLE;
	}
	e.advertise = f[5].val && f[5].val->i != 0;
	k = txn_route_key(e.vni, e.prefix, e.len);
	if (table_get(&st->routes, &k))
		return fail("duplicate route %s of VPC %u", prefix_str(e.prefix, e.len, b), e.vni);
	return edit_apply(st, &e);
}

static int apply_eip(struct txn_state *st, const struct jval *o)
{
	struct field f[] = { { "eip", J_STRING, true }, { "nic", J_STRING, true }, { "vpc", J_INT, true } };
	struct edit e;
	char b[16];

	edit_init(&e, EDIT_EIP_ADD);
	if (take_fields(o, f, 3) || parse_ip(f[0].val->s, &e.eip) || parse_ip(f[1].val->s, &e.ip) ||
	    get_vni(f[2].val, &e.vni))
		return 1;
	if (table_get(&st->eips, &e.eip))
		return fail("duplicate elastic IP %s", ip_str(e.eip, b));
	return edit_apply(st, &e);
}

/* In dependency order: what an object refers to is read before it. */
struct apply_section {
	const char *key;
	int (*apply)(struct txn_state *st, const struct jval *item);
};

static const struct apply_section sections[] = {
	{ "vpcs", apply_vpc },
	{ "security_groups", apply_sg },
	{ "subnets", apply_subnet },
	{ "nics", apply_nic },
	{ "routes", apply_route },
	{ "eips", apply_eip },
};
#define ROUTES_SECTION 4
#define NSECTIONS (sizeof(sections) / sizeof(sections[0]))

int apply_object(struct txn_state *st, const char *section, const struct jval *item)
{
	for (size_t i = 0; i < NSECTIONS; i++)
		if (!strcmp(sections[i].key, section))
			return sections[i].apply(st, item);
	return fail("unknown section \"%s\"", section);
}

static char *read_all(FILE *f, size_t *len)
{
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);

	while (buf) {
		size_t r = fread(buf + n, 1, cap - n - 1, f);
		n += r;
		if (r == 0)
			break;
		if (n + 1 == cap) {
			char *g = realloc(buf, cap * 2);
			if (!g)
				free(buf);
			buf = g;
			cap *= 2;
		}
	}
	if (buf)
		buf[n] = '\0';
	*len = n;
	return buf;
}

/* off <= the text's length; NULs jdoc wrote over closing quotes count as the columns they were */
static void line_col(const char *buf, size_t off, int *line, int *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off; i++) {
		if (buf[i] == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

/*
 * Reads the document with jdoc (its strings then point into buf). A refusal
 * names line:column and yajl's words; the words tests and users know stay:
 * "the document is empty", "the JSON ends too early", "invalid JSON (not
 * UTF-8)", and "(not strict JSON, RFC 8259)" for what the lexer refuses.
 */
static int read_doc(char *buf, size_t len, struct jdoc *doc)
{
	size_t off, first = 0;
	int line, col;

	while (first < len && (buf[first] == ' ' || buf[first] == '\n' || buf[first] == '\t' || buf[first] == '\r'))
		first++;
	if (first == len)
		return fail("the document is empty");
	if (!jdoc_parse(buf, len, doc, &off))
		return 0;
	line_col(buf, off, &line, &col);
	const char *why = doc->err;
	if (!strcmp(why, JDOC_TOO_EARLY) || !strcmp(why, JDOC_TRAILING))
		return fail("%d:%d: %s", line, col, why);
	if (strstr(why, "UTF8"))
		return fail("%d:%d: invalid JSON (not UTF-8)", line, col);
	if (!strncmp(why, "lexical error: ", 15))
		return fail("%d:%d: invalid JSON (not strict JSON, RFC 8259): %s", line, col, why + 15);
	if (!strncmp(why, "parse error: ", 13))
		why += 13;
	return fail("%d:%d: invalid JSON: %s", line, col, why);
}

/* The state the document describes, checked object by object. */
static int doc_state(const struct jval *doc, struct txn_state *want)
{
	const struct jval *arr[NSECTIONS] = { 0 };

	where(NULL, 0);
	if (doc->type != J_OBJECT)
		return fail("the document must be a JSON object with \"vpcs\", \"subnets\", \"nics\" and \"routes\"");
	for (uint32_t m = 0; m < doc->n; m++) {
		const struct jval *val = &doc->items[m];
		const char *key = val->key;
		size_t i;
		if (!strcmp(key, "version")) {
			if (val->type != J_INT || val->i != 1)
				return fail("\"version\" must be 1 (this vpcbpf reads version 1)");
			continue;
		}
		for (i = 0; i < NSECTIONS && strcmp(sections[i].key, key); i++)
			;
		if (i == NSECTIONS)
			return fail("unknown key \"%s\" (expected version, vpcs, security_groups, subnets, nics, routes, eips)", key);
		if (val->type != J_ARRAY)
			return fail("\"%s\" must be an array, not %s", key, type_name(val->type));
		arr[i] = val;
	}
	if (arr[ROUTES_SECTION] && table_reserve(&want->routes, arr[ROUTES_SECTION]->n))
		return fail("out of memory");
	for (size_t i = 0; i < NSECTIONS; i++) {
		size_t n = arr[i] ? arr[i]->n : 0;
		for (size_t j = 0; j < n; j++) {
			where(sections[i].key, j);
			if (sections[i].apply(want, &arr[i]->items[j]))
				return 1;
		}
	}
	where(NULL, 0);
	err_context[0] = '\0';
	return 0;
}

int apply_read(const char *path, struct txn_state *want)
{
	struct jdoc doc;
	size_t len;
	char *buf;
	FILE *f;
	int err;

	src_name = strcmp(path, "-") ? path : "<stdin>";
	f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	if (!f)
		return fail_errno(errno, "cannot open \"%s\"", path);
	buf = read_all(f, &len);
	if (f != stdin)
		fclose(f);
	if (!buf)
		return fail("out of memory reading \"%s\"", path);
	where(NULL, 0);
	err = read_doc(buf, len, &doc);
	err_context[0] = '\0';
	if (!err) {
		err = doc_state(&doc.root, want);
		err_context[0] = '\0';
		jdoc_free(&doc);
	}
	free(buf);
	return err;
}

static int do_apply(int argc, char **argv)
{
	double t0 = clock_ms(), t_read, t_parse, t_load, t_doc;
	struct txn_state cur, want;
	struct jdoc doc;
	struct store *s;
	size_t len;
	char *buf;
	FILE *f;
	int err;

	if (argc < 1)
		return fail("apply: missing FILE (or - for stdin)");
	if (argc > 1)
		return unknown_word(argv[1]);
	src_name = strcmp(argv[0], "-") ? argv[0] : "<stdin>";
	f = strcmp(argv[0], "-") ? fopen(argv[0], "r") : stdin;
	if (!f)
		return fail_errno(errno, "cannot open \"%s\"", argv[0]);
	buf = read_all(f, &len);
	if (f != stdin)
		fclose(f);
	if (!buf)
		return fail("out of memory reading \"%s\"", argv[0]);
	t_read = clock_ms();
	where(NULL, 0);
	err = read_doc(buf, len, &doc);
	t_parse = clock_ms();
	err_context[0] = '\0';
	if (err) {
		free(buf);
		return 1;
	}
	if (!(s = store_get(true)) || state_load(s, &cur)) {
		jdoc_free(&doc);
		free(buf);
		return 1;
	}
	t_load = clock_ms();
	txn_state_init(&want);
	err = doc_state(&doc.root, &want);
	err_context[0] = '\0';
	jdoc_free(&doc);
	free(buf); /* the document's strings lived in it */
	t_doc = clock_ms();
	if (!err)
		err = state_commit(s, &cur, &want);
	txn_state_free(&cur);
	txn_state_free(&want);
	if (opts.verbose)
		fprintf(stderr, "vpcbpf: apply: read %.1f ms, parse %.1f ms, state load %.1f ms, document checked %.1f ms, "
			"commit %.1f ms, freed; total %.1f ms\n", t_read - t0, t_parse - t_read, t_load - t_parse,
			t_doc - t_load, clock_ms() - t_doc, clock_ms() - t0);
	return err;
}

static const struct cmd cmds[] = { { "apply", do_apply }, { 0 } };

const struct object obj_apply = {
	.name = "apply",
	.cmds = cmds,
	.no_verbs = true,
	.usage = "apply { FILE | - }\n"
		 "Makes the state equal to FILE (the JSON 'vpcbpf save' prints), as one transaction:\n"
		 "only the difference is written, and packets see the old state or the new one.\n"
		 "Schema: docs/schema.md",
};
