// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* top/rows.c, the live view's model apart from the terminal: rows from
 * reports (blocked now only, escaped, the top user frame, goroutine
 * groups), totals over the run, filtering, sorting, expanded lines. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <errno.h>
#include "cli/cli.h"
#include "model/go.h"
#include "model/report.h"
#include "stacks/stacktab.h"
#include "top/rows.h"

#define MS 1000000ULL

static struct bw_stack *stack(const char *leaf, const char *own, const char *file)
{
	struct bw_stack *st = calloc(1, sizeof(*st));

	st->refs = 1;
	st->nframes = 3;
	st->frames = calloc(3, sizeof(*st->frames));
	st->frames[0].symbol = strdup(leaf);
	st->frames[0].module = strdup("/usr/lib/x86_64-linux-gnu/libc.so.6");
	st->frames[0].symoff = 0x2b;
	st->frames[1].symbol = strdup(own);
	st->frames[1].module = strdup("/srv/app");
	st->frames[1].file = strdup(file);
	st->frames[1].line = 42;
	st->frames[1].symoff = 0x10;
	st->frames[2].symbol = strdup("start_thread");
	st->frames[2].module = strdup("/usr/lib/x86_64-linux-gnu/libc.so.6");
	return st;
}

struct fixture {
	struct bw_entry e[4];
	struct bw_entry *threads[4];
	struct bw_proc_report p[2];
	struct bw_proc_report *procs[2];
	struct bw_go_frame gframes[2];
	struct bw_go_group groups[2];
	struct bw_go_view go;
	struct bw_report r;
	struct bw_stack *st[3];
};

static void entry(struct bw_entry *e, uint32_t pid, uint32_t tid, const char *comm,
		  const char *reason, bool ongoing, uint64_t age, uint64_t part, uint64_t count,
		  struct bw_stack *st)
{
	memset(e, 0, sizeof(*e));
	e->pid = pid;
	e->tid = tid;
	snprintf(e->comm, sizeof(e->comm), "%s", comm);
	snprintf(e->reason, sizeof(e->reason), "%s", reason);
	e->ongoing = ongoing;
	e->age_ns = ongoing ? age : 0;
	e->blocked_ns = ongoing ? age : part;
	e->interval_ns = part;
	e->count = count;
	e->stack = st;
}

/*
 * Process 100 "svc": tid 101 in a mutex for 5 s (held by 102), tid 102 in
 * read for 2 s, tid 103 finished 3 blocks (not blocked now). Process 200
 * "go-svc": tid 201, whose name is a terminal's commands, in epoll for
 * 300 ms; and a goroutine group of 50 in chan send, a running one.
 */
