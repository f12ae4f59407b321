// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * A run: set up (targets, BPF, pipeline, the mode's collectors, sinks),
 * report, tear down. The modes differ only in what is attached, which
 * collectors run and whether an event loop does.
 */
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "base/caps.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/signals.h"
#include "cli/cli.h"
#include "model/agg.h"
#include "model/ingest.h"
#include "proc/targets.h"
#include "report/sink.h"
#include "session/collect.h"
#include "session/serve.h"
#include "session/session.h"
#include "stacks/debugcache.h"
#include "stacks/syms.h"
#include "top/term.h"
#include "trace/loader.h"

/* @c: a collector's constructor's result (NULL with errno set). */
static int add_collector(struct session *s, struct bw_collector *c, bool required)
{
	if (!c)
		return errno ? -errno : -ENOMEM;
	c->required = c->required || required;
	s->collectors[s->ncollectors++] = c;
	return 0;
}

/* Tracing: finished blocks, still-blocked threads (a failed scan leaves
 * them out of one report), counters. --now: the scan, which must work
 * (a snapshot with threads missing is no snapshot), and counters.
 * Logs what failed. */
static int add_collectors(struct session *s)
{
	int err;

	errno = 0;
	if (!s->o->now) {
		err = add_collector(s, bw_ringbuf_collector(s->loader, s->in, s->loop), true);
		if (err) {
			bw_err("cannot open ring buffer: %s", strerror(-err));
			return err;
		}
	}
	err = add_collector(s, bw_scan_collector(s->loader), s->o->now);
	if (!err)
		err = add_collector(s, bw_go_collector(s->in, s->o, !s->o->now), false);
	if (!err)
		err = add_collector(s, bw_counter_collector(s->loader), true);
	if (!err)
		s->counters = s->collectors[s->ncollectors - 1];
	if (err) {
		bw_err("cannot read counters: %s", strerror(-err));
		return err;
	}
	/* last: what the report's records made it keep */
	err = add_collector(s, bw_self_collector(), false);
	if (err)
		bw_err("out of memory");
	return err;
}

/* Every collector in turn; *now is the report's time. */
static int collect(struct session *s, struct bw_report *r, uint64_t *now)
{
	struct bw_collect x = { .in = s->in, .report = r };
	int i, err;

	for (i = 0; i < s->ncollectors; i++) {
		struct bw_collector *c = s->collectors[i];

		err = c->collect(c, &x);
		if (!err)
			continue;
		bw_err("cannot %s: %s", c->what, strerror(-err));
		if (c->required)
			return err;
	}
	*now = bw_collect_now(&x);
	if (s->kind == BW_REPORT_INTERVAL)
		r->interval_ns = *now - s->in->interval_start;
	return 0;
}

int session_report(struct session *s)
{
	struct bw_report r = {
		.kind = s->kind,
		.threshold_ns = s->o->threshold_ns,
		.nwarnings = s->nwarnings,
		.warnings = s->warnings,
	};
	uint64_t now;
	int err;

	err = collect(s, &r, &now);
	if (err)
		return err;
	err = agg__build(s->in->agg, &r, s->o->top);
	if (err) {
		bw_err("cannot build report: %s", strerror(-err));
		return err;
	}
	/* the text report may go to the terminal the status line is on */
	bw_status_clear();
	if (s->top)
		session_top_emit(s, &r);
	else
		err = bw_sinks__emit(s->sinks, &r);
	if (err && !s->serve) {
		bw_err("no output left to write reports to");
		return err;
	}
	serve_report(s->serve, &r);
	ingest__next_interval(s->in, now);
	/* What the report and the sweeps freed goes back to the system:
	 * glibc keeps a freed heap (a 10,000-thread report's) otherwise. */
	malloc_trim(0);
	return 0;
}

/* One snapshot (interval_start 0: an ongoing block counts whole); a
 * collector may have more to say with the exit code. */
static int session_now(struct session *s)
{
	int i;

	if (session_report(s))
		return BW_EXIT_FAIL;
	for (i = 0; i < s->ncollectors; i++)
		if (s->collectors[i]->exit_code)
			return s->collectors[i]->exit_code;
	return BW_EXIT_OK;
}

static struct bw_loader_cfg loader_cfg(const struct bw_opts *o)
{
	return (struct bw_loader_cfg){
		.threshold_ns = o->threshold_ns,
		.pids = o->pids,
		.npids = o->npids,
		.btf_path = o->btf_path,
		.ringbuf_size = o->ringbuf_size,
		.stack_size = o->stack_size,
		.force_raw_tp = o->force_raw_tp,
		.syscall_exit = o->syscall_exit,
		.kernel_stacks = o->kernel_stacks,
		.tracing = !o->now,
		.wake_ns = BW_WAKE_NS,
		.retargetable = o->config != NULL,
	};
}

/* An output that is the --btf file (by any name) would be truncated
 * before libbpf reads it. A -p target's binary needs no check: the
 * kernel refuses to open a running executable for writing (ETXTBSY). */
static int probe_dl(void *ctx, int fd)
{
	return bw_loader__probe_dl(ctx, fd);
}

