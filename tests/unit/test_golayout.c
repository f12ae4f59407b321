// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The Go runtime's layout from each source, on every build of the Go
 * fixture (default: DWARF and symbols; stripped; PIE; static; nodwarf:
 * symbols only), every source checked against the others, and the
 * policy's choice on each.
 */
#include "golayout_test.h"

/* DWARF (where there is DWARF) = type descriptors (every build) = the
 * built-in 1.19 table, field by field. */
static void test_offsets_agree(void **state)
{
	struct go_layout tab, dw, td;

	go_layout_init(&tab);
	assert_int_equal(go_layout_from_table(1, 19, &tab), 0);
	assert_int_equal(tab.src_offsets, GO_SRC_TABLE);
	assert_int_equal(tab.g_goid, 152);
	for (int v = 0; v < NVARIANTS; v++) {
		const struct variant *var = &variants[v];
		struct bin b;

		open_bin(&b, var->name);
		go_layout_init(&dw);
		go_layout_init(&td);
		if (!var->dwarf) {
			assert_int_equal(go_layout_from_dwarf(&b.g, &dw), -ENOENT);
		} else {
			assert_int_equal(go_layout_from_dwarf(&b.g, &dw), 0);
			assert_int_equal(dw.src_offsets, GO_SRC_DWARF);
			assert_same_offsets(&dw, &tab, var->name);
			assert_same_statuses(&dw, &tab);
		}
		assert_int_equal(go_layout_from_typedesc(&b.g, b.pt, &td), 0);
		assert_int_equal(td.src_offsets, GO_SRC_TYPEDESC);
		assert_same_offsets(&td, &tab, var->name);
		print_message("# %s: %s typedesc = table\n", var->name,
			      var->dwarf ? "dwarf =" : "(no dwarf)");
		close_bin(&b);
	}
	/* a version the table does not know */
	assert_int_equal(go_layout_from_table(1, 2, &tab), -ENOENT);
	assert_int_equal(go_layout_from_table(2, 19, &tab), -ENOENT);
}

static void assert_same_globals(const struct go_layout *a, const struct go_layout *b)
{
	assert_int_equal(a->allgs, b->allgs);
	assert_int_equal(a->allglen, b->allglen);
	assert_int_equal(a->allgptr, b->allgptr);
	assert_int_equal(a->firstmoduledata, b->firstmoduledata);
}

/* The section holding @addr and the offset in it. */
static const char *section_of(const struct goelf *g, uint64_t addr, uint64_t *off)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;

	assert_int_equal(elf_getshdrstrndx(g->elf, &shstrndx), 0);
	while ((scn = elf_nextscn(g->elf, scn))) {
		GElf_Shdr sh;

		if (gelf_getshdr(scn, &sh) && (sh.sh_flags & SHF_ALLOC) && addr >= sh.sh_addr &&
		    addr < sh.sh_addr + sh.sh_size) {
			*off = addr - sh.sh_addr;
			return elf_strptr(g->elf, shstrndx, sh.sh_name);
		}
	}
	return NULL;
}

/* Whether a library whose path holds @name is mapped into this process. */
static bool mapped(const char *name)
{
	char line[512];
	bool found = false;
	FILE *f = fopen("/proc/self/maps", "r");

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		found |= strstr(line, name) != NULL;
	fclose(f);
	return found;
}

/* On one binary: DWARF = .symtab = the machine code, as far as each is
 * there (firstmoduledata from the code's side is the .noptrdata scan). */
static void test_globals_same_binary(void **state)
{
	for (int v = 0; v < NVARIANTS; v++) {
		const struct variant *var = &variants[v];
		struct go_layout dw, sy, da;
		struct bin b;

		if (!var->symtab)
			continue;
		open_bin(&b, var->name);
		go_layout_init(&dw);
		go_layout_init(&sy);
		go_layout_init(&da);
		assert_int_equal(go_globals_from_symtab(&b.g, &sy), 0);
		assert_int_equal(sy.src_globals, GO_SRC_SYMTAB);
		assert_int_equal(go_globals_from_disasm(&b.g, b.pt, &da), 0);
		assert_int_equal(da.src_globals, GO_SRC_DISASM);
		/* capstone is loaded only while it disassembles */
		assert_false(mapped("libcapstone"));
		assert_true(sy.allgs && sy.allglen && sy.allgptr && sy.firstmoduledata);
		assert_same_globals(&sy, &da);
		if (var->dwarf) {
			assert_int_equal(go_layout_from_dwarf(&b.g, &dw), 0);
			assert_int_equal(dw.src_globals, GO_SRC_DWARF);
			assert_same_globals(&dw, &sy);
		}
		print_message("# %s: allgs %#lx allglen %#lx allgptr %#lx moduledata %#lx by "
			      "%ssymtab = disasm\n",
			      var->name, (unsigned long)sy.allgs, (unsigned long)sy.allglen,
			      (unsigned long)sy.allgptr, (unsigned long)sy.firstmoduledata,
			      var->dwarf ? "dwarf = " : "");
		close_bin(&b);
	}
}

