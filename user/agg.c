// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Per-interval aggregation: entries keyed by (pid, tid, stack, reason),
 * stacks deduplicated per process and symbolized once when first seen,
 * while the process is most likely still alive. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "agg.h"

const char *const bw_drop_names[BW_DROP_MAX] = {
	[BW_DROP_RINGBUF] = "ringbuf",
	[BW_DROP_STORAGE] = "task_storage",
	[BW_DROP_STACK] = "no_stack",
	[BW_DROP_USER] = "userspace",
};

struct agg {
	bw_resolve_fn resolve;
	void *ctx;
	struct bw_stack *stacks;
	struct bw_entry *entries;
	struct bw_proc *procs;
	struct bw_proc **sorted;
};

struct agg *agg__new(bw_resolve_fn resolve, void *ctx)
{
	struct agg *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->resolve = resolve;
	a->ctx = ctx;
	return a;
}

static void stack_free(struct bw_stack *st)
{
	uint32_t i;

	for (i = 0; i < st->nframes; i++)
		bw_frame_clear(&st->frames[i]);
	free(st->frames);
	free(st);
}

void agg__reset(struct agg *a)
{
	struct bw_stack *st, *st_tmp;
	struct bw_entry *e, *e_tmp;
	struct bw_proc *p, *p_tmp;

	HASH_ITER(hh, a->entries, e, e_tmp) {
		HASH_DEL(a->entries, e);
		free(e);
	}
	HASH_ITER(hh, a->stacks, st, st_tmp) {
		HASH_DEL(a->stacks, st);
		stack_free(st);
	}
	HASH_ITER(hh, a->procs, p, p_tmp) {
		HASH_DEL(a->procs, p);
		free(p->threads);
		free(p);
	}
	free(a->sorted);
	a->sorted = NULL;
}

void agg__free(struct agg *a)
{
	if (!a)
		return;
	agg__reset(a);
	free(a);
}

static struct bw_stack *stack_get(struct agg *a, const struct bw_sample *s)
{
	size_t keylen = sizeof(uint32_t) * 2 + sizeof(uint64_t) * s->npcs;
	struct bw_stack *st;
	unsigned char *k;
	uint32_t flags;
	int i;

	st = calloc(1, sizeof(*st) + keylen);
	if (!st)
		return NULL;
	k = st->key;
	flags = s->truncated;
	memcpy(k, &s->pid, sizeof(uint32_t));
	memcpy(k + 4, &flags, sizeof(uint32_t));
	for (i = 0; i < s->npcs; i++)
		memcpy(k + 8 + 8 * i, &s->pcs[i].pc, sizeof(uint64_t));
	st->keylen = keylen;

	{
		struct bw_stack *found;

		HASH_FIND(hh, a->stacks, st->key, keylen, found);
		if (found) {
			free(st);
			return found;
		}
	}
	st->frames = calloc(s->npcs ? s->npcs : 1, sizeof(*st->frames));
	if (!st->frames) {
		free(st);
		return NULL;
	}
	st->nframes = s->npcs;
	st->truncated = s->truncated;
	for (i = 0; i < s->npcs; i++) {
		if (a->resolve(a->ctx, s->pid, &s->pcs[i], &st->frames[i])) {
			stack_free(st);
			return NULL;
		}
	}
	HASH_ADD_KEYPTR(hh, a->stacks, st->key, st->keylen, st);
	return st;
}

static struct bw_proc *proc_get(struct agg *a, const struct bw_sample *s)
{
	struct bw_proc *p;

	HASH_FIND(hh, a->procs, &s->pid, sizeof(s->pid), p);
	if (p)
		return p;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->pid = s->pid;
	snprintf(p->comm, sizeof(p->comm), "%s", s->pcomm ? s->pcomm : "");
	HASH_ADD(hh, a->procs, pid, sizeof(p->pid), p);
	return p;
}

