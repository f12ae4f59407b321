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
#include <sys/wait.h>
#include "model/agg.h"
#include "model/go.h"
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
	/* the schema version, doc/blockwatch-report.schema.json */
	assert_true(json_object_object_get_ex(root, "version", &v));
	assert_int_equal(json_object_get_int(v), 2);
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

/* Names a traced process chose: terminal escapes, CR LF, a byte that
 * is not UTF-8, a C1 CSI, a bidi override, a backslash. */
#define EVIL_COMM "\x1b]0;pwn\x07\r\n\xff"
#define EVIL_COMM_TEXT "\\x1b]0;pwn\\x07\\x0d\\x0a\\xff"
#define EVIL_SYM "sym\x1b[2J\r\nPID 1 (init)\xc2\x9b\xe2\x80\xae\\"

/* The Go section of a process, its names from a hostile binary. */
static struct bw_go_frame go_frames[2] = {
	{ "main.\x1b[Kwork\n", "/src/\r\xffwork.go", 12, 0x401000, false, false },
	{ "main.main", "/src/main.go", 3, 0x402000, false, false },
};
static struct bw_go_channel go_chan = { 0xc000010000, "chan\x1b[1m\xfe", 0, 0, false, 1, 0 };
static struct bw_go_count go_reasons[1] = { { "chan\x07 \xff", 1 } };
static struct bw_go_group go_group = {
	.count = 1, .state = "waiting", .wait_reason = "chan\x07 \xff", .nframes = 2,
	.frames = go_frames, .blocking_site = 0,
	.created_by = { .func = "main.\rspawn", .file = "/src/x.go", .line = 1 },
	.channel = &go_chan, .nchannels = 1,
};
static struct bw_go_view go_view = {
	.version = "go1.21\x1b]0;x\x07", .goroutines = 1, .nreasons = 1, .by_reason = go_reasons,
	.ngroups = 1, .groups = &go_group,
};

/* Two threads of one process in a deadlock, every name @evil or not. */
struct names_report {
	struct bw_frame frames[3];
	struct bw_stack st;
	struct bw_fd_ref fd;
	struct bw_entry e[2], *ep[2];
	const struct bw_entry *cyc[2];
	struct bw_cycle cycle;
	struct bw_proc_report p, *pp;
	struct bw_report r;
};

static void names_report(struct names_report *n, bool evil)
{
	const char *comm = evil ? EVIL_COMM : "worker";
	int i;

	memset(n, 0, sizeof(*n));
	n->frames[0] = (struct bw_frame){ .addr = 0xffffffff81000000, .module = "[kernel]",
					  .symbol = evil ? "k\x1b" : "k", .kernel = true };
	n->frames[1] = (struct bw_frame){ .addr = 0x401000, .symbol = evil ? EVIL_SYM : "sym",
					  .module = evil ? "/opt/\x1b[31m\n/lib\xfe.so" : "/opt/lib.so",
					  .file = evil ? "/src/a\r\n.c" : "/src/a.c", .line = 7 };
	n->frames[2] = (struct bw_frame){ .addr = 0x7f0000001000, .module = "[jit]",
					  .symbol = evil ? "jit_\x1b[5m" : "jit" };
	n->st = (struct bw_stack){ .refs = 1, .nframes = 3, .frames = n->frames };
	n->fd = (struct bw_fd_ref){ 5, evil ? "/tmp/a\rb\x9b" "1m" : "/tmp/ab" };
	for (i = 0; i < 2; i++) {
		n->e[i] = (struct bw_entry){ .pid = 1, .tid = 2 + i, .reason = "mutex",
					     .stack = &n->st, .ongoing = true, .owner = 3 - i,
					     .blocked_ns = 1 };
		snprintf(n->e[i].comm, sizeof(n->e[i].comm), "%s", comm);
		snprintf(n->e[i].owner_comm, sizeof(n->e[i].owner_comm), "%s", comm);
		n->e[i].detail = (struct bw_detail){ .kind = BW_DETAIL_EPOLL,
						     .set = { NULL, 7, 1, &n->fd } };
		n->ep[i] = &n->e[i];
		n->cyc[i] = &n->e[i];
	}
	n->cycle = (struct bw_cycle){ 2, n->cyc };
	n->p = (struct bw_proc_report){ .pid = 1, .nthreads = 2, .threads = n->ep, .go = &go_view };
	snprintf(n->p.comm, sizeof(n->p.comm), "%s", comm);
	n->pp = &n->p;
	n->r = (struct bw_report){ .interval_ns = 1, .total_procs = 1, .nprocs = 1, .procs = &n->pp,
				   .ndeadlocks = 1, .deadlocks = &n->cycle };
	if (!evil) {
		/* the same Go section, its names tame */
		static struct bw_go_view tame;

		tame = go_view;
		tame.version = "go1.21";
		n->p.go = &tame;
	}
}

