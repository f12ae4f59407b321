// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Per-interval aggregation: samples merged into entries, entries into
 * processes, then sorted into the report model. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>
#include "model/agg.h"
#include "model/owners.h"
#include "stacks/stacktab.h"

struct entry_key {
	uint32_t pid;
	uint32_t tid;
	/* by content: a stack named again (its process's maps changed) is
	 * still the same stack, one entry */
	uint64_t stack;
	uint32_t ongoing;
	uint64_t object;
	char reason[BW_REASON_LEN];
};

struct agg_entry {
	UT_hash_handle hh;
	struct entry_key key;
	struct bw_entry e;
};

struct agg_proc {
	UT_hash_handle hh;
	struct bw_proc_report r;
	size_t cap;
};

struct agg {
	struct agg_entry *entries;
	struct agg_proc *procs;
	struct bw_proc_report **sorted;
	struct bw_cycle *cycles;
	size_t ncycles;
};

struct agg *agg__new(void)
{
	return calloc(1, sizeof(struct agg));
}

void agg__reset(struct agg *a)
{
	struct agg_entry *e, *e_tmp;
	struct agg_proc *p, *p_tmp;

	HASH_ITER(hh, a->entries, e, e_tmp) {
		HASH_DEL(a->entries, e);
		free(e->e.same_tids);
		bw_detail_clear(&e->e.detail);
		bw_stack_put(e->e.stack);
		free(e);
	}
	bw_cycles_free(a->cycles, a->ncycles);
	a->cycles = NULL;
	a->ncycles = 0;
	HASH_ITER(hh, a->procs, p, p_tmp) {
		HASH_DEL(a->procs, p);
		free(p->r.threads);
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

static struct agg_proc *proc_get(struct agg *a, uint32_t pid, const char *comm)
{
	struct agg_proc *p;

	HASH_FIND(hh, a->procs, &pid, sizeof(pid), p);
	if (p)
		return p;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->r.pid = pid;
	snprintf(p->r.comm, sizeof(p->r.comm), "%s", comm ? comm : "");
	HASH_ADD(hh, a->procs, r.pid, sizeof(p->r.pid), p);
	return p;
}

int agg__go(struct agg *a, uint32_t pid, const char *comm, const struct bw_go_view *v)
{
	struct agg_proc *p = proc_get(a, pid, comm);

	if (!p)
		return -ENOMEM;
	p->r.go = v;
	return 0;
}

static struct agg_entry *entry_new(struct agg_proc *p, const struct entry_key *key,
				   struct bw_sample *s)
{
	struct agg_entry *ae;

	if (p->r.nthreads == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 8;
		struct bw_entry **t = realloc(p->r.threads, cap * sizeof(*t));

		if (!t)
			return NULL;
		p->r.threads = t;
		p->cap = cap;
	}
	ae = calloc(1, sizeof(*ae));
	if (!ae)
		return NULL;
	ae->key = *key;
	ae->e.pid = s->pid;
	ae->e.tid = s->tid;
	ae->e.ongoing = s->ongoing;
	ae->e.object = key->object;
	snprintf(ae->e.reason, sizeof(ae->e.reason), "%s", key->reason);
	snprintf(ae->e.comm, sizeof(ae->e.comm), "%s", s->comm ? s->comm : "");
	ae->e.stack = bw_stack_get(s->stack);
	if (s->wait)
		bw_detail_move(&ae->e.detail, &s->wait->detail);
	p->r.threads[p->r.nthreads++] = &ae->e;
	return ae;
}

static void set_owner(struct bw_entry *e, const struct bw_wait_info *w)
{
	if (!w || !w->owner)
		return;
	/* A later record may come after the owner is gone ("?"): the name
	 * an earlier one found for the same owner stays. */
	if (e->owner != w->owner || !e->owner_comm[0] || strcmp(w->owner_comm, "?"))
		snprintf(e->owner_comm, sizeof(e->owner_comm), "%s", w->owner_comm);
	e->owner = w->owner;
}

int agg__add(struct agg *a, struct bw_sample *s)
{
	uint64_t max = s->max_ns < s->blocked_ns ? s->max_ns : s->blocked_ns;
	struct agg_entry *ae;
	struct agg_proc *p;
	struct entry_key key;
	struct bw_entry *e;

	if (!s->stack)
		return -EINVAL;
	memset(&key, 0, sizeof(key));
	key.pid = s->pid;
	key.tid = s->tid;
	key.ongoing = s->ongoing;
	key.object = s->wait ? s->wait->object : 0;
	snprintf(key.reason, sizeof(key.reason), "%s", s->reason);
	key.stack = s->stack->id;
	p = proc_get(a, s->pid, s->pcomm);
	if (!p)
		return -ENOMEM;
	HASH_FIND(hh, a->entries, &key, sizeof(key), ae);
	if (!ae) {
		ae = entry_new(p, &key, s);
		if (!ae)
			return -ENOMEM;
		HASH_ADD(hh, a->entries, key, sizeof(key), ae);
	}
	e = &ae->e;
	e->interval_ns += s->blocked_ns;
	e->count += s->count;
	if (max > e->interval_max_ns)
		e->interval_max_ns = max;
	if (s->max_ns > e->whole_max_ns)
		e->whole_max_ns = s->max_ns;
	if (s->age_ns > e->age_ns)
		e->age_ns = s->age_ns;
	set_owner(e, s->wait);
	return 0;
}

static int cmp_entry(const void *x, const void *y)
{
	const struct bw_entry *a = *(struct bw_entry *const *)x;
	const struct bw_entry *b = *(struct bw_entry *const *)y;

	if (a->ongoing != b->ongoing)
		return a->ongoing ? -1 : 1;
	if (a->age_ns != b->age_ns)
		return a->age_ns > b->age_ns ? -1 : 1;
	if (a->interval_ns != b->interval_ns)
		return a->interval_ns > b->interval_ns ? -1 : 1;
	if (a->tid != b->tid)
		return a->tid < b->tid ? -1 : 1;
	return strcmp(a->reason, b->reason);
}

static int cmp_proc(const void *x, const void *y)
{
	const struct bw_proc_report *a = *(struct bw_proc_report *const *)x;
	const struct bw_proc_report *b = *(struct bw_proc_report *const *)y;

	if (a->blocked_ns != b->blocked_ns)
		return a->blocked_ns > b->blocked_ns ? -1 : 1;
	return a->pid < b->pid ? -1 : a->pid > b->pid;
}

/* A thread of a Go process with nothing but the runtime on its stack,
 * asleep: an idle M (in the scheduler, the netpoller, sysmon). */
static bool go_idle(const struct bw_entry *e)
{
	const struct bw_stack *st = e->stack;
	uint32_t i, user = 0;

	for (i = 0; i < st->nframes; i++) {
		const char *sym = st->frames[i].symbol;

		if (st->frames[i].kernel)
			continue;
		if (!sym || strncmp(sym, "runtime.", 8))
			return false;
		user++;
	}
	return user && e->ongoing;
}

/* The idle Ms of a Go process into the first of them. */
static void merge_go_idle(struct bw_proc_report *p)
{
	struct bw_entry *first = NULL;
	size_t j, k = 0;

	for (j = 0; j < p->nthreads; j++) {
		struct bw_entry *e = p->threads[j];
		uint32_t *grown;

		p->threads[k++] = e;
		if (!go_idle(e))
			continue;
		if (!first) {
			first = e;
			continue;
		}
		grown = realloc(first->same_tids, (first->nsame + 1) * sizeof(*grown));
		if (!grown)
			continue; /* it stays an entry of its own */
		first->same_tids = grown;
		first->same_tids[first->nsame++] = e->tid;
		k--;
	}
	p->nthreads = k;
}

/* Split blocks can still overshoot by the few microseconds between a
 * record's end and the report: capped at the interval. */
static void finish_entries(struct bw_proc_report *p, uint64_t interval_ns)
{
	size_t j;

	p->blocked_ns = 0;
	for (j = 0; j < p->nthreads; j++) {
		struct bw_entry *e = p->threads[j];

		if (interval_ns && e->interval_ns > interval_ns)
			e->interval_ns = interval_ns;
		if (e->interval_max_ns > e->interval_ns)
			e->interval_max_ns = e->interval_ns;
		e->blocked_ns = e->ongoing ? e->age_ns : e->interval_ns;
		e->max_ns = e->ongoing ? e->age_ns : e->interval_max_ns;
		p->blocked_ns += e->interval_ns;
	}
	if (p->nthreads) /* a Go process may have none: threads is NULL */
		qsort(p->threads, p->nthreads, sizeof(*p->threads), cmp_entry);
	if (p->go)
		merge_go_idle(p);
}

static int link_owners(struct agg *a)
{
	size_t n = 0, cap = HASH_COUNT(a->entries);
	struct agg_entry *ae, *tmp;
	struct bw_entry **ongoing;
	int err;

	ongoing = calloc(cap ? cap : 1, sizeof(*ongoing));
	if (!ongoing)
		return -ENOMEM;
	HASH_ITER(hh, a->entries, ae, tmp)
		if (ae->e.ongoing)
			ongoing[n++] = &ae->e;
	err = bw_owners_link(ongoing, n, &a->cycles, &a->ncycles);
	free(ongoing);
	return err;
}

int agg__build(struct agg *a, struct bw_report *r, unsigned int top)
{
	size_t n = HASH_COUNT(a->procs), i = 0;
	struct agg_proc *p, *tmp;

	free(a->sorted);
	a->sorted = calloc(n ? n : 1, sizeof(*a->sorted));
	if (!a->sorted)
		return -ENOMEM;
	r->blocked_procs = 0;
	HASH_ITER(hh, a->procs, p, tmp) {
		finish_entries(&p->r, r->interval_ns);
		r->blocked_procs += p->r.nthreads > 0;
		a->sorted[i++] = &p->r;
	}
	qsort(a->sorted, n, sizeof(*a->sorted), cmp_proc);
	bw_cycles_free(a->cycles, a->ncycles);
	a->cycles = NULL;
	a->ncycles = 0;
	if (link_owners(a))
		return -ENOMEM;
	r->ndeadlocks = a->ncycles;
	r->deadlocks = a->cycles;
	r->total_procs = n;
	r->nprocs = top && top < n ? top : n;
	r->procs = a->sorted;
	return 0;
}
