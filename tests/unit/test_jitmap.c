// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * /tmp/perf-PID.map of a child of the test: what it names, where lines
 * overlap or are junk, and what is refused quickly because anyone could
 * have put it there (a FIFO, links, a huge file, another user's file, a
 * directory). alarm() turns a hang into a failure.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include "base/clock.h"
#include "base/log.h"
#include "proc/procfs.h"
#include "stacks/jitmap.h"

#define NOBODY 65534
#define HANG_S 20

struct child {
	pid_t pid;
	int in; /* its stdin: closed, it exits */
	char map[64];
	char other[64]; /* a second file next to the map, for links */
};

/* A child blocked reading a pipe, running as @uid ((uid_t)-1: ours). */
static void spawn(struct child *c, uid_t uid)
{
	struct bw_status st;
	int to[2], ready[2];
	char b;

	assert_int_equal(pipe(to), 0);
	assert_int_equal(pipe(ready), 0);
	c->pid = fork();
	assert_true(c->pid >= 0);
	if (c->pid == 0) {
		close(to[1]);
		close(ready[0]);
		if (uid != (uid_t)-1 && setresuid(uid, uid, uid))
			_exit(1);
		if (write(ready[1], "r", 1) != 1 || read(to[0], &b, 1) < 0)
			_exit(1);
		_exit(0);
	}
	close(to[0]);
	close(ready[1]);
	assert_int_equal(read(ready[0], &b, 1), 1);
	close(ready[0]);
	c->in = to[1];
	assert_int_equal(procfs_status(c->pid, 0, &st), 0);
	snprintf(c->map, sizeof(c->map), "/tmp/perf-%d.map", st.ns_pid);
	snprintf(c->other, sizeof(c->other), "/tmp/bw-jit-test-%d", st.ns_pid);
	unlink(c->map);
	rmdir(c->map);
	unlink(c->other);
}

