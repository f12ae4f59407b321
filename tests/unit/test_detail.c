// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Wait details: futex kinds from stacks, fd naming from /proc (checked
 * on this test process's own fds and memory). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <cmocka.h>
#include "base/bpf_abi.h"
#include "base/clock.h"
#include "model/detail.h"
#include "proc/fdinfo.h"
#include "stacks/stacktab.h"

static struct bw_stack *mkstack(const char *const *names, uint32_t n)
{
	struct bw_stack *st = calloc(1, sizeof(*st));
	uint32_t i;

	st->nframes = n;
	st->frames = calloc(n, sizeof(*st->frames));
	for (i = 0; i < n; i++)
		st->frames[i].symbol = names[i] ? strdup(names[i]) : NULL;
	return st;
}

/* Does an fd of the set name a target starting with @prefix? */
static bool set_has(const struct bw_detail *d, const char *prefix)
{
	uint32_t i;

	for (i = 0; i < d->set.n; i++)
		if (d->set.fds[i].target && !strncmp(d->set.fds[i].target, prefix, strlen(prefix)))
			return true;
	return false;
}

static void freestack(struct bw_stack *st)
{
	uint32_t i;

	for (i = 0; i < st->nframes; i++)
		bw_frame_clear(&st->frames[i]);
	free(st->frames);
	free(st);
}

static void test_futex_kinds(void **state)
{
	static const char *mutex[] = { "__lll_lock_wait", "__pthread_mutex_lock", "worker" };
	static const char *condvar[] = { "__futex_abstimed_wait_common", NULL,
					 "___pthread_cond_wait", "worker" };
	static const char *internal[] = { "__lll_lock_wait_private", "_IO_flockfile", "main" };
	static const char *join[] = { "__futex_abstimed_wait_common", "__pthread_clockjoin_ex" };
	static const char *sem[] = { "do_futex_wait", "__new_sem_wait_slow64", "sem_wait" };
	static const char *none[] = { "syscall", "my_futex_wait", "main" };
	struct bw_stack *st;

	st = mkstack(mutex, 3);
	assert_string_equal(bw_futex_kind_name(bw_futex_kind(st)), "mutex");
	freestack(st);
	st = mkstack(condvar, 4);
	assert_string_equal(bw_futex_kind_name(bw_futex_kind(st)), "condvar");
	freestack(st);
	st = mkstack(internal, 3);
	assert_string_equal(bw_futex_kind_name(bw_futex_kind(st)), "lock");
	freestack(st);
	st = mkstack(join, 2);
	assert_string_equal(bw_futex_kind_name(bw_futex_kind(st)), "join");
	freestack(st);
	st = mkstack(sem, 3);
	assert_string_equal(bw_futex_kind_name(bw_futex_kind(st)), "semaphore");
	freestack(st);
	st = mkstack(none, 3);
	assert_int_equal(bw_futex_kind(st), BW_FUTEX_PLAIN);
	freestack(st);
	assert_int_equal(bw_futex_kind(NULL), BW_FUTEX_PLAIN);
}

