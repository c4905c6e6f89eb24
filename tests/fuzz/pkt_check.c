/* tests/fuzz/pkt_check.c — the packet fuzzer's invariants, checked against the counters and the frame out. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include "tests/unit/env.h"
#include "tests/unit/pktbuild.h"
#include "pkt_check.h"
#include "pkt_world.h"

#define TC_ACT_SHOT 2
#define TC_ACT_REDIRECT 7
#define ETH 14
#define ROUTER_TTL 64    /* TTL of what the virtual router itself sends */
#define ICMP_QUOTE_MAX 548 /* 576 - IP - ICMP header, see bpf/icmp.h */
#define VXLAN_HLEN 36      /* outer IPv4 + UDP + VXLAN */

const char *const redirect_kind_names[RK__COUNT] = {
	[RK_ARP_REPLY] = "arp-reply", [RK_ECHO_REPLY] = "echo-reply", [RK_ICMP_ERROR] = "icmp-error",
	[RK_LOCAL] = "local", [RK_VXLAN] = "vxlan",
};

int counters_read(struct counters *c)
{
	memset(c, 0, sizeof(*c));
	for (__u32 r = 0; r < DROP__MAX; r++)
		c->drops[r] = env_drops(r);
	for (int i = 0; i < world_nic_count && i < CHECK_MAX_NICS; i++)
		if (env_nic_stats(world_nics[i].vni, world_nics[i].ip, &c->nic[i]))
			return -1;
	return 0;
}

int failf(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return -1;
}
uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

__be32 addr_at(const uint8_t *p)
{
	__be32 a;

	memcpy(&a, p, 4);
	return a;
}

static const char *ip_s(__be32 a)
{
	static char buf[4][16];
	static int i;

	i = (i + 1) % 4;
	return inet_ntop(AF_INET, &a, buf[i], sizeof(buf[i]));
}

/* The IPv4 header at ip (ihl bytes) sums to all ones. */
static int ip_csum_ok(const uint8_t *ip, size_t ihl)
{
	return pb_csum(ip, ihl, 0) == 0;
}

/* Whether a frame's IPv4 header is whole and its checksum verifies. */
static int frame_ip_csum_ok(const uint8_t *f, size_t flen)
{
	size_t ihl;

	if (flen < ETH + 20)
		return 0;
	ihl = (f[ETH] & 0xf) * 4u;
	return ihl >= 20 && ETH + ihl <= flen && ip_csum_ok(f + ETH, ihl);
}

/* Bytes [from, to) of in and out are equal, except the listed offsets. */
static int same_except(const uint8_t *a, const uint8_t *b, size_t from, size_t to, const size_t *skip, int nskip)
{
	for (size_t i = from; i < to; i++) {
		int skipped = 0;

		for (int k = 0; k < nskip; k++)
			skipped |= skip[k] == i;
		if (!skipped && a[i] != b[i])
			return (int)i;
	}
	return -1;
}