static void reap(struct child *c)
{
	int status;

	unlink(c->map);
	rmdir(c->map);
	unlink(c->other);
	close(c->in);
	assert_int_equal(waitpid(c->pid, &status, 0), c->pid);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* The name @pid's map gives @addr ("" when none), and its offset. */
static const char *name_of(struct jitmap *jm, uint64_t addr, uint64_t *off)
{
	static char name[256];
	struct bw_frame f = { 0 };
	int ret = jitmap__resolve(jm, addr, &f);

	assert_true(ret >= 0);
	snprintf(name, sizeof(name), "%s", ret ? f.symbol : "");
	if (ret) {
		assert_string_equal(f.module, "[jit]");
		if (off)
			*off = f.symoff;
	}
	bw_frame_clear(&f);
	return name;
}

static void test_names(void **state)
{
	struct child c;
	struct jitmap *jm;
	uint64_t off = 0;

	spawn(&c, (uid_t)-1);
	write_file(c.map, "7f0000001000 40 jit_one\n7f0000002000 10 LazyCompile:*foo bar.js:1\n");
	jm = jitmap__new(c.pid);
	assert_string_equal(name_of(jm, 0x7f0000001010, &off), "jit_one");
	assert_int_equal(off, 0x10);
	assert_string_equal(name_of(jm, 0x7f000000200f, NULL), "LazyCompile:*foo bar.js:1");
	assert_string_equal(name_of(jm, 0x7f0000001040, NULL), "");
	assert_string_equal(name_of(jm, 0x7f0000000fff, NULL), "");
	/* read once: a change shows only after a reset */
	write_file(c.map, "7f0000003000 10 later\n");
	assert_string_equal(name_of(jm, 0x7f0000003000, NULL), "");
	jitmap__reset(jm);
	assert_string_equal(name_of(jm, 0x7f0000003000, NULL), "later");
	assert_string_equal(name_of(jm, 0x7f0000001010, NULL), "");
	jitmap__free(jm);
	reap(&c);
}

/* Where lines overlap, the last line that covers a pc names it. */
static void test_overlap(void **state)
{
	char text[4096];
	struct child c;
	struct jitmap *jm;
	uint64_t off = 0;
	size_t n;

	spawn(&c, (uid_t)-1);
	n = (size_t)snprintf(text, sizeof(text), "%s",
			     "1000 100 outer\n"	   /* nests inner */
			     "1010 10 inner\n"
			     "2000 100 old\n"	   /* reused by new */
			     "1ff0 100 new\n"
			     "3000 10 first\n"	   /* the same start */
			     "3000 20 second\n"
			     "zz 10 junk\n4000 0 empty\nffffffffffffff00 1000 wraps\n5000 10\n");
	/* a line too long: its name cut, its tail not a line of its own */
	n += (size_t)snprintf(text + n, sizeof(text) - n, "6000 10 ");
	memset(text + n, 'x', 1500);
	snprintf(text + n + 1015, sizeof(text) - n - 1015, " 7000 10 tail\n");
	write_file(c.map, text);
	jm = jitmap__new(c.pid);
	assert_string_equal(name_of(jm, 0x1015, NULL), "inner");
	assert_string_equal(name_of(jm, 0x1080, &off), "outer");
	assert_int_equal(off, 0x80);
	assert_string_equal(name_of(jm, 0x1005, NULL), "outer");
	assert_string_equal(name_of(jm, 0x1100, NULL), "");
	assert_string_equal(name_of(jm, 0x2050, &off), "new");
	assert_int_equal(off, 0x60);
	assert_string_equal(name_of(jm, 0x20f8, NULL), "old");
	assert_string_equal(name_of(jm, 0x3005, NULL), "second");
	assert_string_equal(name_of(jm, 0x3015, NULL), "second");
	assert_string_equal(name_of(jm, 0x4000, NULL), "");
	assert_string_equal(name_of(jm, 0xffffffffffffff10, NULL), "");
	assert_string_equal(name_of(jm, 0x5000, NULL), "");
	assert_int_equal(strlen(name_of(jm, 0x6000, NULL)), 255); /* name_of's buffer */
	assert_int_equal(name_of(jm, 0x6000, NULL)[0], 'x');
	assert_string_equal(name_of(jm, 0x7000, NULL), "");
	jitmap__free(jm);
	reap(&c);
}

/* A line longer than a read's chunk: its name cut, the rest skipped. */
static void test_long_line(void **state)
{
	size_t n = 100000;
	char *text = malloc(n + 64);
	struct child c;
	struct jitmap *jm;

	assert_non_null(text);
	spawn(&c, (uid_t)-1);
	memcpy(text, "9000 10 ", 8);
	memset(text + 8, 'y', n);
	snprintf(text + 8 + n, 64, " a000 10 tail\nb000 10 next\n");
	write_file(c.map, text);
	free(text);
	jm = jitmap__new(c.pid);
	assert_int_equal(name_of(jm, 0x9000, NULL)[0], 'y');
	assert_string_equal(name_of(jm, 0xa000, NULL), "");
	assert_string_equal(name_of(jm, 0xb000, NULL), "next");
	jitmap__free(jm);
	reap(&c);
}

/* No symbol at all: nothing to sort (qsort(NULL, 0) is undefined). */
static void test_empty(void **state)
{
	struct child c;
	struct jitmap *jm;

	spawn(&c, (uid_t)-1);
	write_file(c.map, "not a map\n\n");
	jm = jitmap__new(c.pid);
	assert_string_equal(name_of(jm, 0x1000, NULL), "");
	jitmap__free(jm);
	write_file(c.map, "");
	jm = jitmap__new(c.pid);
	assert_string_equal(name_of(jm, 0, NULL), "");
	jitmap__free(jm);
	reap(&c);
}

enum kind { FIFO, DEV_ZERO, LINK, HARD_LINK, HUGE, NOT_OURS, DIRECTORY, NKINDS };

static const char *const kinds[] = { "a FIFO", "a link to /dev/zero", "a link to a good map",
				     "a hard link", "a 16 GiB sparse file", "another user's file",
				     "a directory" };

static void make(const struct child *c, enum kind k)
{
	int fd;

	switch (k) {
	case FIFO:
		assert_int_equal(mkfifo(c->map, 0666), 0);
		break;
	case DEV_ZERO:
		assert_int_equal(symlink("/dev/zero", c->map), 0);
		break;
	case LINK:
	case HARD_LINK:
		write_file(c->other, "1000 100 linked\n");
		assert_int_equal(k == LINK ? symlink(c->other, c->map) : link(c->other, c->map), 0);
		break;
	case HUGE:
		write_file(c->map, "1000 100 huge\n");
		fd = open(c->map, O_WRONLY);
		assert_true(fd >= 0);
		assert_int_equal(ftruncate(fd, 16LL << 30), 0);
		close(fd);
		break;
	case NOT_OURS:
		write_file(c->map, "1000 100 planted\n");
		assert_int_equal(chown(c->map, NOBODY, NOBODY), 0);
		break;
	case DIRECTORY:
		assert_int_equal(mkdir(c->map, 0755), 0);
		break;
	case NKINDS:
		break;
	}
}

static void test_refused(void **state)
{
	enum kind k;

	alarm(HANG_S);
	for (k = 0; k < NKINDS; k++) {
		struct child c;
		struct jitmap *jm;
		uint64_t t0;

		spawn(&c, (uid_t)-1);
		make(&c, k);
		jm = jitmap__new(c.pid);
		t0 = bw_mono_ns();
		if (strcmp(name_of(jm, 0x1010, NULL), ""))
			fail_msg("%s: a name from it", kinds[k]);
		if (bw_mono_ns() - t0 > BW_NSEC_PER_SEC)
			fail_msg("%s: %.2f s to refuse it", kinds[k], (bw_mono_ns() - t0) / 1e9);
		jitmap__free(jm);
		reap(&c);
	}
	alarm(0);
}

/* The process's own user's map, or root's, and nobody else's. */
static void test_owner(void **state)
{
	static const struct {
		uid_t owner;
		const char *name;
	} cases[] = { { NOBODY, "mine" }, { 0, "roots" }, { NOBODY - 1, "" } };
	size_t i;

	alarm(HANG_S);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct child c;
		struct jitmap *jm;

		spawn(&c, NOBODY);
		write_file(c.map, "1000 100 mine\n2000 100 roots\n");
		assert_int_equal(chown(c.map, cases[i].owner, 0), 0);
		jm = jitmap__new(c.pid);
		assert_string_equal(name_of(jm, cases[i].owner ? 0x1000 : 0x2000, NULL),
				    cases[i].name);
		jitmap__free(jm);
		reap(&c);
	}
	alarm(0);
}

