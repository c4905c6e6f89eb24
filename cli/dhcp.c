/* cli/dhcp.c — a subnet's DHCP options (dns, domain, routes) as text: the values of subnet add/set's keywords, save's and apply's strings, show. */
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include "cli/cli.h"
#include "cli/dhcp.h"

bool dhcp_empty(const struct subnet_dhcp *d)
{
	static const struct subnet_dhcp none;

	return !memcmp(d, &none, sizeof(none));
}

/* Copies a comma-separated list into items (in buf); the count, or -1 after fail(). what: "servers", "routes". */
static int split_list(const char *val, const char *kw, const char *what, char *buf, size_t len, char **items, int max)
{
	int n = 0;

	if (strlen(val) >= len)
		return fail("%s \"%s\": list too long", kw, val), -1;
	strcpy(buf, val);
	for (char *s = buf, *comma;; s = comma + 1) {
		comma = strchr(s, ',');
		if (comma)
			*comma = '\0';
		if (!*s)
			return fail("%s \"%s\": an empty item", kw, val), -1;
		if (n == max)
			return fail("%s \"%s\": at most %d %s (what the datapath's DHCP answer carries)", kw, val, max, what), -1;
		items[n++] = s;
		if (!comma)
			return n;
	}
}

static int dhcp_parse_dns(const char *val, struct subnet_dhcp *d)
{
	char buf[128], *items[DHCP_MAX_DNS];
	int n = split_list(val, "dns", "servers", buf, sizeof(buf), items, DHCP_MAX_DNS);

	if (n < 0)
		return 1;
	memset(d->dns, 0, sizeof(d->dns));
	for (int i = 0; i < n; i++) {
		if (parse_ip(items[i], &d->dns[i]))
			return 1;
		if (!d->dns[i] || d->dns[i] == 0xffffffff)
			return fail("dns: \"%s\" is not a server address", items[i]);
	}
	d->dns_count = (__u8)n;
	return 0;
}

/* RFC 1035 labels: letters, digits and hyphens, dot-separated, none empty. */
static int dhcp_parse_domain(const char *val, struct subnet_dhcp *d)
{
	size_t n = strlen(val);

	if (n < 1 || n > DHCP_DOMAIN_LEN)
		return fail("domain \"%s\": %zu characters, at most %d (option 15 as the datapath sends it)", val, n,
			    DHCP_DOMAIN_LEN);
	if (strspn(val, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") != n || val[0] == '.' ||
	    val[0] == '-' || val[n - 1] == '.' || val[n - 1] == '-' || strstr(val, ".."))
		return fail("domain \"%s\": dot-separated labels of letters, digits and hyphens", val);
	memset(d->domain, 0, sizeof(d->domain));
	memcpy(d->domain, val, n);
	d->domain_len = (__u8)n;
	return 0;
}

static int dhcp_parse_routes(const char *val, struct subnet_dhcp *d)
{
	char buf[256], *items[DHCP_MAX_ROUTES];
	int n = split_list(val, "routes", "routes", buf, sizeof(buf), items, DHCP_MAX_ROUTES);

	if (n < 0)
		return 1;
	memset(d->route_prefix, 0, sizeof(d->route_prefix));
	memset(d->route_len, 0, sizeof(d->route_len));
	for (int i = 0; i < n; i++) {
		if (parse_prefix(items[i], &d->route_prefix[i], &d->route_len[i]))
			return 1;
		for (int j = 0; j < i; j++)
			if (d->route_prefix[j] == d->route_prefix[i] && d->route_len[j] == d->route_len[i])
				return fail("routes: %s is listed twice", items[i]);
	}
	d->route_count = (__u8)n;
	return 0;
}

void dhcp_merge(struct subnet_dhcp *dst, const struct subnet_dhcp *src, unsigned int have)
{
	if (have & DHCP_HAVE_DNS) {
		memcpy(dst->dns, src->dns, sizeof(dst->dns));
		dst->dns_count = src->dns_count;
	}
	if (have & DHCP_HAVE_DOMAIN) {
		memcpy(dst->domain, src->domain, sizeof(dst->domain));
		dst->domain_len = src->domain_len;
	}
	if (have & DHCP_HAVE_ROUTES) {
		memcpy(dst->route_prefix, src->route_prefix, sizeof(dst->route_prefix));
		memcpy(dst->route_len, src->route_len, sizeof(dst->route_len));
		dst->route_count = src->route_count;
	}
}

int dhcp_parse_option(unsigned int have, const char *val, struct subnet_dhcp *d)
{
	struct subnet_dhcp none;

	if (!strcmp(val, "none")) {
		memset(&none, 0, sizeof(none));
		dhcp_merge(d, &none, have);
		return 0;
	}
	switch (have) {
	case DHCP_HAVE_DNS: return dhcp_parse_dns(val, d);
	case DHCP_HAVE_DOMAIN: return dhcp_parse_domain(val, d);
	case DHCP_HAVE_ROUTES: return dhcp_parse_routes(val, d);
	}
	return fail("internal error: no DHCP option %u", have);
}

const char *dhcp_dns_str(const struct subnet_dhcp *d, char *buf, size_t len)
{
	char ip[16];

	buf[0] = '\0';
	for (int i = 0; i < d->dns_count && i < DHCP_MAX_DNS; i++)
		snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", i ? "," : "", ip_str(d->dns[i], ip));
	return buf;
}

const char *dhcp_domain_str(const struct subnet_dhcp *d, char *buf, size_t len)
{
	int n = d->domain_len < DHCP_DOMAIN_LEN ? d->domain_len : DHCP_DOMAIN_LEN;

	snprintf(buf, len, "%.*s", n, d->domain);
	return buf;
}

const char *dhcp_routes_str(const struct subnet_dhcp *d, char *buf, size_t len)
{
	char p[20];

	buf[0] = '\0';
	for (int i = 0; i < d->route_count && i < DHCP_MAX_ROUTES; i++)
		snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", i ? "," : "",
			 prefix_str(d->route_prefix[i], d->route_len[i], p));
	return buf;
}

void dhcp_print(const struct subnet_dhcp *d)
{
	char buf[DHCP_TEXT_LEN];

	if (d->dns_count)
		pr_str("dns", " dns %s", dhcp_dns_str(d, buf, sizeof(buf)));
	if (d->domain_len)
		pr_str("domain", " domain %s", dhcp_domain_str(d, buf, sizeof(buf)));
	if (d->route_count)
		pr_str("routes", " routes %s", dhcp_routes_str(d, buf, sizeof(buf)));
}
