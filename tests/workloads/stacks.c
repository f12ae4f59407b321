// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * stacks: threads blocked forever in known call chains, for the
 * end-to-end tests of stack quality (unwinding with and without frame
 * pointers, inline frames, source lines, truncation). Built twice by the
 * Makefile: build/tests/stacks_fp (-fno-omit-frame-pointer) and
 * build/tests/stacks_nofp (-fomit-frame-pointer), both -O2 -g.
 *
 *   stacks       (no arguments)
 *
 * One thread per mode, started by stacks_worker() (the thread function),
 * which calls the mode's chain:
 *
 *   stacks_worker -> stacks_MODE_outer           (noinline)
 *                 -> stacks_MODE_inline          (always_inline: an
 *                                                 inline frame)
 *                 -> stacks_block_MODE           (noinline)
 *                 -> the libc call
 *
 *   mutex    pthread_mutex_lock() of a mutex main holds forever
 *   condvar  pthread_cond_wait() on a condition nobody signals
 *   epoll    epoll_wait(-1) on an epoll set of one empty pipe
 *   pipe     read() on an empty pipe
 *   sleep    clock_nanosleep(): once for 300 ms after "go" (below), then
 *            for an hour at a time
 *   deep     read() on an empty pipe at the bottom of a 400-deep
 *            recursion of stacks_recurse() (noinline, ~200 bytes of
 *            stack per frame): stacks_worker -> stacks_recurse x 401 ->
 *            stacks_block_deep -> read
 *
 * Each call in a chain is followed by a compiler barrier, so none is a
 * tail call and every function keeps its frame. The source line of the
 * call of stacks_block_MODE in stacks_MODE_inline is marked with a
 * comment "line: MODE-inline", the call of stacks_MODE_inline in
 * stacks_MODE_outer "line: MODE-outer": the tests read the line numbers
 * from this file.
 *
 * Protocol: once /proc/self/task/TID/{stat,syscall} shows every thread
 * but the sleep one asleep (state S) in its syscall on its object, main
 * prints "ready PID TID..." (TIDs in the order mutex condvar epoll pipe
 * sleep deep; threads named "st-MODE"). Until then the sleep thread
 * waits for "go", polling every 1 ms (never blocked past 1 ms). On the
 * line "go" on stdin the sleep thread sleeps 300 ms in its chain, then
 * for an hour at a time in the same chain; once /proc shows it in the
 * second sleep main prints "sleeping". End of file on stdin ends the
 * process (exit 0). Errors: one line on stderr, exit 1.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "wl.h"

#define BLOCK_WAIT_TIMEOUT_MS 10000
#define DEEP 400
#define FIRST_SLEEP_MS 300
#define FOREVER_MS (3600 * 1000)

#define barrier() __asm__ __volatile__("" ::: "memory")
#define NOINLINE __attribute__((noinline, noclone))
#define INLINE static inline __attribute__((always_inline))

enum mode { M_MUTEX, M_CONDVAR, M_EPOLL, M_PIPE, M_SLEEP, M_DEEP, M_N };

static struct {
	pthread_mutex_t mutex;	  /* held by main */
	pthread_mutex_t cv_mutex;
	pthread_cond_t cv;	  /* never signalled */
	bool cv_flag;
	int epfd;
	int epipe[2];		  /* in the epoll set, never written */
	int pipefd[2];
	int deeppipe[2];
	atomic_int go;		  /* sleep thread: "go" came */
	atomic_int sleep_phase;	  /* 1: in the 300 ms sleep, 2: after */
	volatile unsigned long calls;
} g = {
	.mutex = PTHREAD_MUTEX_INITIALIZER,
	.cv_mutex = PTHREAD_MUTEX_INITIALIZER,
	.cv = PTHREAD_COND_INITIALIZER,
};

/* ---------------------------------------------------------------- mutex */

NOINLINE void stacks_block_mutex(void)
{
	int err = pthread_mutex_lock(&g.mutex);

	barrier();
	if (err)
		die("pthread_mutex_lock: %s", strerror(err));
	pthread_mutex_unlock(&g.mutex);
}

INLINE void stacks_mutex_inline(void)
{
	g.calls++;
	stacks_block_mutex(); /* line: mutex-inline */
	g.calls++;
}

NOINLINE void stacks_mutex_outer(void)
{
	stacks_mutex_inline(); /* line: mutex-outer */
	barrier();
}

/* -------------------------------------------------------------- condvar */

