// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* A uthash table whose insertion order list is the LRU order: a hit
 * moves its entry to the end, the head is evicted first. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>
#include "stacks/pccache.h"

struct pckey {
	uintptr_t owner;
	uint64_t addr;
	uint64_t activation;
};

struct pcframe {
	char *symbol;
	char *file;
	uint64_t symoff;
	uint32_t line;
	bool inlined;
};

struct pcent {
	UT_hash_handle hh;
	struct pckey key;
	int n;
	struct pcframe frames[];
};

struct pccache {
	size_t max;
	struct pcent *ents;
};

struct pccache *pccache__new(size_t max)
{
	struct pccache *c = calloc(1, sizeof(*c));

	if (c)
		c->max = max ? max : 1;
	return c;
}

static void ent_free(struct pcent *e)
{
	int i;

	for (i = 0; i < e->n; i++) {
		free(e->frames[i].symbol);
		free(e->frames[i].file);
	}
	free(e);
}

static void del(struct pccache *c, struct pcent *e)
{
	HASH_DEL(c->ents, e);
	ent_free(e);
}

void pccache__free(struct pccache *c)
{
	struct pcent *e, *tmp;

	if (!c)
		return;
	HASH_ITER(hh, c->ents, e, tmp)
		del(c, e);
	free(c);
}

static void make_key(struct pckey *k, const void *owner, uint64_t addr, bool activation)
{
	memset(k, 0, sizeof(*k));
	k->owner = (uintptr_t)owner;
	k->addr = addr;
	k->activation = activation;
}

int pccache__get(struct pccache *c, const void *owner, uint64_t addr, bool activation,
		 const struct bw_frame *tmpl, struct bw_frame *out, int max)
{
	struct pckey k;
	struct pcent *e;
	int i;

	make_key(&k, owner, addr, activation);
	HASH_FIND(hh, c->ents, &k, sizeof(k), e);
	if (!e || e->n > max)
		return 0;
	/* most recently used: to the end of the order */
	HASH_DEL(c->ents, e);
	HASH_ADD(hh, c->ents, key, sizeof(e->key), e);
	for (i = 0; i < e->n; i++) {
		const struct pcframe *pf = &e->frames[i];
		struct bw_frame *f = &out[i];

		if (bw_frame_copy(f, tmpl))
			goto nomem;
		free(f->symbol);
		free(f->file);
		f->symbol = pf->symbol ? strdup(pf->symbol) : NULL;
		f->file = pf->file ? strdup(pf->file) : NULL;
		f->symoff = pf->symoff;
		f->line = pf->line;
		f->inlined = pf->inlined;
		if ((pf->symbol && !f->symbol) || (pf->file && !f->file)) {
			i++;
			goto nomem;
		}
	}
	return e->n;
nomem:
	while (i--)
		bw_frame_clear(&out[i]);
	return -ENOMEM;
}

int pccache__put(struct pccache *c, const void *owner, uint64_t addr, bool activation,
		 const struct bw_frame *frames, int n)
{
	struct pcent *e, *old;
	int i;

	if (n <= 0)
		return 0;
	e = calloc(1, sizeof(*e) + n * sizeof(e->frames[0]));
	if (!e)
		return -ENOMEM;
	make_key(&e->key, owner, addr, activation);
	for (i = 0; i < n; i++) {
		struct pcframe *pf = &e->frames[i];

		e->n = i + 1;
		pf->symbol = frames[i].symbol ? strdup(frames[i].symbol) : NULL;
		pf->file = frames[i].file ? strdup(frames[i].file) : NULL;
		pf->symoff = frames[i].symoff;
		pf->line = frames[i].line;
		pf->inlined = frames[i].inlined;
		if ((frames[i].symbol && !pf->symbol) || (frames[i].file && !pf->file)) {
			ent_free(e);
			return -ENOMEM;
		}
	}
	HASH_FIND(hh, c->ents, &e->key, sizeof(e->key), old);
	if (old)
		del(c, old);
	while (HASH_COUNT(c->ents) >= c->max)
		del(c, c->ents); /* the head: least recently used */
	HASH_ADD(hh, c->ents, key, sizeof(e->key), e);
	return 0;
}

void pccache__drop(struct pccache *c, const void *owner)
{
	struct pcent *e, *tmp;

	HASH_ITER(hh, c->ents, e, tmp)
		if (e->key.owner == (uintptr_t)owner)
			del(c, e);
}

size_t pccache__count(const struct pccache *c)
{
	return HASH_COUNT(c->ents);
}
