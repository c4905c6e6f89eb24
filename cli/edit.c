/* cli/edit.c — the grammar of every edit, written once as tables: words -> struct edit -> the rules of cli/state.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include "cli/advertise.h"
#include "cli/cli.h"
#include "cli/dhcp.h"
#include "cli/edit.h"
#include "cli/objects.h"
#include "cli/state.h"

/*
 * The single command, --batch, apply and cluster mode all parse here and
 * apply through the same state_* rules: a word refused by one is refused by
 * all, with the same message. Keywords are table rows (xdp-tools' way): the
 * loop below reads any verb, and help can be printed from the same rows.
 */

#define END { .slot = ES__COUNT }

static const struct edit_kw vpc_add[] = {
	{ NULL, EV_VNI, ES_VNI, EK_REQUIRED, "VNI", NULL },
	{ "name", EV_NAME, ES_NAME, 0, "NAME", "VPC name" },
	{ "table", EV_TABLE, ES_TABLE, 0, "N|default", NULL },
	END,
};
static const struct edit_kw vpc_set[] = {
	{ NULL, EV_VNI, ES_VNI, EK_REQUIRED, "VNI", NULL },
	{ "table", EV_TABLE, ES_TABLE, EK_REQUIRED, "N|default", NULL },
	END,
};
static const struct edit_kw vpc_del[] = {
	{ NULL, EV_VNI, ES_VNI, EK_REQUIRED, "VNI", NULL },
	END,
};
static const struct edit_kw subnet_add[] = {
	{ NULL, EV_PREFIX, ES_PREFIX, EK_REQUIRED, "CIDR", NULL },
	{ "vpc", EV_VNI, ES_VNI, EK_REQUIRED, "VNI", NULL },
	{ "gateway", EV_IP, ES_GATEWAY, 0, "IP", NULL },
	{ "name", EV_NAME, ES_NAME, 0, "NAME", "subnet name" },
	{ "dns", EV_DHCP_OPTION, ES_DNS, 0, "IP[,IP]|none", NULL },
	{ "domain", EV_DHCP_OPTION, ES_DOMAIN, 0, "NAME|none", NULL },
	{ "routes", EV_DHCP_OPTION, ES_DHCP_ROUTES, 0, "PREFIX[,PREFIX...]|none", NULL },
	END,
};
static const struct edit_kw subnet_set[] = {
	{ NULL, EV_PREFIX, ES_PREFIX, EK_REQUIRED, "CIDR", NULL },
	{ "vpc", EV_VNI, ES_VNI, EK_REQUIRED, "VNI", NULL },
	{ "dns", EV_DHCP_OPTION, ES_DNS, 0, "IP[,IP]|none", NULL },
	{ "domain", EV_DHCP_OPTION, ES_DOMAIN, 0, "NAME|none", NULL },
	{ "routes", EV_DHCP_OPTION, ES_DHCP_ROUTES, 0, "PREFIX[,PREFIX...]|none", NULL },
	END,
};
static const struct edit_kw subnet_del[] = {
	{ NULL, EV_PREFIX, ES_PREFIX, EK_REQUIRED, "CIDR", NULL },
	{ "vpc", EV_VNI, ES_VNI, EK_REQUIRED, "VNI", NULL },
	END,
};
static const struct edit_kw nic_add[] = {
	{ NULL, EV_IP, ES_IP, EK_REQUIRED, "IP", NULL },
	{ "vpc", EV_VNI, ES_VNI, EK_REQUIRED, "VNI", NULL },
	{ "mac", EV_MAC, ES_MAC, EK_REQUIRED, "MAC", NULL },
	{ "dev", EV_DEV, ES_DEV, EK_ONE_OF(1), "IFNAME", NULL },
	{ "host", EV_WORD, ES_HOST, 0, "NAME", NULL },
	{ "remote", EV_IP, ES_REMOTE, EK_ONE_OF(1), "UNDERLAY_IP", NULL },
	{ "source-check", EV_ON_OFF, ES_SOURCE_CHECK, 0, "on|off", "source-check" },
	{ "sg", EV_NAME, ES_SG, 0, "NAME|none", "security group name" },
	{ "ct-quota", EV_CT_QUOTA, ES_CT_QUOTA, 0, "N|default", NULL },
	{ "dhcp", EV_ON_OFF, ES_DHCP, 0, "on|off", "dhcp" },
	END,
};
static const struct edit_kw nic_set[] = {
	{ NULL, EV_IP, ES_IP, EK_REQUIRED, "IP", NULL },
	{ "vpc", EV_VNI, ES_VNI, EK_REQUIRED, "VNI", NULL },
	{ "sg", EV_NAME, ES_SG, 0, "NAME|none", "security group name" },
	{ "source-check", EV_ON_OFF, ES_SOURCE_CHECK, 0, "on|off", "source-check" },
	{ "ct-quota", EV_CT_QUOTA, ES_CT_QUOTA, 0, "N|default", NULL },
	{ "dhcp", EV_ON_OFF, ES_DHCP, 0, "on|off", "dhcp" },
	END,
};
static const struct edit_kw nic_del[] = {
	{ NULL, EV_IP, ES_IP, EK_REQUIRED, "IP", NULL },
	{ "vpc", EV_VNI, ES_VNI, EK_REQUIRED, "VNI", NULL },
	END,
};
static const struct edit_kw route_set[] = {
	{ NULL, EV_PREFIX, ES_PREFIX, EK_REQUIRED, "PREFIX", NULL },
	{ "vpc", EV_VNI, ES_VNI, EK_REQUIRED, "VNI", NULL },
	{ "via", EV_IP, ES_VIA, EK_NEXTHOP, "IP", NULL },
	{ "blackhole", EV_NONE, ES_BLACKHOLE, EK_NEXTHOP, NULL, NULL },
	{ "peer", EV_VNI, ES_PEER, EK_NEXTHOP, "VNI", NULL },
	{ "internet", EV_NONE, ES_INTERNET, EK_NEXTHOP, NULL, NULL },
	{ "advertise", EV_NONE, ES_ADVERTISE, 0, NULL, NULL },
	END,
};
static const struct edit_kw route_del[] = {
	{ NULL, EV_PREFIX, ES_PREFIX, EK_REQUIRED, "PREFIX", NULL },
	{ "vpc", EV_VNI, ES_VNI, EK_REQUIRED, "VNI", NULL },
	END,
};
static const struct edit_kw route_flush[] = {
	{ "vpc", EV_VNI, ES_VNI, EK_REQUIRED, "VNI", NULL },
	END,
};
static const struct edit_kw sg_add[] = {
	{ NULL, EV_NAME, ES_NAME, EK_REQUIRED, "NAME", "security group name" },
	END,
};
static const struct edit_kw sg_del[] = {
	{ NULL, EV_WORD, ES_GROUP, EK_REQUIRED, "NAME", NULL },
	END,
};
static const struct edit_kw sg_rule_add[] = {
	{ NULL, EV_WORD, ES_GROUP, EK_REQUIRED, "NAME", NULL },
	{ "", EV_RULE, ES_RULE, 0, "RULE", NULL }, /* every word after NAME */
	END,
};
static const struct edit_kw sg_rule_del[] = {
	{ NULL, EV_WORD, ES_GROUP, EK_REQUIRED, "NAME", NULL },
	{ "priority", EV_PRIORITY, ES_PRIORITY, EK_REQUIRED, "N", NULL },
	END,
};

