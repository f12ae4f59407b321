// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The layout of binaries that lie or are broken: a type descriptor that
 * disagrees with DWARF, damaged copies of the fixture, a version no
 * source knows, each table entry through the policy. Clean answers,
 * never a crash.
 */
#include "golayout_test.h"

static uint8_t *read_whole(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	*len = (size_t)ftell(f);
	rewind(f);
	buf = malloc(*len);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, *len, f), *len);
	fclose(f);
	return buf;
}

static void write_copy(uint8_t *buf, size_t len, char *out, size_t outlen)
{
	int fd;

	snprintf(out, outlen, "/tmp/bw-golayout-XXXXXX");
	fd = mkstemp(out);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	close(fd);
	free(buf);
}

/* A copy of @src with the file bytes of each section named in @names
 * (NULL: every section but those that make it a Go binary at all)
 * overwritten: @every-th byte (1: all of them) by a xorshift stream
 * from @seed. */
static void corrupt_copy(const struct bin *src, const char *const *names, unsigned every,
			 uint64_t seed, char *out, size_t outlen)
{
	size_t shstrndx, len;
	uint8_t *buf = read_whole(src->path, &len);
	Elf_Scn *scn = NULL;

	assert_int_equal(elf_getshdrstrndx(src->g.elf, &shstrndx), 0);
	while ((scn = elf_nextscn(src->g.elf, scn))) {
		GElf_Shdr sh;
		const char *n;
		bool hit = !names;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS ||
		    !(n = elf_strptr(src->g.elf, shstrndx, sh.sh_name)))
			continue;
		for (int i = 0; names && names[i]; i++)
			hit |= !strcmp(n, names[i]);
		if (!names && (!strcmp(n, ".go.buildinfo") || !strcmp(n, ".shstrtab")))
			hit = false;
		if (!hit || sh.sh_offset + sh.sh_size > len)
			continue;
		for (uint64_t i = 0; i < sh.sh_size; i += every) {
			seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
			buf[sh.sh_offset + i] = (uint8_t)seed;
		}
	}
	write_copy(buf, len, out, outlen);
}

/* A damaged binary: goelf may refuse it, the function table may not
 * parse (then the sources that need it go without). */
static int try_open(struct bin *b, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), err;

	assert_true(fd >= 0);
	err = goelf_open(fd, &b->g);
	if (!err && gopclntab__new(b->g.pclntab, b->g.pclntab_len, b->g.text_addr, &b->pt))
		b->pt = NULL;
	return err;
}

/* Every source on @b, then the policy: no crash, a clean answer. */
static int every_source(struct bin *b, char *why, size_t whylen)
{
	struct go_layout l;
	int err;

	go_layout_init(&l);
	go_layout_from_dwarf(&b->g, &l);
	go_layout_from_typedesc(&b->g, b->pt, &l);
	go_globals_from_symtab(&b->g, &l);
	go_globals_from_disasm(&b->g, b->pt, &l);
	go_reasons_from_file(&b->g, b->pt, &l);
	go_layout_clear(&l);
	why[0] = 0;
	err = go_layout_resolve(&b->g, b->pt, &l, why, whylen);
	if (err)
		assert_true(why[0]);
	else
		snprintf(why, whylen, "offsets %s, globals %s, reasons %s",
			 go_src_name(l.src_offsets), go_src_name(l.src_globals),
			 go_src_name(l.src_reasons));
	go_layout_clear(&l);
	return err;
}

/* The file offset of the structField of runtime.g's goid: {name, typ,
 * 152} whose name record is "goid" (one struct only has it at 152). */
static long goid_field(const struct bin *b)
{
	uint64_t addr, v, np;
	const uint8_t *d;
	Elf_Scn *scn;
	GElf_Shdr sh;
	long found = -1;
	size_t len;
	char name[6];

	scn = goelf_section(&b->g, ".rodata", &d, &len, &addr);
	assert_non_null(scn);
	assert_non_null(gelf_getshdr(scn, &sh));
	for (size_t off = 16; off + 8 <= len; off += 8) {
		memcpy(&v, d + off, 8);
		memcpy(&np, d + off - 16, 8);
		if (v != 152 || goelf_read(&b->g, np, name, sizeof(name)) ||
		    memcmp(name + 1, "\x04goid", 5))
			continue;
		assert_int_equal(found, -1);
		found = (long)(sh.sh_offset + off);
	}
	assert_int_not_equal(found, -1);
	return found;
}

/* What @b's resolve logs with -v. */
static int resolve_logged(struct bin *b, struct go_layout *l, char *log, size_t len)
{
	char path[] = "/tmp/bw-golayout-log-XXXXXX", why[256];
	int fd = mkstemp(path), saved = dup(2), err;
	ssize_t n;

	assert_true(fd >= 0 && saved >= 0);
	fflush(stderr);
	dup2(fd, 2);
	bw_verbose = 1;
	err = go_layout_resolve(&b->g, b->pt, l, why, sizeof(why));
	bw_verbose = 0;
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	n = pread(fd, log, len - 1, 0);
	log[n > 0 ? n : 0] = 0;
	close(fd);
	unlink(path);
	return err;
}

/* A type descriptor that lies (g.goid at 160) is outvoted by DWARF,
 * and the disagreement is logged; without DWARF it wins over the
 * table, which is weaker still. */
