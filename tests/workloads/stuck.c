// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * stuck: threads that stay blocked until told otherwise, with known
 * ground truth, for the end-to-end tests of ongoing blocks (lock owners,
 * deadlocks, wait details, --now).
 *
 *   stuck deadlock       ABBA deadlock: "ready PID TID1 TID2"
 *   stuck deadlock-no-main  the same, then the main thread exits
 *                        (pthread_exit): a zombie leader, a live process
 *   stuck chain          lock chain:    "ready PID T1 T2 T3"
 *   stuck chain-pi       the same with priority-inheritance mutexes
 *   stuck forever        one thread per wait kind: "ready PID TID..." (below)
 *
 * Every mode prints "ready ..." once /proc/self/task/TID/{stat,syscall}
 * show each thread asleep (state S) in the expected syscall on the
 * expected object (the futex word of the expected mutex, the expected
 * fd), then reads stdin. End of file on stdin ends the process (exit 0,
 * no output), so a workload whose harness died does not linger.
 * Errors: one line on stderr, exit 1.
 *
 * deadlock: "bw-abba-1" locks mutex A, "bw-abba-2" locks B; after a
 *   barrier bw_abba_1() locks B and bw_abba_2() locks A: both wait in
 *   pthread_mutex_lock forever, each on the mutex the other holds. Stays
 *   until killed (or stdin closes); a line on stdin is ignored.
 *   deadlock-no-main: main calls pthread_exit after "ready"; stays until
 *   killed.
 *
 * chain: "bw-chain-3" holds M3 and blocks in read() on an empty pipe
 *   (bw_chain_3); "bw-chain-2" holds M2 and waits for M3 (bw_chain_2);
 *   "bw-chain-1" waits for M2 (bw_chain_1). No cycle. On "go" main
 *   writes a byte into the pipe, the chain unwinds, main prints "done"
 *   and exits 0. chain-pi: M2 and M3 are PTHREAD_PRIO_INHERIT mutexes,
 *   so the waits are FUTEX_LOCK_PI inside pthread_mutex_lock and the
 *   futex word holds the owner's TID.
 *
 * forever: one thread per wait below, each in function bw_forever_KIND,
 *   TIDs printed in this order:
 *     bw-epoll-sock   epoll_wait(-1) on an epoll set of {one end of a unix
 *                     socketpair, an eventfd}
 *     bw-pipe-forever read() on an empty pipe
 *     bw-poll         poll(-1) on {an empty pipe, one end of a unix
 *                     socketpair}
 *     bw-select       select() without timeout on an empty pipe
 *     bw-accept       accept() on a TCP listener on 127.0.0.1
 *     bw-recv         recv() on an established TCP connection on 127.0.0.1
 *     bw-write        write() into a full pipe
 *     bw-connect      connect() to a 127.0.0.1 listener whose accept queue
 *                     is full (SYNs dropped: ~2 minutes, then it retries)
 *     bw-sem          sem_wait() on a semaphore at 0
 *     bw-wait         waitpid() on a child that sleeps until we exit
 *   Every catchable signal has a counting handler (SA_RESETHAND, no
 *   SA_RESTART) and every blocking call counts its EINTR returns. On
 *   "go", main takes the counts, then wakes bw-epoll-sock and
 *   bw-pipe-forever (a byte into the socket and the pipe), checks that
 *   they got it, and prints
 *       signals N eintr M
 *       wakeups W
 *       done
 *   and exits 0. W is how often the blocked threads were switched out
 *   or in between "ready" and "go" (voluntary + involuntary context
 *   switches from /proc/self/task/TID/status): a thread nobody
 *   disturbs has 0. A profiler that leaves the process alone gets
 *   "signals 0 eintr 0" and "wakeups 0".
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "wl.h"

#define BLOCK_WAIT_TIMEOUT_MS 10000
#define MAX_WAITERS 10

enum mode { M_DEADLOCK, M_DEADLOCK_NO_MAIN, M_CHAIN, M_CHAIN_PI, M_FOREVER };

static const char *const mode_names[] = {
	[M_DEADLOCK] = "deadlock",
	[M_DEADLOCK_NO_MAIN] = "deadlock-no-main",
	[M_CHAIN] = "chain",
	[M_CHAIN_PI] = "chain-pi",
	[M_FOREVER] = "forever",
};

