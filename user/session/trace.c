// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Tracing: the event loop, with a handler each for the interval timer,
 * the duration's deadline, SIGINT/SIGTERM, SIGHUP (a reload), SIGUSR1
 * (the whole-run outputs written now), every target's pidfd (and a poll
 * timer for targets without one), the status line's redraw on a terminal
 * and, added by its collector, the ring buffer.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include "base/clock.h"
#include "base/log.h"
#include "base/signals.h"
#include "base/util.h"
#include "cli/cli.h"
#include "daemon/notify.h"
#include "model/ingest.h"
#include "proc/targets.h"
#include "report/fmt.h"
#include "report/progress.h"
#include "session/collect.h"
#include "session/serve.h"
#include "session/session.h"
#include "trace/loader.h"

/* Targets without a pidfd (before Linux 5.3) are looked at this often. */
#define POLL_NS (200 * BW_NSEC_PER_MSEC)
/* The status line is redrawn this often. */
#define PROGRESS_NS BW_NSEC_PER_SEC

struct tracer;

struct watch {
	struct bw_handler h; /* the target's pidfd */
	struct bw_target *tg;
	struct tracer *t;
};

struct tracer {
	struct session *s;
	struct bw_handler tick, deadline, signal, poll, progress, watchdog;
	struct watch *watches;
	int alive;    /* targets not yet exited */
	int signo;    /* the signal that stopped it */
	int stop_err; /* the failure that stopped it, or 0 */
};

static void stop(struct tracer *t, int err)
{
	if (err && !t->stop_err)
		t->stop_err = err;
	bw_loop__stop(t->s->loop);
}

/* Until @fd fires next (a timerfd; 0 if disarmed or unreadable). */
static uint64_t timer_left(int fd)
{
	struct itimerspec its;

	if (fd < 0 || timerfd_gettime(fd, &its))
		return 0;
	return (uint64_t)its.it_value.tv_sec * BW_NSEC_PER_SEC + its.it_value.tv_nsec;
}

static void show_progress(struct tracer *t)
{
	struct session *s = t->s;
	struct bw_run_totals tot;
	struct bw_progress p = { .threshold_ns = s->o->threshold_ns };
	uint64_t end;
	char line[256];

	if (t->progress.fd < 0 || bw_counter_totals(s->counters, s->in, &tot))
		return;
	p.elapsed_ns = bw_mono_ns() - s->start;
	p.slow = tot.slow;
	p.shorter = tot.shorter;
	p.dropped = tot.dropped;
	p.next_report_ns = timer_left(t->tick.fd);
	end = timer_left(t->deadline.fd);
	if (t->deadline.fd >= 0 && end < p.next_report_ns)
		p.next_report_ns = end;
	bw_progress_format(&p, line, sizeof(line));
	bw_status_show(line);
}

static int on_progress(struct bw_handler *h, uint32_t events)
{
	(void)events;
	bw_timer_ack(h->fd);
	show_progress(bw_container_of(h, struct tracer, progress));
	return 0;
}

static int on_tick(struct bw_handler *h, uint32_t events)
{
	struct tracer *t = bw_container_of(h, struct tracer, tick);
	const struct bw_opts *o = t->s->o;
	int err;

	(void)events;
	bw_timer_ack(h->fd);
	/* The last tick of -d is the final report's. */
	if (o->duration_ns && bw_mono_ns() - t->s->start + BW_NSEC_PER_MSEC >= o->duration_ns) {
		stop(t, 0);
		return 0;
	}
	err = session_report(t->s);
	if (err)
		stop(t, err);
	else
		show_progress(t);
	return 0;
}

static int on_deadline(struct bw_handler *h, uint32_t events)
{
	(void)events;
	stop(bw_container_of(h, struct tracer, deadline), 0);
	return 0;
}

static void rewatch_targets(struct tracer *t);

/* What `systemctl status` shows: the options in force. */
static void status_text(const struct session *s, char *buf, size_t len)
{
	char th[16], iv[16];

	bw_fmt_duration(s->o->threshold_ns, th, sizeof(th));
	bw_fmt_duration(s->o->interval_ns, iv, sizeof(iv));
	snprintf(buf, len, "tracing %s; threshold %s, interval %s",
		 s->ntargets ? "its targets" : "all processes", th, iv);
}