static void test_futex_detail(void **state)
{
	struct fdinfo *fi = fdinfo__new();
	static const char *mutex[] = { "__lll_lock_wait", "pthread_mutex_lock" };
	static const char *other[] = { "syscall", "main" };
	struct bw_stack *st = mkstack(mutex, 2);
	struct bw_wait w = {
		.pid = getpid(), .tid = 10, .syscall_nr = SYS_futex,
		.args = { 0x5000, 128 /* FUTEX_WAIT_PRIVATE */, 2 }, .state = 1, .owner = 11,
	};
	struct bw_wait_info d;
	char op[32];

	bw_futex_op_name(128, op, sizeof(op));
	assert_string_equal(op, "FUTEX_WAIT_PRIVATE");
	bw_futex_op_name(6, op, sizeof(op));
	assert_string_equal(op, "FUTEX_LOCK_PI");

	assert_int_equal(bw_wait_describe(&w, st, fi, &d), 0);
	assert_string_equal(d.reason, "mutex");
	assert_int_equal(d.owner, 11);
	assert_int_equal(d.object, 0x5000);
	assert_int_equal(d.detail.kind, BW_DETAIL_FUTEX);
	assert_int_equal(d.detail.futex.kind, BW_FUTEX_MUTEX);
	bw_detail_clear(&d.detail);
	freestack(st);

	/* Not a mutex by its stack: the +8 word means nothing, no owner. */
	st = mkstack(other, 2);
	assert_int_equal(bw_wait_describe(&w, st, fi, &d), 0);
	assert_string_equal(d.reason, "futex");
	assert_int_equal(d.owner, 0);
	bw_detail_clear(&d.detail);

	/* A PI futex: the owner is in the word, whatever the stack. */
	w.args[1] = 6 | 128;
	assert_int_equal(bw_wait_describe(&w, st, fi, &d), 0);
	assert_string_equal(d.reason, "futex");
	assert_int_equal(d.owner, 11);
	assert_int_equal(d.detail.futex.kind, BW_FUTEX_PI_LOCK);
	bw_detail_clear(&d.detail);

	/* Its own tid as owner: waiting for itself, kept (a deadlock). */
	w.owner = 10;
	assert_int_equal(bw_wait_describe(&w, st, fi, &d), 0);
	assert_int_equal(d.owner, 10);
	bw_detail_clear(&d.detail);
	freestack(st);
	fdinfo__free(fi);
}

static void test_condvar_and_restart(void **state)
{
	struct fdinfo *fi = fdinfo__new();
	static const char *cond[] = { "__futex_abstimed_wait_common", "pthread_cond_wait" };
	static const char *sleeper[] = { "clock_nanosleep", "__nanosleep", "main" };
	struct bw_stack *st = mkstack(cond, 2);
	struct bw_wait w = {
		.pid = getpid(), .tid = 10, .syscall_nr = SYS_futex,
		.args = { 0x502c, 9 | 128 /* FUTEX_WAIT_BITSET_PRIVATE */, 0 }, .state = 1,
	};
	struct bw_wait_info d;

	/* __g_signals[1] at +44 of a condvar at 0x5000 */
	assert_int_equal(bw_wait_describe(&w, st, fi, &d), 0);
	assert_string_equal(d.reason, "condvar");
	assert_int_equal(d.object, 0x5000);
	bw_detail_clear(&d.detail);
	w.args[0] = 0x5028; /* __g_signals[0] */
	assert_int_equal(bw_wait_describe(&w, st, fi, &d), 0);
	assert_int_equal(d.object, 0x5000);
	bw_detail_clear(&d.detail);
	/* other condvar futex words: no condvar address made up */
	w.args[1] = 128;
	assert_int_equal(bw_wait_describe(&w, st, fi, &d), 0);
	assert_string_equal(d.reason, "condvar");
	assert_int_equal(d.object, 0x5028);
	bw_detail_clear(&d.detail);
	freestack(st);

	/* After SIGSTOP/SIGCONT a sleep goes on in restart_syscall. */
	st = mkstack(sleeper, 3);
	w.syscall_nr = SYS_restart_syscall;
	assert_int_equal(bw_wait_describe(&w, st, fi, &d), 0);
	assert_string_equal(d.reason, "sleep");
	bw_detail_clear(&d.detail);
	freestack(st);
	st = mkstack(cond, 2);
	w.args[1] = 9 | 128;
	assert_int_equal(bw_wait_describe(&w, st, fi, &d), 0);
	assert_string_equal(d.reason, "condvar");
	bw_detail_clear(&d.detail);
	freestack(st);
	assert_int_equal(bw_syscall_nr("futex"), SYS_futex);
	assert_int_equal(bw_syscall_nr("no_such_call"), -1);
	fdinfo__free(fi);
}

