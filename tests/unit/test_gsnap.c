// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Snapshots of the live Go fixture (default, PIE and stripped builds):
 * every goroutine it parked, in the right state, with a stack that
 * reaches goexit; the view groups them as the runtime would; a process
 * that is gone is said to be, not read as garbage.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include "golang/gobin.h"
#include "golang/gproc.h"
#include "golang/gsnap.h"
#include "golang/gview.h"
#include "base/clock.h"

struct proc {
	pid_t pid;
	FILE *in;
};

static void start(const char *variant, struct proc *p)
{
	const char *dir = getenv("BW_FIXTURE_DIR");
	char path[512], line[64];
	int to[2], from[2], pid;
	FILE *out;

	snprintf(path, sizeof(path), "%s/go/%s/goroutines", dir ? dir : "build/tests", variant);
	assert_int_equal(pipe(to), 0);
	assert_int_equal(pipe(from), 0);
	p->pid = fork();
	assert_true(p->pid >= 0);
	if (p->pid == 0) {
		dup2(to[0], 0);
		dup2(from[1], 1);
		close(to[1]);
		close(from[0]);
		execl(path, path, "-send", "10", "-cap", "2", "-recv", "3", "-sleep", "4",
		      (char *)NULL);
		_exit(127);
	}
	close(to[0]);
	close(from[1]);
	p->in = fdopen(to[1], "w");
	out = fdopen(from[0], "r");
	assert_non_null(out);
	assert_non_null(fgets(line, sizeof(line), out));
	assert_int_equal(sscanf(line, "ready %d", &pid), 1);
	/* a round trip: main is back in its read of stdin, not on its way */
	fputs("count\n", p->in);
	fflush(p->in);
	assert_non_null(fgets(line, sizeof(line), out));
	fclose(out);
}

static void stop(struct proc *p)
{
	fclose(p->in);
	waitpid(p->pid, NULL, 0);
}

static const struct bw_go_group *group(const struct bw_go_view *v, const char *reason)
{
	uint32_t i;

	for (i = 0; i < v->ngroups; i++)
		if (v->groups[i].wait_reason && !strcmp(v->groups[i].wait_reason, reason))
			return &v->groups[i];
	return NULL;
}

static void check(const char *variant)
{
	struct goprocs *g = goprocs__new();
	const struct bw_go_view *v;
	const struct bw_go_group *gr;
	struct proc p;
	int err;

	assert_non_null(g);
	start(variant, &p);
	v = goprocs__snapshot(g, p.pid, bw_mono_ns(), false, &err);
	assert_int_equal(err, 0);
	assert_non_null(v);
	assert_null(v->warning);
	assert_string_equal(v->version, "go1.19.8");
	/* 10 + 3 + 4 parked, main reading its stdin, the idle listener's
	 * accept loop: each one reported, or counted as torn (one that
	 * changed while read: main, woken by nothing but a spurious wakeup,
	 * could be) */
	assert_int_equal(v->goroutines + v->torn, 19);
	assert_true(v->torn <= 1);
	assert_int_equal(v->unreadable + v->unwind_failed, 0);
	gr = group(v, "chan send");
	assert_non_null(gr);
	assert_int_equal(gr->count, 10);
	assert_false(gr->truncated);
	assert_true(gr->blocking_site >= 0);
	assert_string_equal(gr->frames[gr->blocking_site].func, "main.(*OrderService).CreateOrder");
	assert_true(gr->frames[gr->blocking_site].inlined);
	assert_string_equal(gr->created_by.func, "main.spawnSend");
	assert_non_null(gr->channel);
	assert_int_equal(gr->channel->cap, 2);
	assert_int_equal(gr->channel->len, 2);
	assert_int_equal(gr->channel->send_waiting, 10);
	assert_string_equal(gr->channel->elem_type, "*main.Order");
	gr = group(v, "sleep");
	assert_non_null(gr);
	assert_int_equal(gr->count, 4);
	assert_null(gr->channel);
	/* goids are the lowest first */
	assert_true(gr->goids[0] < gr->goids[1]);
	gr = group(v, "chan receive");
	assert_non_null(gr);
	assert_int_equal(gr->count, 3);
	/* twice in one report: the same view, not a second read */
	assert_ptr_equal(goprocs__snapshot(g, p.pid, bw_mono_ns(), false, &err), v);
	/* the next report: the goroutines now have an age */
	usleep(20000);
	goprocs__sweep(g);
	v = goprocs__snapshot(g, p.pid, bw_mono_ns(), true, &err);
	assert_non_null(v);
	gr = group(v, "chan send");
	assert_true(gr->age_known);
	assert_true(gr->oldest_ns >= 20000000ULL);
	goprocs__sweep(g);
	/* gone: ESRCH, no view */
	kill(p.pid, SIGKILL);
	stop(&p);
	v = goprocs__snapshot(g, p.pid, bw_mono_ns(), false, &err);
	assert_null(v);
	goprocs__free(g);
}

static void test_default(void **state)
{
	check("default");
}

static void test_pie(void **state)
{
	check("pie");
}

static void test_stripped(void **state)
{
	check("stripped");
}

/* The snapshot itself on a process that died between detection and the
 * read: -ESRCH, nothing made up. */
static void test_exited_mid_read(void **state)
{
	struct gobins *bins = gobins__new();
	struct go_snapshot s;
	struct gobin *b;
	struct proc p;
	int err;

	start("default", &p);
	b = gobins__get(bins, p.pid, &err);
	assert_non_null(b);
	assert_true(b->usable);
	kill(p.pid, SIGKILL);
	stop(&p);
	err = go_snapshot_read(p.pid, b, 0, &s);
	assert_int_equal(err, -ESRCH);
	assert_int_equal(s.n, 0);
	gobin_put(b);
	gobins__free(bins);
}

/* A binary may lie about its layout: optional offsets out of any G's
 * reach are left out, required ones refuse the snapshot; nothing is
 * read outside what was copied. */
static void test_lying_layout(void **state)
{
	struct gobins *bins = gobins__new();
	struct go_layout saved;
	struct go_snapshot s;
	struct gobin *b;
	struct proc p;
	int err;

	start("default", &p);
	b = gobins__get(bins, p.pid, &err);
	assert_non_null(b);
	saved = b->layout;
	b->layout.g_syscallsp = GO_NOFIELD;
	b->layout.g_syscallbp = 4000;
	b->layout.g_waiting = 0x7fffffff;
	assert_int_equal(go_snapshot_read(p.pid, b, 0, &s), 0);
	assert_true(s.n >= 19);
	go_snapshot_clear(&s);
	b->layout.g_goid = 5000;
	assert_int_equal(go_snapshot_read(p.pid, b, 0, &s), -EPROTO);
	b->layout = saved;
	kill(p.pid, SIGKILL);
	stop(&p);
	gobin_put(b);
	gobins__free(bins);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default),
		cmocka_unit_test(test_pie),
		cmocka_unit_test(test_stripped),
		cmocka_unit_test(test_exited_mid_read),
		cmocka_unit_test(test_lying_layout),
	};

	return cmocka_run_group_tests_name("gsnap", tests, NULL, NULL);
}
