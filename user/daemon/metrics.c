// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "daemon/metrics.h"
#include "model/go.h"
#include "proc/procfs.h"

/* A process's score halves every report it does not block. */
#define DECAY 0.5
/* A newcomer takes the weakest place only when it blocked this much more
 * (hysteresis: two processes close in blocked time do not trade places
 * every report, their series coming and going). */
#define OVERTAKE 2.0
/* Go label values kept per process: the runtime has some 40 wait
 * reasons; sites past this many are summed into the last one. */
#define MAX_GO_COUNTS 64

static uint64_t real_starttime(uint32_t pid)
{
	return procfs_starttime((pid_t)pid);
}

static bool real_alive(uint32_t pid, uint64_t starttime)
{
	return procfs_starttime((pid_t)pid) == starttime;
}

int bw_metrics__init(struct bw_metrics *m, size_t max_procs)
{
	memset(m, 0, sizeof(*m));
	m->max_procs = max_procs ? max_procs : BW_METRICS_TOP;
	m->procs = calloc(m->max_procs, sizeof(*m->procs));
	if (!m->procs)
		return -ENOMEM;
	snprintf(m->other.comm, sizeof(m->other.comm), "other");
	m->alive = real_alive;
	m->starttime = real_starttime;
	return 0;
}

static void mproc_free(struct bw_mproc *p)
{
	free(p->reasons);
	free(p->go_reasons);
	free(p->suspects);
	p->reasons = NULL;
	p->go_reasons = p->suspects = NULL;
	p->nreasons = p->ngo_reasons = p->nsuspects = 0;
}

void bw_metrics__fini(struct bw_metrics *m)
{
	size_t i;

	for (i = 0; i < m->nprocs; i++)
		mproc_free(&m->procs[i]);
	mproc_free(&m->other);
	free(m->procs);
	m->procs = NULL;
	m->nprocs = 0;
}

static struct bw_mreason *reason_of(struct bw_mproc *p, const char *name)
{
	struct bw_mreason *r;
	size_t i;

	for (i = 0; i < p->nreasons; i++)
		if (!strcmp(p->reasons[i].name, name))
			return &p->reasons[i];
	r = realloc(p->reasons, (p->nreasons + 1) * sizeof(*r));
	if (!r)
		return NULL;
	p->reasons = r;
	r = &r[p->nreasons++];
	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "%s", name);
	return r;
}

static int go_count_add(struct bw_mgo_count **v, size_t *n, const char *name, uint32_t count)
{
	struct bw_mgo_count *c;
	size_t i;

	for (i = 0; i < *n; i++)
		if (!strcmp((*v)[i].name, name)) {
			(*v)[i].count += count;
			return 0;
		}
	if (*n >= MAX_GO_COUNTS) {
		(*v)[*n - 1].count += count;
		return 0;
	}
	c = realloc(*v, (*n + 1) * sizeof(*c));
	if (!c)
		return -ENOMEM;
	*v = c;
	c = &c[(*n)++];
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->count = count;
	return 0;
}

/* Everything @from says, counters and gauges, added to @to. */
static int fold(struct bw_mproc *to, const struct bw_mproc *from)
{
	size_t i;
	int err = 0;

	for (i = 0; i < from->nreasons; i++) {
		const struct bw_mreason *f = &from->reasons[i];
		struct bw_mreason *t = reason_of(to, f->name);

		if (!t)
			return -ENOMEM;
		t->offcpu_ns += f->offcpu_ns;
		t->blocks += f->blocks;
		t->blocked += f->blocked;
	}
	if (from->longest_ns > to->longest_ns)
		to->longest_ns = from->longest_ns;
	to->deadlocked += from->deadlocked;
	to->go = to->go || from->go;
	to->goroutines += from->goroutines;
	for (i = 0; !err && i < from->ngo_reasons; i++)
		err = go_count_add(&to->go_reasons, &to->ngo_reasons, from->go_reasons[i].name,
				   from->go_reasons[i].count);
	for (i = 0; !err && i < from->nsuspects; i++)
		err = go_count_add(&to->suspects, &to->nsuspects, from->suspects[i].name,
				   from->suspects[i].count);
	return err;
}

/* Place @i given up: its series go, its counts go on in "other". */
static int evict(struct bw_metrics *m, size_t i)
{
	int err = fold(&m->other, &m->procs[i]);

	mproc_free(&m->procs[i]);
	m->procs[i] = m->procs[--m->nprocs];
	memset(&m->procs[m->nprocs], 0, sizeof(m->procs[m->nprocs]));
	return err;
}

static void reset_gauges(struct bw_mproc *p)
{
	size_t i;

	for (i = 0; i < p->nreasons; i++)
		p->reasons[i].blocked = 0;
	p->longest_ns = 0;
	p->deadlocked = 0;
	p->go = false;
	p->goroutines = 0;
	free(p->go_reasons);
	free(p->suspects);
	p->go_reasons = p->suspects = NULL;
	p->ngo_reasons = p->nsuspects = 0;
}

static struct bw_mproc *find(struct bw_metrics *m, uint32_t pid)
{
	size_t i;

	for (i = 0; i < m->nprocs; i++)
		if (m->procs[i].pid == pid)
			return &m->procs[i];
	return NULL;
}

/* The series a process of the report counts in: its own (found, or
 * given a place now) or "other". */