/*
 * The stripped build's globals from its machine code, against two
 * grounds: the -w build of the same source (symbols, no DWARF) has the
 * very same addresses; the default build's differ (its .go.buildinfo,
 * which records the flags, is shorter), but each global is in the same
 * section at the same offset as its DWARF says. The live test reads
 * them for real.
 */
static void test_globals_stripped(void **state)
{
	struct go_layout dw, da, sy;
	struct bin def, str, nod;
	const uint64_t *a[4] = { &dw.allgs, &dw.allglen, &dw.allgptr, &dw.firstmoduledata };
	const uint64_t *b[4] = { &da.allgs, &da.allglen, &da.allgptr, &da.firstmoduledata };

	open_bin(&def, "default");
	open_bin(&str, "stripped");
	open_bin(&nod, "nodwarf");
	go_layout_init(&dw);
	go_layout_init(&da);
	go_layout_init(&sy);
	assert_int_equal(go_globals_from_symtab(&str.g, &sy), -ENOENT);
	assert_int_equal(go_globals_from_symtab(&nod.g, &sy), 0);
	assert_int_equal(go_layout_from_dwarf(&def.g, &dw), 0);
	assert_int_equal(go_globals_from_disasm(&str.g, str.pt, &da), 0);
	assert_same_globals(&da, &sy);
	for (int i = 0; i < 4; i++) {
		uint64_t oa, ob;
		const char *sa = section_of(&def.g, *a[i], &oa), *sb = section_of(&str.g, *b[i], &ob);

		assert_non_null(sa);
		assert_non_null(sb);
		assert_string_equal(sa, sb);
		assert_int_equal(oa, ob);
		print_message("# stripped: global %d at %#lx = nodwarf's symbol = %s+%#lx, as in "
			      "default (%#lx)\n",
			      i, (unsigned long)*b[i], sb, (unsigned long)ob, (unsigned long)*a[i]);
	}
	close_bin(&def);
	close_bin(&str);
	close_bin(&nod);
}

/* Where addresses come from on @v: DWARF, else .symtab, else code. */
static enum go_src strongest_symbols(const struct variant *v)
{
	return v->dwarf ? GO_SRC_DWARF : v->symtab ? GO_SRC_SYMTAB : GO_SRC_DISASM;
}

/* runtime.waitReasonStrings read from each file (a PIE's string
 * pointers are relocations) = the 1.19 table. */
static void test_reasons(void **state)
{
	struct go_layout tab, f;

	go_layout_init(&tab);
	assert_int_equal(go_reasons_from_table(1, 19, &tab), 0);
	assert_int_equal(tab.nreasons, 27);
	assert_string_equal(tab.reasons[15], "chan send");
	assert_string_equal(tab.reasons[18], "semacquire");
	for (int v = 0; v < NVARIANTS; v++) {
		const struct variant *var = &variants[v];
		struct bin b;

		open_bin(&b, var->name);
		go_layout_init(&f);
		assert_int_equal(go_reasons_from_file(&b.g, b.pt, &f), 0);
		assert_int_equal(f.src_reasons, strongest_symbols(var));
		assert_int_equal(f.nreasons, tab.nreasons);
		for (uint32_t i = 0; i < f.nreasons; i++)
			assert_string_equal(f.reasons[i], tab.reasons[i]);
		print_message("# %s: %u wait reasons from the file (located by %s) = table\n",
			      var->name, f.nreasons, go_src_name(f.src_reasons));
		go_layout_clear(&f);
		assert_int_equal(f.nreasons, 0);
		close_bin(&b);
	}
	go_layout_clear(&tab);
	assert_int_equal(go_reasons_from_table(1, 3, &tab), -ENOENT);
}

static void test_resolve(void **state)
{
	struct go_layout l, tab;
	char why[256] = "";

	go_layout_init(&tab);
	assert_int_equal(go_layout_from_table(1, 19, &tab), 0);
	for (int v = 0; v < NVARIANTS; v++) {
		const struct variant *var = &variants[v];
		enum go_src globals = strongest_symbols(var);
		struct bin b;

		open_bin(&b, var->name);
		assert_int_equal(go_layout_resolve(&b.g, b.pt, &l, why, sizeof(why)), 0);
		print_message("# %s: offsets %s, globals %s, reasons %s\n", var->name,
			      go_src_name(l.src_offsets), go_src_name(l.src_globals),
			      go_src_name(l.src_reasons));
		assert_int_equal(l.src_offsets, var->dwarf ? GO_SRC_DWARF : GO_SRC_TYPEDESC);
		assert_int_equal(l.src_globals, globals);
		assert_int_equal(l.src_reasons, globals);
		assert_same_offsets(&l, &tab, var->name);
		assert_same_statuses(&l, &tab);
		assert_int_equal(l.nreasons, 27);
		assert_true(l.allgs && l.allglen && l.allgptr && l.firstmoduledata);
		go_layout_clear(&l);
		close_bin(&b);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_offsets_agree),
		cmocka_unit_test(test_globals_same_binary),
		cmocka_unit_test(test_globals_stripped),
		cmocka_unit_test(test_reasons),
		cmocka_unit_test(test_resolve),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
