/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_REASON_H
#define BW_REASON_H

#include <stddef.h>
#include <stdint.h>

#define BW_REASON_LEN 40

/* Name of x86-64 syscall @nr, or NULL when unknown. */
const char *bw_syscall_name(int64_t nr);
/* Number of the syscall called @name, or -1. */
int64_t bw_syscall_nr(const char *name);
/* The wait reason of a block from its syscall and task state: futex,
 * epoll, poll, read, accept, write, connect, wait, sleep, io, stopped,
 * or other:<syscall> (other:none outside a syscall). detail.c refines
 * futex into mutex and condvar from the stack. */
void bw_reason(int64_t syscall_nr, uint32_t state, char *buf, size_t len);

#endif
