/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_FMT_H
#define BW_FMT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* Renderings shared by the sinks (and the start-up line). */

/* "1.20s", "350ms", "12.5us": short, for people. */
void bw_fmt_duration(uint64_t ns, char *buf, size_t len);
/* RFC 3339 UTC with milliseconds: 2026-11-27T22:31:05.123Z */
void bw_fmt_time(uint64_t realtime_ns, char *buf, size_t len);

/* Appending to a fixed buffer: what does not fit is cut. */
struct bw_strbuf {
	char *buf;
	size_t len;
	size_t off;
};

#define BW_STRBUF(b) ((struct bw_strbuf){ .buf = (b), .len = sizeof(b) })
void bw_sb_printf(struct bw_strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