int agg__add(struct agg *a, const struct bw_sample *s)
{
	uint64_t max = s->max_ns < s->blocked_ns ? s->max_ns : s->blocked_ns;
	struct bw_entry_key key;
	struct bw_entry *e;
	struct bw_proc *p;

	memset(&key, 0, sizeof(key));
	key.pid = s->pid;
	key.tid = s->tid;
	key.ongoing = s->ongoing;
	snprintf(key.reason, sizeof(key.reason), "%s", s->reason);
	key.stack = stack_get(a, s);
	if (!key.stack)
		return -ENOMEM;
	p = proc_get(a, s);
	if (!p)
		return -ENOMEM;

	HASH_FIND(hh, a->entries, &key, sizeof(key), e);
	if (!e) {
		struct bw_entry **t;

		e = calloc(1, sizeof(*e));
		if (!e)
			return -ENOMEM;
		if (p->nthreads == p->cap) {
			size_t cap = p->cap ? p->cap * 2 : 8;

			t = realloc(p->threads, cap * sizeof(*t));
			if (!t) {
				free(e);
				return -ENOMEM;
			}
			p->threads = t;
			p->cap = cap;
		}
		e->key = key;
		snprintf(e->comm, sizeof(e->comm), "%s", s->comm ? s->comm : "");
		HASH_ADD(hh, a->entries, key, sizeof(key), e);
		p->threads[p->nthreads++] = e;
	}
	e->blocked_ns += s->blocked_ns;
	e->count += s->count;
	if (max > e->max_ns)
		e->max_ns = max;
	if (s->age_ns > e->age_ns)
		e->age_ns = s->age_ns;
	p->blocked_ns += s->blocked_ns;
	return 0;
}

static int cmp_entry(const void *x, const void *y)
{
	const struct bw_entry *a = *(struct bw_entry *const *)x;
	const struct bw_entry *b = *(struct bw_entry *const *)y;

	if (a->key.ongoing != b->key.ongoing)
		return a->key.ongoing ? -1 : 1;
	if (a->age_ns != b->age_ns)
		return a->age_ns > b->age_ns ? -1 : 1;
	if (a->blocked_ns != b->blocked_ns)
		return a->blocked_ns > b->blocked_ns ? -1 : 1;
	if (a->key.tid != b->key.tid)
		return a->key.tid < b->key.tid ? -1 : 1;
	return strcmp(a->key.reason, b->key.reason);
}

static int cmp_proc(const void *x, const void *y)
{
	const struct bw_proc *a = *(struct bw_proc *const *)x;
	const struct bw_proc *b = *(struct bw_proc *const *)y;

	if (a->blocked_ns != b->blocked_ns)
		return a->blocked_ns > b->blocked_ns ? -1 : 1;
	return a->pid < b->pid ? -1 : a->pid > b->pid;
}

int agg__report(struct agg *a, struct bw_report *r, unsigned int top)
{
	size_t n = HASH_COUNT(a->procs), i = 0;
	struct bw_proc *p, *tmp;

	free(a->sorted);
	a->sorted = calloc(n ? n : 1, sizeof(*a->sorted));
	if (!a->sorted)
		return -ENOMEM;
	HASH_ITER(hh, a->procs, p, tmp) {
		size_t j;

		/* Split blocks can still overshoot by the few microseconds
		 * between a record's end and the report. */
		p->blocked_ns = 0;
		for (j = 0; j < p->nthreads; j++) {
			struct bw_entry *e = p->threads[j];

			if (r->interval_ns && e->blocked_ns > r->interval_ns)
				e->blocked_ns = r->interval_ns;
			if (e->max_ns > e->blocked_ns)
				e->max_ns = e->blocked_ns;
			p->blocked_ns += e->blocked_ns;
		}
		qsort(p->threads, p->nthreads, sizeof(*p->threads), cmp_entry);
		a->sorted[i++] = p;
	}
	qsort(a->sorted, n, sizeof(*a->sorted), cmp_proc);
	r->total_procs = n;
	r->nprocs = top && top < n ? top : n;
	r->procs = a->sorted;
	return 0;
}