static const struct edit_kw eip_add[] = {
	{ NULL, EV_IP, ES_EIP, EK_REQUIRED, "EIP", NULL },
	{ "nic", EV_IP, ES_IP, EK_REQUIRED, "IP", NULL },
	{ "vpc", EV_VNI, ES_VNI, EK_REQUIRED, "VNI", NULL },
	END,
};
static const struct edit_kw eip_del[] = {
	{ NULL, EV_IP, ES_EIP, EK_REQUIRED, "EIP", NULL },
	END,
};

static int check_nic(const struct edit *e)
{
	if (EDIT_HAS(e, ES_DEV) == EDIT_HAS(e, ES_REMOTE))
		return fail("nic %s: give exactly one of \"dev IFNAME\" or \"remote UNDERLAY_IP\"", e->verb->verb);
	return 0;
}

static int check_nic_set(const struct edit *e)
{
	if (!EDIT_HAS(e, ES_SG) && !EDIT_HAS(e, ES_SOURCE_CHECK) && !EDIT_HAS(e, ES_CT_QUOTA) && !EDIT_HAS(e, ES_DHCP))
		return fail("nic set: nothing to set (sg NAME|none, source-check on|off, ct-quota N|default, dhcp on|off)");
	return 0;
}

#define DHCP_OPTIONS ((1U << ES_DNS) | (1U << ES_DOMAIN) | (1U << ES_DHCP_ROUTES))

