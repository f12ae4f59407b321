// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * blockwatch BPF side. Nothing expensive happens at switch-out: the
 * user stack of a sleeping thread does not change, so it is copied only
 * for blocks that passed the threshold, once the thread runs again and
 * is about to return to user space (DESIGN.md).
 *
 *   sched_switch, prev sleeps voluntarily: remember when, in which
 *                 syscall, with which arguments (task storage)
 *   sched_switch, next wakes up: off-CPU time; below the threshold only
 *                 counters, at or above it the block is marked pending
 *   rseq_update of a pending thread: registers + top of user stack go
 *                 to the ring buffer for userspace to unwind
 *
 * Why rseq_update and not sys_exit: any sys_exit probe sets
 * SYSCALL_WORK_SYSCALL_TRACEPOINT on every task of the machine and
 * sends every syscall through the slow path (+25 ns per getppid() here,
 * 1.3x on a syscall loop). rseq_update fires on the way back to user
 * space after a thread was switched out (rseq_preempt() in
 * prepare_task_switch sets TIF_NOTIFY_RESUME), in the thread's own
 * context with its user registers in place, for every thread glibc
 * (2.35+) registered with rseq; it also covers blocks outside syscalls
 * (page faults). Threads without rseq fall back to sys_exit when the
 * user asks for it (--syscall-exit), else their record has no stack.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "blockwatch.h"
#include "arch_x86.bpf.h"
#include "core_fixes.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define PF_KTHREAD 0x00200000
#define PF_IO_WORKER 0x00000010 /* io_uring workers: no user context */
#define TASK_DEAD_BITS 0x0080
#define FUTEX_CMD_MASK 0x7f
#define FUTEX_WAIT 0
#define FUTEX_LOCK_PI 6
#define FUTEX_LOCK_PI2 13
#define FUTEX_TID_MASK 0x3fffffff
#define BW_PIDNS_DEPTH 8 /* namespaces a pid is looked for in, from its own up */

/* In .data, not .rodata: SIGHUP may change it while the programs run
 * (a load per block end, not a constant the verifier folds in). */
volatile __u64 threshold_ns = 100000000;
const volatile __u32 self_tgid;
/* blockwatch in a PID namespace below the initial one (a container):
 * that namespace's inode. Records then name tasks by their pids in it,
 * the pids its /proc knows, and tasks outside it are not traced. 0 in
 * the initial namespace, where the verifier drops all of it. */
const volatile __u32 pidns_ino;
const volatile bool filter_tgid;
/* --config: SIGHUP may go between all processes and a -p list, so
 * whether to filter is filter_now, written in place like threshold_ns
 * (in .bss: a load per traced() on every switch); without --config the
 * verifier folds filter_tgid in. */
const volatile bool filter_reloadable;
volatile bool filter_now;
/* raw_tp fallback: no BTF task pointer for `next`, so per-thread state
 * lives in a hash map keyed by tid instead of task storage. */
const volatile bool use_hash;
/* sys_exit is attached: threads without rseq get stacks there. */
const volatile bool use_sys_exit;
/* Pages of user stack to copy, 1..BW_STACK_PAGES (--stack-size). */
const volatile __u32 stack_pages = 5;
/* -K: kernel stacks too (taken at switch-out: costs every sleep). */
const volatile bool kstacks;
/* Wake-ups batched (see emit_flags): at most one forced every wake_ns
 * for the records of processes whose mappings userspace holds; 0: a
 * wake-up for every record, as the ring buffer does by itself. */
const volatile __u64 wake_ns;
/* When the last wake-up was forced (racy across CPUs: at worst one
 * more wake-up). */
__u64 last_wake_ns;

struct task_state {
	__u64 start_ns; /* switch-out of the block in progress, 0 if none */
	__u64 first_start_ns;
	__u64 last_end_ns;
	__u64 total_ns;
	__u64 max_ns;
	__s64 syscall_nr;
	__u64 args[4];
	__u32 count; /* slow blocks not yet emitted */
	__u32 state;
	__u32 owner;
	__u32 kstack_len;
	__u64 kstack[BW_KSTACK_DEPTH];
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct task_state);
} tstate SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1); /* sized by userspace when used */
	__type(key, __u32);
	__type(value, struct task_state);
} tstate_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BW_MAX_TARGETS);
	__type(key, __u32);
	__type(value, __u8);
} targets SEC(".maps");

