// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* daemon/metrics.c (counters across reports, gauges per report, bounded
 * series, exited processes) and report/prom.c (both formats, escaping). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "base/util.h"
#include "daemon/metrics.h"
#include "model/go.h"
#include "report/prom.h"

#define MS 1000000ull
/* svc"\<LF><ESC>[2J as text shows it (svc"\\\x0a\x1b[2J), then with
 * the format's \" and \\ */
#define EVIL "svc\\\"\\\\\\\\\\\\x0a\\\\x1b[2J"

static uint32_t dead_pid; /* the one process the stub says exited */

static bool stub_alive(uint32_t pid, uint64_t starttime)
{
	(void)starttime;
	return pid != dead_pid;
}

static uint64_t stub_start(uint32_t pid)
{
	return pid == dead_pid ? 0 : 1000 + pid;
}

/* A report of up to 4 processes, each with up to 4 entries. */
struct fake {
	struct bw_report r;
	struct bw_proc_report procs[4], *pp[4];
	struct bw_entry entries[4][4], *ep[4][4];
};

static void fake_init(struct fake *f)
{
	memset(f, 0, sizeof(*f));
	f->r.kind = BW_REPORT_INTERVAL;
	f->r.threshold_ns = 10 * MS;
	f->r.procs = f->pp;
}

static struct bw_proc_report *fake_proc(struct fake *f, uint32_t pid, const char *comm)
{
	struct bw_proc_report *p = &f->procs[f->r.nprocs];

	p->pid = pid;
	snprintf(p->comm, sizeof(p->comm), "%s", comm);
	p->threads = f->ep[f->r.nprocs];
	f->pp[f->r.nprocs++] = p;
	return p;
}

static void fake_entry(struct fake *f, struct bw_proc_report *p, const char *reason,
		       bool ongoing, uint64_t count, uint64_t interval_ns, uint64_t age_ns)
{
	size_t pi = (size_t)(p - f->procs);
	struct bw_entry *e = &f->entries[pi][p->nthreads];

	e->pid = p->pid;
	e->tid = p->pid + (uint32_t)p->nthreads;
	snprintf(e->reason, sizeof(e->reason), "%s", reason);
	e->ongoing = ongoing;
	e->count = count;
	e->interval_ns = interval_ns;
	e->age_ns = age_ns;
	p->blocked_ns += interval_ns;
	p->threads[p->nthreads++] = e;
}

static void init(struct bw_metrics *m, size_t top)
{
	assert_int_equal(bw_metrics__init(m, top), 0);
	m->alive = stub_alive;
	m->starttime = stub_start;
	dead_pid = 0;
}

static char *render(const struct bw_metrics *m, bool om)
{
	char *text;
	size_t len;

	assert_int_equal(bw_prom_render(m, om, &text, &len), 0);
	assert_int_equal(strlen(text), len);
	return text;
}

static void expect_line(const char *text, const char *line)
{
	char *want = malloc(strlen(line) + 3);

	sprintf(want, "\n%s\n", line);
	if (!strstr(text, want))
		fail_msg("no line '%s' in:\n%s", line, text);
	free(want);
}

static void expect_no(const char *text, const char *part)
{
	if (strstr(text, part))
		fail_msg("'%s' should not be in:\n%s", part, text);
}

