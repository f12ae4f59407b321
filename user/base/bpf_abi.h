/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* The BPF contract header with the kernel's fixed-width types. */
#ifndef BW_TYPES_H
#define BW_TYPES_H

#include <linux/types.h>
#include "blockwatch.h"

_Static_assert(sizeof(struct bw_event) == 304 + 8 * BW_KSTACK_DEPTH + BW_STACK_MAX,
	       "struct bw_event is ABI between BPF and userspace");
_Static_assert(BW_EVENT_HDR_SIZE % 8 == 0, "stack must stay 8-byte aligned");
_Static_assert(BW_EVENT_HDR_SIZE + BW_ITER_STACK_PAGES * BW_PAGE_SIZE <= 8 * 4096,
	       "a still-blocked record must fit the task iterator's seq_file buffer");

#endif