static int watch_dl(void *ctx, pid_t pid, bool on)
{
	return bw_loader__watch_dl(ctx, pid, on);
}

static int outputs_clash(const struct bw_opts *o)
{
	struct stat btf, out;
	int i;

	if (!o->btf_path || stat(o->btf_path, &btf))
		return 0;
	for (i = 0; i < o->nsinks; i++) {
		const char *path = o->sinks[i].path;

		if (path && !stat(path, &out) && out.st_dev == btf.st_dev &&
		    out.st_ino == btf.st_ino) {
			bw_err("output '%s' is the --btf file '%s' (see --help)", path,
			       o->btf_path);
			return BW_EXIT_USAGE;
		}
	}
	return 0;
}

/*
 * In the order the exit codes rank: usage, permission, targets, BPF;
 * the outputs last, just before tracing starts: opening one truncates
 * its file, and a run that fails must leave yesterday's report as it
 * was. (A temporary file renamed at the end would hide a long run's
 * reports until then, and replace a symlink or a FIFO by a file.)
 */
static int setup(struct session *s)
{
	const struct bw_opts *o = s->o;
	struct bw_loader_cfg lc = loader_cfg(o);
	int i, ret;

	ret = o->top_view ? top_term_check() : outputs_clash(o);
	if (ret)
		return ret;
	if (!bw_have_privileges()) {
		bw_err("permission denied: run as root (or with CAP_BPF and CAP_PERFMON)");
		return BW_EXIT_PERM;
	}
	/* what it will not see, said once here and in every report */
	s->nwarnings = bw_missing_caps(s->warnings, 4);
	for (i = 0; i < s->nwarnings; i++)
		bw_err("warning: %s", s->warnings[i]);
	s->targets = calloc(o->npids ? o->npids : 1, sizeof(*s->targets));
	s->asked = malloc((o->npids ? o->npids : 1) * sizeof(*s->asked));
	if (!s->targets || !s->asked)
		goto nomem;
	/* before bw_targets_open makes each thread id its process's */
	if (o->npids)
		memcpy(s->asked, o->pids, o->npids * sizeof(*s->asked));
	s->nasked = o->npids;
	ret = bw_targets_open(o->pids, o->npids, s->targets);
	if (ret)
		return ret;
	s->ntargets = o->npids;
	ret = bw_loader__new(&lc, &s->loader);
	if (ret)
		return ret;
	s->in = ingest__new(o->debuginfo_path, o->threshold_ns);
	if (!s->in)
		goto nomem;
	syms__set_lines(s->in->syms, !o->no_lines);
	/* names alone come from the symbol table: nothing to inflate */
	if (debugcache_set_dir(o->no_lines ? NULL : o->debug_cache))
		goto nomem;
	/* dlopen and dlclose said by the loaders, not found by rereading
	 * every process's maps (--now reads them once) */
	if (!o->now && syms__set_loader_ops(s->in->syms, &(struct dl_ops){
			       .probe = probe_dl, .watch = watch_dl, .ctx = s->loader }))
		goto nomem;
	if (!o->now && !(s->loop = bw_loop__new())) {
		bw_err("cannot set up the event loop: %s", strerror(errno));
		return BW_EXIT_FAIL;
	}
	if (add_collectors(s))
		return BW_EXIT_FAIL;
	/* -p targets: their mappings are read while they surely live */
	for (i = 0; i < s->ntargets; i++)
		syms__prepare(s->in->syms, s->targets[i].pid);
	s->sink_cfg.frames = o->frames;
	ret = serve_open(o, s->loader, &s->serve);
	if (ret)
		return ret;
	if (o->top_view)
		return session_top_open(s);
	return bw_sinks__open(o->sinks, o->nsinks, &s->sink_cfg, &s->sinks);
nomem:
	bw_err("out of memory");
	return BW_EXIT_FAIL;
}

static void teardown(struct session *s)
{
	int i;

	serve_close(s->serve);
	for (i = 0; i < s->ncollectors; i++)
		s->collectors[i]->free(s->collectors[i]);
	bw_loop__free(s->loop);
	ingest__free(s->in);
	debugcache_set_dir(NULL);
	bw_loader__free(s->loader);
	if (s->targets)
		bw_targets_close(s->targets, s->ntargets);
	free(s->targets);
	session_retire_targets(s);
	free(s->pids);
	free(s->asked);
}

int bw_session_run(const struct bw_opts *o)
{
	struct session s = { .opts = *o };
	int ret, err;

	s.o = &s.opts;
	o = s.o;
	bw_signals_defer();
	s.kind = o->now ? BW_REPORT_SNAPSHOT : BW_REPORT_INTERVAL;
	ret = setup(&s);
	if (!ret && o->now)
		ret = session_now(&s);
	else if (!ret)
		ret = session_trace(&s);
	teardown(&s);
	/* after the BPF side is gone: a slow close must not keep it */
	err = bw_sinks__close(s.sinks);
	if (err && !ret)
		ret = BW_EXIT_FAIL;
	/* the terminal as it was on every path, then what was said on
	 * stderr meanwhile */
	session_top_close(&s);
	return ret;
}
