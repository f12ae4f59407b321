// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * sighandler: a thread, "bw-sighandler", blocked inside a signal
 * handler. bw_before_signal() sends itself SIGUSR1; the handler,
 * bw_in_handler(), sleeps for good. Its stack runs through glibc's
 * __restore_rt, whose symbol has size 0: a frame no symbol covers.
 * Prints "ready PID TID" once the thread sleeps; exits on end of file
 * on stdin.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "wl.h"

static volatile long tid;

__attribute__((noinline)) static void bw_in_handler(int sig)
{
	(void)sig;
	for (;;)
		sleep_ms(100000);
}

__attribute__((noinline)) void bw_before_signal(void)
{
	pthread_kill(pthread_self(), SIGUSR1);
	__asm__ volatile("" ::: "memory"); /* not a tail call */
}

static void *worker(void *arg)
{
	(void)arg;
	prctl(PR_SET_NAME, "bw-sighandler");
	tid = syscall(SYS_gettid);
	bw_before_signal();
	return NULL;
}

int main(void)
{
	struct sigaction sa;
	unsigned long arg0;
	long nr = 0;
	pthread_t t;
	char line[16];
	int i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = bw_in_handler;
	if (sigaction(SIGUSR1, &sa, NULL) || pthread_create(&t, NULL, worker, NULL))
		die("setup");
	for (i = 0; i < 1000 && !(tid && task_asleep((pid_t)tid, "S", &nr, &arg0)); i++)
		sleep_ms(5);
	if (!tid)
		die("worker did not start");
	printf("ready %d %ld\n", getpid(), tid);
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin))
		;
	return 0;
}
