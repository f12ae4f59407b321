// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <json-c/json.h>
#include "model/agg.h"
#include "report/fmt.h"
#include "report/sink.h"
#include "stacks/stacktab.h"

#define MS 1000000ULL

static int resolve(void *ctx, pid_t pid, const struct bw_pc *pc, struct bw_frame *f, int max)
{
	memset(f, 0, sizeof(*f));
	f->addr = pc->pc;
	if (pc->pc == 0x401000) {
		f->symbol = strdup("worker_\"quoted\"");
		f->symoff = 0x10;
		f->module = strdup("/usr/bin/svc");
		f->offset = 0x1000;
	} else if (pc->pc == 0x7f0000001234) {
		f->module = strdup("/lib/libc.so.6");
		f->offset = 0x1234;
	} else {
		return 1;
	}
	if (pc->pc == 0x401000 && max >= 2) {
		/* worker_"quoted" inlined a helper at svc.c:42 */
		f[1] = f[0];
		f[1].symbol = strdup(f[0].symbol);
		f[1].module = strdup(f[0].module);
		f[1].file = strdup("/src/svc.c");
		f[1].line = 42;
		free(f[0].symbol);
		f[0].symbol = strdup("helper");
		f[0].inlined = true;
		f[0].file = strdup("/src/helper.h");
		f[0].line = 7;
		return 2;
	}
	return 1;
}

static const struct bw_pc pcs[] = { { .pc = 0x401000, .activation = true }, { .pc = 0x7f0000001234, .activation = false }, { .pc = 0x42, .activation = false } };

static struct stacktab *tab;

static struct agg *make(struct bw_report *r)
{
	struct agg *a = agg__new();
	struct bw_sample s = {
		.pid = 100, .tid = 101, .comm = "worker", .pcomm = "svc", .reason = "futex",
		.blocked_ns = 1500 * MS, .max_ns = 1500 * MS, .count = 1,
	};

	tab = stacktab__new(resolve, NULL);
	s.stack = stacktab__get(tab, 100, pcs, 3, false);
	assert_int_equal(agg__add(a, &s), 0);
	bw_stack_put(s.stack);
	memset(r, 0, sizeof(*r));
	r->time_ns = 1700000000123456789ULL;
	r->interval_ns = 5000 * MS;
	r->threshold_ns = 100 * MS;
	r->dropped[BW_DROP_RINGBUF] = 7;
	r->short_count = 3;
	assert_int_equal(agg__build(a, r, 0), 0);
	return a;
}

static void done(struct agg *a)
{
	agg__free(a);
	stacktab__free(tab);
	tab = NULL;
}

/* A report through the text or json sink, as a string. */
static char *render(int json, const struct bw_report *r, unsigned int frames)
{
	struct bw_sink_cfg cfg = { .frames = frames };
	struct bw_sink sink = { .ops = bw_sink_find(json ? "json" : "text"), .cfg = &cfg };
	char *buf = NULL;
	size_t len = 0;

	assert_non_null(sink.ops);
	sink.out = open_memstream(&buf, &len);
	assert_non_null(sink.out);
	assert_int_equal(sink.ops->emit(&sink, r), 0);
	fclose(sink.out);
	return buf;
}

