// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Per-process tables of stacks keyed by their pcs (uthash). The table
 * holds one reference on every stack it indexes. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "base/bpf_abi.h"
#include "stacks/stacktab.h"

/* user frames plus -K kernel frames, plus the truncated flag */
#define MAX_KEY (1 + BW_MAX_FRAMES + BW_KSTACK_DEPTH)

struct pstacks {
	UT_hash_handle hh;
	uint32_t pid;
	uint32_t gen;
	struct bw_stack *stacks;
};

struct stacktab {
	bw_resolve_fn resolve;
	void *ctx;
	uint64_t gen;
	size_t total;
	struct pstacks *procs;
};

struct stacktab *stacktab__new(bw_resolve_fn resolve, void *ctx)
{
	struct stacktab *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->resolve = resolve;
	t->ctx = ctx;
	return t;
}

struct bw_stack *bw_stack_get(struct bw_stack *st)
{
	st->refs++;
	return st;
}

void bw_stack_put(struct bw_stack *st)
{
	uint32_t i;

	if (!st || --st->refs)
		return;
	for (i = 0; i < st->nframes; i++)
		bw_frame_clear(&st->frames[i]);
	free(st->frames);
	free(st->key);
	free(st);
}

static void drop(struct stacktab *t, struct pstacks *ps, struct bw_stack *st)
{
	HASH_DEL(ps->stacks, st);
	t->total--;
	bw_stack_put(st);
}

static void pstacks_free(struct stacktab *t, struct pstacks *ps)
{
	struct bw_stack *st, *tmp;

	HASH_ITER(hh, ps->stacks, st, tmp)
		drop(t, ps, st);
	HASH_DEL(t->procs, ps);
	free(ps);
}

void stacktab__free(struct stacktab *t)
{
	struct pstacks *ps, *tmp;

	if (!t)
		return;
	HASH_ITER(hh, t->procs, ps, tmp)
		pstacks_free(t, ps);
	free(t);
}

static struct pstacks *pstacks_get(struct stacktab *t, uint32_t pid)
{
	struct pstacks *ps;

	HASH_FIND(hh, t->procs, &pid, sizeof(pid), ps);
	if (ps)
		return ps;
	ps = calloc(1, sizeof(*ps));
	if (!ps)
		return NULL;
	ps->pid = pid;
	HASH_ADD(hh, t->procs, pid, sizeof(ps->pid), ps);
	return ps;
}

/* FNV-1a over the pid, the truncated flag and the pcs. */
static uint64_t stack_id(uint32_t pid, const uint64_t *key, size_t keylen)
{
	uint64_t h = 1469598103934665603ULL ^ pid;
	const uint8_t *p = (const uint8_t *)key;
	size_t i;

	for (i = 0; i < keylen; i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	return h;
}

static int symbolize(struct stacktab *t, struct bw_stack *st, const struct bw_pc *pcs, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		struct bw_frame tmp[BW_MAX_INLINE], *grown;
		int got = t->resolve(t->ctx, st->pid, &pcs[i], tmp, BW_MAX_INLINE);

		if (got < 0)
			return got;
		grown = realloc(st->frames, (st->nframes + got) * sizeof(*grown));
		if (!grown) {
			while (got--)
				bw_frame_clear(&tmp[got]);
			return -ENOMEM;
		}
		st->frames = grown;
		memcpy(st->frames + st->nframes, tmp, got * sizeof(*tmp));
		st->nframes += got;
	}
	return 0;
}

static struct bw_stack *stack_new(struct stacktab *t, uint32_t pid, const uint64_t *key,
				  size_t keylen, const struct bw_pc *pcs, int n)
{
	struct bw_stack *st = calloc(1, sizeof(*st));

	if (!st)
		return NULL;
	st->refs = 1;
	st->pid = pid;
	st->truncated = key[0];
	st->id = stack_id(pid, key, keylen);
	st->keylen = keylen;
	st->key = malloc(keylen);
	if (!st->key || symbolize(t, st, pcs, n)) {
		bw_stack_put(st);
		return NULL;
	}
	memcpy(st->key, key, keylen);
	return st;
}

struct bw_stack *stacktab__get(struct stacktab *t, uint32_t pid, const struct bw_pc *pcs, int n,
			       bool truncated)
{
	uint64_t key[MAX_KEY];
	size_t keylen = (1 + n) * sizeof(uint64_t);
	struct pstacks *ps;
	struct bw_stack *st;
	int i;

	if (n < 0 || n > MAX_KEY - 1)
		return NULL;
	ps = pstacks_get(t, pid);
	if (!ps)
		return NULL;
	key[0] = truncated;
	for (i = 0; i < n; i++)
		key[1 + i] = pcs[i].pc;
	HASH_FIND(hh, ps->stacks, key, keylen, st);
	if (!st) {
		st = stack_new(t, pid, key, keylen, pcs, n);
		if (!st)
			return NULL;
		HASH_ADD_KEYPTR(hh, ps->stacks, st->key, st->keylen, st);
		t->total++;
	}
	st->seen = t->gen;
	return bw_stack_get(st);
}

void stacktab__forget(struct stacktab *t, uint32_t pid)
{
	struct pstacks *ps;

	HASH_FIND(hh, t->procs, &pid, sizeof(pid), ps);
	if (ps)
		pstacks_free(t, ps);
}

void stacktab__epoch(struct stacktab *t, uint32_t pid, uint32_t gen)
{
	struct pstacks *ps;

	HASH_FIND(hh, t->procs, &pid, sizeof(pid), ps);
	if (ps && ps->gen != gen)
		pstacks_free(t, ps);
	ps = pstacks_get(t, pid);
	if (ps)
		ps->gen = gen;
}

void stacktab__sweep(struct stacktab *t, bool (*alive)(pid_t pid))
{
	struct pstacks *ps, *ptmp;
	struct bw_stack *st, *tmp;

	t->gen++;
	HASH_ITER(hh, t->procs, ps, ptmp) {
		if (alive && !alive(ps->pid)) {
			pstacks_free(t, ps);
			continue;
		}
		HASH_ITER(hh, ps->stacks, st, tmp)
			if (t->gen - st->seen >= STACKTAB_TTL)
				drop(t, ps, st);
		if (!ps->stacks)
			pstacks_free(t, ps);
	}
}

size_t stacktab__count(const struct stacktab *t)
{
	return t->total;
}