/* The processes whose mappings userspace holds: their records wake it
 * batched (emit_flags), and their loader's announcements are wanted
 * (bw_dl_state; a static process has none to make). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	/* filled from userspace only: no 65,536 elements made at load */
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, BW_MAX_DL_WATCH);
	__type(key, __u32);
	__type(value, __u8);
} dl_watch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20); /* resized by userspace */
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bw_stats);
} stats SEC(".maps");

/*
 * Who each CPU's last switch we saw put on it, and whether that thread
 * has slow blocks to send (SEEN_PENDING): what lets every return to
 * user space on the machine but those that have work exit after one
 * load and one compare (rseq_update: who == tid).
 *
 * Some switches never reach the tracepoint (here: those away from one
 * system process's threads): when one of them brings a blocked thread
 * back, its block's end is never seen. That thread then returns to user
 * space on a CPU whose last seen switch was to someone else: the
 * compare fails, and rseq_update closes the block there, with its stack
 * still the block's. A thread gets slow blocks to send only at a
 * switch-in (end_block), so the flag set there, at each of its
 * switch-ins, covers them all.
 *
 * Per-CPU, one word (read in one load by rseq_update, which is
 * preemptible). It was a global tid array beside a global pending
 * count: the array's slots share cache lines, and every switch on one
 * CPU took the line from the others, and any slow block in flight
 * anywhere sent every return of the machine to a task storage lookup.
 */
#define SEEN_PENDING (1ULL << 32)

struct cpu_seen {
	__u64 who; /* tid, | SEEN_PENDING */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cpu_seen);
} cpu_cur SEC(".maps");

/* See struct bw_epoch_counts: written by userspace, read at each emit. */
__u32 epoch;
struct bw_epoch_counts epochs[2];

/* Scratch record for the task iterator (too big for the BPF stack, and
 * for a per-CPU value): one slot per CPU, indexed by the CPU the
 * iterator runs on (sleepable programs run with migration disabled).
 * Sized by userspace. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bw_event);
} scratch SEC(".maps");

static __always_inline struct bw_stats *stats_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&stats, &zero);
}

/* This CPU's slot of cpu_cur (the lookup is inlined by the verifier). */
static __always_inline struct cpu_seen *cpu_seen_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&cpu_cur, &zero);
}


/* Atomic although per-CPU: emit() also runs in rseq_update, which is
 * preemptible, and a sched_switch on the same CPU can land in between.
 * Counters only sched_switch touches are bumped plainly (stats_get). */
static __always_inline void stat_add(__u32 idx, __u64 v)
{
	struct bw_stats *st = stats_get();

	if (st && idx < BW_STAT_MAX)
		__sync_fetch_and_add(&st->v[idx], v);
}

static __always_inline struct task_state *state_get(struct task_struct *task, __u32 tid,
						    bool create)
{
	static const struct task_state zero;
	struct task_state *s;

	if (!use_hash)
		return bpf_task_storage_get(&tstate, task, 0,
					    create ? BPF_LOCAL_STORAGE_GET_F_CREATE : 0);
	s = bpf_map_lookup_elem(&tstate_hash, &tid);
	if (s || !create)
		return s;
	if (bpf_map_update_elem(&tstate_hash, &tid, &zero, BPF_NOEXIST))
		return NULL;
	return bpf_map_lookup_elem(&tstate_hash, &tid);
}

static __always_inline void state_done(struct task_state *s, __u32 tid)
{
	if (use_hash)
		bpf_map_delete_elem(&tstate_hash, &tid);
}

/*
 * sched_switch runs for every context switch of the machine: every
 * helper call counts. tp_btf hands out BTF pointers that are read with
 * plain loads; raw_tp only addresses, read with bpf_probe_read_kernel.
 * @btf is a constant at every call site, so each program keeps one.
 */
#define TREAD(btf, task, field) ((btf) ? (task)->field : BPF_CORE_READ(task, field))

/* The number of @pid in blockwatch's PID namespace, 0 if it has none
 * there: the namespaces of a pid go from the initial one (numbers[0])
 * to the task's own (numbers[level]); ours is near the task's end. */
static __always_inline __u32 ns_nr(struct pid *pid)
{
	unsigned int level = BPF_CORE_READ(pid, level);
	__u64 numbers = (__u64)pid + bpf_core_field_offset(struct pid, numbers);
	struct upid up;
	int i;

	for (i = 0; i < BW_PIDNS_DEPTH; i++) {
		if (i > level)
			break;
		if (bpf_probe_read_kernel(&up, sizeof(up),
					  (void *)(numbers + (level - i) * sizeof(up))))
			return 0;
		if (BPF_CORE_READ(up.ns, ns.inum) == pidns_ino)
			return up.nr;
	}
	return 0;
}

