// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <stdbool.h>
#include "model/agg.h"
#include "stacks/stacktab.h"

#define MS 1000000ULL

static int resolves;

/* Names frame pc 0x1000+k "fn_k" in module "/bin/fake". */
static int fake_resolve(void *ctx, pid_t pid, const struct bw_pc *pc, struct bw_frame *f, int max)
{
	char name[32];

	resolves++;
	memset(f, 0, sizeof(*f));
	f->addr = pc->pc;
	f->offset = pc->pc - 0x1000;
	snprintf(name, sizeof(name), "fn_%llx", (unsigned long long)(pc->pc - 0x1000));
	f->symbol = strdup(name);
	f->module = strdup("/bin/fake");
	return 1;
}

static const struct bw_pc stack_a[] = { { .pc = 0x1001, .activation = true }, { .pc = 0x1002, .activation = false } };
static const struct bw_pc stack_b[] = { { .pc = 0x1003, .activation = true }, { .pc = 0x1004, .activation = false } };

static struct stacktab *cur_tab;

/* An aggregation and the stack table its samples' stacks come from. */
static struct agg *new_agg(void)
{
	cur_tab = stacktab__new(fake_resolve, NULL);
	assert_non_null(cur_tab);
	return agg__new();
}

static void free_agg(struct agg *a)
{
	agg__free(a);
	stacktab__free(cur_tab);
	cur_tab = NULL;
}

/* The sample's stack is borrowed, as ingest's are: the table's own
 * reference keeps it until free_agg, agg__add takes one of its own. */
static struct bw_sample sample(uint32_t pid, uint32_t tid, const char *reason, uint64_t start,
			       uint64_t len, const struct bw_pc *pcs)
{
	struct bw_stack *st = stacktab__get(cur_tab, pid, pcs, 2, false);

	(void)start;
	bw_stack_put(st);
	return (struct bw_sample){
		.pid = pid, .tid = tid, .comm = "thr", .pcomm = "proc", .reason = reason,
		.blocked_ns = len, .max_ns = len, .count = 1,
		.stack = st,
	};
}

/* An ongoing mutex wait of @tid on a lock held by @owner. */
static int add_waiter(struct agg *a, uint32_t tid, uint32_t owner, uint64_t age)
{
	struct bw_wait_info d = { .reason = "mutex", .object = 0x1000 + tid, .owner = owner };
	struct bw_sample s = sample(1, tid, "mutex", 0, age, stack_a);

	s.ongoing = true;
	s.age_ns = age;
	s.wait = &d;
	snprintf(d.owner_comm, sizeof(d.owner_comm), "%s", owner == 999999 ? "?" : "holder");
	return agg__add(a, &s);
}

static bool cycle_has(const struct bw_cycle *c, uint32_t tid)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		if (c->entries[i]->tid == tid)
			return true;
	return false;
}

static void test_deadlocks(void **state)
{
	struct agg *a = new_agg();
	struct bw_report r = { 0 };
	size_t i;

	agg__reset(a);
	/* ABBA: 10 <-> 11 */
	add_waiter(a, 10, 11, 5000 * MS);
	add_waiter(a, 11, 10, 5000 * MS);
	/* chain 20 -> 21 -> 22, 22 blocked in read: no cycle */
	add_waiter(a, 20, 21, 3000 * MS);
	add_waiter(a, 21, 22, 2000 * MS);
	{
		struct bw_sample s = sample(1, 22, "read", 0, 1000 * MS, stack_b);

		s.ongoing = true;
		s.age_ns = 1000 * MS;
		assert_int_equal(agg__add(a, &s), 0);
	}
	/* three-way cycle 30 -> 31 -> 32 -> 30, and 33 waiting into it */
	add_waiter(a, 30, 31, 100 * MS);
	add_waiter(a, 31, 32, 100 * MS);
	add_waiter(a, 32, 30, 100 * MS);
	add_waiter(a, 33, 30, 100 * MS);
	/* owner not blocked (running, or gone) */
	add_waiter(a, 40, 999999, 100 * MS);

	assert_int_equal(agg__build(a, &r, 0), 0);
	assert_int_equal(r.ndeadlocks, 2);
	for (i = 0; i < r.ndeadlocks; i++) {
		const struct bw_cycle *c = &r.deadlocks[i];

		if (c->n == 2) {
			assert_true(cycle_has(c, 10) && cycle_has(c, 11));
		} else {
			assert_int_equal(c->n, 3);
			assert_true(cycle_has(c, 30) && cycle_has(c, 31) && cycle_has(c, 32));
			assert_false(cycle_has(c, 33));
		}
		/* each waits for the next one's lock */
		assert_int_equal(c->entries[0]->owner, c->entries[1]->tid);
	}
	for (i = 0; i < r.procs[0]->nthreads; i++) {
		const struct bw_entry *e = r.procs[0]->threads[i];

		if (e->tid == 20) {
			assert_non_null(e->owner_entry);
			assert_int_equal(e->owner_entry->tid, 21);
			assert_int_equal(e->owner_entry->owner_entry->tid, 22);
			/* a blocked holder's comm comes from its own entry */
			assert_string_equal(e->owner_comm, "thr");
			assert_null(e->owner_entry->owner_entry->owner_entry);
		}
		if (e->tid == 40) {
			assert_int_equal(e->owner, 999999);
			assert_null(e->owner_entry);
			assert_string_equal(e->owner_comm, "?");
		}
	}
	free_agg(a);
}

