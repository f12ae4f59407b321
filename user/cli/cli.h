/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_CLI_H
#define BW_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

enum bw_format { BW_FMT_TEXT, BW_FMT_JSON };

struct bw_opts {
	pid_t *pids; /* NULL: system-wide */
	int npids;
	uint64_t threshold_ns;
	uint64_t interval_ns;
	uint64_t duration_ns; /* 0: until a signal */
	enum bw_format format;
	const char *output; /* NULL: stdout */
	unsigned int top;   /* 0: every process */
	unsigned int frames; /* frames per stack in text output */
	const char *btf_path;
	uint64_t ringbuf_size;
	bool force_raw_tp;
	bool syscall_exit; /* also hook sys_exit, for threads without rseq */
	bool now;	   /* one snapshot of the threads blocked now, then exit */
	bool kernel_stacks;
	uint64_t stack_size;	    /* user stack bytes copied above sp */
	const char *debuginfo_path; /* NULL: libdwfl's default */
	bool verbose;
};

/* Parse "500us", "2s", "1.5m"... into nanoseconds. A number without a
 * unit, an unknown unit, a negative or overflowing value: -EINVAL or
 * -ERANGE. */
int bw_parse_duration(const char *s, uint64_t *ns);
/* Parse "65536", "64K", "16M" into bytes. */
int bw_parse_size(const char *s, uint64_t *bytes);
/* Parse "12,34" into a malloc'ed array of PIDs. */
int bw_parse_pids(const char *s, pid_t **pids, int *npids);

/* 0: run; 1: --help/--version printed, exit 0; -EINVAL: usage error,
 * already reported on stderr. */
int bw_cli_parse(int argc, char **argv, struct bw_opts *o);
void bw_opts_free(struct bw_opts *o);

#endif
