// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The event loop: one epoll set with the ring buffer, the interval and
 * duration timers, an eventfd the signal handler pokes, and a pidfd per
 * target. Records are unwound as they arrive, while their process is
 * most likely alive; counters are monotonic in BPF and reported as
 * deltas per interval, so no read races with the BPF side.
 */
#include <bpf/libbpf.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include "model/agg.h"
#include "base/bpf_abi.h"
#include "cli/cli.h"
#include "trace/loader.h"
#include "base/log.h"
#include "model/reason.h"
#include "report/report.h"
#include "session/session.h"
#include "model/split.h"
#include "model/detail.h"
#include "proc/fdinfo.h"
#include "stacks/syms.h"
#include "proc/targets.h"

enum { EV_RINGBUF, EV_TICK, EV_DEADLINE, EV_SIGNAL, EV_POLL, EV_TARGET0 };

struct session {
	const struct bw_opts *o;
	struct bw_loader *l;
	struct syms *syms;
	struct agg *agg;
	struct split *split;
	FILE *out;
	uint64_t interval_start;
	uint64_t stats[BW_STAT_MAX];
	uint64_t user_drops;
	uint64_t missed; /* recursion misses of our programs so far */
	uint64_t scan_at; /* CLOCK_MONOTONIC of the report being made */
	int budget;	  /* records left before the loop gets control back */
	uint64_t start;	  /* when tracing began */
	struct bw_pc pcs[BW_MAX_FRAMES + BW_KSTACK_DEPTH];
};

static volatile sig_atomic_t stop_signal;
static int signal_efd = -1;

