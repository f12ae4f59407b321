// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * blockers: a workload with known ground truth for the end-to-end tests.
 *
 *   blockers MODE MS [REPEAT]      MODE: mutex|condvar|epoll|pipe|sleep
 *   blockers many N MS [REPEAT]
 *
 * One worker thread named "bw-MODE" blocks REPEAT times for MS
 * milliseconds each, inside bw_block_MODE(). The process prints
 * "ready PID TID", waits for a line "go" on stdin, runs the blocks,
 * prints "done" and exits 0. Errors: one line on stderr, exit 1.
 *
 * "many" starts N threads named "bw-many" that, after "go" and a
 * barrier, each sleep REPEAT times for MS ms in bw_block_sleep(); TID is
 * the first of them.
 *
 * Ground truth: apart from the blocks in bw_block_MODE() a worker never
 * stays off-CPU for more than 5 ms, so a profiler with a threshold above
 * that sees exactly REPEAT blocks for the worker. The main thread starts
 * its MS timer only once /proc shows the worker asleep in the expected
 * syscall; the block it measures is therefore MS plus the detection and
 * wake-up latency: typically 0.1-2 ms longer, on a loaded 2-core machine
 * up to ~10 ms (tests should allow 10%). Sleep blocks are timed by the
 * worker's own nanosleep (MS plus timer slack). Successive blocks are
 * at least 200 ms apart.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "wl.h"

#define GAP_MS 200
#define POLL_MS 5
#define BLOCK_WAIT_TIMEOUT_MS 10000
#define MAX_THREADS 1000

enum mode { M_MUTEX, M_CONDVAR, M_EPOLL, M_PIPE, M_SLEEP, M_MANY };

static const char *const mode_names[] = {
	[M_MUTEX] = "mutex", [M_CONDVAR] = "condvar", [M_EPOLL] = "epoll",
	[M_PIPE] = "pipe",   [M_SLEEP] = "sleep",     [M_MANY] = "many",
};

static struct {
	enum mode mode;
	unsigned int ms;
	unsigned int repeat;
	unsigned int nthreads;

	pthread_mutex_t mutex;	  /* mutex mode: held by main */
	pthread_mutex_t cv_mutex; /* condvar mode */
	pthread_cond_t cv;
	bool cv_flag;
	int epfd;
	int sock[2];
	int pipefd[2];
	pthread_barrier_t barrier;

	pthread_mutex_t start_mutex; /* worker start-up handshake */
	pthread_cond_t start_cv;
	pid_t first_tid;
	unsigned int started;

	atomic_uint armed;    /* blocks main has prepared */
	atomic_uint waiting;  /* blocks the worker has entered */
	atomic_uint finished; /* blocks the worker has left */
	atomic_uint many_done;
} g = {
	.mutex = PTHREAD_MUTEX_INITIALIZER,
	.cv_mutex = PTHREAD_MUTEX_INITIALIZER,
	.cv = PTHREAD_COND_INITIALIZER,
	.start_mutex = PTHREAD_MUTEX_INITIALIZER,
	.start_cv = PTHREAD_COND_INITIALIZER,
	.epfd = -1,
	.sock = { -1, -1 },
	.pipefd = { -1, -1 },
};

static unsigned int parse_uint(const char *s, const char *what,
			       unsigned int min, unsigned int max)
{
	unsigned long long v;
	char *end;

	errno = 0;
	if (*s < '0' || *s > '9')
		die("invalid %s '%s'", what, s);
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		die("invalid %s '%s'", what, s);
	return (unsigned int)v;
}

/*
 * The blocking functions. noinline and the barrier after the call keep
 * each one a real frame on the stack of the blocked thread (no inlining,
 * no tail call).
 */
__attribute__((noinline)) void bw_block_mutex(void)
{
	int err = pthread_mutex_lock(&g.mutex);

	__asm__ __volatile__("" ::: "memory");
	if (err)
		die("pthread_mutex_lock: %s", strerror(err));
	pthread_mutex_unlock(&g.mutex);
}

__attribute__((noinline)) void bw_block_condvar(void)
{
	pthread_mutex_lock(&g.cv_mutex);
	while (!g.cv_flag) {
		pthread_cond_wait(&g.cv, &g.cv_mutex);
		__asm__ __volatile__("" ::: "memory");
	}
	g.cv_flag = false;
	pthread_mutex_unlock(&g.cv_mutex);
}

__attribute__((noinline)) void bw_block_epoll(void)
{
	struct epoll_event ev;
	char c;
	int n;

	do {
		n = epoll_wait(g.epfd, &ev, 1, -1);
		__asm__ __volatile__("" ::: "memory");
	} while (n < 0 && errno == EINTR);
	if (n != 1)
		die("epoll_wait: %s", n < 0 ? strerror(errno) : "no event");
	if (read(g.sock[0], &c, 1) != 1)
		die("read socket: %s", strerror(errno));
}

