/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_CLOCK_H
#define BW_CLOCK_H

#include <stdint.h>
#include <time.h>

#define BW_NSEC_PER_SEC 1000000000ULL
#define BW_NSEC_PER_MSEC 1000000ULL

/* CLOCK_MONOTONIC is bpf_ktime_get_ns's clock: every block time is on it. */
static inline uint64_t bw_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * BW_NSEC_PER_SEC + ts.tv_nsec;
}

/* Wall-clock time, only for the time a report is stamped with. */
static inline uint64_t bw_real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * BW_NSEC_PER_SEC + ts.tv_nsec;
}

#endif
