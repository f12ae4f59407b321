// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <errno.h>
#include <cmocka.h>
#include "cli/cli.h"

static void test_duration_units(void **state)
{
	uint64_t ns;

	assert_int_equal(bw_parse_duration("500us", &ns), 0);
	assert_int_equal(ns, 500000);
	assert_int_equal(bw_parse_duration("2s", &ns), 0);
	assert_int_equal(ns, 2000000000ULL);
	assert_int_equal(bw_parse_duration("100ms", &ns), 0);
	assert_int_equal(ns, 100000000ULL);
	assert_int_equal(bw_parse_duration("7ns", &ns), 0);
	assert_int_equal(ns, 7);
	assert_int_equal(bw_parse_duration("1.5m", &ns), 0);
	assert_int_equal(ns, 90000000000ULL);
	assert_int_equal(bw_parse_duration("1h", &ns), 0);
	assert_int_equal(ns, 3600000000000ULL);
	assert_int_equal(bw_parse_duration("0.25s", &ns), 0);
	assert_int_equal(ns, 250000000ULL);
	assert_int_equal(bw_parse_duration("010ms", &ns), 0); /* decimal, not octal */
	assert_int_equal(ns, 10000000ULL);
	assert_int_equal(bw_parse_duration("0s", &ns), 0);
	assert_int_equal(ns, 0);
}

/* Exact decimal arithmetic, rounded half up to a nanosecond. */
static void test_duration_exact(void **state)
{
	uint64_t ns;

	assert_int_equal(bw_parse_duration("0.1s", &ns), 0);
	assert_int_equal(ns, 100000000ULL);
	assert_int_equal(bw_parse_duration("0.3m", &ns), 0);
	assert_int_equal(ns, 18000000000ULL);
	assert_int_equal(bw_parse_duration("1.5ns", &ns), 0);
	assert_int_equal(ns, 2);
	assert_int_equal(bw_parse_duration("1.4999ns", &ns), 0);
	assert_int_equal(ns, 1);
	assert_int_equal(bw_parse_duration("1.0000000005s", &ns), 0);
	assert_int_equal(ns, 1000000001ULL);
	assert_int_equal(bw_parse_duration("0.000000001s", &ns), 0);
	assert_int_equal(ns, 1);
	assert_int_equal(bw_parse_duration("2.000000000000000000000000001h", &ns), 0);
	assert_int_equal(ns, 7200000000000ULL);
	assert_int_equal(bw_parse_duration("18446744073709551615ns", &ns), 0);
	assert_true(ns == UINT64_MAX);
	assert_int_equal(bw_parse_duration("18446744073.709551615s", &ns), 0);
	assert_true(ns == UINT64_MAX);
	assert_int_equal(bw_parse_duration("5124095h", &ns), 0);
	assert_int_equal(ns, 5124095ULL * 3600000000000ULL);
}

static void test_duration_errors(void **state)
{
	static const char *bad[] = { "10", "5xs", "", "-1s", "+1s", "s", "ms", "1 s", "1S",
				     "1sec", "abc", "1e400s", "nan s", "infs", "1.2.3s",
				     /* plain decimal only: no hex, exponents, bare dots */
				     "0x10s", "0X10s", "1e3ms", "1E3ms", "1.5e2s", "0x1p3s",
				     ".5s", "5.s", ".s", "nans", " 1s", "1s ", "1,5s", "1_000ms" };
	uint64_t ns = 42;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_not_equal(bw_parse_duration(bad[i], &ns), 0);
		assert_int_equal(ns, 42);
	}
	assert_int_equal(bw_parse_duration("99999999999h", &ns), -ERANGE);
	assert_int_equal(bw_parse_duration("5124096h", &ns), -ERANGE);
	assert_int_equal(bw_parse_duration("18446744073709551616ns", &ns), -ERANGE);
	assert_int_equal(bw_parse_duration("99999999999999999999999s", &ns), -ERANGE);
	assert_int_equal(bw_parse_duration("18446744073.7095516155s", &ns), -ERANGE);
	assert_int_equal(ns, 42);
	assert_int_equal(bw_parse_duration(NULL, &ns), -EINVAL);
}

static void test_size(void **state)
{
	uint64_t b;

	assert_int_equal(bw_parse_size("64K", &b), 0);
	assert_int_equal(b, 65536);
	assert_int_equal(bw_parse_size("16M", &b), 0);
	assert_int_equal(b, 16 << 20);
	assert_int_equal(bw_parse_size("4096", &b), 0);
	assert_int_equal(b, 4096);
	assert_int_not_equal(bw_parse_size("10abc", &b), 0);
	assert_int_not_equal(bw_parse_size("-1", &b), 0);
	assert_int_not_equal(bw_parse_size("99999999999999999999", &b), 0);
}

