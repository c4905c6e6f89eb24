/* cli/apply.c — vpcbpf apply FILE|-: make the host's state equal to a JSON document, as one transaction. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <json-c/json.h>
#include "cli/cli.h"
#include "cli/state.h"
#include "maps/sg_table.h"

/*
 * The document (docs/schema.md) is read whole by json-c, checked strictly
 * (unknown keys, wrong types and duplicates are refused), turned into a state
 * in memory through the same rules as the single commands, and committed
 * against the live state: only the difference is written, as one
 * transaction. Any error names where it is and changes nothing.
 */

static const char *src_name;

/* Error context "FILE: section[i]: " for the object being read. */
static void where(const char *section, size_t i)
{
	if (section)
		snprintf(err_context, sizeof(err_context), "%s: %s[%zu]: ", src_name, section, i);
	else
		snprintf(err_context, sizeof(err_context), "%s: ", src_name);
}

struct field {
	const char *key;
	json_type type;
	bool required;
	json_object *val; /* out */
};

static const char *type_name(json_type t)
{
	switch (t) {
	case json_type_boolean: return "true or false";
	case json_type_int: return "an integer";
	case json_type_string: return "a string";
	case json_type_array: return "an array";
	case json_type_object: return "an object";
	case json_type_double: return "a number";
	default: return "null";
	}
}

/* Matches an object's keys against the fields it may have: unknown keys, wrong types and missing keys are errors. */
static int take_fields(json_object *o, struct field *f, size_t n)
{
	if (!json_object_is_type(o, json_type_object))
		return fail("expected an object, not %s", type_name(json_object_get_type(o)));
	json_object_object_foreach(o, key, val) {
		size_t i;
		for (i = 0; i < n && strcmp(f[i].key, key); i++)
			;
		if (i == n) {
			char known[256] = "";
			for (size_t j = 0; j < n; j++)
				snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s%s", j ? ", " : "", f[j].key);
			return fail("unknown key \"%s\" (expected %s)", key, known);
		}
		if (!json_object_is_type(val, f[i].type))
			return fail("\"%s\" must be %s, not %s", key, type_name(f[i].type), type_name(json_object_get_type(val)));
		f[i].val = val;
	}
	for (size_t i = 0; i < n; i++)
		if (f[i].required && !f[i].val)
			return fail("missing \"%s\"", f[i].key);
	return 0;
}

static int get_vni(json_object *v, const char *key, __u32 *vni)
{
	int64_t x = json_object_get_int64(v);
	if (x < VNI_MIN || x > VNI_MAX)
		return fail("\"%s\": invalid VNI %lld (expected %u..%u)", key, (long long)x, VNI_MIN, VNI_MAX);
	*vni = (__u32)x;
	return 0;
}

static int apply_vpc(struct txn_state *st, json_object *o)
{
	struct field f[] = { { "vni", json_type_int, true }, { "name", json_type_string, false } };
	char name[NAME_LEN] = "";
	__u32 vni;

	if (take_fields(o, f, 2) || get_vni(f[0].val, "vni", &vni))
		return 1;
	if (f[1].val && parse_name(json_object_get_string(f[1].val), "VPC name", name))
		return 1;
	if (table_get(&st->vpcs, &vni))
		return fail("duplicate VPC %u", vni);
	return state_vpc_add(st, vni, name);
}

static int apply_subnet(struct txn_state *st, json_object *o)
{
	struct field f[] = { { "cidr", json_type_string, true }, { "vpc", json_type_int, true },
			     { "gateway", json_type_string, false }, { "name", json_type_string, false } };
	struct subnet_key k;
	char name[NAME_LEN] = "", b[20];
	__be32 gw = 0;

	memset(&k, 0, sizeof(k));
	if (take_fields(o, f, 4) || parse_prefix(json_object_get_string(f[0].val), &k.prefix, &k.len) ||
	    get_vni(f[1].val, "vpc", &k.vni))
		return 1;
	if (f[2].val && parse_ip(json_object_get_string(f[2].val), &gw))
		return 1;
	if (f[3].val && parse_name(json_object_get_string(f[3].val), "subnet name", name))
		return 1;
	if (table_get(&st->subnets, &k))
		return fail("duplicate subnet %s of VPC %u", prefix_str(k.prefix, k.len, b), k.vni);
	return state_subnet_add(st, k, f[2].val != NULL, gw, name);
}

