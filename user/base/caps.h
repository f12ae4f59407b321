/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_CAPS_H
#define BW_CAPS_H

#include <stdbool.h>

/* May this process load BPF tracing programs (root, CAP_SYS_ADMIN, or
 * CAP_BPF with CAP_PERFMON)? */
bool bw_have_privileges(void);

#endif
