// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "report/fmt.h"

static void duration_raw(uint64_t ns, char *buf, size_t len)
{
	/* Bounds are where rounding would print "1000.0" of a unit. */
	if (ns < 1000)
		snprintf(buf, len, "%" PRIu64 "ns", ns);
	else if (ns < 999950)
		snprintf(buf, len, "%.1fus", ns / 1e3);
	else if (ns < 999950000)
		snprintf(buf, len, "%.1fms", ns / 1e6);
	else if (ns < (uint64_t)59995000000)
		snprintf(buf, len, "%.2fs", ns / 1e9);
	else if (ns < (uint64_t)3600000000000)
		snprintf(buf, len, "%" PRIu64 "m%02" PRIu64 "s", ns / (uint64_t)60000000000,
			 ns / (uint64_t)1000000000 % 60);
	else
		snprintf(buf, len, "%" PRIu64 "h%02" PRIu64 "m", ns / (uint64_t)3600000000000,
			 ns / (uint64_t)60000000000 % 60);
}

void bw_fmt_duration(uint64_t ns, char *buf, size_t len)
{
	char *dot;

	duration_raw(ns, buf, len);
	/* "100.0ms" -> "100ms", "1.50s" stays */
	dot = strstr(buf, ".0");
	if (dot && (dot[2] < '0' || dot[2] > '9'))
		memmove(dot, dot + 2, strlen(dot + 2) + 1);
}

void bw_fmt_time(uint64_t realtime_ns, char *buf, size_t len)
{
	time_t secs = realtime_ns / 1000000000ULL;
	struct tm tm;
	char tmp[32];

	gmtime_r(&secs, &tm);
	strftime(tmp, sizeof(tmp), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03uZ", tmp, (unsigned int)(realtime_ns / 1000000 % 1000));
}

void bw_sb_printf(struct bw_strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (sb->off + 1 >= sb->len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(sb->buf + sb->off, sb->len - sb->off, fmt, ap);
	va_end(ap);
	if (n > 0)
		sb->off += (size_t)n < sb->len - sb->off ? (size_t)n : sb->len - sb->off - 1;
}