/* The DHCP_HAVE_* bits of the options an edit gives. */
static unsigned int dhcp_have(const struct edit *e)
{
	return (EDIT_HAS(e, ES_DNS) ? DHCP_HAVE_DNS : 0) | (EDIT_HAS(e, ES_DOMAIN) ? DHCP_HAVE_DOMAIN : 0) |
	       (EDIT_HAS(e, ES_DHCP_ROUTES) ? DHCP_HAVE_ROUTES : 0);
}

static int check_subnet_set(const struct edit *e)
{
	if (!(e->have & DHCP_OPTIONS))
		return fail("subnet set: nothing to set (dns IP[,IP]|none, domain NAME|none, routes PREFIX[,PREFIX...]|none)");
	return 0;
}

#define NEXTHOPS ((1U << ES_VIA) | (1U << ES_BLACKHOLE) | (1U << ES_PEER) | (1U << ES_INTERNET))

static int check_route(const struct edit *e)
{
	if (!(e->have & NEXTHOPS))
		return fail("route %s: missing next hop (via IP | blackhole | peer VNI | internet)", e->verb->verb);
	return 0;
}

/* In the order of the usage text. */
const struct edit_verb edit_verbs[] = {
	{ "vpc", "add", EDIT_VPC_ADD, vpc_add, NULL },
	{ "vpc", "set", EDIT_VPC_SET, vpc_set, NULL },
	{ "vpc", "del", EDIT_VPC_DEL, vpc_del, NULL },
	{ "subnet", "add", EDIT_SUBNET_ADD, subnet_add, NULL },
	{ "subnet", "set", EDIT_SUBNET_SET, subnet_set, check_subnet_set },
	{ "subnet", "del", EDIT_SUBNET_DEL, subnet_del, NULL },
	{ "nic", "add", EDIT_NIC_ADD, nic_add, check_nic },
	{ "nic", "replace", EDIT_NIC_REPLACE, nic_add, check_nic },
	{ "nic", "set", EDIT_NIC_SET, nic_set, check_nic_set },
	{ "nic", "del", EDIT_NIC_DEL, nic_del, NULL },
	{ "route", "add", EDIT_ROUTE_ADD, route_set, check_route },
	{ "route", "replace", EDIT_ROUTE_REPLACE, route_set, check_route },
	{ "route", "del", EDIT_ROUTE_DEL, route_del, NULL },
	{ "route", "flush", EDIT_ROUTE_FLUSH, route_flush, NULL },
	{ "sg", "add", EDIT_SG_ADD, sg_add, NULL },
	{ "sg", "del", EDIT_SG_DEL, sg_del, NULL },
	{ "sg", "rule add", EDIT_SG_RULE_ADD, sg_rule_add, NULL },
	{ "sg", "rule del", EDIT_SG_RULE_DEL, sg_rule_del, NULL },
	{ "eip", "add", EDIT_EIP_ADD, eip_add, NULL },
	{ "eip", "del", EDIT_EIP_DEL, eip_del, NULL },
	{ 0 },
};

/* sg rule's own verbs, in the order their prefixes resolve. */
static const char *const rule_verbs[] = { "add", "del", "delete", "show", "list", NULL };

