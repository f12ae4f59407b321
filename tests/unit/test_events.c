// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * daemon/events: what changed between two reports, said once. Reports are
 * made by hand here, as model/report would make them from one process.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "daemon/events.h"
#include "model/go.h"

#define MS 1000000ULL
#define SEC (1000 * MS)
#define MAXEV 16

struct seen {
	int n;
	struct bw_change ev[MAXEV];
};

static void record(void *ctx, const struct bw_change *ev)
{
	struct seen *s = ctx;

	assert_true(s->n < MAXEV);
	s->ev[s->n] = *ev;
	s->ev[s->n].entry = NULL; /* the report's: gone after the call */
	s->n++;
}

/* One process's report: its entries as given. */
struct one {
	struct bw_report r;
	struct bw_proc_report p;
	struct bw_proc_report *pp;
	struct bw_entry *threads[4];
	struct bw_entry e[4];
	struct bw_cycle cycle;
	const struct bw_entry *cycle_entries[4];
};

static void one_init(struct one *o, uint64_t time_ns)
{
	memset(o, 0, sizeof(*o));
	o->r.time_ns = time_ns;
	o->p.pid = 100;
	snprintf(o->p.comm, sizeof(o->p.comm), "db");
	o->p.threads = o->threads;
	o->pp = &o->p;
	o->r.procs = &o->pp;
	o->r.nprocs = 1;
}

static struct bw_entry *one_add(struct one *o, uint32_t tid, bool ongoing, uint64_t age_ns)
{
	struct bw_entry *e = &o->e[o->p.nthreads];

	e->pid = 100;
	e->tid = tid;
	e->ongoing = ongoing;
	e->age_ns = ongoing ? age_ns : 0;
	snprintf(e->comm, sizeof(e->comm), "worker-%u", tid);
	snprintf(e->reason, sizeof(e->reason), "mutex");
	o->threads[o->p.nthreads++] = e;
	return e;
}

static void report(struct bw_events *ev, struct one *o, struct seen *s)
{
	s->n = 0;
	assert_int_equal(bw_events__report(ev, &o->r, record, s), 0);
}

/* Blocked at three reports in a row: one 'blocked' line, then, when it
 * is no longer there, one 'woke' line with the whole block's length
 * (its finished remainder's whole_max, past the interval split). */
static void test_blocked_once_woke_once(void **state)
{
	struct bw_events *ev = bw_events__new();
	struct seen s;
	struct one o;
	struct bw_entry *e;

	(void)state;
	one_init(&o, 10 * SEC);
	one_add(&o, 7, true, 500 * MS);
	report(ev, &o, &s);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.ev[0].kind, BW_EV_BLOCKED);
	assert_int_equal(s.ev[0].tid, 7);
	assert_int_equal(s.ev[0].pid, 100);
	assert_string_equal(s.ev[0].comm, "db");
	assert_string_equal(s.ev[0].thread, "worker-7");
	assert_int_equal(s.ev[0].age_ns, 500 * MS);

	for (int i = 1; i <= 2; i++) {
		one_init(&o, (10 + i) * SEC);
		one_add(&o, 7, true, 500 * MS + i * SEC);
		report(ev, &o, &s);
		assert_int_equal(s.n, 0);
	}

	/* it ended 0.3 s into the next interval: 2.8 s in all */
	one_init(&o, 13 * SEC);
	e = one_add(&o, 7, false, 0);
	e->max_ns = 300 * MS;
	e->whole_max_ns = 2800 * MS;
	report(ev, &o, &s);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.ev[0].kind, BW_EV_WOKE);
	assert_int_equal(s.ev[0].tid, 7);
	assert_true(s.ev[0].exact);
	assert_int_equal(s.ev[0].age_ns, 2800 * MS);

	one_init(&o, 14 * SEC);
	report(ev, &o, &s);
	assert_int_equal(s.n, 0);
	bw_events__free(ev);
}

/* Gone without a finished entry (the process exited, say): 'woke' with
 * its age when last seen, as a lower bound. */
static void test_woke_without_entry_is_a_bound(void **state)
{
	struct bw_events *ev = bw_events__new();
	struct seen s;
	struct one o;

	(void)state;
	one_init(&o, 10 * SEC);
	one_add(&o, 7, true, 1500 * MS);
	report(ev, &o, &s);
	one_init(&o, 11 * SEC);
	o.r.nprocs = 0;
	report(ev, &o, &s);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.ev[0].kind, BW_EV_WOKE);
	assert_false(s.ev[0].exact);
	assert_int_equal(s.ev[0].age_ns, 1500 * MS);
	bw_events__free(ev);
}

/* The same tid blocked again right after waking (a new start, 2 s
 * later than the old one implies): the old block woke, a new one is
 * blocked, in that order. */
