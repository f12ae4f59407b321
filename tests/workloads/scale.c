// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * scale: load for the memory and scaling benchmarks (tools/bench/scale.sh,
 * tools/bench/now.sh, tools/bench/memory.sh) and the state-lifetime tests.
 *
 *   scale idle N SECS          N threads blocked in one nanosleep each
 *   scale rate N RATE SECS     N threads, RATE blocks a second in all
 *   scale churn RATE SECS MS   RATE short-lived tasks a second
 *
 * idle: N threads named "bw-idle" each asleep in bw_idle_wait() until the
 * process exits, SECS after "go" (or when stdin reaches EOF first): every
 * thread has the same stack. rate: N threads named "bw-rate" each sleep
 * N/RATE seconds at a time in bw_rate_wait(), phases staggered, so the
 * process blocks RATE times a second for N/RATE s each (past a threshold
 * below that). churn: RATE tasks a second, every other one a forked
 * process and the others threads, each blocks MS ms in bw_churn_wait()
 * once and exits; child processes are reaped by the kernel.
 *
 * Threads get 64 KiB stacks carved from one mapping (no guard pages), so
 * 50,000 of them need one VMA, not 100,000. The process prints
 * "ready PID" once every thread is started, waits for "go" on stdin,
 * prints "done" when SECS are over and exits 0. Errors: one line on
 * stderr, exit 1.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>
#include "wl.h"

#define STACK_SIZE (64 * 1024)
#define MAX_THREADS 100000
#define TICK_MS 10

static struct {
	unsigned long nthreads;
	unsigned long long period_ns; /* rate: one thread's sleep */
	unsigned int block_ms;	      /* churn */
	char *stacks;
	atomic_ulong started;
} g;

static unsigned long parse_ul(const char *s, const char *what, unsigned long min,
			      unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v < min || v > max)
		die("%s must be a number from %lu to %lu (got '%s')", what, min, max, s);
	return v;
}

static void sleep_ns(unsigned long long ns)
{
	struct timespec ts = { ns / 1000000000ULL, ns % 1000000000ULL };

	while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR)
		;
}

__attribute__((noinline)) void bw_idle_wait(void)
{
	for (;;)
		sleep_ns(3600ULL * 1000000000ULL);
}

__attribute__((noinline)) void bw_rate_wait(void)
{
	sleep_ns(g.period_ns);
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) void bw_churn_wait(void)
{
	sleep_ms(g.block_ms);
	__asm__ volatile("" ::: "memory");
}

static void *idle_worker(void *arg)
{
	(void)arg;
	prctl(PR_SET_NAME, "bw-idle");
	atomic_fetch_add(&g.started, 1);
	bw_idle_wait();
	return NULL;
}

static void *rate_worker(void *arg)
{
	unsigned long i = (unsigned long)arg;

	prctl(PR_SET_NAME, "bw-rate");
	atomic_fetch_add(&g.started, 1);
	/* staggered: the blocks spread evenly over a period */
	sleep_ns(g.period_ns * i / g.nthreads);
	for (;;)
		bw_rate_wait();
	return NULL;
}

static void *churn_worker(void *arg)
{
	(void)arg;
	prctl(PR_SET_NAME, "bw-churn");
	bw_churn_wait();
	return NULL;
}

static void start_threads(void *(*fn)(void *))
{
	pthread_attr_t attr;
	unsigned long i;
	int err;

	g.stacks = mmap(NULL, g.nthreads * STACK_SIZE, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
	if (g.stacks == MAP_FAILED)
		die("cannot map %lu thread stacks: %s", g.nthreads, strerror(errno));
	for (i = 0; i < g.nthreads; i++) {
		pthread_t t;

		pthread_attr_init(&attr);
		pthread_attr_setstack(&attr, g.stacks + i * STACK_SIZE, STACK_SIZE);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		err = pthread_create(&t, &attr, fn, (void *)i);
		pthread_attr_destroy(&attr);
		if (err)
			die("cannot start thread %lu of %lu: %s", i + 1, g.nthreads, strerror(err));
	}
	while (atomic_load(&g.started) < g.nthreads)
		sleep_ms(1);
}

static void spawn_one(unsigned long k)
{
	pthread_attr_t attr;
	pthread_t t;
	pid_t pid;
	int err;

	if (k % 2 == 0) {
		pid = fork();
		if (pid < 0)
			die("cannot fork: %s", strerror(errno));
		if (pid == 0) {
			prctl(PR_SET_NAME, "bw-churn-proc");
			bw_churn_wait();
			_exit(0);
		}
		return;
	}
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, STACK_SIZE);
	err = pthread_create(&t, &attr, churn_worker, NULL);
	pthread_attr_destroy(&attr);
	if (err && err != EAGAIN)
		die("cannot start a thread: %s", strerror(err));
}

/* RATE tasks a second until @end_ms, a tick's worth at a time. */
static void churn(unsigned long rate, unsigned long long end_ms)
{
	unsigned long long t0 = now_ms(), now;
	unsigned long k = 0;

	while ((now = now_ms()) < end_ms) {
		unsigned long due = (unsigned long)((now - t0) * rate / 1000);

		while (k < due)
			spawn_one(k++);
		sleep_ms(TICK_MS);
	}
}

/* "go" on stdin; EOF ends the run early. */
static bool wait_for_go(void)
{
	char line[16];

	if (!fgets(line, sizeof(line), stdin))
		return false;
	if (strcmp(line, "go\n"))
		die("expected \"go\" on stdin");
	return true;
}

static void usage(void)
{
	die("usage: scale idle N SECS | scale rate N RATE SECS | scale churn RATE SECS MS");
}

int main(int argc, char **argv)
{
	unsigned long secs, rate = 0;
	const char *mode;

	if (argc < 2)
		usage();
	mode = argv[1];
	signal(SIGCHLD, SIG_IGN); /* the kernel reaps churned processes */
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(mode, "idle") && argc == 4) {
		g.nthreads = parse_ul(argv[2], "N", 1, MAX_THREADS);
		secs = parse_ul(argv[3], "SECS", 1, 86400);
		start_threads(idle_worker);
	} else if (!strcmp(mode, "rate") && argc == 5) {
		g.nthreads = parse_ul(argv[2], "N", 1, MAX_THREADS);
		rate = parse_ul(argv[3], "RATE", 1, 1000000);
		secs = parse_ul(argv[4], "SECS", 1, 86400);
		g.period_ns = 1000000000ULL * g.nthreads / rate;
		start_threads(rate_worker);
	} else if (!strcmp(mode, "churn") && argc == 5) {
		rate = parse_ul(argv[2], "RATE", 1, 100000);
		secs = parse_ul(argv[3], "SECS", 1, 86400);
		g.block_ms = parse_ul(argv[4], "MS", 1, 60000);
	} else {
		usage();
	}
	printf("ready %d\n", getpid());
	if (!wait_for_go())
		return 0;
	if (!strcmp(mode, "churn"))
		churn(rate, now_ms() + secs * 1000ULL);
	else
		sleep_ms(secs * 1000);
	printf("done\n");
	/* exit_group: every thread goes at once */
	_exit(0);
}
