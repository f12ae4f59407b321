// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <bpf/libbpf.h>
#include <dirent.h>
#include <unistd.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include "base/clock.h"
#include "base/log.h"
#include "base/util.h"
#include "cli/cli.h"
#include "golang/gproc.h"
#include "model/agg.h"
#include "model/ingest.h"
#include "proc/procfs.h"
#include "stacks/stacktab.h"
#include "stacks/syms.h"
#include "session/collect.h"
#include "trace/loader.h"
#include "trace/ringbuf.h"

uint64_t bw_collect_now(struct bw_collect *x)
{
	if (!x->now) {
		x->now = bw_mono_ns();
		x->report->time_ns = bw_real_ns();
	}
	return x->now;
}

/* --- the ring buffer ----------------------------------------------- */

/* Consuming loops until the buffer is empty: while records come faster
 * than they are unwound it would never return, and reports and Ctrl-C
 * would wait. The loop gets control back every RB_BUDGET records. */
#define RB_BUDGET 64

struct rb_collector {
	struct bw_collector c;
	struct bw_handler h;
	/* Fires wake_ns after a read that found records: those of processes
	 * whose mappings are held wake us at most that often (see emit_flags
	 * in the BPF side), so the ones after the wake-up are read here. */
	struct bw_handler late;
	struct bw_loop *loop;
	uint64_t wake_ns;
	struct bw_loader *l;
	struct bw_ringbuf *rb;
	struct ingest *in;
	int budget; /* records left before the loop's turn; -1: no limit */
};

static int on_record(void *ctx, void *data, size_t size)
{
	struct rb_collector *rc = ctx;

	ingest__record(rc->in, data, size);
	if (rc->budget > 0 && --rc->budget == 0)
		return -EAGAIN; /* this record is consumed; stop here */
	return 0;
}

/* Read what is there; look again wake_ns later when something was (or
 * is left: a record still being written is submitted without waking us). */
static int rb_read(struct rb_collector *rc)
{
	int n;

	rc->budget = RB_BUDGET;
	n = bw_ringbuf__consume(rc->rb);
	if (n == -EPROTO)
		return n;
	if (rc->late.fd >= 0 && (n || bw_ringbuf__pending(rc->rb)))
		bw_timer_set(rc->late.fd, rc->wake_ns, 0);
	return 0;
}

static int rb_ready(struct bw_handler *h, uint32_t events)
{
	(void)events;
	return rb_read(bw_container_of(h, struct rb_collector, h));
}

static int rb_late(struct bw_handler *h, uint32_t events)
{
	struct rb_collector *rc = bw_container_of(h, struct rb_collector, late);

	(void)events;
	bw_timer_ack(h->fd);
	return rb_read(rc);
}

/* The epoch ends, its last emits are waited out, and every record of it
 * is taken in: the report counts exactly its records' blocks. Records
 * of the next epoch read meanwhile wait in ingest for the next report. */
#define EPOCH_WAIT_NS (50 * BW_NSEC_PER_MSEC)

static int rb_collect(struct bw_collector *c, struct bw_collect *x)
{
	struct rb_collector *rc = bw_container_of(c, struct rb_collector, c);
	int n;

	x->epoch = bw_loader__end_epoch(rc->l, EPOCH_WAIT_NS);
	x->has_epoch = true;
	rc->budget = -1;
	n = bw_ringbuf__consume(rc->rb);
	return n < 0 ? n : 0;
}

static void rb_free(struct bw_collector *c)
{
	struct rb_collector *rc = bw_container_of(c, struct rb_collector, c);

	/* drained by the final report; whatever came after is not ours */
	bw_ringbuf__free(rc->rb);
	if (rc->late.fd >= 0) {
		bw_loop__del(rc->loop, &rc->late);
		close(rc->late.fd);
	}
	free(rc);
}

struct bw_collector *bw_ringbuf_collector(struct bw_loader *l, struct ingest *in,
					  struct bw_loop *loop)
{
	struct rb_collector *rc = calloc(1, sizeof(*rc));
	int err;

	if (!rc)
		return NULL;
	rc->c = (struct bw_collector){
		.what = "read the ring buffer", .collect = rb_collect, .free = rb_free, .required = true,
	};
	rc->in = in;
	rc->l = l;
	rc->loop = loop;
	rc->late.fd = -1;
	in->epoch = bw_loader__epoch(l);
	rc->rb = bw_ringbuf__new(bw_loader__ringbuf_fd(l), sizeof(struct bw_event), on_record, rc);
	if (!rc->rb) {
		err = errno;
		free(rc);
		errno = err;
		return NULL;
	}
	rc->wake_ns = bw_loader__wake_ns(l);
	if (rc->wake_ns) {
		err = bw_timer_new(0, 0);
		if (err < 0) {
			rb_free(&rc->c);
			errno = -err;
			return NULL;
		}
		rc->late = (struct bw_handler){ .fd = err, .ready = rb_late };
		err = bw_loop__add(loop, &rc->late);
		if (err) {
			rb_free(&rc->c);
			errno = -err;
			return NULL;
		}
	}
	rc->h = (struct bw_handler){ .fd = bw_loader__ringbuf_fd(l), .ready = rb_ready };
	err = bw_loop__add(loop, &rc->h);
	if (err) {
		rb_free(&rc->c);
		errno = -err;
		return NULL;
	}
	return &rc->c;
}

