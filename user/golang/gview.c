// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>
#include "golang/gobin.h"
#include "golang/gview_int.h"
#include "proc/procfs.h"

#define MAX_FRAMES 128

/* --- grouping -------------------------------------------------------- */

const char *gview_reason(const struct builder *bd, const struct go_g *g)
{
	const struct go_layout *L = &bd->b->layout;

	if (g->status != GO_WAITING)
		return NULL;
	if (g->waitreason < L->nreasons && L->reasons[g->waitreason])
		return L->reasons[g->waitreason];
	return "unknown";
}

int gview_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

struct gkey {
	uint32_t status;
	uint32_t reason;
	int32_t stack;
	uint32_t pad;
	uint64_t gopc;
};

struct gent {
	UT_hash_handle hh;
	struct gkey key;
	uint32_t index;
};



static int groups_of(struct builder *bd, struct gent **index)
{
	const struct go_snapshot *s = bd->s;
	struct gview *v = bd->out;
	size_t i;

	for (i = 0; i < s->n; i++) {
		const struct go_g *g = &s->gs[i];
		struct gkey k = { g->status, g->status == GO_WAITING ? g->waitreason : 0, g->stack,
				  0, g->gopc };
		struct gent *e;

		bd->group_of[i] = UINT32_MAX;
		if (g->system) {
			v->v.system_goroutines++;
			continue;
		}
		v->v.goroutines++;
		HASH_FIND(hh, *index, &k, sizeof(k), e);
		if (!e) {
			e = calloc(1, sizeof(*e));
			if (!e)
				return -ENOMEM;
			e->key = k;
			e->index = v->v.ngroups++;
			HASH_ADD(hh, *index, key, sizeof(e->key), e);
		}
		bd->group_of[i] = e->index;
	}
	return 0;
}


/* Every group's count, state, reason, members (sorted) and oldest goids. */
static int fill_members(struct builder *bd)
{
	const struct go_snapshot *s = bd->s;
	struct gview *v = bd->out;
	uint32_t gi;
	size_t i;

	for (i = 0; i < s->n; i++)
		if (bd->group_of[i] != UINT32_MAX)
			v->groups[bd->group_of[i]].count++;
	for (gi = 0; gi < v->v.ngroups; gi++) {
		v->members[gi] = malloc(v->groups[gi].count * sizeof(uint64_t));
		if (!v->members[gi])
			return -ENOMEM;
	}
	for (i = 0; i < s->n; i++) {
		const struct go_g *g = &s->gs[i];
		struct bw_go_group *gr;

		if (bd->group_of[i] == UINT32_MAX)
			continue;
		gi = bd->group_of[i];
		gr = &v->groups[gi];
		if (!bd->member_n[gi]) {
			gr->state = go_state_name(g->status);
			gr->wait_reason = gview_reason(bd, g);
		}
		v->members[gi][bd->member_n[gi]++] = g->goid;
	}
	for (gi = 0; gi < v->v.ngroups; gi++) {
		struct bw_go_group *gr = &v->groups[gi];

		qsort(v->members[gi], gr->count, sizeof(uint64_t), gview_cmp_u64);
		gr->ngoids = gr->count < BW_GO_GOIDS ? gr->count : BW_GO_GOIDS;
		memcpy(gr->goids, v->members[gi], gr->ngoids * sizeof(uint64_t));
	}
	return 0;
}

static struct bw_go_frame go_frame(const struct go_sym *sym, uint64_t addr)
{
	return (struct bw_go_frame){
		.func = sym->func,
		.file = sym->file,
		.line = sym->line,
		.addr = addr,
		.inlined = sym->inlined,
		.runtime = sym->runtime,
	};
}

/* A group's frames: every pc expanded into its inlined calls. */
static int fill_frames(struct builder *bd, struct bw_go_group *gr, const struct go_stack *st)
{
	struct bw_go_frame tmp[MAX_FRAMES];
	uint32_t i, n = 0;
	int k, got;

	for (i = 0; i < st->npcs && n < MAX_FRAMES; i++) {
		const struct go_sym *syms;
		bool ret = i || !st->first_is_pc;

		got = gobin_symbolize(bd->b, st->pcs[i], ret, &syms);
		if (got < 0)
			return got;
		for (k = 0; k < got && n < MAX_FRAMES; k++)
			if (!syms[k].wrapper) /* as the runtime's tracebacks */
				tmp[n++] = go_frame(&syms[k], st->pcs[i] + bd->bias);
	}
	gr->truncated = st->truncated || i < st->npcs;
	gr->frames = malloc((n ? n : 1) * sizeof(*gr->frames));
	if (!gr->frames)
		return -ENOMEM;
	memcpy(gr->frames, tmp, n * sizeof(*tmp));
	gr->nframes = n;
	gr->blocking_site = -1;
	for (i = 0; i < n; i++)
		if (gr->frames[i].func && !gr->frames[i].runtime) {
			gr->blocking_site = (int32_t)i;
			break;
		}
	return 0;
}

