// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Symbolization against live fixture processes (built with and without
 * frame pointers): names come only from a symbol that covers the pc. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include "stacks/demangle.h"
#include "stacks/syms.h"

struct fixture {
	pid_t pid;
	int in; /* its stdin: close to end it */
	uint64_t leaf, stat, base;
	char path[512];
};

static int start(struct fixture *fx, const char *name)
{
	const char *dir = getenv("BW_FIXTURE_DIR");
	int to[2], from[2];
	char line[256];
	FILE *f;

	snprintf(fx->path, sizeof(fx->path), "%s/%s", dir ? dir : "build/tests", name);
	if (pipe(to) || pipe(from))
		return -1;
	fx->pid = fork();
	if (fx->pid == 0) {
		dup2(to[0], 0);
		dup2(from[1], 1);
		close(to[1]);
		close(from[0]);
		execl(fx->path, fx->path, (char *)NULL);
		_exit(127);
	}
	close(to[0]);
	close(from[1]);
	fx->in = to[1];
	f = fdopen(from[0], "r");
	if (!f || !fgets(line, sizeof(line), f))
		return -1;
	fclose(f);
	if (sscanf(line, "%lx %lx %lx", &fx->leaf, &fx->stat, &fx->base) != 3)
		return -1;
	/* resolve the real path the kernel shows in maps */
	if (!realpath(fx->path, line))
		return -1;
	snprintf(fx->path, sizeof(fx->path), "%s", line);
	return 0;
}

static void stop(struct fixture *fx)
{
	close(fx->in);
	waitpid(fx->pid, NULL, 0);
}

static void check_fixture(const char *name)
{
	struct syms *s = syms__new(NULL);
	struct fixture fx;
	struct bw_frame f;
	struct bw_pc pc;

	assert_non_null(s);
	assert_int_equal(start(&fx, name), 0);
	assert_int_equal(syms__prepare(s, fx.pid), 0);

	/* function entry, as the interrupted pc */
	pc = (struct bw_pc){ .pc = fx.leaf, .activation = true };
	assert_int_equal(syms__resolve(s, fx.pid, &pc, &f, 1), 1);
	assert_string_equal(f.symbol, "fixture_leaf");
	assert_int_equal(f.symoff, 0);
	assert_string_equal(f.module, fx.path);
	/* PIE: an address's ELF offset is (addr - load base) here */
	assert_int_equal(f.offset, fx.leaf - fx.base);
	/* the mapping, as pprof wants it: from the load base, file offset
	 * 0 there, and the build-id gcc gave it */
	assert_int_equal(f.map_start, fx.base);
	assert_true(f.map_end > fx.leaf);
	assert_int_equal(f.map_offset, 0);
	assert_non_null(f.build_id);
	assert_int_equal(strlen(f.build_id), 40);
	assert_int_equal(strspn(f.build_id, "0123456789abcdef"), 40);
	bw_frame_clear(&f);

	/* a static (non-exported) function, inside it */
	pc = (struct bw_pc){ .pc = fx.stat + 2, .activation = true };
	assert_int_equal(syms__resolve(s, fx.pid, &pc, &f, 1), 1);
	assert_string_equal(f.symbol, "fixture_static");
	assert_int_equal(f.symoff, 2);
	bw_frame_clear(&f);

	/* A return address equal to the next function's start belongs to
	 * the call before it: looked up at pc - 1. */
	pc = (struct bw_pc){ .pc = fx.stat, .activation = false };
	assert_int_equal(syms__resolve(s, fx.pid, &pc, &f, 1), 1);
	assert_true(!f.symbol || strcmp(f.symbol, "fixture_static"));
	bw_frame_clear(&f);

	/* The ELF header: mapped, but no function covers it. */
	pc = (struct bw_pc){ .pc = fx.base + 0x10, .activation = true };
	assert_int_equal(syms__resolve(s, fx.pid, &pc, &f, 1), 1);
	assert_null(f.symbol);
	assert_string_equal(f.module, fx.path);
	assert_int_equal(f.offset, 0x10);
	bw_frame_clear(&f);

	/* Unmapped: neither module nor symbol. */
	pc = (struct bw_pc){ .pc = 0x1000, .activation = true };
	assert_int_equal(syms__resolve(s, fx.pid, &pc, &f, 1), 1);
	assert_null(f.symbol);
	assert_null(f.module);
	assert_int_equal(f.addr, 0x1000);
	bw_frame_clear(&f);

	stop(&fx);
	syms__free(s);
}

static void test_fixture_fp(void **state)
{
	check_fixture("fixture_fp");
}

static void test_fixture_nofp(void **state)
{
	check_fixture("fixture_nofp");
}

static void test_gone_process(void **state)
{
	struct syms *s = syms__new(NULL);
	struct bw_frame f;
	struct bw_pc pc = { .pc = 0x401000, .activation = true };
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	waitpid(pid, NULL, 0);
	assert_int_not_equal(syms__prepare(s, pid), 0);
	assert_int_equal(syms__resolve(s, pid, &pc, &f, 1), 1);
	assert_null(f.symbol);
	assert_null(f.module);
	syms__free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixture_fp),
		cmocka_unit_test(test_fixture_nofp),
		cmocka_unit_test(test_gone_process),
	};

	return cmocka_run_group_tests_name("syms", tests, NULL, NULL);
}
