/* cli/dp.c — vpcbpf dp: load, upgrade, show and unload the datapath of this host. */
#include <errno.h>
#include <dirent.h>
#include <ifaddrs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "cli/advertise.h"
#include "cli/cli.h"
#include "cli/attach.h"
#include "cli/bpffs.h"
#include "cli/dp.h"
#include "cli/underlay.h"
#include "cli/external.h"
#include "cli/upgrade.h"
#include "maps/fib.h"
#include "nic.skel.h"

/* The virtual router's MAC, the same on every host so a VM moved between hosts keeps its gateway's MAC. */
static const __u8 default_router_mac[6] = { 0x0e, 0x76, 0x70, 0x63, 0x00, 0x01 };

struct dp_args {
	char dev[IF_NAMESIZE];
	__be32 local;
	__u8 router_mac[6];
	bool have_dev, have_local, have_mac, have_xdp, have_ct_quota;
	enum xdp_mode_cfg xdp;
	__u32 ct_quota;
	char ext_dev[IF_NAMESIZE];   /* external DEV: SNAT and elastic IPs (cli/external.c) */
	const char *nat_ports;
};

static int parse_dp_up(int argc, char **argv, struct dp_args *a)
{
	memset(a, 0, sizeof(*a));
	a->xdp = XDP_MODE_CFG_AUTO;
	for (; argc > 0; argc--, argv++) {
		const char *val;
		if (matches(*argv, "dev")) {
			if (!(val = next_value(&argc, &argv, "dev")))
				return 1;
			if (strlen(val) >= IF_NAMESIZE)
				return fail("invalid device name \"%s\"", val);
			snprintf(a->dev, sizeof(a->dev), "%s", val);
			a->have_dev = true;
		} else if (matches(*argv, "local")) {
			if (!(val = next_value(&argc, &argv, "local")) || parse_ip(val, &a->local))
				return 1;
			a->have_local = true;
		} else if (matches(*argv, "router-mac")) {
			if (!(val = next_value(&argc, &argv, "router-mac")) || parse_mac(val, a->router_mac))
				return 1;
			a->have_mac = true;
		} else if (matches(*argv, "ct-quota")) {
			if (!(val = next_value(&argc, &argv, "ct-quota")) || parse_ct_quota(val, &a->ct_quota))
				return 1;
			a->have_ct_quota = true;
		} else if (matches(*argv, "external")) {
			if (!(val = next_value(&argc, &argv, "external")))
				return 1;
			if (strlen(val) >= IF_NAMESIZE)
				return fail("invalid device name \"%s\"", val);
			snprintf(a->ext_dev, sizeof(a->ext_dev), "%s", val);
		} else if (matches(*argv, "nat-ports")) {
			if (!(a->nat_ports = next_value(&argc, &argv, "nat-ports")))
				return 1;
		} else if (matches(*argv, "xdp")) {
			if (!(val = next_value(&argc, &argv, "xdp")))
				return 1;
			if (!strcmp(val, "native"))
				a->xdp = XDP_MODE_CFG_NATIVE;
			else if (!strcmp(val, "generic"))
				a->xdp = XDP_MODE_CFG_GENERIC;
			else if (!strcmp(val, "off"))
				a->xdp = XDP_MODE_CFG_OFF;
			else if (!strcmp(val, "auto"))
				a->xdp = XDP_MODE_CFG_AUTO;
			else
				return fail("invalid xdp mode \"%s\" (expected auto, native, generic or off)", val);
			a->have_xdp = true;
		} else {
			return unknown_word(*argv);
		}
	}
	if (a->have_local && !a->have_dev)
		return fail("dp up: \"local\" needs \"dev UNDERLAY_DEV\"");
	return 0;
}

