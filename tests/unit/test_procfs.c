// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The /proc layer on this test process itself and a child of it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/stat.h>
#include "base/util.h"
#include "proc/procfs.h"

static void test_status(void **state)
{
	struct bw_status st;
	char comm[BW_COMM_MAX];

	assert_int_equal(prctl(PR_SET_NAME, "bw-procfs-test"), 0);
	assert_int_equal(procfs_status(getpid(), 0, &st), 0);
	assert_int_equal(st.tgid, getpid());
	assert_string_equal(st.name, "bw-procfs-test");
	assert_int_equal(st.state, 'R');
	/* its own pid namespace's id: ours unless we run in a container */
	assert_true(st.ns_pid > 0);
	if (!st.nested)
		assert_int_equal(st.ns_pid, getpid());
	/* a thread's own status */
	assert_int_equal(procfs_status(getpid(), getpid(), &st), 0);
	assert_int_equal(st.tgid, getpid());
	procfs_comm(getpid(), getpid(), comm, sizeof(comm));
	assert_string_equal(comm, "bw-procfs-test");
	/* status writes LF and backslash escaped: the name as it was set */
	assert_int_equal(prctl(PR_SET_NAME, "a\nb\\c\x1b\xff"), 0);
	assert_int_equal(procfs_status(getpid(), 0, &st), 0);
	assert_string_equal(st.name, "a\nb\\c\x1b\xff");
	assert_int_equal(prctl(PR_SET_NAME, "\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n"), 0);
	assert_int_equal(procfs_status(getpid(), 0, &st), 0);
	assert_string_equal(st.name, "\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n");
	assert_int_equal(prctl(PR_SET_NAME, "bw-procfs-test"), 0);
	/* same namespace: a tid is the host's */
	if (!st.nested)
		assert_int_equal(procfs_host_tid(getpid(), 4242), 4242);
	assert_false(procfs_foreign_root(getpid()));
	assert_true(procfs_alive(getpid()));
}

static void test_gone(void **state)
{
	struct bw_status st;
	char comm[BW_COMM_MAX];
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	assert_true(pid > 0);
	/* field 22 of stat, as stdio and sscanf read it; a child started
	 * after us */
	{
		char line[1024], *p;
		unsigned long long v = 0;
		FILE *f = procfs_fopen("%d/stat", getpid());
		int field;

		assert_non_null(f);
		assert_non_null(fgets(line, sizeof(line), f));
		fclose(f);
		p = strrchr(line, ')');
		for (field = 2; p && field < 22; field++)
			p = strchr(p + 1, ' ');
		assert_non_null(p);
		assert_int_equal(sscanf(p + 1, "%llu", &v), 1);
		assert_true(v > 0);
		assert_int_equal(procfs_starttime(getpid()), v);
		assert_true(procfs_starttime(pid) >= v);
	}
	/* a zombie still exists */
	while (procfs_status(pid, 0, &st) == 0 && st.state != 'Z')
		usleep(1000);
	assert_int_equal(st.state, 'Z');
	assert_int_equal(st.threads, 1);
	assert_true(procfs_exited(&st));
	assert_true(procfs_alive(pid));
	waitpid(pid, NULL, 0);
	assert_true(procfs_status(pid, 0, &st) < 0);
	assert_false(procfs_alive(pid));
	procfs_comm(pid, pid, comm, sizeof(comm));
	assert_string_equal(comm, "?");
	assert_int_equal(procfs_starttime(pid), 0);
}

static void *sleeper(void *arg)
{
	(void)arg;
	pause();
	return NULL;
}

