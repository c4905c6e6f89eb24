/* cni/netconf.c — the network configuration on stdin checked field by field, and the names derived from the call. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include "cni/cni.h"

static json_object *field(json_object *o, const char *key)
{
	json_object *v;
	return json_object_object_get_ex(o, key, &v) ? v : NULL;
}

/* A string field: NULL when absent; an error when present and no string. */
static int str_field(json_object *o, const char *key, const char **out, bool required)
{
	json_object *v = field(o, key);

	*out = NULL;
	if (!v || json_object_is_type(v, json_type_null)) {
		if (required)
			return cni_fail(CNI_ERR_CONFIG, "network config: missing \"%s\"", key);
		return 0;
	}
	if (!json_object_is_type(v, json_type_string) || !json_object_get_string_len(v))
		return cni_fail(CNI_ERR_CONFIG, "network config: \"%s\" must be a non-empty string", key);
	*out = json_object_get_string(v);
	return 0;
}

static int int_field(json_object *o, const char *key, int64_t min, int64_t max, int64_t *out, bool *have)
{
	json_object *v = field(o, key);

	*have = v && !json_object_is_type(v, json_type_null);
	if (!*have)
		return 0;
	if (!json_object_is_type(v, json_type_int))
		return cni_fail(CNI_ERR_CONFIG, "network config: \"%s\" must be a whole number (%lld..%lld), not %s", key,
				(long long)min, (long long)max, json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
	errno = 0;
	*out = json_object_get_int64(v);
	if (errno || *out < min || *out > max)
		return cni_fail(CNI_ERR_CONFIG, "network config: \"%s\" %s is out of range (%lld..%lld)", key,
				json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN), (long long)min, (long long)max);
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
	enum json_tokener_error jerr;
	json_tokener *tok;
	const char *sg = NULL, *type = NULL;
	int64_t v;
	bool have;

	nc->raw = raw;
	nc->raw_len = len;
	tok = json_tokener_new();
	if (!tok)
		return cni_fail(CNI_ERR_IO, "out of memory");
	nc->root = json_tokener_parse_ex(tok, raw, (int)len);
	jerr = json_tokener_get_error(tok);
	json_tokener_free(tok);
	if (!nc->root || jerr != json_tokener_success)
		return cni_fail(CNI_ERR_DECODE, "network config on stdin is not JSON: %s",
				nc->root ? "trailing data" : json_tokener_error_desc(jerr));
	if (!json_object_is_type(nc->root, json_type_object))
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
	nc->ipam = field(nc->root, "ipam");
	if (!nc->ipam || !json_object_is_type(nc->ipam, json_type_object))
		return cni_fail(CNI_ERR_CONFIG, "network config: missing \"ipam\" (e.g. {\"type\": \"host-local\", ...}): "
						"vpcbpf takes the container's address from an IPAM plugin");
	if (!field(nc->ipam, "type"))
		return cni_fail(CNI_ERR_CONFIG, "network config: \"ipam\" has no \"type\" (the IPAM plugin to run)");
	if (str_field(nc->ipam, "type", &nc->ipam_type, true))
		return cni_error_code();
	if (strchr(nc->ipam_type, '/') || !strcmp(nc->ipam_type, ".") || !strcmp(nc->ipam_type, ".."))
		return cni_fail(CNI_ERR_CONFIG, "network config: ipam type \"%s\" is not a plugin name", nc->ipam_type);
	nc->prev_result = field(nc->root, "prevResult");
	if (nc->prev_result && !json_object_is_type(nc->prev_result, json_type_object))
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

static int add_subnet(json_object *o, struct cni_addr *out, int max, int *n)
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
	json_object *ranges = field(nc->ipam, "ranges");

	*n = 0;
	if (add_subnet(nc->ipam, out, max, n))
		return cni_error_code();
	if (!ranges)
		return 0;
	if (!json_object_is_type(ranges, json_type_array))
		return cni_fail(CNI_ERR_CONFIG, "ipam \"ranges\" must be a list of range sets");
	for (size_t i = 0; i < json_object_array_length(ranges); i++) {
		json_object *set = json_object_array_get_idx(ranges, i);
		if (!json_object_is_type(set, json_type_array))
			return cni_fail(CNI_ERR_CONFIG, "ipam \"ranges\" must be a list of range sets (lists)");
		for (size_t j = 0; j < json_object_array_length(set); j++) {
			json_object *r = json_object_array_get_idx(set, j);
			if (!json_object_is_type(r, json_type_object))
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