static int arp_reply_ok(const struct outcome *o, const struct world_nic *src, char *why, size_t len)
{
	const uint8_t *in = o->in->data, *out = o->out;
	const uint8_t *ia = in + ETH, *oa = out + ETH;
	const struct world_nic *answer;
	int diff;

	if (o->in->len < ETH + 28)
		FAIL("answered an ARP frame of %zu bytes, shorter than an ARP body", o->in->len);
	if (o->out_len != o->in->len)
		FAIL("ARP reply of %zu bytes for a request of %zu", o->out_len, o->in->len);
	if (be16(out + 12) != 0x0806 || be16(oa) != 1 || be16(oa + 2) != 0x0800 || oa[4] != 6 || oa[5] != 4)
		FAIL("ARP reply with a wrong ethertype or hardware/protocol fields");
	if (be16(ia + 6) != 1 || be16(oa + 6) != 2)
		FAIL("ARP op %u answered with op %u (only requests get replies)", be16(ia + 6), be16(oa + 6));
	if (memcmp(ia + 8, src->mac_b, 6))
		FAIL("answered an ARP request whose sender MAC is not the port's NIC");
	if (addr_at(ia + 14) == 0)
		FAIL("answered a DAD probe (sender IP 0.0.0.0)");
	if (src->source_check && addr_at(ia + 14) != src->ip_be)
		FAIL("answered an ARP request from %s on the port of %s (source check on)",
		     ip_s(addr_at(ia + 14)), src->ip);
	if (memcmp(out, in + 6, 6))
		FAIL("ARP reply not sent to the asker's MAC");
	if (memcmp(out + 6, oa + 8, 6))
		FAIL("ARP reply whose Ethernet source is not its sender MAC");
	if (memcmp(oa + 18, ia + 8, 6) || addr_at(oa + 24) != addr_at(ia + 14) || addr_at(oa + 14) != addr_at(ia + 24))
		FAIL("ARP reply addresses do not answer the request");
	if (!memcmp(oa + 8, world_router_mac, 6)) {
		if (addr_at(ia + 24) != src->gateway)
			FAIL("router MAC given for %s, which is not the gateway %s", ip_s(addr_at(ia + 24)),
			     ip_s(src->gateway));
	} else {
		answer = world_nic_by_mac(oa + 8);
		if (!answer || answer->vni != src->vni || answer->ip_be != addr_at(ia + 24) || answer == src)
			FAIL("ARP for %s answered with a MAC that is not that NIC of VPC %u", ip_s(addr_at(ia + 24)),
			     src->vni);
		if (answer->subnet != src->subnet || answer->subnet_len != src->subnet_len)
			FAIL("ARP for %s answered across subnets", answer->ip);
	}
	diff = same_except(in, out, ETH + 28, o->in->len, NULL, 0);
	if (diff >= 0)
		FAIL("ARP reply changed padding byte %d", diff);
	return 0;
}

static int echo_reply_ok(const struct outcome *o, const struct world_nic *src, char *why, size_t len)
{
	const uint8_t *in = o->in->data, *out = o->out;
	size_t ihl = (in[ETH] & 0xf) * 4u, tot = be16(in + ETH + 2);
	const size_t skip[] = { ETH + 8, ETH + 10, ETH + 11, ETH + 12, ETH + 13, ETH + 14, ETH + 15, ETH + 16,
				ETH + 17, ETH + 18, ETH + 19, ETH + ihl, ETH + ihl + 2, ETH + ihl + 3 };
	int diff;

	if (o->out_len != o->in->len)
		FAIL("echo reply of %zu bytes for a request of %zu", o->out_len, o->in->len);
	if (ETH + ihl + 8 > o->in->len || tot < ihl + 8)
		FAIL("echo reply to a frame without a whole ICMP header");
	if (in[ETH + 9] != 1 || in[ETH + ihl] != 8 || in[ETH + ihl + 1] != 0)
		FAIL("the gateway answered protocol %u type %u code %u (only echo requests)", in[ETH + 9],
		     in[ETH + ihl], in[ETH + ihl + 1]);
	if (be16(in + ETH + 6) & 0x3fff)
		FAIL("echo reply to a fragment");
	if (memcmp(out, in + 6, 6) || memcmp(out + 6, world_router_mac, 6))
		FAIL("echo reply not from the router MAC to the sender's MAC");
	if (addr_at(out + ETH + 12) != src->gateway || addr_at(out + ETH + 16) != addr_at(in + ETH + 12))
		FAIL("echo reply from %s to %s (want %s to %s)", ip_s(addr_at(out + ETH + 12)),
		     ip_s(addr_at(out + ETH + 16)), ip_s(src->gateway), ip_s(addr_at(in + ETH + 12)));
	if (out[ETH + 8] != ROUTER_TTL)
		FAIL("echo reply TTL %u", out[ETH + 8]);
	if (out[ETH + ihl] != 0 || out[ETH + ihl + 1] != 0)
		FAIL("echo reply type %u code %u", out[ETH + ihl], out[ETH + ihl + 1]);
	diff = same_except(in, out, ETH, o->in->len, skip, sizeof(skip) / sizeof(skip[0]));
	if (diff >= 0)
		FAIL("echo reply changed byte %d", diff);
	if (frame_ip_csum_ok(in, o->in->len) && !frame_ip_csum_ok(out, o->out_len))
		FAIL("echo reply IPv4 header checksum does not verify");
	if (pb_csum(in + ETH + ihl, tot - ihl, 0) == 0 && pb_csum(out + ETH + ihl, tot - ihl, 0) != 0)
		FAIL("echo reply ICMP checksum does not verify");
	return 0;
}

