/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_MODEL_REPORT_H
#define BW_MODEL_REPORT_H

/*
 * The report model: what a report says, as typed data, built once per
 * interval (agg__build) and read by every sink. Nothing here is
 * rendered; formatting happens only in user/report/.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "model/detail.h"
#include "model/reason.h"
#include "proc/procfs.h"

struct bw_stack;
struct bw_go_view;

enum bw_drop {
	BW_DROP_RINGBUF,  /* blocks lost: ring buffer full */
	BW_DROP_STORAGE,  /* blocks lost: no per-thread storage */
	BW_DROP_STACK,	  /* blocks kept without a user stack */
	BW_DROP_USER,	  /* records lost in userspace (out of memory) */
	BW_DROP_MISSED,	  /* BPF program runs the kernel skipped (recursion) */
	BW_DROP_MAX,
};

extern const char *const bw_drop_names[BW_DROP_MAX];

/* One (thread, stack, reason, object) of one report. */
struct bw_entry {
	uint32_t pid;
	uint32_t tid;
	char comm[BW_COMM_MAX];
	char reason[BW_REASON_LEN];
	bool ongoing;		 /* still blocked at the report */
	uint64_t object;	 /* what it waits on: futex address, fd... */
	struct bw_stack *stack;
	/* What the entry says: a still-blocked entry's blocked and max are
	 * its age so far (the number an incident is about), a finished
	 * one's the blocks inside this interval. */
	uint64_t blocked_ns;
	uint64_t max_ns;
	uint64_t age_ns;	  /* ongoing: blocked for this long so far */
	uint64_t count;
	/* The part inside this interval, what process totals add up; never
	 * more than the interval. */
	uint64_t interval_ns;
	uint64_t interval_max_ns;
	/* Finished: the longest of its blocks whole, the part before this
	 * interval too (what a wake-up line says it lasted). */
	uint64_t whole_max_ns;
	struct bw_detail detail;
	uint32_t owner;		  /* lock holder's tid, 0 if none */
	char owner_comm[BW_COMM_MAX];
	const struct bw_entry *owner_entry; /* the holder's own ongoing block */
	/* a Go process's idle runtime threads (Ms parked in the scheduler or
	 * the netpoller) are one entry: the others' tids */
	uint32_t nsame;
	uint32_t *same_tids;
};

/* One process's part of a report: its blocked threads, and for a Go
 * process its goroutines. */
struct bw_proc_report {
	uint32_t pid;
	char comm[BW_COMM_MAX];
	uint64_t blocked_ns; /* sum of its entries' interval_ns */
	size_t nthreads;
	struct bw_entry **threads; /* still blocked first, oldest first; then most blocked */
	const struct bw_go_view *go; /* NULL: not a Go process */
};

/* A cycle in the waits-for-a-lock-held-by graph. */
struct bw_cycle {
	size_t n;
	const struct bw_entry **entries; /* each waits for the next's lock */
};

enum bw_report_kind {
	BW_REPORT_INTERVAL, /* what happened since the previous report */
	BW_REPORT_SNAPSHOT, /* --now: what is blocked right now */
};

/* blockwatch's own cost and the state it keeps between reports, as the
 * report is collected (before the sweep that follows it) */
struct bw_self {
	uint64_t rss_bytes; /* resident set */
	uint64_t cpu_ns;    /* user + system CPU since it started */
	size_t procs;	    /* processes it keeps state of */
	size_t mapped;	    /* of those, with their mappings read */
	size_t files;	    /* shared file symbolizers */
	size_t stacks;	    /* symbolized stacks kept */
};

struct bw_report {
	enum bw_report_kind kind;
	uint64_t time_ns;     /* CLOCK_REALTIME at the end of the interval */
	uint64_t interval_ns; /* 0 for a snapshot */
	uint64_t threshold_ns;
	/* the kernel side's counters for the interval */
	uint64_t dropped[BW_DROP_MAX];
	uint64_t slow_count;  /* blocks at or above the threshold */
	uint64_t short_count; /* blocks below it */
	uint64_t short_ns;
	/* blocks whose switch-in never reached the tracepoint, closed late
	 * (when the thread was next seen): counted like the others, and here */
	uint64_t late_count;
	/* processes, most blocked first, cut to --top */
	size_t blocked_procs; /* with a thread blocked past the threshold */
	size_t total_procs;
	size_t nprocs;
	struct bw_proc_report **procs;
	/* report-level sections */
	size_t ndeadlocks;
	struct bw_cycle *deadlocks;
	/* what this run cannot see, in words (missing capabilities) */
	size_t nwarnings;
	const char *const *warnings;
	struct bw_self self;
};

uint64_t bw_report_dropped(const struct bw_report *r);

#endif