static void test_counters_and_gauges(void **state)
{
	struct bw_metrics m;
	struct fake f;
	struct bw_proc_report *p;
	char *t;

	(void)state;
	init(&m, 4);
	fake_init(&f);
	p = fake_proc(&f, 100, "db");
	fake_entry(&f, p, "futex", false, 3, 300 * MS, 0);
	fake_entry(&f, p, "read", true, 1, 500 * MS, 2500 * MS);
	f.r.dropped[BW_DROP_RINGBUF] = 2;
	assert_int_equal(bw_metrics__add(&m, &f.r, NULL), 0);
	/* the next report: the read goes on, the futex waits do not */
	fake_init(&f);
	p = fake_proc(&f, 100, "db");
	fake_entry(&f, p, "read", true, 1, 1000 * MS, 3500 * MS);
	f.r.dropped[BW_DROP_RINGBUF] = 1;
	f.r.late_count = 4;
	assert_int_equal(bw_metrics__add(&m, &f.r, NULL), 0);
	t = render(&m, false);
	expect_line(t, "blockwatch_offcpu_seconds_total{pid=\"100\",comm=\"db\",reason=\"futex\"} "
		       "0.300000000");
	expect_line(t, "blockwatch_offcpu_seconds_total{pid=\"100\",comm=\"db\",reason=\"read\"} "
		       "1.500000000");
	expect_line(t, "blockwatch_blocks_total{pid=\"100\",comm=\"db\",reason=\"futex\"} 3");
	expect_line(t, "blockwatch_blocked_threads{pid=\"100\",comm=\"db\",reason=\"read\"} 1");
	expect_line(t, "blockwatch_blocked_threads{pid=\"100\",comm=\"db\",reason=\"futex\"} 0");
	expect_line(t, "blockwatch_longest_block_seconds{pid=\"100\",comm=\"db\"} 3.500000000");
	expect_line(t, "blockwatch_dropped_events_total{cause=\"ringbuf\"} 3");
	expect_line(t, "blockwatch_late_blocks_total 4");
	expect_line(t, "blockwatch_reports_total 2");
	expect_line(t, "# TYPE blockwatch_blocks_total counter");
	expect_no(t, "pid=\"\",comm=\"other\""); /* nothing there yet */
	expect_no(t, "# EOF");
	free(t);
	bw_metrics__fini(&m);
}

static uint64_t sum_offcpu(const struct bw_metrics *m)
{
	uint64_t n = 0;
	size_t i, j;

	for (i = 0; i < m->nprocs; i++)
		for (j = 0; j < m->procs[i].nreasons; j++)
			n += m->procs[i].reasons[j].offcpu_ns;
	for (j = 0; j < m->other.nreasons; j++)
		n += m->other.reasons[j].offcpu_ns;
	return n;
}

/* Two places: a third process goes to "other", until it blocks so much
 * more that it takes the weakest place; the sum never goes down. */
static void test_bounded_series(void **state)
{
	struct bw_metrics m;
	struct fake f;
	uint64_t before;
	char *t;

	(void)state;
	init(&m, 2);
	fake_init(&f);
	fake_entry(&f, fake_proc(&f, 1, "a"), "futex", false, 1, 100 * MS, 0);
	fake_entry(&f, fake_proc(&f, 2, "b"), "futex", false, 1, 50 * MS, 0);
	fake_entry(&f, fake_proc(&f, 3, "c"), "futex", false, 1, 60 * MS, 0);
	assert_int_equal(bw_metrics__add(&m, &f.r, NULL), 0);
	assert_int_equal(m.nprocs, 2);
	t = render(&m, false);
	expect_line(t, "blockwatch_blocks_total{pid=\"\",comm=\"other\",reason=\"futex\"} 1");
	expect_no(t, "comm=\"c\"");
	free(t);
	before = sum_offcpu(&m);
	assert_int_equal(before, 210 * MS);
	/* c blocks a lot: it takes b's place (b: 25 ms decayed), b's counts
	 * go to other */
	fake_init(&f);
	fake_entry(&f, fake_proc(&f, 3, "c"), "futex", false, 1, 900 * MS, 0);
	assert_int_equal(bw_metrics__add(&m, &f.r, NULL), 0);
	t = render(&m, false);
	expect_line(t, "blockwatch_blocks_total{pid=\"3\",comm=\"c\",reason=\"futex\"} 1");
	expect_line(t, "blockwatch_blocks_total{pid=\"\",comm=\"other\",reason=\"futex\"} 2");
	expect_no(t, "comm=\"b\"");
	expect_line(t, "blockwatch_tracked_processes 2");
	assert_true(sum_offcpu(&m) == before + 900 * MS);
	free(t);
	/* b again: less than twice the weakest (a, 25 ms decayed) is not
	 * enough to trade places again */
	fake_init(&f);
	fake_entry(&f, fake_proc(&f, 2, "b"), "futex", false, 1, 40 * MS, 0);
	assert_int_equal(bw_metrics__add(&m, &f.r, NULL), 0);
	t = render(&m, false);
	expect_no(t, "comm=\"b\"");
	free(t);
	bw_metrics__fini(&m);
}