static void test_addr_format(void **state)
{
	char b[80], line[256];

	assert_int_equal(sock_addr_format("0100007F:1F90", b, sizeof(b)), 0);
	assert_string_equal(b, "127.0.0.1:8080");
	assert_int_equal(sock_addr_format("00000000000000000000000001000000:0050", b, sizeof(b)), 0);
	assert_string_equal(b, "[::1]:80");
	assert_int_not_equal(sock_addr_format("zz", b, sizeof(b)), 0);
	snprintf(line, sizeof(line), "   0: 0100007F:1F90 0100007F:9C40 01 00000000:00000000 "
		 "00:00000000 00000000     0        0 4242 1 0000000000000000 20 4 30 10 -1");
	assert_int_equal(sock_inet_line(line, 4242, b, sizeof(b)), 0);
	assert_string_equal(b, "127.0.0.1:8080 -> 127.0.0.1:40000");
	assert_int_not_equal(sock_inet_line(line, 4243, b, sizeof(b)), 0);
	line[35] = 'A'; /* state 0x0A: listening */
	assert_int_equal(sock_inet_line(line, 4242, b, sizeof(b)), 0);
	assert_string_equal(b, "127.0.0.1:8080 (listening)");
}

/* What the BPF side gives for an fd: its inode and the kernel's dev_t. */
static void file_id(int fd, uint64_t *ino, uint32_t *kdev)
{
	struct stat st;

	assert_int_equal(fstat(fd, &st), 0);
	*ino = st.st_ino;
	*kdev = (major(st.st_dev) << 20) | minor(st.st_dev);
}

/* An fd named as a known file keeps its name while it is that file (a
 * rename is not looked for again at once: the name was read once), a
 * record of another file reads it anew, and a record of a file the fd
 * no longer is gets no name rather than the new file's. */
static void test_describe_file(void **state)
{
	char dir[] = "/tmp/bw-fdinfo-XXXXXX", a[64], a2[64], b[64], buf[256];
	struct fdinfo *fi = fdinfo__new();
	uint64_t ino_a, ino_b, ino_p;
	uint32_t dev_a, dev_b, dev_p;
	int fd, other, p[2];

	assert_non_null(mkdtemp(dir));
	snprintf(a, sizeof(a), "%s/a", dir);
	snprintf(a2, sizeof(a2), "%s/a-renamed", dir);
	snprintf(b, sizeof(b), "%s/b", dir);
	fd = open(a, O_CREAT | O_RDWR, 0600);
	assert_true(fd >= 0);
	file_id(fd, &ino_a, &dev_a);

	assert_int_equal(fdinfo__describe_file(fi, getpid(), fd, ino_a, dev_a, buf, sizeof(buf)), 0);
	assert_string_equal(buf, a);
	/* kept: the same file, though renamed meanwhile */
	assert_int_equal(rename(a, a2), 0);
	assert_int_equal(fdinfo__describe_file(fi, getpid(), fd, ino_a, dev_a, buf, sizeof(buf)), 0);
	assert_string_equal(buf, a);
	/* the 100 ms cache of a name without a file id is not that one */
	assert_int_equal(fdinfo__describe(fi, getpid(), fd, buf, sizeof(buf)), 0);

	/* the fd closed and opened again as another file */
	other = open(b, O_CREAT | O_RDWR, 0600);
	assert_true(other >= 0);
	file_id(other, &ino_b, &dev_b);
	assert_int_equal(dup2(other, fd), fd);
	close(other);
	/* a record of a block on a still gets a's name, kept with a's id */
	assert_int_equal(fdinfo__describe_file(fi, getpid(), fd, ino_a, dev_a, buf, sizeof(buf)), 0);
	assert_string_equal(buf, a);
	/* one of a block on b: b's, read anew */
	assert_int_equal(fdinfo__describe_file(fi, getpid(), fd, ino_b, dev_b, buf, sizeof(buf)), 0);
	assert_string_equal(buf, b);
	/* and now one on a: the fd is b, not a: no name rather than b's */
	assert_int_equal(fdinfo__describe_file(fi, getpid(), fd, ino_a, dev_a, buf, sizeof(buf)),
			 -ESTALE);

	/* a pipe: its inode is in its name */
	assert_int_equal(pipe(p), 0);
	file_id(p[0], &ino_p, &dev_p);
	assert_int_equal(fdinfo__describe_file(fi, getpid(), p[0], ino_p, dev_p, buf, sizeof(buf)),
			 0);
	snprintf(a, sizeof(a), "pipe:[%lu]", (unsigned long)ino_p);
	assert_string_equal(buf, a);
	/* no id (not an fd syscall, or no file): as fdinfo__describe */
	assert_int_equal(fdinfo__describe_file(fi, getpid(), p[0], 0, 0, buf, sizeof(buf)), 0);
	assert_string_equal(buf, a);
	assert_true(fdinfo__describe_file(fi, getpid(), 12345, ino_p, dev_p, buf, sizeof(buf)) < 0);

	close(p[0]);
	close(p[1]);
	close(fd);
	unlink(a2);
	unlink(b);
	rmdir(dir);
	fdinfo__free(fi);
}

