/* tests/fuzz/pkt_underlay.c — VXLAN fixtures, outer and inner mutations, and the underlay invariants. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "maps/prefix.h"
#include "tests/unit/env.h"
#include "tests/unit/pktbuild.h"
#include "underlay.skel.h"
#include "pkt_check.h"
#include "pkt_underlay.h"
#include "pkt_world.h"

#define XDP_DROP_ 1
#define XDP_PASS_ 2
#define TC_ACT_OK 0
#define TC_ACT_SHOT 2
#define TC_ACT_REDIRECT 7
#define ETH 14
#define INNER 50 /* the inner Ethernet header: outer Ethernet 14 + IPv4 20 + UDP 8 + VXLAN 8 */

static struct underlay_bpf *skel;
static int xdp_fd = -1, tc_fd = -1;

int underlay_setup(void)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = env.pin_dir);

	skel = underlay_bpf__open_opts(&oo);
	if (!skel || underlay_bpf__load(skel))
		return -1;
	xdp_fd = bpf_program__fd(skel->progs.underlay_xdp);
	tc_fd = bpf_program__fd(skel->progs.underlay_ingress);
	return 0;
}

void underlay_teardown(void)
{
	if (skel)
		underlay_bpf__destroy(skel);
	skel = NULL;
}

/* ---- fixtures: VXLAN from the neighbour host, and what else reaches an underlay device ---- */
#define ROUTER ROUTER_MAC_S
#define UL "192.168.0.1"
#define PEER "192.168.0.2"
#define UL_MAC "02:0a:0a:0a:0a:01"
#define PEER_MAC "02:0a:0a:0a:0a:02"
#define ROUTER_MAC_S "02:00:5e:00:00:01"

struct inner {
	const char *dmac, *smac, *src, *dst;
	uint16_t ethertype;
	uint8_t proto;
	size_t payload;
};

static void outer(struct pb *b, const char *dst, uint16_t frag, uint8_t options, uint16_t dport, uint32_t vni,
		  const struct pb *in)
{
	uint8_t vx[8] = { 0x08, 0, 0, 0, vni >> 16, vni >> 8, vni, 0 };

	pb_eth(b, UL_MAC, PEER_MAC, 0x0800);
	pb_ipv4(b, &(struct pb_ip){ .src = PEER, .dst = dst, .proto = 17, .frag_off = frag, .options = options });
	pb_udp(b, 51234, dport);
	pb_bytes(b, vx, sizeof(vx));
	pb_bytes(b, in->data, in->len);
	pb_done(b);
}

static void vxlan(struct pb *b, uint32_t vni, const struct inner *i)
{
	struct pb in;

	pb_init(&in);
	pb_eth(&in, i->dmac, i->smac, i->ethertype ? i->ethertype : 0x0800);
	if (i->ethertype == 0x0806) {
		pb_arp(&in, 1, i->smac, i->src, "00:00:00:00:00:00", i->dst);
	} else {
		pb_ipv4(&in, &(struct pb_ip){ .src = i->src, .dst = i->dst, .proto = i->proto ? i->proto : 17, .ttl = 63,
					      .options = i->proto == 6 ? 8 : 0 });
		if (i->proto == 6)
			pb_tcp(&in, 443, 40000, 0x12);
		else if (i->proto == 1)
			pb_icmp_echo(&in, 8, 1, 1);
		else
			pb_udp(&in, 40000, 53);
		pb_payload(&in, i->payload ? i->payload : 32);
		pb_done(&in);
	}
	outer(b, UL, 0x4000, 0, 4789, vni, &in);
}

#define A_MAC "02:00:00:64:01:05"
#define R2_MAC "02:00:00:64:01:09"

