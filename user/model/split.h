/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_SPLIT_H
#define BW_SPLIT_H

#include <stdint.h>

/*
 * Splitting blocks at report boundaries. A block still in progress at a
 * report is counted up to that report (as ongoing); when it ends, only
 * the rest counts. Blocks are named by (tid, start time), which the
 * completed record and the iterator share.
 */
struct split;

struct split *split__new(void);
void split__free(struct split *sp);
/* Part of ongoing block (tid, start) to count in the interval that
 * started at @interval_start and is reported at @now. */
uint64_t split__ongoing(struct split *sp, uint32_t tid, uint64_t start, uint64_t now,
			uint64_t interval_start);
/* Part of a finished block to count now: the time after what earlier
 * reports already counted as ongoing (all of @total if nothing was). */
uint64_t split__completed(struct split *sp, uint32_t tid, uint64_t first_start,
			  uint64_t last_end, uint64_t total);
/* Forget blocks not seen ongoing since @before (they ended and their
 * record was lost, or their thread died). */
void split__expire(struct split *sp, uint64_t before);
unsigned int split__count(const struct split *sp);

#endif
