/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* CO-RE shims for kernel changes blockwatch has to straddle, each with
 * the change it handles. */
#ifndef BW_CORE_FIXES_BPF_H
#define BW_CORE_FIXES_BPF_H

#include <bpf/bpf_core_read.h>

/* Linux 5.14 (commit 2f064a59a11f, "sched: Change task_struct::state")
 * renamed task_struct::state to __state and made it unsigned int. */
struct task_struct___pre514 {
	long state;
} __attribute__((preserve_access_index));

/*
 * The task's state. @btf: @task is a BTF pointer (tp_btf, iterators),
 * read with a plain load, which on the sched_switch path saves a
 * bpf_probe_read_kernel per switch; else an address (raw_tp). @btf is a
 * constant at every call site.
 */
static __always_inline unsigned int task_state_of(struct task_struct *task, bool btf)
{
	struct task_struct___pre514 *old = (void *)task;

	if (!btf)
		return bpf_core_field_exists(old->state) ? BPF_CORE_READ(old, state) :
							   BPF_CORE_READ(task, __state);
	if (bpf_core_field_exists(old->state))
		return old->state;
	return task->__state;
}

/* task_struct::rseq exists only with CONFIG_RSEQ (Linux 4.18+). */
static __always_inline bool has_rseq(struct task_struct *task, bool btf)
{
	if (!bpf_core_field_exists(task->rseq))
		return false;
	return (btf ? (void *)task->rseq : (void *)BPF_CORE_READ(task, rseq)) != NULL;
}

/*
 * When a thread we did not see fall asleep last ran, on the scheduler
 * clock (the one sched_switch's times are on).
 *
 * First choice: when it last got a CPU (sched_info.last_arrival, on
 * rq_clock) plus what it ran of that turn (sum_exec_runtime since
 * prev_sum_exec_runtime, which the fair class sets at each pick). Both
 * are the turn's own: nothing stolen later counts.
 *
 * Else se.exec_start, on its runqueue's clock_task, which leaves out the
 * time the CPU spent in interrupts and, in a VM, stolen by the host
 * (80-135 ms behind bpf_ktime_get_ns on these machines, growing with
 * uptime): rq->clock - clock_task now is added. That is what was stolen
 * up to now, not up to the sleep: a thread asleep 2.5 s while the host
 * stole 6% of its CPU came out 154 ms young. cfs_rq::rq exists only with
 * CONFIG_FAIR_GROUP_SCHED: without it, exec_start as it is.
 */
static __always_inline __u64 task_sleep_start(struct task_struct *task, __u64 now)
{
	__u64 start, arrival = 0, ran;
	struct cfs_rq *cfs_rq;
	struct rq *rq;
	int policy = BPF_CORE_READ(task, policy);

	/* SCHED_NORMAL, SCHED_BATCH, SCHED_IDLE: the fair class */
	if (bpf_core_field_exists(task->sched_info) && (policy == 0 || policy == 3 || policy == 5))
		arrival = BPF_CORE_READ(task, sched_info.last_arrival);
	if (arrival) {
		ran = BPF_CORE_READ(task, se.sum_exec_runtime) -
		      BPF_CORE_READ(task, se.prev_sum_exec_runtime);
		if (arrival < now && ran < now - arrival)
			return arrival + ran;
	}
	start = BPF_CORE_READ(task, se.exec_start);
	if (!start || !bpf_core_field_exists(struct cfs_rq, rq))
		return start;
	cfs_rq = BPF_CORE_READ(task, se.cfs_rq);
	rq = BPF_CORE_READ(cfs_rq, rq);
	if (!rq)
		return start;
	return start + BPF_CORE_READ(rq, clock) - BPF_CORE_READ(rq, clock_task);
}

/*
 * When @task last got a CPU (sched_info.last_arrival, on the runqueue's
 * clock: rq_clock, what bpf_ktime_get_ns reads but for its offset from
 * the last update, well under a tick). sched_info exists only with
 * CONFIG_SCHED_INFO (schedstats or delay accounting); without it, 0.
 */
static __always_inline __u64 task_last_arrival(struct task_struct *task, bool btf)
{
	if (!bpf_core_field_exists(task->sched_info))
		return 0;
	return btf ? task->sched_info.last_arrival : BPF_CORE_READ(task, sched_info.last_arrival);
}

#endif
