/* cli/eip.c — vpcbpf eip show, and the gratuitous ARP that tells the external network where an elastic IP now lives. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sys/socket.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <bpf/bpf.h>
#include "cli/cli.h"
#include "cli/eip.h"
#include "maps/txn.h"

/* The external device, read before each announcement: where a gratuitous ARP goes, from which MAC. */
static struct nat_host nat_cfg;

static void nat_cfg_load(struct store *s)
{
	__u32 zero = 0;

	if (bpf_map_lookup_elem(s->fd[SM_NAT_HOST], &zero, &nat_cfg))
		memset(&nat_cfg, 0, sizeof(nat_cfg));
}

static bool nic_is_local(const struct txn_state *st, const struct nic_key *k)
{
	const struct txn_nic *n = table_get(&st->nics, k);
	return n && (n->v.flags & NIC_F_LOCAL);
}

struct garp {
	struct ethhdr eth;
	__be16 htype, ptype;
	__u8 hlen, plen;
	__be16 op;
	__u8 sha[6];
	__be32 spa;
	__u8 tha[6];
	__be32 tpa;
} __attribute__((packed));

void eip_garp(__be32 eip)
{
	struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ARP), .sll_halen = 6 };
	struct garp g;
	int fd;

	if (!nat_cfg.ext_ifindex)
		return;
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ARP));
	if (fd < 0)
		return;
	memset(&g, 0, sizeof(g));
	memset(g.eth.h_dest, 0xff, 6);
	memcpy(g.eth.h_source, nat_cfg.ext_mac, 6);
	g.eth.h_proto = htons(ETH_P_ARP);
	g.htype = htons(1);
	g.ptype = htons(ETH_P_IP);
	g.hlen = 6;
	g.plen = 4;
	memcpy(g.sha, nat_cfg.ext_mac, 6);
	g.spa = g.tpa = eip;
	to.sll_ifindex = (int)nat_cfg.ext_ifindex;
	memset(to.sll_addr, 0xff, 6);
	/* a request and a reply: neighbours that take one kind only (arp_accept) still update an entry they have */
	for (int op = 1; op <= 2; op++) {
		g.op = htons(op);
		if (sendto(fd, &g, sizeof(g), 0, (struct sockaddr *)&to, sizeof(to)) < 0 && opts.verbose)
			fprintf(stderr, "vpcbpf: gratuitous ARP for an EIP: %s\n", strerror(errno));
	}
	close(fd);
}

void eip_announce(struct store *s, const struct txn_state *cur, const struct txn_state *want)
{
	nat_cfg_load(s);
	for (const struct txn_eip *we = NULL; (we = table_next(&want->eips, we));) {
		const struct txn_eip *ce = table_get(&cur->eips, &we->eip);
		if (!nic_is_local(want, &we->nic))
			continue;
		if (ce && !memcmp(&ce->nic, &we->nic, sizeof(we->nic)) && nic_is_local(cur, &ce->nic))
			continue;
		eip_garp(we->eip);
	}
}

static int cmp_eip(const void *a, const void *b)
{
	const struct txn_eip *x = *(const struct txn_eip *const *)a, *y = *(const struct txn_eip *const *)b;
	return ntohl(x->eip) < ntohl(y->eip) ? -1 : ntohl(x->eip) > ntohl(y->eip);
}

static int do_show(int argc, char **argv)
{
	struct txn_state st;
	struct txn_eip **rows;
	struct store *s;
	size_t n;
	char b1[16], b2[16];

	if (argc > 0)
		return unknown_word(argv[0]);
	if (!(s = store_get(false)))
		return 1;
	if (txn_state_load(s, &st))
		return fail("cannot read the state under %s", opts.pin_dir);
	rows = (struct txn_eip **)table_sorted(&st.eips, cmp_eip, &n);
	if (!rows && n) {
		txn_state_free(&st);
		return fail("out of memory");
	}
	pr_begin_list();
	for (size_t i = 0; i < n; i++) {
		const struct txn_nic *nic = table_get(&st.nics, &rows[i]->nic);
		pr_begin_obj();
		pr_str("eip", "eip %s", ip_str(rows[i]->eip, b1));
		pr_str("nic", " nic %s", ip_str(rows[i]->nic.ip, b2));
		pr_u64("vpc", " vpc %llu", rows[i]->nic.vni);
		if (nic && (nic->v.flags & NIC_F_REMOTE))
			pr_str("at", " at %s", ip_str(nic->v.remote, b2));
		else
			pr_str("at", " at %s", nic ? "local" : "(no NIC)");
		pr_end_obj();
	}
	pr_end_list();
	free(rows);
	txn_state_free(&st);
	return 0;
}

/* add and del are edits: the one grammar (cli/edit.c) and the rules (cli/state.c) */
static const struct cmd cmds[] = {
	{ "show", do_show }, { "add", NULL }, { "del", NULL }, { "delete", NULL }, { "list", do_show }, { 0 },
};

const struct object obj_eip = {
	.name = "eip",
	.cmds = cmds,
	/* add and del: cli/edit.c's table (help writes them from it: object_usage) */
	.usage = "       eip show\n"
		 "An elastic IP maps one external address 1:1 to one NIC, both ways; the host where the NIC\n"
		 "lives answers ARP for it on its external device (dp up ... external DEV).",
};
