// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Walks are found by where they start: a uthash table of buckets keyed
 * by (pid, generation, pc, stack pointer) -- every walk starts at its
 * pc, and its first CFA is mostly the stack pointer -- each holding the
 * walks that started there, most recently used first (at most
 * BUCKET_MAX). A lookup is one hash of 32 bytes and, per candidate, a
 * comparison of the registers it used and of the words it read. Before
 * this, the key held every used register and a lookup hashed 160 bytes
 * for each of the 8 register sets seen lately: on pgbench that was 12%
 * of blockwatch's CPU, more than the walks it saved.
 *
 * All walks are also on one LRU list (a hit moves to its end, the head
 * goes when full), and each process's walks on a list of their own, so
 * that forgetting a process that exited costs its walks, not all of
 * them (hundreds of processes exit a second on a busy host). A walk is
 * kept only when it comes a second time (unwmemo__admit: hashes of
 * where walks started seen once, in a fixed table). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>
#include <utlist.h>
#include "base/bpf_abi.h"
#include "stacks/unwmemo.h"

/* Where a walk started. */
struct startkey {
	uint64_t pid;
	uint64_t gen;
	uint64_t rip;
	uint64_t rsp;
};

struct bucket {
	UT_hash_handle hh;
	struct startkey key;
	struct memo *list; /* most recently used first */
	int n;
};

struct memo {
	struct memo *prev, *next;	    /* its bucket's walks */
	struct memo *pprev, *pnext;	    /* its process's walks */
	struct memo *lru_prev, *lru_next; /* all walks, least recently used first */
	struct bucket *bucket;
	struct pidmemos *owner;
	uint32_t used; /* the registers the walk used, bit per register */
	uint64_t regs[BW_NREGS]; /* their values, the others zero */
	int max;
	int err;
	bool cut_short;
	int n;
	int nreads;
	struct bw_pc *pcs;
	struct bw_memread *reads;
};

struct pidmemos {
	UT_hash_handle hh;
	uint32_t pid;
	struct memo *list;
};

#define DOOR_SLOTS 4096 /* keys seen once: 32 KB */
/* Walks kept per start: a thread blocking at one place with other
 * registers or words each time makes one per state. */
#define BUCKET_MAX 8

struct unwmemo {
	size_t max;
	size_t count;
	uint64_t door[DOOR_SLOTS]; /* a key's hash | 1; 0: empty */
	struct bucket *buckets;
	struct pidmemos *pids;
	struct memo *lru;
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
	struct pidmemos *o = e->owner;
	struct bucket *b = e->bucket;

	DL_DELETE2(o->list, e, pprev, pnext);
	if (!o->list) {
		HASH_DEL(m->pids, o);
		free(o);
	}
	DL_DELETE(b->list, e);
	if (--b->n == 0) {
		HASH_DEL(m->buckets, b);
		free(b);
	}
	DL_DELETE2(m->lru, e, lru_prev, lru_next);
	m->count--;
	free(e->pcs);
	free(e->reads);
	free(e);
}

void unwmemo__free(struct unwmemo *m)
{
	if (!m)
		return;
	while (m->lru)
		del(m, m->lru);
	free(m);
}

static void start_key(struct startkey *k, uint32_t gen, const struct bw_snapshot *snap)
{
	k->pid = (uint32_t)snap->pid;
	k->gen = gen;
	k->rip = snap->regs[BW_REG_RIP];
	k->rsp = snap->regs[BW_REG_RSP];
}

static uint64_t key_hash(const struct startkey *k)
{
	const uint64_t *w = (const uint64_t *)k;
	uint64_t h = 0x9e3779b97f4a7c15ULL;

	for (size_t i = 0; i < sizeof(*k) / sizeof(*w); i++) {
		h ^= w[i];
		h *= 0xff51afd7ed558ccdULL;
		h ^= h >> 32;
	}
	return h | 1;
}

bool unwmemo__admit(struct unwmemo *m, uint32_t gen, const struct bw_snapshot *snap)
{
	struct startkey k;
	uint64_t h;
	uint64_t *slot;

	start_key(&k, gen, snap);
	h = key_hash(&k);
	slot = &m->door[(h >> 1) % DOOR_SLOTS];
	if (*slot == h)
		return true;
	*slot = h;
	return false;
}

static bool same_regs(const struct memo *e, uint32_t used, const uint64_t *regs)
{
	for (int i = 0; i < BW_NREGS; i++)
		if ((used & (1u << i)) && e->regs[i] != regs[i])
			return false;
	return true;
}

/* Every word the walk read reads the same in @snap. */
static bool same_words(const struct memo *e, const struct bw_snapshot *snap)
{
	int i;

	for (i = 0; i < e->nreads; i++) {
		const struct bw_memread *r = &e->reads[i];
		uint64_t v = 0;

		if (bw_snapshot_read(snap, r->addr, &v) != r->kind ||
		    (r->kind == BW_READ_OK && !r->unused && v != r->value))
			return false;
	}
	return true;
}

