/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_LOG_H
#define BW_LOG_H

#include <stdbool.h>

/* Process exit codes: documented in README.md and --help. */
enum bw_exit {
	BW_EXIT_OK = 0,
	BW_EXIT_FAIL = 1,    /* runtime failure */
	BW_EXIT_USAGE = 2,   /* bad command line */
	BW_EXIT_NOPROC = 3,  /* a -p target does not exist */
	BW_EXIT_PERM = 4,    /* not root / missing capabilities */
	BW_EXIT_NOBTF = 5,   /* no usable kernel BTF */
	BW_EXIT_NOREAD = 6,  /* --now: a target's memory could not be read (its goroutines) */
};

extern int bw_verbose;

/* One line on stderr, prefixed "blockwatch: ". */
void bw_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Same, only with -v. */
void bw_dbg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * The status line: one line at the bottom of a terminal's stderr,
 * redrawn in place ("\r" and clear to the end of the line), never in a
 * file or a pipe. Every stderr line above clears it first and draws it
 * again after; so does whatever writes to a terminal stdout (the text
 * report), with bw_status_clear().
 */
/* Turn it on if @wanted and stderr is a terminal (not TERM=dumb);
 * returns whether it is on. */
bool bw_status_start(bool wanted);
/* Show @text (our own words, cut to the terminal's width). */
void bw_status_show(const char *text);
/* Take it off the screen until the next bw_status_show. */
void bw_status_clear(void);
/* Off the screen and off for good (at exit). */
void bw_status_stop(void);

#endif
