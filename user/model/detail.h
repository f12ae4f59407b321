/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_DETAIL_H
#define BW_DETAIL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "model/reason.h"
#include "proc/procfs.h"

struct bw_stack;
struct fdinfo;

/* What a blocked thread was doing, as the BPF side saw it. */
struct bw_wait {
	pid_t pid;
	pid_t tid;
	int64_t syscall_nr;
	uint64_t args[4];
	uint32_t state;
	uint32_t owner; /* futex waits: owner tid read by BPF, 0 if none */
	uint64_t fd_ino; /* the file at fd args[0] (BPF's fd_ino, fd_dev), 0 if none */
	uint32_t fd_dev;
};

enum bw_detail_kind {
	BW_DETAIL_NONE,
	BW_DETAIL_FUTEX,
	BW_DETAIL_FD,	 /* read, write, accept, connect... on one fd */
	BW_DETAIL_FDSET, /* poll, ppoll, select, pselect6 */
	BW_DETAIL_EPOLL,
	BW_DETAIL_CHILD, /* wait4, waitid */
};

/* What a futex word is, from the stack's innermost pthread function. */
enum bw_futex_kind {
	BW_FUTEX_PLAIN,
	BW_FUTEX_MUTEX,
	BW_FUTEX_CONDVAR,
	BW_FUTEX_RWLOCK,
	BW_FUTEX_SEMAPHORE,
	BW_FUTEX_JOIN,
	BW_FUTEX_BARRIER,
	BW_FUTEX_LOCK,	  /* a glibc-internal lock */
	BW_FUTEX_PI_LOCK, /* FUTEX_LOCK_PI with no pthread function seen */
	BW_FUTEX_WAITV,	  /* futex_waitv */
	BW_FUTEX_KIND_MAX,
};

struct bw_fd_ref {
	int fd;
	char *target; /* what it is (fdinfo__describe); NULL: unknown, gone */
};

/* What was waited on: a kind and its data, nothing rendered. */
struct bw_detail {
	enum bw_detail_kind kind;
	/* uninterruptible sleep (reason io): the syscall it happened in,
	 * NULL outside one (a page fault) */
	bool io;
	const char *syscall;
	union {
		struct {
			enum bw_futex_kind kind;
			uint64_t addr;
			uint64_t op;
			uint64_t condvar; /* the pthread_cond_t, 0 if unknown */
		} futex;
		struct bw_fd_ref fd;
		struct {
			const char *call; /* FDSET: "poll", "select"... */
			int epfd;	  /* EPOLL */
			uint32_t n;
			struct bw_fd_ref *fds;
		} set;
		struct {
			int pid;
		} child;
	};
};

/* A wait, named: its reason, the object it waits on (tells waits of one
 * thread apart), the lock owner, and the detail. */
struct bw_wait_info {
	char reason[BW_REASON_LEN];
	uint64_t object;	       /* futex address, fd or epoll fd */
	uint32_t owner;		       /* lock holder's tid; 0: none or unknown */
	char owner_comm[BW_COMM_MAX];  /* read while the holder most likely lives */
	struct bw_detail detail;
};

/* Name the wait: reason (futex refined into mutex/condvar by the
 * stack), the object waited on, the lock owner, and what the fds are
 * (@fi names them). Reads /proc and the target's memory; never stops
 * it. 0 or -ENOMEM. */
int bw_wait_describe(const struct bw_wait *w, const struct bw_stack *st, struct fdinfo *fi,
		     struct bw_wait_info *out);
void bw_detail_clear(struct bw_detail *d);
/* Move @src into @dst (which must be clear); @src is left clear. */
void bw_detail_move(struct bw_detail *dst, struct bw_detail *src);

/* "FUTEX_WAIT_PRIVATE", "FUTEX_LOCK_PI"... */
void bw_futex_op_name(uint64_t op, char *buf, size_t len);
/* "mutex", "condvar", "futex" (BW_FUTEX_PLAIN)... */
const char *bw_futex_kind_name(enum bw_futex_kind k);
/* Kind of futex wait from the stack's symbols. */
enum bw_futex_kind bw_futex_kind(const struct bw_stack *st);

#endif