/* The process and thread ids records carry: the kernel's own unless
 * blockwatch is in a PID namespace of its own. The per-thread state and
 * the wake-up bookkeeping keep the kernel's tid either way. */
static __always_inline __u32 task_tgid(struct task_struct *t, bool btf)
{
	if (!pidns_ino)
		return TREAD(btf, t, tgid);
	return ns_nr(BPF_CORE_READ(t, group_leader, thread_pid));
}

static __always_inline __u32 task_tid(struct task_struct *t)
{
	if (!pidns_ino)
		return BPF_CORE_READ(t, pid);
	return ns_nr(BPF_CORE_READ(t, thread_pid));
}

/* Who the program runs for: not blockwatch itself, nothing outside its
 * PID namespace, and a -p target when there are targets. */
static __always_inline bool traced(__u32 tgid)
{
	if (tgid == self_tgid)
		return false;
	if (pidns_ino && !tgid)
		return false;
	if (filter_reloadable) {
		if (filter_now && !bpf_map_lookup_elem(&targets, &tgid))
			return false;
	} else if (filter_tgid && !bpf_map_lookup_elem(&targets, &tgid)) {
		return false;
	}
	return true;
}

/*
 * Read user memory of @task: the current task's with
 * bpf_probe_read_user, another's (sleepable programs only: the task
 * iterator) with bpf_copy_from_user_task. @other is a constant at every
 * call site, so each program keeps only the helper it may call.
 */
static __always_inline long read_user(void *dst, __u32 len, __u64 addr,
				      struct task_struct *task, bool other)
{
	if (other)
		return bpf_copy_from_user_task(dst, len, (void *)addr, task, 0);
	return bpf_probe_read_user(dst, len, (void *)addr);
}

/*
 * Copy up to @max_pages pages of user stack from the page holding @sp.
 * Page-sized copies at constant offsets keep the verifier simple; the
 * copy ends at the first page that cannot be read (top of the stack
 * mapping, or a page not resident). Sets stack_base and stack_len.
 */
static __always_inline void copy_stack(struct bw_event *e, __u64 sp, __u32 max_pages,
				       struct task_struct *task, bool other)
{
	__u64 base = sp & ~(__u64)(BW_PAGE_SIZE - 1);
	int i;

	e->stack_base = base;
	e->stack_len = 0;
	for (i = 0; i < BW_STACK_PAGES; i++) {
		if (i >= stack_pages || i >= max_pages)
			break;
		if (read_user(e->stack + i * BW_PAGE_SIZE, BW_PAGE_SIZE, base + i * BW_PAGE_SIZE,
			      task, other))
			break;
		e->stack_len += BW_PAGE_SIZE;
	}
}

/*
 * Who holds the lock a futex waiter sleeps on, read from the waiter's
 * memory: a glibc lock waits with FUTEX_WAIT and value 2, and
 * pthread_mutex_t keeps its owner's tid at offset 8 (__data.__owner); a
 * PI futex word holds the owner's tid. Userspace keeps it only where the
 * stack shows a mutex. 0: none.
 */
static __always_inline __u32 futex_owner(__s64 nr, const __u64 *args, struct task_struct *task,
					 bool other)
{
	__u32 cmd = args[1] & FUTEX_CMD_MASK, v = 0;

	if (nr != NR_FUTEX)
		return 0;
	/* both helpers zero @v when the read fails */
	if (cmd == FUTEX_WAIT && (__u32)args[2] == 2) {
		read_user(&v, sizeof(v), args[0] + 8, task, other);
		return v;
	}
	if (cmd == FUTEX_LOCK_PI || cmd == FUTEX_LOCK_PI2) {
		read_user(&v, sizeof(v), args[0], task, other);
		return v & FUTEX_TID_MASK;
	}
	return 0;
}

/* Who the record is about. */
static __always_inline void fill_task(struct bw_event *e, struct task_struct *task)
{
	e->pid = task_tgid(task, false);
	e->tid = task_tid(task);
	BPF_CORE_READ_STR_INTO(&e->comm, task, comm);
	BPF_CORE_READ_STR_INTO(&e->pcomm, task, group_leader, comm);
}

/* The file a syscall's first argument names as an fd of @task, if it is
 * one: what lets userspace keep an fd's name until the fd is another
 * file. Plain probe reads of the fd table (no RCU here): a table being
 * resized reads as no file or another, and userspace looks again. */
