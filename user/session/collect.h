/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_COLLECT_H
#define BW_COLLECT_H

#include <stdbool.h>
#include <stdint.h>
#include "base/loop.h"
#include "model/report.h"

struct bw_loader;
struct bw_opts;
struct ingest;

/*
 * A report is collect -> build -> emit -> reset. Collectors are the
 * first step: each brings in one source (the ring buffer, the
 * still-blocked scan, the kernel side's counters; later the Go reader)
 * for the report being made, in the order of the mode's list.
 */
struct bw_collect {
	struct ingest *in;
	struct bw_report *report;
	uint64_t now; /* the report's time: see bw_collect_now */
	/* the report epoch that ended (struct bw_epoch_counts), once the
	 * ring buffer collector has ended it */
	bool has_epoch;
	uint32_t epoch;
};

/* The report's CLOCK_MONOTONIC time (and its wall-clock stamp), taken
 * the first time a collector asks: after what came before it (the ring
 * buffer) is in. */
uint64_t bw_collect_now(struct bw_collect *x);

struct bw_collector {
	const char *what; /* "scan blocked threads": for "cannot %s: %s" */
	/* 0, or a negative errno: the report fails if the collector is
	 * required, else it goes out without this source (logged). */
	int (*collect)(struct bw_collector *c, struct bw_collect *x);
	void (*free)(struct bw_collector *c);
	bool required;
	/* for --now: an enum bw_exit code the snapshot must end with (what
	 * it could not read of a target, said on stderr), 0 if none */
	int exit_code;
};

/* Finished blocks from the ring buffer. While tracing, its handler
 * (added to @loop) takes records in as they come; at a report it is
 * drained. */
struct bw_collector *bw_ringbuf_collector(struct bw_loader *l, struct ingest *in,
					  struct bw_loop *loop);
/* blockwatch's own resident set, CPU and kept state (report->self). */
struct bw_collector *bw_self_collector(void);
/* The threads blocked past the threshold right now (task iterator). */
struct bw_collector *bw_scan_collector(struct bw_loader *l);
/* Drops, short blocks and the slow-block count, as deltas since the
 * last report. */
struct bw_collector *bw_counter_collector(struct bw_loader *l);

/* Since tracing began, read now: blocks past the threshold and shorter
 * ones, and every drop (the status line's numbers). */
struct bw_run_totals {
	uint64_t slow;
	uint64_t shorter;
	uint64_t dropped;
};
/* @c: the counter collector. 0 or -errno. */
int bw_counter_totals(struct bw_collector *c, const struct ingest *in, struct bw_run_totals *t);
/* The goroutines of every Go process among o->pids (none: every
 * process on the machine but blockwatch; read at each report, so a
 * reload's new list counts), read from their memory; @trend: follow
 * groups across reports (interval mode). */
struct bw_collector *bw_go_collector(struct ingest *in, const struct bw_opts *o, bool trend);

#endif
