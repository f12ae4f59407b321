// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include "model/report.h"

const char *const bw_drop_names[BW_DROP_MAX] = {
	[BW_DROP_RINGBUF] = "ringbuf",
	[BW_DROP_STORAGE] = "task_storage",
	[BW_DROP_STACK] = "no_stack",
	[BW_DROP_USER] = "userspace",
	[BW_DROP_MISSED] = "bpf_missed",
};

uint64_t bw_report_dropped(const struct bw_report *r)
{
	uint64_t n = 0;
	int i;

	for (i = 0; i < BW_DROP_MAX; i++)
		n += r->dropped[i];
	return n;
}
