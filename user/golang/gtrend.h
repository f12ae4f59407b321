/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_GTREND_H
#define BW_GTREND_H

#include <stdint.h>

struct gview;

/*
 * Groups across reports: how fast each grows and whether its goroutines
 * stay. A group that keeps growing while its members never leave is a
 * leak suspect; a fixed pool (flat), or a burst that drains (it shrinks
 * again), is not.
 */
struct gtrend;

struct gtrend *gtrend__new(void);
void gtrend__free(struct gtrend *t);
/* Add the report at CLOCK_MONOTONIC @now and fill each group's trend
 * fields (growth_per_min, members_persist, leak_suspect, leak_why).
 * Groups not seen for a while are forgotten. */
void gtrend__update(struct gtrend *t, struct gview *v, uint64_t now);

/* How many reports a trend looks back over, and how many it needs
 * before it may call a group a leak suspect. */
#define GTREND_WINDOW 6
#define GTREND_MIN_REPORTS 4
#define GTREND_MIN_SPAN_NS 2500000000ULL /* 4 reports at -i 1s, whatever the jitter */

#endif
