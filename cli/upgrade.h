/* cli/upgrade.h — dp up on a running host: the pinned maps must have the layout the new programs expect. */
#ifndef VPCBPF_UPGRADE_H
#define VPCBPF_UPGRADE_H

struct bpf_object;

/* 0 when every pinned map of obj that exists under pin_dir matches its definition; else prints which does not. */
int dp_check_layout(struct bpf_object *obj, const char *pin_dir);

#endif
