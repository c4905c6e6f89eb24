/* cli/dp.h — `dp up` for another command that brings the datapath up first (the agent). */
#ifndef VPCBPF_CLI_DP_H
#define VPCBPF_CLI_DP_H

/* dp up's words after "dp up" (dev IFNAME, local IP, xdp MODE, ...): 0, or 1 after printing the error. */
int dp_up(int argc, char **argv);

#endif