/* A refused map is said under -v once for the process, not at each read. */
static void test_told_once(void **state)
{
	char buf[4096] = "";
	struct child c;
	struct jitmap *jm;
	FILE *log = tmpfile();
	int saved = dup(2), said = 0;
	const char *p;

	assert_non_null(log);
	spawn(&c, (uid_t)-1);
	make(&c, FIFO);
	bw_verbose = 1;
	assert_int_equal(dup2(fileno(log), 2), 2);
	jm = jitmap__new(c.pid);
	assert_string_equal(name_of(jm, 0x1000, NULL), "");
	jitmap__reset(jm);
	assert_string_equal(name_of(jm, 0x1000, NULL), "");
	jitmap__free(jm);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	bw_verbose = 0;
	rewind(log);
	buf[fread(buf, 1, sizeof(buf) - 1, log)] = 0;
	fclose(log);
	for (p = buf; (p = strstr(p, "no JIT names from")); p++)
		said++;
	if (said != 1 || !strstr(buf, "not a regular file"))
		fail_msg("said %d times under -v:\n%s", said, buf);
	reap(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_overlap),
		cmocka_unit_test(test_long_line),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_owner),
		cmocka_unit_test(test_told_once),
	};

	if (geteuid() != 0) {
		printf("[  SKIPPED ] jitmap: needs root (files of other users, setresuid)\n");
		return 0;
	}
	return cmocka_run_group_tests_name("jitmap", tests, NULL, NULL);
}
