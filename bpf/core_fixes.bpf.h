/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* CO-RE shims for kernel changes blockwatch has to straddle. */
#ifndef BW_CORE_FIXES_BPF_H
#define BW_CORE_FIXES_BPF_H

#include <bpf/bpf_core_read.h>

/* Linux 5.14 (commit 2f064a59a11f, "sched: Change task_struct::state")
 * renamed task_struct::state to __state and made it unsigned int. */
struct task_struct___pre514 {
	long state;
} __attribute__((preserve_access_index));

static __always_inline unsigned int get_task_state(void *task)
{
	struct task_struct___pre514 *old = task;

	if (bpf_core_field_exists(old->state))
		return BPF_CORE_READ(old, state);
	return BPF_CORE_READ((struct task_struct *)task, __state);
}

/* task_struct::rseq exists only with CONFIG_RSEQ (Linux 4.18+). */
static __always_inline bool has_rseq(struct task_struct *task, bool btf)
{
	if (!bpf_core_field_exists(task->rseq))
		return false;
	return (btf ? (void *)task->rseq : (void *)BPF_CORE_READ(task, rseq)) != NULL;
}

#endif /* BW_CORE_FIXES_BPF_H */
