/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_MODEL_GO_H
#define BW_MODEL_GO_H

/*
 * The goroutine view of one Go process, a section of its part of a
 * report: built by user/golang/ from a snapshot of the runtime's own
 * goroutine table, rendered by the sinks. Strings belong to the Go
 * binary's tables and live at least until the next report.
 */
#include <stdbool.h>
#include <stdint.h>

struct bw_go_frame {
	const char *func;  /* as the runtime prints it; NULL: not Go code */
	const char *file;
	uint32_t line;
	uint64_t addr;	   /* the process's own address */
	bool inlined;
	bool runtime;	   /* a runtime frame: folded away in text */
};

/* A channel goroutines wait on. */
struct bw_go_channel {
	uint64_t addr;
	const char *elem_type; /* NULL: unknown */
	uint64_t cap;	       /* dataqsiz: 0 unbuffered */
	uint64_t len;	       /* qcount */
	bool closed;
	uint32_t send_waiting; /* goroutines of the snapshot waiting to send on it */
	uint32_t recv_waiting;
};

#define BW_GO_GOIDS 5

/* Goroutines alike: the same state, wait reason and stack. */
struct bw_go_group {
	uint32_t count;
	const char *state;	 /* "waiting", "runnable", "syscall"... */
	const char *wait_reason; /* the runtime's words ("chan send"); NULL: none */
	uint32_t nframes;
	struct bw_go_frame *frames; /* leaf first, every frame */
	bool truncated;
	int32_t blocking_site;	 /* index of the first frame not the runtime's; -1 */
	struct bw_go_frame created_by; /* func NULL: unknown */
	bool age_known;		 /* some member's age is known */
	uint64_t oldest_ns;
	uint64_t youngest_ns;
	uint32_t ngoids;
	uint64_t goids[BW_GO_GOIDS]; /* the oldest (lowest) ones */
	const struct bw_go_channel *channel; /* the one most wait on; NULL: none */
	uint32_t nchannels;	 /* distinct channels its members wait on */
	/* interval mode, over the recent reports */
	bool has_trend;
	double growth_per_min;
	uint32_t trend_reports;	 /* reports the trend is over */
	bool members_persist;
	bool leak_suspect;
	char leak_why[160];
};

struct bw_go_count {
	const char *name;
	uint32_t count;
};

struct bw_go_view {
	const char *version;	   /* "go1.19.8" */
	uint32_t goroutines;	   /* as runtime.NumGoroutine and pprof count them */
	uint32_t system_goroutines; /* the runtime's own, left out of groups */
	uint64_t max_goroutines;   /* allglen: the high-water mark of every G */
	uint32_t nstates;
	struct bw_go_count *by_state;
	uint32_t nreasons;
	struct bw_go_count *by_reason;
	uint32_t ngroups;
	struct bw_go_group *groups; /* most first */
	/* what could not be read, counted, never shown as data */
	uint32_t torn;
	uint32_t unreadable;
	uint32_t unwind_failed;
	uint64_t read_ns;	   /* how long the snapshot took */
	/* a layout blockwatch cannot read: the reason, and nothing else */
	const char *warning;
};

#endif
