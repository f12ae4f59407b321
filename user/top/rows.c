// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The live view's rows: one report in, rows and totals out (uthash for
 * the per-thread totals over the run). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>
#include "base/util.h"
#include "model/go.h"
#include "report/fmt.h"
#include "report/text.h"
#include "stacks/stacktab.h"
#include "top/rows.h"

/* A thread unseen for this many reports leaves the totals. */
#define STAT_TTL 60

const char *const top_sort_names[TOP_SORT_MAX] = {
	[TOP_SORT_AGE] = "age",
	[TOP_SORT_TOTAL] = "total",
	[TOP_SORT_COUNT] = "count",
};

struct top_stat {
	uint32_t tid;
	uint64_t total_ns;
	uint64_t finished; /* blocks past the threshold that ended */
	uint64_t seen;	   /* the report it was last in */
	UT_hash_handle hh;
};

struct top_model *top_model__new(void)
{
	return calloc(1, sizeof(struct top_model));
}

static void free_rows(struct top_model *m)
{
	size_t i;

	for (i = 0; i < m->nrows; i++) {
		bw_stack_put(m->rows[i].stack);
		top_lines_free(m->rows[i].lines, m->rows[i].nlines);
	}
	free(m->rows);
	free(m->procs);
	m->rows = NULL;
	m->procs = NULL;
	m->nrows = m->nprocs = 0;
}

