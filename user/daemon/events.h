/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_EVENTS_H
#define BW_EVENTS_H

/*
 * What changed between two reports, for the log lines people alert on:
 * a thread seen still blocked (past the threshold) for the first time,
 * and once when it is no longer; a deadlock that appears and one that is
 * gone; a Go group that becomes a leak suspect, and stops being one.
 * One event each, not one per report. A block that starts and ends
 * between two reports is in the counters (and the reports), not here.
 */
#include <stdbool.h>
#include <stdint.h>
#include "model/report.h"

enum bw_event_kind {
	BW_EV_BLOCKED,	     /* still blocked at a report, not at the one before */
	BW_EV_WOKE,	     /* no longer blocked (or gone) */
	BW_EV_DEADLOCK,
	BW_EV_DEADLOCK_GONE,
	BW_EV_LEAK,	     /* a Go group is a leak suspect */
	BW_EV_LEAK_GONE,
};

#define BW_EV_TIDS 8
#define BW_EV_SITE 160

struct bw_change {
	enum bw_event_kind kind;
	uint32_t pid;
	uint32_t tid;		 /* BLOCKED, WOKE */
	char comm[BW_COMM_MAX];	 /* the process's */
	char thread[BW_COMM_MAX];
	char reason[BW_REASON_LEN];
	/* BLOCKED: its age so far; WOKE: how long it was blocked (at least
	 * this: its age when last seen, or its finished block's length);
	 * DEADLOCK_GONE, LEAK_GONE: how long it lasted */
	uint64_t age_ns;
	bool exact;		 /* WOKE: age_ns is the finished block's */
	/* BLOCKED: the entry (stack, wait, owner); WOKE, when exact: the
	 * finished block's */
	const struct bw_entry *entry;
	uint32_t ntids;		 /* DEADLOCK*: the threads of the cycle */
	uint32_t tids[BW_EV_TIDS];
	char site[BW_EV_SITE];	 /* LEAK*: the blocking site */
	uint32_t count;		 /* LEAK: goroutines in the group */
	double growth_per_min;
};

typedef void (*bw_change_fn)(void *ctx, const struct bw_change *ev);

struct bw_events;

struct bw_events *bw_events__new(void);
void bw_events__free(struct bw_events *ev);
/* @r against the report before: @fn for each change, in order (woken
 * first, then blocked; deadlocks; leaks). 0 or -ENOMEM (then some
 * changes are said late or not at all, and the next report sees them). */
int bw_events__report(struct bw_events *ev, const struct bw_report *r, bw_change_fn fn,
		      void *ctx);

#endif
