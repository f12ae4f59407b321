// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "base/clock.h"
#include "golang/gproc.h"
#include "model/agg.h"
#include "model/detail.h"
#include "model/ingest.h"
#include "model/split.h"
#include "proc/fdinfo.h"
#include "proc/procfs.h"
#include "stacks/stacktab.h"
#include "stacks/syms.h"

/* A pc's frames: the ELF/DWARF symbolizer's, and where it has no name
 * in a Go process, the Go function table's (stripped Go binaries). */
static int resolve_cb(void *ctx, pid_t pid, const struct bw_pc *pc, struct bw_frame *out, int max)
{
	struct ingest *in = ctx;
	int n = syms__resolve(in->syms, pid, pc, out, max);

	if (n == 1 && !out[0].symbol && !pc->kernel)
		n = goprocs__resolve(in->go, pid, pc, out, max);
	return n;
}

static void cut_cb(void *ctx, pid_t pid, struct bw_pc *pcs, int *n, bool *truncated)
{
	goprocs__cut_stack(ctx, pid, pcs, n, truncated);
}

struct ingest *ingest__new(const char *debuginfo_path, uint64_t threshold_ns)
{
	struct ingest *in = calloc(1, sizeof(*in));

	if (!in)
		return NULL;
	in->threshold_ns = threshold_ns;
	in->syms = syms__new(debuginfo_path);
	in->stacks = in->syms ? stacktab__new(resolve_cb, in) : NULL;
	in->split = split__new();
	in->fdinfo = fdinfo__new();
	in->agg = agg__new();
	in->go = goprocs__new();
	if (!in->stacks || !in->split || !in->fdinfo || !in->agg || !in->go) {
		ingest__free(in);
		return NULL;
	}
	syms__set_cut(in->syms, cut_cb, in->go);
	return in;
}

void ingest__free(struct ingest *in)
{
	if (!in)
		return;
	/* entries hold stacks: first */
	agg__free(in->agg);
	stacktab__free(in->stacks);
	syms__free(in->syms);
	split__free(in->split);
	fdinfo__free(in->fdinfo);
	goprocs__free(in->go);
	while (in->nheld)
		free(in->held[--in->nheld]);
	free(in->held);
	free(in->held_size);
	free(in);
}

/* Unwind the record's user stack and append its kernel stack (-K):
 * the pcs of in->pcs, how many. */
static int unwind(struct ingest *in, const struct bw_event *e, bool *truncated)
{
	struct bw_snapshot snap;
	int n = 0;

	*truncated = true;
	if (!(e->flags & BW_EV_NO_REGS)) {
		snap = (struct bw_snapshot){
			.pid = e->pid,
			.tid = e->tid,
			.regs = (const uint64_t *)e->regs,
			.stack_base = e->stack_base,
			.stack = e->stack,
			.stack_len = e->stack_len,
		};
		n = syms__unwind(in->syms, &snap, in->pcs, BW_MAX_FRAMES, truncated);
		if (e->flags & BW_EV_NO_STACK)
			*truncated = true;
	}
	if (e->kstack_len && e->kstack_len <= sizeof(e->kstack)) {
		uint32_t k = 0, nk = e->kstack_len / 8;

		/* A stack taken at switch-out starts in blockwatch's own
		 * program and the tracepoint glue: not the thread's. */
		while (k < nk && syms__is_bpf_frame(in->syms, e->kstack[k]))
			k++;
		/* The kernel stack goes below the user stack: the same list,
		 * kernel frames marked. */
		for (; k < nk && n < BW_MAX_FRAMES + BW_KSTACK_DEPTH; k++)
			in->pcs[n++] = (struct bw_pc){ .pc = e->kstack[k], .kernel = true };
	}
	return n;
}

/* The part of the record's blocked time that belongs to this interval,
 * or false when the record belongs to the next one. */
static bool interval_part(struct ingest *in, const struct bw_event *e, uint64_t *blocked,
			  uint64_t *age)
{
	uint64_t at;

	*age = 0;
	if (!(e->flags & BW_EV_ONGOING)) {
		*blocked = split__completed(in->split, e->tid, e->first_start_ns, e->last_end_ns,
					    e->total_ns);
		return true;
	}
	/* Still-blocked threads are all counted up to the report's own
	 * time: the iterator reaches the last of them well after it, and
	 * the part past it belongs to the next report. */
	at = in->scan_at > e->first_start_ns ? in->scan_at : e->last_end_ns;
	*age = at - e->first_start_ns;
	/* Past the threshold by the time the iterator got to it, but not
	 * yet at the report's time: the next report's. */
	if (*age < in->threshold_ns)
		return false;
	*blocked = split__ongoing(in->split, e->tid, e->first_start_ns, at, in->interval_start);
	return true;
}

