/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_UNWMEMO_H
#define BW_UNWMEMO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "stacks/frame.h"
#include "stacks/unwind.h"

/*
 * Walks remembered: libdwfl's walk of a snapshot is a function of the
 * process's modules (its procmap generation), the registers and the
 * stack words it read. A thread that blocks again where it blocked
 * before, with the same registers and the same words at every address
 * the first walk read (return addresses, saved registers), walks the
 * same: its pcs come from here without entering libdw's CFI
 * interpreter. Any other word may differ (locals, buffers). Of a walk
 * by kept rules (cfiwalk.h), only the registers and words its pcs
 * depended on are compared: a saved register never used for a CFA or
 * a return address, or a syscall's argument registers, may differ too
 * (the other words read must still read, or fall out of the copy, as
 * before). Exact by construction; at most @max walks kept, the least
 * recently used leaving first.
 */
struct unwmemo;

struct unwmemo *unwmemo__new(size_t max);
void unwmemo__free(struct unwmemo *m);
/* The walk of @snap if one matches: its pc count (>= 0) with @pcs,
 * @err and @cut_short as the walk left them; -1 when none does. */
int unwmemo__find(struct unwmemo *m, uint32_t gen, const struct bw_snapshot *snap,
		  struct bw_pc *pcs, int max, int *err, bool *cut_short);
/* Whether a walk of @snap (its process, generation, first pc and stack
 * pointer) was offered before: the first time false (and it is noted), then true.
 * What is noted is a hash in a fixed table: a colliding one may make a
 * walk seen once look seen (it is then kept once), or be forgotten. */
bool unwmemo__admit(struct unwmemo *m, uint32_t gen, const struct bw_snapshot *snap);
/* Remember a walk of @snap that used the registers @regs_used (bit per
 * register; BW_ALL_REGS: every one) and read the stack words @reads
 * (those marked unused compared by kind only). -ENOMEM. */
int unwmemo__add(struct unwmemo *m, uint32_t gen, const struct bw_snapshot *snap,
		 uint32_t regs_used, const struct bw_memread *reads, int nreads,
		 const struct bw_pc *pcs, int n, int max, int err, bool cut_short);
/* @pid's walks go (it exited, or exec'd). */
void unwmemo__forget(struct unwmemo *m, pid_t pid);
size_t unwmemo__count(const struct unwmemo *m);

#endif
