// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>
#include "base/clock.h"
#include "base/log.h"
#include "golang/gobin.h"
#include "golang/gproc.h"
#include "golang/gsnap.h"
#include "golang/gtrend.h"
#include "golang/gview.h"
#include "proc/procfs.h"

struct goproc {
	UT_hash_handle hh;
	pid_t pid;
	uint64_t starttime; /* with the pid: this process, not a reused pid */
	struct gobin *bin;  /* NULL: not Go */
	uint64_t bias;
	struct gseen *seen;
	struct gtrend *trend;
	struct gview view;
	bool has_view;
	bool warned;	    /* its trouble was said once */
	int exe_err;	    /* -EPERM: its executable could not be looked at */
	uint64_t snap_gen;  /* the report its view is of */
	uint64_t gen;
};

struct goprocs {
	struct goproc *procs;
	struct gobins *bins;
	uint64_t gen;
	bool loud;
};

void goprocs__set_loud(struct goprocs *g, bool loud)
{
	g->loud = loud;
}

struct goprocs *goprocs__new(void)
{
	struct goprocs *g = calloc(1, sizeof(*g));

	if (g && !(g->bins = gobins__new())) {
		free(g);
		return NULL;
	}
	return g;
}

static void goproc_free(struct goproc *p)
{
	if (p->has_view)
		gview_clear(&p->view);
	gseen__free(p->seen);
	gtrend__free(p->trend);
	gobin_put(p->bin);
	free(p);
}

void goprocs__free(struct goprocs *g)
{
	struct goproc *p, *tmp;

	if (!g)
		return;
	HASH_ITER(hh, g->procs, p, tmp) {
		HASH_DEL(g->procs, p);
		goproc_free(p);
	}
	gobins__free(g->bins);
	free(g);
}

/* A PIE is loaded where the kernel put it: AT_ENTRY - e_entry. */
static uint64_t load_bias(pid_t pid, const struct gobin *b)
{
	uint64_t at_entry;

	if (!b->elf.pie)
		return 0;
	at_entry = procfs_auxv(pid, AT_ENTRY);
	return at_entry > b->elf.entry ? at_entry - b->elf.entry : 0;
}

/* The process's entry, (re)made when the pid is new or was reused
 * (checked once per report: the sweep's generation). */
static struct goproc *goproc_get(struct goprocs *g, pid_t pid)
{
	uint64_t start;
	struct goproc *p;
	int err;

	HASH_FIND_INT(g->procs, &pid, p);
	if (p && p->gen == g->gen)
		return p;
	start = procfs_starttime(pid);
	if (!start)
		return NULL;
	if (p && p->starttime != start) {
		HASH_DEL(g->procs, p);
		goproc_free(p);
		p = NULL;
	}
	if (p)
		return p;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->pid = pid;
	p->starttime = start;
	p->bin = gobins__get(g->bins, pid, &err);
	p->exe_err = err == -EPERM ? err : 0;
	if (p->bin) {
		p->bias = load_bias(pid, p->bin);
		p->seen = gseen__new();
		p->trend = gtrend__new();
		if (!p->seen || !p->trend) {
			goproc_free(p);
			return NULL;
		}
	}
	HASH_ADD_INT(g->procs, pid, p);
	return p;
}

static void say_once(struct goprocs *g, struct goproc *p, const char *what, int err)
{
	void (*say)(const char *fmt, ...) = g->loud || !err ? bw_err : bw_dbg;

	if (p->warned)
		return;
	p->warned = true;
	if (err == -EPERM)
		say("go process %d (%s): cannot read its memory: %s (needs CAP_SYS_PTRACE; "
		    "kernel.yama.ptrace_scope 3 refuses even root); no goroutine view",
		    p->pid, p->bin->elf.version, strerror(-err));
	else
		say("go process %d (%s): %s; no goroutine view", p->pid, p->bin->elf.version,
		    what ? what : strerror(-err));
}