/* --- still-blocked threads ----------------------------------------- */

struct scan_collector {
	struct bw_collector c;
	struct bw_loader *l;
};

static void on_blocked(void *ctx, const void *rec, size_t size)
{
	ingest__record(ctx, rec, size);
}

static int scan_collect(struct bw_collector *c, struct bw_collect *x)
{
	struct scan_collector *sc = bw_container_of(c, struct scan_collector, c);
	int err;

	/* Finished blocks are in first, so that a block that ended just now
	 * is not also taken for a still-blocked one. */
	x->in->scan_at = bw_collect_now(x);
	err = bw_loader__scan_blocked(sc->l, on_blocked, x->in);
	x->in->scan_at = 0;
	return err;
}

static void free_plain(struct bw_collector *c)
{
	free(c);
}

struct bw_collector *bw_scan_collector(struct bw_loader *l)
{
	struct scan_collector *sc = calloc(1, sizeof(*sc));

	if (!sc)
		return NULL;
	sc->c = (struct bw_collector){
		.what = "scan blocked threads", .collect = scan_collect, .free = free_plain,
	};
	sc->l = l;
	return &sc->c;
}

/* --- counters ------------------------------------------------------- */

/*
 * The BPF counters are monotonic and read as deltas from the previous
 * report: nothing is ever reset under the BPF side's feet. Which
 * counter is which drop, once:
 */
static const struct {
	enum bw_stat stat;
	enum bw_drop drop;
} stat_drops[] = {
	/* BW_STAT_RINGBUF_FULL: by epoch, below */
	{ BW_STAT_STORAGE_FAIL, BW_DROP_STORAGE },
	{ BW_STAT_NO_STACK, BW_DROP_STACK },
	{ BW_STAT_STACK_FAULT, BW_DROP_STACK },
};

struct counter_collector {
	struct bw_collector c;
	struct bw_loader *l;
	uint64_t first[BW_STAT_MAX]; /* when tracing began */
	uint64_t last[BW_STAT_MAX];
	uint64_t missed; /* recursion misses of our programs so far */
	uint64_t user_drops; /* in the reports so far */
	struct bw_epoch_counts last_epoch[2]; /* by parity */
};

/* Blocks past the threshold, and those the ring buffer lost, of the
 * epoch that ended: the same blocks as the records taken in. */
static void epoch_counts(struct counter_collector *cc, struct bw_collect *x)
{
	struct bw_epoch_counts now, *last;

	if (!x->has_epoch)
		return;
	last = &cc->last_epoch[x->epoch & 1];
	bw_loader__epoch_counts(cc->l, x->epoch, &now);
	/* every block past the threshold: in a record, or lost */
	x->report->slow_count = now.emitted - last->emitted + now.lost - last->lost;
	x->report->dropped[BW_DROP_RINGBUF] += now.lost - last->lost;
	*last = now;
}

static int counter_collect(struct bw_collector *c, struct bw_collect *x)
{
	struct counter_collector *cc = bw_container_of(c, struct counter_collector, c);
	struct bw_report *r = x->report;
	uint64_t st[BW_STAT_MAX], d[BW_STAT_MAX], missed;
	size_t i;
	int err;

	bw_collect_now(x);
	err = bw_loader__stats(cc->l, st);
	if (err)
		return err;
	for (i = 0; i < BW_STAT_MAX; i++) {
		d[i] = st[i] - cc->last[i];
		cc->last[i] = st[i];
	}
	for (i = 0; i < BW_ARRAY_SIZE(stat_drops); i++)
		r->dropped[stat_drops[i].drop] += d[stat_drops[i].stat];
	r->dropped[BW_DROP_USER] += x->in->user_drops;
	cc->user_drops += x->in->user_drops;
	/* A skipped rseq_update leaves a block pending (it goes out, with a
	 * later stack, at the thread's next return to user space); a
	 * skipped sched_switch loses one. Counted either way. */
	missed = bw_loader__missed(cc->l);
	r->dropped[BW_DROP_MISSED] += missed - cc->missed;
	cc->missed = missed;
	r->short_count = d[BW_STAT_SHORT_COUNT];
	r->short_ns = d[BW_STAT_SHORT_NS];
	r->late_count = d[BW_STAT_LATE];
	epoch_counts(cc, x);
	return 0;
}

struct bw_collector *bw_counter_collector(struct bw_loader *l)
{
	struct counter_collector *cc = calloc(1, sizeof(*cc));
	int err;

	if (!cc)
		return NULL;
	cc->c = (struct bw_collector){
		.what = "read counters", .collect = counter_collect, .free = free_plain, .required = true,
	};
	cc->l = l;
	/* from now on */
	err = bw_loader__stats(l, cc->last);
	if (err) {
		free(cc);
		errno = -err;
		return NULL;
	}
	cc->missed = 0;
	memcpy(cc->first, cc->last, sizeof(cc->first));
	return &cc->c;
}