/* @input through python3 -c @script: 0 if it exits 0, 1 if not, -1 if
 * there is no python3. */
static int python(const char *script, const char *input)
{
	char cmd[1024];
	FILE *p;
	int st;

	snprintf(cmd, sizeof(cmd), "python3 -c '%s'", script);
	p = popen(cmd, "w");
	assert_non_null(p);
	fputs(input, p);
	st = pclose(p);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
		return -1;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}

static size_t count_lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void test_hostile_names(void **state)
{
	struct names_report evil, tame;
	char *out, *ref;
	const unsigned char *c;
	json_tokener *tok;
	json_object *root;
	int py;

	names_report(&evil, true);
	names_report(&tame, false);
	out = render(0, &evil.r, 8);
	ref = render(0, &tame.r, 8);
	for (c = (const unsigned char *)out; *c; c++)
		if ((*c < 0x20 && *c != '\n') || *c == 0x7f)
			fail_msg("raw byte %#x at %zu of:\n%s", *c,
				 (size_t)(c - (const unsigned char *)out), out);
	/* no line forged, none lost */
	assert_int_equal(count_lines(out), count_lines(ref));
	assert_non_null(strstr(out, "PID 1 (" EVIL_COMM_TEXT ")"));
	assert_non_null(strstr(out, "waits for TID 3 (" EVIL_COMM_TEXT ")"));
	assert_non_null(strstr(out, "\n        sym\\x1b[2J\\x0d\\x0aPID 1 (init)\\xc2\\x9b\\xe2\\x80"
				    "\\xae\\\\+0x0 (lib\\xfe.so) a\\x0d\\x0a.c:7\n"));
	assert_non_null(strstr(out, "\n        [k] k\\x1b+0x0\n"));
	assert_non_null(strstr(out, "\n        jit_\\x1b[5m+0x0 ([jit])\n"));
	assert_non_null(strstr(out, "on epoll fd 7: fd 5 /tmp/a\\x0db\\x9b1m"));
	assert_non_null(strstr(out, "GO 1 (" EVIL_COMM_TEXT ", go1.21\\x1b]0;x\\x07)"));
	assert_non_null(strstr(out, "main.\\x1b[Kwork\\x0a  \\x0d\\xffwork.go:12"));
	py = python("import sys; sys.stdin.buffer.read().decode(\"utf-8\", \"strict\")", out);
	if (py < 0)
		print_message("[  SKIPPED ] no python3: UTF-8 of the text not checked\n");
	assert_true(py <= 0);
	free(out);
	free(ref);

	out = render(1, &evil.r, 8);
	tok = json_tokener_new();
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	root = json_tokener_parse_ex(tok, out, (int)strlen(out) - 1);
	if (!root)
		fail_msg("json-c: %s in:\n%s",
			 json_tokener_error_desc(json_tokener_get_error(tok)), out);
	json_object_put(root);
	json_tokener_free(tok);
	py = python("import json, sys; r = json.loads(sys.stdin.buffer.read().decode(\"utf-8\", "
		    "\"strict\"), strict=True); p = r[\"processes\"][0]; "
		    "assert p[\"comm\"] == \"\\x1b]0;pwn\\x07\\r\\n\\\\xff\", p[\"comm\"]; "
		    "assert p[\"go\"][\"groups\"][0][\"wait_reason\"] == "
		    "\"chan\\x07 \\\\xff\"", out);
	assert_true(py <= 0);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_ongoing_json),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_details),
		cmocka_unit_test(test_hostile_names),
	};

	return cmocka_run_group_tests_name("report", tests, NULL, NULL);
}