static void test_pids(void **state)
{
	pid_t *p = NULL;
	int n = 0;

	assert_int_equal(bw_parse_pids("12,34,5", &p, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(p[0], 12);
	assert_int_equal(p[2], 5);
	free(p);
	assert_int_equal(bw_parse_pids("1", &p, &n), 0);
	assert_int_equal(n, 1);
	free(p);
	assert_int_equal(bw_parse_pids("", &p, &n), -EINVAL);
	assert_int_equal(bw_parse_pids("12,", &p, &n), -EINVAL);
	assert_int_equal(bw_parse_pids(",12", &p, &n), -EINVAL);
	assert_int_equal(bw_parse_pids("12x", &p, &n), -EINVAL);
	assert_int_equal(bw_parse_pids("0", &p, &n), -EINVAL);
	assert_int_equal(bw_parse_pids("-5", &p, &n), -EINVAL);
	assert_int_equal(bw_parse_pids("99999999999", &p, &n), -EINVAL);
}

static int parse(struct bw_opts *o, int argc, char **argv)
{
	return bw_cli_parse(argc, argv, o);
}

static void test_cli_defaults(void **state)
{
	char *argv[] = { "blockwatch", NULL };
	struct bw_opts o;

	assert_int_equal(parse(&o, 1, argv), 0);
	assert_null(o.pids);
	assert_int_equal(o.threshold_ns, 100000000ULL);
	assert_int_equal(o.interval_ns, 5000000000ULL);
	assert_int_equal(o.duration_ns, 0);
	assert_int_equal(o.nsinks, 1);
	assert_string_equal(o.sinks[0].format, "text");
	assert_null(o.sinks[0].path);
	assert_int_equal(o.top, 0);
	assert_false(o.no_progress);
	assert_string_equal(o.debug_cache, "/var/cache/blockwatch");
	bw_opts_free(&o);
}

static void test_cli_debug_cache(void **state)
{
	char *a1[] = { "blockwatch", "--debug-cache", "/srv/c", NULL };
	char *a2[] = { "blockwatch", "--debug-cache", "off", NULL };
	char *a3[] = { "blockwatch", "--debug-cache", "", NULL };
	struct bw_opts o;

	(void)state;
	assert_int_equal(parse(&o, 3, a1), 0);
	assert_string_equal(o.debug_cache, "/srv/c");
	bw_opts_free(&o);
	assert_int_equal(parse(&o, 3, a2), 0);
	assert_null(o.debug_cache);
	bw_opts_free(&o);
	assert_int_equal(parse(&o, 3, a3), -EINVAL);
	bw_opts_free(&o);
}

static void test_cli_options(void **state)
{
	char *argv[] = { "blockwatch", "-p", "1,2", "-t", "1ms", "-i", "2s", "-d", "10s",
			 "-f", "json", "-o", "/tmp/x", "--top", "3", "--ringbuf-size", "1M",
			 "--force-raw-tp", "-v", "--no-progress", NULL };
	struct bw_opts o;

	assert_int_equal(parse(&o, 20, argv), 0);
	assert_int_equal(o.npids, 2);
	assert_int_equal(o.threshold_ns, 1000000);
	assert_int_equal(o.interval_ns, 2000000000ULL);
	assert_int_equal(o.duration_ns, 10000000000ULL);
	assert_int_equal(o.nsinks, 1);
	assert_string_equal(o.sinks[0].format, "json");
	assert_string_equal(o.sinks[0].path, "/tmp/x");
	assert_int_equal(o.top, 3);
	assert_int_equal(o.ringbuf_size, 1 << 20);
	assert_true(o.force_raw_tp);
	assert_true(o.verbose);
	assert_true(o.no_progress);
	bw_opts_free(&o);
}

static void test_cli_errors(void **state)
{
	char *a1[] = { "blockwatch", "-t", "10", NULL };
	char *a2[] = { "blockwatch", "-f", "xml", NULL };
	char *a3[] = { "blockwatch", "--bogus", NULL };
	char *a4[] = { "blockwatch", "-p", NULL };
	char *a5[] = { "blockwatch", "stray", NULL };
	char *a6[] = { "blockwatch", "--top", "0", NULL };
	char *a7[] = { "blockwatch", "-i", "0s", NULL };
	char *a8[] = { "blockwatch", "-i", "999999999999h", NULL };
	char *a9[] = { "blockwatch", "-t", "0x10s", NULL };
	char *a10[] = { "blockwatch", "-d", "1e3ms", NULL };
	char *a11[] = { "blockwatch", "-i", "0.5ms", NULL };
	char *a12[] = { "blockwatch", "--now", "-d", "5s", NULL };
	char *a13[] = { "blockwatch", "-i", "1s", "-n", NULL };
	char *ok1[] = { "blockwatch", "--now", "-t", "1s", NULL };
	struct bw_opts o;

	assert_int_equal(parse(&o, 3, a1), -EINVAL);
	bw_opts_free(&o);
	assert_int_equal(parse(&o, 3, a2), -EINVAL);
	bw_opts_free(&o);
	assert_int_equal(parse(&o, 2, a3), -EINVAL);
	bw_opts_free(&o);
	assert_int_equal(parse(&o, 2, a4), -EINVAL);
	bw_opts_free(&o);
	assert_int_equal(parse(&o, 2, a5), -EINVAL);
	bw_opts_free(&o);
	assert_int_equal(parse(&o, 3, a6), -EINVAL);
	bw_opts_free(&o);
	assert_int_equal(parse(&o, 3, a7), -EINVAL);
	bw_opts_free(&o);
	assert_int_equal(parse(&o, 3, a8), -EINVAL);
	bw_opts_free(&o);
	assert_int_equal(parse(&o, 3, a9), -EINVAL);
	bw_opts_free(&o);
	assert_int_equal(parse(&o, 3, a10), -EINVAL);
	bw_opts_free(&o);
	assert_int_equal(parse(&o, 3, a11), -EINVAL);
	bw_opts_free(&o);
	/* --now is one snapshot: no duration, no interval */
	assert_int_equal(parse(&o, 4, a12), -EINVAL);
	bw_opts_free(&o);
	assert_int_equal(parse(&o, 4, a13), -EINVAL);
	bw_opts_free(&o);
	assert_int_equal(parse(&o, 4, ok1), 0);
	assert_true(o.now);
	bw_opts_free(&o);
}


static void test_cli_outputs(void **state)
{
	char *a1[] = { "blockwatch", "-f", "text", "-f", "json:/tmp/a.json", NULL };
	char *a2[] = { "blockwatch", "-f", "json", "-f", "text:-", "-o", "/tmp/r.json", NULL };
	char *a3[] = { "blockwatch", "-o", "/tmp/r.txt", NULL };
	char *e1[] = { "blockwatch", "-f", "text", "-f", "json", NULL };
	char *e2[] = { "blockwatch", "-f", "json:/tmp/x", "-f", "text:/tmp/x", NULL };
	char *e3[] = { "blockwatch", "-f", "json:", NULL };
	char *e4[] = { "blockwatch", "-f", "xml:/tmp/x", NULL };
	char *e5[] = { "blockwatch", "-f", "json:/tmp/j", "-o", "/tmp/o", NULL };
	struct bw_opts o;

	/* several outputs, one of them on stdout */
	assert_int_equal(parse(&o, 5, a1), 0);
	assert_int_equal(o.nsinks, 2);
	assert_string_equal(o.sinks[0].format, "text");
	assert_null(o.sinks[0].path);
	assert_string_equal(o.sinks[1].format, "json");
	assert_string_equal(o.sinks[1].path, "/tmp/a.json");
	bw_opts_free(&o);
	/* -o is for the one without a file; "-" is stdout */
	assert_int_equal(parse(&o, 7, a2), 0);
	assert_string_equal(o.sinks[0].path, "/tmp/r.json");
	assert_null(o.sinks[1].path);
	bw_opts_free(&o);
	/* -o alone: text to that file, as before */
	assert_int_equal(parse(&o, 3, a3), 0);
	assert_int_equal(o.nsinks, 1);
	assert_string_equal(o.sinks[0].format, "text");
	assert_string_equal(o.sinks[0].path, "/tmp/r.txt");
	bw_opts_free(&o);
	/* two on stdout, one file twice, no file after ':', a bad format */
	assert_int_equal(parse(&o, 5, e1), -EINVAL);
	bw_opts_free(&o);
	assert_int_equal(parse(&o, 5, e2), -EINVAL);
	bw_opts_free(&o);
	assert_int_equal(parse(&o, 3, e3), -EINVAL);
	bw_opts_free(&o);
	assert_int_equal(parse(&o, 3, e4), -EINVAL);
	bw_opts_free(&o);
	/* -o, but every output has its own file */
	assert_int_equal(parse(&o, 5, e5), -EINVAL);
	bw_opts_free(&o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_duration_units), cmocka_unit_test(test_duration_exact),
		cmocka_unit_test(test_duration_errors),
		cmocka_unit_test(test_size),	       cmocka_unit_test(test_pids),
		cmocka_unit_test(test_cli_defaults),   cmocka_unit_test(test_cli_options),
		cmocka_unit_test(test_cli_errors),     cmocka_unit_test(test_cli_outputs),
		cmocka_unit_test(test_cli_debug_cache),
	};

	return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}