static const char *build(int i, struct pb *b)
{
	struct pb in;

	switch (i) {
	case 0: vxlan(b, 100, &(struct inner){ A_MAC, ROUTER, "10.0.2.9", "10.0.1.5" }); return "vxlan routed to a local nic";
	case 1: vxlan(b, 100, &(struct inner){ A_MAC, R2_MAC, "10.0.1.9", "10.0.1.5" }); return "vxlan same subnet";
	case 2: vxlan(b, 100, &(struct inner){ ROUTER, ROUTER, "10.0.2.9", "172.16.5.5" }); return "vxlan via appliance";
	case 3: vxlan(b, 100, &(struct inner){ ROUTER, ROUTER, "10.0.2.9", "10.9.7.7" }); return "vxlan via /32";
	case 4: vxlan(b, 100, &(struct inner){ ROUTER, ROUTER, "10.0.2.9", "192.168.3.3" }); return "vxlan via nic of other subnet";
	case 5: vxlan(b, 300, &(struct inner){ ROUTER, ROUTER, "10.0.1.9", "10.0.1.5" }); return "vxlan overlapping vpc";
	case 6: vxlan(b, 200, &(struct inner){ ROUTER, ROUTER, "10.0.1.9", "10.50.0.8" }); return "vxlan peer vpc";
	case 7: vxlan(b, 999, &(struct inner){ A_MAC, ROUTER, "10.0.2.9", "10.0.1.5" }); return "vxlan unknown vni";
	case 8: vxlan(b, 100, &(struct inner){ ROUTER, ROUTER, "10.0.1.5", "10.0.2.9" }); return "vxlan for a remote nic";
	case 9: vxlan(b, 100, &(struct inner){ ROUTER, ROUTER, "10.0.2.9", "10.0.1.99" }); return "vxlan no such nic";
	case 10: vxlan(b, 100, &(struct inner){ ROUTER, ROUTER, "10.0.2.9", "10.9.1.1" }); return "vxlan into a blackhole";
	case 11: vxlan(b, 100, &(struct inner){ ROUTER, R2_MAC, "10.0.1.9", "10.0.1.5", 0x0806 }); return "vxlan inner arp";
	case 12: vxlan(b, 100, &(struct inner){ A_MAC, ROUTER, "10.0.2.9", "10.0.1.5", 0, 6 }); return "vxlan inner tcp with options";
	case 13: vxlan(b, 100, &(struct inner){ A_MAC, ROUTER, "10.0.2.9", "10.0.1.5", 0, 1 }); return "vxlan inner icmp";
	case 14: vxlan(b, 100, &(struct inner){ A_MAC, ROUTER, "10.0.2.9", "10.0.1.5", 0, 17, 1400 }); return "vxlan 1400 bytes";
	case 15:
	case 16:
	case 17:
	case 18:
		pb_init(&in);
		pb_eth(&in, A_MAC, ROUTER, 0x0800);
		pb_ipv4(&in, &(struct pb_ip){ .src = "10.0.2.9", .dst = "10.0.1.5", .proto = 17 });
		pb_udp(&in, 1, 2);
		pb_done(&in);
		if (i == 15) {
			outer(b, UL, 0x4000, 4, 4789, 100, &in);
			return "vxlan with outer ip options";
		} else if (i == 16) {
			outer(b, UL, 0x2000, 0, 4789, 100, &in);
			return "vxlan first fragment";
		} else if (i == 17) {
			outer(b, UL, 0x0010, 0, 4789, 100, &in);
			return "vxlan later fragment";
		}
		outer(b, "192.168.0.3", 0x4000, 0, 4789, 100, &in);
		return "vxlan for another host";
	case 19:
		pb_eth(b, UL_MAC, PEER_MAC, 0x0800);
		pb_ipv4(b, &(struct pb_ip){ .src = PEER, .dst = UL, .proto = 17 });
		pb_udp(b, 4789, 53);
		pb_payload(b, 40);
		pb_done(b);
		return "udp to the host from the vxlan port";
	case 20:
		pb_eth(b, UL_MAC, PEER_MAC, 0x0800);
		pb_ipv4(b, &(struct pb_ip){ .src = PEER, .dst = UL, .proto = 6 });
		pb_tcp(b, 4789, 4789, 0x02);
		pb_done(b);
		return "tcp to the host on port 4789";
	case 21:
		pb_eth(b, "ff:ff:ff:ff:ff:ff", PEER_MAC, 0x0806);
		pb_arp(b, 1, PEER_MAC, PEER, "00:00:00:00:00:00", UL);
		return "arp on the underlay";
	default:
		pb_eth(b, UL_MAC, PEER_MAC, 0x86dd);
		pb_payload(b, 80);
		return "ipv6 on the underlay";
	}
}

const int underlay_fixture_count = 23;

const char *underlay_fixture(int i, struct frame *f)
{
	struct pb b;
	const char *name;

	pb_init(&b);
	name = build(i, &b);
	memcpy(f->data, b.data, b.len);
	f->len = b.len;
	f->port = 0;
	return name;
}