/* "created by": the function holding the go statement, at the line of
 * the statement itself (the innermost inlined position, as the
 * runtime's printcreatedby shows it). */
static void fill_created_by(struct builder *bd, struct bw_go_group *gr, uint64_t gopc)
{
	const struct go_sym *syms;
	struct go_func f;
	int n;

	/* as printcreatedby: not for one the runtime made (goroutine 1, its
	 * own workers) */
	if (!gopc || gopclntab__find(bd->b->pcln, gopc, &f) || go_is_runtime_func(f.name))
		return;
	n = gobin_symbolize(bd->b, gopc, gopc > f.entry, &syms);
	if (n <= 0)
		return;
	gr->created_by = go_frame(&syms[0], gopc + bd->bias);
	gr->created_by.func = gobin_clean(bd->b, f.name);
	gr->created_by.inlined = false;
	gr->created_by.runtime = false;
}

/* Ages: from waitsince where the runtime set it (the first GC after the
 * goroutine parked), else from when blockwatch first saw it so; a
 * goroutine first seen just now has no known age. */
static void fill_ages(struct builder *bd)
{
	const struct go_snapshot *s = bd->s;
	struct gview *v = bd->out;
	size_t i;

	for (i = 0; i < s->n; i++) {
		const struct go_g *g = &s->gs[i];
		uint64_t since = gseen_since(bd->seen, g, bd->now), age;
		struct bw_go_group *gr;

		if (bd->group_of[i] == UINT32_MAX)
			continue;
		gr = &v->groups[bd->group_of[i]];
		/* the GC sets waitsince for waiting and syscall goroutines;
		 * others may carry a stale one until they run */
		if ((g->status == GO_WAITING || g->status == GO_SYSCALL) && g->waitsince > 0 &&
		    (uint64_t)g->waitsince <= bd->now && (uint64_t)g->waitsince < since)
			since = g->waitsince;
		if (since >= bd->now)
			continue;
		age = bd->now - since;
		if (!gr->age_known || age > gr->oldest_ns)
			gr->oldest_ns = age;
		if (!gr->age_known || age < gr->youngest_ns)
			gr->youngest_ns = age;
		gr->age_known = true;
	}
	gseen_sweep(bd->seen);
}

/* --- counts, order, the whole ----------------------------------------- */

