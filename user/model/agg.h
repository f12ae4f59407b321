/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_AGG_H
#define BW_AGG_H

#include <stdbool.h>
#include <stdint.h>
#include <uthash.h>
#include "model/detail.h"
#include "model/reason.h"
#include "stacks/syms.h"

/* One deduplicated, symbolized user stack of one process. */
struct bw_stack {
	UT_hash_handle hh;
	uint32_t nframes;
	bool truncated;
	struct bw_frame *frames; /* leaf first */
	size_t keylen;
	unsigned char key[]; /* pid, truncated, pcs */
};

struct bw_entry_key {
	uint32_t pid;
	uint32_t tid;
	const struct bw_stack *stack;
	uint32_t ongoing; /* still blocked at the report */
	uint64_t object;  /* futex address, fd...: see bw_detail */
	char reason[BW_REASON_LEN];
};

/* One (thread, stack, reason) of one interval. */
struct bw_entry {
	UT_hash_handle hh;
	struct bw_entry_key key;
	char comm[16];
	uint64_t blocked_ns;
	uint64_t count;
	uint64_t max_ns;
	uint64_t age_ns; /* ongoing: blocked for this long so far */
	json_object *detail;
	char detail_text[256];
	uint32_t owner;		  /* lock holder's tid, 0 if none */
	char owner_comm[16];
	const struct bw_entry *owner_entry; /* the holder's own ongoing block */
};

struct bw_proc {
	UT_hash_handle hh;
	uint32_t pid;
	char comm[16];
	uint64_t blocked_ns;
	size_t nthreads;
	size_t cap;
	struct bw_entry **threads; /* sorted by blocked_ns, most first */
};

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
	const struct bw_stack *stack; /* from agg__stack */
	const struct bw_detail *detail;
};

enum bw_drop {
	BW_DROP_RINGBUF,  /* blocks lost: ring buffer full */
	BW_DROP_STORAGE,  /* blocks lost: no per-thread storage */
	BW_DROP_STACK,	  /* blocks kept without a user stack */
	BW_DROP_USER,	  /* records lost in userspace (out of memory) */
	BW_DROP_MISSED,	  /* BPF program runs the kernel skipped (recursion) */
	BW_DROP_MAX,
};

extern const char *const bw_drop_names[BW_DROP_MAX];

struct bw_report {
	uint64_t time_ns; /* CLOCK_REALTIME at the end of the interval */
	uint64_t interval_ns;
	uint64_t threshold_ns;
	uint64_t dropped[BW_DROP_MAX];
	uint64_t slow_count;  /* blocks at or above it, as the kernel counted */
	uint64_t short_count; /* blocks below the threshold */
	uint64_t short_ns;
	size_t total_procs; /* before --top */
	size_t nprocs;
	struct bw_proc **procs; /* most blocked first */
	size_t ndeadlocks;
	struct bw_cycle *deadlocks;
};

/* A cycle in the waits-for-a-lock-held-by graph. */
struct bw_cycle {
	size_t n;
	const struct bw_entry **entries; /* each waits for the next's lock */
};

/* Resolve @pc into up to @max frames (inlined calls first); returns the
 * count (>= 1) or a negative errno. */
typedef int (*bw_resolve_fn)(void *ctx, pid_t pid, const struct bw_pc *pc, struct bw_frame *out,
			     int max);

struct agg;

struct agg *agg__new(bw_resolve_fn resolve, void *ctx);
void agg__free(struct agg *a);
/* Start a new interval, forgetting the previous one. */
void agg__reset(struct agg *a);
/* The symbolized stack of @pid with these pcs, resolved the first time
 * it is seen in this interval. */
const struct bw_stack *agg__stack(struct agg *a, uint32_t pid, const struct bw_pc *pcs, int n,
				  bool truncated);
int agg__add(struct agg *a, const struct bw_sample *s);
/* Fill @r's process list, sorted (still-blocked entries first, oldest
 * first; then most blocked), cut to @top (0: all); no entry counts more
 * than r->interval_ns. Links lock waiters to their holders' entries and
 * finds deadlocks. The report points into @a: valid until the next
 * agg__reset. */
int agg__report(struct agg *a, struct bw_report *r, unsigned int top);

#endif
