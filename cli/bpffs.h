/* cli/bpffs.h — the bpffs under the pin dir (cli/bpffs.c): ensured by dp up, released by dp down. */
#ifndef VPCBPF_CLI_BPFFS_H
#define VPCBPF_CLI_BPFFS_H

#include <limits.h>

/* Where dp up mounts a bpffs for pin_dir: /sys/fs/bpf for a pin dir below it, else the pin dir itself. */
void bpffs_mount_target(const char *pin_dir, char target[PATH_MAX]);
/* Makes sure pin_dir exists on a bpffs. Mounts one only on an empty directory; mounted[] gets where
 * ("" when nothing was mounted). 0, or 1 after fail_env(). */
int bpffs_ensure(const char *pin_dir, char mounted[PATH_MAX]);
/* dp down of a host whose dp up mounted the bpffs: unmounts it once nothing is left on it;
 * unmounted[] gets where ("" when it stays). 0, or 1 after fail_env(). */
int bpffs_release(const char *pin_dir, char unmounted[PATH_MAX]);

#endif
