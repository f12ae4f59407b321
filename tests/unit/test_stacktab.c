// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Stacks that outlive a report: found again without symbolizing, held
 * by references, swept when unseen or their process is gone. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "stacks/stacktab.h"

static int resolves;

static int fake_resolve(void *ctx, pid_t pid, const struct bw_pc *pc, struct bw_frame *f, int max)
{
	char name[32];

	(void)ctx;
	(void)max;
	resolves++;
	memset(f, 0, sizeof(*f));
	f->addr = pc->pc;
	snprintf(name, sizeof(name), "fn_%d_%llx", pid, (unsigned long long)pc->pc);
	f->symbol = strdup(name);
	return 1;
}

static const struct bw_pc a[] = { { .pc = 0x10, .activation = true }, { .pc = 0x20 } };
static const struct bw_pc b[] = { { .pc = 0x10, .activation = true }, { .pc = 0x30 } };

static void test_found_again(void **state)
{
	struct stacktab *t = stacktab__new(fake_resolve, NULL);
	struct bw_stack *s1, *s2, *s3, *s4, *s5;

	resolves = 0;
	s1 = stacktab__get(t, 1, a, 2, false);
	s2 = stacktab__get(t, 1, a, 2, false);
	assert_ptr_equal(s1, s2);
	assert_int_equal(resolves, 2); /* two pcs, once */
	assert_int_equal(s1->nframes, 2);
	assert_string_equal(s1->frames[1].symbol, "fn_1_20");
	/* other pcs, other process, or truncated: another stack */
	s3 = stacktab__get(t, 1, b, 2, false);
	s4 = stacktab__get(t, 2, a, 2, false);
	s5 = stacktab__get(t, 1, a, 2, true);
	assert_ptr_not_equal(s1, s3);
	assert_ptr_not_equal(s1, s4);
	assert_ptr_not_equal(s1, s5);
	assert_true(s5->truncated);
	assert_int_equal(stacktab__count(t), 4);
	/* a known stack is not symbolized again in the next report */
	stacktab__sweep(t, NULL);
	resolves = 0;
	bw_stack_put(stacktab__get(t, 1, a, 2, false));
	assert_int_equal(resolves, 0);
	bw_stack_put(s1);
	bw_stack_put(s2);
	bw_stack_put(s3);
	bw_stack_put(s4);
	bw_stack_put(s5);
	stacktab__free(t);
}

static void test_references_outlive_the_table(void **state)
{
	struct stacktab *t = stacktab__new(fake_resolve, NULL);
	struct bw_stack *held = stacktab__get(t, 7, a, 2, false);

	/* its process exec'd: not found any more, but still valid */
	stacktab__forget(t, 7);
	assert_int_equal(stacktab__count(t), 0);
	assert_int_equal(held->refs, 1);
	assert_string_equal(held->frames[0].symbol, "fn_7_10");
	resolves = 0;
	bw_stack_put(stacktab__get(t, 7, a, 2, false));
	assert_int_equal(resolves, 2); /* symbolized anew */
	stacktab__free(t);
	/* a whole-run sink's reference outlives the table itself */
	assert_string_equal(held->frames[1].symbol, "fn_7_20");
	bw_stack_put(held);
	bw_stack_put(NULL);
}

/* Its mappings were read again: its stacks are named anew. */
static void test_epoch(void **state)
{
	struct stacktab *t = stacktab__new(fake_resolve, NULL);

	stacktab__epoch(t, 3, 1);
	bw_stack_put(stacktab__get(t, 3, a, 2, false));
	stacktab__epoch(t, 3, 1);
	resolves = 0;
	bw_stack_put(stacktab__get(t, 3, a, 2, false));
	assert_int_equal(resolves, 0);
	stacktab__epoch(t, 3, 2);
	assert_int_equal(stacktab__count(t), 0);
	bw_stack_put(stacktab__get(t, 3, a, 2, false));
	assert_int_equal(resolves, 2);
	stacktab__free(t);
}

static bool only_pid_1(pid_t pid)
{
	return pid == 1;
}

static void test_sweep(void **state)
{
	struct stacktab *t = stacktab__new(fake_resolve, NULL);
	int i;

	bw_stack_put(stacktab__get(t, 1, a, 2, false));
	bw_stack_put(stacktab__get(t, 1, b, 2, false));
	for (i = 0; i < STACKTAB_TTL - 1; i++) {
		stacktab__sweep(t, NULL);
		/* a stays in use, b does not */
		bw_stack_put(stacktab__get(t, 1, a, 2, false));
	}
	assert_int_equal(stacktab__count(t), 2);
	stacktab__sweep(t, NULL);
	assert_int_equal(stacktab__count(t), 1);
	/* a process gone: all its stacks go at once */
	bw_stack_put(stacktab__get(t, 2, a, 2, false));
	assert_int_equal(stacktab__count(t), 2);
	stacktab__sweep(t, only_pid_1);
	assert_int_equal(stacktab__count(t), 1);
	stacktab__free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_found_again),
		cmocka_unit_test(test_references_outlive_the_table),
		cmocka_unit_test(test_sweep),
		cmocka_unit_test(test_epoch),
	};

	return cmocka_run_group_tests_name("stacktab", tests, NULL, NULL);
}
