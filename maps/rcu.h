/* maps/rcu.h — waiting for an RCU grace period from user space, after which no BPF program holds what it read before. */
#ifndef VPCBPF_RCU_H
#define VPCBPF_RCU_H

/* 0, or a negative errno; without map-in-map support it sleeps long enough for any program to finish. */
int rcu_wait(void);

#endif