static void setup_report(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	f->st[0] = stack("__lll_lock_wait", "db_query", "/src/db.c");
	f->st[1] = stack("read", "read_config", "/src/config.c");
	f->st[2] = stack("epoll_wait", "loop", "/src/loop.c");
	entry(&f->e[0], 100, 101, "worker", "mutex", true, 5000 * MS, 1000 * MS, 1, f->st[0]);
	f->e[0].owner = 102;
	snprintf(f->e[0].owner_comm, sizeof(f->e[0].owner_comm), "reader");
	entry(&f->e[1], 100, 102, "reader", "read", true, 2000 * MS, 1000 * MS, 1, f->st[1]);
	entry(&f->e[2], 100, 103, "busy", "futex", false, 0, 600 * MS, 3, f->st[1]);
	entry(&f->e[3], 200, 201, "\x1b]0;pwn\x07", "epoll", true, 300 * MS, 300 * MS, 1,
	      f->st[2]);
	for (int i = 0; i < 4; i++)
		f->threads[i] = &f->e[i];
	f->p[0] = (struct bw_proc_report){ .pid = 100, .blocked_ns = 2600 * MS, .nthreads = 3,
					   .threads = &f->threads[0] };
	snprintf(f->p[0].comm, sizeof(f->p[0].comm), "svc");
	f->gframes[0] = (struct bw_go_frame){ .func = "runtime.chansend", .file = "/go/chan.go",
					      .line = 259, .runtime = true };
	f->gframes[1] = (struct bw_go_frame){ .func = "main.leak", .file = "/src/leak.go", .line = 9 };
	f->groups[0] = (struct bw_go_group){ .count = 50, .state = "waiting",
					     .wait_reason = "chan send", .nframes = 2,
					     .frames = f->gframes, .blocking_site = 1,
					     .age_known = true, .oldest_ns = 9000 * MS };
	f->groups[0].created_by = (struct bw_go_frame){ .func = "main.spawn", .file = "/src/leak.go",
							.line = 20 };
	f->groups[1] = (struct bw_go_group){ .count = 1, .state = "running", .blocking_site = -1 };
	f->go = (struct bw_go_view){ .ngroups = 2, .groups = f->groups, .goroutines = 51 };
	f->p[1] = (struct bw_proc_report){ .pid = 200, .blocked_ns = 300 * MS, .nthreads = 1,
					   .threads = &f->threads[3], .go = &f->go };
	snprintf(f->p[1].comm, sizeof(f->p[1].comm), "go-svc");
	f->procs[0] = &f->p[0];
	f->procs[1] = &f->p[1];
	f->r = (struct bw_report){ .kind = BW_REPORT_INTERVAL, .time_ns = 1, .interval_ns = 1000 * MS,
				   .threshold_ns = 100 * MS, .nprocs = 2, .procs = f->procs };
	f->r.dropped[BW_DROP_RINGBUF] = 2;
}

static void teardown_report(struct fixture *f)
{
	for (int i = 0; i < 3; i++)
		bw_stack_put(f->st[i]);
}

static const struct top_row *row_of(const struct top_model *m, uint32_t tid)
{
	for (size_t i = 0; i < m->nrows; i++)
		if (m->rows[i].kind == TOP_THREAD && m->rows[i].tid == tid)
			return &m->rows[i];
	return NULL;
}

static const struct top_row *group_of(const struct top_model *m)
{
	for (size_t i = 0; i < m->nrows; i++)
		if (m->rows[i].kind == TOP_GROUP)
			return &m->rows[i];
	return NULL;
}

static void test_rows(void **state)
{
	struct fixture f;
	struct top_model *m = top_model__new();
	const struct top_row *r;

	setup_report(&f);
	assert_int_equal(top_model__update(m, &f.r, true), 0);
	/* blocked now: 101, 102, 201 and the waiting group; 103 is not */
	assert_int_equal(m->nrows, 4);
	assert_null(row_of(m, 103));
	r = row_of(m, 101);
	assert_non_null(r);
	assert_string_equal(r->reason, "mutex");
	assert_int_equal(r->owner, 102);
	assert_string_equal(r->owner_comm, "reader");
	/* the first frame outside libc */
	assert_string_equal(r->frame, "db_query db.c:42");
	assert_int_equal(r->age_ns, 5000 * MS);
	/* a name with a terminal's commands never comes out raw */
	r = row_of(m, 201);
	assert_string_equal(r->comm, "\\x1b]0;pwn\\x07");
	assert_null(strchr(r->comm, 0x1b));
	r = group_of(m);
	assert_non_null(r);
	assert_int_equal(r->count, 50);
	assert_string_equal(r->reason, "chan send");
	assert_string_equal(r->frame, "main.leak leak.go:9");
	assert_false(r->has_total);
	/* per process: svc has two blocked now, go-svc one thread and 50
	 * goroutines: the Go process comes first */
	assert_int_equal(m->nprocs, 2);
	assert_int_equal(m->procs[0].pid, 200);
	assert_int_equal(m->procs[0].goroutines, 50);
	assert_int_equal(m->procs[1].threads, 2);
	assert_int_equal(m->dropped[BW_DROP_RINGBUF], 2);
	top_model__free(m);
	teardown_report(&f);
}