/* ---- mutations ---- */
static void put16(struct frame *f, size_t off, uint16_t v)
{
	if (off + 2 <= f->len) {
		f->data[off] = v >> 8;
		f->data[off + 1] = v & 0xff;
	}
}

/* Outer lengths and checksum made to agree with the frame again, as a sender would write them. */
static void fix_outer(struct frame *f)
{
	if (f->len < ETH + 28 || f->data[12] != 0x08 || f->data[13] != 0x00 || f->data[ETH] != 0x45)
		return;
	put16(f, ETH + 2, f->len - ETH > 0xffff ? 0xffff : f->len - ETH);
	put16(f, ETH + 20 + 4, f->len - ETH - 20);
	fix_ipv4_csum(f);
}

static void mutate_vxlan_field(struct rng *r, struct frame *f)
{
	static const uint8_t flags[] = { 0x08, 0x00, 0x0c, 0x88, 0x09, 0xff };
	static const uint32_t vnis[] = { 100, 200, 300, 999, 0, 1, 0xffffff };
	static const uint16_t ports[] = { 4789, 4790, 8472, 0, 53 };
	__be32 a;

	switch (rng_below(r, 7)) {
	case 6: /* ECN: outer and inner codepoints */
		if (f->len > INNER + ETH + 1) {
			f->data[ETH + 1] = (f->data[ETH + 1] & ~3) | rng_below(r, 4);
			f->data[INNER + ETH + 1] = (f->data[INNER + ETH + 1] & ~3) | rng_below(r, 4);
		}
		break;
	case 0: if (f->len > 42) f->data[42] = flags[rng_below(r, sizeof(flags))]; break;
	case 1: if (f->len > 42 + 7) f->data[43 + rng_below(r, 3)] = rng_below(r, 2) ? 0 : (uint8_t)rng_next(r); break;
	case 2: {
		uint32_t vni = vnis[rng_below(r, sizeof(vnis) / sizeof(vnis[0]))];

		if (f->len >= 50) {
			f->data[46] = vni >> 16;
			f->data[47] = vni >> 8;
			f->data[48] = vni;
			f->data[49] = rng_below(r, 4) ? 0 : (uint8_t)rng_next(r);
		}
		break;
	}
	case 3: put16(f, ETH + 20 + 2, ports[rng_below(r, sizeof(ports) / sizeof(ports[0]))]); break;
	case 4:
		a = rng_below(r, 2) ? world_ul_ip : world_addrs[rng_below(r, world_addr_count)];
		if (f->len >= ETH + 20)
			memcpy(f->data + ETH + 16, &a, 4);
		break;
	default: put16(f, ETH + 20 + 4, (uint16_t)rng_next(r)); break; /* UDP length */
	}
	if (rng_below(r, 2))
		fix_ipv4_csum(f);
}

void underlay_mutate(struct rng *r, enum strategy s, struct frame *f, const struct frame *other)
{
	switch (rng_below(r, 4)) {
	case 0:
		mutate_vxlan_field(r, f);
		break;
	case 1:
		mutate(r, s, f, other);
		break;
	default:
		/* the inner frame, damaged the way a VM's would be */
		if (f->len > INNER + ETH) {
			struct frame in = { .len = f->len - INNER }, o = { .len = other->len };

			memcpy(in.data, f->data + INNER, in.len);
			memcpy(o.data, other->data, o.len);
			if (o.len > INNER + ETH) {
				o.len -= INNER;
				memmove(o.data, o.data + INNER, o.len);
			}
			mutate(r, s, &in, &o);
			if (INNER + in.len > FRAME_MAX)
				in.len = FRAME_MAX - INNER;
			memcpy(f->data + INNER, in.data, in.len);
			f->len = INNER + in.len;
			if (rng_below(r, 4))
				fix_outer(f);
		} else {
			mutate(r, s, f, other);
		}
	}
	f->port = 0;
}

/* ---- invariants ---- */

/* VXLAN to this host's port: the underlay must decide on it (deliver or drop), never pass it on. */
static int ours(const struct frame *f)
{
	const uint8_t *d = f->data;
	size_t ihl;

	if (f->len < ETH + 20 || be16(d + 12) != 0x0800 || (d[ETH] >> 4) != 4 || d[ETH + 9] != 17 ||
	    addr_at(d + ETH + 16) != world_ul_ip || (be16(d + ETH + 6) & 0x1fff))
		return 0;
	ihl = (d[ETH] & 0xf) * 4u;
	return ihl >= 20 && ETH + ihl + 8 <= f->len && be16(d + ETH + ihl + 2) == 4789;
}