void top_model__free(struct top_model *m)
{
	struct top_stat *st, *tmp;

	if (!m)
		return;
	free_rows(m);
	HASH_ITER(hh, m->stats, st, tmp) {
		HASH_DEL(m->stats, st);
		free(st);
	}
	free(m);
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

static void copy_esc(char *dst, size_t len, const char *src)
{
	char buf[BW_ESC_LEN];

	snprintf(dst, len, "%s", src ? BW_ESC(src, buf) : "");
}

/* Frames of the C library, the loader, the C++ and Go runtimes: not
 * where the program's own code waits. */
static bool system_frame(const struct bw_frame *f)
{
	static const char *const libs[] = { "libc.so", "libc-", "libpthread", "ld-linux",
					    "libstdc++", "libgcc_s", "libm.so", "libdl" };
	const char *base;
	size_t i;

	if (f->kernel)
		return true;
	if (f->symbol && !strncmp(f->symbol, "runtime.", 8))
		return true;
	if (!f->module)
		return false;
	base = base_name(f->module);
	for (i = 0; i < BW_ARRAY_SIZE(libs); i++)
		if (!strncmp(base, libs[i], strlen(libs[i])))
			return true;
	return false;
}

/* @full: as the text report shows a frame; else short, for a column. */
static void frame_text(const struct bw_frame *f, bool full, char *buf, size_t len)
{
	char sb[BW_ESC_LEN], mb[BW_ESC_LEN], fb[BW_ESC_LEN];
	struct bw_strbuf s = { .buf = buf, .len = len };
	const char *sym = BW_ESC(f->symbol, sb);
	const char *mod = f->module ? BW_ESC(f->kernel ? f->module : base_name(f->module), mb)
				    : NULL;

	buf[0] = 0;
	if (f->kernel) {
		if (sym)
			bw_sb_printf(&s, "[k] %s+0x%" PRIx64, sym, f->symoff);
		else
			bw_sb_printf(&s, "[k] 0x%" PRIx64, f->addr);
		return;
	}
	if (sym && (f->inlined || !full))
		bw_sb_printf(&s, "%s", sym);
	else if (sym)
		bw_sb_printf(&s, "%s+0x%" PRIx64, sym, f->symoff);
	else if (mod)
		bw_sb_printf(&s, "%s+0x%" PRIx64, mod, f->offset);
	else
		bw_sb_printf(&s, "0x%" PRIx64, f->addr);
	if (full && sym)
		bw_sb_printf(&s, " (%s)", mod ? mod : "?");
	if (f->file)
		bw_sb_printf(&s, " %s:%u", BW_ESC(base_name(f->file), fb), f->line);
	if (full && f->inlined)
		bw_sb_printf(&s, " [inline]");
}

static void top_frame(const struct bw_stack *st, char *buf, size_t len)
{
	const struct bw_frame *first = NULL;
	uint32_t i;

	buf[0] = 0;
	if (!st)
		return;
	for (i = 0; i < st->nframes; i++) {
		const struct bw_frame *f = &st->frames[i];

		if (!first && !f->kernel)
			first = f;
		if (!system_frame(f)) {
			frame_text(f, false, buf, len);
			return;
		}
	}
	if (first)
		frame_text(first, false, buf, len);
}

static struct top_stat *stat_of(struct top_model *m, uint32_t tid)
{
	struct top_stat *st;

	HASH_FIND(hh, m->stats, &tid, sizeof(tid), st);
	if (st)
		return st;
	st = calloc(1, sizeof(*st));
	if (!st)
		return NULL;
	st->tid = tid;
	HASH_ADD(hh, m->stats, tid, sizeof(st->tid), st);
	return st;
}

/* Over the run: every entry's part of its interval, and the blocks that
 * ended; a block still going is counted once it ends (the row adds it). */
static int account(struct top_model *m, const struct bw_report *r)
{
	struct top_stat *st, *tmp;
	size_t i, j;
	int k;

	m->reports++;
	for (k = 0; k < BW_DROP_MAX; k++)
		m->dropped[k] += r->dropped[k];
	m->short_count += r->short_count;
	for (i = 0; i < r->nprocs; i++)
		for (j = 0; j < r->procs[i]->nthreads; j++) {
			const struct bw_entry *e = r->procs[i]->threads[j];

			st = stat_of(m, e->tid);
			if (!st)
				return -ENOMEM;
			st->total_ns += e->interval_ns;
			if (!e->ongoing)
				st->finished += e->count;
			st->seen = m->reports;
		}
	HASH_ITER(hh, m->stats, st, tmp)
		if (st->seen + STAT_TTL < m->reports) {
			HASH_DEL(m->stats, st);
			free(st);
		}
	return 0;
}

static void thread_row(struct top_model *m, const struct bw_entry *e, struct top_row *row)
{
	struct top_stat *st;

	row->kind = TOP_THREAD;
	row->pid = e->pid;
	row->tid = e->tid;
	row->key = e->tid;
	copy_esc(row->comm, sizeof(row->comm), e->comm);
	copy_esc(row->reason, sizeof(row->reason), e->reason);
	row->age_known = true;
	row->age_ns = e->age_ns;
	HASH_FIND(hh, m->stats, &e->tid, sizeof(e->tid), st);
	row->has_total = true;
	row->total_ns = st ? st->total_ns : e->interval_ns;
	row->count = (st ? st->finished : 0) + 1;
	row->owner = e->owner;
	if (e->owner)
		copy_esc(row->owner_comm, sizeof(row->owner_comm), e->owner_comm);
	bw_text_detail(&e->detail, row->wait, sizeof(row->wait));
	top_frame(e->stack, row->frame, sizeof(row->frame));
	row->stack = e->stack ? bw_stack_get(e->stack) : NULL;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	while (n--)
		h = (h ^ *b++) * 0x100000001b3ULL;
	return h;
}

static uint64_t fnv_str(uint64_t h, const char *s)
{
	return fnv(h, s ? s : "", s ? strlen(s) + 1 : 1);
}

static void go_frame_text(const struct bw_go_frame *f, char *buf, size_t len)
{
	char fn[BW_ESC_LEN], fl[BW_ESC_LEN];

	if (f->func)
		snprintf(buf, len, "%s %s:%u", BW_ESC(f->func, fn),
			 f->file ? BW_ESC(base_name(f->file), fl) : "?", f->line);
	else
		snprintf(buf, len, "0x%" PRIx64, f->addr);
}

static void chan_text(const struct bw_go_group *g, char *buf, size_t len)
{
	const struct bw_go_channel *c = g->channel;
	char type[BW_ESC_LEN];

	buf[0] = 0;
	if (!c)
		return;
	snprintf(buf, len, "chan %#" PRIx64 " (%s%s%" PRIu64 "/%" PRIu64 ", %s, %u sending, %u receiving)",
		 c->addr, c->elem_type ? BW_ESC(c->elem_type, type) : "", c->elem_type ? ", " : "",
		 c->len, c->cap, c->closed ? "closed" : "open", c->send_waiting, c->recv_waiting);
}

/* A group's frames: their strings are the Go binary's, gone with it. */
static int group_lines(const struct bw_go_group *g, struct top_row *row)
{
	char text[TOP_TEXT], line[TOP_TEXT + 32];
	uint32_t i;

	/* row->nlines counts what is there to free, on every path */
	row->lines = calloc(g->nframes + 2, sizeof(char *));
	if (!row->lines)
		return -ENOMEM;
	for (i = 0; i < g->nframes; i++) {
		go_frame_text(&g->frames[i], text, sizeof(text));
		snprintf(line, sizeof(line), "%s%s%s", text, g->frames[i].inlined ? " [inline]" : "",
			 g->frames[i].runtime ? " (runtime)" : "");
		if (!(row->lines[row->nlines++] = strdup(line)))
			return -ENOMEM;
	}
	if (g->truncated && !(row->lines[row->nlines++] = strdup("[stack truncated]")))
		return -ENOMEM;
	if (g->created_by.func) {
		go_frame_text(&g->created_by, text, sizeof(text));
		snprintf(line, sizeof(line), "created by %s", text);
		if (!(row->lines[row->nlines++] = strdup(line)))
			return -ENOMEM;
	}
	return 0;
}

static int group_row(const struct bw_proc_report *p, const struct bw_go_group *g,
		     struct top_row *row)
{
	uint64_t h = fnv(0xcbf29ce484222325ULL, &p->pid, sizeof(p->pid));
	const struct bw_go_frame *site = g->blocking_site >= 0 ? &g->frames[g->blocking_site] : NULL;

	row->kind = TOP_GROUP;
	row->pid = p->pid;
	copy_esc(row->comm, sizeof(row->comm), p->comm);
	copy_esc(row->reason, sizeof(row->reason), g->wait_reason ? g->wait_reason : g->state);
	row->age_known = g->age_known;
	row->age_ns = g->age_known ? g->oldest_ns : 0;
	row->count = g->count;
	chan_text(g, row->wait, sizeof(row->wait));
	if (site)
		go_frame_text(site, row->frame, sizeof(row->frame));
	h = fnv_str(h, g->state);
	h = fnv_str(h, g->wait_reason);
	if (site) {
		h = fnv_str(h, site->func);
		h = fnv(h, &site->line, sizeof(site->line));
	}
	h = fnv_str(h, g->created_by.func);
	row->key = fnv(h, &g->created_by.line, sizeof(g->created_by.line)) | 1ULL << 63;
	return group_lines(g, row);
}

static bool group_blocked(const struct bw_go_group *g)
{
	return g->state && strcmp(g->state, "running") && strcmp(g->state, "runnable");
}

static size_t count_rows(const struct bw_report *r)
{
	size_t i, j, n = 0;

	for (i = 0; i < r->nprocs; i++) {
		const struct bw_proc_report *p = r->procs[i];

		for (j = 0; j < p->nthreads; j++)
			n += p->threads[j]->ongoing;
		for (j = 0; p->go && j < p->go->ngroups; j++)
			n += group_blocked(&p->go->groups[j]);
	}
	return n;
}

static int proc_cmp(const void *pa, const void *pb)
{
	const struct top_proc *a = pa, *b = pb;
	uint64_t na = a->threads + a->goroutines, nb = b->threads + b->goroutines;

	if (na != nb)
		return na > nb ? -1 : 1;
	if (a->blocked_ns != b->blocked_ns)
		return a->blocked_ns > b->blocked_ns ? -1 : 1;
	return a->pid < b->pid ? -1 : a->pid > b->pid;
}

static int build(struct top_model *m, const struct bw_report *r)
{
	size_t i, j, n = count_rows(r);
	int err;

	m->rows = calloc(n ? n : 1, sizeof(*m->rows));
	m->procs = calloc(r->nprocs ? r->nprocs : 1, sizeof(*m->procs));
	if (!m->rows || !m->procs)
		return -ENOMEM;
	for (i = 0; i < r->nprocs; i++) {
		const struct bw_proc_report *p = r->procs[i];
		struct top_proc *tp = &m->procs[m->nprocs++];

		tp->pid = p->pid;
		copy_esc(tp->comm, sizeof(tp->comm), p->comm);
		tp->blocked_ns = p->blocked_ns;
		for (j = 0; j < p->nthreads; j++) {
			if (!p->threads[j]->ongoing)
				continue;
			thread_row(m, p->threads[j], &m->rows[m->nrows++]);
			tp->threads++;
		}
		for (j = 0; p->go && j < p->go->ngroups; j++) {
			const struct bw_go_group *g = &p->go->groups[j];

			if (!group_blocked(g))
				continue;
			err = group_row(p, g, &m->rows[m->nrows++]);
			if (err)
				return err;
			tp->groups++;
			tp->goroutines += g->count;
		}
	}
	qsort(m->procs, m->nprocs, sizeof(*m->procs), proc_cmp);
	return 0;
}

int top_model__update(struct top_model *m, const struct bw_report *r, bool rows)
{
	int err = account(m, r);

	m->warning = r->nwarnings ? r->warnings[0] : NULL;
	if (err || !rows)
		return err;
	free_rows(m);
	m->time_ns = r->time_ns;
	m->interval_ns = r->interval_ns;
	m->threshold_ns = r->threshold_ns;
	err = build(m, r);
	if (err)
		free_rows(m);
	return err;
}

bool top_row_match(const struct top_row *row, const struct top_filter *f)
{
	if (f->pid && row->pid != f->pid)
		return false;
	return !f->reason[0] || strcasestr(row->reason, f->reason);
}

static int cmp_u64(uint64_t a, uint64_t b)
{
	return a > b ? -1 : a < b;
}

int top_row_cmp(const struct top_row *a, const struct top_row *b, enum top_sort by)
{
	int c = 0;

	if (by == TOP_SORT_TOTAL)
		c = cmp_u64(a->has_total ? a->total_ns : 0, b->has_total ? b->total_ns : 0);
	else if (by == TOP_SORT_COUNT)
		c = cmp_u64(a->count, b->count);
	if (c)
		return c;
	if (a->age_known != b->age_known)
		return a->age_known ? -1 : 1;
	c = cmp_u64(a->age_ns, b->age_ns);
	if (c)
		return c;
	if (a->pid != b->pid)
		return a->pid < b->pid ? -1 : 1;
	if (a->tid != b->tid)
		return a->tid < b->tid ? -1 : 1;
	return a->key < b->key ? -1 : a->key > b->key;
}

static int select_cmp(const void *pa, const void *pb, void *arg)
{
	return top_row_cmp(*(const struct top_row *const *)pa, *(const struct top_row *const *)pb,
			   *(enum top_sort *)arg);
}

long top_select(const struct top_model *m, const struct top_filter *f, enum top_sort by,
		const struct top_row ***out)
{
	const struct top_row **v = calloc(m->nrows ? m->nrows : 1, sizeof(*v));
	size_t i, n = 0;

	if (!v)
		return -ENOMEM;
	for (i = 0; i < m->nrows; i++)
		if (top_row_match(&m->rows[i], f))
			v[n++] = &m->rows[i];
	qsort_r(v, n, sizeof(*v), select_cmp, &by);
	*out = v;
	return (long)n;
}

void top_lines_free(char **lines, long n)
{
	long i;

	for (i = 0; lines && i < n; i++)
		free(lines[i]);
	free(lines);
}

long top_row_lines(const struct top_row *row, char ***out)
{
	const struct bw_stack *st = row->stack;
	uint32_t i, n = row->kind == TOP_GROUP ? row->nlines : st ? st->nframes + 1 : 0;
	char **v = calloc(n ? n : 1, sizeof(*v)), text[TOP_TEXT];
	long k = 0;

	if (!v)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		const char *line = text;

		if (row->kind == TOP_GROUP)
			line = row->lines[i];
		else if (i < st->nframes)
			frame_text(&st->frames[i], true, text, sizeof(text));
		else if (st->truncated)
			line = "[stack truncated]";
		else
			break;
		if (!(v[k++] = strdup(line))) {
			top_lines_free(v, k);
			return -ENOMEM;
		}
	}
	*out = v;
	return k;
}