NOINLINE void stacks_block_condvar(void)
{
	pthread_mutex_lock(&g.cv_mutex);
	while (!g.cv_flag) {
		pthread_cond_wait(&g.cv, &g.cv_mutex);
		barrier();
	}
	pthread_mutex_unlock(&g.cv_mutex);
}

INLINE void stacks_condvar_inline(void)
{
	g.calls++;
	stacks_block_condvar(); /* line: condvar-inline */
	g.calls++;
}

NOINLINE void stacks_condvar_outer(void)
{
	stacks_condvar_inline(); /* line: condvar-outer */
	barrier();
}

/* ---------------------------------------------------------------- epoll */

NOINLINE void stacks_block_epoll(void)
{
	struct epoll_event ev;
	int n;

	for (;;) {
		n = epoll_wait(g.epfd, &ev, 1, -1);
		barrier();
		if (n < 0 && errno == EINTR)
			continue;
		die("epoll_wait returned %d", n);
	}
}

INLINE void stacks_epoll_inline(void)
{
	g.calls++;
	stacks_block_epoll(); /* line: epoll-inline */
	g.calls++;
}

NOINLINE void stacks_epoll_outer(void)
{
	stacks_epoll_inline(); /* line: epoll-outer */
	barrier();
}

/* ----------------------------------------------------------------- pipe */

NOINLINE void stacks_block_pipe(void)
{
	ssize_t n;
	char c;

	for (;;) {
		n = read(g.pipefd[0], &c, 1);
		barrier();
		if (n < 0 && errno == EINTR)
			continue;
		die("read returned %zd", n);
	}
}

INLINE void stacks_pipe_inline(void)
{
	g.calls++;
	stacks_block_pipe(); /* line: pipe-inline */
	g.calls++;
}

NOINLINE void stacks_pipe_outer(void)
{
	stacks_pipe_inline(); /* line: pipe-outer */
	barrier();
}

/* ---------------------------------------------------------------- sleep */

NOINLINE void stacks_block_sleep(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	int err;

	do {
		err = clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts);
		barrier();
	} while (err == EINTR);
	if (err)
		die("clock_nanosleep: %s", strerror(err));
}

INLINE void stacks_sleep_inline(unsigned int ms)
{
	g.calls++;
	stacks_block_sleep(ms); /* line: sleep-inline */
	g.calls++;
}

NOINLINE void stacks_sleep_outer(unsigned int ms)
{
	stacks_sleep_inline(ms); /* line: sleep-outer */
	barrier();
}

/* ----------------------------------------------------------------- deep */

NOINLINE void stacks_block_deep(void)
{
	ssize_t n;
	char c;

	for (;;) {
		n = read(g.deeppipe[0], &c, 1);
		barrier();
		if (n < 0 && errno == EINTR)
			continue;
		die("read returned %zd", n);
	}
}

NOINLINE int stacks_recurse(int depth)
{
	volatile char pad[192];
	int r;

	pad[0] = (char)depth;
	pad[sizeof(pad) - 1] = (char)depth;
	if (depth > 0)
		r = stacks_recurse(depth - 1);
	else {
		stacks_block_deep();
		r = 0;
	}
	barrier();
	return r + pad[0] + pad[sizeof(pad) - 1];
}

/* -------------------------------------------------------------- threads */

struct waiter {
	const char *name;
	long nr[2];		/* expected syscall numbers */
	bool check_arg0;
	unsigned long arg0;	/* futex word or fd */
	atomic_int tid;
	pthread_t thread;
};

static struct waiter w[M_N] = {
	[M_MUTEX] = { .name = "st-mutex", .nr = { SYS_futex, SYS_futex } },
	[M_CONDVAR] = { .name = "st-condvar", .nr = { SYS_futex, SYS_futex } },
	[M_EPOLL] = { .name = "st-epoll",
		      .nr = { SYS_epoll_wait, SYS_epoll_pwait } },
	[M_PIPE] = { .name = "st-pipe", .nr = { SYS_read, SYS_read } },
	[M_SLEEP] = { .name = "st-sleep",
		      .nr = { SYS_clock_nanosleep, SYS_clock_nanosleep } },
	[M_DEEP] = { .name = "st-deep", .nr = { SYS_read, SYS_read } },
};