/* One blocked thread as main expects to find it in /proc. */
struct waiter {
	const char *name;
	void *(*fn)(void *);
	long nr[3];	     /* the expected syscall numbers: nr[0..nnr) */
	int nnr;
	bool check_arg0;
	unsigned long arg0;  /* futex word address or fd */
	atomic_int tid;
	pthread_t thread;
	unsigned long long switches; /* context switches once blocked */
};

static struct {
	enum mode mode;
	struct waiter w[MAX_WAITERS];
	unsigned int nw;

	pthread_mutex_t a, b;	  /* deadlock */
	pthread_barrier_t barrier;
	pthread_mutex_t m2, m3;	  /* chain */
	atomic_int stage;
	int pipefd[2];		  /* chain: T3's pipe; forever: bw-pipe-forever */

	/* forever */
	int epfd, efd, sock[2];
	int pollpipe[2], pollsock[2];
	int selpipe[2];
	int lsock, rsock, rpeer;
	int wpipe[2];
	struct sockaddr_in full_addr;
	int full_listener, full_filler;
	sem_t sem;
	atomic_uint signals, eintr;
} g = {
	.a = PTHREAD_MUTEX_INITIALIZER,
	.b = PTHREAD_MUTEX_INITIALIZER,
};

static struct waiter *self_waiter(const char *name)
{
	unsigned int i;

	for (i = 0; i < g.nw; i++)
		if (!strcmp(g.w[i].name, name))
			return &g.w[i];
	die("no waiter '%s'", name);
	return NULL;
}

/* Names the calling thread and publishes its TID. */
static void announce(const char *name)
{
	struct waiter *w = self_waiter(name);
	int err;

	err = pthread_setname_np(pthread_self(), name);
	if (err)
		die("pthread_setname_np: %s", strerror(err));
	atomic_store(&w->tid, (int)syscall(SYS_gettid));
}

/* Waits for a stage without staying off-CPU for more than 1 ms. */
static void wait_stage(int stage)
{
	while (atomic_load(&g.stage) < stage)
		sleep_ms(1);
}

static void lock(pthread_mutex_t *m)
{
	int err = pthread_mutex_lock(m);

	if (err)
		die("pthread_mutex_lock: %s", strerror(err));
}

static void unlock(pthread_mutex_t *m)
{
	int err = pthread_mutex_unlock(m);

	if (err)
		die("pthread_mutex_unlock: %s", strerror(err));
}

static void eintr(void)
{
	atomic_fetch_add(&g.eintr, 1);
}

/* ------------------------------------------------------------ deadlock */

/*
 * noinline plus the barrier after the call keep each function a real
 * frame on the stack of its blocked thread (no inlining, no tail call).
 */
__attribute__((noinline)) void bw_abba_1(void)
{
	int err;

	lock(&g.a);
	err = pthread_barrier_wait(&g.barrier);
	if (err && err != PTHREAD_BARRIER_SERIAL_THREAD)
		die("pthread_barrier_wait: %s", strerror(err));
	lock(&g.b); /* held by bw-abba-2, which waits for a: never returns */
	__asm__ __volatile__("" ::: "memory");
	die("bw_abba_1: got mutex B");
}

__attribute__((noinline)) void bw_abba_2(void)
{
	int err;

	lock(&g.b);
	err = pthread_barrier_wait(&g.barrier);
	if (err && err != PTHREAD_BARRIER_SERIAL_THREAD)
		die("pthread_barrier_wait: %s", strerror(err));
	lock(&g.a);
	__asm__ __volatile__("" ::: "memory");
	die("bw_abba_2: got mutex A");
}

static void *abba_1(void *arg)
{
	(void)arg;
	announce("bw-abba-1");
	bw_abba_1();
	return NULL;
}

static void *abba_2(void *arg)
{
	(void)arg;
	announce("bw-abba-2");
	bw_abba_2();
	return NULL;
}

/* --------------------------------------------------------------- chain */

