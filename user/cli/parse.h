/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_PARSE_H
#define BW_PARSE_H

#include <stdint.h>
#include <sys/types.h>

/* Strict parsers for the command line: "10abc" is an error. */

/* "500us", "2s", "1.5m"... into nanoseconds: decimal digits, optionally
 * a fraction, and a unit (ns us ms s m h). Anything else (no unit, a
 * sign, hex, an exponent, ".5s", "5.s") is -EINVAL; more than 2^64-1 ns
 * (BW_DURATION_MAX_TEXT) is -ERANGE. */
#define BW_DURATION_MAX_TEXT "2^64-1 ns, about 5124095h"
int bw_parse_duration(const char *s, uint64_t *ns);
/* "65536", "64K", "16M" into bytes. */
int bw_parse_size(const char *s, uint64_t *bytes);
/* "12,34" into a malloc'ed array of PIDs. */
int bw_parse_pids(const char *s, pid_t **pids, int *npids);
/* A decimal unsigned int, nothing after it. */
int bw_parse_uint(const char *s, unsigned int *v);

#endif
