/* maps/rcu.c — one RCU grace period: the kernel runs synchronize_rcu() after a syscall update of a map-in-map. */
#include <errno.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "maps/rcu.h"

/*
 * tc and XDP programs run inside RCU read-side sections, so once the update
 * returns, every program that may have read a value before it has finished.
 */
int rcu_wait(void)
{
	static int outer = -1, inner = -1;
	__u32 k = 0;

	if (outer < 0) {
		if (inner < 0)
			inner = bpf_map_create(BPF_MAP_TYPE_ARRAY, "rcu_inner", sizeof(__u32), sizeof(__u32), 1, NULL);
		if (inner >= 0) {
			LIBBPF_OPTS(bpf_map_create_opts, o, .inner_map_fd = inner);
			outer = bpf_map_create(BPF_MAP_TYPE_ARRAY_OF_MAPS, "rcu", sizeof(__u32), sizeof(__u32), 1, &o);
		}
	}
	if (outer < 0) {
		usleep(50000); /* no map-in-map: programs run for microseconds */
		return 0;
	}
	return bpf_map_update_elem(outer, &k, &inner, BPF_ANY) ? -errno : 0;
}