__attribute__((noinline)) void bw_chain_3(void)
{
	ssize_t n;
	char c;

	lock(&g.m3);
	atomic_store(&g.stage, 1);
	do {
		n = read(g.pipefd[0], &c, 1);
		__asm__ __volatile__("" ::: "memory");
	} while (n < 0 && errno == EINTR);
	if (n != 1)
		die("read pipe: %s", n < 0 ? strerror(errno) : "end of file");
	unlock(&g.m3);
}

__attribute__((noinline)) void bw_chain_2(void)
{
	wait_stage(1);
	lock(&g.m2);
	atomic_store(&g.stage, 2);
	lock(&g.m3);
	__asm__ __volatile__("" ::: "memory");
	unlock(&g.m3);
	unlock(&g.m2);
}

__attribute__((noinline)) void bw_chain_1(void)
{
	wait_stage(2);
	lock(&g.m2);
	__asm__ __volatile__("" ::: "memory");
	unlock(&g.m2);
}

static void *chain_1(void *arg)
{
	(void)arg;
	announce("bw-chain-1");
	bw_chain_1();
	return NULL;
}

static void *chain_2(void *arg)
{
	(void)arg;
	announce("bw-chain-2");
	bw_chain_2();
	return NULL;
}

static void *chain_3(void *arg)
{
	(void)arg;
	announce("bw-chain-3");
	bw_chain_3();
	return NULL;
}

/* ------------------------------------------------------------- forever */

static void count_signal(int sig)
{
	(void)sig;
	atomic_fetch_add(&g.signals, 1);
}

/*
 * A counting handler for every catchable signal. No SA_RESTART, so an
 * interrupted read() returns EINTR too; SA_RESETHAND, so a second signal
 * of a kind gets the default action (a second Ctrl-C ends a run by hand,
 * a real fault is not retried forever).
 */
static void install_handlers(void)
{
	struct sigaction sa;
	int sig;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = count_signal;
	sa.sa_flags = SA_RESETHAND;
	sigfillset(&sa.sa_mask);
	for (sig = 1; sig < NSIG; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		/* glibc reserves two real-time signals: EINVAL, skipped */
		if (sigaction(sig, &sa, NULL) && errno != EINVAL)
			die("sigaction %d: %s", sig, strerror(errno));
	}
}

static int got_byte[2]; /* forever: epoll and pipe woken with their byte */

__attribute__((noinline)) void bw_forever_epoll(void)
{
	struct epoll_event ev;
	char c;
	int n;

	for (;;) {
		n = epoll_wait(g.epfd, &ev, 1, -1);
		__asm__ __volatile__("" ::: "memory");
		if (n >= 0 || errno != EINTR)
			break;
		eintr();
	}
	if (n != 1)
		die("epoll_wait: %s", n < 0 ? strerror(errno) : "no event");
	if (ev.data.fd != g.sock[0] || read(g.sock[0], &c, 1) != 1)
		die("epoll_wait: woken by the wrong fd or no byte");
	got_byte[0] = 1;
}

__attribute__((noinline)) void bw_forever_pipe(void)
{
	ssize_t n;
	char c;

	for (;;) {
		n = read(g.pipefd[0], &c, 1);
		__asm__ __volatile__("" ::: "memory");
		if (n >= 0 || errno != EINTR)
			break;
		eintr();
	}
	if (n != 1)
		die("read pipe: %s", n < 0 ? strerror(errno) : "end of file");
	got_byte[1] = 1;
}

/* The others stay blocked until the process exits. */
__attribute__((noinline)) void bw_forever_poll(void)
{
	struct pollfd fds[2] = {
		{ .fd = g.pollpipe[0], .events = POLLIN },
		{ .fd = g.pollsock[0], .events = POLLIN },
	};
	int n;

	for (;;) {
		n = poll(fds, 2, -1);
		__asm__ __volatile__("" ::: "memory");
		if (n < 0 && errno == EINTR)
			eintr();
		else
			die("poll returned %d", n);
	}
}

__attribute__((noinline)) void bw_forever_select(void)
{
	fd_set rfds;
	int n;

	for (;;) {
		FD_ZERO(&rfds);
		FD_SET(g.selpipe[0], &rfds);
		n = select(g.selpipe[0] + 1, &rfds, NULL, NULL, NULL);
		__asm__ __volatile__("" ::: "memory");
		if (n < 0 && errno == EINTR)
			eintr();
		else
			die("select returned %d", n);
	}
}

