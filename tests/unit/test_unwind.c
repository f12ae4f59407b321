// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The unwinder on recorded register + stack snapshots, no BPF: the
 * fixture records itself three calls deep, built with and without
 * frame pointers; CFI must give every frame either way. */
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
#include "stacks/demangle.h"
#include "stacks/syms.h"

struct snap_hdr {
	uint64_t pid, tid;
	uint64_t regs[17];
	uint64_t stack_base, stack_len;
};

struct recorded {
	pid_t child;
	int in;
	struct snap_hdr h;
	uint8_t *stack;
};

static int record(const char *name, struct recorded *r)
{
	const char *dir = getenv("BW_FIXTURE_DIR");
	char path[512];
	int to[2], from[2];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir ? dir : "build/tests", name);
	if (pipe(to) || pipe(from))
		return -1;
	r->child = fork();
	if (r->child == 0) {
		dup2(to[0], 0);
		dup2(from[1], 1);
		close(to[1]);
		close(from[0]);
		execl(path, path, (char *)NULL);
		_exit(127);
	}
	close(to[0]);
	close(from[1]);
	r->in = to[1];
	f = fdopen(from[0], "r");
	if (!f || fread(&r->h, sizeof(r->h), 1, f) != 1)
		return -1;
	r->stack = malloc(r->h.stack_len ? r->h.stack_len : 1);
	if (!r->stack || fread(r->stack, 1, r->h.stack_len, f) != r->h.stack_len)
		return -1;
	fclose(f);
	return 0;
}

static void finish(struct recorded *r)
{
	close(r->in);
	waitpid(r->child, NULL, 0);
	free(r->stack);
}

static int unwind_names(struct syms *s, struct recorded *r, uint32_t stack_len, char **names,
			int max, bool *truncated)
{
	struct bw_snapshot snap = {
		.pid = r->h.pid, .tid = r->h.tid, .regs = r->h.regs,
		.stack_base = r->h.stack_base, .stack = r->stack, .stack_len = stack_len,
	};
	struct bw_pc pcs[BW_MAX_FRAMES];
	int n, i;

	n = syms__unwind(s, &snap, pcs, BW_MAX_FRAMES, truncated);
	for (i = 0; i < n && i < max; i++) {
		struct bw_frame f;

		assert_int_equal(syms__resolve(s, r->h.pid, &pcs[i], &f, 1), 1);
		names[i] = f.symbol ? strdup(f.symbol) : strdup("?");

		bw_frame_clear(&f);
	}
	return n < max ? n : max;
}

static void check(const char *fixture)
{
	static const char *const want[] = {
		"fixture_capture", "fixture_level3", "fixture_level2", "fixture_level1", "main",
		"__libc_start_call_main", "__libc_start_main", "_start",
	};
	struct syms *s = syms__new(NULL);
	struct recorded r;
	char *names[32];
	bool truncated;
	int n, i, j;

	assert_int_equal(record(fixture, &r), 0);
	assert_true(r.h.stack_len >= 4096);

	n = unwind_names(s, &r, r.h.stack_len, names, 32, &truncated);
	for (i = 0; i < n; i++)
		printf("# %s frame %d: %s\n", fixture, i, names[i]);
	/* The whole chain, in order, and nothing made up after _start. */
	assert_int_equal(n, 8);
	for (i = 0; i < 8; i++)
		assert_string_equal(names[i], want[i]);
	assert_false(truncated);
	for (i = 0; i < n; i++)
		free(names[i]);

	/* The same snapshot with only 64 bytes of stack: cut short, and
	 * said so. */
	n = unwind_names(s, &r, 64, names, 32, &truncated);
	assert_true(n >= 1 && n < 8);
	assert_true(truncated);
	for (j = 0; j < n; j++) {
		assert_string_equal(names[j], want[j]);
		free(names[j]);
	}

	finish(&r);
	syms__free(s);
}

static void test_unwind_fp(void **state)
{
	check("snapshot_fp");
}

static void test_unwind_nofp(void **state)
{
	check("snapshot_nofp");
}

static void test_demangle(void **state)
{
	char *d;

	d = bw_demangle("_ZN3foo3barEi");
	assert_string_equal(d, "foo::bar(int)");
	free(d);
	/* Rust's legacy mangling: the hash goes, like rustc-demangle */
	d = bw_demangle("_ZN4core3ptr13drop_in_place17h0123456789abcdefE");
	assert_string_equal(d, "core::ptr::drop_in_place");
	free(d);
	d = bw_demangle("plain_c_function");
	assert_string_equal(d, "plain_c_function");
	free(d);
	d = bw_demangle("_Znot_really_mangled(");
	assert_string_equal(d, "_Znot_really_mangled(");
	free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unwind_fp),
		cmocka_unit_test(test_unwind_nofp),
		cmocka_unit_test(test_demangle),
	};

	return cmocka_run_group_tests_name("unwind", tests, NULL, NULL);
}
