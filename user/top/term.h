/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_TOP_TERM_H
#define BW_TOP_TERM_H

/*
 * What the live view does to the terminal, and how it is undone on every
 * path: stderr goes into a pipe while the screen is up (each message is
 * shown on the status line and written out again once the terminal is
 * back), SIGWINCH comes as a signalfd like SIGINT/SIGTERM do, and a
 * fatal signal (a crash, abort, the second Ctrl-C that kills at once)
 * first puts the terminal back as it was.
 */
#include <stddef.h>

/* Both stdin and stdout must be a terminal ncurses knows: 0, or an enum
 * bw_exit code (the one line said). */
int top_term_check(void);

/* Before the screen starts: take stderr, block SIGWINCH. -errno. */
int top_term_open(void);
/* Once the screen is up: what puts the terminal back (its modes from
 * before, the escapes leaving the alternate screen) for the fatal
 * signals' handler, which is installed now. */
void top_term_arm(void);
/* The read end of stderr's pipe (non-blocking) and SIGWINCH's signalfd;
 * -1 before open. */
int top_term_errfd(void);
int top_term_winchfd(void);
/* Read what arrived on stderr into @buf: one complete line at most per
 * call (without its newline), 1; 0 when none is complete. Everything
 * read is also kept to be written out at close. */
int top_term_message(char *buf, size_t len);
/* Take the SIGWINCH that made winchfd readable. */
void top_term_winch_ack(void);
/* The screen has ended (endwin): disarm, give stderr back, write what
 * was said meanwhile to it, unblock SIGWINCH. Safe if open failed or
 * never ran. */
void top_term_close(void);

#endif
