// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * `blockwatch top` in a session: the view instead of the sinks, and its
 * three fds (keys, SIGWINCH, stderr's pipe) in the tracing loop beside
 * the timers and signals. A report a second, still-blocked threads and
 * goroutines included, as every interval report is.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/log.h"
#include "base/util.h"
#include "cli/cli.h"
#include "proc/targets.h"
#include "report/fmt.h"
#include "session/session.h"
#include "top/top.h"

struct session_top {
	struct bw_top *view;
	struct session *s;
	struct bw_handler keys, winch, msgs;
};

static int on_keys(struct bw_handler *h, uint32_t events)
{
	struct session_top *st = bw_container_of(h, struct session_top, keys);

	(void)events;
	if (bw_top__keys(st->view))
		bw_loop__stop(st->s->loop);
	return 0;
}

static int on_winch(struct bw_handler *h, uint32_t events)
{
	(void)events;
	bw_top__resize(bw_container_of(h, struct session_top, winch)->view);
	return 0;
}

static int on_msgs(struct bw_handler *h, uint32_t events)
{
	(void)events;
	bw_top__messages(bw_container_of(h, struct session_top, msgs)->view);
	return 0;
}

/* "PID 12 (svc), PID 13 (db)" or "all processes", escaped. */
static void targets_text(const struct session *s, char *buf, size_t len)
{
	struct bw_strbuf sb = { .buf = buf, .len = len };
	int i;

	buf[0] = 0;
	if (!s->ntargets)
		bw_sb_printf(&sb, "all processes");
	for (i = 0; i < s->ntargets; i++) {
		bw_sb_printf(&sb, "%sPID %d (", i ? ", " : "", s->targets[i].pid);
		bw_sb_esc(&sb, s->targets[i].comm);
		bw_sb_printf(&sb, ")");
	}
}

static int add(struct session *s, struct bw_handler *h, int fd,
	       int (*ready)(struct bw_handler *, uint32_t))
{
	h->fd = fd;
	h->ready = ready;
	return bw_loop__add(s->loop, h);
}

int session_top_open(struct session *s)
{
	struct session_top *st = calloc(1, sizeof(*st));
	char what[160];
	int err;

	if (!st) {
		bw_err("out of memory");
		return BW_EXIT_FAIL;
	}
	targets_text(s, what, sizeof(what));
	st->s = s;
	st->view = bw_top__open(what);
	if (!st->view) {
		bw_err("cannot start the terminal view: %s", strerror(errno));
		free(st);
		return BW_EXIT_FAIL;
	}
	s->top = st;
	err = add(s, &st->keys, bw_top__keys_fd(st->view), on_keys);
	if (!err)
		err = add(s, &st->winch, bw_top__winch_fd(st->view), on_winch);
	if (!err)
		err = add(s, &st->msgs, bw_top__msg_fd(st->view), on_msgs);
	if (err) {
		bw_err("cannot set up the event loop: %s", strerror(-err));
		return BW_EXIT_FAIL;
	}
	return 0;
}

void session_top_emit(struct session *s, const struct bw_report *r)
{
	bw_top__update(s->top->view, r);
}

void session_top_close(struct session *s)
{
	if (!s->top)
		return;
	bw_top__close(s->top->view);
	free(s->top);
	s->top = NULL;
}
