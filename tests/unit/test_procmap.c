// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* When a process's maps are read again: a file mapping added or changed
 * (dlopen, a library replaced in place) makes its snapshot stale; one
 * removed (dlclose, a process exiting, tearing its mappings down one by
 * one) does not, and must not make blockwatch rebuild it from what is
 * left: the blocks the process sent just before would lose their names. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/auxv.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include "stacks/mapset.h"
#include "stacks/procmap.h"

static struct mapset parse(const char *text)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	struct mapset ms;

	assert_non_null(f);
	assert_int_equal(mapset__read(&ms, f), 0);
	fclose(f);
	return ms;
}

#define LIBC_TEXT "7f0000001000-7f0000002000 r-xp 00001000 fe:01 1234 /usr/lib/libc.so.6\n"
#define LIBC_DATA "7f0000003000-7f0000004000 rw-p 00003000 fe:01 1234 /usr/lib/libc.so.6\n"
#define LIBX "7f0000005000-7f0000006000 r-xp 00000000 fe:01 99 /tmp/libx.so\n"
#define HEAP "55d000000000-55d000021000 rw-p 00000000 00:00 0 [heap]\n"
#define ANON "7f0000007000-7f0000008000 rw-p 00000000 00:00 0 \n"

static void test_set(void **state)
{
	struct mapset old = parse(LIBC_TEXT HEAP LIBC_DATA LIBX ANON), cur;

	(void)state;
	assert_int_equal(old.n, 3); /* anonymous lines left out */
	/* the same lines in another order, anonymous ones changed */
	cur = parse(ANON LIBX LIBC_DATA LIBC_TEXT);
	assert_int_equal(mapset__added(&old, &cur), 0);
	mapset__free(&cur);
	/* removed only: nothing added */
	cur = parse(LIBC_TEXT HEAP);
	assert_int_equal(mapset__added(&old, &cur), 0);
	mapset__free(&cur);
	cur = parse("");
	assert_int_equal(cur.n, 0);
	assert_int_equal(mapset__added(&old, &cur), 0);
	mapset__free(&cur);
	/* another file where libx was */
	cur = parse(LIBC_TEXT LIBC_DATA
		    "7f0000005000-7f0000006000 r-xp 00000000 fe:01 100 /tmp/liby.so\n");
	assert_int_equal(mapset__added(&old, &cur), 1);
	mapset__free(&cur);
	/* the same file, its protection changed (a split by mprotect) */
	cur = parse(LIBC_TEXT LIBC_DATA
		    "7f0000005000-7f0000006000 r--p 00000000 fe:01 99 /tmp/libx.so\n");
	assert_int_equal(mapset__added(&old, &cur), 1);
	mapset__free(&cur);
	/* into an empty snapshot, everything is new; a line twice once */
	cur = parse(LIBX LIBX LIBC_TEXT);
	assert_int_equal(cur.n, 2);
	mapset__free(&old);
	old = parse("");
	assert_int_equal(mapset__added(&old, &cur), 2);
	mapset__free(&cur);
	mapset__free(&old);
}

static void test_long_path(void **state)
{
	char *text = malloc(16384);
	struct mapset ms;
	FILE *f;

	(void)state;
	/* a path longer than a read buffer, then one more line: two lines */
	strcpy(text, "7f0000005000-7f0000006000 r-xp 00000000 fe:01 99 /");
	memset(text + strlen(text), 'a', 9000);
	strcpy(text + strlen(text) - 0, "\n" LIBC_TEXT);
	f = fmemopen(text, strlen(text), "r");
	assert_int_equal(mapset__read(&ms, f), 0);
	assert_int_equal(ms.n, 2);
	fclose(f);
	mapset__free(&ms);
	free(text);
}

/* A file mapped into this process (a temporary file, unlinked). */
static void *map_file(void)
{
	char path[] = "/tmp/bw-procmap-XXXXXX";
	int fd = mkstemp(path);
	void *p;

	if (fd < 0 || ftruncate(fd, 4096))
		_exit(2);
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		_exit(2);
	close(fd);
	unlink(path);
	return p;
}

/*
 * A child whose file mappings change on command ('u': one unmapped,
 * 'm': one more mapped; it answers each with a byte). Not this process:
 * reading its own maps with libdwfl maps files into it.
 */
struct child {
	pid_t pid;
	int to, from;
};