__attribute__((noinline)) void bw_block_pipe(void)
{
	ssize_t n;
	char c;

	do {
		n = read(g.pipefd[0], &c, 1);
		__asm__ __volatile__("" ::: "memory");
	} while (n < 0 && errno == EINTR);
	if (n != 1)
		die("read pipe: %s", n < 0 ? strerror(errno) : "end of file");
}

__attribute__((noinline)) void bw_block_sleep(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	int err;

	err = nanosleep(&ts, NULL);
	__asm__ __volatile__("" ::: "memory");
	if (err)
		die("nanosleep: %s", strerror(errno));
}

static void announce_start(const char *name)
{
	pid_t tid = (pid_t)syscall(SYS_gettid);
	int err;

	err = pthread_setname_np(pthread_self(), name);
	if (err)
		die("pthread_setname_np: %s", strerror(err));
	pthread_mutex_lock(&g.start_mutex);
	if (!g.first_tid)
		g.first_tid = tid;
	g.started++;
	pthread_cond_signal(&g.start_cv);
	pthread_mutex_unlock(&g.start_mutex);
}

/* Waits without ever staying off-CPU longer than POLL_MS. */
static void wait_at_least(atomic_uint *v, unsigned int target)
{
	while (atomic_load(v) < target)
		sleep_ms(POLL_MS);
}

static void *worker(void *arg)
{
	char name[16];
	unsigned int i;

	(void)arg;
	snprintf(name, sizeof(name), "bw-%s", mode_names[g.mode]);
	announce_start(name);
	for (i = 1; i <= g.repeat; i++) {
		wait_at_least(&g.armed, i);
		atomic_store(&g.waiting, i);
		switch (g.mode) {
		case M_MUTEX:
			bw_block_mutex();
			break;
		case M_CONDVAR:
			bw_block_condvar();
			break;
		case M_EPOLL:
			bw_block_epoll();
			break;
		case M_PIPE:
			bw_block_pipe();
			break;
		case M_SLEEP:
			bw_block_sleep(g.ms);
			break;
		case M_MANY:
			break;
		}
		atomic_store(&g.finished, i);
	}
	return NULL;
}

static void *many_worker(void *arg)
{
	unsigned int i;
	int err;

	(void)arg;
	announce_start("bw-many");
	wait_at_least(&g.armed, 1);
	err = pthread_barrier_wait(&g.barrier);
	if (err && err != PTHREAD_BARRIER_SERIAL_THREAD)
		die("pthread_barrier_wait: %s", strerror(err));
	for (i = 0; i < g.repeat; i++)
		bw_block_sleep(g.ms);
	atomic_fetch_add(&g.many_done, 1);
	return NULL;
}

static bool expected_syscall(long nr)
{
	switch (g.mode) {
	case M_MUTEX:
	case M_CONDVAR:
		return nr == SYS_futex;
	case M_EPOLL:
		return nr == SYS_epoll_wait || nr == SYS_epoll_pwait;
	case M_PIPE:
		return nr == SYS_read;
	case M_SLEEP:
		return nr == SYS_nanosleep || nr == SYS_clock_nanosleep;
	case M_MANY:
		break;
	}
	return false;
}

/*
 * True once the worker sleeps in the syscall of its block, as
 * /proc/self/task/TID/syscall shows (readable for our own threads
 * without ptrace).
 */
static bool worker_blocked(pid_t tid)
{
	unsigned long arg0;
	long nr;

	return task_asleep(tid, "SD", &nr, &arg0) && expected_syscall(nr);
}

static void wait_blocked(pid_t tid, unsigned int block)
{
	unsigned long long deadline = now_ms() + BLOCK_WAIT_TIMEOUT_MS;

	while (atomic_load(&g.waiting) < block || !worker_blocked(tid)) {
		if (now_ms() > deadline)
			die("worker %d did not block (block %u)", tid, block);
		sleep_ms(1);
	}
}

static void sleep_until(const struct timespec *t)
{
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, t, NULL) ==
	       EINTR)
		;
}

static void release(void)
{
	char c = 'x';
	int err;

	switch (g.mode) {
	case M_MUTEX:
		err = pthread_mutex_unlock(&g.mutex);
		if (err)
			die("pthread_mutex_unlock: %s", strerror(err));
		break;
	case M_CONDVAR:
		pthread_mutex_lock(&g.cv_mutex);
		g.cv_flag = true;
		pthread_cond_signal(&g.cv);
		pthread_mutex_unlock(&g.cv_mutex);
		break;
	case M_EPOLL:
		if (write(g.sock[1], &c, 1) != 1)
			die("write socket: %s", strerror(errno));
		break;
	case M_PIPE:
		if (write(g.pipefd[1], &c, 1) != 1)
			die("write pipe: %s", strerror(errno));
		break;
	case M_SLEEP:
	case M_MANY:
		break;
	}
}