/* Underlay facts from the kernel: ifindex, MTU, MAC and (unless given) the first IPv4 address. */
static int read_underlay(const struct dp_args *a, struct host *h)
{
	struct ifreq ifr;
	struct ifaddrs *ifa, *i;
	char b1[16];
	int fd;

	h->underlay_ifindex = if_nametoindex(a->dev);
	if (!h->underlay_ifindex)
		return fail("underlay device \"%s\" does not exist", a->dev);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail_errno(errno, "socket");
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", a->dev);
	if (ioctl(fd, SIOCGIFMTU, &ifr) == 0)
		h->underlay_mtu = (__u32)ifr.ifr_mtu;
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) == 0)
		memcpy(h->underlay_mac, ifr.ifr_hwaddr.sa_data, 6);
	close(fd);
	h->underlay_ip = a->local;
	if (a->have_local)
		return 0;
	if (getifaddrs(&ifa))
		return fail_errno(errno, "cannot read the addresses of \"%s\"", a->dev);
	for (i = ifa; i; i = i->ifa_next)
		if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET && !strcmp(i->ifa_name, a->dev)) {
			h->underlay_ip = ((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr;
			break;
		}
	freeifaddrs(ifa);
	if (!h->underlay_ip)
		return fail("underlay device \"%s\" has no IPv4 address: give \"local UNDERLAY_IP\"", a->dev);
	(void)b1;
	return 0;
}

/* Removes every pinned file in dir (not recursing), then dir. */
static void unpin_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[PATH_MAX + 256];

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2])))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (e->d_type == DT_DIR)
			unpin_dir(path);
		else
			unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

struct reattach {
	int prog_fd;
	int failed;
	int count;
};

static int reattach_nic(const void *key, const void *value, void *ctx)
{
	struct reattach *r = ctx;
	__u32 ifindex = *(const __u32 *)key;
	char name[IF_NAMESIZE];

	if (!if_indextoname(ifindex, name))
		return 0; /* the device went away; nic show reports it */
	if (nic_attach((int)ifindex, r->prog_fd))
		r->failed++;
	else
		r->count++;
	return 0;
}