static void child_start(struct child *c)
{
	int to[2], from[2];
	char cmd;

	assert_int_equal(pipe(to), 0);
	assert_int_equal(pipe(from), 0);
	c->pid = fork();
	assert_true(c->pid >= 0);
	if (c->pid == 0) {
		void *a = map_file();

		map_file();
		close(to[1]);
		close(from[0]);
		if (write(from[1], "r", 1) != 1)
			_exit(2);
		while (read(to[0], &cmd, 1) == 1) {
			if (cmd == 'u')
				munmap(a, 4096);
			else
				map_file();
			if (write(from[1], &cmd, 1) != 1)
				_exit(2);
		}
		_exit(0);
	}
	close(to[0]);
	close(from[1]);
	c->to = to[1];
	c->from = from[0];
	assert_int_equal(read(c->from, &cmd, 1), 1);
}

static void child_do(struct child *c, char cmd)
{
	char ack;

	assert_int_equal(write(c->to, &cmd, 1), 1);
	assert_int_equal(read(c->from, &ack, 1), 1);
	assert_int_equal(ack, cmd);
}

static void child_stop(struct child *c)
{
	close(c->to);
	close(c->from);
	waitpid(c->pid, NULL, 0);
}

static void test_live(void **state)
{
	char *debuginfo = NULL;
	struct procmap *pm;
	Dwfl_Callbacks cb;
	struct child c;

	(void)state;
	child_start(&c);
	procmap_callbacks(&cb, &debuginfo);
	pm = procmap__new(c.pid, &cb, NULL);
	assert_non_null(pm);
	assert_non_null(pm->dwfl);
	/* the vdso, from its "[vdso]" line (forked: where ours is), its
	 * ELF read from the child's memory */
	{
		uintptr_t vdso = getauxval(AT_SYSINFO_EHDR);
		Dwfl_Module *mod = vdso ? dwfl_addrmodule(pm->dwfl, vdso) : NULL;
		const char *name = mod ? dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL,
							  NULL, NULL) : NULL;
		char want[32];
		Dwarf_Addr bias;

		snprintf(want, sizeof(want), "[vdso: %d]", (int)c.pid);
		assert_non_null(name);
		assert_string_equal(name, want);
		assert_non_null(dwfl_module_getelf(mod, &bias));
	}
	/* not checked again within PROCMAP_CHECK_NS */
	assert_false(procmap__files_changed(pm));
	pm->checked_ns = 0;
	assert_false(procmap__files_changed(pm));
	/* one removed: the snapshot stays */
	child_do(&c, 'u');
	pm->checked_ns = 0;
	assert_false(procmap__files_changed(pm));
	/* one added: read again */
	child_do(&c, 'm');
	pm->checked_ns = 0;
	assert_true(procmap__files_changed(pm));
	assert_int_equal(procmap__rebuild(pm, &cb), 0);
	pm->checked_ns = 0;
	assert_false(procmap__files_changed(pm));
	/* gone: its maps unreadable, the snapshot kept */
	child_stop(&c);
	pm->checked_ns = 0;
	assert_false(procmap__files_changed(pm));
	procmap__free(pm);
}

/* Once its loader is heard (dl_since_ns before the last comparison),
 * the maps are compared only after it spoke (procmap__mark). */
static void test_loader_marked(void **state)
{
	char *debuginfo = NULL;
	struct procmap *pm;
	Dwfl_Callbacks cb;
	struct child c;

	(void)state;
	child_start(&c);
	procmap_callbacks(&cb, &debuginfo);
	pm = procmap__new(c.pid, &cb, NULL);
	assert_non_null(pm);
	assert_non_null(pm->dwfl);
	child_do(&c, 'm');
	pm->checked_ns -= PROCMAP_CHECK_NS; /* a periodic check would be due */
	/* heard since before the maps were read */
	pm->dl_since_ns = pm->checked_ns - 1;
	assert_false(procmap__files_changed(pm));
	procmap__mark(pm);
	assert_true(procmap__files_changed(pm));
	/* the mark is used up by the comparison */
	assert_false(procmap__files_changed(pm));
	assert_int_equal(procmap__rebuild(pm, &cb), 0);
	procmap__mark(pm);
	assert_false(procmap__files_changed(pm)); /* marked, nothing new */
	/* heard only since after the last comparison: the periodic check
	 * still runs once, and finds what changed before */
	child_do(&c, 'm');
	pm->dl_since_ns = bw_mono_ns();
	pm->checked_ns -= PROCMAP_CHECK_NS;
	assert_true(procmap__files_changed(pm));
	child_stop(&c);
	procmap__free(pm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set),
		cmocka_unit_test(test_long_path),
		cmocka_unit_test(test_live),
		cmocka_unit_test(test_loader_marked),
	};

	return cmocka_run_group_tests_name("procmap", tests, NULL, NULL);
}
