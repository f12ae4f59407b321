/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_CLI_H
#define BW_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "cli/parse.h"
#include "report/sink.h"

#define BW_MAX_SINKS 8

struct bw_opts {
	pid_t *pids; /* NULL: system-wide */
	int npids;
	uint64_t threshold_ns;
	uint64_t interval_ns;
	uint64_t duration_ns; /* 0: until a signal */
	/* -f FORMAT[:FILE]...; -o FILE for the one without a FILE */
	struct bw_sink_spec sinks[BW_MAX_SINKS];
	int nsinks;
	unsigned int top;    /* 0: every process */
	unsigned int frames; /* frames per stack in text output */
	const char *btf_path;
	uint64_t ringbuf_size;
	bool force_raw_tp;
	bool syscall_exit; /* also hook sys_exit, for threads without rseq */
	bool now;	   /* one snapshot of the threads blocked now, then exit */
	bool top_view;	   /* `blockwatch top`: the live terminal view */
	bool kernel_stacks;
	uint64_t stack_size;	    /* user stack bytes copied above sp */
	const char *debuginfo_path; /* NULL: libdwfl's default */
	const char *debug_cache; /* inflated debug files (debugcache.h); NULL: none */
	bool no_lines; /* frames without source lines or inlined calls: no DWARF read */
	bool verbose;
	const char *metrics;	  /* --metrics [ADDR:]PORT; NULL: none */
	unsigned int metrics_top; /* 0: BW_METRICS_TOP */
	bool log_events;	  /* a log line per change (daemon/events.h) */
	const char *config;	  /* --config FILE: what SIGHUP reads again */
	bool no_progress; /* no status line on a terminal's stderr */
	char *strings[BW_MAX_SINKS]; /* what the sink specs point into */
};

/* 0: run; 1: --help/--version printed, exit 0; -EINVAL: usage error,
 * already reported on stderr. */
int bw_cli_parse(int argc, char **argv, struct bw_opts *o);
void bw_opts_free(struct bw_opts *o);

#endif