static int test_run(int fd, const struct frame *f, void *out, size_t *out_len, int *verdict, int tc)
{
	struct __sk_buff ctx = { .ifindex = (__u32)world_ul_ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = f->data, .data_size_in = f->len, .data_out = out,
		    .data_size_out = *out_len, .repeat = 1);
	int err;

	if (tc) {
		o.ctx_in = &ctx;
		o.ctx_size_in = sizeof(ctx);
	}
	err = bpf_prog_test_run_opts(fd, &o);
	if (err)
		return err;
	*out_len = o.data_size_out;
	*verdict = (int)o.retval;
	return 0;
}

/* The drop reason counted between a and b (-1 none), or -2 when more than one drop was counted. */
static int dropped(const struct counters *a, const struct counters *b)
{
	int reason = -1;

	for (int r = 0; r < DROP__MAX; r++) {
		uint64_t d = b->drops[r] - a->drops[r];

		if (!d)
			continue;
		if (reason != -1 || d != 1)
			return -2;
		reason = r;
	}
	return reason;
}

/* NIC counters moved between a and b: tx never; rx on `rx_nic` only (-1 none); drops on one NIC at most. */
static int nic_counters_ok(const struct counters *a, const struct counters *b, int rx_nic, int may_drop,
			   char *why, size_t len)
{
	int drops = 0;

	for (int i = 0; i < world_nic_count; i++) {
		const struct nic_stats *x = &a->nic[i], *y = &b->nic[i];

		if (y->tx_packets != x->tx_packets)
			FAIL("underlay traffic counted as sent by NIC %s", world_nics[i].ip);
		if (y->rx_packets - x->rx_packets != (uint64_t)(i == rx_nic))
			FAIL("NIC %s counted %llu received (expected %d)", world_nics[i].ip,
			     (unsigned long long)(y->rx_packets - x->rx_packets), i == rx_nic);
		if (y->drops != x->drops) {
			if (!may_drop || y->drops - x->drops != 1 || ++drops > 1)
				FAIL("NIC %s counted %llu drops", world_nics[i].ip, (unsigned long long)(y->drops - x->drops));
		}
	}
	return 0;
}

static int delivery_ok(const struct frame *f, const uint8_t *out, size_t out_len, const struct world_nic *d,
		       char *why, size_t len)
{
	const uint8_t *in = f->data, *ie = in + INNER;
	uint32_t vni;
	__be32 saddr, daddr;
	size_t ihl, tot;

	if (f->len < INNER + ETH + 20)
		FAIL("delivered a %zu-byte frame, too short for VXLAN with IPv4 inside", f->len);
	if (in[ETH] != 0x45 || (be16(in + ETH + 6) & 0x3fff) || be16(in + 42) != 0x0800 || be16(in + 44) != 0)
		FAIL("delivered despite outer ver/ihl %#x, frag %#x or VXLAN flags %#x%04x", in[ETH], be16(in + ETH + 6),
		     be16(in + 42), be16(in + 44));
	if (be16(ie + 12) != 0x0800)
		FAIL("delivered an inner ethertype %#x", be16(ie + 12));
	vni = (uint32_t)in[46] << 16 | in[47] << 8 | in[48];
	saddr = addr_at(ie + ETH + 12);
	daddr = addr_at(ie + ETH + 16);
	if (d->port < 0)
		FAIL("delivered to remote NIC %s", d->ip);
	if (d->vni != vni || world_resolve(vni, daddr) != d)
		FAIL("VNI %u, inner destination %08x delivered to NIC %s of VPC %u", vni, ntohl(daddr), d->ip, d->vni);
	if (out_len != f->len - INNER)
		FAIL("decapsulated %zu bytes into %zu", f->len, out_len);
	if (memcmp(out, d->mac_b, 6) || be16(out + 12) != 0x0800)
		FAIL("delivered without the NIC's MAC as destination");
	if (memcmp(out + 6, world_router_mac, 6) &&
	    ((saddr & prefix_mask(d->subnet_len)) != d->subnet || memcmp(out + 6, ie + 6, 6)))
		FAIL("delivered from a MAC that is neither the router's nor a sender's in the NIC's subnet");
	/* RFC 6040: an outer CE mark reaches an ECN-capable inner packet (TOS and checksum); nothing else changes */
	if ((in[ETH + 1] & 3) == 3 && (ie[ETH + 1] & 3) && (ie[ETH + 1] & 3) != 3) {
		if (out[ETH + 1] != (ie[ETH + 1] | 3))
			FAIL("outer CE over inner ECN %u delivered with TOS %#x", ie[ETH + 1] & 3, out[ETH + 1]);
		for (size_t k = ETH; k < out_len; k++)
			if (k != ETH + 1 && k != ETH + 10 && k != ETH + 11 && out[k] != ie[k])
				FAIL("the inner packet changed at byte %zu beyond its ECN mark", k - ETH);
		if (pb_csum(ie + ETH, (ie[ETH] & 0xf) * 4u, 0) == 0 && pb_csum(out + ETH, (out[ETH] & 0xf) * 4u, 0) != 0)
			FAIL("inner IPv4 checksum does not verify after the CE mark");
	} else if (memcmp(out + ETH, ie + ETH, out_len - ETH)) {
		FAIL("the inner packet changed on the way");
	}
	ihl = (out[ETH] & 0xf) * 4u;
	tot = be16(out + ETH + 2);
	if ((out[ETH] >> 4) != 4 || ihl < 20 || tot < ihl || ETH + tot > out_len)
		FAIL("delivered a malformed IPv4 packet (ver/ihl %#x, total %zu in %zu bytes)", out[ETH], tot, out_len);
	return 0;
}

