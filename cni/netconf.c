/* cni/netconf.c — the network configuration on stdin checked field by field, and the names derived from the call. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include "cni/cni.h"

/* A string field: NULL when absent; an error when present and no string. */
static int str_field(yajl_val o, const char *key, const char **out, bool required)
{
	yajl_val v = json_get(o, key);

	*out = NULL;
	if (!v || YAJL_IS_NULL(v)) {
		if (required)
			return cni_fail(CNI_ERR_CONFIG, "network config: missing \"%s\"", key);
		return 0;
	}
	if (!YAJL_IS_STRING(v) || !v->u.string[0])
		return cni_fail(CNI_ERR_CONFIG, "network config: \"%s\" must be a non-empty string", key);
	*out = v->u.string;
	return 0;
}

/* Digits only, with an optional minus: a whole number, though maybe too large for 64 bits. */
static bool whole_number(const char *s)
{
	if (*s == '-')
		s++;
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

static int int_field(yajl_val o, const char *key, int64_t min, int64_t max, int64_t *out, bool *have)
{
	yajl_val v = json_get(o, key);
	char *text;
	int err;

	*have = v && !YAJL_IS_NULL(v);
	if (!*have)
		return 0;
	if (!YAJL_IS_NUMBER(v) || !whole_number(v->u.number.r)) {
		text = json_dump(v, 0);
		err = cni_fail(CNI_ERR_CONFIG, "network config: \"%s\" must be a whole number (%lld..%lld), not %s", key,
			       (long long)min, (long long)max, text ? text : json_type_name(v));
		free(text);
		return err;
	}
	/* beyond 64 bits yajl keeps only the text: out of range all the same */
	if (!YAJL_IS_INTEGER(v) || v->u.number.i < min || v->u.number.i > max)
		return cni_fail(CNI_ERR_CONFIG, "network config: \"%s\" %s is out of range (%lld..%lld)", key,
				v->u.number.r, (long long)min, (long long)max);
	*out = v->u.number.i;
	return 0;
}

static bool valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n >= NAME_LEN)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '-' ||
		      *s == '_' || *s == '.'))
			return false;
	return true;
}

int netconf_parse(struct netconf *nc, const char *raw, size_t len, const char *command)
{
	const char *sg = NULL, *type = NULL;
	char why[256];
	int64_t v;
	bool have;

	nc->raw = raw;
	nc->raw_len = len;
	if (len > CNI_NETCONF_MAX)
		return cni_fail(CNI_ERR_DECODE, "network config on stdin is larger than %d MiB", CNI_NETCONF_MAX >> 20);
	if (!(nc->root = json_parse(raw, len, why, sizeof(why))))
		return cni_fail(CNI_ERR_DECODE, "network config on stdin is not JSON: %s", why);
	if (!YAJL_IS_OBJECT(nc->root))
		return cni_fail(CNI_ERR_DECODE, "network config on stdin is not a JSON object");
	if (str_field(nc->root, "cniVersion", &nc->cni_version, true))
		return cni_error_code();
	if (strcmp(nc->cni_version, CNI_VERSION)) {
		const char *v = nc->cni_version;
		nc->cni_version = NULL; /* the error speaks the version we know */
		return cni_fail(CNI_ERR_VERSION, "cniVersion \"%s\" is not supported (this plugin speaks %s)", v,
				CNI_VERSION);
	}
	if (str_field(nc->root, "name", &nc->name, true) || str_field(nc->root, "type", &type, false))
		return cni_error_code();
	if (int_field(nc->root, "vpc", 1, VNI_MAX, &v, &have))
		return cni_error_code();
	if (!have)
		return cni_fail(CNI_ERR_CONFIG, "network config: missing \"vpc\" (the VNI of the network's VPC)");
	nc->vpc = (__u32)v;
	if (str_field(nc->root, "sg", &sg, false))
		return cni_error_code();
	if (sg) {
		if (!valid_name(sg))
			return cni_fail(CNI_ERR_CONFIG, "network config: \"sg\" \"%s\" is no security group name", sg);
		snprintf(nc->sg, sizeof(nc->sg), "%s", sg);
	}
	if (int_field(nc->root, "mtu", 68, 65535, &v, &have))
		return cni_error_code();
	nc->mtu = have ? (int)v : 0;
	if (str_field(nc->root, "pinDir", &nc->pin_dir, false) || str_field(nc->root, "etcd", &nc->etcd, false) ||
	    str_field(nc->root, "host", &nc->host, false))
		return cni_error_code();
	if (nc->pin_dir && strlen(nc->pin_dir) >= PATH_MAX - 64)
		return cni_fail(CNI_ERR_CONFIG, "network config: \"pinDir\" is too long");
	if (!!nc->etcd != !!nc->host)
		return cni_fail(CNI_ERR_CONFIG, "network config: cluster mode needs both \"etcd\" (URL) and \"host\" "
						"(this host's name), got only \"%s\"", nc->etcd ? "etcd" : "host");
	if (int_field(nc->root, "applyTimeout", 1, 600, &v, &have))
		return cni_error_code();
	nc->apply_timeout_ms = have ? (int)v * 1000 : 10000;
	if (nc->etcd && nc->pin_dir)
		return cni_fail(CNI_ERR_CONFIG, "network config: \"pinDir\" is for one host; in cluster mode (\"etcd\") "
						"the local agent owns the datapath");
	nc->ipam = json_get(nc->root, "ipam");
	if (!YAJL_IS_OBJECT(nc->ipam))
		return cni_fail(CNI_ERR_CONFIG, "network config: missing \"ipam\" (e.g. {\"type\": \"host-local\", ...}): "
						"vpcbpf takes the container's address from an IPAM plugin");
	if (!json_get(nc->ipam, "type"))
		return cni_fail(CNI_ERR_CONFIG, "network config: \"ipam\" has no \"type\" (the IPAM plugin to run)");
	if (str_field(nc->ipam, "type", &nc->ipam_type, true))
		return cni_error_code();
	if (strchr(nc->ipam_type, '/') || !strcmp(nc->ipam_type, ".") || !strcmp(nc->ipam_type, ".."))
		return cni_fail(CNI_ERR_CONFIG, "network config: ipam type \"%s\" is not a plugin name", nc->ipam_type);
	nc->prev_result = json_get(nc->root, "prevResult");
	if (nc->prev_result && !YAJL_IS_OBJECT(nc->prev_result))
		return cni_fail(CNI_ERR_DECODE, "network config: \"prevResult\" is not an object");
	if (!strcmp(command, "CHECK") && !nc->prev_result)
		return cni_fail(CNI_ERR_CONFIG, "CHECK needs \"prevResult\" (the result of ADD)");
	return 0;
}

