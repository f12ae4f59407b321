/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_CAPS_H
#define BW_CAPS_H

#include <stdbool.h>

/* May this process load BPF tracing programs (root, CAP_SYS_ADMIN, or
 * CAP_BPF with CAP_PERFMON)? */
bool bw_have_privileges(void);
/* Is capability @cap (CAP_SYS_PTRACE...) in our effective set? */
bool bw_have_cap(int cap);

/* What this run cannot see for want of a capability it has not got, in
 * words, one per line; at most @max, how many. Said at start and in
 * every report. */
int bw_missing_caps(const char **out, int max);

#endif
