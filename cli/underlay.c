/* cli/underlay.c — attaches the underlay ingress programs: tc (always) and XDP via libxdp's dispatcher (native, else generic). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include "cli/cli.h"
#include "cli/attach.h"
#include "cli/underlay.h"
#include "underlay.skel.h"

#define MAX_OLD_PROGS 8

static int libxdp_print(enum libxdp_print_level level, const char *fmt, va_list ap)
{
	if (!opts.verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

/*
 * libxdp keeps the dispatcher's state under a bpffs directory that is
 * global to the machine, named by ifindex, and ifindexes repeat across
 * network namespaces. An emulated host (-n NETNS) therefore keeps it
 * under its own pin dir; a real host uses libxdp's default
 * (/sys/fs/bpf/xdp), shared with xdp-loader and other XDP programs.
 * LIBXDP_BPFFS, when set, always wins.
 */
static void libxdp_setup(void)
{
	static bool done;

	if (done)
		return;
	done = true;
	libxdp_set_print(libxdp_print);
	if (opts.netns && !getenv(XDP_BPFFS_ENVVAR))
		setenv(XDP_BPFFS_ENVVAR, opts.pin_dir, 1);
}

const char *xdp_mode_name(enum xdp_mode_cfg mode)
{
	return mode == XDP_MODE_CFG_NATIVE ? "native" : mode == XDP_MODE_CFG_GENERIC ? "generic" : "off";
}

/*
 * Drivers whose native XDP keeps the fast path of the kernel: the program
 * runs on the receive ring before an skb exists and XDP_PASS goes on to GRO
 * as before, with TSO untouched on the sending side. Everything else gets
 * tc only, measured or known to lose more than XDP saves:
 *  - veth: a native program makes veth take GSO away from its peer unless
 *    the program is frags-aware, and every packet then goes through veth's
 *    NAPI and an xdp_buff; generic XDP copies every packet short of 256
 *    bytes of headroom or non-linear. Measured on one world (docs/overlay.md):
 *    off beats generic by 15% TCP, native by 3-5x.
 *  - virtio_net: XDP needs the guest offloads (GRO_HW/LRO, guest TSO)
 *    switched off.
 *  - tun/tap, bridges, bonds, vxlan, dummy and the like: generic only, the
 *    same copies as veth's generic path.
 * tc alone does every check XDP would (bpf/underlay.bpf.c), so off loses no
 * function, only the early drop of a flood of bad VXLAN.
 */
static const char *const xdp_native_drivers[] = {
	"mlx5_core", "mlx4_en", "i40e", "ice", "ixgbe", "ixgbevf", "igb", "igc", "bnxt_en", "nfp",
	"qede", "ena", "sfc", "mvneta", "mvpp2", "octeontx2-nicpf", "cpsw", "stmmac", "tsnep", "fec",
};

enum xdp_mode_cfg underlay_xdp_auto(const char *dev, char *why, size_t why_len)
{
	struct ethtool_drvinfo info = { .cmd = ETHTOOL_GDRVINFO };
	struct ifreq ifr;
	int fd;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev);
	ifr.ifr_data = (void *)&info;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || ioctl(fd, SIOCETHTOOL, &ifr)) {
		if (fd >= 0)
			close(fd);
		snprintf(why, why_len, "driver of %s unknown: tc only", dev);
		return XDP_MODE_CFG_OFF;
	}
	close(fd);
	for (size_t i = 0; i < sizeof(xdp_native_drivers) / sizeof(*xdp_native_drivers); i++)
		if (!strcmp(info.driver, xdp_native_drivers[i])) {
			snprintf(why, why_len, "%s runs XDP in the driver and keeps GRO/TSO", info.driver);
			return XDP_MODE_CFG_NATIVE;
		}
	if (!strcmp(info.driver, "veth"))
		snprintf(why, why_len, "veth: native XDP costs the sender's GSO, generic copies every packet; tc is faster");
	else if (!strcmp(info.driver, "virtio_net"))
		snprintf(why, why_len, "virtio_net: XDP would switch off the guest's GRO/TSO offloads; tc is faster");
	else
		snprintf(why, why_len, "%s has no XDP that keeps GRO/TSO: tc only", info.driver[0] ? info.driver : "the driver");
	return XDP_MODE_CFG_OFF;
}

