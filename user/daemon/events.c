// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>
#include "daemon/events.h"
#include "model/go.h"

/* Two reports see one block when the starts they imply (report time
 * minus age) agree within this: timer jitter and the scan's own time. */
#define SAME_BLOCK_NS (200ull * 1000000)

struct blocked {
	uint32_t tid; /* key */
	uint32_t pid;
	uint64_t start_ns; /* report time - age */
	uint64_t age_ns;
	char comm[BW_COMM_MAX];
	char thread[BW_COMM_MAX];
	char reason[BW_REASON_LEN];
	bool seen;
	UT_hash_handle hh;
};

struct cycle {
	uint32_t pid;
	uint32_t n;
	uint32_t tids[BW_EV_TIDS]; /* sorted */
	uint64_t since_ns;
	bool seen;
};

struct leak {
	uint32_t pid;
	char comm[BW_COMM_MAX];
	char site[BW_EV_SITE];
	uint64_t since_ns;
	bool seen;
};

struct bw_events {
	struct blocked *threads;
	struct cycle *cycles;
	size_t ncycles;
	struct leak *leaks;
	size_t nleaks;
};

struct bw_events *bw_events__new(void)
{
	return calloc(1, sizeof(struct bw_events));
}

void bw_events__free(struct bw_events *ev)
{
	struct blocked *b, *tmp;

	if (!ev)
		return;
	HASH_ITER(hh, ev->threads, b, tmp) {
		HASH_DEL(ev->threads, b);
		free(b);
	}
	free(ev->cycles);
	free(ev->leaks);
	free(ev);
}

/* A finished entry of @tid in @r: the block that ended. */
static const struct bw_entry *finished_of(const struct bw_report *r, uint32_t pid, uint32_t tid)
{
	size_t i, j;

	for (i = 0; i < r->nprocs; i++) {
		if (r->procs[i]->pid != pid)
			continue;
		for (j = 0; j < r->procs[i]->nthreads; j++) {
			const struct bw_entry *e = r->procs[i]->threads[j];

			if (e->tid == tid && !e->ongoing)
				return e;
		}
	}
	return NULL;
}

static void woke(const struct bw_report *r, struct blocked *b, bw_change_fn fn, void *ctx)
{
	const struct bw_entry *e = finished_of(r, b->pid, b->tid);
	struct bw_change x = { .kind = BW_EV_WOKE, .pid = b->pid, .tid = b->tid };

	memcpy(x.comm, b->comm, sizeof(x.comm));
	memcpy(x.thread, b->thread, sizeof(x.thread));
	memcpy(x.reason, b->reason, sizeof(x.reason));
	x.age_ns = b->age_ns;
	if (e && e->whole_max_ns >= b->age_ns) {
		x.age_ns = e->whole_max_ns;
		x.exact = true;
		x.entry = e; /* the block that ended: its stack and wait */
	}
	fn(ctx, &x);
}

static struct blocked *track(struct bw_events *ev, const struct bw_proc_report *p,
			     const struct bw_entry *e, uint64_t start)
{
	struct blocked *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->tid = e->tid;
	b->pid = p->pid;
	b->start_ns = start;
	snprintf(b->comm, sizeof(b->comm), "%s", p->comm);
	snprintf(b->thread, sizeof(b->thread), "%s", e->comm);
	snprintf(b->reason, sizeof(b->reason), "%s", e->reason);
	HASH_ADD(hh, ev->threads, tid, sizeof(b->tid), b);
	return b;
}

static uint64_t absdiff(uint64_t a, uint64_t b)
{
	return a > b ? a - b : b - a;
}

