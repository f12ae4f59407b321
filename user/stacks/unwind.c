// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* perf's tools/perf/util/unwind-libdw.c is the model for these
 * callbacks. */
#include <dwarf.h>
#include <string.h>
#include "base/bpf_abi.h"
#include "stacks/cfiwalk.h"
#include "stacks/unwind.h"

static pid_t cb_next_thread(Dwfl *dwfl, void *arg, void **thread_argp)
{
	(void)dwfl;
	(void)arg;
	(void)thread_argp;
	return 0; /* threads are named by the snapshot, never enumerated */
}

static bool cb_get_thread(Dwfl *dwfl, pid_t tid, void *arg, void **thread_argp)
{
	struct bw_unwinder *uw = arg;

	(void)dwfl;
	if (!uw->cur || uw->cur->tid != tid)
		return false;
	*thread_argp = uw;
	return true;
}

int bw_snapshot_read(const struct bw_snapshot *s, uint64_t addr, uint64_t *value)
{
	if (!s || addr < s->stack_base || addr + sizeof(*value) < addr ||
	    addr + sizeof(*value) > s->stack_base + s->stack_len) {
		/* Above the copy: the stack was cut short. Below it: a
		 * garbage frame pointer, not a short copy. */
		return s && addr >= s->stack_base + s->stack_len ? BW_READ_ABOVE : BW_READ_BELOW;
	}
	memcpy(value, s->stack + (addr - s->stack_base), sizeof(*value));
	return BW_READ_OK;
}

bool bw_unwind_read(struct bw_unwinder *uw, uint64_t addr, uint64_t *result)
{
	uint64_t value = 0;
	int kind = bw_snapshot_read(uw->cur, addr, &value);

	if (uw->reads && uw->nreads < BW_UNWIND_MAX_READS)
		uw->reads[uw->nreads] = (struct bw_memread){ .addr = addr, .value = value, .kind = kind };
	if (uw->nreads <= BW_UNWIND_MAX_READS)
		uw->nreads++;
	if (kind == BW_READ_ABOVE)
		uw->cut_short = true;
	if (kind != BW_READ_OK)
		return false;
	*result = value;
	return true;
}

static bool cb_memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result, void *arg)
{
	uint64_t v;

	(void)dwfl;
	if (!bw_unwind_read(arg, addr, &v))
		return false;
	*result = v;
	return true;
}

static bool cb_set_initial_registers(Dwfl_Thread *thread, void *thread_arg)
{
	struct bw_unwinder *uw = thread_arg;
	Dwarf_Word regs[BW_NREGS];
	int i;

	for (i = 0; i < BW_NREGS; i++)
		regs[i] = uw->cur->regs[i];
	dwfl_thread_state_register_pc(thread, regs[BW_REG_RIP]);
	return dwfl_thread_state_registers(thread, 0, BW_NREGS, regs);
}

static const Dwfl_Thread_Callbacks thread_callbacks = {
	.next_thread = cb_next_thread,
	.get_thread = cb_get_thread,
	.memory_read = cb_memory_read,
	.set_initial_registers = cb_set_initial_registers,
};

void bw_unwind_detach(struct bw_unwinder *uw)
{
	cfirules__free(uw->rules);
	uw->rules = NULL;
}

bool bw_unwind_attach(Dwfl *dwfl, pid_t pid, struct bw_unwinder *uw)
{
	bool dwfl_only = uw->dwfl_only;

	bw_unwind_detach(uw);
	memset(uw, 0, sizeof(*uw));
	uw->dwfl_only = dwfl_only;
	return dwfl_attach_state(dwfl, NULL, pid, &thread_callbacks, uw);
}

struct walk {
	struct bw_pc *pcs;
	int n;
	int max;
};

static int frame_cb(Dwfl_Frame *frame, void *arg)
{
	struct walk *w = arg;
	Dwarf_Addr pc;
	bool activation;

	if (!dwfl_frame_pc(frame, &pc, &activation))
		return DWARF_CB_ABORT;
	if (w->n >= w->max)
		return DWARF_CB_ABORT;
	w->pcs[w->n++] = (struct bw_pc){ .pc = pc, .activation = activation };
	return DWARF_CB_OK;
}

int bw_unwind_walk(Dwfl *dwfl, struct bw_unwinder *uw, const struct bw_snapshot *snap,
		   struct bw_pc *pcs, int max, int *err)
{
	struct walk w = { .pcs = pcs, .max = max };

	if (!uw->dwfl_only) {
		int n = cfiwalk(dwfl, &uw->rules, uw, snap, pcs, max, err);

		if (n >= 0)
			return n;
	}
	uw->cur = snap;
	uw->cut_short = false;
	uw->nreads = 0;
	uw->regs_used = BW_ALL_REGS; /* what libdwfl reads is not followed */
	*err = dwfl_getthread_frames(dwfl, snap->tid, frame_cb, &w);
	uw->cur = NULL;
	return w.n;
}
