/* tests/fuzz/pkt_underlay.h — fuzzing the underlay programs: VXLAN frames from other hosts through XDP and tc. */
#ifndef VPCBPF_FUZZ_PKT_UNDERLAY_H
#define VPCBPF_FUZZ_PKT_UNDERLAY_H

#include <stddef.h>
#include "pkt_check.h"
#include "pkt_mutate.h"

/* What became of one frame: XDP verdict, tc verdict, the drop reason counted by tc (-1 none). */
struct ul_result {
	int xdp, tc, reason;
	int xdp_refused, tc_refused; /* BPF_PROG_TEST_RUN would not take the frame */
};

/* Loads underlay.bpf.o against the pinned maps of the test environment. Returns 0, or -1. */
int underlay_setup(void);
void underlay_teardown(void);

extern const int underlay_fixture_count;
const char *underlay_fixture(int i, struct frame *f);
/* An outer or inner mutation (the inner frame is damaged with the nic_ingress mutators). */
void underlay_mutate(struct rng *r, enum strategy s, struct frame *f, const struct frame *other);

/*
 * Runs the frame through underlay_xdp and underlay_ingress and checks:
 *  - XDP gives XDP_PASS or XDP_DROP, never changes the frame, counts exactly
 *    one drop when it drops and none when it passes;
 *  - tc gives TC_ACT_OK (untouched, nothing counted), TC_ACT_SHOT (one drop
 *    counted) or TC_ACT_REDIRECT (one local NIC counts it received);
 *  - a frame that is not VXLAN to this host's port passes both untouched;
 *    one that is never reaches the host stack (tc OK);
 *  - what XDP drops tc drops for the same reason, what XDP passes tc
 *    delivers or drops for a reason only the decapsulated frame shows;
 *  - a delivery is the inner frame unchanged but its MACs, to the NIC the
 *    VNI and inner destination resolve to, from the router MAC or from the
 *    sender's own MAC when it is in the NIC's subnet.
 * `now` holds the counters before and after. Returns 0, or -1 with why.
 */
int underlay_check(const struct frame *f, struct counters *now, struct ul_result *res, char *why, size_t len);

#endif
