/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_FRAMENAME_H
#define BW_FRAMENAME_H

#include <stddef.h>
#include "stacks/frame.h"

/* A frame's name in a flame graph (folded, svg): its symbol, else
 * "module+0xOFFSET", else "0xADDR"; kernel frames end in "_[k]", as
 * flamegraph.pl colours them. Escaped as for a terminal (bw_esc), so
 * valid UTF-8 without controls; cut to fit @len. Returns @buf. */
const char *bw_frame_name(const struct bw_frame *f, char *buf, size_t len);

#endif
