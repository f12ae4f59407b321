/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The contract between the BPF programs and userspace: constants, map
 * layouts and the ring buffer record. Included by both sides, so it
 * includes nothing and uses only fixed-width types (vmlinux.h or
 * <linux/types.h> provides them).
 */
#ifndef BLOCKWATCH_H
#define BLOCKWATCH_H

#define BW_COMM_LEN 16
#define BW_PAGE_SIZE 4096
/*
 * The user stack is copied in whole pages from the page holding the
 * stack pointer, so every copy has a constant size and offset: N pages
 * hold at least (N - 1) * 4 KiB above the stack pointer. The number
 * copied is a load-time knob (--stack-size), at most BW_STACK_PAGES.
 */
#define BW_STACK_PAGES 17
#define BW_STACK_MAX (BW_STACK_PAGES * BW_PAGE_SIZE)
#define BW_KSTACK_DEPTH 32
/* Still-blocked threads: at most 7 pages (24 KiB above sp), so that a
 * record fits the task iterator's 8-page seq_file buffer. */
#define BW_ITER_STACK_PAGES 7
#define BW_MAX_TARGETS 1024
/* CPUs the switch path remembers who it put on (more are folded in) */
#define BW_MAX_CPUS 4096

/* Registers in DWARF numbering for x86-64 (what libdwfl expects). */
enum bw_reg {
	BW_REG_RAX, BW_REG_RDX, BW_REG_RCX, BW_REG_RBX,
	BW_REG_RSI, BW_REG_RDI, BW_REG_RBP, BW_REG_RSP,
	BW_REG_R8, BW_REG_R9, BW_REG_R10, BW_REG_R11,
	BW_REG_R12, BW_REG_R13, BW_REG_R14, BW_REG_R15,
	BW_REG_RIP,
	BW_NREGS,
};

/* Per-CPU counters, monotonic; userspace reports deltas per interval. */
enum bw_stat {
	BW_STAT_RINGBUF_FULL,	 /* slow-block record lost: ring buffer full */
	BW_STAT_STORAGE_FAIL,	 /* task storage could not be created */
	BW_STAT_STACK_FAULT,	 /* stack copy stopped at an unreadable page */
	BW_STAT_NO_STACK,	 /* block not in a syscall: no user stack */
	BW_STAT_SHORT_COUNT,	 /* blocks below the threshold */
	BW_STAT_SHORT_NS,	 /* their total off-CPU time */
	BW_STAT_SLOW_COUNT,	 /* unused: see struct bw_epoch_counts */
	BW_STAT_SLOW_NS,
	BW_STAT_LATE,		 /* blocks closed late: their switch-in never reached us */
	BW_STAT_MAX,
};

/*
 * Report epochs: userspace moves `epoch` on at each report. A record
 * carries the epoch it was emitted in, and the blocks it holds (or that
 * a full ring buffer lost) are counted in that epoch's counters, so that
 * a report's count of blocks past the threshold and its records are the
 * same blocks, however the two race. inflight: emits of the epoch still
 * running, which userspace waits out before it reads.
 */
struct bw_epoch_counts {
	__u64 emitted;	  /* blocks in records of the epoch */
	__u64 emitted_ns;
	__u64 lost;	  /* blocks the ring buffer had no room for */
	__s64 inflight;
};

/* The per-CPU counters: one value, so one map lookup per program. */
struct bw_stats {
	__u64 v[BW_STAT_MAX];
};

/* bw_event.flags */
#define BW_EV_NO_STACK	(1u << 0) /* no user stack could be copied */
#define BW_EV_TRUNCATED (1u << 1) /* stack copy ended at a fault */
#define BW_EV_NO_REGS	(1u << 2) /* registers unknown */
#define BW_EV_ONGOING	(1u << 3) /* still blocked: from the task iterator */
/* Markers, BW_EVENT_HDR_SIZE long, no block in them: the process's
 * mappings changed (exec) or it is gone (its last thread exited). */
#define BW_EV_EXEC	(1u << 4)
#define BW_EV_GONE	(1u << 5)
/* A marker too: the process's dynamic loader announced that its
 * mappings are changing (dlopen, dlclose): see bw_dl_state. */
#define BW_EV_MAPS	(1u << 6)
/* Processes whose loader announcements userspace wants (dl_watch). */
#define BW_MAX_DL_WATCH 65536

/* sched_switch prev_state bits we care about (include/linux/sched.h). */
#define BW_TASK_RUNNING		0x0000
#define BW_TASK_INTERRUPTIBLE	0x0001
#define BW_TASK_UNINTERRUPTIBLE 0x0002
#define BW_TASK_STOPPED		0x0004
#define BW_TASK_TRACED		0x0008
#define BW_TASK_NOLOAD		0x0400

/*
 * One record per syscall (or fault) during which a thread was off-CPU
 * for at least the threshold, emitted when the thread runs again. A
 * syscall can sleep several times (a futex woken spuriously, epoll
 * re-waiting): all its slow blocks land in one record.
 *
 * Only the first BW_EVENT_HDR_SIZE + stack_len bytes are ever valid: the
 * ring buffer record is sized for the pages copied, and the task
 * iterator, which writes the same record (BW_EV_ONGOING) for threads
 * still blocked past the threshold with last_end_ns = now, writes no
 * more.
 */
struct bw_event {
	__u64 first_start_ns; /* CLOCK_MONOTONIC */
	__u64 last_end_ns;
	__u64 total_ns;
	__u64 max_ns;
	__s64 syscall_nr; /* -1: not in a syscall */
	__u64 args[4];	  /* syscall arguments 0..3 */
	__u64 regs[BW_NREGS];
	__u64 stack_base; /* user address of stack[0], page aligned */
	__u32 stack_len;  /* bytes of stack[] that are valid */
	__u32 pid;
	__u32 tid;
	__u32 count;
	__u32 state; /* prev_state at the first slow block */
	__u32 flags;
	__u32 owner; /* futex waits: lock owner's tid when it went to sleep */
	__u32 kstack_len; /* bytes of kstack[] (with -K) */
	__u32 epoch;	  /* the report epoch it was emitted in */
	__u32 pad;
	/* The file at fd args[0] when the record was written (any syscall
	 * whose first argument is a small number: an fd for those that take
	 * one): its inode and its superblock's kernel dev_t; 0 if none. */
	__u64 fd_ino;
	__u32 fd_dev;
	__u32 pad2;
	__u64 kstack[BW_KSTACK_DEPTH];
	char comm[BW_COMM_LEN];
	char pcomm[BW_COMM_LEN];
	__u8 stack[BW_STACK_MAX];
};

/* offsetof without <stddef.h>: a constant expression for gcc, clang and
 * the BPF target alike. */
#define BW_EVENT_HDR_SIZE ((unsigned long)__builtin_offsetof(struct bw_event, stack))

#endif /* BLOCKWATCH_H */