static void test_own_fds(void **state)
{
	struct fdinfo *fi = fdinfo__new();
	int p[2], sv[2], ep, n, i;
	struct fdinfo_member fds[8];
	struct epoll_event ev = { .events = EPOLLIN };
	struct pollfd pfd[2];
	struct bw_wait w = { .pid = getpid(), .tid = getpid(), .state = 1 };
	struct bw_wait_info d;
	char b[256];

	assert_int_equal(pipe(p), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ep = epoll_create1(0);
	assert_true(ep >= 0);
	assert_int_equal(epoll_ctl(ep, EPOLL_CTL_ADD, sv[0], &ev), 0);
	assert_int_equal(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev), 0);

	assert_int_equal(fdinfo__describe(fi, getpid(), p[0], b, sizeof(b)), 0);
	assert_int_equal(strncmp(b, "pipe:[", 6), 0);
	assert_int_equal(fdinfo__describe(fi, getpid(), sv[0], b, sizeof(b)), 0);
	assert_int_equal(strncmp(b, "socket:[", 8), 0);
	assert_non_null(strstr(b, " unix "));
	assert_true(fdinfo__describe(fi, getpid(), 12345, b, sizeof(b)) < 0);

	n = fdinfo_epoll_fds(getpid(), ep, fds, 8);
	assert_int_equal(n, 2);
	/* each member with its file, as the BPF side names an fd's */
	for (i = 0; i < n; i++) {
		uint64_t ino;
		uint32_t kdev;

		assert_true(fds[i].fd == sv[0] || fds[i].fd == p[0]);
		file_id(fds[i].fd, &ino, &kdev);
		assert_int_equal(fds[i].ino, ino);
		assert_int_equal(fds[i].kdev, kdev);
	}

	w.syscall_nr = SYS_read;
	w.args[0] = p[0];
	assert_int_equal(bw_wait_describe(&w, NULL, fi, &d), 0);
	assert_string_equal(d.reason, "read");
	assert_int_equal(d.object, p[0]);
	assert_int_equal(d.detail.kind, BW_DETAIL_FD);
	assert_int_equal(strncmp(d.detail.fd.target, "pipe:[", 6), 0);
	bw_detail_clear(&d.detail);

	w.syscall_nr = SYS_epoll_wait;
	w.args[0] = ep;
	assert_int_equal(bw_wait_describe(&w, NULL, fi, &d), 0);
	assert_string_equal(d.reason, "epoll");
	assert_int_equal(d.detail.kind, BW_DETAIL_EPOLL);
	assert_int_equal(d.detail.set.epfd, ep);
	assert_true(set_has(&d.detail, "socket:["));
	assert_true(set_has(&d.detail, "pipe:["));
	bw_detail_clear(&d.detail);

	/* poll: the pollfd array is read from the process's memory */
	pfd[0].fd = sv[1];
	pfd[1].fd = p[0];
	w.syscall_nr = SYS_poll;
	w.args[0] = (uintptr_t)pfd;
	w.args[1] = 2;
	assert_int_equal(bw_wait_describe(&w, NULL, fi, &d), 0);
	assert_string_equal(d.reason, "poll");
	assert_int_equal(d.detail.kind, BW_DETAIL_FDSET);
	assert_string_equal(d.detail.set.call, "poll");
	assert_true(set_has(&d.detail, "socket:["));
	assert_true(set_has(&d.detail, "pipe:["));
	bw_detail_clear(&d.detail);

	close(ep);
	close(p[0]);
	close(p[1]);
	close(sv[0]);
	close(sv[1]);
	fdinfo__free(fi);
}

