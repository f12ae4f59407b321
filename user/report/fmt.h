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

/*
 * Text from a traced process (comm, symbols, paths, socket names, JIT and
 * Go names), any bytes it likes, made safe for a terminal as `ls -b` and
 * systemd do: each byte of a control character (C0, DEL, C1), of a
 * Unicode control that reorders or breaks lines (bidi overrides and
 * isolates, U+2028/9) or that is not UTF-8 becomes \xNN, a backslash
 * \\ (so every \x came from here); valid printable UTF-8 stays as is.
 * Bytes that are not UTF-8 are C1 controls (CSI is 0x9b) to a terminal
 * that is not in UTF-8 mode, and mojibake to one that is.
 */
/* @s itself when nothing in it needs escaping, else @buf (cut to fit,
 * "..." at the cut); NULL stays NULL. */
const char *bw_esc(const char *s, char *buf, size_t len);
#define BW_ESC(s, buf) bw_esc((s), (buf), sizeof(buf))
/* Room for an escaped name in a line (a symbol, a path). */
#define BW_ESC_LEN 512
/* bw_esc appended to @sb; "?" for NULL. */
void bw_sb_esc(struct bw_strbuf *sb, const char *s);
/*
 * JSON text (json-c's, where everything outside strings is ASCII and
 * controls inside them are escaped already) made valid UTF-8: each byte
 * that is not becomes the four characters \xNN of its string, as text
 * shows it. 0 and *@fixed NULL when it is valid already, 0 and *@fixed
 * malloc'ed, or -ENOMEM.
 */
int bw_json_utf8(const char *json, char **fixed);

#endif
