// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The benchmark's floor: programs that do nothing, on the tracepoints
 * blockwatch's switch path uses. What they cost is what any BPF
 * program there costs (the tracepoint's BPF trampoline and the program
 * call); what blockwatch costs above them is its own code.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("tp_btf/sched_switch")
int BPF_PROG(empty_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	return 0;
}

SEC("raw_tp/rseq_update")
int BPF_PROG(empty_rseq)
{
	return 0;
}
