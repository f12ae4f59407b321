// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "model/split.h"

#define MS 1000000ULL

/* A 2.5 s block over 1 s reports: 1 s, 1 s, then the last 0.5 s. */
static void test_block_over_three_intervals(void **state)
{
	struct split *sp = split__new();

	/* block starts at 0.2 s; reports at 1, 2, ends at 2.7 */
	assert_int_equal(split__ongoing(sp, 7, 200 * MS, 1000 * MS, 0), 800 * MS);
	assert_int_equal(split__ongoing(sp, 7, 200 * MS, 2000 * MS, 1000 * MS), 1000 * MS);
	assert_int_equal(split__completed(sp, 7, 200 * MS, 2700 * MS, 2500 * MS), 700 * MS);
	assert_int_equal(split__count(sp), 0);
	split__free(sp);
}

static void test_unseen_block_counts_whole(void **state)
{
	struct split *sp = split__new();

	assert_int_equal(split__completed(sp, 1, 100 * MS, 400 * MS, 300 * MS), 300 * MS);
	/* another thread's ongoing block does not touch it */
	assert_int_equal(split__ongoing(sp, 2, 100 * MS, 1000 * MS, 0), 900 * MS);
	assert_int_equal(split__completed(sp, 1, 1100 * MS, 1400 * MS, 300 * MS), 300 * MS);
	/* same thread, a later block: a new key */
	assert_int_equal(split__completed(sp, 2, 1200 * MS, 1300 * MS, 100 * MS), 100 * MS);
	assert_int_equal(split__count(sp), 1);
	split__free(sp);
}

static void test_preexisting_block_clipped(void **state)
{
	struct split *sp = split__new();

	/* blocked since long before tracing began at 10 s: only the
	 * interval's own time counts */
	assert_int_equal(split__ongoing(sp, 3, 1000 * MS, 15000 * MS, 10000 * MS), 5000 * MS);
	split__free(sp);
}

static void test_expire(void **state)
{
	struct split *sp = split__new();

	split__ongoing(sp, 1, 0, 1000 * MS, 0);
	split__ongoing(sp, 2, 0, 2000 * MS, 1000 * MS);
	split__expire(sp, 1500 * MS);
	assert_int_equal(split__count(sp), 1);
	/* expired: its record, if it comes, counts whole */
	assert_int_equal(split__completed(sp, 1, 0, 1200 * MS, 1200 * MS), 1200 * MS);
	split__free(sp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_block_over_three_intervals),
		cmocka_unit_test(test_unseen_block_counts_whole),
		cmocka_unit_test(test_preexisting_block_clipped),
		cmocka_unit_test(test_expire),
	};

	return cmocka_run_group_tests_name("split", tests, NULL, NULL);
}