static __always_inline void fill_fd(struct bw_event *e, struct task_struct *task)
{
	struct files_struct *files;
	struct fdtable *fdt;
	struct file *f = NULL, **fds;
	__u64 fd = e->args[0];

	e->fd_ino = 0;
	e->fd_dev = 0;
	e->pad2 = 0;
	if (e->syscall_nr < 0 || fd >= (1u << 20))
		return;
	files = BPF_CORE_READ(task, files);
	if (!files)
		return;
	fdt = BPF_CORE_READ(files, fdt);
	if (!fdt || fd >= BPF_CORE_READ(fdt, max_fds))
		return;
	fds = BPF_CORE_READ(fdt, fd);
	if (!fds || bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]) || !f)
		return;
	e->fd_ino = BPF_CORE_READ(f, f_inode, i_ino);
	e->fd_dev = BPF_CORE_READ(f, f_inode, i_sb, s_dev);
}

static long stack_end_cb(struct task_struct *task, struct vm_area_struct *vma, void *end)
{
	*(__u64 *)end = vma->vm_end;
	return 0;
}

/*
 * Pages of user stack a record carries for @sp: from the page holding it
 * to the end of its mapping (a thread blocked a few calls deep has one
 * or two pages above its stack pointer, and a record sized to
 * --stack-size for every block would fill the ring buffer several
 * times faster), at most stack_pages; all stack_pages when the mapping
 * cannot be looked up now (its lock is held: bpf_find_vma only tries).
 */
static __always_inline __u32 stack_pages_for(struct task_struct *task, __u64 sp)
{
	__u64 base = sp & ~(__u64)(BW_PAGE_SIZE - 1), end = 0, n;

	if (bpf_find_vma(task, sp, stack_end_cb, &end, 0) || end <= base)
		return stack_pages;
	n = (end - base) / BW_PAGE_SIZE;
	return n < stack_pages ? (__u32)n : stack_pages;
}

/*
 * How a record is submitted. A wake-up costs userspace two context
 * switches and a pass through the event loop, more than many records
 * are to read; it is what a record costs most on a busy host. Userspace
 * holds the mappings of the processes in dl_watch (and hears from their
 * loader when they change, or compares them by time when there is no
 * loader to hear), so it need not read their records at once:
 * those wake it at most every wake_ns, the rest at once (a short-lived
 * process's mappings are read while it lives), and a ring a quarter
 * full at once. Userspace, after a read that found records, looks again
 * wake_ns later, so a record not woken for is read within about wake_ns
 * (the wake-up forced before it was at most wake_ns earlier, and the
 * read that took that one in looks again wake_ns after).
 */
static __always_inline __u64 emit_flags(__u32 tgid)
{
	__u64 now;

	if (!wake_ns)
		return 0;
	if (!bpf_map_lookup_elem(&dl_watch, &tgid) ||
	    bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >
		    bpf_ringbuf_query(&events, BPF_RB_RING_SIZE) / 4)
		return BPF_RB_FORCE_WAKEUP;
	now = bpf_ktime_get_ns();
	if (now - last_wake_ns < wake_ns)
		return BPF_RB_NO_WAKEUP;
	last_wake_ns = now;
	return BPF_RB_FORCE_WAKEUP;
}

/* Move the pending slow blocks of @s into a ring buffer record. @regs is
 * NULL when they cannot be read; the stack is copied only when @task is
 * current (its memory is the one mapped; @task is then a trusted BTF
 * pointer). The record is as long as the pages it carries. */
static __always_inline void emit(struct task_state *s, struct task_struct *task,
				 struct pt_regs *regs, bool is_current)
{
	__u32 ep = *(volatile __u32 *)&epoch;
	struct bw_epoch_counts *c = &epochs[ep & 1];
	bool copy = regs && is_current;
	__u32 npages = 0, i;
	struct bpf_dynptr dp;
	struct bw_event *e;