NOINLINE void *stacks_worker(void *arg)
{
	enum mode m = (enum mode)(long)arg;
	int err;

	err = pthread_setname_np(pthread_self(), w[m].name);
	if (err)
		die("pthread_setname_np: %s", strerror(err));
	atomic_store(&w[m].tid, (int)syscall(SYS_gettid));
	switch (m) {
	case M_MUTEX:
		stacks_mutex_outer();
		break;
	case M_CONDVAR:
		stacks_condvar_outer();
		break;
	case M_EPOLL:
		stacks_epoll_outer();
		break;
	case M_PIPE:
		stacks_pipe_outer();
		break;
	case M_SLEEP:
		while (!atomic_load(&g.go))
			sleep_ms(1);
		atomic_store(&g.sleep_phase, 1);
		stacks_sleep_outer(FIRST_SLEEP_MS);
		atomic_store(&g.sleep_phase, 2);
		for (;;)
			stacks_sleep_outer(FOREVER_MS);
	case M_DEEP:
		stacks_recurse(DEEP);
		break;
	case M_N:
		break;
	}
	barrier();
	return NULL;
}

/* ------------------------------------------------------- /proc checks */

/* True once the thread sleeps (S) in its syscall on its object. */
static bool blocked(const struct waiter *x)
{
	pid_t tid = atomic_load(&x->tid);
	unsigned long arg0;
	long nr;

	return tid && task_asleep(tid, "S", &nr, &arg0) && (nr == x->nr[0] || nr == x->nr[1]) &&
	       (!x->check_arg0 || arg0 == x->arg0);
}

static void wait_blocked(const struct waiter *x, unsigned long long deadline)
{
	while (!blocked(x)) {
		if (now_ms() > deadline)
			die("thread %s (%d) did not block", x->name,
			    atomic_load(&x->tid));
		sleep_ms(1);
	}
}

/* ----------------------------------------------------------------- main */

static bool read_line(char *line, size_t size)
{
	if (!fgets(line, (int)size, stdin))
		return false;
	line[strcspn(line, "\r\n")] = '\0';
	return true;
}

int main(int argc, char **argv)
{
	struct epoll_event ev = { .events = EPOLLIN };
	unsigned long long deadline;
	char line[64];
	int i, err;

	(void)argv;
	if (argc != 1)
		die("usage: stacks");
	if (pipe(g.epipe) || pipe(g.pipefd) || pipe(g.deeppipe))
		die("pipe: %s", strerror(errno));
	g.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (g.epfd < 0)
		die("epoll_create1: %s", strerror(errno));
	ev.data.fd = g.epipe[0];
	if (epoll_ctl(g.epfd, EPOLL_CTL_ADD, g.epipe[0], &ev))
		die("epoll_ctl: %s", strerror(errno));
	pthread_mutex_lock(&g.mutex);

	w[M_MUTEX].check_arg0 = true;
	w[M_MUTEX].arg0 = (unsigned long)&g.mutex;
	w[M_EPOLL].check_arg0 = true;
	w[M_EPOLL].arg0 = (unsigned long)g.epfd;
	w[M_PIPE].check_arg0 = true;
	w[M_PIPE].arg0 = (unsigned long)g.pipefd[0];
	w[M_DEEP].check_arg0 = true;
	w[M_DEEP].arg0 = (unsigned long)g.deeppipe[0];

	for (i = 0; i < M_N; i++) {
		err = pthread_create(&w[i].thread, NULL, stacks_worker,
				     (void *)(long)i);
		if (err)
			die("pthread_create: %s", strerror(err));
	}
	deadline = now_ms() + BLOCK_WAIT_TIMEOUT_MS;
	for (i = 0; i < M_N; i++) {
		if (i == M_SLEEP) {
			while (!atomic_load(&w[i].tid))
				sleep_ms(1);
			continue;
		}
		wait_blocked(&w[i], deadline);
	}
	/* all blocked: none may have left its wait in the meantime */
	for (i = 0; i < M_N; i++)
		if (i != M_SLEEP && !blocked(&w[i]))
			die("thread %s left its wait", w[i].name);

	printf("ready %d", (int)getpid());
	for (i = 0; i < M_N; i++)
		printf(" %d", atomic_load(&w[i].tid));
	printf("\n");
	fflush(stdout);

	while (read_line(line, sizeof(line))) {
		if (strcmp(line, "go"))
			die("expected 'go' on stdin, got '%s'", line);
		if (atomic_exchange(&g.go, 1))
			die("'go' twice");
		deadline = now_ms() + FIRST_SLEEP_MS + BLOCK_WAIT_TIMEOUT_MS;
		while (atomic_load(&g.sleep_phase) < 2) {
			if (now_ms() > deadline)
				die("the 300 ms sleep did not end");
			sleep_ms(1);
		}
		wait_blocked(&w[M_SLEEP], deadline);
		printf("sleeping\n");
		fflush(stdout);
	}
	return 0;
}