static int parse_cidr(const char *s, struct cni_addr *a)
{
	char buf[64], *slash;
	long len;

	snprintf(buf, sizeof(buf), "%s", s);
	slash = strchr(buf, '/');
	if (!slash)
		return -1;
	*slash = '\0';
	if (inet_pton(AF_INET, buf, &a->ip) != 1)
		return strchr(buf, ':') ? -2 : -1;
	len = strtol(slash + 1, &slash, 10);
	if (*slash || len < 0 || len > 32)
		return -1;
	a->len = (__u8)len;
	return 0;
}

static int add_subnet(yajl_val o, struct cni_addr *out, int max, int *n)
{
	const char *s = NULL, *gw = NULL;
	struct cni_addr a;
	int r;

	if (str_field(o, "subnet", &s, false) || str_field(o, "gateway", &gw, false))
		return cni_error_code();
	if (!s)
		return 0;
	memset(&a, 0, sizeof(a));
	if ((r = parse_cidr(s, &a)))
		return cni_fail(CNI_ERR_CONFIG, r == -2 ? "ipam subnet \"%s\" is IPv6: vpcbpf NICs are IPv4"
							: "ipam subnet \"%s\" is not an IPv4 prefix", s);
	if (gw && inet_pton(AF_INET, gw, &a.gateway) != 1)
		return cni_fail(CNI_ERR_CONFIG, "ipam gateway \"%s\" is not an IPv4 address", gw);
	if (*n >= max)
		return cni_fail(CNI_ERR_CONFIG, "ipam: more than %d ranges", max);
	out[(*n)++] = a;
	return 0;
}

int netconf_ipam_subnets(const struct netconf *nc, struct cni_addr *out, int max, int *n)
{
	yajl_val ranges = json_get(nc->ipam, "ranges");

	*n = 0;
	if (add_subnet(nc->ipam, out, max, n))
		return cni_error_code();
	if (!ranges)
		return 0;
	if (!YAJL_IS_ARRAY(ranges))
		return cni_fail(CNI_ERR_CONFIG, "ipam \"ranges\" must be a list of range sets");
	for (size_t i = 0; i < ranges->u.array.len; i++) {
		yajl_val set = ranges->u.array.values[i];
		if (!YAJL_IS_ARRAY(set))
			return cni_fail(CNI_ERR_CONFIG, "ipam \"ranges\" must be a list of range sets (lists)");
		for (size_t j = 0; j < set->u.array.len; j++) {
			yajl_val r = set->u.array.values[j];
			if (!YAJL_IS_OBJECT(r))
				return cni_fail(CNI_ERR_CONFIG, "ipam range %zu.%zu is not an object", i, j);
			if (add_subnet(r, out, max, n))
				return cni_error_code();
		}
	}
	return 0;
}

/* FNV-1a over the container id, a separator and the interface: stable, and distinct per (container, ifname). */
static uint64_t name_hash(const char *salt, const struct cni_call *c)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	const char *parts[] = { salt, c->container_id, "/", c->ifname };

	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		for (const unsigned char *p = (const unsigned char *)parts[i]; *p; p++) {
			h ^= *p;
			h *= 0x100000001b3ULL;
		}
	return h;
}

void cni_names(struct cni_call *c)
{
	uint64_t h = name_hash("veth", c), m = name_hash("mac", c);

	/* "vpc" + 12 hex digits: 15 characters, the most a Linux interface name holds */
	snprintf(c->host_if, sizeof(c->host_if), "vpc%012llx", (unsigned long long)(h & 0xffffffffffffULL));
	/* locally administered, unicast */
	c->mac[0] = (__u8)(((m >> 40) & 0xfc) | 0x02);
	for (int i = 1; i < 6; i++)
		c->mac[i] = (__u8)(m >> (8 * (5 - i)));
}
