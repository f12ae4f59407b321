// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * -f pprof-go: the goroutines of the Go processes, as of the last
 * report, as a gzipped profile.proto of the same shape as the Go
 * runtime's own goroutine profile (/debug/pprof/goroutine,
 * runtime/pprof's "goroutine"): sample type goroutine/count, one sample
 * per group of alike goroutines, its stack leaf first with inlined
 * calls as Lines of one Location. So `go tool pprof -diff_base` can
 * compare it with one the process wrote. Labels: wait_reason (the
 * runtime's words), state, pid, process.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include "model/profile.h"
#include "report/pprof_build.h"
#include "report/sink.h"

#define MAX_LINES 32

static uint64_t location(struct pb *b, uint32_t pid, const struct bw_prof_gframe *fr, int first,
			 int last)
{
	struct pb_line lines[MAX_LINES];
	int i, n = 0;

	for (i = first; i <= last && n < MAX_LINES; i++)
		if (fr[i].func)
			lines[n++] = (struct pb_line){
				.func = fr[i].func, .file = fr[i].file, .line = fr[i].line,
			};
	/* a parked goroutine's pcs are return addresses: the runtime's
	 * profile has the call instruction's, pc - 1 */
	return pb__location(b, pid, fr[last].addr ? fr[last].addr - 1 : 0, NULL, lines, n);
}

/* runtime.goexit, where every goroutine's stack begins, the runtime
 * leaves out of its profile */
static bool goexit(const struct bw_prof_gframe *f)
{
	return f->func && !strcmp(f->func, "runtime.goexit");
}

static int group(struct pb *b, const struct bw_prof_go *g, const struct bw_prof_ggroup *gr)
{
	uint32_t i, first, n = gr->nframes;
	int err = pb__sample_begin(b);

	if (n && goexit(&gr->frames[n - 1]))
		n--;
	for (i = 0; i < n && !err; i++) {
		first = i;
		while (gr->frames[i].inlined && i + 1 < n)
			i++;
		err = pb__sample_loc(b, location(b, g->pid, gr->frames, first, i));
	}
	if (!err)
		err = pb__sample_value(b, gr->count);
	if (!err && gr->wait_reason)
		err = pb__label_str(b, "wait_reason", gr->wait_reason);
	if (!err)
		err = pb__label_str(b, "state", gr->state);
	if (!err)
		err = pb__label_num(b, "pid", g->pid);
	if (!err)
		err = pb__label_str(b, "process", g->comm);
	return err;
}

static int pprof_go_write(struct bw_sink *s, const struct bw_profile *p)
{
	static const char *const types[] = { "goroutine", "count" };
	const struct bw_prof_go *g, *tg;
	struct pb *b = pb__new(types, 1);
	uint32_t i;
	int err = 0;

	if (!b)
		return -ENOMEM;
	pb__times(b, p->end_ns, 0);
	pb__comment(b, "blockwatch " BW_VERSION ": goroutines of the Go processes at the last report");
	HASH_ITER(hh, p->gos, g, tg)
		for (i = 0; i < g->ngroups && !err; i++)
			err = group(b, g, &g->groups[i]);
	if (!err)
		err = pb__write(b, s->out);
	pb__free(b);
	return err;
}

const struct bw_sink_ops bw_sink_pprof_go = {
	.name = "pprof-go",
	.write = pprof_go_write,
	.binary = true,
};