static int add(struct ingest *in, const struct bw_event *e, uint64_t blocked, uint64_t age)
{
	struct bw_wait_info info;
	struct bw_stack *stack;
	struct bw_sample smp;
	struct bw_wait wait;
	bool truncated;
	int n, err;

	n = unwind(in, e, &truncated);
	/* unwinding may have reread the mappings */
	stacktab__epoch(in->stacks, e->pid, syms__generation(in->syms, e->pid));
	stack = stacktab__get(in->stacks, e->pid, in->pcs, n, truncated);
	if (!stack)
		return -ENOMEM;
	wait = (struct bw_wait){
		.pid = e->pid,
		.tid = e->tid,
		.syscall_nr = e->syscall_nr,
		.args = { e->args[0], e->args[1], e->args[2], e->args[3] },
		.state = e->state,
		.owner = e->owner,
		.fd_ino = e->fd_ino,
		.fd_dev = e->fd_dev,
	};
	err = bw_wait_describe(&wait, stack, in->fdinfo, &info);
	if (!err) {
		smp = (struct bw_sample){
			.pid = e->pid,
			.tid = e->tid,
			.comm = e->comm,
			.pcomm = e->pcomm,
			.reason = info.reason,
			.blocked_ns = blocked,
			.max_ns = e->max_ns,
			.age_ns = age,
			.count = e->count,
			.ongoing = e->flags & BW_EV_ONGOING,
			.stack = stack,
			.wait = &info,
		};
		err = agg__add(in->agg, &smp);
		bw_detail_clear(&info.detail);
	}
	bw_stack_put(stack);
	return err;
}

/* A record of the next report's epoch, kept until that report; false
 * when out of memory (its blocks counted as dropped). */
static bool hold(struct ingest *in, const void *data, size_t size, uint32_t count)
{
	void **grown = realloc(in->held, (in->nheld + 1) * sizeof(*grown));
	size_t *sizes = grown ? realloc(in->held_size, (in->nheld + 1) * sizeof(*sizes)) : NULL;
	void *copy = sizes ? malloc(size) : NULL;

	if (grown)
		in->held = grown;
	if (sizes)
		in->held_size = sizes;
	if (!copy) {
		in->user_drops += count;
		return false;
	}
	memcpy(copy, data, size);
	in->held[in->nheld] = copy;
	in->held_size[in->nheld++] = size;
	return true;
}

void ingest__record(struct ingest *in, const void *data, size_t size)
{
	const struct bw_event *e = data;
	uint64_t blocked, age;

	if (size < BW_EVENT_HDR_SIZE || size < BW_EVENT_HDR_SIZE + e->stack_len) {
		in->user_drops++;
		return;
	}
	/* after the records held before it, in order (out of memory: now) */
	if (e->flags & (BW_EV_EXEC | BW_EV_GONE | BW_EV_MAPS) && in->nheld &&
	    hold(in, data, size, 0))
		return;
	if (e->flags & BW_EV_MAPS) {
		syms__maps_marked(in->syms, e->pid);
		return;
	}
	if (e->flags & (BW_EV_EXEC | BW_EV_GONE)) {
		/* New mappings (exec) or none (exit): what is cached goes;
		 * every record before this one was already symbolized. */
		syms__forget(in->syms, e->pid);
		stacktab__forget(in->stacks, e->pid);
		goprocs__forget(in->go, e->pid);
		return;
	}
	if (!(e->flags & BW_EV_ONGOING) && (int32_t)(e->epoch - in->epoch) > 0) {
		hold(in, data, size, e->count);
		return;
	}
	if (!interval_part(in, e, &blocked, &age))
		return;
	if (add(in, e, blocked, age))
		in->user_drops += e->count;
}

void ingest__next_interval(struct ingest *in, uint64_t now)
{
	size_t i, n = in->nheld, *sizes = in->held_size;
	void **held = in->held;

	agg__reset(in->agg);
	/* A block not seen still blocked by the scan before this one has
	 * ended: its record came, or was counted as dropped. */
	split__expire(in->split, in->interval_start);
	in->interval_start = now;
	in->user_drops = 0;
	/* the records of this epoch that came while the last report was made */
	in->epoch++;
	in->held = NULL;
	in->held_size = NULL;
	in->nheld = 0;
	for (i = 0; i < n; i++) {
		ingest__record(in, held[i], sizes[i]);
		free(held[i]);
	}
	free(held);
	free(sizes);
	stacktab__sweep(in->stacks, procfs_alive);
	syms__prune(in->syms, bw_mono_ns());
	fdinfo__sweep(in->fdinfo, bw_mono_ns());
}
