/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_DETAIL_H
#define BW_DETAIL_H

#include <json-c/json.h>
#include <stdint.h>
#include <sys/types.h>
#include "model/reason.h"

struct bw_stack;

/* What a blocked thread was doing, as the BPF side saw it. */
struct bw_wait {
	pid_t pid;
	pid_t tid;
	int64_t syscall_nr;
	uint64_t args[4];
	uint32_t state;
	uint32_t owner; /* futex waits: owner tid read by BPF, 0 if none */
};

struct bw_detail {
	char reason[BW_REASON_LEN];
	uint64_t object;  /* futex address, fd or epoll fd: tells waits apart */
	uint32_t owner;	  /* tid of the lock holder, 0 when none or unknown */
	char owner_comm[16]; /* read while the holder most likely lives */
	json_object *json; /* the JSON "detail" object, NULL when none */
	char text[256];	  /* the same for people */
};

/* Name the wait: reason (futex refined into mutex/condvar by the
 * stack), the object waited on, the lock owner, and what the fds are.
 * Reads /proc and the target's memory (process_vm_readv); never stops
 * it. */
int bw_detail_build(const struct bw_wait *w, const struct bw_stack *st, struct bw_detail *d);
void bw_detail_clear(struct bw_detail *d);

/* A tid as glibc stored it in @pid's memory -> the host's tid (they
 * differ inside a pid namespace). */
uint32_t host_tid(pid_t pid, uint32_t tid);
/* "FUTEX_WAIT_PRIVATE", "FUTEX_LOCK_PI"... */
void bw_futex_op_name(uint64_t op, char *buf, size_t len);
/* Kind of futex wait from the stack's symbols: "mutex", "condvar",
 * "rwlock", "semaphore", "join", "barrier", "lock" (glibc-internal
 * lock), or NULL. */
const char *bw_futex_kind(const struct bw_stack *st);

#endif
