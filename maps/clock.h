/* maps/clock.h — the clocks: nanoseconds of any clock, and the monotonic one in ms and s for timings, timeouts and progress. */
#ifndef VPCBPF_CLOCK_H
#define VPCBPF_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Below 2^53 ns (104 days of uptime) a double holds the nanoseconds exactly; beyond, to the 100 ns. */
static inline double clock_ms(void)
{
	return (double)clock_ns(CLOCK_MONOTONIC) / 1e6;
}

static inline double clock_s(void)
{
	return (double)clock_ns(CLOCK_MONOTONIC) / 1e9;
}

#endif
