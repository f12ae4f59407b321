/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_MODEL_PROFILE_H
#define BW_MODEL_PROFILE_H

/*
 * The whole-run profile: every report's entries added up by (process,
 * thread, stack, reason), for the formats that describe a run rather
 * than an interval (folded, pprof, svg). Memory grows with distinct
 * stacks and threads, not with blocks: past BW_PROFILE_MAX samples, new
 * ones are added to one sample per process and reason without a stack
 * (counted in `overflow`), so the totals stay right.
 *
 * A block still open at a report is kept apart (open_ns) until it ends:
 * it is "ongoing" in the output only if it was still open at the last
 * report added. Every report adds the part of each entry inside its
 * interval, so a block seen open in three reports and closed in the
 * fourth counts its whole length once.
 *
 * The goroutine view of each Go process is kept as of the last report
 * that had one: a goroutine profile is a snapshot, like the runtime's.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uthash.h>
#include "model/report.h"

#define BW_PROFILE_MAX 65536

struct bw_prof_key {
	struct bw_stack *stack; /* NULL: the overflow sample (held: a reference) */
	uint32_t pid;
	uint32_t tid;
	char comm[BW_COMM_MAX];	 /* the thread's */
	char reason[BW_REASON_LEN];
};

struct bw_prof_sample {
	struct bw_prof_key k;
	char pcomm[BW_COMM_MAX]; /* the process's */
	uint64_t ns;		 /* blocks that ended */
	uint64_t count;
	uint64_t open_ns;	 /* the block open at report open_gen, so far */
	uint64_t open_gen;
	UT_hash_handle hh;
};

/* A goroutine group of the last view, copied (the view's strings live
 * only until the next report). */
struct bw_prof_gframe {
	char *func; /* NULL: not Go code */
	char *file;
	uint32_t line;
	uint64_t addr;
	bool inlined;
};

struct bw_prof_ggroup {
	uint32_t count;
	char *state;
	char *wait_reason; /* NULL: none */
	uint32_t nframes;
	struct bw_prof_gframe *frames; /* leaf first */
};

struct bw_prof_go {
	uint32_t pid;
	char comm[BW_COMM_MAX];
	uint32_t ngroups;
	struct bw_prof_ggroup *groups;
	UT_hash_handle hh;
};

struct bw_profile {
	uint64_t reports;
	uint64_t start_ns;    /* CLOCK_REALTIME: the first report's interval start */
	uint64_t end_ns;      /* the last report's time */
	uint64_t overflow;    /* entries added to a process's stackless sample */
	struct bw_prof_sample *samples;
	size_t nsamples;
	struct bw_prof_go *gos;
};

struct bw_profile *profile__new(void);
/* Accepts NULL; puts every stack it holds. */
void profile__free(struct bw_profile *p);
/* Add one report's entries and goroutine views. 0 or -ENOMEM (what was
 * added before stays). */
int profile__add(struct bw_profile *p, const struct bw_report *r);

/* One sample of the output: @ongoing when its block was still open at
 * the last report. A sample with both parts is called twice. */
typedef int (*bw_prof_fn)(void *ctx, const struct bw_prof_sample *s, bool ongoing, uint64_t ns,
			  uint64_t count);
/* Every sample, in a stable order (pid, tid, stack id, reason); stops
 * at the first non-zero return and returns it. */
int profile__each(const struct bw_profile *p, bw_prof_fn fn, void *ctx);

#endif