/* The same counters as the reports', summed since tracing began and
 * read as they are now, between reports: an estimate of what the next
 * reports will add up to (a block of the current interval may still be
 * in flight), for people to watch, never reported as data. */
int bw_counter_totals(struct bw_collector *c, const struct ingest *in, struct bw_run_totals *t)
{
	struct counter_collector *cc = bw_container_of(c, struct counter_collector, c);
	struct bw_epoch_counts ep;
	uint64_t st[BW_STAT_MAX];
	size_t i;
	int err;

	err = bw_loader__stats(cc->l, st);
	if (err)
		return err;
	memset(t, 0, sizeof(*t));
	for (i = 0; i < 2; i++) {
		bw_loader__epoch_counts(cc->l, (uint32_t)i, &ep);
		t->slow += ep.emitted + ep.lost;
		t->dropped += ep.lost;
	}
	for (i = 0; i < BW_ARRAY_SIZE(stat_drops); i++)
		t->dropped += st[stat_drops[i].stat] - cc->first[stat_drops[i].stat];
	t->dropped += cc->user_drops + in->user_drops + bw_loader__missed(cc->l);
	t->shorter = st[BW_STAT_SHORT_COUNT] - cc->first[BW_STAT_SHORT_COUNT];
	return 0;
}


/* --- blockwatch itself ---------------------------------------------- */

static uint64_t self_rss(void)
{
	unsigned long long size, resident = 0;
	FILE *f = fopen("/proc/self/statm", "re");

	if (!f)
		return 0;
	if (fscanf(f, "%llu %llu", &size, &resident) != 2)
		resident = 0;
	fclose(f);
	return resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

static int self_collect(struct bw_collector *c, struct bw_collect *x)
{
	struct bw_self *me = &x->report->self;
	struct bw_syms_stats st;
	struct rusage ru;

	(void)c;
	syms__stats(x->in->syms, &st);
	me->procs = st.procs;
	me->mapped = st.mapped;
	me->files = st.files;
	me->stacks = stacktab__count(x->in->stacks);
	me->rss_bytes = self_rss();
	if (!getrusage(RUSAGE_SELF, &ru))
		me->cpu_ns = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * BW_NSEC_PER_SEC +
			     (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000ULL;
	return 0;
}

struct bw_collector *bw_self_collector(void)
{
	struct bw_collector *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	*c = (struct bw_collector){
		.what = "read blockwatch's own usage", .collect = self_collect, .free = free_plain,
	};
	return c;
}

/* --- goroutines ------------------------------------------------------- */

struct go_collector {
	struct bw_collector c;
	struct goprocs *procs; /* the pipeline's */
	const struct bw_opts *o; /* -p: the session's, a reload may change it */
	bool trend;
};

static void go_one(struct go_collector *gc, struct bw_collect *x, pid_t pid, bool target)
{
	const struct bw_go_view *v;
	struct bw_status st;
	int err;

	v = goprocs__snapshot(gc->procs, pid, bw_collect_now(x), gc->trend, &err);
	if (err == -EPERM && target)
		gc->c.exit_code = BW_EXIT_NOREAD;
	if (!v || procfs_status(pid, 0, &st))
		return;
	if (agg__go(x->in->agg, pid, st.name, v))
		x->in->user_drops++;
}

/* Every process but ours: which run Go is told once per process. */
static void go_all(struct go_collector *gc, struct bw_collect *x)
{
	DIR *d = procfs_opendir("%s", "");
	struct dirent *de;
	pid_t self = getpid();

	if (!d)
		return;
	while ((de = readdir(d))) {
		pid_t pid = (pid_t)strtol(de->d_name, NULL, 10);

		if (pid > 0 && pid != self)
			go_one(gc, x, pid, false);
	}
	closedir(d);
}

static int go_collect(struct bw_collector *c, struct bw_collect *x)
{
	struct go_collector *gc = bw_container_of(c, struct go_collector, c);
	int i;

	/* the views of the last report are out: forget who is gone */
	goprocs__sweep(gc->procs);
	if (!gc->o->npids) {
		go_all(gc, x);
		return 0;
	}
	for (i = 0; i < gc->o->npids; i++)
		go_one(gc, x, gc->o->pids[i], true);
	return 0;
}

static void go_free(struct bw_collector *c)
{
	struct go_collector *gc = bw_container_of(c, struct go_collector, c);

	free(gc);
}

struct bw_collector *bw_go_collector(struct ingest *in, const struct bw_opts *o, bool trend)
{
	struct go_collector *gc = calloc(1, sizeof(*gc));

	if (!gc)
		return NULL;
	gc->c = (struct bw_collector){
		.what = "read goroutines", .collect = go_collect, .free = go_free,
	};
	gc->procs = in->go;
	goprocs__set_loud(gc->procs, o->npids > 0);
	gc->o = o;
	gc->trend = trend;
	return &gc->c;
}