static void test_totals_over_run(void **state)
{
	struct fixture f;
	struct top_model *m = top_model__new();
	const struct top_row *r;

	setup_report(&f);
	assert_int_equal(top_model__update(m, &f.r, true), 0);
	assert_int_equal(top_model__update(m, &f.r, true), 0);
	/* a paused view keeps its rows, the totals go on */
	assert_int_equal(top_model__update(m, &f.r, false), 0);
	r = row_of(m, 101);
	assert_int_equal(r->total_ns, 2000 * MS);
	assert_int_equal(m->dropped[BW_DROP_RINGBUF], 6);
	assert_int_equal(m->reports, 3);
	assert_int_equal(top_model__update(m, &f.r, true), 0);
	r = row_of(m, 101);
	assert_int_equal(r->total_ns, 4000 * MS);
	assert_int_equal(r->count, 1); /* one block, still going */
	/* 103 finished 3 blocks a report, then blocks now */
	f.e[2].ongoing = true;
	f.e[2].age_ns = 150 * MS;
	f.e[2].count = 1;
	assert_int_equal(top_model__update(m, &f.r, true), 0);
	r = row_of(m, 103);
	assert_non_null(r);
	assert_int_equal(r->count, 4 * 3 + 1);
	assert_int_equal(r->total_ns, 5 * 600 * MS);
	top_model__free(m);
	teardown_report(&f);
}

static void test_select_sort_filter(void **state)
{
	struct fixture f;
	struct top_model *m = top_model__new();
	struct top_filter flt = { 0 };
	const struct top_row **v;
	long n;

	setup_report(&f);
	assert_int_equal(top_model__update(m, &f.r, true), 0);
	/* by age: the group (9 s), 101 (5 s), 102 (2 s), 201 */
	n = top_select(m, &flt, TOP_SORT_AGE, &v);
	assert_int_equal(n, 4);
	assert_int_equal(v[0]->kind, TOP_GROUP);
	assert_int_equal(v[1]->tid, 101);
	assert_int_equal(v[2]->tid, 102);
	assert_int_equal(v[3]->tid, 201);
	free(v);
	/* by count: the group (50) first; then the same count, by age */
	n = top_select(m, &flt, TOP_SORT_COUNT, &v);
	assert_int_equal(v[0]->kind, TOP_GROUP);
	assert_int_equal(v[1]->tid, 101);
	free(v);
	/* by total: 101 and 102 1 s each (101 older), 201 300 ms, the
	 * group none */
	n = top_select(m, &flt, TOP_SORT_TOTAL, &v);
	assert_int_equal(v[0]->tid, 101);
	assert_int_equal(v[1]->tid, 102);
	assert_int_equal(v[2]->tid, 201);
	assert_int_equal(v[3]->kind, TOP_GROUP);
	free(v);
	/* by process */
	flt.pid = 200;
	n = top_select(m, &flt, TOP_SORT_AGE, &v);
	assert_int_equal(n, 2);
	assert_int_equal(v[0]->kind, TOP_GROUP);
	assert_int_equal(v[1]->tid, 201);
	free(v);
	/* by reason, a part of it, any case */
	flt.pid = 0;
	snprintf(flt.reason, sizeof(flt.reason), "MUT");
	n = top_select(m, &flt, TOP_SORT_AGE, &v);
	assert_int_equal(n, 1);
	assert_int_equal(v[0]->tid, 101);
	free(v);
	snprintf(flt.reason, sizeof(flt.reason), "chan");
	n = top_select(m, &flt, TOP_SORT_AGE, &v);
	assert_int_equal(n, 1);
	assert_int_equal(v[0]->kind, TOP_GROUP);
	free(v);
	flt.pid = 100;
	n = top_select(m, &flt, TOP_SORT_AGE, &v);
	assert_int_equal(n, 0);
	free(v);
	top_model__free(m);
	teardown_report(&f);
}

