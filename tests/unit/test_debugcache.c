// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Debug files with compressed DWARF are read from a copy inflated once
 * on disk (debugcache.h): the copy says what the file says, is found by
 * build-id, is made again when damaged, is never made in a directory
 * others can write, and the copies stay within their bound. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <elfutils/libdwfl.h>
#include "stacks/debugcache.h"
#include "stacks/debugfile.h"

static char dir[128];
static char id_a[129], id_b[129];

static void sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	assert_int_equal(system(cmd), 0);
}

static void read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");

	assert_non_null(f);
	assert_non_null(fgets(buf, (int)len, f));
	buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
}

static int setup(void **state)
{
	const char *fx = getenv("BW_FIXTURE_DIR");
	char *abs = realpath(fx ? fx : "build/tests", NULL);
	char p[256];

	(void)state;
	assert_non_null(abs);
	snprintf(dir, sizeof(dir), "/tmp/bw-debugcache-%d", (int)getpid());
	/* a.debug, b.debug: compressed debug files of two programs (two
	 * build-ids); plain.debug: a's, not compressed; dbg/: a's under
	 * the build-id naming, for a stripped copy of the program */
	sh("set -e; rm -rf %s; mkdir -p %s; cd %s; "
	   "for x in fp:a nofp:b; do "
	   "  objcopy --only-keep-debug --compress-debug-sections=zlib %s/fixture_${x%%:*} "
	   "    ${x#*:}.debug 2>/dev/null; "
	   "  readelf -n %s/fixture_${x%%:*} | awk '/Build ID/ {print $3}' >${x#*:}.id; "
	   "done; "
	   "objcopy --only-keep-debug %s/fixture_fp plain.debug 2>/dev/null; "
	   "objcopy --strip-debug %s/fixture_fp stripped; "
	   "d=$(cut -c1-2 a.id); f=$(cut -c3- a.id); mkdir -p dbg/.build-id/$d; "
	   "cp a.debug dbg/.build-id/$d/$f.debug",
	   dir, dir, dir, abs, abs, abs, abs);
	free(abs);
	snprintf(p, sizeof(p), "%s/a.id", dir);
	read_line(p, id_a, sizeof(id_a));
	snprintf(p, sizeof(p), "%s/b.id", dir);
	read_line(p, id_b, sizeof(id_b));
	assert_true(strlen(id_a) > 8 && strlen(id_b) > 8 && strcmp(id_a, id_b));
	elf_version(EV_CURRENT);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	debugcache_set_dir(NULL);
	debugfile_set_path(NULL);
	sh("chmod -R u+w %s 2>/dev/null; rm -rf %s", dir, dir);
	return 0;
}

static void cache_at(const char *sub)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/%s", dir, sub);
	sh("rm -rf %s", p);
	assert_int_equal(debugcache_set_dir(p), 0);
	debugcache_set_limit(0);
}

static int open_in(const char *name)
{
	char p[256];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	return fd;
}

static bool has_compressed(int fd)
{
	Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
	Elf_Scn *scn = NULL;
	bool any = false;

	assert_non_null(elf);
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;

		assert_non_null(gelf_getshdr(scn, &sh));
		any |= (sh.sh_flags & SHF_COMPRESSED) != 0;
	}
	elf_end(elf);
	return any;
}

/* Section @want's bytes, inflated if they are compressed: malloc'd. */
static void *section(int fd, const char *want, size_t *len)
{
	Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	void *out = NULL;

	assert_non_null(elf);
	assert_int_equal(elf_getshdrstrndx(elf, &shstrndx), 0);
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;

		assert_non_null(gelf_getshdr(scn, &sh));
		if (strcmp(elf_strptr(elf, shstrndx, sh.sh_name), want))
			continue;
		if (sh.sh_flags & SHF_COMPRESSED)
			assert_true(elf_compress(scn, 0, 0) >= 0);
		d = elf_getdata(scn, NULL);
		assert_non_null(d);
		out = malloc(d->d_size ? d->d_size : 1);
		assert_non_null(out);
		memcpy(out, d->d_buf, d->d_size);
		*len = d->d_size;
		break;
	}
	elf_end(elf);
	assert_non_null(out);
	return out;
}

