/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_SESSION_H
#define BW_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "base/loop.h"
#include "model/report.h"
#include "report/sink.h"

struct bw_collector;
struct bw_loader;
struct bw_opts;
struct bw_target;
struct ingest;
struct serve;
struct session_top;

/* Run what the options ask for: trace until the end (reports every
 * interval and once more at the end), or one --now snapshot. Returns an
 * enum bw_exit code; every failure was reported on stderr. */
int bw_session_run(const struct bw_opts *o);

/* --- inside user/session/ ------------------------------------------- */

#define BW_MAX_COLLECTORS 5

/* One run: its targets, the BPF side, the pipeline, the sinks. */
struct session {
	const struct bw_opts *o; /* &opts */
	struct bw_opts opts;	 /* the run's options: a reload changes some */
	struct bw_target *targets;
	int ntargets;
	pid_t *pids; /* a reload's -p list (opts.pids then points here) */
	pid_t *asked; /* -p as the options said it (a thread id for its process) */
	int nasked;
	/* the targets a reload replaced: the tracer stops watching them,
	 * then closes them (session_retire_targets) */
	struct bw_target *old_targets;
	int old_ntargets;
	struct bw_loader *loader;
	struct ingest *in;
	struct bw_sink_cfg sink_cfg; /* the sinks point at it */
	struct bw_sinks *sinks;
	struct serve *serve; /* --metrics */
	struct bw_loop *loop; /* tracing only */
	struct bw_collector *collectors[BW_MAX_COLLECTORS];
	int ncollectors;
	struct bw_collector *counters; /* one of them: the drops and block counts */
	enum bw_report_kind kind;
	uint64_t start; /* when tracing began (CLOCK_MONOTONIC) */
	const char *warnings[4];
	int nwarnings;
	struct session_top *top; /* `blockwatch top`: the view, instead of sinks */
};

/* Collect, build, emit, reset: one report. 0 or a negative errno (the
 * run cannot go on; reported). */
int session_report(struct session *s);
/* SIGHUP with --config FILE: the file's BLOCKWATCH_OPTS read again; the
 * threshold, interval, -p (one list for another), --top, --frames and
 * --metrics-top applied, the rest said to need a restart; an invalid
 * file said, and nothing changed. Returns what changed that the tracer
 * must act on: BW_RELOAD_* bits. */
#define BW_RELOAD_INTERVAL 1u
#define BW_RELOAD_TARGETS 2u /* s->targets are new, s->old_targets the last */
unsigned session_reload(struct session *s);
/* Close and free s->old_targets (after the tracer unwatched them). */
void session_retire_targets(struct session *s);
/* Trace until the duration ends, a signal arrives or every target has
 * exited, then make the final report. An enum bw_exit code. */
int session_trace(struct session *s);
/* `blockwatch top` (session/top.c): start the view and watch its fds in
 * s->loop (an enum bw_exit code); hand it a report; end it, the terminal
 * as it was (accepts a session without one). */
int session_top_open(struct session *s);
void session_top_emit(struct session *s, const struct bw_report *r);
void session_top_close(struct session *s);

#endif
