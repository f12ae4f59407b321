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
	assert_true(procfs_inode("%d/ns/net", getpid()) > 0);
	assert_int_equal(procfs_inode("%d/ns/none", getpid()), 0);
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
	};

	return cmocka_run_group_tests_name("procfs", tests, NULL, NULL);
}