__attribute__((noinline)) void bw_forever_accept(void)
{
	int fd;

	for (;;) {
		fd = accept(g.lsock, NULL, NULL);
		__asm__ __volatile__("" ::: "memory");
		if (fd < 0 && errno == EINTR)
			eintr();
		else
			die("accept returned %d", fd);
	}
}

__attribute__((noinline)) void bw_forever_recv(void)
{
	ssize_t n;
	char c;

	for (;;) {
		n = recv(g.rsock, &c, 1, 0);
		__asm__ __volatile__("" ::: "memory");
		if (n < 0 && errno == EINTR)
			eintr();
		else
			die("recv returned %zd", n);
	}
}

__attribute__((noinline)) void bw_forever_write(void)
{
	ssize_t n;
	char c = 'x';

	for (;;) {
		n = write(g.wpipe[1], &c, 1);
		__asm__ __volatile__("" ::: "memory");
		if (n < 0 && errno == EINTR)
			eintr();
		else
			die("write into a full pipe returned %zd", n);
	}
}

/*
 * The connecting socket is fd arg0 of the connect call; main learns it
 * from /proc like any other expectation, so it need not be fixed.
 */
__attribute__((noinline)) void bw_forever_connect(void)
{
	int fd, err;

	for (;;) {
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			die("socket: %s", strerror(errno));
		err = connect(fd, (struct sockaddr *)&g.full_addr,
			      sizeof(g.full_addr));
		__asm__ __volatile__("" ::: "memory");
		if (!err)
			die("connect to a full listener succeeded");
		if (errno == EINTR)
			eintr();
		else if (errno != ETIMEDOUT)
			die("connect: %s", strerror(errno));
		/* after ~2 minutes of dropped SYNs: block again */
		close(fd);
	}
}

__attribute__((noinline)) void bw_forever_sem(void)
{
	for (;;) {
		if (!sem_wait(&g.sem))
			die("sem_wait on a semaphore at 0 returned");
		__asm__ __volatile__("" ::: "memory");
		if (errno != EINTR)
			die("sem_wait: %s", strerror(errno));
		eintr();
	}
}

__attribute__((noinline)) void bw_forever_wait(pid_t child)
{
	pid_t r;
	int st;

	for (;;) {
		r = waitpid(child, &st, 0);
		__asm__ __volatile__("" ::: "memory");
		if (r < 0 && errno == EINTR)
			eintr();
		else
			die("waitpid returned %d", (int)r);
	}
}

static void *forever_epoll(void *arg)
{
	(void)arg;
	announce("bw-epoll-sock");
	bw_forever_epoll();
	return NULL;
}

static void *forever_pipe(void *arg)
{
	(void)arg;
	announce("bw-pipe-forever");
	bw_forever_pipe();
	return NULL;
}

static void *forever_poll(void *arg)
{
	(void)arg;
	announce("bw-poll");
	bw_forever_poll();
	return NULL;
}

static void *forever_select(void *arg)
{
	(void)arg;
	announce("bw-select");
	bw_forever_select();
	return NULL;
}

static void *forever_accept(void *arg)
{
	(void)arg;
	announce("bw-accept");
	bw_forever_accept();
	return NULL;
}

static void *forever_recv(void *arg)
{
	(void)arg;
	announce("bw-recv");
	bw_forever_recv();
	return NULL;
}

static void *forever_write(void *arg)
{
	(void)arg;
	announce("bw-write");
	bw_forever_write();
	return NULL;
}

static void *forever_connect(void *arg)
{
	(void)arg;
	announce("bw-connect");
	bw_forever_connect();
	return NULL;
}

static void *forever_sem(void *arg)
{
	(void)arg;
	announce("bw-sem");
	bw_forever_sem();
	return NULL;
}

static void *forever_wait(void *arg)
{
	pid_t parent = getpid(), child;

	(void)arg;
	announce("bw-wait");
	child = fork();
	if (child < 0)
		die("fork: %s", strerror(errno));
	if (!child) {
		/* dies with this thread, i.e. with the process */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(0);
		for (;;)
			pause();
	}
	bw_forever_wait(child);
	return NULL;
}