/*
 * An ARP request in VXLAN answered for a local NIC (bpf/vxlan_arp.h): the same frame turned around,
 * from our underlay address back to the asker's, the same VNI, an ARP reply from a local NIC of
 * that VPC to the asker. Offsets: outer IPv4 at 14 (no options), VXLAN at 42, inner Ethernet at 50,
 * ARP at 64.
 */
static int arp_answer_ok(const struct frame *f, const uint8_t *out, size_t out_len, char *why, size_t len)
{
	const struct world_nic *n;
	__u32 vni;
	__be32 spa;

	if (f->len < 92 || out_len != f->len)
		FAIL("ARP answer of %zu bytes for a %zu-byte request", out_len, f->len);
	if (out[50 + 12] != 0x08 || out[50 + 13] != 0x06 || out[64 + 6] != 0 || out[64 + 7] != 2)
		FAIL("redirected a VXLAN frame that is neither a delivery nor an ARP reply");
	if (f->data[50 + 12] != 0x08 || f->data[50 + 13] != 0x06 || f->data[64 + 7] != 1)
		FAIL("answered something that is not an ARP request");
	if (memcmp(out + 14 + 12, f->data + 14 + 16, 4) || memcmp(out + 14 + 16, f->data + 14 + 12, 4))
		FAIL("ARP answer not from our address back to the asking VTEP");
	if (pb_csum(out + 14, 20, 0) != 0)
		FAIL("ARP answer outer IPv4 checksum does not verify");
	if (memcmp(out + 42, f->data + 42, 8))
		FAIL("ARP answer in another VNI");
	vni = ((__u32)out[46] << 16) | ((__u32)out[47] << 8) | out[48];
	memcpy(&spa, out + 64 + 14, 4);
	n = world_nic_by_ip(vni, spa);
	if (!n || n->port < 0 || memcmp(out + 64 + 8, n->mac_b, 6) || memcmp(out + 50 + 6, n->mac_b, 6))
		FAIL("ARP answer for an address that is not a local NIC of VNI %u, or not with its MAC", vni);
	if (memcmp(out + 64 + 14, f->data + 64 + 24, 4) || memcmp(out + 64 + 18, f->data + 64 + 8, 6) ||
	    memcmp(out + 64 + 24, f->data + 64 + 14, 4) || memcmp(out + 50, f->data + 64 + 8, 6))
		FAIL("ARP answer not addressed to the asker");
	return 0;
}