static void test_new_block_same_thread(void **state)
{
	struct bw_events *ev = bw_events__new();
	struct seen s;
	struct one o;

	(void)state;
	one_init(&o, 10 * SEC);
	one_add(&o, 7, true, 3 * SEC); /* since 7 s */
	report(ev, &o, &s);
	one_init(&o, 12 * SEC);
	one_add(&o, 7, true, 1 * SEC); /* since 11 s */
	report(ev, &o, &s);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.ev[0].kind, BW_EV_WOKE);
	assert_int_equal(s.ev[1].kind, BW_EV_BLOCKED);
	assert_int_equal(s.ev[1].age_ns, 1 * SEC);
	bw_events__free(ev);
}

/* Report jitter (the start each report implies moves by less than
 * 200 ms) is the same block: nothing said. */
static void test_jitter_same_block(void **state)
{
	struct bw_events *ev = bw_events__new();
	struct seen s;
	struct one o;

	(void)state;
	one_init(&o, 10 * SEC);
	one_add(&o, 7, true, 2 * SEC);
	report(ev, &o, &s);
	one_init(&o, 11 * SEC);
	one_add(&o, 7, true, 2 * SEC + 850 * MS); /* implies 8.15 s, not 8 s */
	report(ev, &o, &s);
	assert_int_equal(s.n, 0);
	bw_events__free(ev);
}

/* A deadlock: one event when it appears (its tids sorted), none while
 * it stays, one 'gone' with how long it lasted. */
static void test_deadlock_appears_and_goes(void **state)
{
	struct bw_events *ev = bw_events__new();
	struct seen s;
	struct one o;

	(void)state;
	for (int i = 0; i < 2; i++) {
		one_init(&o, (10 + i) * SEC);
		o.cycle_entries[0] = one_add(&o, 9, true, (2 + i) * SEC);
		o.cycle_entries[1] = one_add(&o, 8, true, (2 + i) * SEC);
		o.cycle.n = 2;
		o.cycle.entries = o.cycle_entries;
		o.r.deadlocks = &o.cycle;
		o.r.ndeadlocks = 1;
		report(ev, &o, &s);
		if (i == 0) {
			assert_int_equal(s.n, 3); /* two blocked, one deadlock */
			assert_int_equal(s.ev[2].kind, BW_EV_DEADLOCK);
			assert_int_equal(s.ev[2].ntids, 2);
			assert_int_equal(s.ev[2].tids[0], 8);
			assert_int_equal(s.ev[2].tids[1], 9);
			assert_string_equal(s.ev[2].comm, "db");
		} else {
			assert_int_equal(s.n, 0);
		}
	}
	one_init(&o, 15 * SEC);
	report(ev, &o, &s);
	assert_int_equal(s.n, 3); /* two woke, one gone */
	assert_int_equal(s.ev[2].kind, BW_EV_DEADLOCK_GONE);
	assert_int_equal(s.ev[2].age_ns, 5 * SEC);
	bw_events__free(ev);
}

/* A Go group that is a leak suspect: once when it becomes one, named by
 * its blocking site, once when it is not any more. */
static void test_leak_suspect(void **state)
{
	struct bw_events *ev = bw_events__new();
	struct bw_go_frame frames[2] = {
		{ .func = "runtime.gopark", .file = "/usr/lib/go/src/runtime/proc.go", .line = 363 },
		{ .func = "main.producer", .file = "/src/app/leak.go", .line = 42 },
	};
	struct bw_go_group g = { .count = 23000, .wait_reason = "chan send", .frames = frames,
				 .nframes = 2, .blocking_site = 1, .leak_suspect = true,
				 .growth_per_min = 16.0 };
	struct bw_go_view go = { .groups = &g, .ngroups = 1 };
	struct seen s;
	struct one o;

	(void)state;
	for (int i = 0; i < 2; i++) {
		one_init(&o, (10 + i) * SEC);
		o.p.go = &go;
		report(ev, &o, &s);
		if (i == 0) {
			assert_int_equal(s.n, 1);
			assert_int_equal(s.ev[0].kind, BW_EV_LEAK);
			assert_string_equal(s.ev[0].site, "main.producer leak.go:42");
			assert_string_equal(s.ev[0].reason, "chan send");
			assert_int_equal(s.ev[0].count, 23000);
		} else {
			assert_int_equal(s.n, 0);
		}
	}
	g.leak_suspect = false;
	one_init(&o, 20 * SEC);
	o.p.go = &go;
	report(ev, &o, &s);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.ev[0].kind, BW_EV_LEAK_GONE);
	assert_string_equal(s.ev[0].site, "main.producer leak.go:42");
	assert_int_equal(s.ev[0].age_ns, 10 * SEC);
	bw_events__free(ev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_blocked_once_woke_once),
		cmocka_unit_test(test_woke_without_entry_is_a_bound),
		cmocka_unit_test(test_new_block_same_thread),
		cmocka_unit_test(test_jitter_same_block),
		cmocka_unit_test(test_deadlock_appears_and_goes),
		cmocka_unit_test(test_leak_suspect),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