static void on_signal(int sig)
{
	uint64_t one = 1;
	ssize_t r;

	stop_signal = sig;
	r = write(signal_efd, &one, sizeof(one));
	(void)r;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static uint64_t real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int resolve_cb(void *ctx, pid_t pid, const struct bw_pc *pc, struct bw_frame *out, int max)
{
	return syms__resolve(ctx, pid, pc, out, max);
}

/* Unwind, name and aggregate one record: a finished block from the
 * ring buffer, or a still-blocked thread from the task iterator. */
static int ingest(struct session *s, void *data, size_t size)
{
	const struct bw_event *e = data;
	const struct bw_stack *stack;
	struct bw_snapshot snap;
	struct bw_detail detail;
	struct bw_sample smp;
	struct bw_wait wait;
	bool truncated = true, ongoing;
	uint64_t blocked, at, age = 0;
	int n = 0, err;

	if (size < BW_EVENT_HDR_SIZE || size < BW_EVENT_HDR_SIZE + e->stack_len) {
		s->user_drops++;
		return 0;
	}
	if (e->flags & (BW_EV_EXEC | BW_EV_GONE)) {
		/* New mappings (exec) or none (exit): what is cached goes;
		 * every record before this one was already symbolized. */
		syms__forget(s->syms, e->pid);
		return 0;
	}
	ongoing = e->flags & BW_EV_ONGOING;
	/* Still-blocked threads are all counted up to the report's own
	 * time: the iterator reaches the last of them well after it, and
	 * the part past it belongs to the next report. */
	if (ongoing) {
		at = s->scan_at > e->first_start_ns ? s->scan_at : e->last_end_ns;
		age = at - e->first_start_ns;
		/* Past the threshold by the time the iterator got to it, but
		 * not yet at the report's time: the next report's. */
		if (age < s->o->threshold_ns)
			return 0;
		blocked = split__ongoing(s->split, e->tid, e->first_start_ns, at,
					 s->interval_start);
	} else
		blocked = split__completed(s->split, e->tid, e->first_start_ns, e->last_end_ns,
					   e->total_ns);
	if (!(e->flags & BW_EV_NO_REGS)) {
		snap = (struct bw_snapshot){
			.pid = e->pid,
			.tid = e->tid,
			.regs = (const uint64_t *)e->regs,
			.stack_base = e->stack_base,
			.stack = e->stack,
			.stack_len = e->stack_len,
		};
		n = syms__unwind(s->syms, &snap, s->pcs, BW_MAX_FRAMES, &truncated);
		if (e->flags & BW_EV_NO_STACK)
			truncated = true;
	}
	if (e->kstack_len && e->kstack_len <= sizeof(e->kstack)) {
		uint32_t k = 0, nk = e->kstack_len / 8;

		/* A stack taken at switch-out starts in blockwatch's own
		 * program and the tracepoint glue: not the thread's. */
		while (k < nk && syms__is_bpf_frame(s->syms, e->kstack[k]))
			k++;
		/* The kernel stack goes below the user stack: the same list,
		 * kernel frames marked. */
		for (; k < nk && n < BW_MAX_FRAMES + BW_KSTACK_DEPTH; k++)
			s->pcs[n++] = (struct bw_pc){ .pc = e->kstack[k], .kernel = true };
	}
	stack = agg__stack(s->agg, e->pid, s->pcs, n, truncated);
	if (!stack) {
		s->user_drops += e->count;
		return 0;
	}
	wait = (struct bw_wait){
		.pid = e->pid,
		.tid = e->tid,
		.syscall_nr = e->syscall_nr,
		.args = { e->args[0], e->args[1], e->args[2], e->args[3] },
		.state = e->state,
		.owner = e->owner,
	};
	bw_detail_build(&wait, stack, &detail);
	smp = (struct bw_sample){
		.pid = e->pid,
		.tid = e->tid,
		.comm = e->comm,
		.pcomm = e->pcomm,
		.reason = detail.reason,
		.blocked_ns = blocked,
		.max_ns = e->max_ns,
		.age_ns = age,
		.count = e->count,
		.ongoing = ongoing,
		.stack = stack,
		.detail = &detail,
	};
	err = agg__add(s->agg, &smp);
	bw_detail_clear(&detail);
	if (err)
		s->user_drops += e->count;
	return 0;
}

/* ring_buffer__consume loops until the buffer is empty: while records
 * come faster than they are unwound it would never return, and reports
 * and Ctrl-C would wait. Give the loop back every RB_BUDGET records. */
#define RB_BUDGET 64

static int on_event(void *ctx, void *data, size_t size)
{
	struct session *s = ctx;

	ingest(s, data, size);
	if (s->budget > 0 && --s->budget == 0)
		return -EAGAIN; /* this record is consumed; stop here */
	return 0;
}

static void consume(struct session *s, struct ring_buffer *rb)
{
	s->budget = RB_BUDGET;
	ring_buffer__consume(rb);
}

static int report(struct session *s, struct ring_buffer *rb)
{
	struct bw_report r = { 0 };
	uint64_t st[BW_STAT_MAX], now, missed;
	int err, i;

	/* Finished blocks first, so that a block that ended just now is
	 * not also taken for a still-blocked one. */
	/* Everything that arrived before the report is in it. */
	if (rb) {
		s->budget = -1;
		ring_buffer__consume(rb);
	}
	now = mono_ns();
	r.time_ns = real_ns();
	s->scan_at = now;
	s->budget = -1; /* the scan must read everything */
	err = bw_loader__scan_blocked(s->l, on_event, s);
	s->scan_at = 0;
	if (err) {
		bw_err("cannot scan blocked threads: %s", strerror(-err));
		/* a snapshot with threads missing is no snapshot */
		if (s->o->now)
			return err;
	}
	err = bw_loader__stats(s->l, st);
	if (err) {
		bw_err("cannot read counters: %s", strerror(-err));
		return err;
	}
	/* --now: a snapshot, not an interval */
	r.interval_ns = s->o->now ? 0 : now - s->interval_start;
	r.threshold_ns = s->o->threshold_ns;
	r.dropped[BW_DROP_RINGBUF] = st[BW_STAT_RINGBUF_FULL] - s->stats[BW_STAT_RINGBUF_FULL];
	r.dropped[BW_DROP_STORAGE] = st[BW_STAT_STORAGE_FAIL] - s->stats[BW_STAT_STORAGE_FAIL];
	r.dropped[BW_DROP_STACK] = st[BW_STAT_NO_STACK] + st[BW_STAT_STACK_FAULT] -
				   s->stats[BW_STAT_NO_STACK] - s->stats[BW_STAT_STACK_FAULT];
	r.dropped[BW_DROP_USER] = s->user_drops;
	/* A skipped rseq_update leaves a block pending (it goes out, with a
	 * later stack, at the thread's next return to user space); a
	 * skipped sched_switch loses one. Counted either way. */
	missed = bw_loader__missed(s->l);
	r.dropped[BW_DROP_MISSED] = missed - s->missed;
	s->missed = missed;
	r.short_count = st[BW_STAT_SHORT_COUNT] - s->stats[BW_STAT_SHORT_COUNT];
	r.slow_count = st[BW_STAT_SLOW_COUNT] - s->stats[BW_STAT_SLOW_COUNT];
	r.short_ns = st[BW_STAT_SHORT_NS] - s->stats[BW_STAT_SHORT_NS];
	err = agg__report(s->agg, &r, s->o->top);
	if (err) {
		bw_err("cannot build report: %s", strerror(-err));
		return err;
	}
	if (s->o->format == BW_FMT_JSON)
		err = report_json(s->out, &r);
	else
		err = report_text(s->out, &r, s->o->frames);
	if (err) {
		bw_err("cannot write report: %s", strerror(errno));
		return -EIO;
	}
	for (i = 0; i < BW_STAT_MAX; i++)
		s->stats[i] = st[i];
	s->user_drops = 0;
	agg__reset(s->agg);
	/* A block not seen still blocked by the scan before this one has
	 * ended: its record came, or was counted as dropped. */
	split__expire(s->split, s->interval_start);
	s->interval_start = now;
	syms__prune(s->syms);
	fdinfo_forget();
	return 0;
}

static int arm_timer(int fd, uint64_t first_ns, uint64_t period_ns)
{
	struct itimerspec its = {
		.it_value = { first_ns / 1000000000ULL, first_ns % 1000000000ULL },
		.it_interval = { period_ns / 1000000000ULL, period_ns % 1000000000ULL },
	};

	return timerfd_settime(fd, 0, &its, NULL);
}

static int epoll_add(int epfd, int fd, uint64_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = tag };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

static void print_ready(const struct bw_opts *o, struct bw_target *t, int n, const char *mode)
{
	char th[16], iv[16], list[256] = "";
	size_t off = 0;
	int i;

	bw_fmt_duration(o->threshold_ns, th, sizeof(th));
	bw_fmt_duration(o->interval_ns, iv, sizeof(iv));
	for (i = 0; i < n && off < sizeof(list) - 32; i++)
		off += snprintf(list + off, sizeof(list) - off, "%s%d (%s)", i ? ", " : "",
				t[i].pid, t[i].comm);
	if (n)
		bw_err("tracing %s; threshold %s, interval %s [%s]; Ctrl-C to stop", list, th, iv,
		       mode);
	else
		bw_err("tracing all processes; threshold %s, interval %s [%s]; Ctrl-C to stop", th,
		       iv, mode);
}

static int setup_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal, .sa_flags = SA_RESETHAND };

	signal_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (signal_efd < 0)
		return -errno;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGINT, &sa, NULL) || sigaction(SIGTERM, &sa, NULL))
		return -errno;
	/* A closed stdout pipe is a write error, not a silent death. */
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

