/* cli/upgrade.c — refuses an upgrade whose programs expect another layout of a pinned map, before anything changes. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "cli/cli.h"
#include "cli/upgrade.h"

/*
 * libbpf reuses a pinned map only when type, key and value size, max_entries
 * and flags all match, and otherwise fails the whole load with a generic
 * error. Checking first lets dp up name the map and say what to do, while the
 * running datapath is still untouched. Migrating a changed layout is done
 * through the state document: save, dp down, dp up, apply.
 */
int dp_check_layout(struct bpf_object *obj, const char *pin_dir)
{
	struct bpf_map *m;

	bpf_object__for_each_map(m, obj) {
		char path[PATH_MAX + 64], have[128] = "", want[128];
		struct bpf_map_info info;
		__u32 len = sizeof(info);
		int fd;

		if (!bpf_map__pin_path(m))
			continue; /* not pinned: private to the program */
		snprintf(path, sizeof(path), "%s/%s", pin_dir, bpf_map__name(m));
		fd = bpf_obj_get(path);
		if (fd < 0)
			continue; /* created by this dp up */
		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
			int err = errno;
			close(fd);
			return fail_errno(err, "cannot read the pinned map %s", path);
		}
		close(fd);
		if (info.type == bpf_map__type(m) && info.key_size == bpf_map__key_size(m) &&
		    info.value_size == bpf_map__value_size(m) && info.max_entries == bpf_map__max_entries(m) &&
		    info.map_flags == bpf_map__map_flags(m))
			continue;
		snprintf(have, sizeof(have), "type %u key %u value %u max_entries %u flags %#x", info.type, info.key_size,
			 info.value_size, info.max_entries, info.map_flags);
		snprintf(want, sizeof(want), "type %u key %u value %u max_entries %u flags %#x", bpf_map__type(m),
			 bpf_map__key_size(m), bpf_map__value_size(m), bpf_map__max_entries(m), bpf_map__map_flags(m));
		return fail("pinned map \"%s\" has another layout (%s) than this vpcbpf expects (%s): nothing was changed; "
			    "to migrate: vpcbpf save > state.json; vpcbpf dp down; vpcbpf dp up ...; vpcbpf apply state.json",
			    bpf_map__name(m), have, want);
	}
	return 0;
}