static void test_merge_and_split(void **state)
{
	struct agg *a = new_agg();
	struct bw_report r = { 0 };
	struct bw_sample s;

	resolves = 0;
	agg__reset(a);
	s = sample(10, 11, "futex", 1100 * MS, 200 * MS, stack_a);
	assert_int_equal(agg__add(a, &s), 0);
	s = sample(10, 11, "futex", 1400 * MS, 300 * MS, stack_a);
	assert_int_equal(agg__add(a, &s), 0);
	/* same thread, other stack: its own entry */
	s = sample(10, 11, "futex", 1800 * MS, 150 * MS, stack_b);
	assert_int_equal(agg__add(a, &s), 0);
	/* same stack, other reason: its own entry */
	s = sample(10, 11, "read", 1900 * MS, 120 * MS, stack_a);
	assert_int_equal(agg__add(a, &s), 0);
	assert_int_equal(resolves, 4); /* each stack resolved once */

	assert_int_equal(agg__build(a, &r, 0), 0);
	assert_int_equal(r.nprocs, 1);
	assert_int_equal(r.procs[0]->pid, 10);
	assert_string_equal(r.procs[0]->comm, "proc");
	assert_int_equal(r.procs[0]->nthreads, 3);
	assert_int_equal(r.procs[0]->blocked_ns, 770 * MS);
	assert_int_equal(r.procs[0]->threads[0]->blocked_ns, 500 * MS);
	assert_int_equal(r.procs[0]->threads[0]->count, 2);
	assert_int_equal(r.procs[0]->threads[0]->max_ns, 300 * MS);
	assert_string_equal(r.procs[0]->threads[0]->stack->frames[0].symbol, "fn_1");
	assert_int_equal(r.procs[0]->threads[1]->blocked_ns, 150 * MS);
	assert_string_equal(r.procs[0]->threads[2]->reason, "read");
	free_agg(a);
}

