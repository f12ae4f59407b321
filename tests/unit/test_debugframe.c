// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* stacks/debugframe: a file's .debug_frame alone answers every pc as
 * libdwfl's CFI of the whole file does (the same FDE ranges, CFA,
 * register rules, return address column and signal flag), on the Go
 * fixtures (no .eh_frame: every Go pc is unwound from .debug_frame),
 * non-PIE and PIE; and opening it inflates none of the file's other
 * debug sections. A file without .debug_frame is -ENOENT. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <cmocka.h>
#include <dwarf.h>
#include <gelf.h>
#include <elfutils/libdwfl.h>
#include "stacks/debugframe.h"

static char *debuginfo_path = "/nonexistent/bw-test-debuginfo";
static const Dwfl_Callbacks cb = {
	.find_elf = dwfl_build_id_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.debuginfo_path = &debuginfo_path,
};

static void fixture(char *out, size_t len, const char *rel)
{
	const char *dir = getenv("BW_FIXTURE_DIR");

	snprintf(out, len, "%s/%s", dir ? dir : "build/tests", rel);
}

static Elf_Scn *section(Elf *elf, const char *want, GElf_Shdr *sh)
{
	Elf_Scn *scn = NULL;
	size_t ndx;

	assert_int_equal(elf_getshdrstrndx(elf, &ndx), 0);
	while ((scn = elf_nextscn(elf, scn))) {
		const char *n;

		assert_non_null(gelf_getshdr(scn, sh));
		n = elf_strptr(elf, ndx, sh->sh_name);
		if (n && !strcmp(n, want))
			return scn;
	}
	return NULL;
}

static bool compressed(Elf *elf, const char *name)
{
	GElf_Shdr sh;

	assert_non_null(section(elf, name, &sh));
	return sh.sh_flags & SHF_COMPRESSED;
}

static void same_ops(const Dwarf_Op *a, size_t na, const Dwarf_Op *b, size_t nb, uint64_t pc)
{
	if (na != nb)
		fail_msg("pc %#lx: %zu ops, libdwfl %zu", (unsigned long)pc, na, nb);
	for (size_t i = 0; i < na; i++)
		if (a[i].atom != b[i].atom || a[i].number != b[i].number ||
		    a[i].number2 != b[i].number2)
			fail_msg("pc %#lx: op %zu differs", (unsigned long)pc, i);
}

/* Both frames' answers for everything cfiwalk asks of them. */
static void same_frame(Dwarf_Frame *a, Dwarf_Frame *b, uint64_t pc)
{
	Dwarf_Addr sa, ea, sb, eb;
	bool siga, sigb;
	Dwarf_Op *oa, *ob, ma[3], mb[3];
	size_t na, nb;
	int ra = dwarf_frame_info(a, &sa, &ea, &siga), rb = dwarf_frame_info(b, &sb, &eb, &sigb);

	if (ra != rb || sa != sb || ea != eb || siga != sigb)
		fail_msg("pc %#lx: frame info differs", (unsigned long)pc);
	ra = dwarf_frame_cfa(a, &oa, &na);
	rb = dwarf_frame_cfa(b, &ob, &nb);
	assert_int_equal(ra, rb);
	if (!ra)
		same_ops(oa, na, ob, nb, pc);
	for (int reg = 0; reg < 17; reg++) {
		ra = dwarf_frame_register(a, reg, ma, &oa, &na);
		rb = dwarf_frame_register(b, reg, mb, &ob, &nb);
		assert_int_equal(ra, rb);
		if (ra)
			continue;
		/* undefined (ops = the buffer), same value (NULL), or ops */
		assert_int_equal(oa == ma, ob == mb);
		assert_int_equal(oa == NULL, ob == NULL);
		same_ops(oa, na, ob, nb, pc);
	}
}

static void check_file(const char *rel, bool pie)
{
	char path[1024];
	Dwfl *dwfl = dwfl_begin(&cb);
	struct debugframe *df;
	Dwfl_Module *mod;
	Dwarf_CFI *ours, *theirs;
	Dwarf_Addr bias, tbias, lo, hi;
	GElf_Shdr text;
	Elf *elf;
	size_t pcs = 0, found = 0;

	fixture(path, sizeof(path), rel);
	assert_non_null(dwfl);
	mod = dwfl_report_offline(dwfl, "go", path, -1);
	assert_non_null(mod);
	assert_int_equal(dwfl_report_end(dwfl, NULL, NULL), 0);
	elf = dwfl_module_getelf(mod, &bias);
	assert_non_null(elf);
	assert_int_equal(pie, bias != 0); /* offline, a PIE is placed above 0 */
	assert_null(dwfl_module_eh_cfi(mod, &tbias)); /* Go: no .eh_frame */
	assert_int_equal(debugframe__open(elf, &df), 0);
	ours = debugframe__cfi(df);
	assert_non_null(ours);
	/* nothing of the file's inflated by it */
	assert_true(compressed(elf, ".debug_info"));
	assert_true(compressed(elf, ".debug_frame"));
	theirs = dwfl_module_dwarf_cfi(mod, &tbias);
	assert_non_null(theirs);
	assert_int_equal(tbias, bias);
	assert_false(compressed(elf, ".debug_info")); /* libdwfl's did */
	assert_non_null(section(elf, ".text", &text));
	/* every pc of .text, and a little past each end */
	lo = text.sh_addr - 64;
	hi = text.sh_addr + text.sh_size + 64;
	for (Dwarf_Addr pc = lo; pc < hi; pc++) {
		Dwarf_Frame *fa = NULL, *fb = NULL;
		int ra = dwarf_cfi_addrframe(ours, pc, &fa), rb = dwarf_cfi_addrframe(theirs, pc, &fb);

		if (ra != rb)
			fail_msg("%s: pc %#lx: %d here, %d by libdwfl", rel, (unsigned long)pc, ra, rb);
		if (!ra) {
			same_frame(fa, fb, pc);
			found++;
		}
		free(fa);
		free(fb);
		pcs++;
	}
	/* most of Go's text has FDEs */
	assert_true(found > pcs / 2);
	debugframe__free(df);
	dwfl_end(dwfl);
}

static void test_go_default(void **state)
{
	check_file("go/default/goroutines", false);
}

static void test_go_pie(void **state)
{
	check_file("go/pie/goroutines", true);
}

/* -w: no DWARF at all, so no .debug_frame: left to libdwfl */
static void test_none(void **state)
{
	char path[1024];
	struct debugframe *df = (void *)1;
	Elf *elf;
	int fd;

	fixture(path, sizeof(path), "go/nodwarf/goroutines");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	assert_non_null(elf);
	assert_int_equal(debugframe__open(elf, &df), -ENOENT);
	assert_null(df);
	assert_int_equal(debugframe__open(NULL, &df), -ENOENT);
	elf_end(elf);
	close(fd);
	debugframe__free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_go_default),
		cmocka_unit_test(test_go_pie),
		cmocka_unit_test(test_none),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