static void test_cmp_ties(void **state)
{
	struct top_row a = { .pid = 1, .tid = 5, .age_known = true, .age_ns = 10, .count = 2 };
	struct top_row b = a;

	b.tid = 6;
	/* equal: by pid, then tid, whatever the key */
	assert_true(top_row_cmp(&a, &b, TOP_SORT_AGE) < 0);
	assert_true(top_row_cmp(&b, &a, TOP_SORT_COUNT) > 0);
	assert_int_equal(top_row_cmp(&a, &a, TOP_SORT_TOTAL), 0);
	/* an unknown age goes last under age */
	b.age_known = false;
	b.age_ns = 0;
	b.count = 3;
	assert_true(top_row_cmp(&a, &b, TOP_SORT_AGE) < 0);
	assert_true(top_row_cmp(&b, &a, TOP_SORT_COUNT) < 0);
}

static void test_lines_and_keys(void **state)
{
	struct fixture f;
	struct top_model *m = top_model__new();
	const struct top_row *r;
	uint64_t key101, gkey;
	char **lines;
	long n;

	setup_report(&f);
	assert_int_equal(top_model__update(m, &f.r, true), 0);
	r = row_of(m, 101);
	key101 = r->key;
	n = top_row_lines(r, &lines);
	assert_int_equal(n, 3);
	assert_string_equal(lines[0], "__lll_lock_wait+0x2b (libc.so.6)");
	assert_string_equal(lines[1], "db_query+0x10 (app) db.c:42");
	top_lines_free(lines, n);
	r = group_of(m);
	gkey = r->key;
	n = top_row_lines(r, &lines);
	assert_int_equal(n, 3);
	assert_string_equal(lines[0], "runtime.chansend chan.go:259 (runtime)");
	assert_string_equal(lines[1], "main.leak leak.go:9");
	assert_string_equal(lines[2], "created by main.spawn leak.go:20");
	top_lines_free(lines, n);
	/* the same thread and group keep their keys in the next report */
	assert_int_equal(top_model__update(m, &f.r, true), 0);
	assert_int_equal(row_of(m, 101)->key, key101);
	assert_int_equal(group_of(m)->key, gkey);
	assert_true(gkey != key101);
	top_model__free(m);
	/* the rows held their own references to the stacks */
	assert_int_equal(f.st[0]->refs, 1);
	teardown_report(&f);
}

/* `blockwatch top`: a subcommand with a 1 s interval; what does not apply
 * to a live view is refused; `--top N` keeps its meaning. */
static void test_cli_top(void **state)
{
	char *ok[] = { "blockwatch", "top", "-p", "42", "-t", "50ms", "-d", "3s" };
	char *topn[] = { "blockwatch", "--top", "3" };
	char *bad[][3] = {
		{ "blockwatch", "top", "-fjson" }, { "blockwatch", "top", "-ofile" },
		{ "blockwatch", "top", "-n" },	   { "blockwatch", "top", "-i2s" },
		{ "blockwatch", "top", "--top=2" }, { "blockwatch", "top", "--frames=3" },
		{ "blockwatch", "top", "now" },
	};
	struct bw_opts o;
	size_t i;

	assert_int_equal(bw_cli_parse(8, ok, &o), 0);
	assert_true(o.top_view);
	assert_int_equal(o.interval_ns, 1000 * MS);
	assert_int_equal(o.threshold_ns, 50 * MS);
	assert_int_equal(o.duration_ns, 3000 * MS);
	assert_int_equal(o.npids, 1);
	assert_int_equal(o.pids[0], 42);
	bw_opts_free(&o);
	assert_int_equal(bw_cli_parse(3, topn, &o), 0);
	assert_false(o.top_view);
	assert_int_equal(o.top, 3);
	bw_opts_free(&o);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(bw_cli_parse(3, bad[i], &o), -EINVAL);
		bw_opts_free(&o);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_totals_over_run),
		cmocka_unit_test(test_select_sort_filter),
		cmocka_unit_test(test_cmp_ties),
		cmocka_unit_test(test_lines_and_keys),
		cmocka_unit_test(test_cli_top),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
