/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_AGG_H
#define BW_AGG_H

#include <stdbool.h>
#include <stdint.h>
#include "model/detail.h"
#include "model/report.h"

struct bw_stack;

/* What one block record says, after unwinding and splitting. */
struct bw_sample {
	uint32_t pid;
	uint32_t tid;
	const char *comm;
	const char *pcomm;
	const char *reason;
	uint64_t blocked_ns; /* the part that belongs to this interval */
	uint64_t max_ns;
	uint64_t age_ns;     /* ongoing: how long so far */
	uint32_t count;
	bool ongoing;
	struct bw_stack *stack;	    /* the entry takes a reference of its own */
	struct bw_wait_info *wait;  /* NULL: none; a new entry takes its detail */
};

/* One interval's aggregation: entries keyed by (pid, tid, stack, reason,
 * object, ongoing). */
struct agg;

struct agg *agg__new(void);
void agg__free(struct agg *a);
/* Start a new interval, forgetting the previous one. */
void agg__reset(struct agg *a);
int agg__add(struct agg *a, struct bw_sample *s);
/* The goroutine view of Go process @pid for this report (not copied: it
 * must live until agg__reset); the process is in the report even with no
 * blocked thread. */
int agg__go(struct agg *a, uint32_t pid, const char *comm, const struct bw_go_view *v);
/* Fill @r's process list, sorted (still-blocked entries first, oldest
 * first; then most blocked), cut to @top (0: all); no entry counts more
 * than r->interval_ns. Links lock waiters to their holders' entries and
 * finds deadlocks. The report points into @a: valid until agg__reset. */
int agg__build(struct agg *a, struct bw_report *r, unsigned int top);

#endif