static void test_json(void **state)
{
	struct bw_report r;
	struct agg *a = make(&r);
	char *out = render(1, &r, 0);
	json_object *root, *procs, *th, *stack, *f, *v;

	/* one line */
	assert_non_null(strchr(out, '\n'));
	assert_int_equal(strchr(out, '\n')[1], '\0');
	root = json_tokener_parse(out);
	assert_non_null(root);
	assert_true(json_object_object_get_ex(root, "time", &v));
	assert_string_equal(json_object_get_string(v), "2023-11-14T22:13:20.123Z");
	assert_true(json_object_object_get_ex(root, "interval_ns", &v));
	assert_int_equal(json_object_get_uint64(v), 5000 * MS);
	assert_true(json_object_object_get_ex(root, "threshold_ns", &v));
	assert_int_equal(json_object_get_uint64(v), 100 * MS);
	assert_true(json_object_object_get_ex(root, "dropped", &v));
	assert_true(json_object_object_get_ex(v, "ringbuf", &v));
	assert_int_equal(json_object_get_uint64(v), 7);
	assert_true(json_object_object_get_ex(root, "processes", &procs));
	assert_int_equal(json_object_array_length(procs), 1);
	v = json_object_array_get_idx(procs, 0);
	assert_true(json_object_object_get_ex(v, "threads", &th));
	th = json_object_array_get_idx(th, 0);
	assert_true(json_object_object_get_ex(th, "tid", &v));
	assert_int_equal(json_object_get_int(v), 101);
	assert_true(json_object_object_get_ex(th, "reason", &v));
	assert_string_equal(json_object_get_string(v), "futex");
	assert_true(json_object_object_get_ex(th, "blocked_ns", &v));
	assert_int_equal(json_object_get_uint64(v), 1500 * MS);
	assert_true(json_object_object_get_ex(th, "stack", &stack));
	assert_int_equal(json_object_array_length(stack), 4);
	f = json_object_array_get_idx(stack, 0);
	assert_true(json_object_object_get_ex(f, "symbol", &v));
	assert_string_equal(json_object_get_string(v), "helper");
	assert_true(json_object_object_get_ex(f, "inline", &v));
	assert_true(json_object_get_boolean(v));
	assert_true(json_object_object_get_ex(f, "file", &v));
	assert_string_equal(json_object_get_string(v), "/src/helper.h");
	assert_true(json_object_object_get_ex(f, "line", &v));
	assert_int_equal(json_object_get_int(v), 7);
	stack = json_object_get(stack);
	json_object_array_del_idx(stack, 0, 1);
	f = json_object_array_get_idx(stack, 0);
	assert_false(json_object_object_get_ex(f, "inline", &v));
	assert_true(json_object_object_get_ex(f, "symbol", &v));
	assert_string_equal(json_object_get_string(v), "worker_\"quoted\"");
	assert_true(json_object_object_get_ex(f, "offset", &v));
	assert_int_equal(json_object_get_uint64(v), 0x1000);
	f = json_object_array_get_idx(stack, 1);
	assert_true(json_object_object_get_ex(f, "symbol", &v));
	assert_null(v); /* JSON null: no symbol covers it */
	assert_true(json_object_object_get_ex(f, "addr", &v));
	assert_int_equal(json_object_get_uint64(v), 0x7f0000001234ULL);
	f = json_object_array_get_idx(stack, 2);
	assert_true(json_object_object_get_ex(f, "module", &v));
	assert_null(v);
	json_object_put(stack);
	json_object_put(root);
	free(out);
	done(a);
}

static void test_text(void **state)
{
	struct bw_report r;
	struct agg *a = make(&r);
	char *out = render(0, &r, 8);

	assert_non_null(strstr(out, "threshold 100ms"));
	assert_non_null(strstr(out, "dropped 7 (ringbuf 7)"));
	assert_non_null(strstr(out, "PID 100 (svc)"));
	assert_non_null(strstr(out, "101  worker"));
	assert_non_null(strstr(out, "futex"));
	assert_non_null(strstr(out, "1.50s"));
	assert_non_null(strstr(out, "helper (svc) helper.h:7 [inline]"));
	assert_non_null(strstr(out, "worker_\"quoted\"+0x10 (svc) svc.c:42\n"));
	assert_non_null(strstr(out, "libc.so.6+0x1234"));
	assert_non_null(strstr(out, "0x42"));
	free(out);
	out = render(0, &r, 1);
	assert_non_null(strstr(out, "... 3 more frames"));
	assert_null(strstr(out, "libc.so.6+0x1234"));
	free(out);
	done(a);
}