/* ---------------------------------------------------------------- setup */

static void add_waiter(const char *name, void *(*fn)(void *), long nr0,
		       long nr1, long nr2, int nnr, bool check_arg0,
		       unsigned long arg0)
{
	struct waiter *w = &g.w[g.nw++];

	w->name = name;
	w->fn = fn;
	w->nr[0] = nr0;
	w->nr[1] = nr1;
	w->nr[2] = nr2;
	w->nnr = nnr;
	w->check_arg0 = check_arg0;
	w->arg0 = arg0;
}

#define FUTEX_ON(name, fn, addr) \
	add_waiter(name, fn, SYS_futex, 0, 0, 1, true, (unsigned long)(addr))
#define FD_WAIT1(name, fn, nr, fd) \
	add_waiter(name, fn, nr, 0, 0, 1, true, (unsigned long)(fd))

static void pi_mutex_init(pthread_mutex_t *m, bool pi)
{
	pthread_mutexattr_t attr;
	int err;

	pthread_mutexattr_init(&attr);
	if (pi) {
		err = pthread_mutexattr_setprotocol(&attr,
						    PTHREAD_PRIO_INHERIT);
		if (err)
			die("pthread_mutexattr_setprotocol: %s",
			    strerror(err));
	}
	err = pthread_mutex_init(m, &attr);
	if (err)
		die("pthread_mutex_init: %s", strerror(err));
	pthread_mutexattr_destroy(&attr);
}

static int tcp_listener(int backlog, struct sockaddr_in *addr)
{
	socklen_t len = sizeof(*addr);
	int fd;

	memset(addr, 0, sizeof(*addr));
	addr->sin_family = AF_INET;
	addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket: %s", strerror(errno));
	if (bind(fd, (struct sockaddr *)addr, sizeof(*addr)) ||
	    listen(fd, backlog) ||
	    getsockname(fd, (struct sockaddr *)addr, &len))
		die("tcp listener: %s", strerror(errno));
	return fd;
}

static int tcp_connect(const struct sockaddr_in *addr)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		die("socket: %s", strerror(errno));
	if (connect(fd, (const struct sockaddr *)addr, sizeof(*addr)))
		die("connect: %s", strerror(errno));
	return fd;
}