	__sync_fetch_and_add(&c->inflight, 1);
	if (copy)
		npages = stack_pages_for(task, regs->sp);
	if (bpf_ringbuf_reserve_dynptr(&events, BW_EVENT_HDR_SIZE + npages * BW_PAGE_SIZE, 0, &dp))
		goto lost;
	e = bpf_dynptr_data(&dp, 0, BW_EVENT_HDR_SIZE);
	if (!e)
		goto lost;
	e->epoch = ep;
	e->pad = 0;
	e->first_start_ns = s->first_start_ns;
	e->last_end_ns = s->last_end_ns;
	e->total_ns = s->total_ns;
	e->max_ns = s->max_ns;
	e->syscall_nr = s->syscall_nr;
	e->args[0] = s->args[0];
	e->args[1] = s->args[1];
	e->args[2] = s->args[2];
	e->args[3] = s->args[3];
	e->count = s->count;
	e->state = s->state;
	e->owner = s->owner;
	e->kstack_len = 0;
	if (kstacks && s->kstack_len <= sizeof(e->kstack)) {
		__builtin_memcpy(e->kstack, s->kstack, sizeof(e->kstack));
		e->kstack_len = s->kstack_len;
	}
	e->flags = 0;
	fill_task(e, task);
	fill_fd(e, task);
	if (regs) {
		read_user_regs(e->regs, regs);
	} else {
		__builtin_memset(e->regs, 0, sizeof(e->regs));
		e->flags |= BW_EV_NO_REGS;
	}
	e->stack_base = e->regs[BW_REG_RSP] & ~(__u64)(BW_PAGE_SIZE - 1);
	e->stack_len = 0;
	/* page-sized copies at constant offsets; the copy ends at the first
	 * page that cannot be read (not resident); a bounded loop */
	for (i = 0; i < BW_STACK_PAGES; i++) {
		void *page;

		if (i >= npages)
			break;
		page = bpf_dynptr_data(&dp, BW_EVENT_HDR_SIZE + i * BW_PAGE_SIZE, BW_PAGE_SIZE);
		if (!page || read_user(page, BW_PAGE_SIZE, e->stack_base + i * BW_PAGE_SIZE, task,
				       false))
			break;
		e->stack_len += BW_PAGE_SIZE;
	}
	if (copy && !e->stack_len) {
		e->flags |= BW_EV_NO_STACK;
		stat_add(BW_STAT_STACK_FAULT, 1);
	} else if (!copy) {
		e->stack_base = 0;
		e->flags |= BW_EV_NO_STACK;
		stat_add(BW_STAT_NO_STACK, 1);
	}
	bpf_ringbuf_submit_dynptr(&dp, emit_flags(e->pid));
	__sync_fetch_and_add(&c->emitted, s->count);
	__sync_fetch_and_add(&c->emitted_ns, s->total_ns);
	goto out;
lost:
	/* a failed reservation is released too */
	bpf_ringbuf_discard_dynptr(&dp, 0);
	stat_add(BW_STAT_RINGBUF_FULL, s->count);
	__sync_fetch_and_add(&c->lost, s->count);
out:
	__sync_fetch_and_add(&c->inflight, -1);
	s->count = 0;
	s->total_ns = 0;
	s->max_ns = 0;
}

/*
 * The block of @s ended at @end: counted, and when it is a slow one, kept
 * for its record (count, total, max). @atomic: off the sched_switch path,
 * where the counters need atomic adds (see stat_add). Returns whether it
 * was slow.
 */
static __always_inline bool end_block(struct task_state *s, __u64 end, bool atomic)
{
	__u64 delta = end - s->start_ns;
	struct bw_stats *st;

	s->start_ns = 0;
	if (delta < threshold_ns) {
		if (atomic) {
			stat_add(BW_STAT_SHORT_COUNT, 1);
			stat_add(BW_STAT_SHORT_NS, delta);
		} else if ((st = stats_get())) {
			st->v[BW_STAT_SHORT_COUNT]++;
			st->v[BW_STAT_SHORT_NS] += delta;
		}
		return false;
	}
	/* counted when it goes out (emit), in that report's epoch */
	if (!s->count) {
		s->first_start_ns = end - delta;
		s->total_ns = 0;
		s->max_ns = 0;
	}
	s->count++;
	s->total_ns += delta;
	if (delta > s->max_ns)
		s->max_ns = delta;
	s->last_end_ns = end;
	return true;
}

/* Where a block whose end was not seen ended: when its thread last got
 * a CPU, if the scheduler says (and it is in range), else @now. */
static __always_inline __u64 late_end(struct task_state *s, struct task_struct *task, __u64 now,
				      bool btf)
{
	__u64 arrival = task_last_arrival(task, btf);

	return arrival > s->start_ns && arrival <= now ? arrival : now;
}

/*
 * A thread going to sleep with its last block still open: the switch
 * that brought it back was not seen, and nothing closed the block since
 * (no rseq, or its rseq_update was skipped). Its stack is no longer the
 * block's: the record goes without one (counted as no_stack).
 */
static __always_inline void close_late_at_switch_out(struct task_state *s,
						     struct task_struct *cur, __u64 now, bool btf)
{
	stat_add(BW_STAT_LATE, 1);
	end_block(s, late_end(s, cur, now, btf), false);
	if (!s->count)
		return;
	emit(s, cur, NULL, false);
}