/* A leader that called pthread_exit is a zombie, its process is not. */
static void test_leader_exited(void **state)
{
	struct bw_status st;
	pthread_t t;
	pid_t pid = fork();
	int i;

	if (pid == 0) {
		if (pthread_create(&t, NULL, sleeper, NULL))
			_exit(1);
		pthread_exit(NULL);
	}
	assert_true(pid > 0);
	for (i = 0; i < 5000; i++) {
		assert_int_equal(procfs_status(pid, 0, &st), 0);
		if (st.state == 'Z')
			break;
		usleep(1000);
	}
	assert_int_equal(st.state, 'Z');
	assert_int_equal(st.threads, 2);
	assert_false(procfs_exited(&st));
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static void test_kthread(void **state)
{
	struct bw_status st;

	assert_false(procfs_kthread(getpid()));
	/* kthreadd is 2 where we see the host's pids */
	if (procfs_status(2, 0, &st) || strcmp(st.name, "kthreadd"))
		skip();
	assert_true(procfs_kthread(2));
	assert_false(procfs_kthread(1));
}

static void test_read_mem(void **state)
{
	static const char secret[] = "blockwatch reads this";
	long page = sysconf(_SC_PAGESIZE);
	char buf[sizeof(secret)];
	char *hole;

	assert_int_equal(procfs_read_mem(getpid(), (uintptr_t)secret, buf, sizeof(buf)), 0);
	assert_string_equal(buf, secret);
	/* an unmapped page: not a partial copy */
	hole = mmap(NULL, page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(hole != MAP_FAILED);
	munmap(hole, page);
	assert_int_equal(procfs_read_mem(getpid(), (uintptr_t)hole, buf, 8), -EFAULT);
}

static void test_files(void **state)
{
	char exe[PATH_MAX], link[PATH_MAX];
	ssize_t n;
	FILE *f;
	int fd;

	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	assert_true(n > 0);
	exe[n] = 0;
	assert_true(procfs_readlink(link, sizeof(link), "%d/exe", getpid()) > 0);
	assert_string_equal(link, exe);
	/* the binary as the process sees it, and through map_files */
	fd = procfs_open_mapped(getpid(), exe);
	assert_true(fd >= 0);
	close(fd);
	fd = procfs_open_mapped(getpid(), "/no/such/file (deleted)");
	assert_int_equal(fd, -1);
	assert_int_equal(procfs_open_mapped(getpid(), "[vdso]"), -1);
	f = procfs_fopen("%d/status", getpid());
	assert_non_null(f);
	fclose(f);
	/* read whole: smaps is longer than the first buffer (16 KB) */
	{
		char *buf, line[512];
		size_t len, lines = 0, nl = 0, i;

		assert_int_equal(procfs_read_file(&buf, &len, "%d/smaps", getpid()), 0);
		assert_true(len > 16384);
		assert_int_equal(strlen(buf), len);
		for (i = 0; i < len; i++)
			nl += buf[i] == '\n';
		f = procfs_fopen("%d/smaps", getpid());
		assert_non_null(f);
		while (fgets(line, sizeof(line), f))
			lines++;
		fclose(f);
		assert_int_equal(nl, lines);
		free(buf);
		assert_int_equal(procfs_read_file(&buf, &len, "%d/none", getpid()), -ENOENT);
		/* a small file in one read: cut to the buffer, NUL-terminated */
		assert_int_equal(procfs_read_small(line, sizeof(line), "%d/none", getpid()),
				 -ENOENT);
		assert_int_equal(procfs_read_small(line, 6, "%d/stat", getpid()), 5);
		snprintf(link, sizeof(link), "%d", getpid());
		assert_int_equal(strncmp(line, link, 5), 0);
		assert_int_equal(strlen(line), 5);
		assert_null(buf);
	}
	assert_true(procfs_inode("%d/ns/net", getpid()) > 0);
	assert_int_equal(procfs_inode("%d/ns/none", getpid()), 0);
}

/* Files that anyone may have written, each path with what it must give. */
static const struct {
	const char *rel;
	off_t max;
	int err; /* 0: opened */
} untrusted[] = {
	{ "/file", 64, 0 },
	{ "/dir/file", 64, 0 },
	{ "/file", 4, -EFBIG },
	{ "/lfile", 64, -ELOOP },
	{ "/ldir/file", 64, -ELOOP },
	{ "/dir", 64, -EISDIR },
	{ "/fifo", 64, -EINVAL },
	{ "/missing", 64, -ENOENT },
	{ "/dir/../file", 64, -EINVAL },
	{ "/dir//file", 64, -EINVAL },
	{ "/./file", 64, -EINVAL },
};

/* procfs_open_untrusted() of every case under @dir: a bitmask of those
 * that went wrong, for a child to report. */
static unsigned int open_untrusted_cases(const char *dir)
{
	unsigned int bad = 0;
	size_t i;

	for (i = 0; i < sizeof(untrusted) / sizeof(untrusted[0]); i++) {
		char path[PATH_MAX], buf[16] = "";
		int fd;

		snprintf(path, sizeof(path), "%s%s", dir, untrusted[i].rel);
		fd = procfs_open_untrusted(getpid(), path, untrusted[i].max);
		if (fd >= 0) {
			if (read(fd, buf, sizeof(buf) - 1) < 0 || strcmp(buf, "0 1 x\n") ||
			    !(fcntl(fd, F_GETFL) & O_NONBLOCK))
				bad |= 1u << i;
			close(fd);
			fd = 0;
		}
		if (fd != untrusted[i].err) {
			print_message("%s: %d, expected %d\n", untrusted[i].rel, fd,
				      untrusted[i].err);
			bad |= 1u << i;
		}
	}
	return bad;
}

/* As where openat2 is missing or filtered: seccomp makes it ENOSYS. */
static void no_openat2(void)
{
	struct sock_filter insns[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat2, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { BW_ARRAY_SIZE(insns), insns };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) ||
	    syscall(SYS_openat2, AT_FDCWD, "/", NULL, 0) != -1 || errno != ENOSYS)
		_exit(255);
}

static void test_open_untrusted(void **state)
{
	char dir[] = "/tmp/bw-untrusted-XXXXXX", path[PATH_MAX];
	unsigned int bad;
	int status, fd;
	pid_t pid;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/file", dir);
	fd = open(path, O_WRONLY | O_CREAT, 0644);
	assert_int_equal(write(fd, "0 1 x\n", 6), 6);
	close(fd);
	snprintf(path, sizeof(path), "%s/dir", dir);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/dir/file", dir);
	fd = open(path, O_WRONLY | O_CREAT, 0644);
	assert_int_equal(write(fd, "0 1 x\n", 6), 6);
	close(fd);
	snprintf(path, sizeof(path), "%s/lfile", dir);
	assert_int_equal(symlink("file", path), 0);
	snprintf(path, sizeof(path), "%s/ldir", dir);
	assert_int_equal(symlink("dir", path), 0);
	snprintf(path, sizeof(path), "%s/fifo", dir);
	assert_int_equal(mkfifo(path, 0644), 0);

	/* a binary's path: links followed, but only a regular file opened */
	snprintf(path, sizeof(path), "%s/lfile", dir);
	fd = procfs_open_mapped(getpid(), path);
	assert_true(fd >= 0);
	close(fd);
	snprintf(path, sizeof(path), "%s/fifo", dir);
	assert_int_equal(procfs_open_mapped(getpid(), path), -1);
	snprintf(path, sizeof(path), "%s/null", dir);
	assert_int_equal(symlink("/dev/null", path), 0);
	assert_int_equal(procfs_open_mapped(getpid(), path), -1);

	bad = open_untrusted_cases(dir);
	/* the same without openat2, in a child */
	pid = fork();
	if (pid == 0) {
		no_openat2();
		_exit(open_untrusted_cases(dir) ? 1 : 0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	assert_int_equal(system(path), 0);
	assert_int_equal(bad, 0);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 255)
		fail_msg("cannot filter openat2 with seccomp");
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(procfs_open_untrusted(getpid(), "tmp", 64), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_gone),
		cmocka_unit_test(test_leader_exited),
		cmocka_unit_test(test_kthread),
		cmocka_unit_test(test_read_mem),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_open_untrusted),
	};

	return cmocka_run_group_tests_name("procfs", tests, NULL, NULL);
}