static int count_name(struct bw_go_count **arr, uint32_t *n, const char *name)
{
	struct bw_go_count *grown;
	uint32_t i;

	for (i = 0; i < *n; i++)
		if (!strcmp((*arr)[i].name, name)) {
			(*arr)[i].count++;
			return 0;
		}
	grown = realloc(*arr, (*n + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	*arr = grown;
	grown[*n] = (struct bw_go_count){ name, 1 };
	(*n)++;
	return 0;
}

static int cmp_count(const void *a, const void *b)
{
	const struct bw_go_count *x = a, *y = b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return strcmp(x->name, y->name);
}

static int fill_counts(struct builder *bd)
{
	struct gview *v = bd->out;
	size_t i;

	for (i = 0; i < bd->s->n; i++) {
		const struct go_g *g = &bd->s->gs[i];
		const char *r = gview_reason(bd, g);

		if (bd->group_of[i] == UINT32_MAX)
			continue;
		if (count_name(&v->states, &v->v.nstates, go_state_name(g->status)) ||
		    (r && count_name(&v->reasons, &v->v.nreasons, r)))
			return -ENOMEM;
	}
	/* NULL while empty (no goroutine waits yet): qsort may not have it */
	if (v->v.nstates)
		qsort(v->states, v->v.nstates, sizeof(*v->states), cmp_count);
	if (v->v.nreasons)
		qsort(v->reasons, v->v.nreasons, sizeof(*v->reasons), cmp_count);
	v->v.by_state = v->states;
	v->v.by_reason = v->reasons;
	return 0;
}

static int cmp_group(const void *a, const void *b, void *ctx)
{
	const struct bw_go_group *groups = ctx;
	const struct bw_go_group *x = &groups[*(const uint32_t *)a];
	const struct bw_go_group *y = &groups[*(const uint32_t *)b];

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	if (x->oldest_ns != y->oldest_ns)
		return x->oldest_ns > y->oldest_ns ? -1 : 1;
	return x->goids[0] < y->goids[0] ? -1 : x->goids[0] > y->goids[0];
}

/* Most goroutines first, then the oldest; members and keys move with
 * their groups. */
static int sort_groups(struct gview *v)
{
	uint32_t n = v->v.ngroups, i, *order = malloc((n ? n : 1) * sizeof(*order));
	struct bw_go_group *groups = malloc((n ? n : 1) * sizeof(*groups));
	uint64_t **members = malloc((n ? n : 1) * sizeof(*members));
	uint64_t *keys = malloc((n ? n : 1) * sizeof(*keys));

	if (!order || !groups || !members || !keys) {
		free(order);
		free(groups);
		free(members);
		free(keys);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++)
		order[i] = i;
	qsort_r(order, n, sizeof(*order), cmp_group, v->groups);
	for (i = 0; i < n; i++) {
		groups[i] = v->groups[order[i]];
		members[i] = v->members[order[i]];
		keys[i] = v->keys[order[i]];
	}
	free(v->groups);
	free(v->members);
	free(v->keys);
	free(order);
	v->groups = groups;
	v->members = members;
	v->keys = keys;
	v->v.groups = groups;
	return 0;
}

/* A group's identity from report to report: FNV-1a over what makes it
 * (not its index, which changes). */
static uint64_t group_key(const struct go_g *g, const struct go_stack *st)
{
	/* the reason only counts while waiting, as in the grouping */
	uint64_t h = 1469598103934665603ULL,
		 parts[3] = { g->status, g->status == GO_WAITING ? g->waitreason : 0, g->gopc };
	const uint8_t *p;
	size_t i, len;

	for (i = 0; i < 3 + (st ? st->npcs : 0); i++) {
		uint64_t w = i < 3 ? parts[i] : st->pcs[i - 3];

		p = (const uint8_t *)&w;
		for (len = 0; len < 8; len++) {
			h ^= p[len];
			h *= 1099511628211ULL;
		}
	}
	return h;
}

/* Frames, creation site and identity, from each group's first member. */
static int fill_groups(struct builder *bd)
{
	struct gview *v = bd->out;
	uint32_t gi;
	size_t i;
	int err;

	memset(bd->member_n, 0, v->v.ngroups * sizeof(*bd->member_n));
	for (i = 0; i < bd->s->n; i++) {
		const struct go_g *g = &bd->s->gs[i];
		const struct go_stack *st;
		struct bw_go_group *gr;

		gi = bd->group_of[i];
		if (gi == UINT32_MAX || bd->member_n[gi]++)
			continue;
		gr = &v->groups[gi];
		st = g->stack >= 0 ? bd->s->stacks[g->stack] : NULL;
		v->keys[gi] = group_key(g, st);
		fill_created_by(bd, gr, g->gopc);
		if (!st) {
			gr->blocking_site = -1;
			continue;
		}
		err = fill_frames(bd, gr, st);
		if (err)
			return err;
	}
	return 0;
}

int gview_build(struct gview *out, const struct go_snapshot *s, struct gobin *b, pid_t pid,
		uint64_t bias, uint64_t now, struct gseen *seen)
{
	struct builder bd = { .out = out, .s = s, .b = b, .pid = pid, .bias = bias, .now = now,
			      .seen = seen };
	struct gent *index = NULL, *e, *tmp;
	size_t n = s->n ? s->n : 1;
	int err = -ENOMEM;

	memset(out, 0, sizeof(*out));
	out->v.version = b->elf.version;
	out->v.max_goroutines = s->max_goroutines;
	out->v.torn = s->torn;
	out->v.unreadable = s->unreadable;
	out->v.unwind_failed = s->unwind_failed;
	bd.group_of = malloc(n * sizeof(*bd.group_of));
	bd.chan_of = calloc(n, sizeof(*bd.chan_of));
	if (!bd.group_of || !bd.chan_of || groups_of(&bd, &index))
		goto out;
	n = out->v.ngroups ? out->v.ngroups : 1;
	out->groups = calloc(n, sizeof(*out->groups));
	out->members = calloc(n, sizeof(*out->members));
	out->keys = calloc(n, sizeof(*out->keys));
	bd.member_n = calloc(n, sizeof(*bd.member_n));
	if (!out->groups || !out->members || !out->keys || !bd.member_n)
		goto out;
	out->v.groups = out->groups;
	err = fill_members(&bd);
	if (!err)
		err = fill_groups(&bd);
	if (!err) {
		fill_ages(&bd);
		err = gview_read_channels(&bd);
	}
	if (!err)
		err = gview_assign_channels(&bd);
	if (!err)
		err = fill_counts(&bd);
	if (!err)
		err = sort_groups(out);
out:
	HASH_ITER(hh, index, e, tmp) {
		HASH_DEL(index, e);
		free(e);
	}
	free(bd.group_of);
	free(bd.chan_of);
	free(bd.member_n);
	if (err)
		gview_clear(out);
	return err;
}

void gview_clear(struct gview *v)
{
	uint32_t i;

	for (i = 0; v->groups && i < v->v.ngroups; i++) {
		free(v->groups[i].frames);
		if (v->members)
			free(v->members[i]);
	}
	for (i = 0; i < v->nstrings; i++)
		free(v->strings[i]);
	free(v->strings);
	free(v->groups);
	free(v->members);
	free(v->keys);
	free(v->channels);
	free(v->states);
	free(v->reasons);
	memset(v, 0, sizeof(*v));
}
