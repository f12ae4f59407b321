// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* A uthash table keyed by (pid, generation, the registers the walk
 * used, which ones); its insertion order is the LRU order (a hit moves
 * to the end, the head goes). A lookup tries the sets of registers walks
 * used lately (MAX_MASKS), most recent first. Each process's walks are
 * also on a list of their own, so that forgetting a process that exited
 * costs its walks, not all of them (hundreds of processes exit a second
 * on a busy host). A walk is kept only when it comes a second time
 * (unwmemo__admit: hashes of where walks started -- pid, generation,
 * pc, stack pointer -- seen once, in a fixed table). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>
#include <utlist.h>
#include "base/bpf_abi.h"
#include "stacks/unwmemo.h"

/* The registers a walk used, the others zero, and which ones. */
struct memokey {
	uint64_t pid;
	uint64_t gen;
	uint64_t used; /* bit per register */
	uint64_t regs[BW_NREGS];
};

struct memo {
	UT_hash_handle hh;
	struct memo *prev, *next; /* its process's walks */
	struct pidmemos *owner;
	struct memokey key;
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
/* The sets of registers walks used, most recent first: a lookup tries
 * each (a process's walks mostly use rip and rsp, some rbp too). */
#define MAX_MASKS 8

struct unwmemo {
	size_t max;
	uint32_t masks[MAX_MASKS];
	int nmasks;
	uint64_t door[DOOR_SLOTS]; /* a key's hash | 1; 0: empty */
	struct memo *memos;
	struct pidmemos *pids;
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

	DL_DELETE(o->list, e);
	if (!o->list) {
		HASH_DEL(m->pids, o);
		free(o);
	}
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

static void make_key(struct memokey *k, uint32_t gen, const struct bw_snapshot *snap,
		     uint32_t used)
{
	memset(k, 0, sizeof(*k));
	k->pid = (uint32_t)snap->pid;
	k->gen = gen;
	k->used = used;
	for (int i = 0; i < BW_NREGS; i++)
		if (used & (1u << i))
			k->regs[i] = snap->regs[i];
}

/* Where a walk starts: what every walk uses (its first pc, and the
 * stack pointer the first CFA mostly is). */
#define DOOR_REGS (1u << BW_REG_RIP | 1u << BW_REG_RSP)

static uint64_t key_hash(const struct memokey *k)
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
	struct memokey k;
	uint64_t h;
	uint64_t *slot;

	make_key(&k, gen, snap, DOOR_REGS);
	h = key_hash(&k);
	slot = &m->door[(h >> 1) % DOOR_SLOTS];
	if (*slot == h)
		return true;
	*slot = h;
	return false;
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
	struct memokey k;
	struct memo *e = NULL;
	int i;

	for (i = 0; i < m->nmasks && !e; i++) {
		make_key(&k, gen, snap, m->masks[i]);
		HASH_FIND(hh, m->memos, &k, sizeof(k), e);
		if (e && (e->max != max || !same_words(e, snap)))
			e = NULL;
	}
	if (!e)
		return -1;
	HASH_DEL(m->memos, e);
	HASH_ADD(hh, m->memos, key, sizeof(e->key), e);
	memcpy(pcs, e->pcs, e->n * sizeof(*pcs));
	*err = e->err;
	*cut_short = e->cut_short;
	return e->n;
}

/* @used first among the masks tried. */
static void note_mask(struct unwmemo *m, uint32_t used)
{
	int i;

	for (i = 0; i < m->nmasks && m->masks[i] != used; i++)
		;
	if (i == m->nmasks) {
		if (m->nmasks < MAX_MASKS)
			m->nmasks++;
		i = m->nmasks - 1; /* full: the least recent one goes */
	}
	memmove(&m->masks[1], &m->masks[0], i * sizeof(m->masks[0]));
	m->masks[0] = used;
}

int unwmemo__add(struct unwmemo *m, uint32_t gen, const struct bw_snapshot *snap,
		 uint32_t regs_used, const struct bw_memread *reads, int nreads,
		 const struct bw_pc *pcs, int n, int max, int err, bool cut_short)
{
	struct memo *e, *old;
	struct pidmemos *o;
	uint32_t pid;

	if (n < 0 || nreads < 0 || nreads > BW_UNWIND_MAX_READS || n > max)
		return -EINVAL;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	make_key(&e->key, gen, snap, regs_used & BW_ALL_REGS);
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
	pid = (uint32_t)snap->pid;
	HASH_FIND(hh, m->pids, &pid, sizeof(pid), o);
	if (!o) {
		o = calloc(1, sizeof(*o));
		if (!o) {
			free(e->pcs);
			free(e->reads);
			free(e);
			return -ENOMEM;
		}
		o->pid = pid;
		HASH_ADD(hh, m->pids, pid, sizeof(o->pid), o);
	}
	e->owner = o;
	DL_APPEND(o->list, e);
	HASH_ADD(hh, m->memos, key, sizeof(e->key), e);
	note_mask(m, (uint32_t)e->key.used);
	return 0;
}

void unwmemo__forget(struct unwmemo *m, pid_t pid)
{
	uint32_t key = (uint32_t)pid;
	struct pidmemos *o;
	struct memo *e, *next;

	HASH_FIND(hh, m->pids, &key, sizeof(key), o);
	/* del() frees @o with its last walk: not read after */
	for (e = o ? o->list : NULL; e; e = next) {
		next = e->next;
		del(m, e);
	}
}

size_t unwmemo__count(const struct unwmemo *m)
{
	return HASH_COUNT(m->memos);
}
