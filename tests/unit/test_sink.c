// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Several sinks per run; a write error is reported once and does not
 * stop the others; a reader gone (EPIPE) closes a sink for good. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "report/sink.h"

static const struct bw_sink_cfg cfg = { .frames = 8 };

static struct bw_report report(void)
{
	return (struct bw_report){
		.kind = BW_REPORT_INTERVAL,
		.time_ns = 1700000000123456789ULL,
		.interval_ns = 1000000000ULL,
		.threshold_ns = 100000000ULL,
	};
}

static long lines(const char *path)
{
	FILE *f = fopen(path, "r");
	long n = 0;
	int c;

	assert_non_null(f);
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

static void test_formats(void **state)
{
	char names[128];

	assert_non_null(bw_sink_find("text"));
	assert_non_null(bw_sink_find("json"));
	assert_null(bw_sink_find("xml"));
	bw_sink_names(names, sizeof(names));
	assert_string_equal(names, "text, json, folded, pprof, pprof-go, svg");
}

static void test_two_files(void **state)
{
	char tj[] = "/tmp/bw-sink-XXXXXX", tt[] = "/tmp/bw-sink-XXXXXX";
	struct bw_sink_spec specs[2] = { { .format = "json", .path = tj }, { .format = "text", .path = tt } };
	struct bw_report r = report();
	struct bw_sinks *ss;

	close(mkstemp(tj));
	close(mkstemp(tt));
	assert_int_equal(bw_sinks__open(specs, 2, &cfg, &ss), 0);
	assert_int_equal(bw_sinks__emit(ss, &r), 0);
	assert_int_equal(bw_sinks__emit(ss, &r), 0);
	assert_int_equal(bw_sinks__close(ss), 0);
	assert_int_equal(lines(tj), 2); /* one JSON object per line */
	assert_true(lines(tt) > 2);
	unlink(tj);
	unlink(tt);
}

static void test_write_error_goes_on(void **state)
{
	char tj[] = "/tmp/bw-sink-XXXXXX";
	struct bw_sink_spec specs[2] = { { .format = "text", .path = "/dev/full" }, { .format = "json", .path = tj } };
	struct bw_report r = report();
	struct bw_sinks *ss;

	close(mkstemp(tj));
	assert_int_equal(bw_sinks__open(specs, 2, &cfg, &ss), 0);
	/* /dev/full fails every time; the JSON file gets every report */
	assert_int_equal(bw_sinks__emit(ss, &r), 0);
	assert_int_equal(bw_sinks__emit(ss, &r), 0);
	assert_int_equal(bw_sinks__emit(ss, &r), 0);
	assert_int_equal(bw_sinks__close(ss), -EIO);
	assert_int_equal(lines(tj), 3);
	unlink(tj);
}

static void test_reader_gone(void **state)
{
	struct bw_sink_spec spec = { .format = "json" };
	struct bw_report r = report();
	struct bw_sinks *ss;
	char path[64];
	int p[2];

	signal(SIGPIPE, SIG_IGN);
	assert_int_equal(pipe(p), 0);
	close(p[0]);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", p[1]);
	spec.path = path;
	assert_int_equal(bw_sinks__open(&spec, 1, &cfg, &ss), 0);
	/* the only sink is gone for good: nothing to trace for */
	assert_int_equal(bw_sinks__emit(ss, &r), -EPIPE);
	assert_int_equal(bw_sinks__close(ss), -EIO);
	close(p[1]);
}

/* A report bigger than stdio's buffer is written inside fprintf, whose
 * EPIPE stdio forgets: the sink must still see the reader gone. */
static void test_reader_gone_big_report(void **state)
{
	static struct bw_proc_report procs[300], *pp[300];
	struct bw_sink_spec specs[2] = { { .format = "json" }, { .format = "text" } };
	struct bw_report r = report();
	struct bw_sinks *ss;
	char path[2][64];
	int p[2][2], i, k;

	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < 300; i++) {
		procs[i] = (struct bw_proc_report){ .pid = 1000 + i, .comm = "a-long-process" };
		pp[i] = &procs[i];
	}
	r.procs = pp;
	r.nprocs = r.total_procs = 300;
	for (k = 0; k < 2; k++) {
		assert_int_equal(pipe(p[k]), 0);
		close(p[k][0]);
		snprintf(path[k], sizeof(path[k]), "/proc/self/fd/%d", p[k][1]);
		specs[k].path = path[k];
	}
	assert_int_equal(bw_sinks__open(specs, 2, &cfg, &ss), 0);
	assert_int_equal(bw_sinks__emit(ss, &r), -EPIPE);
	assert_int_equal(bw_sinks__close(ss), -EIO);
	close(p[0][1]);
	close(p[1][1]);
}

static void test_cannot_open(void **state)
{
	struct bw_sink_spec spec = { .format = "text", .path = "/nonexistent/dir/out" };
	struct bw_sinks *ss = NULL;

	assert_int_not_equal(bw_sinks__open(&spec, 1, &cfg, &ss), 0);
	assert_null(ss);
	assert_int_equal(bw_sinks__close(NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_formats),
		cmocka_unit_test(test_two_files),
		cmocka_unit_test(test_write_error_goes_on),
		cmocka_unit_test(test_reader_gone),
		cmocka_unit_test(test_reader_gone_big_report),
		cmocka_unit_test(test_cannot_open),
	};

	return cmocka_run_group_tests_name("sink", tests, NULL, NULL);
}
