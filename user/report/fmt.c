// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
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

/* The length of the UTF-8 sequence at @p, 0 if it is not one (shortest
 * form, no surrogates, at most U+10FFFF); *cp its code point. */
static size_t utf8_seq(const unsigned char *p, uint32_t *cp)
{
	size_t n, i;
	uint32_t c;

	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if (p[0] < 0xc2 || p[0] > 0xf4)
		return 0;
	n = p[0] < 0xe0 ? 2 : p[0] < 0xf0 ? 3 : 4;
	c = p[0] & (0x7f >> n);
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80) /* a NUL too */
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	if ((n == 3 && c < 0x800) || (n == 4 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

/* What a terminal acts on instead of showing it. */
static bool unprintable(uint32_t c)
{
	return c < 0x20 || (c >= 0x7f && c < 0xa0) || c == 0x61c || c == 0x200e || c == 0x200f ||
	       (c >= 0x2028 && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
}

enum esc_mode { ESC_TERM, ESC_JSON };

/* four bytes as \xNN, and snprintf's NUL */
#define PIECE_MAX 17

/* The bytes at @p as printed: how many it takes, and into @out (PIECE_MAX)
 * what they become, *outlen long. */
static size_t esc_piece(const char *p, enum esc_mode mode, char *out, size_t *outlen)
{
	const unsigned char *u = (const unsigned char *)p;
	const char *hex = mode == ESC_JSON ? "\\\\x%02x" : "\\x%02x";
	uint32_t c = 0;
	size_t n = utf8_seq(u, &c), i, k = 0;

	if (n && (mode == ESC_JSON || (!unprintable(c) && c != '\\'))) {
		memcpy(out, p, n);
		*outlen = n;
		return n;
	}
	if (n == 1 && c == '\\') {
		memcpy(out, "\\\\", 2);
		*outlen = 2;
		return 1;
	}
	for (i = 0; i < (n ? n : 1); i++)
		k += (size_t)snprintf(out + k, PIECE_MAX - k, hex, u[i]);
	*outlen = k;
	return i;
}

/* How long @s is escaped, and whether anything in it is. */
static size_t esc_len(const char *s, enum esc_mode mode, bool *changed)
{
	char piece[PIECE_MAX];
	size_t total = 0, took, len;

	*changed = false;
	for (; *s; s += took) {
		took = esc_piece(s, mode, piece, &len);
		*changed |= len != took || memcmp(piece, s, len);
		total += len;
	}
	return total;
}

/* @s escaped into @out, at most @room bytes of it, whole pieces only. */
static size_t esc_into(const char *s, enum esc_mode mode, char *out, size_t room)
{
	char piece[PIECE_MAX];
	size_t off = 0, took, len;

	for (; *s; s += took) {
		took = esc_piece(s, mode, piece, &len);
		if (off + len > room)
			break;
		memcpy(out + off, piece, len);
		off += len;
	}
	return off;
}

void bw_sb_esc(struct bw_strbuf *sb, const char *s)
{
	size_t room, total;
	bool changed;

	if (sb->off + 1 >= sb->len)
		return;
	if (!s)
		s = "?";
	room = sb->len - sb->off - 1;
	total = esc_len(s, ESC_TERM, &changed);
	if (total <= room) {
		sb->off += esc_into(s, ESC_TERM, sb->buf + sb->off, room);
	} else {
		sb->off += esc_into(s, ESC_TERM, sb->buf + sb->off, room > 3 ? room - 3 : 0);
		sb->off += (size_t)snprintf(sb->buf + sb->off, sb->len - sb->off, "%.*s",
					    (int)(room < 3 ? room : 3), "...");
	}
	sb->buf[sb->off] = 0;
}

const char *bw_esc(const char *s, char *buf, size_t len)
{
	struct bw_strbuf sb = { .buf = buf, .len = len };
	bool changed;

	if (!s)
		return NULL;
	esc_len(s, ESC_TERM, &changed);
	if (!changed)
		return s;
	if (!len)
		return "?";
	buf[0] = 0;
	bw_sb_esc(&sb, s);
	return buf;
}

int bw_json_utf8(const char *json, char **fixed)
{
	const unsigned char *p = (const unsigned char *)json;
	bool changed;
	size_t total;

	*fixed = NULL;
	/* ASCII is valid as it is: most reports are all of it */
	while (*p && *p < 0x80)
		p++;
	if (!*p)
		return 0;
	total = esc_len(json, ESC_JSON, &changed);
	if (!changed)
		return 0;
	*fixed = malloc(total + 1);
	if (!*fixed)
		return -ENOMEM;
	(*fixed)[esc_into(json, ESC_JSON, *fixed, total)] = 0;
	return 0;
}
