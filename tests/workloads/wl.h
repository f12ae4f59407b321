/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Helpers the ground-truth workloads share. Header-only: each workload
 * is one program built from one file. */
#ifndef BW_WL_H
#define BW_WL_H

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>
#include <sys/types.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

extern char *program_invocation_short_name;

/* One line "NAME: message" on stderr, exit 1. */
static inline __attribute__((noreturn, format(printf, 1, 2))) void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", program_invocation_short_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static inline void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR)
		;
}

static inline unsigned long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Is our own thread @tid asleep, its state one of @states ("S", "SD"),
 * in a syscall? Its number and first argument come from
 * /proc/self/task/TID/syscall (readable for our own threads without
 * ptrace); arg0 is 0 when the line has none.
 */
static inline bool task_asleep(pid_t tid, const char *states, long *nr, unsigned long *arg0)
{
	char path[64], buf[256], *p;
	bool ok = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	f = fopen(path, "r");
	if (!f)
		return false;
	if (fgets(buf, sizeof(buf), f)) {
		p = strrchr(buf, ')');
		ok = p && p[1] == ' ' && p[2] && strchr(states, p[2]);
	}
	fclose(f);
	if (!ok)
		return false;
	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", tid);
	f = fopen(path, "r");
	if (!f)
		return false;
	*arg0 = 0;
	ok = fscanf(f, "%ld 0x%lx", nr, arg0) >= 1;
	fclose(f);
	return ok;
}

#endif
