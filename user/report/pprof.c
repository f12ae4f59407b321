// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * -f pprof: the run's off-CPU profile as a gzipped profile.proto, what
 * `go tool pprof` reads: sample types blocks/count and offcpu/nanoseconds
 * (the default); labels pid, tid, comm (the thread's), process,
 * reason and ongoing; one Location per pc, its inlined calls as Lines
 * (innermost first), mappings with their file offset and build-id so
 * pprof can symbolize again.
 */
#include <errno.h>
#include <stdint.h>
#include "model/profile.h"
#include "report/pprof_build.h"
#include "report/sink.h"
#include "stacks/frame.h"
#include "stacks/stacktab.h"

/* Locations of kernel frames are the kernel's, whatever the process. */
#define KERNEL_SPACE (1ULL << 32)
#define NOSTACK_SPACE (2ULL << 32)

static uint64_t synthetic(struct pb *b, uint64_t addr, const char *name)
{
	struct pb_line l = { .func = name };

	return pb__location(b, NOSTACK_SPACE, addr, NULL, &l, 1);
}

static struct pb_mapping mapping_of(const struct bw_frame *f)
{
	return (struct pb_mapping){
		.start = f->map_start,
		.limit = f->map_end,
		.offset = f->map_offset,
		.file = f->module,
		.build_id = f->build_id,
	};
}

/* Frames [first, last]: inlined calls into frames[last], one pc. */
static uint64_t location(struct pb *b, uint32_t pid, const struct bw_frame *fr, int first, int last)
{
	struct pb_line lines[BW_MAX_INLINE];
	const struct bw_frame *f = &fr[last];
	struct pb_mapping m = mapping_of(f);
	int i, n = 0;

	for (i = first; i <= last && n < BW_MAX_INLINE; i++) {
		if (!fr[i].symbol)
			continue;
		lines[n++] = (struct pb_line){
			.func = fr[i].symbol,
			.file = fr[i].file,
			.line = fr[i].line,
		};
	}
	return pb__location(b, f->kernel ? KERNEL_SPACE : pid, f->addr, f->kernel ? NULL : &m,
			    lines, n);
}

static int add_stack(struct pb *b, const struct bw_prof_sample *s)
{
	const struct bw_stack *st = s->k.stack;
	uint32_t i, first;
	int err = 0;

	if (!st)
		return pb__sample_loc(b, synthetic(b, 1, "[stacks not kept: too many]"));
	if (!st->nframes)
		return pb__sample_loc(b, synthetic(b, 2, "[no stack]"));
	for (i = 0; i < st->nframes && !err; i++) {
		first = i;
		while (st->frames[i].inlined && i + 1 < st->nframes)
			i++;
		err = pb__sample_loc(b, location(b, s->k.pid, st->frames, first, i));
	}
	if (!err && st->truncated)
		err = pb__sample_loc(b, synthetic(b, 3, "[truncated]"));
	return err;
}

static int sample(void *ctx, const struct bw_prof_sample *s, bool ongoing, uint64_t ns,
		  uint64_t count)
{
	struct pb *b = ctx;
	int err;

	err = pb__sample_begin(b);
	if (!err)
		err = add_stack(b, s);
	if (!err)
		err = pb__sample_value(b, (int64_t)count);
	if (!err)
		err = pb__sample_value(b, (int64_t)ns);
	if (!err)
		err = pb__label_num(b, "pid", s->k.pid);
	if (!err && s->k.tid)
		err = pb__label_num(b, "tid", s->k.tid);
	if (!err && s->k.comm[0])
		err = pb__label_str(b, "comm", s->k.comm);
	if (!err)
		err = pb__label_str(b, "process", s->pcomm);
	if (!err)
		err = pb__label_str(b, "reason", s->k.reason);
	if (!err)
		err = pb__label_str(b, "ongoing", ongoing ? "true" : "false");
	return err;
}

/* pprof takes the first mapping for the main binary: the one where a
 * main thread's stack begins (_start, runtime.rt0_go), if any. */
static int main_binary(void *ctx, const struct bw_prof_sample *s, bool ongoing, uint64_t ns,
		       uint64_t count)
{
	const struct bw_stack *st = s->k.stack;
	struct pb_mapping m;
	int32_t i;

	(void)ongoing;
	(void)ns;
	(void)count;
	if (!st || s->k.tid != s->k.pid)
		return 0;
	for (i = (int32_t)st->nframes - 1; i >= 0 && st->frames[i].kernel; i--)
		;
	if (i < 0 || !st->frames[i].map_start || st->truncated)
		return 0;
	m = mapping_of(&st->frames[i]);
	pb__mapping(ctx, s->k.pid, &m);
	return 1; /* found: stop */
}

static int pprof_write(struct bw_sink *s, const struct bw_profile *p)
{
	static const char *const types[] = { "blocks", "count", "offcpu", "nanoseconds" };
	struct pb *b = pb__new(types, 2);
	int err;

	if (!b)
		return -ENOMEM;
	pb__times(b, p->start_ns, p->end_ns - p->start_ns);
	pb__comment(b, "blockwatch " BW_VERSION ": off-CPU time of threads blocked past the threshold");
	profile__each(p, main_binary, b);
	err = profile__each(p, sample, b);
	if (!err)
		err = pb__write(b, s->out);
	pb__free(b);
	return err;
}

const struct bw_sink_ops bw_sink_pprof = {
	.name = "pprof",
	.write = pprof_write,
	.binary = true,
};
