// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* When each goroutine was first seen in the wait it is in now. */
#include <stdlib.h>
#include <uthash.h>
#include "golang/gview_int.h"

struct seen {
	UT_hash_handle hh;
	uint64_t goid;
	uint64_t first_ns; /* when first seen in this wait */
	uint64_t sched_sp; /* the wait: its saved SP, state and reason */
	uint32_t status;
	uint8_t reason;
	int64_t waitsince;
	uint64_t gen;
};

struct gseen {
	struct seen *by_goid;
	uint64_t gen;
};

struct gseen *gseen__new(void)
{
	return calloc(1, sizeof(struct gseen));
}

void gseen__free(struct gseen *g)
{
	struct seen *e, *tmp;

	if (!g)
		return;
	HASH_ITER(hh, g->by_goid, e, tmp) {
		HASH_DEL(g->by_goid, e);
		free(e);
	}
	free(g);
}

/* When @g was first seen in the wait it is in now (@now if just now);
 * entries of goroutines gone are swept by gseen_sweep. */
uint64_t gseen_since(struct gseen *gs, const struct go_g *g, uint64_t now)
{
	struct seen *e;

	HASH_FIND(hh, gs->by_goid, &g->goid, sizeof(g->goid), e);
	if (!e) {
		e = calloc(1, sizeof(*e));
		if (!e)
			return now;
		e->goid = g->goid;
		HASH_ADD(hh, gs->by_goid, goid, sizeof(e->goid), e);
		e->first_ns = now;
	} else if (e->sched_sp != g->sched_sp || e->status != g->status ||
		   e->reason != g->waitreason ||
		   (e->waitsince && g->waitsince != e->waitsince)) {
		/* woke and waits again: a new wait (the runtime clears
		 * waitsince when a goroutine runs, and the GC sets it anew) */
		e->first_ns = now;
	}
	e->waitsince = g->waitsince;
	e->sched_sp = g->sched_sp;
	e->status = g->status;
	e->reason = g->waitreason;
	e->gen = gs->gen;
	return e->first_ns;
}

void gseen_sweep(struct gseen *gs)
{
	struct seen *e, *tmp;

	HASH_ITER(hh, gs->by_goid, e, tmp) {
		if (e->gen != gs->gen) {
			HASH_DEL(gs->by_goid, e);
			free(e);
		}
	}
	gs->gen++;
}