static int icmp_error_ok(const struct outcome *o, const struct world_nic *src, char *why, size_t len)
{
	const uint8_t *in = o->in->data, *out = o->out;
	size_t in_ihl = (in[ETH] & 0xf) * 4u, in_tot = be16(in + ETH + 2);
	size_t quote = (in_tot > ICMP_QUOTE_MAX ? ICMP_QUOTE_MAX : in_tot) & ~(size_t)3;
	size_t tot;
	__be32 daddr = addr_at(in + ETH + 16);

	int frag_needed = o->reason == DROP_FRAG_NEEDED;
	/* too big for the overlay: the datagram was already routed, its TTL and checksum may have changed */

	if (o->reason != DROP_TTL_EXCEEDED && !frag_needed)
		FAIL("ICMP error sent for drop reason %d", o->reason);
	if (!frag_needed && in[ETH + 8] > 1)
		FAIL("time exceeded for a packet with TTL %u", in[ETH + 8]);
	if (frag_needed && in_tot + OVERLAY_OVERHEAD <= WORLD_UL_MTU)
		FAIL("fragmentation needed for a %zu-byte datagram", in_tot);
	if (be16(in + ETH + 6) & 0x1fff)
		FAIL("ICMP error about a later fragment");
	if ((ntohl(daddr) >> 28) >= 0xe)
		FAIL("ICMP error about a packet to %s", ip_s(daddr));
	if (in[ETH + 9] == 1) {
		uint8_t t = ETH + in_ihl < o->in->len ? in[ETH + in_ihl] : 255;

		if (t != 0 && t != 8 && (t < 13 || t > 16))
			FAIL("ICMP error about an ICMP type %u", t);
	}
	if (o->out_len < ETH + 28 + 20)
		FAIL("ICMP error of %zu bytes", o->out_len);
	tot = be16(out + ETH + 2);
	if (be16(out + 12) != 0x0800 || out[ETH] != 0x45 || tot != o->out_len - ETH || tot != 28 + quote)
		FAIL("ICMP error header: ethertype %#x ver/ihl %#x total %zu in a %zu-byte frame (quote %zu)",
		     be16(out + 12), out[ETH], tot, o->out_len, quote);
	if (memcmp(out, in + 6, 6) || memcmp(out + 6, world_router_mac, 6))
		FAIL("ICMP error not from the router MAC to the sender's MAC");
	if (addr_at(out + ETH + 12) != src->gateway || addr_at(out + ETH + 16) != addr_at(in + ETH + 12))
		FAIL("ICMP error from %s to %s", ip_s(addr_at(out + ETH + 12)), ip_s(addr_at(out + ETH + 16)));
	if (out[ETH + 8] != ROUTER_TTL || out[ETH + 9] != 1 || (be16(out + ETH + 6) & 0x1fff))
		FAIL("ICMP error TTL %u protocol %u", out[ETH + 8], out[ETH + 9]);
	if (!ip_csum_ok(out + ETH, 20))
		FAIL("ICMP error IPv4 header checksum does not verify");
	if (frag_needed ? out[ETH + 20] != 3 || out[ETH + 21] != 4 : out[ETH + 20] != 11 || out[ETH + 21] != 0)
		FAIL("ICMP error type %u code %u for drop reason %d", out[ETH + 20], out[ETH + 21], o->reason);
	if (frag_needed && be16(out + ETH + 26) != WORLD_UL_MTU - OVERLAY_OVERHEAD)
		FAIL("fragmentation needed with next-hop MTU %u", be16(out + ETH + 26));
	if (pb_csum(out + ETH + 20, tot - 20, 0) != 0)
		FAIL("ICMP error checksum does not verify");
	for (size_t k = 0; k < quote; k++) {
		if (frag_needed && (k == 8 || k == 10 || k == 11))
			continue;
		if (out[ETH + 28 + k] != in[ETH + k])
			FAIL("ICMP error quote differs from the dropped datagram at byte %zu", k);
	}
	return 0;
}