/* A listening TCP socket on 127.0.0.1 or ::1 (an ephemeral port): its
 * fd, and "ADDR:PORT (listening)" as the table names it. */
static int listener(int family, char *want, size_t len)
{
	struct sockaddr_storage ss = { .ss_family = family };
	socklen_t sl = sizeof(ss);
	int fd = socket(family, SOCK_STREAM, 0);

	/* a host without IPv6 */
	if (fd < 0 && errno == EAFNOSUPPORT)
		return -1;
	assert_true(fd >= 0);
	if (family == AF_INET)
		((struct sockaddr_in *)&ss)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	else
		((struct sockaddr_in6 *)&ss)->sin6_addr = in6addr_loopback;
	if (bind(fd, (struct sockaddr *)&ss, family == AF_INET ? sizeof(struct sockaddr_in) :
								   sizeof(struct sockaddr_in6))) {
		assert_true(family == AF_INET6 && errno == EADDRNOTAVAIL);
		close(fd);
		return -1;
	}
	assert_int_equal(listen(fd, 1), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &sl), 0);
	if (family == AF_INET)
		snprintf(want, len, " tcp 127.0.0.1:%u (listening)",
			 ntohs(((struct sockaddr_in *)&ss)->sin_port));
	else
		snprintf(want, len, " tcp6 [::1]:%u (listening)",
			 ntohs(((struct sockaddr_in6 *)&ss)->sin6_port));
	return fd;
}

/* A socket is looked up in the table its protocol names (TCP, TCPv6,
 * UNIX), one of another protocol (netlink) is its inode alone, and a
 * socket made after its table was read is found: the table is read
 * again (once a report), and kept across reports. */
static void test_socket_tables(void **state)
{
	struct fdinfo *fi = fdinfo__new();
	char b[256], want4[96], want6[96], want4b[96];
	int t4, t6, t4b, nl, sv[2];

	t4 = listener(AF_INET, want4, sizeof(want4));
	t6 = listener(AF_INET6, want6, sizeof(want6));
	nl = socket(AF_NETLINK, SOCK_RAW, 0);
	assert_true(nl >= 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);

	assert_int_equal(fdinfo__describe(fi, getpid(), t4, b, sizeof(b)), 0);
	assert_non_null(strstr(b, want4));
	if (t6 >= 0) {
		assert_int_equal(fdinfo__describe(fi, getpid(), t6, b, sizeof(b)), 0);
		assert_non_null(strstr(b, want6));
	}
	assert_int_equal(fdinfo__describe(fi, getpid(), sv[0], b, sizeof(b)), 0);
	assert_non_null(strstr(b, " unix "));
	assert_int_equal(fdinfo__describe(fi, getpid(), nl, b, sizeof(b)), 0);
	assert_int_equal(strncmp(b, "socket:[", 8), 0);
	assert_null(strchr(b, ' '));

	/* a report later: the tcp table kept, and one newer than it found */
	fdinfo__sweep(fi, bw_mono_ns());
	t4b = listener(AF_INET, want4b, sizeof(want4b));
	assert_int_equal(fdinfo__describe(fi, getpid(), t4b, b, sizeof(b)), 0);
	assert_non_null(strstr(b, want4b));

	close(t4);
	if (t6 >= 0)
		close(t6);
	close(t4b);
	close(nl);
	close(sv[0]);
	close(sv[1]);
	fdinfo__free(fi);
}

