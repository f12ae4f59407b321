// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* What the symbolizer keeps, and for how long, against a live fixture
 * process: an idle process's mappings go and come back with the same
 * names and generation, a file no held mapping maps is dropped, a gone
 * process leaves nothing behind. Time is passed in: no sleeping. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include <fcntl.h>
#include "base/clock.h"
#include "stacks/syms.h"

struct fixture {
	pid_t pid;
	int in; /* its stdin: close to end it */
	uint64_t leaf;
};

static void start(struct fixture *fx)
{
	const char *dir = getenv("BW_FIXTURE_DIR");
	char path[512], line[256];
	int to[2], from[2];
	uint64_t stat, base;
	FILE *f;

	snprintf(path, sizeof(path), "%s/fixture_nofp", dir ? dir : "build/tests");
	assert_int_equal(pipe2(to, O_CLOEXEC), 0);
	assert_int_equal(pipe2(from, O_CLOEXEC), 0);
	fx->pid = fork();
	assert_true(fx->pid >= 0);
	if (fx->pid == 0) {
		dup2(to[0], 0);
		dup2(from[1], 1);
		close(to[1]);
		close(from[0]);
		execl(path, path, (char *)NULL);
		_exit(127);
	}
	close(to[0]);
	close(from[1]);
	fx->in = to[1];
	f = fdopen(from[0], "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	assert_int_equal(sscanf(line, "%lx %lx %lx", &fx->leaf, &stat, &base), 3);
}

static void stop(struct fixture *fx)
{
	close(fx->in);
	waitpid(fx->pid, NULL, 0);
}

static void resolve_leaf(struct syms *s, const struct fixture *fx)
{
	struct bw_pc pc = { .pc = fx->leaf, .activation = true };
	struct bw_frame f;

	assert_int_equal(syms__resolve(s, fx->pid, &pc, &f, 1), 1);
	assert_non_null(f.symbol);
	assert_string_equal(f.symbol, "fixture_leaf");
	bw_frame_clear(&f);
}

static void expect(struct syms *s, size_t procs, size_t mapped, size_t files)
{
	struct bw_syms_stats st;

	syms__stats(s, &st);
	assert_int_equal(st.procs, procs);
	assert_int_equal(st.mapped, mapped);
	assert_int_equal(st.files, files);
}

/* Mapped and named: everything is kept while the process is in use. */
static void test_kept_while_used(void **state)
{
	struct syms *s = syms__new(NULL);
	struct fixture fx;
	int i;

	assert_non_null(s);
	start(&fx);
	assert_int_equal(syms__prepare(s, fx.pid), 0);
	expect(s, 1, 1, 0);
	resolve_leaf(s, &fx);
	expect(s, 1, 1, 1);
	/* report after report, each within the idle time of the last use */
	for (i = 0; i < 3; i++) {
		syms__prune(s, bw_mono_ns());
		expect(s, 1, 1, 1);
		resolve_leaf(s, &fx);
	}
	stop(&fx);
	syms__free(s);
}

/* Idle past SYMS_IDLE_NS: its mappings and the file only it mapped go;
 * the next lookup reads them again, names the same and keeps the
 * generation (the maps did not change: its named stacks stay good). */
static void test_idle_released(void **state)
{
	struct syms *s = syms__new(NULL);
	struct fixture fx;
	uint32_t gen;

	assert_non_null(s);
	start(&fx);
	resolve_leaf(s, &fx);
	gen = syms__generation(s, fx.pid);
	assert_true(gen > 0);
	syms__prune(s, bw_mono_ns() + SYMS_IDLE_NS);
	expect(s, 1, 0, 0);
	assert_int_equal(syms__generation(s, fx.pid), gen);
	resolve_leaf(s, &fx);
	expect(s, 1, 1, 1);
	assert_int_equal(syms__generation(s, fx.pid), gen);
	stop(&fx);
	syms__free(s);
}

/* Gone: its state goes at the next prune, and with it the files no
 * other process we hold maps. */
static void test_gone_dropped(void **state)
{
	struct syms *s = syms__new(NULL);
	struct fixture fx;

	assert_non_null(s);
	start(&fx);
	resolve_leaf(s, &fx);
	expect(s, 1, 1, 1);
	stop(&fx);
	syms__prune(s, bw_mono_ns());
	expect(s, 0, 0, 0);
	syms__free(s);
}

/* Forgotten (its exit or exec came in): the process at once, its files
 * at the next prune. */
static void test_forget(void **state)
{
	struct syms *s = syms__new(NULL);
	struct fixture a, b;

	assert_non_null(s);
	start(&a);
	start(&b);
	resolve_leaf(s, &a);
	resolve_leaf(s, &b);
	/* the same file, shared by build-id */
	expect(s, 2, 2, 1);
	syms__forget(s, a.pid);
	expect(s, 1, 1, 1);
	syms__prune(s, bw_mono_ns());
	/* b still maps it */
	expect(s, 1, 1, 1);
	syms__forget(s, b.pid);
	syms__prune(s, bw_mono_ns());
	expect(s, 0, 0, 0);
	stop(&a);
	stop(&b);
	syms__free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kept_while_used),
		cmocka_unit_test(test_idle_released),
		cmocka_unit_test(test_gone_dropped),
		cmocka_unit_test(test_forget),
	};

	return cmocka_run_group_tests_name("syms_evict", tests, NULL, NULL);
}