static int forward_ok(const struct outcome *o, const struct world_nic *src, const struct world_nic *dst,
		      char *why, size_t len)
{
	const uint8_t *in = o->in->data, *out = o->out;
	const size_t skip[] = { ETH + 8, ETH + 10, ETH + 11 };
	__be32 daddr = addr_at(in + ETH + 16), saddr = addr_at(in + ETH + 12);
	const struct world_nic *exact = world_nic_by_ip(src->vni, daddr);
	uint8_t ttl_in = in[ETH + 8], ttl_out = out[ETH + 8];
	int diff;

	if (o->out_len != o->in->len)
		FAIL("forwarded %zu bytes as %zu", o->in->len, o->out_len);
	if (src->source_check && saddr != src->ip_be)
		FAIL("forwarded a packet from %s sent by %s (source check on)", ip_s(saddr), src->ip);
	if (memcmp(out, dst->mac_b, 6))
		FAIL("delivered to NIC %s of VPC %u with another destination MAC", dst->ip, dst->vni);
	if (!world_may_reach(src->vni, dst->vni, daddr))
		FAIL("a packet for %s from VPC %u reached NIC %s of VPC %u", ip_s(daddr), src->vni, dst->ip,
		     dst->vni);
	if (exact && exact != dst)
		FAIL("a packet for NIC %s of VPC %u went to NIC %s", exact->ip, exact->vni, dst->ip);
	diff = same_except(in, out, ETH, o->in->len, skip, 3);
	if (diff >= 0)
		FAIL("forwarding changed byte %d (%#x -> %#x)", diff, in[diff], out[diff]);
	if (ttl_out == ttl_in) {
		/* delivered inside the subnet: the VM's own MAC as source, like a bridge */
		if (memcmp(out + 6, src->mac_b, 6))
			FAIL("same-TTL delivery without the sender's MAC as source");
		if (exact != dst || dst->subnet != src->subnet || dst->subnet_len != src->subnet_len)
			FAIL("TTL kept on a routed hop to %s", ip_s(daddr));
	} else if (ttl_in >= 2 && ttl_out == ttl_in - 1) {
		if (memcmp(out + 6, world_router_mac, 6))
			FAIL("routed hop without the router MAC as source");
	} else {
		FAIL("TTL %u forwarded as %u", ttl_in, ttl_out);
	}
	if (frame_ip_csum_ok(in, o->in->len) && !frame_ip_csum_ok(out, o->out_len))
		FAIL("forwarded IPv4 header checksum does not verify");
	return 0;
}

