/* cli/dhcp.h — a subnet's DHCP options as words and text: `dns IP[,IP]`, `domain NAME`, `routes PREFIX[,PREFIX...]`. */
#ifndef VPCBPF_CLI_DHCP_H
#define VPCBPF_CLI_DHCP_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "maps/vpcbpf.h"

#define DHCP_TEXT_LEN 128 /* the longest text form of one option, NUL included */

/* Which options an edit gives (the others keep their value). */
#define DHCP_HAVE_DNS 1U
#define DHCP_HAVE_DOMAIN 2U
#define DHCP_HAVE_ROUTES 4U

/*
 * The value of one option's keyword (have: DHCP_HAVE_DNS, _DOMAIN or _ROUTES)
 * into *d; "none" clears it. The same text is the keyword's value on the
 * command line and the string of save's and apply's JSON. 0, or 1 after fail().
 */
int dhcp_parse_option(unsigned int have, const char *val, struct subnet_dhcp *d);
/* The options of src that have names, into dst. */
void dhcp_merge(struct subnet_dhcp *dst, const struct subnet_dhcp *src, unsigned int have);
bool dhcp_empty(const struct subnet_dhcp *d);

const char *dhcp_dns_str(const struct subnet_dhcp *d, char *buf, size_t len);
const char *dhcp_domain_str(const struct subnet_dhcp *d, char *buf, size_t len);
const char *dhcp_routes_str(const struct subnet_dhcp *d, char *buf, size_t len);
/* subnet show's fields: dns, domain, routes (those set). */
void dhcp_print(const struct subnet_dhcp *d);

#endif
