// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* A shared file symbolizer whose pcs are all served by the pc cache drops
 * its Dwfl (libc's DWARF inflated is ~16 MB): cached pcs keep their
 * names without it, a new pc opens the file again, and a file that can
 * no longer be opened says so (-ESRCH: the caller names the pc from the
 * process's own module). Time is passed in: no sleeping. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>
#include <sys/wait.h>
#include <cmocka.h>
#include "base/clock.h"
#include "stacks/elfsym.h"

static char *debuginfo_path = "/nonexistent/bw-test-debuginfo";

/* A copy of the fixture, so that it can be taken away. */
static void copy_fixture(char *out, size_t len)
{
	const char *dir = getenv("BW_FIXTURE_DIR");
	char cmd[1200];

	snprintf(out, len, "/tmp/bw-elfsym-idle-%d", (int)getpid());
	snprintf(cmd, sizeof(cmd), "cp %s/fixture_nofp %s", dir ? dir : "build/tests", out);
	assert_int_equal(system(cmd), 0);
}

static GElf_Addr symbol_addr(Dwfl_Module *mod, const char *want)
{
	int i, n = dwfl_module_getsymtab(mod);

	for (i = 1; i < n; i++) {
		GElf_Sym sym;
		GElf_Addr addr;
		const char *name = dwfl_module_getsym_info(mod, i, &sym, &addr, NULL, NULL, NULL);

		if (name && !strcmp(name, want))
			return addr;
	}
	fail_msg("no %s in the fixture", want);
	return 0;
}

static void named(struct elfsyms *c, const struct elffile *ef, GElf_Addr pc, bool activation,
		  const char *want, uint64_t off)
{
	struct bw_frame tmpl = { .addr = pc, .module = (char *)"fixture" }, out[8];
	int n = elfsyms__frames(c, ef, pc, activation, &tmpl, out, 8), i;

	assert_true(n >= 1);
	assert_non_null(out[n - 1].symbol);
	assert_string_equal(out[n - 1].symbol, want);
	assert_int_equal(out[n - 1].symoff, off);
	for (i = 0; i < n; i++)
		bw_frame_clear(&out[i]);
}

static void test_release_reopen(void **state)
{
	static const unsigned char id[] = { 0xb1, 0x0c, 0x4a, 0x7c };
	Dwfl_Callbacks cb;
	struct bw_frame tmpl = { .module = (char *)"fixture" }, out[8];
	const struct elffile *ef;
	struct elfsyms *c;
	char path[256];
	GElf_Addr leaf;
	uint64_t now;

	(void)state;
	copy_fixture(path, sizeof(path));
	elfsym_callbacks(&cb, &debuginfo_path);
	c = elfsyms__new(&cb);
	assert_non_null(c);
	ef = elfsyms__get(c, id, sizeof(id), getpid(), path);
	assert_non_null(ef);
	assert_non_null(ef->mod);
	leaf = symbol_addr(ef->mod, "fixture_leaf");
	named(c, ef, leaf, true, "fixture_leaf", 0);
	now = bw_mono_ns();
	/* used just now: kept */
	assert_int_equal(elfsyms__release_idle(c, now, ELFSYM_IDLE_NS), 0);
	assert_non_null(ef->mod);
	/* idle: released; the cached pc is named without it */
	assert_int_equal(elfsyms__release_idle(c, now + ELFSYM_IDLE_NS, ELFSYM_IDLE_NS), 1);
	assert_null(ef->mod);
	assert_int_equal(elfsyms__count(c), 1);
	assert_true(elfsyms__get(c, id, sizeof(id), getpid(), path) == ef);
	named(c, ef, leaf, true, "fixture_leaf", 0);
	assert_null(ef->mod);
	/* a pc not cached: opened again, through the path last seen */
	named(c, ef, leaf + 1, true, "fixture_leaf", 1);
	assert_non_null(ef->mod);
	/* opened again soon after its release: kept twice as long */
	now = bw_mono_ns();
	assert_int_equal(elfsyms__release_idle(c, now + ELFSYM_IDLE_NS, ELFSYM_IDLE_NS), 0);
	assert_non_null(ef->mod);
	/* released again, and the file gone: said, not guessed */
	assert_int_equal(elfsyms__release_idle(c, now + 2 * ELFSYM_IDLE_NS, ELFSYM_IDLE_NS), 1);
	assert_int_equal(unlink(path), 0);
	tmpl.addr = leaf + 2;
	assert_int_equal(elfsyms__frames(c, ef, leaf + 2, true, &tmpl, out, 8), -ESRCH);
	named(c, ef, leaf, true, "fixture_leaf", 0); /* still cached */
	elfsyms__free(c);
}

/* A file first seen through a process that is gone before its pcs are
 * named (a short-lived one) could not be opened through it: that is not
 * remembered as "unreadable", and the next process that maps it opens
 * it, so its pcs get the shared symbolizer (not dwfl_module_addrinfo on
 * each process's module). A file reached and not ELF stays unreadable. */
static void test_unreached_retried(void **state)
{
	static const unsigned char id[] = { 0xb1, 0x0c, 0x4a, 0x7d };
	static const unsigned char bad[] = { 0xb1, 0x0c, 0x4a, 0x7e };
	Dwfl_Callbacks cb;
	const struct elffile *ef;
	struct elfsyms *c;
	char path[256], junk[300];
	pid_t gone;
	FILE *f;

	(void)state;
	copy_fixture(path, sizeof(path));
	gone = fork();
	assert_true(gone >= 0);
	if (!gone)
		_exit(0);
	assert_int_equal(waitpid(gone, NULL, 0), gone); /* reaped: no /proc/PID */
	elfsym_callbacks(&cb, &debuginfo_path);
	c = elfsyms__new(&cb);
	assert_non_null(c);
	assert_null(elfsyms__get(c, id, sizeof(id), gone, path));
	assert_null(elfsyms__get(c, id, sizeof(id), gone, path));
	ef = elfsyms__get(c, id, sizeof(id), getpid(), path);
	assert_non_null(ef);
	assert_non_null(ef->mod);
	named(c, ef, symbol_addr(ef->mod, "fixture_leaf"), true, "fixture_leaf", 0);
	/* reached, not ELF: NULL, and so through any process */
	snprintf(junk, sizeof(junk), "%s.junk", path);
	f = fopen(junk, "w");
	assert_non_null(f);
	fputs("not an ELF file\n", f);
	fclose(f);
	assert_null(elfsyms__get(c, bad, sizeof(bad), getpid(), junk));
	assert_null(elfsyms__get(c, bad, sizeof(bad), getpid(), junk));
	unlink(junk);
	unlink(path);
	elfsyms__free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_release_reopen),
		cmocka_unit_test(test_unreached_retried),
	};

	return cmocka_run_group_tests_name("elfsym_idle", tests, NULL, NULL);
}