const struct bw_go_view *goprocs__snapshot(struct goprocs *g, pid_t pid, uint64_t now,
					   bool trend, int *err)
{
	struct go_snapshot s;
	struct goproc *p;
	uint64_t t0;

	*err = 0;
	p = goproc_get(g, pid);
	if (!p)
		return NULL;
	if (p->snap_gen == g->gen && p->has_view)
		return &p->view.v; /* twice in one report (-p PID,TID): the same view */
	p->gen = g->gen; /* not Go is remembered too, till it exits */
	if (!p->bin) {
		*err = p->exe_err;
		if (*err && !p->warned) {
			p->warned = true;
			(g->loud ? bw_err : bw_dbg)("process %d: cannot read its executable "
						    "(/proc/%d/exe): %s; no goroutine view if it runs Go",
						    pid, pid, strerror(-*err));
		}
		return NULL;
	}
	if (p->has_view)
		gview_clear(&p->view);
	p->has_view = false;
	if (!p->bin->usable) {
		/* said once per binary, however often it is started */
		if (!p->bin->warned)
			say_once(g, p, p->bin->why, 0);
		p->bin->warned = true;
		memset(&p->view, 0, sizeof(p->view));
		p->view.v.version = p->bin->elf.version;
		p->view.v.warning = p->bin->why;
		p->has_view = true;
		return &p->view.v;
	}
	t0 = bw_mono_ns();
	*err = go_snapshot_read(pid, p->bin, p->bias, &s);
	if (*err) {
		if (*err == -EPROTO)
			say_once(g, p, "what its runtime holds fails the layout's sanity checks", 0);
		else if (*err != -ESRCH)
			say_once(g, p, NULL, *err);
		return NULL;
	}
	*err = gview_build(&p->view, &s, p->bin, pid, p->bias, now, p->seen);
	go_snapshot_clear(&s);
	if (*err)
		return NULL;
	p->view.v.read_ns = bw_mono_ns() - t0;
	p->snap_gen = g->gen;
	if (trend)
		gtrend__update(p->trend, &p->view, now);
	p->has_view = true;
	return &p->view.v;
}

static bool stack_edge(const char *name)
{
	static const char *const edges[] = {
		"runtime.mcall",	"runtime.systemstack", "runtime.systemstack_switch",
		"runtime.asmcgocall",	"runtime.mstart",      "runtime.rt0_go",
		"runtime.goexit",	"runtime.morestack",
	};
	size_t i;

	for (i = 0; i < sizeof(edges) / sizeof(edges[0]); i++)
		if (!strcmp(name, edges[i]))
			return true;
	return false;
}

void goprocs__cut_stack(struct goprocs *g, pid_t pid, struct bw_pc *pcs, int *n,
			bool *truncated)
{
	struct goproc *p = goproc_get(g, pid);
	struct go_func f;
	int i;

	if (!p)
		return;
	p->gen = g->gen;
	if (!p->bin || !p->bin->pcln)
		return;
	for (i = 0; i < *n; i++) {
		uint64_t pc = pcs[i].pc - p->bias;

		if (pcs[i].kernel)
			break;
		if (!pcs[i].activation)
			pc--;
		if (!gopclntab__find(p->bin->pcln, pc, &f) && stack_edge(f.name)) {
			/* the kernel part (-K) stays */
			int k, cut = i + 1;

			for (k = cut; k < *n && !pcs[k].kernel; k++)
				;
			memmove(pcs + cut, pcs + k, (*n - k) * sizeof(*pcs));
			*n = cut + (*n - k);
			*truncated = false;
			return;
		}
	}
}

int goprocs__resolve(struct goprocs *g, pid_t pid, const struct bw_pc *pc, struct bw_frame *out,
		     int max)
{
	struct goproc *p = goproc_get(g, pid);
	const struct go_sym *syms;
	struct bw_frame base;
	uint64_t addr;
	int n, i;

	if (!p)
		return 1;
	p->gen = g->gen;
	if (!p->bin || !p->bin->pcln || pc->kernel || max < 1)
		return 1;
	addr = pc->pc - p->bias;
	if (addr < p->bin->elf.text_addr || addr >= p->bin->elf.text_end)
		return 1;
	n = gobin_symbolize(p->bin, addr, !pc->activation, &syms);
	if (n < 0)
		return n;
	if (!syms[0].func)
		return 1;
	if (n > max)
		n = max;
	/* what every frame shares: out[0] without its name and line */
	free(out[0].symbol);
	free(out[0].file);
	out[0].symbol = out[0].file = NULL;
	base = out[0];
	for (i = 0; i < n; i++) {
		/* innermost first, as the symbolizer's frames */
		const struct go_sym *s = &syms[i];

		if (i && bw_frame_copy(&out[i], &base)) {
			memset(&out[i], 0, sizeof(out[i]));
			goto nomem;
		}
		out[i].symbol = strdup(s->func);
		out[i].file = s->file ? strdup(s->file) : NULL;
		out[i].line = s->line;
		out[i].inlined = s->inlined;
		if (!out[i].symbol || (s->file && !out[i].file))
			goto nomem;
	}
	return n;
nomem:
	/* nothing of the frames stays: the caller owns none on failure */
	for (; i >= 0; i--)
		bw_frame_clear(&out[i]);
	return -ENOMEM;
}

void goprocs__sweep(struct goprocs *g)
{
	struct goproc *p, *tmp;

	HASH_ITER(hh, g->procs, p, tmp) {
		if (p->gen != g->gen) {
			HASH_DEL(g->procs, p);
			goproc_free(p);
		}
	}
	gobins__prune(g->bins);
	g->gen++;
}

void goprocs__forget(struct goprocs *g, pid_t pid)
{
	struct goproc *p;

	HASH_FIND_INT(g->procs, &pid, p);
	if (!p)
		return;
	HASH_DEL(g->procs, p);
	goproc_free(p);
}