int underlay_check(const struct frame *f, struct counters *now, struct ul_result *res, char *why, size_t len)
{
	static uint8_t out[8192];
	struct counters before = *now, mid;
	size_t out_len = sizeof(out);
	int is_ours = ours(f), xr = -1, err, rx_nic = -1;

	res->xdp = res->tc = res->reason = -1;
	res->xdp_refused = res->tc_refused = 0;

	/* XDP */
	err = test_run(xdp_fd, f, out, &out_len, &res->xdp, 0);
	if (err == -EINVAL) {
		res->xdp_refused = 1;
	} else if (err) {
		FAIL("XDP test run failed: %s", strerror(-err));
	} else {
		if (counters_read(&mid))
			FAIL("cannot read the counters");
		*now = mid;
		xr = dropped(&before, &mid);
		if (res->xdp != XDP_PASS_ && res->xdp != XDP_DROP_)
			FAIL("underlay_xdp returned %d (only XDP_PASS or XDP_DROP)", res->xdp);
		if (out_len != f->len || memcmp(out, f->data, f->len))
			FAIL("underlay_xdp changed the frame");
		if (res->xdp == XDP_DROP_ ? xr < 0 : xr != -1)
			FAIL("XDP verdict %d with drop reason %d counted", res->xdp, xr);
		if (!is_ours && res->xdp != XDP_PASS_)
			FAIL("XDP dropped a frame that is not VXLAN to this host (reason %d)", xr);
		if (nic_counters_ok(&before, &mid, -1, res->xdp == XDP_DROP_, why, len))
			return -1;
	}

	/* tc */
	before = *now;
	out_len = sizeof(out);
	err = test_run(tc_fd, f, out, &out_len, &res->tc, 1);
	if (err == -EINVAL) {
		res->tc_refused = 1;
		if (is_ours)
			FAIL("BPF_PROG_TEST_RUN refused a frame addressed to our VXLAN port");
		return 0;
	} else if (err) {
		FAIL("tc test run failed: %s", strerror(-err));
	}
	if (counters_read(now))
		FAIL("cannot read the counters");
	res->reason = dropped(&before, now);
	for (int i = 0; i < world_nic_count; i++)
		if (now->nic[i].rx_packets != before.nic[i].rx_packets)
			rx_nic = i;
	switch (res->tc) {
	case TC_ACT_OK:
		if (is_ours)
			FAIL("VXLAN to our port went to the host stack (TC_ACT_OK)");
		if (res->reason != -1 || out_len != f->len || memcmp(out, f->data, f->len))
			FAIL("TC_ACT_OK with a drop counted or the frame changed");
		break;
	case TC_ACT_SHOT:
		if (res->reason < 0)
			FAIL("TC_ACT_SHOT with %s drop counted", res->reason == -1 ? "no" : "more than one");
		if (xr >= 0 && xr != res->reason)
			FAIL("XDP dropped for reason %d, tc for reason %d", xr, res->reason);
		if (res->xdp == XDP_PASS_ && res->reason != DROP_MALFORMED && res->reason != DROP_VXLAN_MALFORMED &&
		    res->reason != DROP_SG_INGRESS && res->reason != DROP_REDIRECT_FAILED)
			FAIL("XDP passed a frame tc dropped for reason %d, which XDP checks too", res->reason);
		break;
	case TC_ACT_REDIRECT:
		if (res->reason != -1)
			FAIL("delivered with drop reason %d counted", res->reason);
		if (res->xdp == XDP_DROP_)
			FAIL("XDP dropped a frame tc delivered");
		if (rx_nic < 0 && out_len >= 64 && out[50 + 12] == 0x08 && out[50 + 13] == 0x06) {
			if (arp_answer_ok(f, out, out_len, why, len))
				return -1;
			break;
		}
		if (rx_nic < 0)
			FAIL("delivered without a NIC counting it received");
		if (now->nic[rx_nic].rx_bytes - before.nic[rx_nic].rx_bytes != out_len)
			FAIL("rx_bytes of NIC %s do not match the %zu bytes delivered", world_nics[rx_nic].ip, out_len);
		if (delivery_ok(f, out, out_len, &world_nics[rx_nic], why, len))
			return -1;
		break;
	default:
		FAIL("underlay_ingress returned %d", res->tc);
	}
	if (!is_ours && res->tc != TC_ACT_OK)
		FAIL("tc verdict %d for a frame that is not VXLAN to this host", res->tc);
	return nic_counters_ok(&before, now, res->tc == TC_ACT_REDIRECT ? rx_nic : -1, res->tc == TC_ACT_SHOT, why, len);
}
