/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_UNWIND_H
#define BW_UNWIND_H

#include <elfutils/libdwfl.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "base/bpf_abi.h"
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

/* One stack word a walk read: its address and what the read gave. */
struct bw_memread {
	uint64_t addr;
	uint64_t value;
	uint8_t kind; /* BW_READ_* */
	/* the walk's pcs do not depend on the value, only on the kind
	 * (cfiwalk's origins; libdwfl's walks leave it false) */
	bool unused;
	int16_t parent; /* cfiwalk: where the address's base came from */
};

enum {
	BW_READ_OK,	/* in the copy: value */
	BW_READ_ABOVE,	/* above the copy: the stack was cut short */
	BW_READ_BELOW,	/* below it (or no snapshot): a garbage pointer */
};

#define BW_UNWIND_MAX_READS 512
#define BW_ALL_REGS ((1u << BW_NREGS) - 1)

/* What cb_memory_read gives for @addr of @snap (value when OK). */
int bw_snapshot_read(const struct bw_snapshot *snap, uint64_t addr, uint64_t *value);

/*
 * Unwinding never touches the live process: libdwfl's thread callbacks
 * serve the registers and stack memory from the snapshot the BPF side
 * copied. One unwinder per process Dwfl, which it is attached to.
 */
struct bw_unwinder {
	const struct bw_snapshot *cur; /* the snapshot being walked */
	bool cut_short;		       /* a read fell above the copy */
	/* NULL, or where every word the walk reads is written, when it
	 * reads at most BW_UNWIND_MAX_READS (nreads is then past it) */
	struct bw_memread *reads;
	int nreads;
	/* the registers of the snapshot the walk's pcs depend on (bit per
	 * register; all of them for libdwfl's walks) */
	uint32_t regs_used;
	/* each pc's unwinding rules, asked of libdw once (cfiwalk.h) */
	struct cfirules *rules;
	bool dwfl_only; /* every walk by libdwfl itself (tests) */
};

/* Attach @uw as @dwfl's thread state (once, after its modules are
 * reported). false with libdwfl's error when it cannot. */
bool bw_unwind_attach(Dwfl *dwfl, pid_t pid, struct bw_unwinder *uw);
/* Free what @uw keeps (before its Dwfl ends). */
void bw_unwind_detach(struct bw_unwinder *uw);
/* A stack word, as libdwfl's memory_read callback gives it: from the
 * snapshot only, noted in uw->reads. */
bool bw_unwind_read(struct bw_unwinder *uw, uint64_t addr, uint64_t *value);
/*
 * Walk @snap into return addresses, leaf first, at most @max. Returns
 * how many; *err is libdwfl's result: 0 when the walk ended at the
 * outermost frame (whose CFI marks the return address undefined:
 * _start, clone3), non-zero when frames were left out. uw->cut_short
 * says the copy of the stack was too short. The pcs' rules are kept
 * (cfiwalk.h): the walk is libdwfl's, faster.
 */
int bw_unwind_walk(Dwfl *dwfl, struct bw_unwinder *uw, const struct bw_snapshot *snap,
		   struct bw_pc *pcs, int max, int *err);

#endif