static int on_signal(struct bw_handler *h, uint32_t events)
{
	struct tracer *t = bw_container_of(h, struct tracer, signal);

	const struct bw_opts *o;
	char status[128];
	unsigned changed;
	int sig, err;

	(void)events;
	sig = bw_signals_take(h->fd);
	if (sig == SIGHUP && t->s->o->config) {
		changed = session_reload(t->s);
		o = t->s->o;
		status_text(t->s, status, sizeof(status));
		bw_notify_status(status);
		if (changed & BW_RELOAD_TARGETS)
			rewatch_targets(t);
		if (!(changed & BW_RELOAD_INTERVAL))
			return 0;
		err = bw_timer_set(t->tick.fd, o->interval_ns, o->interval_ns);
		if (err)
			bw_err("SIGHUP: cannot set the new interval: %s", strerror(-err));
		return 0;
	}
	if (sig == SIGHUP)
		bw_signals_unblock();
	if (sig == SIGUSR1) {
		/* the whole-run outputs as of the last report; tracing goes on */
		bw_dbg("got SIGUSR1: writing the whole-run outputs");
		bw_sinks__dump(t->s->sinks);
		return 0;
	}
	t->signo = sig;
	if (t->signo)
		stop(t, 0);
	return 0;
}

/* The service manager's watchdog is pinged by the loop itself: a loop
 * stuck in a report is a blockwatch to restart. */
static int on_watchdog(struct bw_handler *h, uint32_t events)
{
	(void)events;
	bw_timer_ack(h->fd);
	bw_notify_watchdog();
	return 0;
}

static void target_gone(struct tracer *t, struct bw_target *tg)
{
	tg->exited = true;
	bw_err("process %d (%s) exited", tg->pid, tg->comm);
	if (--t->alive == 0)
		stop(t, 0);
}

static int on_target_exit(struct bw_handler *h, uint32_t events)
{
	struct watch *w = bw_container_of(h, struct watch, h);

	(void)events;
	bw_loop__del(w->t->s->loop, h);
	target_gone(w->t, w->tg);
	return 0;
}

static int on_poll(struct bw_handler *h, uint32_t events)
{
	struct tracer *t = bw_container_of(h, struct tracer, poll);
	struct session *s = t->s;
	int i;

	(void)events;
	bw_timer_ack(h->fd);
	for (i = 0; i < s->ntargets; i++) {
		struct bw_target *tg = &s->targets[i];

		if (tg->pidfd < 0 && !tg->exited && bw_target_gone(tg))
			target_gone(t, tg);
	}
	return 0;
}

static void print_ready(const struct session *s)
{
	const struct bw_opts *o = s->o;
	char th[16], iv[16], list[256] = "";
	size_t off = 0;
	int i;

	bw_fmt_duration(o->threshold_ns, th, sizeof(th));
	bw_fmt_duration(o->interval_ns, iv, sizeof(iv));
	for (i = 0; i < s->ntargets && off < sizeof(list) - 32; i++)
		off += snprintf(list + off, sizeof(list) - off, "%s%d (%s)", i ? ", " : "",
				s->targets[i].pid, s->targets[i].comm);
	bw_err("tracing %s; threshold %s, interval %s [%s]; Ctrl-C to stop",
	       s->ntargets ? list : "all processes", th, iv, bw_loader__mode(s->loader));
	status_text(s, list, sizeof(list));
	bw_notify_ready(list);
}

static int add(struct tracer *t, struct bw_handler *h, int fd, int (*ready)(struct bw_handler *, uint32_t))
{
	if (fd < 0)
		return fd;
	h->fd = fd;
	h->ready = ready;
	return bw_loop__add(t->s->loop, h);
}

static int watch_targets(struct tracer *t)
{
	struct session *s = t->s;
	int i, err, polled = 0;

	t->watches = calloc(s->ntargets ? s->ntargets : 1, sizeof(*t->watches));
	if (!t->watches)
		return -ENOMEM;
	for (i = 0; i < s->ntargets; i++) {
		struct watch *w = &t->watches[i];

		w->tg = &s->targets[i];
		w->t = t;
		if (w->tg->pidfd < 0) {
			polled++;
			continue;
		}
		err = add(t, &w->h, w->tg->pidfd, on_target_exit);
		if (err)
			return err;
	}
	t->alive = s->ntargets;
	if (!polled || t->poll.fd >= 0)
		return 0;
	return add(t, &t->poll, bw_timer_new(POLL_NS, POLL_NS), on_poll);
}

