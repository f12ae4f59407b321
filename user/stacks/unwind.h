/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_UNWIND_H
#define BW_UNWIND_H

#include <elfutils/libdwfl.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "stacks/frame.h"

/* A captured user context: registers in DWARF order plus a copy of the
 * stack from stack_base. */
struct bw_snapshot {
	pid_t pid;
	pid_t tid;
	const uint64_t *regs; /* BW_NREGS, DWARF numbering */
	uint64_t stack_base;
	const uint8_t *stack;
	uint32_t stack_len;
};

/*
 * Unwinding never touches the live process: libdwfl's thread callbacks
 * serve the registers and stack memory from the snapshot the BPF side
 * copied. One unwinder per process Dwfl, which it is attached to.
 */
struct bw_unwinder {
	const struct bw_snapshot *cur; /* the snapshot being walked */
	bool cut_short;		       /* a read fell above the copy */
};

/* Attach @uw as @dwfl's thread state (once, after its modules are
 * reported). false with libdwfl's error when it cannot. */
bool bw_unwind_attach(Dwfl *dwfl, pid_t pid, struct bw_unwinder *uw);
/*
 * Walk @snap into return addresses, leaf first, at most @max. Returns
 * how many; *err is libdwfl's result: 0 when the walk ended at the
 * outermost frame (whose CFI marks the return address undefined:
 * _start, clone3), non-zero when frames were left out. uw->cut_short
 * says the copy of the stack was too short.
 */
int bw_unwind_walk(Dwfl *dwfl, struct bw_unwinder *uw, const struct bw_snapshot *snap,
		   struct bw_pc *pcs, int max, int *err);

#endif
