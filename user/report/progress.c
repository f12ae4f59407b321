// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <inttypes.h>
#include <stdio.h>
#include "base/clock.h"
#include "report/fmt.h"
#include "report/progress.h"

/* Elapsed time as a clock shows it: "42s", "1m05s", "2h03m10s". */
static void fmt_elapsed(uint64_t ns, char *buf, size_t len)
{
	uint64_t s = ns / BW_NSEC_PER_SEC;

	if (s < 60)
		snprintf(buf, len, "%" PRIu64 "s", s);
	else if (s < 3600)
		snprintf(buf, len, "%" PRIu64 "m%02" PRIu64 "s", s / 60, s % 60);
	else
		snprintf(buf, len, "%" PRIu64 "h%02" PRIu64 "m%02" PRIu64 "s", s / 3600,
			 s / 60 % 60, s % 60);
}

void bw_progress_format(const struct bw_progress *p, char *buf, size_t len)
{
	char elapsed[32], th[16], next[32];

	fmt_elapsed(p->elapsed_ns, elapsed, sizeof(elapsed));
	bw_fmt_duration(p->threshold_ns, th, sizeof(th));
	/* to the second, rounded up: "in 0s" only once it is due */
	fmt_elapsed(p->next_report_ns + BW_NSEC_PER_SEC - 1, next, sizeof(next));
	snprintf(buf, len,
		 "blockwatch: %s  blocks %" PRIu64 " >=%s, %" PRIu64 " shorter  dropped %" PRIu64
		 "  next report in %s",
		 elapsed, p->slow, th, p->shorter, p->dropped, next);
}