/* VXLAN to the host of a remote NIC: the outer headers, then the inner frame forwarded as to a local NIC. */
static int encap_ok(const struct outcome *o, const struct world_nic *src, const struct world_nic *dst, char *why,
		    size_t len)
{
	const uint8_t *in = o->in->data, *out = o->out;
	const uint8_t *ip = out + ETH, *udp = ip + 20, *vx = udp + 8;
	struct outcome inner = *o;
	uint16_t sport;

	if (o->out_len != o->in->len + OVERLAY_OVERHEAD)
		FAIL("encapsulated %zu bytes as %zu", o->in->len, o->out_len);
	if (dst->remote_be != world_ul_peer)
		FAIL("encapsulated to %s, which the underlay has no route to", ip_s(dst->remote_be));
	if (memcmp(out, world_ul_peer_mac, 6) || memcmp(out + 6, world_ul_mac, 6) || be16(out + 12) != 0x0800)
		FAIL("outer Ethernet header is not ul0 to its neighbour");
	if (ip[0] != 0x45 || be16(ip + 2) != o->in->len + VXLAN_HLEN || be16(ip + 6) != 0x4000 || ip[8] != 64 ||
	    ip[9] != 17 || addr_at(ip + 12) != world_ul_ip || addr_at(ip + 16) != dst->remote_be)
		FAIL("outer IPv4 header: ver/ihl %#x total %u frag %#x ttl %u proto %u %s -> %s", ip[0], be16(ip + 2),
		     be16(ip + 6), ip[8], ip[9], ip_s(addr_at(ip + 12)), ip_s(addr_at(ip + 16)));
	if (!ip_csum_ok(ip, 20))
		FAIL("outer IPv4 header checksum does not verify");
	sport = be16(udp);
	if (sport < 49152 || be16(udp + 2) != 4789 || be16(udp + 4) != o->in->len + 16 || be16(udp + 6) != 0)
		FAIL("outer UDP: %u -> %u length %u checksum %#x", sport, be16(udp + 2), be16(udp + 4), be16(udp + 6));
	if (be16(vx) != 0x0800 || be16(vx + 2) != 0 || (addr_at(vx + 4) != htonl(dst->vni << 8)))
		FAIL("VXLAN header %02x%02x%02x%02x VNI word %#x for VPC %u", vx[0], vx[1], vx[2], vx[3],
		     ntohl(addr_at(vx + 4)), dst->vni);
	inner.out = out + OVERLAY_OVERHEAD;
	inner.out_len = o->out_len - OVERLAY_OVERHEAD;
	(void)in;
	return forward_ok(&inner, src, dst, why, len);
}

/* Which NIC's counters moved, and by how much: -1 none, -2 several. */
static int nic_moved(const struct outcome *o, size_t field, uint64_t *delta)
{
	int who = -1;

	for (int i = 0; i < world_nic_count && i < CHECK_MAX_NICS; i++) {
		uint64_t b = *(const uint64_t *)((const char *)&o->before->nic[i] + field);
		uint64_t a = *(const uint64_t *)((const char *)&o->after->nic[i] + field);

		if (a == b)
			continue;
		if (who != -1)
			return -2;
		who = i;
		*delta = a - b;
	}
	return who;
}

