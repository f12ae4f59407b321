// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The library tests/workloads/swap.c loads, built twice (SWAP_SIDE a
 * and b: libswap_a.so, libswap_b.so): the same code at the same offsets,
 * only the names differ. swap_lib_block() blocks 300 ms in
 * swaplib_block_a or swaplib_block_b.
 */
#include <time.h>

#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)
#define BLOCK CAT(swaplib_block_, SWAP_SIDE)

__attribute__((noinline)) void BLOCK(void)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = 300 * 1000000L };

	while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts))
		;
	__asm__ volatile("" ::: "memory"); /* not a tail call */
}

void *swap_lib_block(void)
{
	BLOCK();
	__asm__ volatile("" ::: "memory");
	return (void *)BLOCK;
}