static void test_copy_says_the_same(void **state)
{
	static const char *const secs[] = { ".debug_info", ".debug_line", ".debug_abbrev",
					    ".symtab" };
	struct debugcache_stats st0, st;
	char *name = strdup("orig"), want[512];
	int fd = open_in("a.debug"), orig = open_in("a.debug"), c;
	struct stat sb;

	(void)state;
	cache_at("cache");
	debugcache_stats(&st0);
	assert_true(has_compressed(orig));
	c = debugcache_swap(fd, "a.debug", NULL, 0, &name);
	assert_true(c >= 0 && c != fd);
	assert_int_equal(fcntl(fd, F_GETFD), -1); /* closed */
	snprintf(want, sizeof(want), "%s/cache/%s.debug", dir, id_a);
	assert_string_equal(name, want);
	assert_false(has_compressed(c));
	for (size_t i = 0; i < sizeof(secs) / sizeof(*secs); i++) {
		size_t la = 0, lb = 0;
		void *a = section(orig, secs[i], &la), *b = section(c, secs[i], &lb);

		assert_true(la > 0);
		assert_int_equal(la, lb);
		assert_memory_equal(a, b, la);
		free(a);
		free(b);
	}
	assert_int_equal(stat(want, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	snprintf(want, sizeof(want), "%s/cache", dir);
	assert_int_equal(stat(want, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0700);
	debugcache_stats(&st);
	assert_int_equal(st.made, st0.made + 1);
	close(c);
	close(orig);
	free(name);
}

static ino_t copy_ino(const char *id)
{
	char p[512];
	struct stat sb;

	snprintf(p, sizeof(p), "%s/cache/%s.debug", dir, id);
	return stat(p, &sb) ? 0 : sb.st_ino;
}

static void test_read_again(void **state)
{
	struct debugcache_stats st0, st;
	char *name = NULL;
	ino_t ino;
	int fd, c;

	(void)state;
	cache_at("cache");
	fd = open_in("a.debug");
	c = debugcache_swap(fd, "a.debug", NULL, 0, &name);
	assert_true(c >= 0 && c != fd);
	close(c);
	ino = copy_ino(id_a);
	assert_true(ino != 0);
	/* the next read of the file: its copy, not made again */
	debugcache_stats(&st0);
	fd = open_in("a.debug");
	c = debugcache_swap(fd, "a.debug", NULL, 0, &name);
	assert_true(c >= 0 && c != fd);
	assert_non_null(strstr(name, id_a));
	close(c);
	debugcache_stats(&st);
	assert_int_equal(st.hits, st0.hits + 1);
	assert_int_equal(st.made, st0.made);
	assert_int_equal(copy_ino(id_a), ino);
	/* another build-id: a copy of its own */
	fd = open_in("b.debug");
	c = debugcache_swap(fd, "b.debug", NULL, 0, &name);
	assert_true(c >= 0 && c != fd);
	assert_non_null(strstr(name, id_b));
	close(c);
	assert_true(copy_ino(id_b) != 0);
	free(name);
}

static void test_damaged_made_again(void **state)
{
	struct debugcache_stats st0, st;
	char *name = NULL, p[512];
	struct stat sb;
	int fd, c;

	(void)state;
	cache_at("cache");
	c = debugcache_swap(open_in("a.debug"), "a.debug", NULL, 0, &name);
	close(c);
	snprintf(p, sizeof(p), "%s/cache/%s.debug", dir, id_a);
	assert_int_equal(stat(p, &sb), 0);
	/* cut short (a crash, a full disk): not read, made again */
	assert_int_equal(truncate(p, sb.st_size / 2), 0);
	debugcache_stats(&st0);
	fd = open_in("a.debug");
	c = debugcache_swap(fd, "a.debug", NULL, 0, &name);
	assert_true(c >= 0 && c != fd);
	assert_false(has_compressed(c));
	close(c);
	debugcache_stats(&st);
	assert_int_equal(st.made, st0.made + 1);
	assert_int_equal(stat(p, &sb), 0);
	/* another build-id's copy under this one's name: the same */
	c = debugcache_swap(open_in("b.debug"), "b.debug", NULL, 0, &name);
	close(c);
	sh("cp %s/cache/%s.debug %s", dir, id_b, p);
	debugcache_stats(&st0);
	fd = open_in("a.debug");
	c = debugcache_swap(fd, "a.debug", NULL, 0, &name);
	assert_true(c >= 0 && c != fd);
	debugcache_stats(&st);
	assert_int_equal(st.made, st0.made + 1);
	assert_int_equal(st.hits, st0.hits);
	close(c);
	sh("cmp -s %s %s/cache/%s.debug && exit 1 || exit 0", p, dir, id_b);
	free(name);
}

static void test_plain_file_as_it_is(void **state)
{
	char *name = strdup("plain");
	int fd = open_in("plain.debug");

	(void)state;
	cache_at("cache");
	assert_false(has_compressed(fd));
	assert_int_equal(debugcache_swap(fd, "plain.debug", NULL, 0, &name), fd);
	assert_string_equal(name, "plain");
	close(fd);
	free(name);
	/* no cache: every file as it is */
	assert_int_equal(debugcache_set_dir(NULL), 0);
	fd = open_in("a.debug");
	name = NULL;
	assert_int_equal(debugcache_swap(fd, "a.debug", NULL, 0, &name), fd);
	assert_null(name);
	close(fd);
}

static void test_uncopyable_as_it_is(void **state)
{
	char *name = NULL;
	int fd;

	(void)state;
	/* a dwz file named relative to the debug file's directory: libdw
	 * would look for it from the cache's */
	sh("set -e; cd %s; printf 'rel/x.debug\\0\\001\\002' >alt.bin; "
	   "objcopy --add-section .gnu_debugaltlink=alt.bin a.debug alt.debug", dir);
	cache_at("cache");
	fd = open_in("alt.debug");
	assert_true(has_compressed(fd));
	assert_int_equal(debugcache_swap(fd, "alt.debug", NULL, 0, &name), fd);
	assert_null(name);
	close(fd);
	/* not the module's build-id */
	fd = open_in("a.debug");
	assert_int_equal(debugcache_swap(fd, "a.debug", (const unsigned char *)"\x01\x02\x03", 3,
					 &name),
			 fd);
	assert_null(name);
	close(fd);
}

static void test_unsafe_dir_refused(void **state)
{
	struct debugcache_stats st0, st;
	char *name = NULL, p[256];
	int fd;

	(void)state;
	/* others can write it: a copy there could be anybody's */
	snprintf(p, sizeof(p), "%s/open", dir);
	sh("rm -rf %s; mkdir -m 0777 %s; chmod 0777 %s", p, p, p);
	assert_int_equal(debugcache_set_dir(p), 0);
	debugcache_stats(&st0);
	fd = open_in("a.debug");
	assert_int_equal(debugcache_swap(fd, "a.debug", NULL, 0, &name), fd);
	assert_null(name);
	close(fd);
	debugcache_stats(&st);
	assert_int_equal(st.failed, st0.failed + 1);
	sh("test -z \"$(ls -A %s)\"", p);
	/* cannot be made (its parent is a file): the original is read */
	snprintf(p, sizeof(p), "%s/a.id/cache", dir);
	assert_int_equal(debugcache_set_dir(p), 0);
	fd = open_in("a.debug");
	assert_int_equal(debugcache_swap(fd, "a.debug", NULL, 0, &name), fd);
	close(fd);
	debugcache_stats(&st);
	assert_int_equal(st.failed, st0.failed + 2);
}

static void test_bounded(void **state)
{
	char *name = NULL, pa[512], pb[512];
	struct stat sa;
	int c;

	(void)state;
	cache_at("small");
	c = debugcache_swap(open_in("a.debug"), "a.debug", NULL, 0, &name);
	close(c);
	snprintf(pa, sizeof(pa), "%s/small/%s.debug", dir, id_a);
	snprintf(pb, sizeof(pb), "%s/small/%s.debug", dir, id_b);
	assert_int_equal(stat(pa, &sa), 0);
	/* room for about one copy: a, used longest ago, goes for b */
	sh("touch -d '2 hours ago' %s", pa);
	debugcache_set_limit((uint64_t)sa.st_size * 3 / 2);
	c = debugcache_swap(open_in("b.debug"), "b.debug", NULL, 0, &name);
	close(c);
	assert_int_not_equal(access(pa, F_OK), 0);
	assert_int_equal(access(pb, F_OK), 0);
	/* a copy under way that a crash left is cleared; a recent one is not */
	sh("cd %s/small && touch .x.1.tmp .y.2.tmp && touch -d '1 hour ago' .x.1.tmp", dir);
	c = debugcache_swap(open_in("a.debug"), "a.debug", NULL, 0, &name);
	close(c);
	sh("cd %s/small && test ! -e .x.1.tmp && test -e .y.2.tmp", dir);
	free(name);
	debugcache_set_limit(0);
}

static char *dbg_path; /* libdwfl's and debugfile's path, as syms.c sets both */
static const Dwfl_Callbacks cb = {
	.find_elf = dwfl_build_id_find_elf,
	.find_debuginfo = debugfile_find,
	.debuginfo_path = &dbg_path,
};

/* main's source line in the stripped program, by libdwfl through
 * debugfile_find; the debug file it read in @debug. */
static void main_line(char *out, size_t len, char *debug, size_t dlen)
{
	Dwfl *dwfl = dwfl_begin(&cb);
	char p[256];
	Dwfl_Module *mod;
	const char *src, *dbg = NULL;
	GElf_Addr addr = 0;
	Dwfl_Line *line;
	GElf_Sym sym;
	int i, n, lineno = 0;

	assert_non_null(dwfl);
	snprintf(p, sizeof(p), "%s/stripped", dir);
	mod = dwfl_report_offline(dwfl, "prog", p, -1);
	assert_non_null(mod);
	assert_int_equal(dwfl_report_end(dwfl, NULL, NULL), 0);
	n = dwfl_module_getsymtab(mod);
	for (i = 0; i < n; i++) {
		const char *nm = dwfl_module_getsym_info(mod, i, &sym, &addr, NULL, NULL, NULL);

		if (nm && !strcmp(nm, "main"))
			break;
	}
	assert_true(i < n);
	line = dwfl_module_getsrc(mod, addr);
	assert_non_null(line);
	src = dwfl_lineinfo(line, NULL, &lineno, NULL, NULL, NULL);
	assert_non_null(src);
	snprintf(out, len, "%s:%d", src, lineno);
	dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, NULL, &dbg);
	snprintf(debug, dlen, "%s", dbg ? dbg : "");
	dwfl_end(dwfl);
}

/* main has no source line: no debug file was read */
static void main_line_none(void)
{
	Dwfl *dwfl = dwfl_begin(&cb);
	char p[256];
	Dwfl_Module *mod;
	Dwarf_Addr bias;

	assert_non_null(dwfl);
	snprintf(p, sizeof(p), "%s/stripped", dir);
	mod = dwfl_report_offline(dwfl, "prog", p, -1);
	assert_non_null(mod);
	assert_int_equal(dwfl_report_end(dwfl, NULL, NULL), 0);
	assert_null(dwfl_module_getdwarf(mod, &bias));
	dwfl_end(dwfl);
}

static void test_libdwfl_reads_the_copy(void **state)
{
	char plain[512], first[512], again[512], dbg[512], want[512], p[256];

	(void)state;
	snprintf(p, sizeof(p), "%s/dbg", dir);
	dbg_path = p;
	debugfile_set_path(p);
	assert_int_equal(debugcache_set_dir(NULL), 0);
	main_line(plain, sizeof(plain), dbg, sizeof(dbg));
	assert_non_null(strstr(dbg, "/dbg/.build-id/"));
	cache_at("dwfl");
	snprintf(want, sizeof(want), "%s/dwfl/%s.debug", dir, id_a);
	/* the copy made at the first read, read at the next */
	main_line(first, sizeof(first), dbg, sizeof(dbg));
	assert_string_equal(dbg, want);
	main_line(again, sizeof(again), dbg, sizeof(dbg));
	assert_string_equal(dbg, want);
	assert_string_equal(first, plain);
	assert_string_equal(again, plain);
	/* another program's debug file under this one's build-id: libdwfl
	 * refuses it, and so does the cache (its copy is b's) */
	snprintf(p, sizeof(p), "%s/wrong", dir);
	sh("set -e; d=$(cut -c1-2 %s/a.id); f=$(cut -c3- %s/a.id); mkdir -p %s/.build-id/$d; "
	   "cp %s/b.debug %s/.build-id/$d/$f.debug",
	   dir, dir, p, dir, p);
	dbg_path = p;
	debugfile_set_path(p);
	main_line_none();
	assert_int_equal(debugcache_set_dir(NULL), 0);
	main_line_none();
	cache_at("dwfl");
	/* a path without the debug file: the cache does not stand in */
	dbg_path = "/nonexistent";
	debugfile_set_path(dbg_path);
	main_line_none();
	debugfile_set_path(NULL);
	dbg_path = NULL;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_copy_says_the_same),
		cmocka_unit_test(test_read_again),
		cmocka_unit_test(test_damaged_made_again),
		cmocka_unit_test(test_plain_file_as_it_is),
		cmocka_unit_test(test_uncopyable_as_it_is),
		cmocka_unit_test(test_unsafe_dir_refused),
		cmocka_unit_test(test_bounded),
		cmocka_unit_test(test_libdwfl_reads_the_copy),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
