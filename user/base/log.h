/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_LOG_H
#define BW_LOG_H

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

#endif