static struct bw_mproc *place(struct bw_metrics *m, const struct bw_proc_report *p)
{
	struct bw_mproc *mp = find(m, p->pid);
	uint64_t start;
	size_t i, weakest = 0;

	if (mp)
		return mp;
	if (m->nprocs == m->max_procs) {
		for (i = 1; i < m->nprocs; i++)
			if (m->procs[i].score < m->procs[weakest].score)
				weakest = i;
		if ((double)p->blocked_ns <= OVERTAKE * m->procs[weakest].score ||
		    evict(m, weakest))
			return &m->other;
	}
	start = m->starttime(p->pid);
	if (!start)
		return &m->other; /* gone already */
	mp = &m->procs[m->nprocs++];
	memset(mp, 0, sizeof(*mp));
	mp->pid = p->pid;
	mp->starttime = start;
	return mp;
}

static int add_go(struct bw_mproc *mp, const struct bw_go_view *go)
{
	char site[BW_METRICS_SITE_LEN];
	uint32_t i;
	int err = 0;

	mp->go = true;
	mp->goroutines += go->goroutines;
	for (i = 0; !err && i < go->nreasons; i++)
		err = go_count_add(&mp->go_reasons, &mp->ngo_reasons, go->by_reason[i].name,
				   go->by_reason[i].count);
	for (i = 0; !err && i < go->ngroups; i++) {
		const struct bw_go_group *g = &go->groups[i];
		const struct bw_go_frame *f;
		const char *base;

		if (!g->leak_suspect)
			continue;
		if (g->blocking_site < 0 || (uint32_t)g->blocking_site >= g->nframes ||
		    !g->frames[g->blocking_site].func) {
			snprintf(site, sizeof(site), "?");
		} else {
			f = &g->frames[g->blocking_site];
			base = f->file ? strrchr(f->file, '/') : NULL;
			snprintf(site, sizeof(site), "%s %s:%u", f->func,
				 base ? base + 1 : f->file ? f->file : "?", f->line);
		}
		err = go_count_add(&mp->suspects, &mp->nsuspects, site, g->count);
	}
	return err;
}

static int add_proc(struct bw_metrics *m, const struct bw_proc_report *p)
{
	struct bw_mproc *mp = place(m, p);
	size_t i;

	if (mp != &m->other) {
		snprintf(mp->comm, sizeof(mp->comm), "%s", p->comm);
		mp->score += (double)p->blocked_ns;
		mp->seen = m->reports;
	}
	for (i = 0; i < p->nthreads; i++) {
		const struct bw_entry *e = p->threads[i];
		struct bw_mreason *r = reason_of(mp, e->reason);

		if (!r)
			return -ENOMEM;
		r->offcpu_ns += e->interval_ns;
		if (e->ongoing) {
			r->blocked += 1 + e->nsame;
			if (e->age_ns > mp->longest_ns)
				mp->longest_ns = e->age_ns;
		} else {
			r->blocks += e->count;
		}
	}
	return p->go ? add_go(mp, p->go) : 0;
}

static void add_deadlocks(struct bw_metrics *m, const struct bw_report *r)
{
	size_t i, j;

	for (i = 0; i < r->ndeadlocks; i++)
		for (j = 0; j < r->deadlocks[i].n; j++) {
			struct bw_mproc *mp = find(m, r->deadlocks[i].entries[j]->pid);

			(mp ? mp : &m->other)->deadlocked++;
		}
}

/* Processes that exited (or whose pid is another's now) take their
 * series with them. */
static int forget_exited(struct bw_metrics *m)
{
	size_t i = 0;
	int err = 0;

	while (i < m->nprocs) {
		struct bw_mproc *mp = &m->procs[i];

		if (mp->seen != m->reports && !m->alive(mp->pid, mp->starttime))
			err = evict(m, i) ?: err;
		else
			i++;
	}
	return err;
}

int bw_metrics__add(struct bw_metrics *m, const struct bw_report *r, const struct bw_mself *self)
{
	size_t i;
	int err = 0;

	m->reports++;
	for (i = 0; i < BW_DROP_MAX; i++)
		m->dropped[i] += r->dropped[i];
	m->late += r->late_count;
	m->threshold_ns = r->threshold_ns;
	m->last_report_ns = r->time_ns;
	if (self)
		m->self = *self;
	reset_gauges(&m->other);
	for (i = 0; i < m->nprocs; i++) {
		reset_gauges(&m->procs[i]);
		m->procs[i].score *= DECAY;
	}
	for (i = 0; i < r->nprocs; i++)
		err = add_proc(m, r->procs[i]) ?: err;
	add_deadlocks(m, r);
	return forget_exited(m) ?: err;
}

bool bw_metrics__other_used(const struct bw_metrics *m)
{
	return m->other.nreasons || m->other.go;
}

int bw_metrics__set_max(struct bw_metrics *m, size_t max_procs)
{
	struct bw_mproc *grown;
	int err = 0;

	if (!max_procs)
		max_procs = BW_METRICS_TOP;
	while (m->nprocs > max_procs) {
		size_t i, weakest = 0;

		for (i = 1; i < m->nprocs; i++)
			if (m->procs[i].score < m->procs[weakest].score)
				weakest = i;
		err = evict(m, weakest) ?: err;
	}
	if (max_procs > m->max_procs) {
		grown = realloc(m->procs, max_procs * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		memset(grown + m->max_procs, 0, (max_procs - m->max_procs) * sizeof(*grown));
		m->procs = grown;
	}
	m->max_procs = max_procs;
	return err;
}