int check_outcome(struct outcome *o, char *why, size_t len)
{
	const struct world_nic *src = world_port_nic(o->in->port);
	int src_i = src ? (int)(src - world_nics) : -1;
	uint64_t dropped = 0, d = 0;
	int who;

	o->reason = -1;
	o->kind = -1;
	for (int r = 0; r < DROP__MAX; r++) {
		uint64_t delta = o->after->drops[r] - o->before->drops[r];

		if (!delta)
			continue;
		if (o->reason != -1 || delta != 1)
			FAIL("drop counters moved by more than one (reason %d by %llu)", r, (unsigned long long)delta);
		o->reason = r;
		dropped = delta;
	}
	if (o->verdict != TC_ACT_SHOT && o->verdict != TC_ACT_REDIRECT)
		FAIL("verdict %d: only TC_ACT_SHOT (2) or TC_ACT_REDIRECT (7) may leave nic_ingress", o->verdict);

	who = nic_moved(o, offsetof(struct nic_stats, tx_packets), &d);
	if (src ? who != src_i || d != 1 : who != -1)
		FAIL("tx_packets moved on NIC %d by %llu (the sender is NIC %d)", who, (unsigned long long)d, src_i);
	who = nic_moved(o, offsetof(struct nic_stats, tx_bytes), &d);
	if (src && (who != src_i || d != o->in->len))
		FAIL("tx_bytes moved by %llu for a %zu-byte frame", (unsigned long long)d, o->in->len);
	who = nic_moved(o, offsetof(struct nic_stats, drops), &d);
	/*
	 * What the receiver's security group refuses (or cannot read the ports of,
	 * or has no conntrack room for) counts on the receiving NIC.
	 */
	if (src && who >= 0 && who != src_i &&
	    (o->reason == DROP_SG_INGRESS || o->reason == DROP_MALFORMED || o->reason == DROP_CT_FULL)) {
		if (d != 1 || world_nics[who].port < 0 ||
		    !world_may_reach(src->vni, world_nics[who].vni,
				     o->in->len >= ETH + 20 ? addr_at(o->in->data + ETH + 16) : 0))
			FAIL("ingress filter drop (reason %d) counted on NIC %d", o->reason, who);
	} else if (src ? (dropped ? who != src_i || d != 1 : who != -1) : who != -1)
		FAIL("NIC drops moved on NIC %d by %llu; %llu drops counted (reason %d), the sender is NIC %d", who,
		     (unsigned long long)d, (unsigned long long)dropped, o->reason, src_i);
	who = nic_moved(o, offsetof(struct nic_stats, rx_packets), &d);

	if (o->verdict == TC_ACT_SHOT) {
		if (!dropped)
			FAIL("TC_ACT_SHOT with no drop counted");
		if (who != -1)
			FAIL("a dropped frame counted as received by NIC %d", who);
		return 0;
	}

	/* TC_ACT_REDIRECT */
	if (!src)
		FAIL("redirected a frame from a port with no NIC");
	if (who < 0 || d != 1)
		FAIL("a redirected frame counted as received by %s", who == -1 ? "no NIC" : "several NICs");
	/* a remote NIC is counted the frame the VM sent, not the VXLAN packet that carries it */
	if (o->after->nic[who].rx_bytes - o->before->nic[who].rx_bytes !=
	    (world_nics[who].port < 0 ? o->in->len : o->out_len))
		FAIL("rx_bytes of NIC %d do not match the %zu bytes sent to it", who, o->out_len);
	if (o->out_len < ETH)
		FAIL("redirected a %zu-byte frame", o->out_len);
	if (memcmp(o->in->data + 6, src->mac_b, 6))
		FAIL("redirected a frame whose source MAC is not the port's NIC");

	switch (be16(o->in->data + 12)) {
	case 0x0806:
		if (dropped)
			FAIL("ARP reply with a drop counted (reason %d)", o->reason);
		if (who != src_i)
			FAIL("ARP reply counted as received by NIC %d", who);
		o->kind = RK_ARP_REPLY;
		return arp_reply_ok(o, src, why, len);
	case 0x0800:
		if (o->in->len < ETH + 20 || (o->in->data[ETH] >> 4) != 4 || (o->in->data[ETH] & 0xf) < 5 ||
		    ETH + (o->in->data[ETH] & 0xf) * 4u > o->in->len ||
		    be16(o->in->data + ETH + 2) < (o->in->data[ETH] & 0xf) * 4u ||
		    ETH + (size_t)be16(o->in->data + ETH + 2) > o->in->len)
			FAIL("redirected a malformed IPv4 frame");
		if (!frame_ip_csum_ok(o->in->data, o->in->len))
			FAIL("redirected a frame whose IPv4 header checksum does not verify");
		if (dropped || addr_at(o->in->data + ETH + 16) == src->gateway) {
			if (who != src_i)
				FAIL("reply from the router counted as received by NIC %d", who);
			o->kind = dropped ? RK_ICMP_ERROR : RK_ECHO_REPLY;
			return dropped ? icmp_error_ok(o, src, why, len) : echo_reply_ok(o, src, why, len);
		}
		if (world_nics[who].port < 0) {
			o->kind = RK_VXLAN;
			return encap_ok(o, src, &world_nics[who], why, len);
		}
		o->kind = RK_LOCAL;
		return forward_ok(o, src, &world_nics[who], why, len);
	default:
		FAIL("redirected ethertype %#06x", be16(o->in->data + 12));
	}
}