static void test_ongoing_and_cap(void **state)
{
	struct agg *a = new_agg();
	struct bw_report r = { .interval_ns = 1000 * MS };
	struct bw_sample s;

	agg__reset(a);
	/* a finished block of the thread, and the same thread blocked now */
	s = sample(1, 1, "sleep", 0, 300 * MS, stack_a);
	assert_int_equal(agg__add(a, &s), 0);
	s = sample(1, 1, "sleep", 0, 600 * MS, stack_a);
	s.ongoing = true;
	s.age_ns = 5000 * MS;
	s.max_ns = 5000 * MS;
	assert_int_equal(agg__add(a, &s), 0);
	/* another thread, still blocked longer: listed before */
	s = sample(1, 2, "futex", 0, 900 * MS, stack_b);
	s.ongoing = true;
	s.age_ns = 9000 * MS;
	assert_int_equal(agg__add(a, &s), 0);
	/* a finished entry that overshoots the interval is capped */
	s = sample(1, 3, "read", 0, 1200 * MS, stack_b);
	assert_int_equal(agg__add(a, &s), 0);
	/* the end of a block that began before the interval: 400 ms of it
	 * here, 2.5 s in all (what its wake-up line says) */
	s = sample(1, 4, "read", 0, 400 * MS, stack_b);
	s.max_ns = 2500 * MS;
	assert_int_equal(agg__add(a, &s), 0);

	assert_int_equal(agg__build(a, &r, 0), 0);
	assert_int_equal(r.procs[0]->nthreads, 5);
	assert_int_equal(r.procs[0]->threads[0]->tid, 2);
	assert_true(r.procs[0]->threads[0]->ongoing);
	assert_int_equal(r.procs[0]->threads[0]->age_ns, 9000 * MS);
	assert_int_equal(r.procs[0]->threads[1]->tid, 1);
	assert_true(r.procs[0]->threads[1]->ongoing);
	/* its part inside the interval; what it shows is its age */
	assert_int_equal(r.procs[0]->threads[1]->interval_ns, 600 * MS);
	assert_int_equal(r.procs[0]->threads[1]->interval_max_ns, 600 * MS);
	assert_int_equal(r.procs[0]->threads[1]->blocked_ns, 5000 * MS);
	assert_int_equal(r.procs[0]->threads[2]->tid, 3);
	assert_int_equal(r.procs[0]->threads[2]->blocked_ns, 1000 * MS);
	assert_int_equal(r.procs[0]->threads[3]->tid, 4);
	assert_int_equal(r.procs[0]->threads[3]->max_ns, 400 * MS);
	assert_int_equal(r.procs[0]->threads[3]->whole_max_ns, 2500 * MS);
	assert_int_equal(r.procs[0]->threads[4]->tid, 1);
	assert_false(r.procs[0]->threads[4]->ongoing);
	assert_int_equal(r.procs[0]->threads[4]->whole_max_ns, 300 * MS);
	assert_int_equal(r.procs[0]->blocked_ns, 3200 * MS);

	/* After a reset, nothing of the previous interval remains. */
	agg__reset(a);
	assert_int_equal(agg__build(a, &r, 0), 0);
	assert_int_equal(r.nprocs, 0);
	free_agg(a);
}

static void test_sort_and_top(void **state)
{
	struct agg *a = new_agg();
	struct bw_report r = { 0 };
	struct bw_sample s;

	agg__reset(a);
	s = sample(1, 1, "sleep", 0, 100 * MS, stack_a);
	agg__add(a, &s);
	s = sample(2, 2, "sleep", 0, 900 * MS, stack_a);
	agg__add(a, &s);
	s = sample(3, 3, "sleep", 0, 500 * MS, stack_a);
	agg__add(a, &s);
	assert_int_equal(agg__build(a, &r, 0), 0);
	assert_int_equal(r.nprocs, 3);
	assert_int_equal(r.procs[0]->pid, 2);
	assert_int_equal(r.procs[1]->pid, 3);
	assert_int_equal(r.procs[2]->pid, 1);
	assert_int_equal(agg__build(a, &r, 2), 0);
	assert_int_equal(r.nprocs, 2);
	assert_int_equal(r.total_procs, 3);
	/* stacks are per process: same pcs in another pid is another stack */
	assert_ptr_not_equal(r.procs[0]->threads[0]->stack, r.procs[1]->threads[0]->stack);
	free_agg(a);
}

/* The holder exits before the second record of the same wait arrives:
 * its name, found for the first, is kept. */
static void test_owner_name_kept(void **state)
{
	struct agg *a = new_agg();
	struct bw_wait_info d = { .reason = "mutex", .object = 0x1000, .owner = 7 };
	struct bw_report r = { 0 };
	struct bw_sample s;

	agg__reset(a);
	s = sample(1, 2, "mutex", 0, 600 * MS, stack_a);
	s.wait = &d;
	snprintf(d.owner_comm, sizeof(d.owner_comm), "holder");
	assert_int_equal(agg__add(a, &s), 0);
	snprintf(d.owner_comm, sizeof(d.owner_comm), "?");
	assert_int_equal(agg__add(a, &s), 0);
	assert_int_equal(agg__build(a, &r, 0), 0);
	assert_int_equal(r.procs[0]->threads[0]->count, 2);
	assert_string_equal(r.procs[0]->threads[0]->owner_comm, "holder");
	free_agg(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_merge_and_split),
		cmocka_unit_test(test_ongoing_and_cap),
		cmocka_unit_test(test_sort_and_top),
		cmocka_unit_test(test_deadlocks),
		cmocka_unit_test(test_owner_name_kept),
	};

	return cmocka_run_group_tests_name("agg", tests, NULL, NULL);
}