static void setup(void)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int err;

	switch (g.mode) {
	case M_MUTEX:
		/* Held from before "go" so the worker's lock blocks at once. */
		err = pthread_mutex_lock(&g.mutex);
		if (err)
			die("pthread_mutex_lock: %s", strerror(err));
		break;
	case M_EPOLL:
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, g.sock))
			die("socketpair: %s", strerror(errno));
		g.epfd = epoll_create1(EPOLL_CLOEXEC);
		if (g.epfd < 0)
			die("epoll_create1: %s", strerror(errno));
		ev.data.fd = g.sock[0];
		if (epoll_ctl(g.epfd, EPOLL_CTL_ADD, g.sock[0], &ev))
			die("epoll_ctl: %s", strerror(errno));
		break;
	case M_PIPE:
		if (pipe2(g.pipefd, O_CLOEXEC))
			die("pipe: %s", strerror(errno));
		break;
	case M_MANY:
		err = pthread_barrier_init(&g.barrier, NULL, g.nthreads);
		if (err)
			die("pthread_barrier_init: %s", strerror(err));
		break;
	case M_CONDVAR:
	case M_SLEEP:
		break;
	}
}

static void wait_for_go(void)
{
	char line[64];

	if (!fgets(line, sizeof(line), stdin))
		die("stdin closed before 'go'");
	line[strcspn(line, "\r\n")] = '\0';
	if (strcmp(line, "go"))
		die("expected 'go' on stdin, got '%s'", line);
}

static void run_blocks(pid_t tid)
{
	struct timespec t;
	unsigned int i;
	int err;

	for (i = 1; i <= g.repeat; i++) {
		atomic_store(&g.armed, i);
		wait_blocked(tid, i);
		clock_gettime(CLOCK_MONOTONIC, &t);
		t.tv_sec += g.ms / 1000;
		t.tv_nsec += (long)(g.ms % 1000) * 1000000L;
		if (t.tv_nsec >= 1000000000L) {
			t.tv_sec++;
			t.tv_nsec -= 1000000000L;
		}
		if (g.mode != M_SLEEP)
			sleep_until(&t);
		release();
		while (atomic_load(&g.finished) < i)
			sleep_ms(1);
		if (g.mode == M_MUTEX && i < g.repeat) {
			err = pthread_mutex_lock(&g.mutex);
			if (err)
				die("pthread_mutex_lock: %s", strerror(err));
		}
		if (i < g.repeat)
			sleep_ms(GAP_MS);
	}
}

static void usage(void)
{
	die("usage: blockers mutex|condvar|epoll|pipe|sleep MS [REPEAT] | "
	    "blockers many N MS [REPEAT]");
}

int main(int argc, char **argv)
{
	pthread_t threads[MAX_THREADS];
	unsigned int i, n;
	int argi = 2, err;
	bool found = false;

	if (argc < 2)
		usage();
	for (i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++) {
		if (!strcmp(argv[1], mode_names[i])) {
			g.mode = (enum mode)i;
			found = true;
		}
	}
	if (!found)
		usage();
	g.nthreads = 1;
	if (g.mode == M_MANY) {
		if (argc < 3)
			usage();
		g.nthreads = parse_uint(argv[argi++], "thread count", 1,
					MAX_THREADS);
	}
	if (argc < argi + 1 || argc > argi + 2)
		usage();
	g.ms = parse_uint(argv[argi], "duration", 1, 3600 * 1000);
	g.repeat = argc > argi + 1 ?
			   parse_uint(argv[argi + 1], "repeat count", 1, 100000) :
			   1;

	setup();
	for (n = 0; n < g.nthreads; n++) {
		err = pthread_create(&threads[n], NULL,
				     g.mode == M_MANY ? many_worker : worker,
				     NULL);
		if (err)
			die("pthread_create: %s", strerror(err));
	}
	pthread_mutex_lock(&g.start_mutex);
	while (g.started < g.nthreads)
		pthread_cond_wait(&g.start_cv, &g.start_mutex);
	pthread_mutex_unlock(&g.start_mutex);

	printf("ready %d %d\n", (int)getpid(), (int)g.first_tid);
	fflush(stdout);
	wait_for_go();

	if (g.mode == M_MANY) {
		atomic_store(&g.armed, 1);
		while (atomic_load(&g.many_done) < g.nthreads)
			sleep_ms(1);
	} else {
		run_blocks(g.first_tid);
	}

	printf("done\n");
	fflush(stdout);
	for (n = 0; n < g.nthreads; n++)
		pthread_join(threads[n], NULL);
	return 0;
}
