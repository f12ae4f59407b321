// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <stdarg.h>
#include <stdio.h>
#include "base/log.h"
#include "report/fmt.h"

int bw_verbose;

static void vlog(const char *fmt, va_list ap)
{
	char line[1024], esc[4096];

	/* One write per line, so concurrent output never interleaves. The
	 * whole line escaped: its values may be any process's names (a comm
	 * with "\r\n" or a terminal escape), and none of ours needs a
	 * control character. */
	vsnprintf(line, sizeof(line), fmt, ap);
	fprintf(stderr, "blockwatch: %s\n", bw_esc(line, esc, sizeof(esc)));
}

void bw_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(fmt, ap);
	va_end(ap);
}

void bw_dbg(const char *fmt, ...)
{
	va_list ap;

	if (!bw_verbose)
		return;
	va_start(ap, fmt);
	vlog(fmt, ap);
	va_end(ap);
}