int dp_up(int argc, char **argv)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = opts.pin_dir);
	struct dp_args a;
	struct nic_bpf *skel = NULL;
	struct store *s;
	struct host h, ul;
	struct reattach ra = { 0 };
	struct migration mig = { 0 };
	enum xdp_mode_cfg want_xdp, got_xdp;
	struct nat_host ext;
	__u32 zero = 0, old_underlay;
	int lock_fd, err = 1, ext_ifindex = 0;
	char b1[16], b2[18], why[128] = "", mounted[PATH_MAX], unmounted[PATH_MAX];

	if (parse_dp_up(argc, argv, &a))
		return 1;
	/* The underlay is checked before anything is loaded or pinned: a bad dev changes nothing. */
	memset(&ul, 0, sizeof(ul));
	if (a.have_dev && read_underlay(&a, &ul))
		return 1;
	memset(&ext, 0, sizeof(ext));
	if (a.ext_dev[0] && external_read(a.ext_dev, &ext))
		return 1;
	if (a.nat_ports && external_parse_ports(a.nat_ports, &ext))
		return 1;
	if (bpffs_ensure(opts.pin_dir, mounted))
		return 1;
	if (mounted[0] && !opts.json)
		printf("mounted a bpffs on %s (dp down unmounts it)\n", mounted);
	lock_fd = store_lock_dir(opts.pin_dir);
	if (lock_fd < 0) {
		fail_env_errno(lock_fd, "cannot lock %s", opts.pin_dir);
		goto undo_mount;
	}
	skel = nic_bpf__open_opts(&oo);
	if (!skel) {
		fail_errno(errno, "Failed to open the datapath programs");
		goto out;
	}
	/* an older vpcbpf's NIC records and counters: set aside here, written into the new maps after the load */
	if (dp_migrate_prepare(opts.pin_dir, &mig))
		goto out;
	if (dp_check_layout(skel->obj, opts.pin_dir)) {
		dp_migrate_abort(opts.pin_dir, &mig);
		goto out;
	}
	if ((err = nic_bpf__load(skel))) {
		dp_migrate_abort(opts.pin_dir, &mig);
		fail_errno(err, "Failed to load the datapath (a pinned map of another layout? try 'dp down' first; -v for the verifier log)");
		err = 1;
		goto out;
	}
	err = 1;
	if (dp_migrate_finish(opts.pin_dir, &mig, bpf_map__fd(skel->maps.nics), bpf_map__fd(skel->maps.nic_stats),
			      bpf_map__fd(skel->maps.nic_counters)))
		goto out;
	/* the internet path (a tail call of nic_ingress) is in place before any NIC runs the new program */
	{
		__u32 idx = NIC_TAIL_INTERNET;
		int fd = bpf_program__fd(skel->progs.nic_internet);
		if (bpf_map_update_elem(bpf_map__fd(skel->maps.nic_tails), &idx, &fd, BPF_ANY)) {
			err = fail_errno(errno, "cannot install the internet path of the NIC program");
			goto out;
		}
	}
	if ((err = prog_pin(bpf_program__fd(skel->progs.nic_ingress), PROG_NIC_INGRESS))) {
		fail_errno(err, "Failed to pin the NIC program under %s", opts.pin_dir);
		err = 1;
		goto out;
	}
	err = 1;
	if (!(s = store_get_locked(lock_fd)))
		goto out;
	if (store_host(s, &h))
		memset(&h, 0, sizeof(h));
	old_underlay = h.underlay_ifindex;
	if (a.have_dev) {
		h.underlay_ifindex = ul.underlay_ifindex;
		h.underlay_mtu = ul.underlay_mtu;
		h.underlay_ip = ul.underlay_ip;
		memcpy(h.underlay_mac, ul.underlay_mac, sizeof(h.underlay_mac));
	}
	if (a.have_mac)
		memcpy(h.router_mac, a.router_mac, 6);
	else if (!(h.router_mac[0] | h.router_mac[1] | h.router_mac[2] | h.router_mac[3] | h.router_mac[4] | h.router_mac[5]))
		memcpy(h.router_mac, default_router_mac, 6);
	if (!h.vxlan_port)
		h.vxlan_port = VXLAN_PORT;
	if (a.have_ct_quota)
		h.ct_quota = a.ct_quota;
	/* dev or xdp given: as asked (auto by default: the fastest for the driver); neither: the mode the host had */
	want_xdp = a.have_xdp || a.have_dev ? a.xdp : (enum xdp_mode_cfg)h.xdp_mode;
	if (want_xdp == XDP_MODE_CFG_AUTO) {
		char dev[IF_NAMESIZE];

		if (!if_indextoname(a.have_dev ? ul.underlay_ifindex : h.underlay_ifindex, dev))
			snprintf(dev, sizeof(dev), "%s", a.dev);
		want_xdp = underlay_xdp_auto(dev, why, sizeof(why));
	}
	h.flags |= HOST_F_UP;
	if (mounted[0])
		h.flags |= HOST_F_BPFFS_MOUNTED;
	if (bpf_map_update_elem(s->fd[SM_HOST], &zero, &h, BPF_ANY)) {
		fail_errno(errno, "cannot write the host record");
		goto out;
	}
	/* An upgrade: every local NIC moves to the new program in one filter replace. */
	ra.prog_fd = bpf_program__fd(skel->progs.nic_ingress);
	store_foreach(s->fd[SM_IFINDEX_NICS], sizeof(__u32), sizeof(struct nic_key), reattach_nic, &ra);
	if (ra.failed) {
		fail("%d NIC(s) could not be attached to the new program", ra.failed);
		goto out;
	}
	/* Underlay ingress: attached to the new device first, then gone from an old one. */
	if (h.underlay_ifindex) {
		if (underlay_up((int)h.underlay_ifindex, want_xdp, &got_xdp))
			goto out;
		if (old_underlay && old_underlay != h.underlay_ifindex)
			underlay_down((int)old_underlay);
		h.xdp_mode = got_xdp;
		if (bpf_map_update_elem(s->fd[SM_HOST], &zero, &h, BPF_ANY)) {
			fail_errno(errno, "cannot write the host record");
			goto out;
		}
	}
	/* The external device: the one named, or (an upgrade) the one in place, with new ports if given. */
	if (!a.ext_dev[0] && a.nat_ports) {
		struct nat_host old;
		if (bpf_map_lookup_elem(s->fd[SM_NAT_HOST], &zero, &old) || !old.ext_ifindex) {
			fail("dp up: \"nat-ports\" needs an external device (external DEV)");
			goto out;
		}
		old.port_lo = ext.port_lo;
		old.port_hi = ext.port_hi;
		ext = old;
	}
	if (external_up(s, ext.ext_ifindex ? &ext : NULL, &h, &ext_ifindex))
		goto out;
	if (mounted[0] && opts.json) {
		pr_begin_obj();
		pr_str("mounted_bpffs", NULL, mounted);
		pr_end_obj();
	}
	if (!opts.json) {
		if (h.underlay_ifindex) {
			printf("datapath up at %s: underlay %s %s mtu %u xdp %s, router mac %s, %d NIC(s) attached\n",
			       opts.pin_dir, a.have_dev ? a.dev : "(kept)", ip_str(h.underlay_ip, b1), h.underlay_mtu,
			       xdp_mode_name((enum xdp_mode_cfg)h.xdp_mode), mac_str(h.router_mac, b2), ra.count);
			if (why[0])
				printf("xdp %s chosen: %s (\"xdp native|generic|off\" forces a mode)\n",
				       xdp_mode_name((enum xdp_mode_cfg)h.xdp_mode), why);
		} else {
			printf("datapath up at %s (no underlay: local NICs only), router mac %s, %d NIC(s) attached\n",
			       opts.pin_dir, mac_str(h.router_mac, b2), ra.count);
		}
		if (ext_ifindex) {
			char ifname[IF_NAMESIZE];
			printf("external device %s: SNAT and elastic IPs\n",
			       if_indextoname((unsigned int)ext_ifindex, ifname) ? ifname : "?");
		}
	}
	err = 0;