int unwmemo__find(struct unwmemo *m, uint32_t gen, const struct bw_snapshot *snap,
		  struct bw_pc *pcs, int max, int *err, bool *cut_short)
{
	struct startkey k;
	struct bucket *b;
	struct memo *e;

	start_key(&k, gen, snap);
	HASH_FIND(hh, m->buckets, &k, sizeof(k), b);
	if (!b)
		return -1;
	DL_FOREACH(b->list, e)
		if (e->max == max && same_regs(e, e->used, snap->regs) && same_words(e, snap))
			break;
	if (!e)
		return -1;
	if (e != b->list) { /* most recently used first */
		DL_DELETE(b->list, e);
		DL_PREPEND(b->list, e);
	}
	DL_DELETE2(m->lru, e, lru_prev, lru_next);
	DL_APPEND2(m->lru, e, lru_prev, lru_next);
	memcpy(pcs, e->pcs, e->n * sizeof(*pcs));
	*err = e->err;
	*cut_short = e->cut_short;
	return e->n;
}

int unwmemo__add(struct unwmemo *m, uint32_t gen, const struct bw_snapshot *snap,
		 uint32_t regs_used, const struct bw_memread *reads, int nreads,
		 const struct bw_pc *pcs, int n, int max, int err, bool cut_short)
{
	struct startkey k;
	struct bucket *b;
	struct memo *e, *old;
	struct pidmemos *o;
	uint32_t pid;
	int i;

	if (n < 0 || nreads < 0 || nreads > BW_UNWIND_MAX_READS || n > max)
		return -EINVAL;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->used = regs_used & BW_ALL_REGS;
	for (i = 0; i < BW_NREGS; i++)
		if (e->used & (1u << i))
			e->regs[i] = snap->regs[i];
	e->pcs = malloc((n ? n : 1) * sizeof(*pcs));
	e->reads = malloc((nreads ? nreads : 1) * sizeof(*reads));
	if (!e->pcs || !e->reads)
		goto nomem;
	memcpy(e->pcs, pcs, n * sizeof(*pcs));
	memcpy(e->reads, reads, nreads * sizeof(*reads));
	e->n = n;
	e->nreads = nreads;
	e->max = max;
	e->err = err;
	e->cut_short = cut_short;

	start_key(&k, gen, snap);
	HASH_FIND(hh, m->buckets, &k, sizeof(k), b);
	if (b) {
		/* the same registers: this walk replaces that one */
		DL_FOREACH(b->list, old)
			if (old->used == e->used && same_regs(old, e->used, e->regs))
				break;
		if (old) {
			if (b->n == 1)
				b = NULL; /* del() frees it */
			del(m, old);
		}
	}
	if (b && b->n >= BUCKET_MAX)
		del(m, b->list->prev); /* its least recently used; b keeps others */
	while (m->count >= m->max) {
		if (b && m->lru->bucket == b && b->n == 1)
			b = NULL;
		del(m, m->lru);
	}
	if (!b) {
		HASH_FIND(hh, m->buckets, &k, sizeof(k), b);
		if (!b) {
			b = calloc(1, sizeof(*b));
			if (!b)
				goto nomem;
			b->key = k;
			HASH_ADD(hh, m->buckets, key, sizeof(b->key), b);
		}
	}
	pid = (uint32_t)snap->pid;
	HASH_FIND(hh, m->pids, &pid, sizeof(pid), o);
	if (!o) {
		o = calloc(1, sizeof(*o));
		if (!o) {
			if (!b->list) {
				HASH_DEL(m->buckets, b);
				free(b);
			}
			goto nomem;
		}
		o->pid = pid;
		HASH_ADD(hh, m->pids, pid, sizeof(o->pid), o);
	}
	e->owner = o;
	e->bucket = b;
	DL_APPEND2(o->list, e, pprev, pnext);
	DL_PREPEND(b->list, e);
	b->n++;
	DL_APPEND2(m->lru, e, lru_prev, lru_next);
	m->count++;
	return 0;
nomem:
	free(e->pcs);
	free(e->reads);
	free(e);
	return -ENOMEM;
}

void unwmemo__forget(struct unwmemo *m, pid_t pid)
{
	uint32_t key = (uint32_t)pid;
	struct pidmemos *o;
	struct memo *e, *next;

	HASH_FIND(hh, m->pids, &key, sizeof(key), o);
	/* del() frees @o with its last walk: not read after */
	for (e = o ? o->list : NULL; e; e = next) {
		next = e->pnext;
		del(m, e);
	}
}

size_t unwmemo__count(const struct unwmemo *m)
{
	return m->count;
}
