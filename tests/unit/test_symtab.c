// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* stacks/symtab: the sorted symbol table answers what libdwfl's
 * dwfl_module_addrinfo answers for a covering sized symbol, address by
 * address, over the fixtures and libc (with its separate debug file,
 * .symtab and .dynsym merged as libdwfl merges them). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gelf.h>
#include <cmocka.h>
#include "stacks/symtab.h"

static char *debuginfo_path = NULL;
static const Dwfl_Callbacks cb = {
	.find_elf = dwfl_build_id_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.debuginfo_path = &debuginfo_path,
};

/* addrinfo's answer as elfsym_frames takes it: a covering sized symbol */
static const char *reference(Dwfl_Module *mod, uint64_t addr, uint64_t *off)
{
	GElf_Off o;
	GElf_Sym sym;
	const char *name = dwfl_module_addrinfo(mod, addr, &o, &sym, NULL, NULL, NULL);

	if (!name || !sym.st_size || o >= sym.st_size)
		return NULL;
	*off = o;
	return name;
}

/* Only addresses in the module: a pc is looked up in the module it is
 * in (outside, addrinfo answers with unrelocated symbols of sections
 * not loaded). */
static void check_addr(Dwfl_Module *mod, const struct symtab *t, uint64_t addr, size_t *n)
{
	uint64_t o1 = 0, o2 = 0;
	const char *want, *got;
	Dwarf_Addr lo, hi;

	dwfl_module_info(mod, NULL, &lo, &hi, NULL, NULL, NULL, NULL);
	if (addr < lo || addr >= hi)
		return;
	want = reference(mod, addr, &o1);
	if (symtab__lookup(t, addr, &got, &o2) <= 0)
		got = NULL;

	if ((!want) != (!got) || (want && (strcmp(want, got) || o1 != o2)))
		fail_msg("%#lx: symtab %s+%#lx, dwfl_module_addrinfo %s+%#lx", (unsigned long)addr,
			 got ? got : "(none)", (unsigned long)o2, want ? want : "(none)",
			 (unsigned long)o1);
	(*n)++;
}

static void check_file(const char *path, size_t min_syms)
{
	Dwfl *dwfl = dwfl_begin(&cb);
	Dwfl_Module *mod;
	struct symtab *t;
	Dwarf_Addr lo, hi, a;
	size_t checked = 0;
	int i, n;

	assert_non_null(dwfl);
	dwfl_report_begin(dwfl);
	mod = dwfl_report_offline(dwfl, path, path, -1);
	dwfl_report_end(dwfl, NULL, NULL);
	if (!mod)
		fail_msg("%s: %s", path, dwfl_errmsg(-1));
	t = symtab__new(mod);
	assert_non_null(t);
	assert_true(symtab__count(t) >= min_syms);
	n = dwfl_module_getsymtab(mod);
	for (i = 1; i < n; i++) {
		GElf_Sym sym;
		GElf_Addr addr;

		if (!dwfl_module_getsym_info(mod, i, &sym, &addr, NULL, NULL, NULL) ||
		    sym.st_shndx == SHN_UNDEF)
			continue;
		check_addr(mod, t, addr, &checked);
		if (sym.st_size) {
			check_addr(mod, t, addr + sym.st_size / 2, &checked);
			check_addr(mod, t, addr + sym.st_size - 1, &checked);
			check_addr(mod, t, addr + sym.st_size, &checked);
		}
		if (addr)
			check_addr(mod, t, addr - 1, &checked);
	}
	/* and a spread over the module, gaps included */
	assert_non_null(dwfl_module_info(mod, NULL, &lo, &hi, NULL, NULL, NULL, NULL));
	for (a = lo; hi > lo && a < hi; a += (hi - lo) / 4093 + 1)
		check_addr(mod, t, a, &checked);
	assert_true(checked > min_syms);
	symtab__free(t);
	dwfl_end(dwfl);
}

static const char *fixture(const char *name)
{
	static char path[512];
	const char *dir = getenv("BW_FIXTURE_DIR");

	snprintf(path, sizeof(path), "%s/%s", dir ? dir : "build/tests", name);
	return path;
}

static void test_fixture_fp(void **state)
{
	check_file(fixture("fixture_fp"), 5);
}

static void test_fixture_nofp(void **state)
{
	check_file(fixture("fixture_nofp"), 5);
}

/* libc: aliases at one address (weak and global), IFUNCs, local asm
 * functions, and thousands of symbols from libc6-dbg */
static void test_libc(void **state)
{
	check_file("/lib/x86_64-linux-gnu/libc.so.6", 1000);
}

static void test_libstdcxx(void **state)
{
	check_file("/lib/x86_64-linux-gnu/libstdc++.so.6", 1000);
}

static void test_empty(void **state)
{
	/* a module with no symbol at all: an empty table, no name */
	Dwfl *dwfl = dwfl_begin(&cb);
	Dwfl_Module *mod;
	struct symtab *t;
	const char *name;
	uint64_t off;

	assert_non_null(dwfl);
	dwfl_report_begin(dwfl);
	mod = dwfl_report_module(dwfl, "[empty]", 0x1000, 0x2000);
	dwfl_report_end(dwfl, NULL, NULL);
	assert_non_null(mod);
	t = symtab__new(mod);
	assert_non_null(t);
	assert_int_equal(symtab__count(t), 0);
	assert_int_equal(symtab__lookup(t, 0x1800, &name, &off), 0);
	symtab__free(t);
	symtab__free(NULL);
	dwfl_end(dwfl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixture_fp),
		cmocka_unit_test(test_fixture_nofp),
		cmocka_unit_test(test_libc),
		cmocka_unit_test(test_libstdcxx),
		cmocka_unit_test(test_empty),
	};
	elf_version(EV_CURRENT);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
