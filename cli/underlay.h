/* cli/underlay.h — the underlay device's programs: tc ingress, and XDP through libxdp's dispatcher. */
#ifndef VPCBPF_UNDERLAY_H
#define VPCBPF_UNDERLAY_H

#include <stdbool.h>
#include "maps/vpcbpf.h"

#define PROG_UNDERLAY_TC "underlay_ingress"
#define PROG_UNDERLAY_XDP "underlay_xdp"

/*
 * Loads the underlay programs against the pinned maps, pins them and
 * attaches them to ifindex: tc ingress always, XDP in mode `want`
 * (native falls back to generic where the driver has no XDP). *got is the
 * XDP mode in use. An upgrade replaces our programs without a gap.
 */
int underlay_up(int ifindex, enum xdp_mode_cfg want, enum xdp_mode_cfg *got);
/* Detaches what underlay_up attached (XDP, then tc); other programs stay. */
void underlay_down(int ifindex);
/*
 * The XDP mode our program is attached in right now (XDP_MODE_CFG_OFF when
 * it is not), and whether it runs under libxdp's dispatcher or alone.
 */
enum xdp_mode_cfg underlay_xdp_mode(int ifindex, bool *dispatcher);
const char *xdp_mode_name(enum xdp_mode_cfg mode);
/*
 * The fastest XDP mode for device `dev` (what `dp up` does without `xdp MODE`), from its driver:
 * native where the driver runs XDP without giving up GRO/TSO, off elsewhere. why: one line saying so.
 */
enum xdp_mode_cfg underlay_xdp_auto(const char *dev, char *why, size_t why_len);

#endif