static void setup_forever(void)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct sockaddr_in addr;
	int l, flags;
	char buf[4096];

	install_handlers();

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, g.sock))
		die("socketpair: %s", strerror(errno));
	g.efd = eventfd(0, EFD_CLOEXEC);
	if (g.efd < 0)
		die("eventfd: %s", strerror(errno));
	g.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (g.epfd < 0)
		die("epoll_create1: %s", strerror(errno));
	ev.data.fd = g.sock[0];
	if (epoll_ctl(g.epfd, EPOLL_CTL_ADD, g.sock[0], &ev))
		die("epoll_ctl: %s", strerror(errno));
	ev.data.fd = g.efd;
	if (epoll_ctl(g.epfd, EPOLL_CTL_ADD, g.efd, &ev))
		die("epoll_ctl: %s", strerror(errno));

	if (pipe2(g.pipefd, O_CLOEXEC) || pipe2(g.pollpipe, O_CLOEXEC) ||
	    pipe2(g.selpipe, O_CLOEXEC) || pipe2(g.wpipe, O_CLOEXEC))
		die("pipe: %s", strerror(errno));
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, g.pollsock))
		die("socketpair: %s", strerror(errno));

	/* bw-write: the pipe is filled here, so its write blocks at once */
	flags = fcntl(g.wpipe[1], F_GETFL);
	if (flags < 0 || fcntl(g.wpipe[1], F_SETFL, flags | O_NONBLOCK))
		die("fcntl: %s", strerror(errno));
	memset(buf, 'x', sizeof(buf));
	while (write(g.wpipe[1], buf, sizeof(buf)) > 0)
		;
	while (write(g.wpipe[1], buf, 1) > 0)
		;
	if (errno != EAGAIN)
		die("fill pipe: %s", strerror(errno));
	if (fcntl(g.wpipe[1], F_SETFL, flags))
		die("fcntl: %s", strerror(errno));

	/* bw-accept */
	g.lsock = tcp_listener(16, &addr);

	/* bw-recv: the server end of an established connection */
	l = tcp_listener(1, &addr);
	g.rpeer = tcp_connect(&addr);
	g.rsock = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	if (g.rsock < 0)
		die("accept: %s", strerror(errno));
	close(l);

	/*
	 * bw-connect: backlog 0 queues one connection, which the filler
	 * takes; the listener then drops further SYNs.
	 */
	g.full_listener = tcp_listener(0, &g.full_addr);
	g.full_filler = tcp_connect(&g.full_addr);

	if (sem_init(&g.sem, 0, 0))
		die("sem_init: %s", strerror(errno));

	FD_WAIT1("bw-epoll-sock", forever_epoll, SYS_epoll_wait, g.epfd);
	g.w[g.nw - 1].nr[1] = SYS_epoll_pwait;
	g.w[g.nw - 1].nnr = 2;
	FD_WAIT1("bw-pipe-forever", forever_pipe, SYS_read, g.pipefd[0]);
	add_waiter("bw-poll", forever_poll, SYS_poll, SYS_ppoll, 0, 2, false,
		   0);
	add_waiter("bw-select", forever_select, SYS_select, SYS_pselect6, 0,
		   2, true, (unsigned long)g.selpipe[0] + 1);
	add_waiter("bw-accept", forever_accept, SYS_accept, SYS_accept4, 0, 2,
		   true, (unsigned long)g.lsock);
	FD_WAIT1("bw-recv", forever_recv, SYS_recvfrom, g.rsock);
	FD_WAIT1("bw-write", forever_write, SYS_write, g.wpipe[1]);
	add_waiter("bw-connect", forever_connect, SYS_connect, 0, 0, 1, false,
		   0);
	add_waiter("bw-sem", forever_sem, SYS_futex, 0, 0, 1, true,
		   (unsigned long)&g.sem);
	add_waiter("bw-wait", forever_wait, SYS_wait4, SYS_waitid, 0, 2,
		   false, 0);
}

static void setup(void)
{
	int err;

	switch (g.mode) {
	case M_DEADLOCK:
	case M_DEADLOCK_NO_MAIN:
		err = pthread_barrier_init(&g.barrier, NULL, 2);
		if (err)
			die("pthread_barrier_init: %s", strerror(err));
		/* each waits on the futex word (offset 0) of the other's */
		FUTEX_ON("bw-abba-1", abba_1, &g.b);
		FUTEX_ON("bw-abba-2", abba_2, &g.a);
		break;
	case M_CHAIN:
	case M_CHAIN_PI:
		pi_mutex_init(&g.m2, g.mode == M_CHAIN_PI);
		pi_mutex_init(&g.m3, g.mode == M_CHAIN_PI);
		if (pipe2(g.pipefd, O_CLOEXEC))
			die("pipe: %s", strerror(errno));
		FUTEX_ON("bw-chain-1", chain_1, &g.m2);
		FUTEX_ON("bw-chain-2", chain_2, &g.m3);
		FD_WAIT1("bw-chain-3", chain_3, SYS_read, g.pipefd[0]);
		break;
	case M_FOREVER:
		setup_forever();
		break;
	}
}

/* ------------------------------------------------------- /proc checks */

static FILE *task_file(pid_t tid, const char *what)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/%s", tid, what);
	f = fopen(path, "r");
	if (!f)
		die("open '%s': %s", path, strerror(errno));
	return f;
}

/*
 * True once the thread sleeps (S) in one of the expected syscalls with
 * the expected first argument, as /proc/self/task/TID/{stat,syscall}
 * show (readable for our own threads without ptrace).
 */
static bool waiter_blocked(const struct waiter *w)
{
	pid_t tid = atomic_load(&w->tid);
	unsigned long arg0;
	bool ok = false;
	long nr;
	int i;

	if (!tid || !task_asleep(tid, "S", &nr, &arg0))
		return false;
	for (i = 0; i < w->nnr; i++)
		ok |= nr == w->nr[i];
	return ok && (!w->check_arg0 || arg0 == w->arg0);
}

