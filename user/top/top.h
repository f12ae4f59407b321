/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_TOP_H
#define BW_TOP_H

/*
 * `blockwatch top`: the live terminal view (ncurses). The session hands
 * it every second's report and the terminal's events (keys, resizes,
 * what was said on stderr); it draws. Formatting happens here and in
 * top/rows only.
 */
#include <stdbool.h>
#include "model/report.h"

struct bw_top;

/* Start the screen (alternate screen, keys unbuffered, stderr taken).
 * @what: what is traced, for the header ("PID 12 (svc)", "all
 * processes"). NULL with errno set (nothing left changed). */
struct bw_top *bw_top__open(const char *what);
/* The fds the event loop watches for it: keys (stdin), SIGWINCH,
 * stderr's pipe. */
int bw_top__keys_fd(const struct bw_top *t);
int bw_top__winch_fd(const struct bw_top *t);
int bw_top__msg_fd(const struct bw_top *t);
/* Keys that came: true when one asked to quit. */
bool bw_top__keys(struct bw_top *t);
void bw_top__resize(struct bw_top *t);
/* Messages on stderr: to the status line. */
void bw_top__messages(struct bw_top *t);
/* A new report (shown unless paused). Never fails the run: a failure is
 * said on the status line. */
void bw_top__update(struct bw_top *t, const struct bw_report *r);
/* Leave the screen as the terminal was, write out what was said on
 * stderr meanwhile; accepts NULL. */
void bw_top__close(struct bw_top *t);

#endif
