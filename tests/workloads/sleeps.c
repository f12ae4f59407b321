// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * sleeps N US: one thread, "bw-sleeps", sleeps N times for US
 * microseconds in bw_sleeps_one() and counts, from its own
 * /proc/self/task/TID/status, how many voluntary context switches the
 * kernel made of it meanwhile: every one of them is a block a profiler
 * must account for (at a threshold below US).
 *
 * Prints "ready PID TID", waits for "go" on stdin, sleeps, prints
 * "switches K" (the kernel's count) and "done", exits 0.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "wl.h"

static long n_sleeps, us;
static long switches;
static int go_pipe[2];
static volatile long worker_tid;

static long voluntary(void)
{
	char path[64], line[256];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%ld/status", (long)syscall(SYS_gettid));
	f = fopen(path, "r");
	if (!f)
		die("cannot open %s", path);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "voluntary_ctxt_switches: %ld", &v) == 1)
			break;
	fclose(f);
	return v;
}

__attribute__((noinline)) void bw_sleeps_one(void)
{
	struct timespec ts = { us / 1000000, us % 1000000 * 1000 };

	while (nanosleep(&ts, &ts))
		;
}

static void *worker(void *arg)
{
	long i, before;

	char c;

	(void)arg;
	prctl(PR_SET_NAME, "bw-sleeps");
	worker_tid = syscall(SYS_gettid);
	if (read(go_pipe[0], &c, 1) != 1)
		die("go pipe");
	before = voluntary();
	for (i = 0; i < n_sleeps; i++)
		bw_sleeps_one();
	switches = voluntary() - before;
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t;
	char line[64];

	if (argc != 3 || (n_sleeps = atol(argv[1])) <= 0 || (us = atol(argv[2])) <= 0)
		die("usage: sleeps N US");
	if (pipe(go_pipe) || pthread_create(&t, NULL, worker, NULL))
		die("thread");
	while (!worker_tid)
		sleep_ms(1);
	printf("ready %d %ld\n", getpid(), worker_tid);
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin) || strcmp(line, "go\n"))
		die("expected 'go' on stdin");
	if (write(go_pipe[1], "g", 1) != 1 || pthread_join(t, NULL))
		die("thread");
	printf("switches %ld\ndone\n", switches);
	return 0;
}
