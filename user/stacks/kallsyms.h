/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_KALLSYMS_H
#define BW_KALLSYMS_H

#include <stdbool.h>
#include <stdint.h>
#include "stacks/frame.h"

/* Kernel text symbols from /proc/kallsyms, read the first time one is
 * needed (root sees the real addresses). */
struct kallsyms;

struct kallsyms *kallsyms__new(void);
void kallsyms__free(struct kallsyms *ks);
/* One kernel frame: the nearest preceding text symbol, as the kernel's
 * own stack dumps print it (kallsyms has no sizes). 1 or -ENOMEM. */
int kallsyms__resolve(struct kallsyms *ks, const struct bw_pc *pc, struct bw_frame *f);
/* In a BPF program or the tracepoint code that runs it (bpf_trace_run*,
 * __bpf_trace_*, __traceiter_*): blockwatch's own frames. */
bool kallsyms__is_bpf(struct kallsyms *ks, uint64_t addr);

#endif
