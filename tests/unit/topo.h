/* tests/unit/topo.h — builds the VPCs, NICs and routes a fixture needs, straight into the maps. */
#ifndef VPCBPF_TEST_TOPO_H
#define VPCBPF_TEST_TOPO_H

#include <linux/types.h>
#include "maps/vpcbpf.h"

#define ROUTER_MAC_S "02:00:5e:00:00:01" /* the host's virtual router MAC, set by env_reset */

#define SC_ON 1  /* source check on (the default for a NIC) */
#define SC_OFF 0

void topo_vpc(__u32 vni);
/* A NIC on local port `port`, in subnet `cidr` whose gateway is its first host address. */
void topo_nic_local(__u32 vni, const char *ip, const char *mac, const char *cidr, int port, int sc);
void topo_nic_remote(__u32 vni, const char *ip, const char *mac, const char *cidr, const char *remote);
/* Routes through maps/route_table (the same code the tool uses). Returns 0, or -1 when unavailable. */
int topo_route_connected(__u32 vni, const char *cidr);
int topo_route_via(__u32 vni, const char *cidr, const char *via);
int topo_route_blackhole(__u32 vni, const char *cidr);
int topo_route_peer(__u32 vni, const char *cidr, __u32 peer_vni);
/* Whether the route table layer is linked in (route fixtures skip without it). */
int topo_have_routes(void);

#endif
