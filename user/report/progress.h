/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_PROGRESS_H
#define BW_PROGRESS_H

#include <stddef.h>
#include <stdint.h>

/* What the status line of a tracing run says (base/log.h shows it). */
struct bw_progress {
	uint64_t elapsed_ns;
	uint64_t slow;	    /* blocks past the threshold so far */
	uint64_t shorter;   /* blocks below it */
	uint64_t dropped;   /* every drop so far */
	uint64_t threshold_ns;
	uint64_t next_report_ns; /* until the next report */
};

/* "blockwatch: 1m05s  blocks 1234 >=100ms, 5678 shorter  dropped 0
 * next report in 3s" (one line) */
void bw_progress_format(const struct bw_progress *p, char *buf, size_t len);

#endif