out:
	dp_migrate_free(&mig);
	nic_bpf__destroy(skel);
	close(lock_fd);
undo_mount:
	/* A failed dp up leaves no bpffs it mounted: everything on it is this run's. */
	if (err && mounted[0]) {
		store_release();
		unpin_dir(opts.pin_dir);
		bpffs_release(opts.pin_dir, unmounted);
	}
	return err ? 1 : 0;
}

static int detach_nic(const void *key, const void *value, void *ctx)
{
	nic_detach((int)*(const __u32 *)key);
	return 0;
}

static int do_down(int argc, char **argv)
{
	bool keep_maps = false;
	char progs[PATH_MAX + 16];
	char host_pin[PATH_MAX + 16], unmounted[PATH_MAX];
	struct store *s;
	struct host h;
	bool mounted = false;
	__u32 zero = 0;

	for (; argc > 0; argc--, argv++) {
		if (matches(*argv, "keep-maps"))
			keep_maps = true;
		else
			return unknown_word(*argv);
	}
	/* Nothing loaded is the state dp down asks for: say so and succeed (a second dp down, a cleanup script). */
	snprintf(host_pin, sizeof(host_pin), "%s/%s", opts.pin_dir, MAP_HOST);
	if (access(host_pin, F_OK) && errno == ENOENT) {
		pr_begin_obj();
		pr_str("pin_dir", "no datapath loaded at %s: nothing to do", opts.pin_dir);
		pr_str("state", NULL, "not loaded");
		pr_end_obj();
		return 0;
	}
	if (!(s = store_get(true)))
		return 1;
	if (store_host(s, &h) == 0)
		mounted = h.flags & HOST_F_BPFFS_MOUNTED;
	if (store_host(s, &h) == 0 && h.underlay_ifindex)
		underlay_down((int)h.underlay_ifindex);
	external_down(s);
	store_foreach(s->fd[SM_IFINDEX_NICS], sizeof(__u32), sizeof(struct nic_key), detach_nic, NULL);
	snprintf(progs, sizeof(progs), "%s/%s", opts.pin_dir, PROG_PIN_SUBDIR);
	unpin_dir(progs);
	if (keep_maps) {
		if (store_host(s, &h) == 0) {
			h.flags &= ~HOST_F_UP;
			bpf_map_update_elem(s->fd[SM_HOST], &zero, &h, BPF_ANY);
		}
		pr_begin_obj();
		pr_str("pin_dir", "datapath down at %s, maps kept", opts.pin_dir);
		pr_str("state", NULL, "down");
		pr_end_obj();
		return 0;
	}
	store_release(); /* our map fds and the lock go before the files, so the bpffs can be unmounted */
	unpin_dir(opts.pin_dir);
	/* the datapath is gone: so are the routes it advertised (keep-maps keeps them for the upgrade) */
	if (advertise_withdraw_all())
		return 1;
	pr_begin_obj();
	pr_str("pin_dir", "datapath removed from %s", opts.pin_dir);
	pr_str("state", NULL, "removed");
	if (mounted) {
		if (bpffs_release(opts.pin_dir, unmounted))
			return 1;
		if (unmounted[0])
			pr_str("unmounted_bpffs", "; unmounted the bpffs on %s", unmounted);
		else
			pr_text("; the bpffs dp up mounted holds other pins now: left mounted");
	}
	pr_end_obj();
	return 0;
}