/*
 * bpf_ktime_get_ns (~115 ns here, the dearest call of the path) is read
 * once per switch, and only when a block starts or ends in it: most
 * switches of a machine (kernel threads, idle, preemption, threads
 * without state) never need the time. switch_out returns it, 0 if it
 * did not read it; switch_in reads it then if it needs it.
 */
static __always_inline __u64 switch_out(void *ctx, struct task_struct *prev, bool preempt,
					bool btf)
{
	__u64 now;
	struct task_struct *cur;
	struct task_state *s;
	struct pt_regs *regs;
	unsigned int state;
	__u32 tgid, tid;

	if (preempt)
		return 0; /* run-queue delay, not blocking */
	state = task_state_of(prev, btf);
	if (state == BW_TASK_RUNNING || (state & TASK_DEAD_BITS))
		return 0;
	if (TREAD(btf, prev, flags) & (PF_KTHREAD | PF_IO_WORKER))
		return 0;
	tgid = task_tgid(prev, btf);
	if (!traced(tgid))
		return 0;
	tid = TREAD(btf, prev, pid);
	/* sched_switch runs on prev's stack: current is prev, and the
	 * current task pointer is a BTF one in every program type. */
	cur = btf ? prev : bpf_get_current_task_btf();
	s = state_get(cur, tid, true);
	if (!s) {
		stat_add(BW_STAT_STORAGE_FAIL, 1);
		return 0;
	}
	now = bpf_ktime_get_ns();
	if (s->start_ns)
		close_late_at_switch_out(s, cur, now, btf);
	s->start_ns = now;
	if (s->count)
		return now; /* same syscall sleeping again: keep its reason */
	regs = (struct pt_regs *)bpf_task_pt_regs(cur);
	read_syscall(regs, &s->syscall_nr, s->args);
	s->state = state;
	s->owner = futex_owner(s->syscall_nr, s->args, cur, false);
	s->kstack_len = 0;
	if (kstacks) {
		long n = bpf_get_stack(ctx, s->kstack, sizeof(s->kstack), 0);

		s->kstack_len = n > 0 ? n : 0;
	}
	return now;
}

/*
 * Whether @task may have task storage at all: tasks that never had any
 * (kernel threads, threads never seen asleep, every untraced thread
 * under -p) are told by one load, without a helper call. Only for BTF
 * pointers; task_struct::bpf_storage exists with CONFIG_BPF_SYSCALL.
 */
static __always_inline bool may_have_storage(struct task_struct *task, bool btf)
{
	if (!btf || use_hash || !bpf_core_field_exists(task->bpf_storage))
		return true;
	return task->bpf_storage != NULL;
}