/* A reload's new -p list: the old targets' pidfds out of the loop and
 * closed, the new ones in. */
static void rewatch_targets(struct tracer *t)
{
	struct session *s = t->s;
	char list[256] = "";
	size_t off = 0;
	int i, err;

	for (i = 0; i < s->old_ntargets; i++) {
		struct watch *w = &t->watches[i];

		if (w->tg->pidfd >= 0 && !w->tg->exited)
			bw_loop__del(s->loop, &w->h);
	}
	free(t->watches);
	t->watches = NULL;
	session_retire_targets(s);
	err = watch_targets(t);
	if (err) {
		/* a target not watched would never say it exited */
		bw_err("SIGHUP: cannot watch the new targets: %s; stopping", strerror(-err));
		stop(t, err);
		return;
	}
	for (i = 0; i < s->ntargets && off < sizeof(list) - 32; i++)
		off += snprintf(list + off, sizeof(list) - off, "%s%d (%s)", i ? ", " : "",
				s->targets[i].pid, s->targets[i].comm);
	bw_err("SIGHUP: now tracing %s", s->ntargets ? list : "all processes");
}

static int setup(struct tracer *t)
{
	const struct bw_opts *o = t->s->o;
	int err;

	uint64_t wd = bw_notify_watchdog_ns();

	t->tick.fd = t->deadline.fd = t->signal.fd = t->poll.fd = t->progress.fd = -1;
	t->watchdog.fd = -1;
	err = add(t, &t->signal, bw_signals_open(), on_signal);
	if (err) {
		bw_err("cannot set up signal handling: %s", strerror(-err));
		return err;
	}
	err = add(t, &t->tick, bw_timer_new(o->interval_ns, o->interval_ns), on_tick);
	if (!err && o->duration_ns)
		err = add(t, &t->deadline, bw_timer_new(o->duration_ns, 0), on_deadline);
	if (!err && wd)
		err = add(t, &t->watchdog, bw_timer_new(wd, wd), on_watchdog);
	if (!err)
		err = watch_targets(t);
	/* only where someone watches: never in a file, a pipe or the journal */
	if (!err && bw_status_start(!o->no_progress && !o->top_view))
		err = add(t, &t->progress, bw_timer_new(PROGRESS_NS, PROGRESS_NS), on_progress);
	if (err) {
		bw_err("cannot set up the event loop: %s", strerror(-err));
		return err;
	}
	/* after the signals are blocked: its thread inherits the mask */
	return serve_start(t->s->serve);
}

static void teardown(struct tracer *t)
{
	if (t->tick.fd >= 0)
		close(t->tick.fd);
	if (t->deadline.fd >= 0)
		close(t->deadline.fd);
	if (t->poll.fd >= 0)
		close(t->poll.fd);
	if (t->watchdog.fd >= 0)
		close(t->watchdog.fd);
	if (t->progress.fd >= 0)
		close(t->progress.fd);
	if (bw_signals_close(t->signal.fd) && !t->signo)
		bw_dbg("a signal came during the final report: taken, not delivered");
	free(t->watches);
}

int session_trace(struct session *s)
{
	struct tracer t = { .s = s };
	int err, ret = BW_EXIT_FAIL;

	err = setup(&t);
	if (err)
		goto out;
	s->start = bw_mono_ns();
	s->in->interval_start = s->start;
	print_ready(s);
	show_progress(&t);
	err = bw_loop__run(s->loop);
	if (err) {
		bw_err("epoll_wait failed: %s", strerror(-err));
		goto out;
	}
	if (t.stop_err)
		goto out;
	/* the final report and what follows it: no status line any more */
	bw_status_stop();
	if (session_report(s))
		goto out;
	if (t.signo)
		bw_dbg("got %s, detaching", strsignal(t.signo));
	ret = BW_EXIT_OK;
out:
	bw_notify_stopping();
	bw_status_stop();
	teardown(&t);
	return ret;
}
