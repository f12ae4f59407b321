/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_TEXT_H
#define BW_TEXT_H

#include <stddef.h>
#include "model/detail.h"

/* What a thread waits on, in words, names escaped: "mutex 0x...
 * FUTEX_WAIT_PRIVATE", "epoll fd 7: fd 5 socket:[...]"; "" for nothing.
 * Shared by the text report and the live view. */
void bw_text_detail(const struct bw_detail *d, char *buf, size_t len);

#endif
