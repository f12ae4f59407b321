/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_STACKTAB_H
#define BW_STACKTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <uthash.h>
#include "stacks/frame.h"

/*
 * A deduplicated, symbolized user (+ kernel) stack of one process.
 * Stacks outlive a report: the table keeps each one while its process
 * lives and it keeps being seen, so a known stack is never symbolized
 * twice, and whoever needs one longer (a report entry, a whole-run
 * sink) holds a reference of its own.
 */
struct bw_stack {
	uint32_t refs;
	uint64_t id;		 /* of its pid and pcs: the same stack named anew has the same */
	uint32_t pid;
	uint32_t nframes;
	bool truncated;
	struct bw_frame *frames; /* leaf first */
	/* the table's: */
	UT_hash_handle hh;
	uint64_t seen;	/* the table's generation when last found */
	size_t keylen;
	uint64_t *key;	/* truncated, then the pcs */
};

/* Resolve @pc into up to @max frames (inlined calls first); returns the
 * count (>= 1) or a negative errno. */
typedef int (*bw_resolve_fn)(void *ctx, pid_t pid, const struct bw_pc *pc, struct bw_frame *out,
			     int max);

struct stacktab;

struct stacktab *stacktab__new(bw_resolve_fn resolve, void *ctx);
/* Stacks still referenced elsewhere live on until their last put. */
void stacktab__free(struct stacktab *t);
/* The stack of @pid with these pcs: found, or symbolized now (NULL:
 * out of memory). Returns a reference of the caller's (bw_stack_put). */
struct bw_stack *stacktab__get(struct stacktab *t, uint32_t pid, const struct bw_pc *pcs, int n,
			       bool truncated);
/* Its addresses mean something else now (exec) or nothing (exit). */
void stacktab__forget(struct stacktab *t, uint32_t pid);
/* @pid's mappings as of generation @gen: stacks symbolized with another
 * generation's (a pc outside them made the symbolizer reread them: dlopen,
 * new JIT code) are forgotten, to be named again. */
void stacktab__epoch(struct stacktab *t, uint32_t pid, uint32_t gen);
/* Once per report: stacks not found in the last STACKTAB_TTL reports,
 * and those of processes @alive says are gone (NULL: ask nobody), leave
 * the table (and are freed unless held). */
void stacktab__sweep(struct stacktab *t, bool (*alive)(pid_t pid));
size_t stacktab__count(const struct stacktab *t);

#define STACKTAB_TTL 6

struct bw_stack *bw_stack_get(struct bw_stack *st);
/* Accepts NULL. */
void bw_stack_put(struct bw_stack *st);

#endif