/* Ids of our XDP programs on ifindex, the mode they run in, and whether libxdp runs them alone (no dispatcher). */
static int our_xdp_progs_ex(int ifindex, __u32 *ids, int max, enum xdp_attach_mode *mode, bool *alone)
{
	struct xdp_multiprog *mp;
	struct xdp_program *p;
	int n = 0;

	mp = xdp_multiprog__get_from_ifindex(ifindex);
	if (libxdp_get_error(mp) || !mp)
		return 0;
	if (mode)
		*mode = xdp_multiprog__attach_mode(mp);
	if (alone)
		*alone = xdp_multiprog__is_legacy(mp);
	if (xdp_multiprog__is_legacy(mp)) {
		p = xdp_multiprog__main_prog(mp);
		if (p && !strcmp(xdp_program__name(p), PROG_UNDERLAY_XDP) && n < max)
			ids[n++] = xdp_program__id(p);
	} else {
		for (p = xdp_multiprog__next_prog(NULL, mp); p; p = xdp_multiprog__next_prog(p, mp))
			if (!strcmp(xdp_program__name(p), PROG_UNDERLAY_XDP) && n < max)
				ids[n++] = xdp_program__id(p);
	}
	xdp_multiprog__close(mp);
	return n;
}

static int our_xdp_progs(int ifindex, __u32 *ids, int max, enum xdp_attach_mode *mode)
{
	return our_xdp_progs_ex(ifindex, ids, max, mode, NULL);
}

static void detach_xdp_ids(int ifindex, const __u32 *ids, int n, enum xdp_attach_mode mode)
{
	for (int i = 0; i < n; i++) {
		struct xdp_program *p = xdp_program__from_id(ids[i]);

		if (libxdp_get_error(p) || !p)
			continue;
		xdp_program__detach(p, ifindex, mode, 0);
		xdp_program__close(p);
	}
}

enum xdp_mode_cfg underlay_xdp_mode(int ifindex, bool *dispatcher)
{
	enum xdp_attach_mode mode = XDP_MODE_UNSPEC;
	__u32 ids[MAX_OLD_PROGS];
	bool alone = true;

	libxdp_setup();
	*dispatcher = false;
	if (!our_xdp_progs_ex(ifindex, ids, MAX_OLD_PROGS, &mode, &alone))
		return XDP_MODE_CFG_OFF;
	*dispatcher = !alone;
	return mode == XDP_MODE_SKB ? XDP_MODE_CFG_GENERIC : XDP_MODE_CFG_NATIVE;
}