static int threads(struct bw_events *ev, const struct bw_report *r, bw_change_fn fn, void *ctx)
{
	struct blocked *b, *tmp;
	size_t i, j;
	int err = 0;

	HASH_ITER(hh, ev->threads, b, tmp) b->seen = false;
	/* which blocks go on (seen), which are new (after the woken) */
	for (i = 0; i < r->nprocs; i++)
		for (j = 0; j < r->procs[i]->nthreads; j++) {
			const struct bw_entry *e = r->procs[i]->threads[j];
			uint64_t start = r->time_ns - e->age_ns;

			if (!e->ongoing)
				continue;
			HASH_FIND(hh, ev->threads, &e->tid, sizeof(e->tid), b);
			if (b && b->pid == e->pid && absdiff(b->start_ns, start) <= SAME_BLOCK_NS) {
				b->seen = true;
				b->age_ns = e->age_ns;
			}
		}
	HASH_ITER(hh, ev->threads, b, tmp) {
		if (b->seen)
			continue;
		woke(r, b, fn, ctx);
		HASH_DEL(ev->threads, b);
		free(b);
	}
	for (i = 0; i < r->nprocs; i++)
		for (j = 0; j < r->procs[i]->nthreads; j++) {
			const struct bw_entry *e = r->procs[i]->threads[j];
			struct bw_change x = { .kind = BW_EV_BLOCKED, .pid = e->pid, .tid = e->tid };

			if (!e->ongoing)
				continue;
			HASH_FIND(hh, ev->threads, &e->tid, sizeof(e->tid), b);
			if (b)
				continue;
			b = track(ev, r->procs[i], e, r->time_ns - e->age_ns);
			if (!b) {
				err = -ENOMEM;
				continue;
			}
			b->seen = true;
			b->age_ns = e->age_ns;
			memcpy(x.comm, b->comm, sizeof(x.comm));
			memcpy(x.thread, b->thread, sizeof(x.thread));
			memcpy(x.reason, b->reason, sizeof(x.reason));
			x.age_ns = e->age_ns;
			x.entry = e;
			fn(ctx, &x);
		}
	return err;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static struct cycle cycle_of(const struct bw_cycle *c)
{
	struct cycle k = { 0 };
	size_t i;

	for (i = 0; i < c->n && k.n < BW_EV_TIDS; i++)
		k.tids[k.n++] = c->entries[i]->tid;
	qsort(k.tids, k.n, sizeof(k.tids[0]), cmp_u32);
	k.pid = c->n ? c->entries[0]->pid : 0;
	return k;
}

static void cycle_event(const struct cycle *c, enum bw_event_kind kind, uint64_t age,
			const struct bw_report *r, bw_change_fn fn, void *ctx)
{
	struct bw_change x = { .kind = kind, .pid = c->pid, .ntids = c->n, .age_ns = age };
	size_t i;

	memcpy(x.tids, c->tids, sizeof(x.tids));
	for (i = 0; i < r->nprocs; i++)
		if (r->procs[i]->pid == c->pid)
			snprintf(x.comm, sizeof(x.comm), "%s", r->procs[i]->comm);
	fn(ctx, &x);
}

static int deadlocks(struct bw_events *ev, const struct bw_report *r, bw_change_fn fn, void *ctx)
{
	size_t i, j, n = 0;
	struct cycle *grown;

	for (j = 0; j < ev->ncycles; j++)
		ev->cycles[j].seen = false;
	for (i = 0; i < r->ndeadlocks; i++) {
		struct cycle k = cycle_of(&r->deadlocks[i]);

		for (j = 0; j < ev->ncycles; j++)
			if (ev->cycles[j].n == k.n && !memcmp(ev->cycles[j].tids, k.tids, sizeof(k.tids)))
				break;
		if (j < ev->ncycles) {
			ev->cycles[j].seen = true;
			continue;
		}
		grown = realloc(ev->cycles, (ev->ncycles + 1) * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		ev->cycles = grown;
		k.since_ns = r->time_ns;
		k.seen = true;
		ev->cycles[ev->ncycles++] = k;
		cycle_event(&k, BW_EV_DEADLOCK, 0, r, fn, ctx);
	}
	for (j = 0; j < ev->ncycles; j++) {
		if (ev->cycles[j].seen) {
			ev->cycles[n++] = ev->cycles[j];
			continue;
		}
		cycle_event(&ev->cycles[j], BW_EV_DEADLOCK_GONE, r->time_ns - ev->cycles[j].since_ns,
			    r, fn, ctx);
	}
	ev->ncycles = n;
	return 0;
}

static void site_of(const struct bw_go_group *g, char *site, size_t len)
{
	const struct bw_go_frame *f;
	const char *base;

	if (g->blocking_site < 0 || (uint32_t)g->blocking_site >= g->nframes ||
	    !g->frames[g->blocking_site].func) {
		snprintf(site, len, "?");
		return;
	}
	f = &g->frames[g->blocking_site];
	base = f->file ? strrchr(f->file, '/') : NULL;
	snprintf(site, len, "%s %s:%u", f->func, base ? base + 1 : f->file ? f->file : "?",
		 f->line);
}

static int leak_seen(struct bw_events *ev, const struct bw_proc_report *p,
		     const struct bw_go_group *g, uint64_t now, bw_change_fn fn, void *ctx)
{
	struct bw_change x = { .kind = BW_EV_LEAK, .pid = p->pid };
	struct leak *grown;
	size_t j;

	site_of(g, x.site, sizeof(x.site));
	for (j = 0; j < ev->nleaks; j++)
		if (ev->leaks[j].pid == p->pid && !strcmp(ev->leaks[j].site, x.site)) {
			ev->leaks[j].seen = true;
			return 0;
		}
	grown = realloc(ev->leaks, (ev->nleaks + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	ev->leaks = grown;
	grown = &ev->leaks[ev->nleaks++];
	memset(grown, 0, sizeof(*grown));
	grown->pid = p->pid;
	snprintf(grown->comm, sizeof(grown->comm), "%s", p->comm);
	memcpy(grown->site, x.site, sizeof(grown->site));
	grown->since_ns = now;
	grown->seen = true;
	memcpy(x.comm, grown->comm, sizeof(x.comm));
	snprintf(x.reason, sizeof(x.reason), "%s", g->wait_reason ? g->wait_reason : "?");
	x.count = g->count;
	x.growth_per_min = g->growth_per_min;
	fn(ctx, &x);
	return 0;
}

static int leaks(struct bw_events *ev, const struct bw_report *r, bw_change_fn fn, void *ctx)
{
	size_t i, j, n = 0;
	uint32_t k;
	int err = 0;

	for (j = 0; j < ev->nleaks; j++)
		ev->leaks[j].seen = false;
	for (i = 0; i < r->nprocs; i++) {
		const struct bw_go_view *go = r->procs[i]->go;

		for (k = 0; go && k < go->ngroups; k++)
			if (go->groups[k].leak_suspect)
				err = leak_seen(ev, r->procs[i], &go->groups[k], r->time_ns, fn, ctx)
					?: err;
	}
	for (j = 0; j < ev->nleaks; j++) {
		struct leak *l = &ev->leaks[j];
		struct bw_change x = { .kind = BW_EV_LEAK_GONE, .pid = l->pid };

		if (l->seen) {
			ev->leaks[n++] = *l;
			continue;
		}
		memcpy(x.comm, l->comm, sizeof(x.comm));
		memcpy(x.site, l->site, sizeof(x.site));
		x.age_ns = r->time_ns - l->since_ns;
		fn(ctx, &x);
	}
	ev->nleaks = n;
	return err;
}

int bw_events__report(struct bw_events *ev, const struct bw_report *r, bw_change_fn fn,
		      void *ctx)
{
	int err = threads(ev, r, fn, ctx);

	err = deadlocks(ev, r, fn, ctx) ?: err;
	return leaks(ev, r, fn, ctx) ?: err;
}
