/* cni/del.c — DEL: the NIC out of the datapath, the veth gone, the address released; what is already gone is fine. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "cni/cni.h"

int cmd_del(struct cni_call *c, struct netconf *nc)
{
	struct cni_addr a;
	int err;

	/* prevResult names the address; without it the NIC is found by the MAC derived from the container */
	if (!nc->prev_result || result_addr(nc->prev_result, &a))
		memset(&a, 0, sizeof(a));
	/*
	 * In this order, and stop at the first failure so that a retry finishes the job: the NIC goes before its
	 * device (no reference to a missing device), the address last (never handed out while still a NIC).
	 */
	err = dp_open(nc, true);
	if (err == -ENOENT)
		fprintf(stderr, "vpcbpf-cni: DEL: no datapath loaded, so no NIC to remove\n");
	else if (err || (err = dp_nic_del(nc, c, &a)))
		return err;
	if ((err = veth_delete(c->host_if)))
		return err;
	return ipam_exec(c, nc, "DEL", NULL);
}