/* A second, unloaded copy of the object for libxdp, which loads it itself (as a dispatcher extension). */
static int attach_xdp(int ifindex, enum xdp_mode_cfg want, enum xdp_mode_cfg *got)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = opts.pin_dir);
	DECLARE_LIBXDP_OPTS(xdp_program_opts, xo, .prog_name = PROG_UNDERLAY_XDP);
	enum xdp_attach_mode old_mode = XDP_MODE_UNSPEC;
	__u32 old[MAX_OLD_PROGS];
	struct xdp_program *prog;
	struct bpf_object *obj;
	const void *elf;
	size_t sz;
	int n_old, err;

	elf = underlay_bpf__elf_bytes(&sz);
	obj = bpf_object__open_mem(elf, sz, &oo);
	if (!obj)
		return -errno;
	bpf_program__set_autoload(bpf_object__find_program_by_name(obj, PROG_UNDERLAY_TC), false);
	xo.obj = obj;
	prog = xdp_program__create(&xo);
	if ((err = libxdp_get_error(prog)) || !prog) {
		bpf_object__close(obj);
		return err ? err : -ENOMEM;
	}
	/* the section says xdp.frags, but libbpf only tells the kernel at load time: tell libxdp now */
	xdp_program__set_xdp_frags_support(prog, want == XDP_MODE_CFG_NATIVE);
	/*
	 * Old program out, new one in. The gap is harmless: XDP only drops
	 * early what tc would drop anyway, and tc delivers throughout. (In
	 * libxdp's legacy mode two programs cannot be attached at once.)
	 */
	n_old = our_xdp_progs(ifindex, old, MAX_OLD_PROGS, &old_mode);
	detach_xdp_ids(ifindex, old, n_old, old_mode);
	if (want == XDP_MODE_CFG_NATIVE) {
		err = xdp_program__attach(prog, ifindex, XDP_MODE_NATIVE, 0);
		*got = XDP_MODE_CFG_NATIVE;
		if (err) {
			if (opts.verbose)
				fprintf(stderr, "vpcbpf: native XDP failed (%s), trying generic\n", strerror(-err));
			want = XDP_MODE_CFG_GENERIC;
		}
	}
	if (want == XDP_MODE_CFG_GENERIC) {
		err = xdp_program__attach(prog, ifindex, XDP_MODE_SKB, 0);
		*got = XDP_MODE_CFG_GENERIC;
	}
	if (!err)
		err = prog_pin(xdp_program__fd(prog), PROG_UNDERLAY_XDP);
	xdp_program__close(prog);
	bpf_object__close(obj);
	return err;
}

int underlay_up(int ifindex, enum xdp_mode_cfg want, enum xdp_mode_cfg *got)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = opts.pin_dir);
	struct underlay_bpf *skel;
	int err;

	libxdp_setup();
	*got = XDP_MODE_CFG_OFF;
	skel = underlay_bpf__open_opts(&oo);
	if (!skel)
		return fail_errno(errno, "Failed to open the underlay programs");
	bpf_program__set_autoload(skel->progs.underlay_xdp, false);
	if ((err = underlay_bpf__load(skel))) {
		fail_errno(err, "Failed to load the underlay program (-v for the verifier log)");
		goto out;
	}
	if ((err = prog_pin(bpf_program__fd(skel->progs.underlay_ingress), PROG_UNDERLAY_TC))) {
		fail_errno(err, "Failed to pin the underlay program under %s", opts.pin_dir);
		goto out;
	}
	if ((err = nic_attach(ifindex, bpf_program__fd(skel->progs.underlay_ingress)))) {
		fail_errno(err, "cannot attach the underlay program at tc ingress");
		goto out;
	}
	if (want == XDP_MODE_CFG_OFF) {
		enum xdp_attach_mode mode = XDP_MODE_UNSPEC;
		__u32 old[MAX_OLD_PROGS];
		int n = our_xdp_progs(ifindex, old, MAX_OLD_PROGS, &mode);

		detach_xdp_ids(ifindex, old, n, mode);
		prog_unpin(PROG_UNDERLAY_XDP);
		goto out;
	}
	if ((err = attach_xdp(ifindex, want, got))) {
		*got = XDP_MODE_CFG_OFF;
		fail_errno(err, "cannot attach XDP to the underlay (try \"xdp generic\" or \"xdp off\")");
	}
out:
	underlay_bpf__destroy(skel);
	return err ? 1 : 0;
}

void underlay_down(int ifindex)
{
	enum xdp_attach_mode mode = XDP_MODE_UNSPEC;
	__u32 ids[MAX_OLD_PROGS];
	int n;

	libxdp_setup();
	n = our_xdp_progs(ifindex, ids, MAX_OLD_PROGS, &mode);
	detach_xdp_ids(ifindex, ids, n, mode);
	nic_detach(ifindex);
}
