// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Per-interval aggregation: entries keyed by (pid, tid, stack, reason),
 * stacks deduplicated per process and symbolized once when first seen,
 * while the process is most likely still alive. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "model/agg.h"

const char *const bw_drop_names[BW_DROP_MAX] = {
	[BW_DROP_RINGBUF] = "ringbuf",
	[BW_DROP_STORAGE] = "task_storage",
	[BW_DROP_STACK] = "no_stack",
	[BW_DROP_USER] = "userspace",
	[BW_DROP_MISSED] = "bpf_missed",
};

struct agg {
	bw_resolve_fn resolve;
	void *ctx;
	struct bw_stack *stacks;
	struct bw_entry *entries;
	struct bw_proc *procs;
	struct bw_proc **sorted;
	struct bw_cycle *cycles;
	size_t ncycles;
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

static void free_cycles(struct agg *a)
{
	size_t i;

	for (i = 0; i < a->ncycles; i++)
		free(a->cycles[i].entries);
	free(a->cycles);
	a->cycles = NULL;
	a->ncycles = 0;
}

void agg__reset(struct agg *a)
{
	struct bw_stack *st, *st_tmp;
	struct bw_entry *e, *e_tmp;
	struct bw_proc *p, *p_tmp;

	HASH_ITER(hh, a->entries, e, e_tmp) {
		HASH_DEL(a->entries, e);
		json_object_put(e->detail);
		free(e);
	}
	free_cycles(a);
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

const struct bw_stack *agg__stack(struct agg *a, uint32_t pid, const struct bw_pc *pcs, int n,
				  bool truncated)
{
	size_t keylen = sizeof(uint32_t) * 2 + sizeof(uint64_t) * n;
	struct bw_stack *st;
	unsigned char *k;
	uint32_t flags;
	int i;

	st = calloc(1, sizeof(*st) + keylen);
	if (!st)
		return NULL;
	k = st->key;
	flags = truncated;
	memcpy(k, &pid, sizeof(uint32_t));
	memcpy(k + 4, &flags, sizeof(uint32_t));
	for (i = 0; i < n; i++)
		memcpy(k + 8 + 8 * i, &pcs[i].pc, sizeof(uint64_t));
	st->keylen = keylen;

	{
		struct bw_stack *found;

		HASH_FIND(hh, a->stacks, st->key, keylen, found);
		if (found) {
			free(st);
			return found;
		}
	}
	st->truncated = truncated;
	for (i = 0; i < n; i++) {
		struct bw_frame tmp[BW_MAX_INLINE], *grown;
		int got = a->resolve(a->ctx, pid, &pcs[i], tmp, BW_MAX_INLINE);

		if (got < 0)
			goto fail;
		grown = realloc(st->frames, (st->nframes + got) * sizeof(*grown));
		if (!grown) {
			while (got--)
				bw_frame_clear(&tmp[got]);
			goto fail;
		}
		st->frames = grown;
		memcpy(st->frames + st->nframes, tmp, got * sizeof(*tmp));
		st->nframes += got;
	}
	HASH_ADD_KEYPTR(hh, a->stacks, st->key, st->keylen, st);
	return st;
fail:
	stack_free(st);
	return NULL;
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
	key.object = s->detail ? s->detail->object : 0;
	snprintf(key.reason, sizeof(key.reason), "%s", s->reason);
	key.stack = s->stack;
	if (!key.stack)
		return -EINVAL;
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
		if (s->detail) {
			e->detail = json_object_get(s->detail->json);
			snprintf(e->detail_text, sizeof(e->detail_text), "%s", s->detail->text);
		}
		HASH_ADD(hh, a->entries, key, sizeof(key), e);
		p->threads[p->nthreads++] = e;
	}
	e->blocked_ns += s->blocked_ns;
	e->count += s->count;
	if (max > e->max_ns)
		e->max_ns = max;
	if (s->age_ns > e->age_ns)
		e->age_ns = s->age_ns;
	if (s->detail && s->detail->owner) {
		/* A later record may come after the owner is gone ("?"):
		 * the name an earlier one found for the same owner stays. */
		if (e->owner != s->detail->owner || !e->owner_comm[0] ||
		    strcmp(s->detail->owner_comm, "?"))
			snprintf(e->owner_comm, sizeof(e->owner_comm), "%s", s->detail->owner_comm);
		e->owner = s->detail->owner;
	}
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

static int cmp_tid(const void *x, const void *y)
{
	const struct bw_entry *a = *(struct bw_entry *const *)x;
	const struct bw_entry *b = *(struct bw_entry *const *)y;

	return a->key.tid < b->key.tid ? -1 : a->key.tid > b->key.tid;
}

static struct bw_entry *find_blocked(struct bw_entry **by_tid, size_t n, uint32_t tid)
{
	struct bw_entry key = { .key.tid = tid }, *kp = &key, **hit;

	hit = bsearch(&kp, by_tid, n, sizeof(*by_tid), cmp_tid);
	return hit ? *hit : NULL;
}

static size_t index_of(struct bw_entry **by_tid, size_t n, const struct bw_entry *e)
{
	struct bw_entry **hit = bsearch(&e, by_tid, n, sizeof(*by_tid), cmp_tid);

	return hit - by_tid;
}

/* Record the cycle through @start (each entry waits for the next). */
static int add_cycle(struct agg *a, const struct bw_entry *start)
{
	const struct bw_entry *c = start;
	struct bw_cycle *grown, *cyc;
	size_t len = 0;

	do {
		len++;
		c = c->owner_entry;
	} while (c != start);
	grown = realloc(a->cycles, (a->ncycles + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	a->cycles = grown;
	cyc = &a->cycles[a->ncycles];
	cyc->entries = calloc(len, sizeof(*cyc->entries));
	if (!cyc->entries)
		return -ENOMEM;
	cyc->n = len;
	a->ncycles++;
	for (c = start, len = 0; len < cyc->n; len++, c = c->owner_entry)
		cyc->entries[len] = c;
	return 0;
}

/*
 * Still-blocked lock waiters point at the holder's own still-blocked
 * entry; every thread waits for at most one lock, so following the
 * pointers from any waiter either ends or enters a cycle: a deadlock.
 */
static int link_owners(struct agg *a)
{
	size_t n = 0, i, cap = HASH_COUNT(a->entries);
	struct bw_entry **by_tid, *e, *tmp;
	unsigned char *color;
	int err = 0;

	by_tid = calloc(cap ? cap : 1, sizeof(*by_tid));
	if (!by_tid)
		return -ENOMEM;
	HASH_ITER(hh, a->entries, e, tmp) {
		if (e->key.ongoing)
			by_tid[n++] = e;
	}
	qsort(by_tid, n, sizeof(*by_tid), cmp_tid);
	for (i = 0; i < n; i++) {
		e = by_tid[i];
		e->owner_entry = e->owner ? find_blocked(by_tid, n, e->owner) : NULL;
		if (e->owner_entry)
			snprintf(e->owner_comm, sizeof(e->owner_comm), "%s", e->owner_entry->comm);
	}
	/* 0: not seen, 1: on the walk in progress, 2: done */
	color = calloc(n ? n : 1, 1);
	if (!color) {
		free(by_tid);
		return -ENOMEM;
	}
	for (i = 0; i < n && !err; i++) {
		const struct bw_entry *cur;

		/* Walk until a settled entry, or back onto this walk. */
		for (cur = by_tid[i]; cur; cur = cur->owner_entry) {
			size_t idx = index_of(by_tid, n, cur);

			if (color[idx] == 2)
				break;
			if (color[idx] == 1) {
				err = add_cycle(a, cur);
				break;
			}
			color[idx] = 1;
		}
		for (cur = by_tid[i]; cur; cur = cur->owner_entry) {
			size_t idx = index_of(by_tid, n, cur);

			if (color[idx] == 2)
				break;
			color[idx] = 2;
		}
	}
	free(color);
	free(by_tid);
	return err;
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
	free_cycles(a);
	if (link_owners(a))
		return -ENOMEM;
	r->ndeadlocks = a->ncycles;
	r->deadlocks = a->cycles;
	r->total_procs = n;
	r->nprocs = top && top < n ? top : n;
	r->procs = a->sorted;
	return 0;
}