static void prog_print(const char *name)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);
	int fd = prog_open(name);

	memset(&info, 0, sizeof(info));
	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len)) {
		if (fd >= 0)
			close(fd);
		return;
	}
	pr_begin_obj();
	pr_str("name", "  program %s", name);
	pr_u64("id", " id %llu", info.id);
	pr_u64("xlated_bytes", " xlated %llu bytes", info.xlated_prog_len);
	pr_u64("verified_insns", " verified %llu insns", info.verified_insns);
	pr_end_obj();
	close(fd);
}

static int do_show(int argc, char **argv)
{
	struct store *s;
	struct host h;
	char b1[16], b2[18], ifname[IF_NAMESIZE];

	if (argc > 0)
		return unknown_word(argv[0]);
	if (!(s = store_get(false)))
		return 1;
	if (store_host(s, &h))
		return fail("cannot read the host record under %s", opts.pin_dir);
	pr_begin_obj();
	pr_str("pin_dir", "datapath %s", opts.pin_dir);
	pr_str("state", " state %s", h.flags & HOST_F_UP ? "up" : "down");
	pr_str("router_mac", " router-mac %s", mac_str(h.router_mac, b2));
	pr_u64("ct_quota", " ct-quota %llu", h.ct_quota ? h.ct_quota : CT_NIC_QUOTA_DEFAULT);
	if (h.underlay_ifindex) {
		const char *name = if_indextoname(h.underlay_ifindex, ifname);
		pr_str("underlay_dev", "\n  underlay dev %s", name ? name : "(gone)");
		pr_str("underlay_ip", " local %s", ip_str(h.underlay_ip, b1));
		pr_u64("underlay_mtu", " mtu %llu", h.underlay_mtu);
		pr_u64("nic_mtu", " (NIC MTU %llu)", h.underlay_mtu - OVERLAY_OVERHEAD);
		/* what the kernel runs now, not what was asked for */
		bool dispatcher;
		enum xdp_mode_cfg mode = underlay_xdp_mode((int)h.underlay_ifindex, &dispatcher);
		pr_str("xdp", " xdp %s", xdp_mode_name(mode));
		if (mode != XDP_MODE_CFG_OFF)
			pr_str("xdp_via", " (%s)", dispatcher ? "libxdp dispatcher" : "alone");
	}
	struct fib_usage fu;
	if (fib_usage(s->fd[SM_FIB], s->fd[SM_VPCS], &fu) == 0) {
		pr_begin_nested("route_index");
		pr_u64("lines_used", "\n  route index %llu", fu.live);
		pr_u64("lines_total", " of %llu lines", fu.total);
		pr_u64("regions", " in %llu VPC table(s)", fu.regions);
		pr_u64("lines_quarantined", ", %llu awaiting reuse", fu.quarantined);
		pr_end_nested();
	}
	external_show(s);
	pr_text("\n");
	pr_begin_array("programs");
	prog_print(PROG_NIC_INGRESS);
	prog_print(PROG_UNDERLAY_TC);
	prog_print(PROG_UNDERLAY_XDP);
	prog_print(PROG_EXTERNAL);
	pr_end_array();
	pr_end_obj();
	return 0;
}

static const struct cmd cmds[] = {
	{ "show", do_show }, { "up", dp_up }, { "down", do_down }, { 0 },
};

const struct object obj_dp = {
	.name = "dp",
	.cmds = cmds,
	.usage = "dp up [dev UNDERLAY_DEV [local UNDERLAY_IP] [xdp auto|native|generic|off]] [router-mac MAC]\n"
		 "      [ct-quota N|default] [external DEV] [nat-ports LO-HI]\n"
		 "       dp down [keep-maps]\n"
		 "       dp show\n"
		 "dp up on a running host upgrades the programs in place and keeps the maps;\n"
		 "without dev the host serves local NICs only; external DEV is where internet routes (SNAT,\n"
		 "ports LO-HI, default 20000-32767) and elastic IPs leave and enter",
};
