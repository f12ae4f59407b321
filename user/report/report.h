/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_REPORT_H
#define BW_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "model/agg.h"

/* "1.20s", "350ms", "12.5us": short, for people. */
void bw_fmt_duration(uint64_t ns, char *buf, size_t len);
/* RFC 3339 UTC with milliseconds: 2026-11-27T22:31:05.123Z */
void bw_fmt_time(uint64_t realtime_ns, char *buf, size_t len);

int report_text(FILE *out, const struct bw_report *r, unsigned int frames);
int report_json(FILE *out, const struct bw_report *r);

#endif
