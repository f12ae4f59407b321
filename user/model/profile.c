// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "model/go.h"
#include "model/profile.h"
#include "stacks/stacktab.h"

struct bw_profile *profile__new(void)
{
	return calloc(1, sizeof(struct bw_profile));
}

static void free_groups(struct bw_prof_ggroup *g, uint32_t n)
{
	uint32_t i, j;

	for (i = 0; i < n; i++) {
		for (j = 0; j < g[i].nframes; j++) {
			free(g[i].frames[j].func);
			free(g[i].frames[j].file);
		}
		free(g[i].frames);
		free(g[i].state);
		free(g[i].wait_reason);
	}
	free(g);
}

void profile__free(struct bw_profile *p)
{
	struct bw_prof_sample *s, *ts;
	struct bw_prof_go *g, *tg;

	if (!p)
		return;
	HASH_ITER(hh, p->samples, s, ts) {
		HASH_DEL(p->samples, s);
		bw_stack_put(s->k.stack);
		free(s);
	}
	HASH_ITER(hh, p->gos, g, tg) {
		HASH_DEL(p->gos, g);
		free_groups(g->groups, g->ngroups);
		free(g);
	}
	free(p);
}

/* @src is a NUL-terminated array of @len (or less); @dst is zeroed */
static void copy_name(char *dst, const char *src, size_t len)
{
	size_t n = strnlen(src, len - 1);

	memcpy(dst, src, n);
	dst[n] = 0;
}

static struct bw_prof_sample *sample_of(struct bw_profile *p, const struct bw_proc_report *pr,
					const struct bw_entry *e)
{
	struct bw_prof_key k;
	struct bw_prof_sample *s;

	memset(&k, 0, sizeof(k)); /* the key is hashed whole, padding too */
	k.stack = e->stack;
	k.pid = e->pid;
	k.tid = e->tid;
	copy_name(k.comm, e->comm, sizeof(k.comm));
	copy_name(k.reason, e->reason, sizeof(k.reason));
	HASH_FIND(hh, p->samples, &k, sizeof(k), s);
	if (s)
		return s;
	if (p->nsamples >= BW_PROFILE_MAX) {
		p->overflow++;
		k.stack = NULL;
		k.tid = 0;
		memset(k.comm, 0, sizeof(k.comm));
		HASH_FIND(hh, p->samples, &k, sizeof(k), s);
		if (s)
			return s;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->k = k;
	copy_name(s->pcomm, pr->comm, sizeof(s->pcomm));
	if (s->k.stack)
		bw_stack_get(s->k.stack);
	HASH_ADD(hh, p->samples, k, sizeof(s->k), s);
	p->nsamples++;
	return s;
}

/* A block open at an earlier report and in none since (its process was
 * cut by --top from the reports between): it ended unseen, and its
 * open part counts as a block that ended. */
static void close_stale(struct bw_prof_sample *s, uint64_t gen)
{
	if (s->open_ns && s->open_gen + 1 < gen) {
		s->ns += s->open_ns;
		s->count++;
		s->open_ns = 0;
	}
}

/* Finished entries first, so that a thread's block that ends and its
 * next one that is still open at the same report stay apart. */
static int add_entry(struct bw_profile *p, const struct bw_proc_report *pr,
		     const struct bw_entry *e, uint64_t extra)
{
	struct bw_prof_sample *s = sample_of(p, pr, e);
	uint64_t ns = e->interval_ns + extra;

	if (!s)
		return -ENOMEM;
	close_stale(s, p->reports);
	if (e->ongoing) {
		s->open_ns += ns;
		s->open_gen = p->reports;
		return 0;
	}
	/* the end of the block open before, and any that began and ended
	 * inside this interval */
	s->ns += s->open_ns + ns;
	s->count += e->count;
	s->open_ns = 0;
	return 0;
}

static char *dup_or_null(const char *s, int *err)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		*err = -ENOMEM;
	return d;
}

static int copy_group(struct bw_prof_ggroup *d, const struct bw_go_group *g)
{
	uint32_t i;
	int err = 0;

	d->count = g->count;
	d->state = dup_or_null(g->state, &err);
	d->wait_reason = dup_or_null(g->wait_reason, &err);
	d->frames = calloc(g->nframes ? g->nframes : 1, sizeof(*d->frames));
	if (!d->frames)
		return -ENOMEM;
	d->nframes = g->nframes;
	for (i = 0; i < g->nframes; i++) {
		d->frames[i].func = dup_or_null(g->frames[i].func, &err);
		d->frames[i].file = dup_or_null(g->frames[i].file, &err);
		d->frames[i].line = g->frames[i].line;
		d->frames[i].addr = g->frames[i].addr;
		d->frames[i].inlined = g->frames[i].inlined;
	}
	return err;
}