static void test_exited(void **state)
{
	struct bw_metrics m;
	struct fake f;
	char *t;

	(void)state;
	init(&m, 4);
	fake_init(&f);
	fake_entry(&f, fake_proc(&f, 7, "gone"), "read", false, 2, 40 * MS, 0);
	fake_entry(&f, fake_proc(&f, 8, "stays"), "read", false, 1, 40 * MS, 0);
	assert_int_equal(bw_metrics__add(&m, &f.r, NULL), 0);
	dead_pid = 7;
	fake_init(&f);
	assert_int_equal(bw_metrics__add(&m, &f.r, NULL), 0);
	t = render(&m, false);
	expect_no(t, "pid=\"7\"");
	expect_line(t, "blockwatch_blocks_total{pid=\"8\",comm=\"stays\",reason=\"read\"} 1");
	expect_line(t, "blockwatch_blocks_total{pid=\"\",comm=\"other\",reason=\"read\"} 2");
	free(t);
	bw_metrics__fini(&m);
}

static void test_go_and_openmetrics(void **state)
{
	struct bw_go_frame frames[2] = {
		{ .func = "runtime.gopark", .runtime = true },
		{ .func = "main.leak", .file = "/src/app/main.go", .line = 42 },
	};
	struct bw_go_count reasons[1] = { { "chan send", 23000 } };
	struct bw_go_group groups[1] = { {
		.count = 23000, .wait_reason = "chan send", .nframes = 2, .frames = frames,
		.blocking_site = 1, .leak_suspect = true,
	} };
	struct bw_go_view go = {
		.goroutines = 23004, .nreasons = 1, .by_reason = reasons,
		.ngroups = 1, .groups = groups,
	};
	struct bw_metrics m;
	struct fake f;
	struct bw_proc_report *p;
	char *t;

	(void)state;
	init(&m, 4);
	fake_init(&f);
	p = fake_proc(&f, 9, "svc\"\\\n\x1b[2J");
	p->go = &go;
	fake_entry(&f, p, "futex", true, 1, 10 * MS, 20 * MS);
	assert_int_equal(bw_metrics__add(&m, &f.r, NULL), 0);
	t = render(&m, true);
	/* a hostile name: quotes and backslashes escaped for the format,
	 * controls as text shows them, nothing raw */
	expect_line(t, "blockwatch_go_goroutines{pid=\"9\",comm=\"" EVIL "\"} 23004");
	expect_no(t, "\x1b");
	expect_line(t, "blockwatch_go_goroutines_by_reason{pid=\"9\",comm=\"" EVIL
		       "\",reason=\"chan send\"} 23000");
	expect_line(t, "blockwatch_go_leak_suspect_goroutines{pid=\"9\",comm=\"" EVIL
		       "\",site=\"main.leak main.go:42\"} 23000");
	/* OpenMetrics: counter families without _total, samples with it */
	expect_line(t, "# TYPE blockwatch_blocks counter");
	expect_line(t, "# TYPE blockwatch_reports counter");
	expect_line(t, "blockwatch_reports_total 1");
	assert_non_null(strstr(t, "\n# EOF\n"));
	assert_string_equal(t + strlen(t) - 6, "# EOF\n");
	free(t);
	bw_metrics__fini(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counters_and_gauges),
		cmocka_unit_test(test_bounded_series),
		cmocka_unit_test(test_exited),
		cmocka_unit_test(test_go_and_openmetrics),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