static const struct edit_verb *verb_named(const char *object, const char *verb)
{
	for (const struct edit_verb *v = edit_verbs; v->object; v++)
		if (!strcmp(v->object, object) && !strcmp(v->verb, verb))
			return v;
	return NULL;
}

const struct edit_verb *edit_find(int argc, char **argv, int *nwords)
{
	const struct object *o;
	const struct cmd *c;
	char name[32];

	if (argc < 2 || !(o = object_find(argv[0])) || o->no_verbs || !(c = object_cmd(o, argv[1])))
		return NULL;
	snprintf(name, sizeof(name), "%s", !strcmp(c->name, "delete") ? "del" : c->name);
	*nwords = 2;
	if (!strcmp(name, "rule")) {
		const char *rv = NULL;
		if (argc < 3)
			return NULL;
		for (int i = 0; rule_verbs[i] && !rv; i++)
			if (matches(argv[2], rule_verbs[i]))
				rv = rule_verbs[i];
		if (!rv)
			return NULL;
		snprintf(name, sizeof(name), "rule %s", !strcmp(rv, "delete") ? "del" : rv);
		*nwords = 3;
	}
	return verb_named(o->name, name);
}

const struct edit_verb *edit_verb_of(enum edit_op op)
{
	for (const struct edit_verb *v = edit_verbs; v->object; v++)
		if (v->op == op)
			return v;
	return NULL;
}

bool edit_is_edit(int argc, char **argv)
{
	int n;
	return edit_find(argc, argv, &n) != NULL;
}

/* ---- reading the words ---- */

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

/* The words of RULE, in the order of enum rule_kw (sg_parse_rule finds them with keyword_find). */
enum rule_kw { RK_INGRESS, RK_EGRESS, RK_PROTO, RK_PORT, RK_CIDR, RK_ALLOW, RK_DENY, RK_PRIORITY, RK__COUNT };
const struct edit_kw sg_rule_words[] = {
	{ "ingress", EV_NONE, ES_RULE, EK_REQUIRED | EK_ONE_OF(1), NULL, NULL },
	{ "egress", EV_NONE, ES_RULE, EK_REQUIRED | EK_ONE_OF(1), NULL, NULL },
	{ "proto", EV_WORD, ES_RULE, EK_REQUIRED, "{ tcp | udp | icmp | any }", NULL },
	{ "port", EV_WORD, ES_RULE, 0, "N[-M]", NULL },
	{ "cidr", EV_PREFIX, ES_RULE, 0, "PREFIX", NULL },
	{ "allow", EV_NONE, ES_RULE, EK_REQUIRED | EK_ONE_OF(2), NULL, NULL },
	{ "deny", EV_NONE, ES_RULE, EK_REQUIRED | EK_ONE_OF(2), NULL, NULL },
	{ "priority", EV_PRIORITY, ES_RULE, 0, "N", NULL },
	END,
};
_Static_assert(sizeof(sg_rule_words) / sizeof(sg_rule_words[0]) == RK__COUNT + 1, "a row per enum rule_kw");