/* A rule is given as the words of 'sg rule add', so it is checked exactly as that command checks it. */
static int apply_sg_rule(struct txn_state *st, const char *sg, json_object *o)
{
	struct field f[] = { { "priority", json_type_int, false }, { "direction", json_type_string, true },
			     { "proto", json_type_string, true }, { "port", json_type_string, false },
			     { "cidr", json_type_string, false }, { "action", json_type_string, true } };
	char *words[12], prio[24];
	struct sg_rule_entry e;
	int n = 0;

	if (take_fields(o, f, 6))
		return 1;
	words[n++] = (char *)json_object_get_string(f[1].val);
	if (strcmp(words[0], "ingress") && strcmp(words[0], "egress"))
		return fail("\"direction\" must be \"ingress\" or \"egress\", not \"%s\"", words[0]);
	words[n++] = "proto";
	words[n++] = (char *)json_object_get_string(f[2].val);
	if (f[3].val) {
		words[n++] = "port";
		words[n++] = (char *)json_object_get_string(f[3].val);
	}
	if (f[4].val) {
		words[n++] = "cidr";
		words[n++] = (char *)json_object_get_string(f[4].val);
	}
	words[n] = (char *)json_object_get_string(f[5].val);
	if (strcmp(words[n], "allow") && strcmp(words[n], "deny"))
		return fail("\"action\" must be \"allow\" or \"deny\", not \"%s\"", words[n]);
	n++;
	if (f[0].val) {
		snprintf(prio, sizeof(prio), "%lld", (long long)json_object_get_int64(f[0].val));
		words[n++] = "priority";
		words[n++] = prio;
	}
	return sg_parse_rule(n, words, &e) || state_sg_rule_add(st, sg, e);
}

static int apply_sg(struct txn_state *st, json_object *o)
{
	struct field f[] = { { "name", json_type_string, true }, { "rules", json_type_array, false } };
	char name[NAME_LEN];
	__u32 id;

	if (take_fields(o, f, 2) || parse_name(json_object_get_string(f[0].val), "security group name", name))
		return 1;
	for (const struct txn_sg *g = NULL; (g = table_next(&st->sgs, g));)
		if (!strncmp(g->name, name, NAME_LEN))
			return fail("duplicate security group \"%s\"", name);
	if (state_sg_add(st, name) || state_sg_id(st, name, &id))
		return 1;
	size_t n = f[1].val ? json_object_array_length(f[1].val) : 0;
	size_t len = strlen(err_context);
	for (size_t i = 0; i < n; i++) {
		snprintf(err_context + len - 2, sizeof(err_context) - len + 2, ".rules[%zu]: ", i);
		if (apply_sg_rule(st, name, json_object_array_get_idx(f[1].val, i)))
			return 1;
	}
	return 0;
}

static int apply_nic(struct txn_state *st, json_object *o)
{
	struct field f[] = { { "ip", json_type_string, true }, { "vpc", json_type_int, true },
			     { "mac", json_type_string, true }, { "dev", json_type_string, false },
			     { "remote", json_type_string, false }, { "source_check", json_type_boolean, false },
			     { "sg", json_type_string, false } };
	struct txn_nic n;
	char b[16];

	memset(&n, 0, sizeof(n));
	if (take_fields(o, f, 7) || parse_ip(json_object_get_string(f[0].val), &n.k.ip) ||
	    get_vni(f[1].val, "vpc", &n.k.vni) || parse_mac(json_object_get_string(f[2].val), n.v.mac))
		return 1;
	if (f[6].val && state_sg_id(st, json_object_get_string(f[6].val), &n.v.sg_id))
		return 1;
	if (!f[3].val == !f[4].val)
		return fail("NIC %s: give exactly one of \"dev\" or \"remote\"", ip_str(n.k.ip, b));
	if (f[3].val) {
		const char *dev = json_object_get_string(f[3].val);
		if (!*dev || strlen(dev) >= IF_NAMESIZE)
			return fail("invalid device name \"%s\"", dev);
		snprintf(n.dev, sizeof(n.dev), "%s", dev);
		n.v.flags = NIC_F_LOCAL;
	} else {
		if (parse_ip(json_object_get_string(f[4].val), &n.v.remote))
			return 1;
		n.v.flags = NIC_F_REMOTE;
	}
	if (!f[5].val || json_object_get_boolean(f[5].val))
		n.v.flags |= NIC_F_SOURCE_CHECK;
	if (table_get(&st->nics, &n.k))
		return fail("duplicate NIC %s of VPC %u", ip_str(n.k.ip, b), n.k.vni);
	return state_nic_set(st, n, false);
}

static int apply_route(struct txn_state *st, json_object *o)
{
	struct field f[] = { { "prefix", json_type_string, true }, { "vpc", json_type_int, true },
			     { "via", json_type_string, false }, { "peer", json_type_int, false },
			     { "blackhole", json_type_boolean, false }, { "advertise", json_type_boolean, false } };
	struct txn_route_key k;
	struct route r;
	__u32 vni = 0;
	char b[20];

	memset(&r, 0, sizeof(r));
	if (take_fields(o, f, 6) || parse_prefix(json_object_get_string(f[0].val), &r.prefix, &r.len) ||
	    get_vni(f[1].val, "vpc", &vni))
		return 1;
	if ((f[2].val != NULL) + (f[3].val != NULL) + (f[4].val && json_object_get_boolean(f[4].val)) != 1)
		return fail("route %s: give exactly one next hop: \"via\", \"peer\" or \"blackhole\": true",
			    prefix_str(r.prefix, r.len, b));
	if (f[2].val) {
		if (parse_ip(json_object_get_string(f[2].val), &r.via))
			return 1;
		r.kind = ROUTE_VIA;
	} else if (f[3].val) {
		if (get_vni(f[3].val, "peer", &r.peer_vni))
			return 1;
		r.kind = ROUTE_PEER;
	} else {
		r.kind = ROUTE_BLACKHOLE;
	}
	if (f[5].val && json_object_get_boolean(f[5].val))
		r.flags |= ROUTE_F_ADVERTISE;
	k = txn_route_key(vni, r.prefix, r.len);
	if (table_get(&st->routes, &k))
		return fail("duplicate route %s of VPC %u", prefix_str(r.prefix, r.len, b), vni);
	return state_route_set(st, vni, &r, false);
}