static unsigned long long switches(pid_t tid)
{
	unsigned long long n, total = 0;
	char line[128];
	FILE *f = task_file(tid, "status");

	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "voluntary_ctxt_switches: %llu", &n) == 1 ||
		    sscanf(line, "nonvoluntary_ctxt_switches: %llu", &n) == 1)
			total += n;
	}
	fclose(f);
	return total;
}

static void wait_all_blocked(void)
{
	unsigned long long deadline = now_ms() + BLOCK_WAIT_TIMEOUT_MS;
	unsigned int i;

	for (i = 0; i < g.nw; i++) {
		while (!waiter_blocked(&g.w[i])) {
			if (now_ms() > deadline)
				die("thread %s (%d) did not block", g.w[i].name,
				    atomic_load(&g.w[i].tid));
			sleep_ms(1);
		}
	}
	/* all blocked: none may have left its wait in the meantime */
	for (i = 0; i < g.nw; i++) {
		if (!waiter_blocked(&g.w[i]))
			die("thread %s left its wait", g.w[i].name);
		g.w[i].switches = switches(atomic_load(&g.w[i].tid));
	}
}

/* ----------------------------------------------------------------- main */

/* A line from stdin without its newline; end of file: exit 0, quietly. */
static void read_line(char *line, size_t size)
{
	if (!fgets(line, (int)size, stdin))
		exit(0);
	line[strcspn(line, "\r\n")] = '\0';
}

static void wait_for_go(void)
{
	char line[64];

	read_line(line, sizeof(line));
	if (strcmp(line, "go"))
		die("expected 'go' on stdin, got '%s'", line);
}

static void finish_chain(void)
{
	unsigned int i;
	char c = 'x';

	wait_for_go();
	if (write(g.pipefd[1], &c, 1) != 1)
		die("write pipe: %s", strerror(errno));
	for (i = 0; i < g.nw; i++)
		pthread_join(g.w[i].thread, NULL);
}

static void finish_forever(void)
{
	unsigned long long woken = 0;
	unsigned int sigs, eintrs, i;
	char c = 'x';

	wait_for_go();
	sigs = atomic_load(&g.signals);
	eintrs = atomic_load(&g.eintr);
	for (i = 0; i < g.nw; i++)
		woken += switches(atomic_load(&g.w[i].tid)) - g.w[i].switches;

	if (write(g.sock[1], &c, 1) != 1 || write(g.pipefd[1], &c, 1) != 1)
		die("wake: %s", strerror(errno));
	pthread_join(g.w[0].thread, NULL);
	pthread_join(g.w[1].thread, NULL);
	if (!got_byte[0] || !got_byte[1])
		die("woken threads did not get their byte");
	printf("signals %u eintr %u\nwakeups %llu\n", sigs, eintrs, woken);
}

static void usage(void)
{
	die("usage: stuck deadlock|deadlock-no-main|chain|chain-pi|forever");
}

int main(int argc, char **argv)
{
	char line[64];
	unsigned int i;
	bool found = false;
	int err;

	if (argc != 2)
		usage();
	for (i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++) {
		if (!strcmp(argv[1], mode_names[i])) {
			g.mode = (enum mode)i;
			found = true;
		}
	}
	if (!found)
		usage();

	setup();
	for (i = 0; i < g.nw; i++) {
		err = pthread_create(&g.w[i].thread, NULL, g.w[i].fn, NULL);
		if (err)
			die("pthread_create: %s", strerror(err));
	}
	wait_all_blocked();

	printf("ready %d", (int)getpid());
	for (i = 0; i < g.nw; i++)
		printf(" %d", atomic_load(&g.w[i].tid));
	printf("\n");
	fflush(stdout);

	switch (g.mode) {
	case M_DEADLOCK:
		for (;;)
			read_line(line, sizeof(line));
	case M_DEADLOCK_NO_MAIN:
		pthread_exit(NULL);
	case M_CHAIN:
	case M_CHAIN_PI:
		finish_chain();
		break;
	case M_FOREVER:
		finish_forever();
		break;
	}
	printf("done\n");
	fflush(stdout);
	return 0;
}