static __always_inline void switch_in(struct task_struct *next, __u64 now, bool btf)
{
	struct cpu_seen *seen;
	struct task_state *s;
	__u32 tid;

	tid = TREAD(btf, next, pid);
	seen = cpu_seen_get();
	if (!seen)
		return; /* never: a per-CPU array's only slot */
	seen->who = tid;
	if (!tid)
		return; /* idle */
	if (!may_have_storage(next, btf))
		return;
	s = state_get(next, tid, false);
	if (!s)
		return;
	if (!s->start_ns) {
		/* back after a preemption with records still to send */
		if (s->count)
			seen->who = tid | SEEN_PENDING;
		return;
	}
	if (!now)
		now = bpf_ktime_get_ns();
	if (!end_block(s, now, false)) {
		if (!s->count)
			state_done(s, tid);
		else
			seen->who = tid | SEEN_PENDING;
		return;
	}
	if (!has_rseq(next, btf) && (!use_sys_exit || s->syscall_nr < 0)) {
		/* Nothing will run in its context before it is back in user
		 * space, and its memory is not mapped here: registers only. */
		emit(s, next, btf ? (struct pt_regs *)bpf_task_pt_regs(next) : NULL, false);
		state_done(s, tid);
		return;
	}
	seen->who = tid | SEEN_PENDING;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(bw_switch_btf, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	switch_in(next, switch_out(ctx, prev, preempt, true), true);
	return 0;
}

SEC("?raw_tp/sched_switch")
int BPF_PROG(bw_switch_raw, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	switch_in(next, switch_out(ctx, prev, preempt, false), false);
	return 0;
}

/* The thread is back on a CPU and about to return to user space: its
 * user registers and stack are exactly those of the block. */
static __always_inline int on_resume(bool at_exit)
{
	struct task_struct *cur;
	struct cpu_seen *seen;
	struct task_state *s;
	bool late = false;
	__u32 tid;

	tid = (__u32)bpf_get_current_pid_tgid();
	/* The common return: the switch that put this thread here was seen,
	 * and it has nothing to send. */
	seen = cpu_seen_get();
	if (seen && seen->who == tid)
		return 0;
	cur = bpf_get_current_task_btf();
	if (!may_have_storage(cur, true))
		return 0;
	s = state_get(cur, tid, false);
	if (!s)
		return 0;
	if (s->start_ns) {
		/* running with its block open: its switch-in was not seen */
		stat_add(BW_STAT_LATE, 1);
		end_block(s, late_end(s, cur, bpf_ktime_get_ns(), true), true);
		late = true;
	}
	if (!s->count) {
		state_done(s, tid);
		return 0;
	}
	/* A thread without rseq (and no sys_exit probe) exiting with a block
	 * closed late may have run in user space since: its stack now is not
	 * the block's. Any other is still where it blocked (rseq_update or
	 * sys_exit would have closed the block on the way out). */
	if (at_exit && late && !use_sys_exit && !has_rseq(cur, true))
		emit(s, cur, NULL, false);
	else
		emit(s, cur, (struct pt_regs *)bpf_task_pt_regs(cur), true);
	state_done(s, tid);
	return 0;
}

SEC("raw_tp/rseq_update")
int BPF_PROG(bw_rseq_update)
{
	return on_resume(false);
}

SEC("?raw_tp/sys_exit")
int BPF_PROG(bw_sys_exit)
{
	return on_resume(false);
}

/* Tell userspace that @tgid's mappings changed or that it is gone, so
 * that it rereads or forgets them (in order with the records before). */
static __always_inline void emit_marker(__u32 tgid, __u32 flag)
{
	struct bw_event *e = bpf_ringbuf_reserve(&events, BW_EVENT_HDR_SIZE, 0);

	if (!e)
		return; /* userspace prunes dead processes each report anyway */
	__builtin_memset(e, 0, BW_EVENT_HDR_SIZE);
	e->pid = tgid;
	e->tid = tgid;
	e->flags = flag;
	bpf_ringbuf_submit(e, 0);
}

/* A thread killed before it got back to user space: keep its blocks.
 * The last thread of a process: its cached mappings can go. */
SEC("raw_tp/sched_process_exit")
int BPF_PROG(bw_exit)
{
	struct task_struct *cur = bpf_get_current_task_btf();
	__u32 tgid = task_tgid(cur, true);

	on_resume(true);
	/* signal->live is decremented before this tracepoint */
	if (!BPF_CORE_READ(cur, signal, live.counter) && traced(tgid))
		emit_marker(tgid, BW_EV_GONE);
	return 0;
}

/*
 * The dynamic loader calls _dl_debug_state (its r_brk, the debuggers'
 * breakpoint) before and after every change of the link map: dlopen,
 * dlclose, the start of a program. Userspace attaches this to each
 * loader file it meets (SEC("uprobe"): no target of its own), and asks
 * for the processes whose mappings it holds: the marker, in order with
 * their records, says those mappings may no longer be the ones the
 * records after it ran with. A record before it was emitted with the
 * old ones, and is named with them.
 */
SEC("uprobe")
int bw_dl_state(struct pt_regs *ctx)
{
	__u32 tgid = pidns_ino ? task_tgid(bpf_get_current_task_btf(), true)
			       : bpf_get_current_pid_tgid() >> 32;

	(void)ctx;
	if (bpf_map_lookup_elem(&dl_watch, &tgid))
		emit_marker(tgid, BW_EV_MAPS);
	return 0;
}

/*
 * exec replaced the mappings: userspace must reread them. A block still
 * pending from before (a slow read of the binary inside execve) cannot
 * have its old stack any more: keep its time, without a stack. rseq is
 * reset by exec, so nothing else would flush it.
 */
SEC("raw_tp/sched_process_exec")
int BPF_PROG(bw_exec)
{
	struct task_struct *cur = bpf_get_current_task_btf();
	struct task_state *s;
	__u32 tid = cur->pid, tgid = task_tgid(cur, true);

	if (!traced(tgid))
		return 0;
	s = state_get(cur, tid, false);
	if (s && s->count) {
		emit(s, cur, NULL, false);
		state_done(s, tid);
	}
	emit_marker(tgid, BW_EV_EXEC);
	return 0;
}

/* When the block of a thread found asleep began: when we saw it fall
 * asleep, else when it last ran. 0: not blocked past the threshold. */
static __always_inline __u64 block_start(struct task_struct *task, struct task_state *s,
					 __u64 now)
{
	__u64 start = s && s->start_ns ? s->start_ns : task_sleep_start(task, now);

	if (!start || start > now || now - start < threshold_ns)
		return 0;
	return start;
}

/*
 * A thread asleep since before blockwatch started has no block in its
 * state: take it over, so that its wake-up is accounted like any other.
 * Returns the state when it was adopted.
 */
static __always_inline struct task_state *adopt(struct task_struct *task, __u32 tid,
						__u64 start, unsigned int state,
						struct pt_regs *regs)
{
	struct task_state *s = state_get(task, tid, true);

	if (!s || s->count || __sync_val_compare_and_swap(&s->start_ns, 0, start))
		return NULL;
	read_syscall(regs, &s->syscall_nr, s->args);
	s->state = state;
	s->owner = 0;
	s->kstack_len = 0;
	/* Woke up meanwhile: its switch-in may have come before start_ns
	 * was set; take the adoption back. */
	if (task_state_of(task, true) == BW_TASK_RUNNING) {
		__sync_val_compare_and_swap(&s->start_ns, start, 0);
		return NULL;
	}
	return s;
}

/* The wait of a still-blocked thread: as recorded when it fell asleep,
 * else from its registers now; and the lock owner now, which may not be
 * the one it went to sleep on. */
static __always_inline void fill_wait(struct bw_event *e, struct task_struct *task,
				      struct task_state *s, __u64 start, unsigned int state,
				      struct pt_regs *regs)
{
	if (s && s->start_ns == start && !s->count) {
		e->syscall_nr = s->syscall_nr;
		e->args[0] = s->args[0];
		e->args[1] = s->args[1];
		e->args[2] = s->args[2];
		e->args[3] = s->args[3];
		e->state = s->state;
	} else {
		read_syscall(regs, &e->syscall_nr, e->args);
		e->state = state;
	}
	e->owner = futex_owner(e->syscall_nr, e->args, task, true);
}

/*
 * Still-blocked threads: every report, userspace runs this iterator once.
 * For each thread off-CPU past the threshold it writes a record with the
 * block's age, reason, registers and user stack, copied with
 * bpf_copy_from_user_task (sleepable: the target is never stopped or
 * signalled).
 */
SEC("iter.s/task")
int bw_iter_blocked(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	__u32 tid, len, cpu = bpf_get_smp_processor_id();
	struct task_state *s, *adopted = NULL;
	unsigned int state;
	struct pt_regs *regs;
	struct bw_event *e;
	__u64 now, start;

	if (!task || (task->flags & (PF_KTHREAD | PF_IO_WORKER)) ||
	    !traced(task_tgid(task, true)))
		return 0;
	state = task_state_of(task, true);
	if (state == BW_TASK_RUNNING || (state & TASK_DEAD_BITS))
		return 0;
	tid = task->pid;
	now = bpf_ktime_get_ns();
	regs = (struct pt_regs *)bpf_task_pt_regs(task);
	s = state_get(task, tid, false);
	start = block_start(task, s, now);
	if (!start)
		return 0;
	if (!s || !s->start_ns)
		s = adopted = adopt(task, tid, start, state, regs);
	e = bpf_map_lookup_elem(&scratch, &cpu);
	if (!e)
		return 0;
	e->first_start_ns = start;
	e->last_end_ns = now;
	e->total_ns = now - start;
	e->max_ns = now - start;
	e->count = 1;
	e->flags = BW_EV_ONGOING;
	fill_wait(e, task, s, start, state, regs);
	/* A block we take over keeps its owner for when it ends. Looked up
	 * again: the copies above may sleep, and a hash element be reused. */
	if (adopted) {
		adopted = state_get(task, tid, false);
		if (adopted && adopted->start_ns == start)
			adopted->owner = e->owner;
	}
	fill_task(e, task);
	fill_fd(e, task);
	read_user_regs(e->regs, regs);
	/* One object's output must fit the iterator's 32 KiB seq_file
	 * buffer, or read() fails with E2BIG. */
	copy_stack(e, regs->sp, BW_ITER_STACK_PAGES, task, true);
	e->kstack_len = 0;
	if (kstacks) {
		long n = bpf_get_task_stack(task, e->kstack, sizeof(e->kstack), 0);

		e->kstack_len = n > 0 ? n : 0;
	}
	len = e->stack_len;
	if (!len)
		e->flags |= BW_EV_NO_STACK;
	if (len > BW_STACK_MAX)
		len = BW_STACK_MAX;
	bpf_seq_write(ctx->meta->seq, e, BW_EVENT_HDR_SIZE + len);
	return 0;
}
