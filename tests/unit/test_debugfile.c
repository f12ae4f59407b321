// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Separate debug files are found on this machine by build-id or by
 * .gnu_debuglink (CRC checked), in the directories of libdwfl's path
 * syntax, and never through debuginfod: a file with no debug file
 * anywhere must not load libdebuginfod (libcurl, a TLS stack: ~5.5 MB
 * resident) as libdwfl's standard search does. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "stacks/debugfile.h"

struct seen {
	char c[8][256];
	bool crc[8];
	int n;
};

static int collect(void *ctx, const char *cand, bool check)
{
	struct seen *s = ctx;

	snprintf(s->c[s->n], sizeof(s->c[0]), "%s", cand);
	s->crc[s->n] = check;
	return ++s->n == 8;
}

static void test_candidates_default(void **state)
{
	struct seen s = { .n = 0 };

	(void)state;
	assert_int_equal(debugfile_candidates(NULL, "/usr/lib/x/libfoo.so.1", "libfoo.debug",
					      collect, &s), 0);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.c[0], "/usr/lib/x/libfoo.debug");
	assert_string_equal(s.c[1], "/usr/lib/x/.debug/libfoo.debug");
	assert_string_equal(s.c[2], "/usr/lib/debug/usr/lib/x/libfoo.debug");
	assert_true(s.crc[0] && s.crc[1] && s.crc[2]);
}

static void test_candidates_syntax(void **state)
{
	struct seen s = { .n = 0 };

	(void)state;
	/* whole path unchecked, one entry checked again */
	assert_int_equal(debugfile_candidates("-/opt/dbg:+dbg", "/bin/prog", "prog.debug", collect,
					      &s), 0);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.c[0], "/opt/dbg/bin/prog.debug");
	assert_false(s.crc[0]);
	assert_string_equal(s.c[1], "/bin/dbg/prog.debug");
	assert_true(s.crc[1]);
	/* a debuglink naming a directory, a file name with no directory */
	s.n = 0;
	assert_int_equal(debugfile_candidates(NULL, "/bin/prog", "../etc/x", collect, &s), 0);
	assert_int_equal(debugfile_candidates(NULL, "prog", "prog.debug", collect, &s), 0);
	assert_int_equal(s.n, 0);
}

static char dir[64];

static void sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	assert_int_equal(system(cmd), 0);
}

static int setup(void **state)
{
	const char *fx = getenv("BW_FIXTURE_DIR");
	char *abs = realpath(fx ? fx : "build/tests", NULL);

	(void)state;
	assert_non_null(abs);
	snprintf(dir, sizeof(dir), "/tmp/bw-debugfile-%d", (int)getpid());
	/* prog: no build-id, no DWARF, a debuglink to .debug/prog.debug;
	 * bare: a build-id no debug file has, no DWARF, no debuglink (the
	 * case libdwfl's standard search asks debuginfod about) */
	sh("set -e; mkdir -p %s/.debug; cd %s; "
	   "objcopy --remove-section=.note.gnu.build-id %s/fixture_fp full; "
	   "objcopy --only-keep-debug full .debug/prog.debug 2>/dev/null; "
	   "objcopy --strip-debug --add-gnu-debuglink=.debug/prog.debug full prog; "
	   "objcopy --strip-debug %s/fixture_fp bare",
	   dir, dir, abs, abs);
	free(abs);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	sh("rm -rf %s", dir);
	return 0;
}

static char *path_none = NULL;
static const Dwfl_Callbacks cb = {
	.find_elf = dwfl_build_id_find_elf,
	.find_debuginfo = debugfile_find,
	.debuginfo_path = &path_none,
};

/* The DWARF libdwfl reads for @file, its debug file's name in @debug. */
static bool has_dwarf(const char *file, char *debug, size_t len)
{
	Dwfl *dwfl = dwfl_begin(&cb);
	Dwfl_Module *mod;
	Dwarf_Addr bias;
	const char *dbg = NULL;
	bool ok;

	assert_non_null(dwfl);
	mod = dwfl_report_offline(dwfl, "prog", file, -1);
	assert_non_null(mod);
	assert_int_equal(dwfl_report_end(dwfl, NULL, NULL), 0);
	ok = dwfl_module_getdwarf(mod, &bias) != NULL;
	dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, NULL, &dbg);
	snprintf(debug, len, "%s", dbg ? dbg : "");
	dwfl_end(dwfl);
	return ok;
}

static bool debuginfod_loaded(void)
{
	char line[512];
	bool found = false;
	FILE *f = fopen("/proc/self/maps", "r");

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		found |= strstr(line, "libdebuginfod") != NULL;
	fclose(f);
	return found;
}

static void test_debuglink_found(void **state)
{
	char file[128], debug[256], want[128];

	(void)state;
	snprintf(file, sizeof(file), "%s/prog", dir);
	snprintf(want, sizeof(want), "%s/.debug/prog.debug", dir);
	debugfile_set_path(NULL);
	assert_true(has_dwarf(file, debug, sizeof(debug)));
	assert_string_equal(debug, want);
}

static void test_debuglink_crc(void **state)
{
	char file[128], debug[256];

	(void)state;
	snprintf(file, sizeof(file), "%s/prog", dir);
	sh("cp %s/.debug/prog.debug %s/.debug/keep && printf x >>%s/.debug/prog.debug", dir, dir,
	   dir);
	debugfile_set_path(NULL);
	assert_false(has_dwarf(file, debug, sizeof(debug)));
	/* '-': the CRC is not checked */
	debugfile_set_path("-:.debug");
	assert_true(has_dwarf(file, debug, sizeof(debug)));
	debugfile_set_path(NULL);
	sh("mv %s/.debug/keep %s/.debug/prog.debug", dir, dir);
}

static void test_no_debuginfod(void **state)
{
	char file[128], debug[256];

	(void)state;
	snprintf(file, sizeof(file), "%s/bare", dir);
	debugfile_set_path(NULL);
	assert_false(has_dwarf(file, debug, sizeof(debug)));
	assert_false(debuginfod_loaded());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_candidates_default),
		cmocka_unit_test(test_candidates_syntax),
		cmocka_unit_test(test_debuglink_found),
		cmocka_unit_test(test_debuglink_crc),
		cmocka_unit_test(test_no_debuginfod),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