int sg_parse_rule(int argc, char **argv, struct sg_rule_entry *e)
{
	bool have_dir = false, have_proto = false, have_port = false, have_action = false;

	const char *rule_kws[RK__COUNT];

	for (int i = 0; i < RK__COUNT; i++)
		rule_kws[i] = sg_rule_words[i].word;
	memset(e, 0, sizeof(*e));
	e->r.port_hi = 65535;
	for (; argc > 0; argc--, argv++) {
		const char *val;
		int k = keyword_find(*argv, rule_kws, RK__COUNT, 0, "sg rule add");
		if (k == -2)
			return 1;
		switch (k) {
		case RK_INGRESS:
		case RK_EGRESS:
			if (have_dir)
				return fail("sg rule add: more than one direction (\"%s\")", *argv);
			e->r.dir = k == RK_INGRESS ? SG_INGRESS : SG_EGRESS;
			have_dir = true;
			break;
		case RK_PROTO:
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
			break;
		case RK_PORT:
			if (!(val = next_value(&argc, &argv, "port")) || parse_ports(val, &e->r.port_lo, &e->r.port_hi))
				return 1;
			have_port = true;
			break;
		case RK_CIDR:
			if (!(val = next_value(&argc, &argv, "cidr")) || parse_prefix(val, &e->r.cidr, &e->r.cidr_len))
				return 1;
			break;
		case RK_ALLOW:
		case RK_DENY:
			if (have_action)
				return fail("sg rule add: more than one action (\"%s\")", *argv);
			e->r.action = k == RK_ALLOW ? SG_ALLOW : SG_DENY;
			have_action = true;
			break;
		case RK_PRIORITY:
			if (!(val = next_value(&argc, &argv, "priority")) ||
			    parse_u32(val, "priority", &e->priority, 1, SG_PRIORITY_MAX))
				return 1;
			break;
		default:
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

/* One value into its slot. */
static int take_value(const struct edit_kw *k, const char *val, struct edit *e)
{
	switch (k->slot) {
	case ES_VNI: return parse_vni(val, &e->vni);
	case ES_PEER: return parse_vni(val, &e->peer_vni);
	case ES_PREFIX: return parse_prefix(val, &e->prefix, &e->len);
	case ES_IP: return parse_ip(val, &e->ip);
	case ES_GATEWAY: return parse_ip(val, &e->gateway);
	case ES_REMOTE: return parse_ip(val, &e->remote);
	case ES_VIA: return parse_ip(val, &e->via);
	case ES_EIP: return parse_ip(val, &e->eip);
	case ES_MAC: return parse_mac(val, e->mac);
	case ES_NAME: return parse_name(val, k->what, e->name);
	case ES_GROUP: e->group = val; return 0;
	case ES_SG:
		if (!strcmp(val, "none")) {
			memset(e->sg, 0, sizeof(e->sg));
			return 0;
		}
		return parse_name(val, k->what, e->sg);
	case ES_DEV:
		if (strlen(val) >= IF_NAMESIZE)
			return fail("invalid device name \"%s\"", val);
		snprintf(e->dev, sizeof(e->dev), "%s", val);
		return 0;
	case ES_SOURCE_CHECK: return parse_on_off(val, k->what, &e->source_check);
	case ES_PRIORITY: return parse_u32(val, "priority", &e->priority, 1, SG_PRIORITY_MAX);
	case ES_CT_QUOTA: return parse_ct_quota(val, &e->ct_quota);
	case ES_HOST:
		if (!*val || strlen(val) >= TXN_HOST_LEN || strchr(val, '/'))
			return fail("invalid host name \"%s\"", val);
		snprintf(e->host, sizeof(e->host), "%s", val);
		return 0;
	case ES_DNS: return dhcp_parse_option(DHCP_HAVE_DNS, val, &e->dhcp);
	case ES_DOMAIN: return dhcp_parse_option(DHCP_HAVE_DOMAIN, val, &e->dhcp);
	case ES_DHCP_ROUTES: return dhcp_parse_option(DHCP_HAVE_ROUTES, val, &e->dhcp);
	case ES_DHCP: {
		bool on;
		if (parse_on_off(val, k->what, &on))
			return 1;
		e->dhcp_off = !on;
		return 0;
	}
	case ES_TABLE:
		if (!strcmp(val, "default")) {
			e->table = 0;
			return 0;
		}
		return parse_advertise_table(val, &e->table);
	default: return fail("internal error: no slot for \"%s\"", k->word);
	}
}

/*
 * The row of kws (the keywords after the positional value) that word names: exact, else the one keyword
 * of this verb it is a prefix of; a prefix of several is refused with them ("route add: ambiguous keyword
 * \"v\": vpc, via"), so the single command, --batch and apply read the same words the same way.
 * An EV_RULE row takes every word. -1: none, -2: after fail().
 */
static int edit_keyword(const struct edit_verb *v, const struct edit_kw *kws, const char *word)
{
	const char *words[ES__COUNT + 1];
	unsigned long exact = 0;
	char where[64];
	int n = 0;

	for (const struct edit_kw *c = kws; c->slot != ES__COUNT && n <= ES__COUNT; c++, n++) {
		if (c->value == EV_RULE)
			return n;
		words[n] = c->word;
		if (c->flags & EK_EXACT)
			exact |= 1UL << n;
	}
	snprintf(where, sizeof(where), "%s %s", v->object, v->verb);
	return keyword_find(word, words, n, exact, where);
}

int edit_parse(const struct edit_verb *v, int argc, char **argv, struct edit *e)
{
	const struct edit_kw *k = v->kws;

	memset(e, 0, sizeof(*e));
	e->verb = v;
	e->source_check = true;
	if (!k->word) { /* the positional value */
		if (argc < 1)
			return fail("%s %s: missing %s", v->object, v->verb, k->meta);
		if (take_value(k, argv[0], e))
			return 1;
		e->have |= 1U << k->slot;
		argc--;
		argv++;
		k++;
	}
	for (; argc > 0; argc--, argv++) {
		const struct edit_kw *m = NULL;
		const char *val = NULL;
		int i = edit_keyword(v, k, *argv);
		if (i == -2)
			return 1;
		if (i < 0)
			return unknown_word(*argv);
		m = k + i;
		if (m->value == EV_RULE) {
			if (sg_parse_rule(argc, argv, &e->rule))
				return 1;
			e->have |= 1U << m->slot;
			break;
		}
		if ((m->flags & EK_NEXTHOP) && (e->have & NEXTHOPS))
			return fail("%s %s: more than one next hop (\"%s\")", v->object, v->verb, *argv);
		if (m->value != EV_NONE && (!(val = next_value(&argc, &argv, m->word)) || take_value(m, val, e)))
			return 1;
		if (m->slot == ES_ADVERTISE)
			e->advertise = true;
		e->have |= 1U << m->slot;
	}
	for (; k->slot != ES__COUNT; k++)
		if ((k->flags & EK_REQUIRED) && !EDIT_HAS(e, k->slot))
			return fail("%s %s: missing \"%s %s\"", v->object, v->verb, k->word, k->meta);
	/* sg rule add NAME with no RULE words: what the rule lacks first */
	if (v->op == EDIT_SG_RULE_ADD && !EDIT_HAS(e, ES_RULE) && sg_parse_rule(0, NULL, &e->rule))
		return 1;
	return v->check ? v->check(e) : 0;
}

/* ---- through the rules ---- */

static struct route edit_route(const struct edit *e)
{
	struct route r;

	memset(&r, 0, sizeof(r));
	r.prefix = e->prefix;
	r.len = e->len;
	if (EDIT_HAS(e, ES_VIA)) {
		r.kind = ROUTE_VIA;
		r.via = e->via;
	} else if (EDIT_HAS(e, ES_PEER)) {
		r.kind = ROUTE_PEER;
		r.peer_vni = e->peer_vni;
	} else if (EDIT_HAS(e, ES_INTERNET)) {
		r.kind = ROUTE_INTERNET;
	} else {
		r.kind = ROUTE_BLACKHOLE;
	}
	if (e->advertise)
		r.flags |= ROUTE_F_ADVERTISE;
	return r;
}

int edit_apply(struct txn_state *st, const struct edit *e)
{
	switch (e->verb->op) {
	case EDIT_VPC_ADD:
		return state_vpc_add(st, e->vni, e->name, e->table);
	case EDIT_VPC_SET:
		return state_vpc_set_table(st, e->vni, e->table);
	case EDIT_VPC_DEL:
		return state_vpc_del(st, e->vni);
	case EDIT_SUBNET_ADD:
	case EDIT_SUBNET_SET:
	case EDIT_SUBNET_DEL: {
		struct subnet_key k;
		memset(&k, 0, sizeof(k));
		k.vni = e->vni;
		k.prefix = e->prefix;
		k.len = e->len;
		if (e->verb->op == EDIT_SUBNET_DEL)
			return state_subnet_del(st, k);
		if (e->verb->op == EDIT_SUBNET_SET)
			return state_subnet_set_dhcp(st, k, &e->dhcp, dhcp_have(e));
		return state_subnet_add(st, k, EDIT_HAS(e, ES_GATEWAY), e->gateway, e->name, &e->dhcp);
	}
	case EDIT_NIC_ADD:
	case EDIT_NIC_REPLACE: {
		struct txn_nic n;
		memset(&n, 0, sizeof(n));
		n.k.vni = e->vni;
		n.k.ip = e->ip;
		memcpy(n.v.mac, e->mac, sizeof(n.v.mac));
		n.v.remote = e->remote;
		snprintf(n.dev, sizeof(n.dev), "%s", e->dev);
		snprintf(n.host, sizeof(n.host), "%s", e->host);
		n.v.flags = (EDIT_HAS(e, ES_DEV) ? NIC_F_LOCAL : NIC_F_REMOTE) | (e->source_check ? NIC_F_SOURCE_CHECK : 0) |
			    (e->dhcp_off ? NIC_F_NO_DHCP : 0);
		n.v.sg_id = TXN_SG_KEEP;
		n.v.ct_quota = EDIT_HAS(e, ES_CT_QUOTA) ? e->ct_quota : TXN_CT_QUOTA_KEEP;
		return state_nic_set(st, n, EDIT_HAS(e, ES_SG) ? e->sg : NULL, e->verb->op == EDIT_NIC_REPLACE);
	}
	case EDIT_NIC_SET: {
		struct nic_key k = { .vni = e->vni, .ip = e->ip };
		if (state_nic_update(st, k, EDIT_HAS(e, ES_SG) ? e->sg : NULL, EDIT_HAS(e, ES_SOURCE_CHECK),
				     e->source_check))
			return 1;
		if (EDIT_HAS(e, ES_CT_QUOTA) && state_nic_set_ct_quota(st, k, e->ct_quota))
			return 1;
		return EDIT_HAS(e, ES_DHCP) ? state_nic_set_dhcp(st, k, !e->dhcp_off) : 0;
	}
	case EDIT_NIC_DEL: {
		struct nic_key k = { .vni = e->vni, .ip = e->ip };
		return state_nic_del(st, k);
	}
	case EDIT_ROUTE_ADD:
	case EDIT_ROUTE_REPLACE: {
		struct route r = edit_route(e);
		return state_route_set(st, e->vni, &r, e->verb->op == EDIT_ROUTE_REPLACE);
	}
	case EDIT_ROUTE_DEL:
		return state_route_del(st, e->vni, e->prefix, e->len);
	case EDIT_ROUTE_FLUSH:
		return state_route_flush(st, e->vni);
	case EDIT_SG_ADD:
		return state_sg_add(st, e->name);
	case EDIT_SG_DEL:
		return state_sg_del(st, e->group);
	case EDIT_SG_RULE_ADD:
		return state_sg_rule_add(st, e->group, e->rule);
	case EDIT_SG_RULE_DEL:
		return state_sg_rule_del(st, e->group, e->priority);
	case EDIT_EIP_ADD: {
		struct nic_key k = { .vni = e->vni, .ip = e->ip };
		return state_eip_add(st, e->eip, k);
	}
	case EDIT_EIP_DEL:
		return state_eip_del(st, e->eip);
	}
	return fail("internal error: unknown edit %d", (int)e->verb->op);
}

int edit_apply_words(struct txn_state *st, int argc, char **argv)
{
	const struct edit_verb *v;
	const struct object *o;
	const struct cmd *c;
	bool ambiguous;
	struct edit e;
	int n;

	if (argc < 1)
		return fail("missing OBJECT (try --help)");
	if (!(o = object_lookup(argv[0])))
		return 1;
	if (!verb_named(o->name, "add"))
		return fail("\"%s\" cannot be part of a transaction (a batch holds vpc, subnet, nic, route, sg and eip edits)",
			    o->name);
	if (argc < 2)
		return fail("%s: missing command in a batch", o->name);
	if (!(c = verb_lookup(o, argv[1], &ambiguous)))
		return ambiguous ? 1 : fail("%s: unknown command \"%s\" (try 'vpcbpf %s help')", o->name, argv[1], o->name);
	if (!(v = edit_find(argc, argv, &n))) {
		if (!strcmp(c->name, "rule")) {
			if (argc < 3)
				return fail("sg rule: missing command (add, del or show)");
			for (int i = 0; rule_verbs[i]; i++)
				if (matches(argv[2], rule_verbs[i]))
					return fail("\"sg rule %s\" only reads: it cannot be part of a transaction",
						    rule_verbs[i]);
			return fail("sg rule: unknown command \"%s\" (try 'vpcbpf sg help')", argv[2]);
		}
		return fail("\"%s %s\" only reads: it cannot be part of a transaction", o->name, c->name);
	}
	return edit_parse(v, argc - n, argv + n, &e) || edit_apply(st, &e);
}

/* ---- the single command ---- */

/*
 * What the rules of e read. A single command loads only that: a route edit
 * in a VPC of a million routes reads one route, not a million (the planner
 * then edits that VPC's table by the difference, maps/txn_plan.c), and no NIC but
 * its next hop.
 */
static struct state_need needs_of(const struct edit *e)
{
	struct state_need need = { .routes = NEED_ROUTES_NONE, .vni = e->vni, .prefix = e->prefix, .len = e->len };

	switch (e->verb->op) {
	case EDIT_ROUTE_ADD:
	case EDIT_ROUTE_REPLACE:
		if (EDIT_HAS(e, ES_VIA)) {
			need.nic.vni = e->vni;
			need.nic.ip = e->via;
		}
		/* fall through */
	case EDIT_ROUTE_DEL:
	case EDIT_SUBNET_ADD: /* a route where the subnet's connected route would go */
		need.routes = NEED_ROUTE_ONE;
		break;
	case EDIT_ROUTE_FLUSH:
		need.routes = NEED_ROUTES_VPC;
		break;
	case EDIT_VPC_ADD:
	case EDIT_VPC_SET:
	case EDIT_SUBNET_SET: /* the subnet's or VPC's own record: always loaded */
		break;
	case EDIT_SUBNET_DEL: /* its NICs */
		need.nics = true;
		break;
	case EDIT_NIC_DEL: /* routes via the NIC */
		need.routes = NEED_ROUTES_VPC;
		/* fall through */
	case EDIT_NIC_ADD:
	case EDIT_NIC_REPLACE:
	case EDIT_NIC_SET:
	case EDIT_SG_ADD:
	case EDIT_SG_DEL: /* NICs using it */
	case EDIT_SG_RULE_ADD:
	case EDIT_SG_RULE_DEL:
		need.nics = need.sgs = true;
		break;
	case EDIT_EIP_ADD: /* its NIC; the EIPs are always loaded (few) */
		need.nic.vni = e->vni;
		need.nic.ip = e->ip;
		break;
	case EDIT_EIP_DEL:
		break;
	case EDIT_VPC_DEL: /* peer routes of every VPC */
		need.routes = NEED_ALL;
		break;
	}
	return need;
}

int edit_run(int argc, char **argv)
{
	const struct edit_verb *v;
	struct state_need need;
	struct txn_state cur, want;
	struct store *s;
	struct edit e;
	int n, err;

	if (!(v = edit_find(argc, argv, &n)))
		return fail("internal error: \"%s\" is no edit", argc > 1 ? argv[1] : "");
	if (edit_parse(v, argc - n, argv + n, &e))
		return 1;
	need = needs_of(&e);
	if (!(s = store_get(true)) || state_load_for(s, &cur, &need))
		return 1;
	if (txn_state_copy(&want, &cur)) {
		txn_state_free(&cur);
		return fail("out of memory");
	}
	err = edit_apply(&want, &e) || state_commit(s, &cur, &want);
	txn_state_free(&cur);
	txn_state_free(&want);
	return err;
}
