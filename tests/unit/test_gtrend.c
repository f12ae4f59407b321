// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Leak suspects from group counts over reports: a steady leak, a slow
 * one, a pool that warms up then stops, a busy pool, a burst. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "golang/gtrend.h"
#include "golang/gview.h"

#define SEC 1000000000ULL

/* One group of @count members; @first_goid.. are its members (the
 * oldest stay when @stay, else they are replaced). */
static bool report(struct gtrend *t, uint64_t at, uint32_t count, uint64_t first_goid)
{
	struct bw_go_group g = { .count = count, .state = "waiting" };
	uint64_t key = 42, *members = calloc(count ? count : 1, sizeof(uint64_t));
	struct gview v = { 0 };
	uint32_t i;
	bool suspect;

	for (i = 0; i < count; i++)
		members[i] = first_goid + i;
	v.groups = &g;
	v.v.groups = &g;
	v.v.ngroups = 1;
	v.members = &members;
	v.keys = &key;
	gtrend__update(t, &v, at);
	suspect = g.leak_suspect;
	free(members);
	return suspect;
}

static void test_steady_leak(void **state)
{
	struct gtrend *t = gtrend__new();

	/* 20 a second, reported every second: flagged at the 4th */
	assert_false(report(t, 1 * SEC, 20, 100));
	assert_false(report(t, 2 * SEC, 40, 100));
	assert_false(report(t, 3 * SEC, 60, 100));
	assert_true(report(t, 4 * SEC, 80, 100));
	assert_true(report(t, 5 * SEC, 100, 100));
	gtrend__free(t);
}

static void test_slow_leak(void **state)
{
	struct gtrend *t = gtrend__new();
	uint32_t counts[] = { 1, 1, 2, 2, 3, 3 };
	bool last = false;
	int i;

	/* one every 10 s at -i 5s: steps up only every other report */
	for (i = 0; i < 6; i++)
		last = report(t, (uint64_t)(i + 1) * 5 * SEC, counts[i], 7);
	assert_true(last);
	gtrend__free(t);
}

static void test_warm_up_pool(void **state)
{
	struct gtrend *t = gtrend__new();
	uint32_t counts[] = { 15, 30, 30, 30, 30, 30 };
	int i;

	for (i = 0; i < 6; i++)
		assert_false(report(t, (uint64_t)(i + 1) * 5 * SEC, counts[i], 1));
	gtrend__free(t);
}

static void test_members_leave(void **state)
{
	struct gtrend *t = gtrend__new();
	int i;

	/* growing, but each report's goroutines are new ones */
	for (i = 0; i < 6; i++)
		assert_false(report(t, (uint64_t)(i + 1) * SEC, 10 + 10 * i, 1000 * (i + 1)));
	gtrend__free(t);
}

static void test_too_fast_to_tell(void **state)
{
	struct gtrend *t = gtrend__new();
	int i;

	/* -i 100ms: four reports in 0.3 s are no trend yet */
	for (i = 0; i < 4; i++)
		assert_false(report(t, (uint64_t)i * SEC / 10, 10 + 10 * i, 1));
	gtrend__free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_steady_leak),
		cmocka_unit_test(test_slow_leak),
		cmocka_unit_test(test_warm_up_pool),
		cmocka_unit_test(test_members_leave),
		cmocka_unit_test(test_too_fast_to_tell),
	};

	return cmocka_run_group_tests_name("gtrend", tests, NULL, NULL);
}