static const char *set_target(const struct bw_detail *d, int fd)
{
	uint32_t i;

	for (i = 0; i < d->set.n; i++)
		if (d->set.fds[i].fd == fd)
			return d->set.fds[i].target;
	fail_msg("fd %d not in the set", fd);
	return NULL;
}

/* An epoll set is read at most once a second, its members named as the
 * files the set said they were: a member fd that became another file
 * since keeps the name of the file the set had (never the new file's),
 * and when the set is read again it is what the kernel says now. */
static void test_epoll_member_reused(void **state)
{
	struct fdinfo *fi = fdinfo__new();
	struct epoll_event ev = { .events = EPOLLIN };
	struct bw_wait w = { .pid = getpid(), .tid = getpid(), .state = 1,
			     .syscall_nr = SYS_epoll_wait };
	struct bw_wait_info d;
	int p[2], q[2], ep;
	char want[64];
	struct stat st;

	assert_int_equal(pipe(p), 0);
	assert_int_equal(pipe(q), 0);
	ep = epoll_create1(0);
	assert_true(ep >= 0);
	assert_int_equal(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev), 0);
	w.args[0] = ep;

	assert_int_equal(bw_wait_describe(&w, NULL, fi, &d), 0);
	assert_int_equal(d.detail.set.n, 1);
	assert_int_equal(fstat(p[0], &st), 0);
	snprintf(want, sizeof(want), "pipe:[%lu]", (unsigned long)st.st_ino);
	assert_string_equal(set_target(&d.detail, p[0]), want);
	bw_detail_clear(&d.detail);

	/* p[0] is q[0]'s pipe now (the set was told of neither) */
	assert_int_equal(dup2(q[0], p[0]), p[0]);
	assert_int_equal(bw_wait_describe(&w, NULL, fi, &d), 0);
	assert_int_equal(d.detail.set.n, 1);
	assert_string_equal(set_target(&d.detail, p[0]), want);
	bw_detail_clear(&d.detail);

	/* the set read again after its second: the kernel dropped the
	 * closed file from it, and the new one is not in it */
	usleep(1100 * 1000);
	assert_int_equal(bw_wait_describe(&w, NULL, fi, &d), 0);
	assert_int_equal(d.detail.set.n, 0);
	bw_detail_clear(&d.detail);
	assert_int_equal(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev), 0);
	fdinfo__sweep(fi, bw_mono_ns() + 2 * 1000 * 1000 * 1000ULL);
	assert_int_equal(bw_wait_describe(&w, NULL, fi, &d), 0);
	assert_int_equal(d.detail.set.n, 1);
	assert_int_equal(fstat(q[0], &st), 0);
	snprintf(want, sizeof(want), "pipe:[%lu]", (unsigned long)st.st_ino);
	assert_string_equal(set_target(&d.detail, p[0]), want);
	bw_detail_clear(&d.detail);

	close(ep);
	close(p[0]);
	close(p[1]);
	close(q[0]);
	close(q[1]);
	fdinfo__free(fi);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_futex_kinds),
		cmocka_unit_test(test_futex_detail),
		cmocka_unit_test(test_condvar_and_restart),
		cmocka_unit_test(test_addr_format),
		cmocka_unit_test(test_own_fds),
		cmocka_unit_test(test_socket_tables),
		cmocka_unit_test(test_describe_file),
		cmocka_unit_test(test_epoll_member_reused),
	};

	return cmocka_run_group_tests_name("detail", tests, NULL, NULL);
}
