/* cli/attach.c — tc (clsact, direct-action) attachment of the NIC program, by handle so it can be replaced. */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "cli/cli.h"
#include "cli/attach.h"

int prog_open(const char *name)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s/%s", opts.pin_dir, PROG_PIN_SUBDIR, name);
	fd = bpf_obj_get(path);
	return fd < 0 ? -errno : fd;
}

/* Pins fd at pin_dir/progs/name, replacing an older program in one rename. */
int prog_pin(int fd, const char *name)
{
	char dir[PATH_MAX + 16], tmp[PATH_MAX + 64], path[PATH_MAX + 64];

	snprintf(dir, sizeof(dir), "%s/%s", opts.pin_dir, PROG_PIN_SUBDIR);
	if (mkdir(dir, 0700) && errno != EEXIST)
		return -errno;
	snprintf(tmp, sizeof(tmp), "%s/%s_new", dir, name); /* bpffs refuses names with dots */
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(tmp);
	if (bpf_obj_pin(fd, tmp))
		return -errno;
	if (rename(tmp, path)) {
		int err = -errno;
		unlink(tmp);
		return err;
	}
	return 0;
}

void prog_unpin(const char *name)
{
	char path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/%s/%s", opts.pin_dir, PROG_PIN_SUBDIR, name);
	unlink(path);
}

int nic_attach(int ifindex, int prog_fd)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, tc, .handle = TC_HANDLE, .priority = TC_PRIORITY, .prog_fd = prog_fd,
		    .flags = BPF_TC_F_REPLACE);
	int err = bpf_tc_hook_create(&hook);

	if (err && err != -EEXIST)
		return err;
	return bpf_tc_attach(&hook, &tc);
}

int nic_detach(int ifindex)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, tc, .handle = TC_HANDLE, .priority = TC_PRIORITY);
	int err = bpf_tc_detach(&hook, &tc);

	return err == -ENOENT || err == -ENODEV || err == -EINVAL ? 0 : err;
}
