/* cli/external.h — the host's external device (dp up ... external DEV): its facts, the NAT port range, its program. */
#ifndef VPCBPF_CLI_EXTERNAL_H
#define VPCBPF_CLI_EXTERNAL_H

#include <stdbool.h>
#include "maps/store.h"

#define PROG_EXTERNAL "external_ingress"

/* Reads DEV's ifindex, first IPv4 address, MAC and MTU into nh (port range left as is). 0, or 1 after fail(). */
int external_read(const char *dev, struct nat_host *nh);
/* Parses "LO-HI" for nat-ports. */
int external_parse_ports(const char *s, struct nat_host *nh);
/*
 * Writes the external device's record (want, or the one in place when NULL:
 * an upgrade) with the underlay network of h, and attaches the external
 * program; an older device loses it. 0, or 1 after fail().
 */
int external_up(struct store *s, const struct nat_host *want, const struct host *h, int *attached_ifindex);
void external_down(struct store *s);
void external_show(struct store *s);

#endif