int bw_session_run(const struct bw_opts *o, struct bw_loader *l, struct bw_target *t,
		   int ntargets, FILE *out)
{
	struct session *s;
	struct ring_buffer *rb = NULL;
	int epfd = -1, tick = -1, deadline = -1, poll_tick = -1, polled = 0;
	int alive = ntargets, ret = BW_EXIT_FAIL;
	int err, i;
	bool stop = false;

	s = calloc(1, sizeof(*s));
	if (!s) {
		bw_err("out of memory");
		return BW_EXIT_FAIL;
	}
	s->o = o;
	s->l = l;
	s->out = out;
	s->syms = syms__new();
	s->agg = s->syms ? agg__new(resolve_cb, s->syms) : NULL;
	s->split = split__new();
	if (!s->agg || !s->split) {
		bw_err("out of memory");
		goto out;
	}
	if (bw_loader__stats(l, s->stats)) {
		bw_err("cannot read counters");
		goto out;
	}
	for (i = 0; i < ntargets; i++)
		syms__prepare(s->syms, t[i].pid);
	if (o->now) {
		/* interval_start 0: an ongoing block counts whole */
		ret = report(s, NULL) ? BW_EXIT_FAIL : BW_EXIT_OK;
		goto out;
	}

	err = setup_signals();
	if (err) {
		bw_err("cannot set up signal handling: %s", strerror(-err));
		goto out;
	}
	rb = ring_buffer__new(bw_loader__ringbuf_fd(l), on_event, s, NULL);
	if (!rb) {
		bw_err("cannot open ring buffer: %s", strerror(errno));
		goto out;
	}
	epfd = epoll_create1(EPOLL_CLOEXEC);
	tick = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (o->duration_ns)
		deadline = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (epfd < 0 || tick < 0 || (o->duration_ns && deadline < 0) ||
	    arm_timer(tick, o->interval_ns, o->interval_ns) ||
	    (deadline >= 0 && arm_timer(deadline, o->duration_ns, 0)) ||
	    epoll_add(epfd, ring_buffer__epoll_fd(rb), EV_RINGBUF) ||
	    epoll_add(epfd, tick, EV_TICK) || epoll_add(epfd, signal_efd, EV_SIGNAL) ||
	    (deadline >= 0 && epoll_add(epfd, deadline, EV_DEADLINE))) {
		bw_err("cannot set up the event loop: %s", strerror(errno));
		goto out;
	}
	for (i = 0; i < ntargets; i++) {
		if (t[i].pidfd < 0) {
			polled++;
			continue;
		}
		if (epoll_add(epfd, t[i].pidfd, EV_TARGET0 + i)) {
			bw_err("cannot watch process %d: %s", t[i].pid, strerror(errno));
			goto out;
		}
	}
	/* No pidfds (old kernel): look at the targets 5 times a second. */
	if (polled) {
		poll_tick = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
		if (poll_tick < 0 || arm_timer(poll_tick, 200000000ULL, 200000000ULL) ||
		    epoll_add(epfd, poll_tick, EV_POLL)) {
			bw_err("cannot set up the event loop: %s", strerror(errno));
			goto out;
		}
	}
	s->interval_start = s->start = mono_ns();
	print_ready(o, t, ntargets, bw_loader__mode(l));

	while (!stop) {
		struct epoll_event evs[8];
		int n = epoll_wait(epfd, evs, 8, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			bw_err("epoll_wait failed: %s", strerror(errno));
			goto out;
		}
		for (i = 0; i < n; i++) {
			uint64_t tag = evs[i].data.u64, junk;
			ssize_t r;

			switch (tag) {
			case EV_RINGBUF:
				consume(s, rb);
				break;
			case EV_TICK:
				r = read(tick, &junk, sizeof(junk));
				(void)r;
				/* The last tick of -d is the final report's. */
				if (o->duration_ns &&
				    mono_ns() - s->start + 1000000 >= o->duration_ns) {
					stop = true;
					break;
				}
				if (report(s, rb))
					goto out;
				break;
			case EV_DEADLINE:
			case EV_SIGNAL:
				stop = true;
				break;
			case EV_POLL: {
				int k;

				r = read(poll_tick, &junk, sizeof(junk));
				(void)r;
				for (k = 0; k < ntargets; k++) {
					if (t[k].pidfd >= 0 || t[k].exited || !bw_target_gone(&t[k]))
						continue;
					t[k].exited = true;
					bw_err("process %d (%s) exited", t[k].pid, t[k].comm);
					if (--alive == 0)
						stop = true;
				}
				break;
			}
			default: {
				struct bw_target *tg = &t[tag - EV_TARGET0];

				epoll_ctl(epfd, EPOLL_CTL_DEL, tg->pidfd, NULL);
				tg->exited = true;
				bw_err("process %d (%s) exited", tg->pid, tg->comm);
				if (--alive == 0)
					stop = true;
				break;
			}
			}
		}
	}
	if (report(s, rb))
		goto out;
	if (stop_signal)
		bw_dbg("got %s, detaching", strsignal(stop_signal));
	ret = BW_EXIT_OK;
out:
	ring_buffer__free(rb);
	if (epfd >= 0)
		close(epfd);
	if (tick >= 0)
		close(tick);
	if (deadline >= 0)
		close(deadline);
	if (poll_tick >= 0)
		close(poll_tick);
	agg__free(s->agg);
	split__free(s->split);
	fdinfo_forget();
	syms__free(s->syms);
	free(s);
	return ret;
}