static void test_ongoing_json(void **state)
{
	struct agg *a = agg__new();
	struct bw_sample s = {
		.pid = 100, .tid = 102, .comm = "stuck", .pcomm = "svc", .reason = "mutex",
		.blocked_ns = 5000 * MS, .max_ns = 90000 * MS, .age_ns = 90000 * MS,
		.count = 1, .ongoing = true,
	};
	struct bw_report r = { .interval_ns = 5000 * MS };
	json_object *root, *v, *t;
	char *out;

	tab = stacktab__new(resolve, NULL);
	s.stack = stacktab__get(tab, 100, pcs, 1, false);
	assert_int_equal(agg__add(a, &s), 0);
	bw_stack_put(s.stack);
	assert_int_equal(agg__build(a, &r, 0), 0);
	out = render(1, &r, 0);
	root = json_tokener_parse(out);
	assert_non_null(root);
	assert_true(json_object_object_get_ex(root, "processes", &v));
	v = json_object_array_get_idx(v, 0);
	/* the process total adds up the interval's parts */
	assert_true(json_object_object_get_ex(v, "blocked_ns", &t));
	assert_int_equal(json_object_get_uint64(t), 5000 * MS);
	assert_true(json_object_object_get_ex(v, "threads", &v));
	v = json_object_array_get_idx(v, 0);
	/* a still-blocked entry: blocked_ns is the age so far */
	assert_true(json_object_object_get_ex(v, "ongoing", &t));
	assert_true(json_object_get_boolean(t));
	assert_true(json_object_object_get_ex(v, "blocked_ns", &t));
	assert_int_equal(json_object_get_uint64(t), 90000 * MS);
	assert_true(json_object_object_get_ex(v, "age_ns", &t));
	assert_int_equal(json_object_get_uint64(t), 90000 * MS);
	assert_true(json_object_object_get_ex(v, "interval_blocked_ns", &t));
	assert_int_equal(json_object_get_uint64(t), 5000 * MS);
	json_object_put(root);
	free(out);
	out = render(0, &r, 2);
	assert_non_null(strstr(out, "STILL BLOCKED, for 1m30s so far (5.00s of it in this interval)"));
	free(out);
	done(a);
}

static void test_durations(void **state)
{
	char b[16];

	bw_fmt_duration(999, b, sizeof(b));
	assert_string_equal(b, "999ns");
	bw_fmt_duration(1500, b, sizeof(b));
	assert_string_equal(b, "1.5us");
	bw_fmt_duration(100 * MS, b, sizeof(b));
	assert_string_equal(b, "100ms");
	bw_fmt_duration(1500 * MS, b, sizeof(b));
	assert_string_equal(b, "1.50s");
	bw_fmt_duration(125000 * MS, b, sizeof(b));
	assert_string_equal(b, "2m05s");
	bw_fmt_duration(7320000 * MS, b, sizeof(b));
	assert_string_equal(b, "2h02m");
}


/* Every kind of detail, rendered as text ("on ..." lines) and JSON the
 * way they were before the report model had types. */
struct rendered {
	struct bw_detail d;
	const char *text; /* NULL: no "on" line */
	const char *json;
};

static struct bw_fd_ref fdrefs[2] = { { 5, "socket:[1] unix (unnamed)" }, { 6, NULL } };

