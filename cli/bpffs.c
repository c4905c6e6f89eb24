/* cli/bpffs.c — the bpffs the pin dir lives on: found, or mounted by dp up (never over files), unmounted by dp down. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include "cli/cli.h"
#include "cli/bpffs.h"

static bool on_bpffs(const char *dir)
{
	struct statfs st;
	return statfs(dir, &st) == 0 && st.f_type == BPF_FS_MAGIC;
}

/* Same mount namespace as PID 1? `ip netns exec` gives a private one whose mounts die with it. */
static bool in_init_mount_ns(void)
{
	struct stat a, b;
	if (stat("/proc/self/ns/mnt", &a) || stat("/proc/1/ns/mnt", &b))
		return true;
	return a.st_ino == b.st_ino && a.st_dev == b.st_dev;
}

/*
 * 1 when dir holds anything, 0 when empty or missing, -errno when it cannot be read. A fresh bpffs
 * is not empty: the kernel's bpf_preload puts maps.debug and progs.debug in it, which nobody can remove.
 */
static int dir_has_entries(const char *dir, bool fresh_bpffs_is_empty)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int found = 0;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
		    !(fresh_bpffs_is_empty && (!strcmp(e->d_name, "maps.debug") || !strcmp(e->d_name, "progs.debug")))) {
			found = 1;
			break;
		}
	closedir(d);
	return found;
}

void bpffs_mount_target(const char *pin_dir, char target[PATH_MAX])
{
	/* The usual /sys/fs/bpf/vpcbpf: the bpffs belongs on /sys/fs/bpf, where bpftool and others expect it. */
	snprintf(target, PATH_MAX, "%s", strncmp(pin_dir, "/sys/fs/bpf/", 12) == 0 ? "/sys/fs/bpf" : pin_dir);
}

int bpffs_ensure(const char *pin_dir, char mounted[PATH_MAX])
{
	char parent[PATH_MAX], target[PATH_MAX];
	int err;

	mounted[0] = '\0';
	if (on_bpffs(pin_dir))
		return 0;
	/* The pin dir may sit below a bpffs mount: only the missing directories are made. */
	snprintf(parent, sizeof(parent), "%s", pin_dir);
	for (char *slash = strrchr(parent, '/'); slash && slash != parent; slash = strrchr(parent, '/')) {
		*slash = '\0';
		if (on_bpffs(parent)) {
			if ((err = store_mkdir_p(pin_dir)))
				return fail_env_errno(err, "cannot create pin dir %s", pin_dir);
			return 0;
		}
	}
	if (!in_init_mount_ns())
		return fail_env("pin dir %s is not on a bpffs, and a bpffs mounted in this private mount namespace "
				"(ip netns exec?) would vanish on exit: mount one from the host first "
				"(mount -t bpf bpf %s) or use 'vpcbpf -n NETNS' instead of 'ip netns exec'",
				pin_dir, pin_dir);
	bpffs_mount_target(pin_dir, target);
	/* A mount over a directory hides what it holds: an operator's files must never vanish behind our maps. */
	err = dir_has_entries(target, false);
	if (err < 0)
		return fail_env_errno(err, "cannot read %s", target);
	if (err > 0)
		return fail_env("%s is not on a bpffs and is not empty: a bpffs mounted there would hide its files; "
				"use an empty or new --pin-dir, or mount a bpffs there yourself", target);
	if ((err = store_mkdir_p(target)))
		return fail_env_errno(err, "cannot create %s", target);
	if (mount("bpf", target, "bpf", 0, "mode=0700"))
		return fail_env_errno(errno, "cannot mount a bpffs on %s (vpcbpf needs root)", target);
	snprintf(mounted, PATH_MAX, "%s", target);
	if (strcmp(target, pin_dir) && (err = store_mkdir_p(pin_dir))) {
		umount2(target, MNT_DETACH);
		mounted[0] = '\0';
		return fail_env_errno(err, "cannot create pin dir %s", pin_dir);
	}
	return 0;
}

int bpffs_release(const char *pin_dir, char unmounted[PATH_MAX])
{
	char target[PATH_MAX];

	unmounted[0] = '\0';
	bpffs_mount_target(pin_dir, target);
	if (!on_bpffs(target))
		return 0;
	/* /sys/fs/bpf may have gained other users' pins since dp up mounted it: theirs stay mounted. */
	if (dir_has_entries(target, true) > 0)
		return 0;
	if (umount2(target, 0))
		return fail_env_errno(errno, "cannot unmount the bpffs on %s", target);
	snprintf(unmounted, PATH_MAX, "%s", target);
	if (!strcmp(target, pin_dir))
		rmdir(pin_dir); /* dp up made it (or found it empty): leave no trace */
	return 0;
}
