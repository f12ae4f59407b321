// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* A uthash table keyed by (pid, generation, registers); its insertion
 * order is the LRU order (a hit moves to the end, the head goes). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <uthash.h>
#include "base/bpf_abi.h"
#include "stacks/unwmemo.h"

struct memokey {
	uint64_t pid;
	uint64_t gen;
	uint64_t regs[BW_NREGS];
};

struct memo {
	UT_hash_handle hh;
	struct memokey key;
	int max;
	int err;
	bool cut_short;
	int n;
	int nreads;
	struct bw_pc *pcs;
	struct bw_memread *reads;
};

struct unwmemo {
	size_t max;
	struct memo *memos;
};

struct unwmemo *unwmemo__new(size_t max)
{
	struct unwmemo *m = calloc(1, sizeof(*m));

	if (m)
		m->max = max ? max : 1;
	return m;
}

static void del(struct unwmemo *m, struct memo *e)
{
	HASH_DEL(m->memos, e);
	free(e->pcs);
	free(e->reads);
	free(e);
}

void unwmemo__free(struct unwmemo *m)
{
	struct memo *e, *tmp;

	if (!m)
		return;
	HASH_ITER(hh, m->memos, e, tmp)
		del(m, e);
	free(m);
}

static void make_key(struct memokey *k, uint32_t gen, const struct bw_snapshot *snap)
{
	memset(k, 0, sizeof(*k));
	k->pid = (uint32_t)snap->pid;
	k->gen = gen;
	memcpy(k->regs, snap->regs, sizeof(k->regs));
}

/* Every word the walk read reads the same in @snap. */
static bool same_words(const struct memo *e, const struct bw_snapshot *snap)
{
	int i;

	for (i = 0; i < e->nreads; i++) {
		const struct bw_memread *r = &e->reads[i];
		uint64_t v = 0;

		if (bw_snapshot_read(snap, r->addr, &v) != r->kind ||
		    (r->kind == BW_READ_OK && v != r->value))
			return false;
	}
	return true;
}

int unwmemo__find(struct unwmemo *m, uint32_t gen, const struct bw_snapshot *snap,
		  struct bw_pc *pcs, int max, int *err, bool *cut_short)
{
	struct memokey k;
	struct memo *e;

	make_key(&k, gen, snap);
	HASH_FIND(hh, m->memos, &k, sizeof(k), e);
	if (!e) { static long nr[BW_NREGS], cnt; struct memo *x, *t2; int r;
	  HASH_ITER(hh, m->memos, x, t2) if (x->key.pid == k.pid && x->key.regs[BW_REG_RIP] == k.regs[BW_REG_RIP] && x->key.regs[BW_REG_RSP] == k.regs[BW_REG_RSP]) {
	    cnt++; for (r = 0; r < BW_NREGS; r++) if (x->key.regs[r] != k.regs[r]) nr[r]++;
	    if (cnt % 500 == 0) { fprintf(stderr, "regmiss %ld:", cnt); for (r = 0; r < BW_NREGS; r++) fprintf(stderr, " %ld", nr[r]); fprintf(stderr, "\n"); }
	    break; } }
	if (e && !same_words(e, snap)) { static long w; if (++w % 200 == 0) fprintf(stderr, "wordmiss %ld\n", w); }
	if (!e || e->max != max || !same_words(e, snap))
		return -1;
	HASH_DEL(m->memos, e);
	HASH_ADD(hh, m->memos, key, sizeof(e->key), e);
	memcpy(pcs, e->pcs, e->n * sizeof(*pcs));
	*err = e->err;
	*cut_short = e->cut_short;
	return e->n;
}

int unwmemo__add(struct unwmemo *m, uint32_t gen, const struct bw_snapshot *snap,
		 const struct bw_memread *reads, int nreads, const struct bw_pc *pcs, int n,
		 int max, int err, bool cut_short)
{
	struct memo *e, *old;

	if (n < 0 || nreads < 0 || nreads > BW_UNWIND_MAX_READS || n > max)
		return -EINVAL;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	make_key(&e->key, gen, snap);
	e->pcs = malloc((n ? n : 1) * sizeof(*pcs));
	e->reads = malloc((nreads ? nreads : 1) * sizeof(*reads));
	if (!e->pcs || !e->reads) {
		free(e->pcs);
		free(e->reads);
		free(e);
		return -ENOMEM;
	}
	memcpy(e->pcs, pcs, n * sizeof(*pcs));
	memcpy(e->reads, reads, nreads * sizeof(*reads));
	e->n = n;
	e->nreads = nreads;
	e->max = max;
	e->err = err;
	e->cut_short = cut_short;
	HASH_FIND(hh, m->memos, &e->key, sizeof(e->key), old);
	if (old)
		del(m, old);
	while (HASH_COUNT(m->memos) >= m->max)
		del(m, m->memos);
	HASH_ADD(hh, m->memos, key, sizeof(e->key), e);
	return 0;
}

void unwmemo__forget(struct unwmemo *m, pid_t pid)
{
	struct memo *e, *tmp;

	HASH_ITER(hh, m->memos, e, tmp)
		if (e->key.pid == (uint32_t)pid)
			del(m, e);
}

size_t unwmemo__count(const struct unwmemo *m)
{
	return HASH_COUNT(m->memos);
}
