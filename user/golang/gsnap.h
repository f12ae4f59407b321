/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_GSNAP_H
#define BW_GSNAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct gobin;

/* The runtime's goroutine states (runtime2.go), the same since Go 1.0
 * but for those 1.26 added (_Gleaked 10, _Gdeadextra 11). */
enum go_state {
	GO_IDLE = 0,
	GO_RUNNABLE = 1,
	GO_RUNNING = 2,
	GO_SYSCALL = 3,
	GO_WAITING = 4,
	GO_DEAD = 6,
	GO_COPYSTACK = 8,
	GO_PREEMPTED = 9,
	GO_LEAKED = 10,
	GO_STATE_MAX = 12,
};

const char *go_state_name(uint32_t st);

/* A stack read from a goroutine, deduplicated within a snapshot. */
struct go_stack {
	uint32_t npcs;
	bool truncated;	  /* the walk did not reach runtime.goexit */
	bool first_is_pc; /* pcs[0] is where it is (not a return address) */
	uint64_t pcs[];	  /* link-time */
};

/* One goroutine, as read. */
struct go_g {
	uint64_t goid;
	uint32_t status;     /* enum go_state, the _Gscan bit removed */
	uint8_t waitreason;
	bool system;	     /* a runtime goroutine (not counted by NumGoroutine) */
	int64_t waitsince;   /* nanotime() of the target; 0: not set */
	uint64_t gopc;	     /* link-time */
	uint64_t startpc;    /* link-time */
	uint64_t waiting;    /* *sudog, 0 if none */
	uint64_t sched_sp;
	int32_t stack;	     /* index into snapshot.stacks; -1: none (running) */
};

struct go_snapshot {
	uint64_t max_goroutines; /* allglen: every G ever, the high-water mark */
	size_t n;
	struct go_g *gs;	 /* not dead */
	size_t nstacks;
	struct go_stack **stacks;
	uint32_t torn;		 /* changed while read, or implausible: skipped */
	uint32_t unreadable;	 /* could not be read: skipped */
	uint32_t unwind_failed;	 /* stack walks that did not reach goexit */
	void *index;		 /* stack dedup, during the read */
};

/* Read the goroutines of @pid (running @b, loaded at @bias). 0, or
 * -EPERM (memory not readable: ptrace access), -ESRCH (gone), -EPROTO
 * (what was read fails the layout's sanity checks: the first G is not
 * goid 1, statuses unknown), -ENOMEM. Never stops the process. */
int go_snapshot_read(pid_t pid, struct gobin *b, uint64_t bias, struct go_snapshot *s);
void go_snapshot_clear(struct go_snapshot *s);

#endif