static const struct rendered cases[] = {
	{ { .kind = BW_DETAIL_FUTEX, .futex = { BW_FUTEX_MUTEX, 0x5000, 128, 0 } },
	  "mutex 0x5000 FUTEX_WAIT_PRIVATE",
	  "{\"kind\":\"mutex\",\"futex\":\"0x5000\",\"op\":\"FUTEX_WAIT_PRIVATE\"}" },
	{ { .kind = BW_DETAIL_FUTEX, .futex = { BW_FUTEX_CONDVAR, 0x502c, 9 | 128, 0x5000 } },
	  "condvar 0x5000 (futex 0x502c FUTEX_WAIT_BITSET_PRIVATE)",
	  "{\"kind\":\"condvar\",\"condvar\":\"0x5000\",\"futex\":\"0x502c\",\"op\":\"FUTEX_WAIT_BITSET_PRIVATE\"}" },
	{ { .kind = BW_DETAIL_FUTEX, .futex = { BW_FUTEX_PLAIN, 0x6000, 0, 0 } },
	  "futex 0x6000 FUTEX_WAIT",
	  "{\"kind\":\"futex\",\"futex\":\"0x6000\",\"op\":\"FUTEX_WAIT\"}" },
	{ { .kind = BW_DETAIL_FUTEX, .futex = { BW_FUTEX_WAITV, 0x7000, 0, 0 } },
	  "futex_waitv", "{\"kind\":\"waitv\"}" },
	{ { .kind = BW_DETAIL_FD, .fd = { 3, "pipe:[123]" } },
	  "fd 3 pipe:[123]", "{\"fd\":3,\"target\":\"pipe:[123]\"}" },
	{ { .kind = BW_DETAIL_FD, .fd = { 4, NULL } }, "fd 4 ?", "{\"fd\":4,\"target\":\"?\"}" },
	{ { .kind = BW_DETAIL_EPOLL, .set = { NULL, 7, 2, fdrefs } },
	  "epoll fd 7: fd 5 socket:[1] unix (unnamed), fd 6 ?",
	  "{\"epfd\":7,\"fds\":[{\"fd\":5,\"target\":\"socket:[1] unix (unnamed)\"},{\"fd\":6,\"target\":\"?\"}]}" },
	{ { .kind = BW_DETAIL_FDSET, .set = { "pselect6", 0, 1, fdrefs } },
	  "pselect6: fd 5 socket:[1] unix (unnamed)",
	  "{\"fds\":[{\"fd\":5,\"target\":\"socket:[1] unix (unnamed)\"}]}" },
	{ { .kind = BW_DETAIL_CHILD, .child = { 42 } }, "for pid 42", "{\"pid\":42}" },
	{ { .kind = BW_DETAIL_FD, .io = true, .syscall = "read", .fd = { 3, "/data" } },
	  "fd 3 /data", "{\"fd\":3,\"target\":\"/data\",\"syscall\":\"read\"}" },
	{ { .io = true, .syscall = "openat" }, "in openat", "{\"syscall\":\"openat\"}" },
	{ { .io = true }, "page fault or other kernel wait", "{\"syscall\":null}" },
	{ { .kind = BW_DETAIL_NONE }, NULL, "null" },
};

static void test_details(void **state)
{
	struct bw_stack st = { .refs = 1 };
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct bw_entry e = { .pid = 1, .tid = 2, .comm = "t", .reason = "x", .stack = &st };
		struct bw_entry *ep = &e;
		struct bw_proc_report p = { .pid = 1, .comm = "p", .nthreads = 1, .threads = &ep };
		struct bw_proc_report *pp = &p;
		struct bw_report r = { .interval_ns = 1, .total_procs = 1, .nprocs = 1, .procs = &pp };
		char *out, want[512], *at;

		e.detail = cases[i].d;
		out = render(0, &r, 0);
		if (cases[i].text) {
			snprintf(want, sizeof(want), "\n           on %s\n", cases[i].text);
			if (!strstr(out, want))
				fail_msg("case %zu: no '%s' in:\n%s", i, cases[i].text, out);
		} else {
			assert_null(strstr(out, " on "));
		}
		free(out);
		out = render(1, &r, 0);
		snprintf(want, sizeof(want), "\"detail\":%s,", cases[i].json);
		at = strstr(out, want);
		if (!at)
			fail_msg("case %zu: no '%s' in:\n%s", i, want, out);
		free(out);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_ongoing_json),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_details),
	};

	return cmocka_run_group_tests_name("report", tests, NULL, NULL);
}
