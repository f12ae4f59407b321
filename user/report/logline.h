/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_LOGLINE_H
#define BW_LOGLINE_H

#include <stdbool.h>

struct bw_change;

enum bw_log_target {
	BW_LOG_TEXT,	/* "blockwatch: blocked: pid ..." on stderr */
	BW_LOG_JSON,	/* one JSON object per line on stderr */
	BW_LOG_JOURNAL, /* the journal, with BLOCKWATCH_* fields */
};

/* The journal when stderr is its stream, else JSON if @json, else text. */
enum bw_log_target bw_log_target(bool json);
/* One line for @ev. Names from traced processes escaped as in text. */
/* 0, or -errno when the journal refused the line (it is lost). */
int bw_logline(enum bw_log_target target, const struct bw_change *ev);

#endif
