/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_WAIT_TEXT_H
#define BW_WAIT_TEXT_H

#include <stddef.h>
#include "model/detail.h"

/* Room for one "on ..." line. */
#define BW_WAIT_TEXT_MAX 256

/* "mutex 0x... FUTEX_WAIT_PRIVATE", "epoll fd 7: fd 5 socket:[...]",
 * "in fsync"...; "" when nothing is known. Names from the process are
 * escaped (bw_esc). */
void bw_wait_text(const struct bw_detail *d, char *buf, size_t len);

#endif