/* The process's goroutine view replaces the one kept. */
static int add_go(struct bw_profile *p, const struct bw_proc_report *pr)
{
	const struct bw_go_view *v = pr->go;
	struct bw_prof_ggroup *groups;
	struct bw_prof_go *g;
	uint32_t i;
	int err = 0;

	if (!v || v->warning)
		return 0;
	groups = calloc(v->ngroups ? v->ngroups : 1, sizeof(*groups));
	if (!groups)
		return -ENOMEM;
	for (i = 0; i < v->ngroups && !err; i++)
		err = copy_group(&groups[i], &v->groups[i]);
	if (err) {
		free_groups(groups, v->ngroups);
		return err;
	}
	HASH_FIND(hh, p->gos, &pr->pid, sizeof(pr->pid), g);
	if (!g) {
		g = calloc(1, sizeof(*g));
		if (!g) {
			free_groups(groups, v->ngroups);
			return -ENOMEM;
		}
		g->pid = pr->pid;
		HASH_ADD(hh, p->gos, pid, sizeof(g->pid), g);
	}
	free_groups(g->groups, g->ngroups);
	copy_name(g->comm, pr->comm, sizeof(g->comm));
	g->groups = groups;
	g->ngroups = v->ngroups;
	return 0;
}

/* The idle runtime threads of a Go process merged into one entry are in
 * the process's total, not in the entry's: the difference is theirs. */
static uint64_t merged_ns(const struct bw_proc_report *pr)
{
	uint64_t sum = 0;
	size_t j;

	for (j = 0; j < pr->nthreads; j++)
		sum += pr->threads[j]->interval_ns;
	return pr->blocked_ns > sum ? pr->blocked_ns - sum : 0;
}

int profile__add(struct bw_profile *p, const struct bw_report *r)
{
	size_t i, j;
	int pass, err;

	if (!p->reports++)
		p->start_ns = r->time_ns - r->interval_ns;
	p->end_ns = r->time_ns;
	for (i = 0; i < r->nprocs; i++) {
		const struct bw_proc_report *pr = r->procs[i];
		uint64_t extra = merged_ns(pr);

		for (pass = 0; pass < 2; pass++) {
			for (j = 0; j < pr->nthreads; j++) {
				const struct bw_entry *e = pr->threads[j];

				if (e->ongoing != (pass == 1))
					continue;
				err = add_entry(p, pr, e, e->nsame ? extra : 0);
				if (err)
					return err;
			}
		}
		err = add_go(p, pr);
		if (err)
			return err;
	}
	return 0;
}

static int cmp_sample(const void *a, const void *b)
{
	const struct bw_prof_sample *x = *(const struct bw_prof_sample *const *)a;
	const struct bw_prof_sample *y = *(const struct bw_prof_sample *const *)b;
	uint64_t ix = x->k.stack ? x->k.stack->id : 0, iy = y->k.stack ? y->k.stack->id : 0;

	if (x->k.pid != y->k.pid)
		return x->k.pid < y->k.pid ? -1 : 1;
	if (x->k.tid != y->k.tid)
		return x->k.tid < y->k.tid ? -1 : 1;
	if (ix != iy)
		return ix < iy ? -1 : 1;
	return strcmp(x->k.reason, y->k.reason);
}

int profile__each(const struct bw_profile *p, bw_prof_fn fn, void *ctx)
{
	struct bw_prof_sample **all, *s, *ts;
	size_t n = 0, i;
	int ret = 0;

	all = calloc(p->nsamples ? p->nsamples : 1, sizeof(*all));
	if (!all)
		return -ENOMEM;
	HASH_ITER(hh, p->samples, s, ts)
		all[n++] = s;
	qsort(all, n, sizeof(*all), cmp_sample);
	for (i = 0; i < n && !ret; i++) {
		s = all[i];
		/* open at the last report: ongoing; open before: it ended */
		bool open = s->open_ns && s->open_gen == p->reports;
		uint64_t ns = s->ns + (open ? 0 : s->open_ns);
		uint64_t count = s->count + (!open && s->open_ns);

		if (ns || count)
			ret = fn(ctx, s, false, ns, count);
		if (!ret && open)
			ret = fn(ctx, s, true, s->open_ns, 1);
	}
	free(all);
	return ret;
}