static void test_cross_check(void **state)
{
	const char *const names[] = { "default", "stripped" };
	struct go_layout l, td;
	char path[64], log[4096];

	for (int i = 0; i < 2; i++) {
		uint64_t lie = 160;
		size_t len;
		struct bin b;
		uint8_t *buf;
		long at;

		open_bin(&b, names[i]);
		at = goid_field(&b);
		buf = read_whole(b.path, &len);
		close_bin(&b);
		memcpy(buf + at, &lie, 8);
		write_copy(buf, len, path, sizeof(path));
		open_bin_at(&b, path);
		go_layout_init(&td);
		assert_int_equal(go_layout_from_typedesc(&b.g, b.pt, &td), 0);
		assert_int_equal(td.g_goid, 160);
		assert_int_equal(resolve_logged(&b, &l, log, sizeof(log)), 0);
		print_message("# %s, goid patched in its type descriptor: %.*s\n", names[i],
			      (int)strcspn(log, "\n"), log);
		if (i == 0) {
			assert_int_equal(l.g_goid, 152);
			assert_non_null(strstr(log, "g.goid is 152 by dwarf but 160 by typedesc"));
		} else {
			assert_int_equal(l.g_goid, 160);
			assert_non_null(strstr(log, "g.goid is 160 by typedesc but 152 by table"));
		}
		go_layout_clear(&l);
		close_bin(&b);
		unlink(path);
	}
}

static void test_not_go(void **state)
{
	struct goelf g;
	int fd = open("/bin/true", O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(goelf_open(fd, &g), -ENOEXEC);
}

static void test_damaged(void **state)
{
	static const char *const debug_typelink[] = { ".debug_info", ".typelink", NULL };
	static const char *const everything_read[] = { ".debug_info", ".typelink", ".rodata",
						       ".symtab", ".data", ".noptrdata", NULL };
	struct go_layout l;
	struct bin def, b;
	char path[64], why[256];

	open_bin(&def, "default");
	/* no DWARF, no descriptors: the table, with the symbols' globals */
	corrupt_copy(&def, debug_typelink, 1, 1, path, sizeof(path));
	open_bin_at(&b, path);
	assert_int_equal(go_layout_resolve(&b.g, b.pt, &l, why, sizeof(why)), 0);
	assert_int_equal(l.src_offsets, GO_SRC_TABLE);
	assert_int_equal(l.src_globals, GO_SRC_SYMTAB);
	assert_int_equal(l.src_reasons, GO_SRC_SYMTAB);
	go_layout_clear(&l);
	/* and a version the table does not know: refused, with the reason */
	snprintf(b.g.version, sizeof(b.g.version), "go1.99.0");
	b.g.minor = 99;
	assert_int_equal(every_source(&b, why, sizeof(why)), -ENOTSUP);
	print_message("# refused: %s\n", why);
	assert_non_null(strstr(why, "go1.99.0: runtime.g layout unknown"));
	close_bin(&b);
	unlink(path);
	/* bytes changed here and there in what every source reads */
	for (uint64_t seed = 1; seed <= 8; seed++) {
		unsigned every = seed <= 6 ? 1 + 97 * (unsigned)seed : 3;

		corrupt_copy(&def, seed % 2 ? everything_read : NULL, every, seed, path,
			     sizeof(path));
		if (try_open(&b, path)) {
			print_message("# damaged copy %d: not opened as a Go binary\n", (int)seed);
		} else {
			print_message("# damaged copy %d: %d %s\n", (int)seed,
				      every_source(&b, why, sizeof(why)), why);
			close_bin(&b);
		}
		unlink(path);
	}
	close_bin(&def);
}

/*
 * Every table entry through the policy: a stripped binary whose type
 * descriptors are gone, presented as each version, must resolve from
 * the table (its entry complete and plausible). 1.25's goid 152 and
 * parentGoid 272 are also what xgotop hard-codes for 1.25.
 */
static void test_table_versions(void **state)
{
	static const char *const typelink[] = { ".typelink", NULL };
	static const int minors[] = { 17, 19, 20, 21, 22, 23, 24, 25 };
	struct go_layout l, tab;
	char path[64], why[256];
	struct bin str, b;

	open_bin(&str, "stripped");
	corrupt_copy(&str, typelink, 1, 7, path, sizeof(path));
	close_bin(&str);
	open_bin_at(&b, path);
	for (size_t i = 0; i < sizeof(minors) / sizeof(minors[0]); i++) {
		snprintf(b.g.version, sizeof(b.g.version), "go1.%d", minors[i]);
		b.g.minor = minors[i];
		go_layout_init(&tab);
		assert_int_equal(go_layout_from_table(1, minors[i], &tab), 0);
		assert_int_equal(tab.src_offsets, GO_SRC_TABLE);
		assert_int_equal(go_layout_resolve(&b.g, b.pt, &l, why, sizeof(why)), 0);
		assert_int_equal(l.src_offsets, GO_SRC_TABLE);
		assert_int_equal(l.src_globals, GO_SRC_DISASM);
		assert_int_equal(l.g_goid, tab.g_goid);
		assert_int_equal(l.g_gopc, tab.g_gopc);
		/* no whole size in the entry: what the fields need */
		if (tab.g_size == GO_NOFIELD)
			assert_int_equal(l.g_size, l.g_waiting + 8);
		print_message("# go1.%d from the table: goid %u, atomicstatus %u, startpc %u, "
			      "size %u\n",
			      minors[i], l.g_goid, l.g_atomicstatus, l.g_startpc, l.g_size);
		go_layout_clear(&l);
	}
	assert_int_equal(go_layout_from_table(1, 25, &tab), 0);
	assert_int_equal(tab.g_goid, 152);
	assert_int_equal(tab.g_parent_goid, 272);
	assert_int_equal(go_layout_from_table(1, 18, &tab), -ENOENT);
	close_bin(&b);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cross_check),
		cmocka_unit_test(test_not_go),
		cmocka_unit_test(test_damaged),
		cmocka_unit_test(test_table_versions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