/* In dependency order: what an object refers to is read before it. */
struct apply_section {
	const char *key;
	int (*apply)(struct txn_state *st, json_object *item);
};

static const struct apply_section sections[] = {
	{ "vpcs", apply_vpc },
	{ "security_groups", apply_sg },
	{ "subnets", apply_subnet },
	{ "nics", apply_nic },
	{ "routes", apply_route },
};
#define NSECTIONS (sizeof(sections) / sizeof(sections[0]))

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

static void line_col(const char *buf, size_t off, int *line, int *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off && buf[i]; i++) {
		if (buf[i] == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

/* Parses the whole document; a syntax error names line:column. */
static json_object *parse_doc(const char *buf, size_t len)
{
	json_tokener *tok = json_tokener_new_ex(JSON_TOKENER_DEFAULT_DEPTH);
	json_object *doc;
	enum json_tokener_error jerr;
	int line, col;

	if (!tok) {
		fail("out of memory");
		return NULL;
	}
	size_t first = 0;
	while (first < len && (buf[first] == ' ' || buf[first] == '\n' || buf[first] == '\t' || buf[first] == '\r'))
		first++;
	if (first == len) {
		json_tokener_free(tok);
		fail("the document is empty");
		return NULL;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	doc = json_tokener_parse_ex(tok, buf, (int)len);
	jerr = json_tokener_get_error(tok);
	size_t end = json_tokener_get_parse_end(tok);
	if (jerr == json_tokener_continue) {
		line_col(buf, len, &line, &col);
		fail("%d:%d: the JSON ends too early (unclosed object, array or string)", line, col);
		doc = NULL;
	} else if (jerr != json_tokener_success) {
		line_col(buf, end, &line, &col);
		fail("%d:%d: invalid JSON: %s", line, col, json_tokener_error_desc(jerr));
		doc = NULL;
	} else {
		size_t i = end;
		while (i < len && (buf[i] == ' ' || buf[i] == '\n' || buf[i] == '\t' || buf[i] == '\r'))
			i++;
		if (i < len) {
			line_col(buf, i, &line, &col);
			fail("%d:%d: unexpected text after the JSON document", line, col);
			json_object_put(doc);
			doc = NULL;
		}
	}
	json_tokener_free(tok);
	return doc;
}

/* The state the document describes, checked object by object. */
static int doc_state(json_object *doc, struct txn_state *want)
{
	json_object *arr[NSECTIONS] = { 0 };

	where(NULL, 0);
	if (!json_object_is_type(doc, json_type_object))
		return fail("the document must be a JSON object with \"vpcs\", \"subnets\", \"nics\" and \"routes\"");
	json_object_object_foreach(doc, key, val) {
		size_t i;
		if (!strcmp(key, "version")) {
			if (!json_object_is_type(val, json_type_int) || json_object_get_int64(val) != 1)
				return fail("\"version\" must be 1 (this vpcbpf reads version 1)");
			continue;
		}
		for (i = 0; i < NSECTIONS && strcmp(sections[i].key, key); i++)
			;
		if (i == NSECTIONS)
			return fail("unknown key \"%s\" (expected version, vpcs, security_groups, subnets, nics, routes)", key);
		if (!json_object_is_type(val, json_type_array))
			return fail("\"%s\" must be an array, not %s", key, type_name(json_object_get_type(val)));
		arr[i] = val;
	}
	for (size_t i = 0; i < NSECTIONS; i++) {
		size_t n = arr[i] ? json_object_array_length(arr[i]) : 0;
		for (size_t j = 0; j < n; j++) {
			where(sections[i].key, j);
			if (sections[i].apply(want, json_object_array_get_idx(arr[i], j)))
				return 1;
		}
	}
	where(NULL, 0);
	err_context[0] = '\0';
	return 0;
}

static int do_apply(int argc, char **argv)
{
	struct txn_state cur, want;
	json_object *doc;
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
	where(NULL, 0);
	doc = parse_doc(buf, len);
	err_context[0] = '\0';
	free(buf);
	if (!doc)
		return 1;
	if (!(s = store_get(true)) || state_load(s, &cur)) {
		json_object_put(doc);
		return 1;
	}
	txn_state_init(&want);
	err = doc_state(doc, &want);
	err_context[0] = '\0';
	json_object_put(doc);
	if (!err)
		err = state_commit(s, &cur, &want);
	txn_state_free(&cur);
	txn_state_free(&want);
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
