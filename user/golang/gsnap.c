// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * A snapshot of a Go process's goroutines, read from outside while it
 * runs (process_vm_readv, batched): allglen then allgptr (the order the
 * runtime publishes them in), every G, the top of each parked G's stack,
 * walked by frame pointers (pcsp where there are none), then each G read
 * again: one that changed meanwhile is torn and skipped, never reported.
 * G structs are never freed by the runtime, so every pointer in allgs
 * stays readable.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>
#include "golang/gobin.h"
#include "golang/gsnap.h"
#include "proc/procfs.h"

#define BATCH 512
#define STACK_READ 8192		/* bytes above sched.sp read in the batch */
#define MAX_GO_FRAMES 64
#define MAX_GS (8u << 20)	/* more Gs than this: not a plausible allglen */
#define SCAN_BIT 0x1000
#define G_MAX 4096		/* no runtime.g has been near this big */
/* stack words read one by one beyond the batch's copies, per snapshot:
 * a process whose frame pointers lead it on (hostile, or corrupt)
 * cannot make a snapshot cost more than this many syscalls */
#define EXTRA_READS 65536

static const char *const state_names[GO_STATE_MAX] = {
	[GO_IDLE] = "idle",	    [GO_RUNNABLE] = "runnable", [GO_RUNNING] = "running",
	[GO_SYSCALL] = "syscall",   [GO_WAITING] = "waiting",	[5] = "moribund",
	[GO_DEAD] = "dead",	    [7] = "enqueue",		[GO_COPYSTACK] = "copystack",
	[GO_PREEMPTED] = "preempted", [GO_LEAKED] = "leaked",	[11] = "dead",
};

const char *go_state_name(uint32_t st)
{
	return st < GO_STATE_MAX && state_names[st] ? state_names[st] : "unknown";
}

struct stack_ent {
	UT_hash_handle hh;
	uint32_t index;
	struct go_stack *st;
};

/* One G of a batch: its raw bytes, and its stack top. */
struct slot {
	uint64_t addr;
	uint8_t *raw;
	uint8_t *stack;
	uint64_t stack_base;
	size_t stack_len;
	struct go_g g;
	uint64_t lo, hi, pc, bp, sp;
	bool unwind;
	bool complete; /* its walk reached goexit */
};

struct reader {
	pid_t pid;
	struct gobin *b;
	const struct go_layout *L;
	uint64_t bias;
	size_t gsize; /* bytes of a G we read */
	struct go_snapshot *s;
	struct slot slots[BATCH];
	uint8_t *raw;	/* BATCH * gsize */
	uint8_t *stacks; /* BATCH * STACK_READ */
	struct procfs_iov iov[BATCH];
	bool checked; /* allgs[0] was goroutine 1 */
	uint32_t extra_reads;
	struct go_layout L_checked; /* the layout, its offsets bounded */
};

static uint64_t u64_at(const uint8_t *raw, uint32_t off)
{
	uint64_t v;

	memcpy(&v, raw + off, sizeof(v));
	return v;
}

static uint32_t u32_at(const uint8_t *raw, uint32_t off)
{
	uint32_t v;

	memcpy(&v, raw + off, sizeof(v));
	return v;
}

/*
 * The offsets the reader decodes, checked once: a layout comes from the
 * binary, which may lie. Every offset must leave 8 bytes inside G_MAX;
 * an optional one that does not is taken as absent, a required one
 * refuses the snapshot. Returns how many bytes of a G to read, or 0.
 */
static size_t g_bytes(struct go_layout *L)
{
	uint32_t *required[] = {
		&L->g_stack_lo, &L->g_stack_hi, &L->g_sched, &L->gobuf_sp, &L->gobuf_pc,
		&L->gobuf_bp, &L->g_atomicstatus, &L->g_goid, &L->g_waitsince,
		&L->g_waitreason, &L->g_gopc, &L->g_startpc,
	};
	uint32_t *optional[] = { &L->g_syscallsp, &L->g_syscallpc, &L->g_syscallbp, &L->g_waiting };
	size_t i, max = 0;

	if (L->gobuf_sp > 64 || L->gobuf_pc > 64 || L->gobuf_bp > 64)
		return 0;
	for (i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		if (*required[i] >= G_MAX - 8 - 64)
			return 0;
	for (i = 0; i < sizeof(optional) / sizeof(optional[0]); i++)
		if (*optional[i] >= G_MAX - 8)
			*optional[i] = GO_NOFIELD;
	for (i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		if (*required[i] + 8 + (required[i] == &L->g_sched ? 64 : 0) > max)
			max = *required[i] + 8 + (required[i] == &L->g_sched ? 64 : 0);
	for (i = 0; i < sizeof(optional) / sizeof(optional[0]); i++)
		if (*optional[i] != GO_NOFIELD && *optional[i] + 8 > max)
			max = *optional[i] + 8;
	return max;
}

static uint64_t opt64(const uint8_t *raw, uint32_t off)
{
	return off == GO_NOFIELD ? 0 : u64_at(raw, off);
}

static bool in_text(const struct reader *r, uint64_t pc)
{
	return pc >= r->b->elf.text_addr && pc < r->b->elf.text_end;
}

/* Decode a G; false when it is implausible (a torn read, a freed-and-
 * reused slot mid-write) or dead. */
static bool decode(struct reader *r, struct slot *sl)
{
	const struct go_layout *L = r->L;
	const uint8_t *raw = sl->raw;
	struct go_g *g = &sl->g;

	memset(g, 0, sizeof(*g));
	g->status = u32_at(raw, L->g_atomicstatus) & ~SCAN_BIT;
	g->goid = u64_at(raw, L->g_goid);
	g->waitreason = raw[L->g_waitreason];
	g->waitsince = (int64_t)u64_at(raw, L->g_waitsince);
	g->gopc = u64_at(raw, L->g_gopc) - r->bias;
	g->startpc = u64_at(raw, L->g_startpc) - r->bias;
	g->waiting = opt64(raw, L->g_waiting);
	g->stack = -1;
	sl->lo = u64_at(raw, L->g_stack_lo);
	sl->hi = u64_at(raw, L->g_stack_hi);
	sl->sp = u64_at(raw, L->g_sched + L->gobuf_sp);
	sl->pc = u64_at(raw, L->g_sched + L->gobuf_pc) - r->bias;
	sl->bp = u64_at(raw, L->g_sched + L->gobuf_bp);
	g->sched_sp = sl->sp;
	if (g->status == GO_DEAD || g->status == 11 /* _Gdeadextra */)
		return false;
	if (g->status >= GO_STATE_MAX || !g->goid || sl->lo >= sl->hi ||
	    sl->hi - sl->lo > (1u << 30) ||
	    (g->status == GO_WAITING && L->nreasons && g->waitreason >= L->nreasons))
		return (r->s->torn++, false);
	if (g->status == GO_SYSCALL) {
		sl->sp = opt64(raw, L->g_syscallsp);
		sl->pc = opt64(raw, L->g_syscallpc) - r->bias;
		sl->bp = opt64(raw, L->g_syscallbp);
		if (L->g_syscallsp == GO_NOFIELD || L->g_syscallpc == GO_NOFIELD) {
			sl->unwind = false; /* no saved context: its state alone */
			return true;
		}
	}
	sl->unwind = g->status == GO_WAITING || g->status == GO_RUNNABLE ||
		     g->status == GO_SYSCALL || g->status == GO_PREEMPTED || g->status == GO_LEAKED;
	if (sl->unwind && (sl->sp < sl->lo || sl->sp >= sl->hi || !in_text(r, sl->pc)))
		return (r->s->torn++, false);
	return true;
}

/* A word of the goroutine's stack: from the copy, else read now (a
 * frame above what the batch read). */
static bool stack_word(struct reader *r, const struct slot *sl, uint64_t addr, uint64_t *v)
{
	if (addr >= sl->stack_base && addr + 8 <= sl->stack_base + sl->stack_len) {
		memcpy(v, sl->stack + (addr - sl->stack_base), 8);
		return true;
	}
	if (addr < sl->lo || addr + 8 > sl->hi || r->extra_reads >= EXTRA_READS)
		return false;
	r->extra_reads++;
	return !procfs_read_mem(r->pid, addr, v, 8);
}

static bool in_goexit(const struct reader *r, uint64_t pc)
{
	return pc >= r->b->goexit_entry && pc < r->b->goexit_end;
}

/* One frame up: by the frame pointer when there is one, else by the
 * function's pcsp table (what the runtime's own unwinder uses). The
 * frame's saved BP sits just below its return address. */
static bool step(struct reader *r, const struct slot *sl, uint64_t *pc, uint64_t *sp,
		 uint64_t *bp)
{
	uint64_t ret, next_bp = 0;
	int32_t delta;

	if (*bp) {
		if (*bp < *sp || *bp + 16 > sl->hi || !stack_word(r, sl, *bp + 8, &ret) ||
		    !stack_word(r, sl, *bp, &next_bp))
			return false;
		*sp = *bp + 16;
		*bp = next_bp;
	} else {
		if (gopclntab__spdelta(r->b->pcln, *pc, &delta) || delta < 0 ||
		    !stack_word(r, sl, *sp + delta, &ret))
			return false;
		if (delta >= 8)
			stack_word(r, sl, *sp + delta - 8, &next_bp);
		*sp += delta + 8;
		*bp = next_bp > *sp && next_bp < sl->hi ? next_bp : 0;
	}
	ret -= r->bias;
	if (!in_text(r, ret))
		return false;
	*pc = ret;
	return true;
}

/* The pcs of a G's stack into @pcs; *complete when it reached goexit. */
static int walk(struct reader *r, const struct slot *sl, uint64_t *pcs, bool *complete,
		bool *first_is_pc)
{
	uint64_t pc = sl->pc, sp = sl->sp, bp = sl->bp;
	int n = 0;

	*complete = false;
	/* Never run: sched.pc is its function's entry, sched.sp holds the
	 * return address into goexit that newproc1 pushed. */
	*first_is_pc = pc == sl->g.startpc;
	if (*first_is_pc)
		bp = 0;
	pcs[n++] = pc;
	while (n < MAX_GO_FRAMES) {
		if (in_goexit(r, pc)) {
			*complete = true;
			break;
		}
		if (!step(r, sl, &pc, &sp, &bp))
			break;
		pcs[n++] = pc;
	}
	return n;
}

static int add_stack(struct reader *r, const uint64_t *pcs, int n, bool complete,
		     bool first_is_pc)
{
	struct go_snapshot *s = r->s;
	struct stack_ent *head = s->index, *e;
	size_t keylen = sizeof(struct go_stack) + n * sizeof(uint64_t);
	struct go_stack *st = calloc(1, keylen), **grown;

	if (!st)
		return -ENOMEM;
	st->npcs = n;
	st->truncated = !complete;
	st->first_is_pc = first_is_pc;
	memcpy(st->pcs, pcs, n * sizeof(uint64_t));
	HASH_FIND(hh, head, st, keylen, e);
	if (e) {
		free(st);
		return e->index;
	}
	e = calloc(1, sizeof(*e));
	grown = realloc(s->stacks, (s->nstacks + 1) * sizeof(*grown));
	if (!e || !grown) {
		free(e);
		free(st);
		if (grown)
			s->stacks = grown;
		return -ENOMEM;
	}
	s->stacks = grown;
	e->index = s->nstacks;
	e->st = st;
	s->stacks[s->nstacks++] = st;
	HASH_ADD_KEYPTR(hh, head, e->st, keylen, e);
	s->index = head;
	return e->index;
}

/* A runtime goroutine, as isSystemGoroutine (traceback.go) tells them:
 * started in package runtime, but for runtime.main and the async event
 * handler; the finalizer goroutine counts as one while idle. */
static bool system_g(struct reader *r, uint64_t startpc)
{
	struct go_func f;

	if (gopclntab__find(r->b->pcln, startpc, &f))
		return false;
	if (!strcmp(f.name, "runtime.main") || !strcmp(f.name, "runtime.handleAsyncEvent"))
		return false;
	return !strncmp(f.name, "runtime.", 8);
}

/* Read the stack tops of the batch's Gs that have one. */
static void read_stacks(struct reader *r, size_t m)
{
	size_t i, k = 0;

	for (i = 0; i < m; i++) {
		struct slot *sl = &r->slots[i];
		uint64_t top;

		sl->stack_len = 0;
		if (!sl->unwind)
			continue;
		top = sl->hi - sl->sp < STACK_READ ? sl->hi : sl->sp + STACK_READ;
		sl->stack_base = sl->sp;
		sl->stack = r->stacks + i * STACK_READ;
		r->iov[k++] = (struct procfs_iov){ .addr = sl->sp, .buf = sl->stack, .len = top - sl->sp };
	}
	if (k)
		procfs_read_many(r->pid, r->iov, k);
	for (i = 0, k = 0; i < m; i++) {
		struct slot *sl = &r->slots[i];

		if (sl->unwind && r->iov[k++].ok)
			sl->stack_len = r->iov[k - 1].len;
	}
}

/* Read the batch's Gs again: one whose state, id or saved context
 * changed while its stack was read is torn. */
static void revalidate(struct reader *r, size_t m, bool *keep)
{
	const struct go_layout *L = r->L;
	uint8_t *again = r->stacks; /* the stack copies are walked already */
	size_t i;

	for (i = 0; i < m; i++)
		r->iov[i] = (struct procfs_iov){ .addr = r->slots[i].addr, .buf = again + i * r->gsize, .len = r->gsize };
	procfs_read_many(r->pid, r->iov, m);
	for (i = 0; i < m; i++) {
		const uint8_t *a = r->slots[i].raw, *b = again + i * r->gsize;

		/* only a G whose stack was read can be torn by a change: the
		 * others are what they were when read */
		if (!keep[i] || !r->slots[i].unwind)
			continue;
		if (!r->iov[i].ok ||
		    memcmp(a + L->g_atomicstatus, b + L->g_atomicstatus, 4) ||
		    memcmp(a + L->g_goid, b + L->g_goid, 8) ||
		    memcmp(a + L->g_sched + L->gobuf_sp, b + L->g_sched + L->gobuf_sp, 8) ||
		    memcmp(a + L->g_sched + L->gobuf_pc, b + L->g_sched + L->gobuf_pc, 8) ||
		    (L->g_syscallsp != GO_NOFIELD &&
		     memcmp(a + L->g_syscallsp, b + L->g_syscallsp, 8)) ||
		    (L->g_syscallpc != GO_NOFIELD &&
		     memcmp(a + L->g_syscallpc, b + L->g_syscallpc, 8))) {
			keep[i] = false;
			r->s->torn++;
		}
	}
}

static int keep_g(struct reader *r, struct slot *sl)
{
	struct go_snapshot *s = r->s;
	struct go_g *grown;

	if (!(s->n & (s->n - 1)) || !s->gs) {
		grown = realloc(s->gs, (s->n ? s->n * 2 : 256) * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		s->gs = grown;
	}
	sl->g.system = system_g(r, sl->g.startpc);
	s->gs[s->n++] = sl->g;
	return 0;
}

static int do_batch(struct reader *r, const uint64_t *gp, size_t m)
{
	uint64_t pcs[MAX_GO_FRAMES];
	bool keep[BATCH], complete, first_is_pc;
	size_t i;
	int err, n;

	for (i = 0; i < m; i++) {
		r->slots[i].addr = gp[i];
		r->slots[i].raw = r->raw + i * r->gsize;
		r->iov[i] = (struct procfs_iov){ .addr = gp[i], .buf = r->slots[i].raw, .len = r->gsize };
	}
	err = procfs_read_many(r->pid, r->iov, m);
	if (err < 0)
		return err;
	/* The sanity gate: allgs[0] is the main goroutine, goid 1, whatever
	 * it is doing (it may well be torn, running). */
	if (!r->checked) {
		if (!r->iov[0].ok || u64_at(r->slots[0].raw, r->L->g_goid) != 1)
			return -EPROTO;
		r->checked = true;
	}
	for (i = 0; i < m; i++) {
		keep[i] = r->iov[i].ok && decode(r, &r->slots[i]);
		if (!r->iov[i].ok)
			r->s->unreadable++;
		r->slots[i].unwind = keep[i] && r->slots[i].unwind;
	}
	read_stacks(r, m);
	for (i = 0; i < m; i++) {
		struct slot *sl = &r->slots[i];

		if (!sl->unwind)
			continue;
		n = walk(r, sl, pcs, &complete, &first_is_pc);
		sl->complete = complete;
		sl->g.stack = add_stack(r, pcs, n, complete, first_is_pc);
		if (sl->g.stack < 0)
			return sl->g.stack;
	}
	revalidate(r, m, keep);
	for (i = 0; i < m; i++) {
		if (!keep[i])
			continue;
		/* a walk that failed on a G that changed meanwhile is a torn
		 * read, counted as such; these are the G's that held still */
		if (r->slots[i].unwind && !r->slots[i].complete)
			r->s->unwind_failed++;
		if (keep_g(r, &r->slots[i]))
			return -ENOMEM;
	}
	return 0;
}

static int cmp_addr(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static bool has_duplicates(const uint64_t *gps, size_t n)
{
	uint64_t *sorted = malloc(n * sizeof(*sorted));
	bool dup = false;
	size_t i;

	if (!sorted)
		return false;
	memcpy(sorted, gps, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), cmp_addr);
	for (i = 1; i < n && !dup; i++)
		dup = sorted[i] == sorted[i - 1];
	free(sorted);
	return dup;
}

/* allglen first, then allgptr: the order allgadd publishes them in, so
 * that every pointer below allglen is set. */
static int read_allgs(struct reader *r, uint64_t **gps, size_t *n)
{
	const struct go_layout *L = r->L;
	uint64_t len, ptr, hdr[2];
	int err;

	if (L->allglen && L->allgptr) {
		err = procfs_read_mem(r->pid, L->allglen + r->bias, &len, 8);
		if (!err)
			err = procfs_read_mem(r->pid, L->allgptr + r->bias, &ptr, 8);
	} else {
		err = procfs_read_mem(r->pid, L->allgs + r->bias, hdr, sizeof(hdr));
		ptr = hdr[0];
		len = hdr[1];
	}
	if (err)
		return err == -EFAULT ? -EPROTO : err;
	if (!len || len > MAX_GS || !ptr)
		return -EPROTO;
	*gps = malloc(len * sizeof(uint64_t));
	if (!*gps)
		return -ENOMEM;
	err = procfs_read_mem(r->pid, ptr, *gps, len * sizeof(uint64_t));
	if (err) {
		free(*gps);
		*gps = NULL;
		return err == -EFAULT ? -EPROTO : err;
	}
	if (has_duplicates(*gps, len)) {
		free(*gps);
		*gps = NULL;
		return -EPROTO; /* the runtime's allgs never does: not a real one */
	}
	*n = len;
	r->s->max_goroutines = len;
	return 0;
}

static void free_index(struct go_snapshot *s)
{
	struct stack_ent *head = s->index, *e, *tmp;

	HASH_ITER(hh, head, e, tmp) {
		HASH_DEL(head, e);
		free(e);
	}
	s->index = NULL;
}

int go_snapshot_read(pid_t pid, struct gobin *b, uint64_t bias, struct go_snapshot *s)
{
	struct reader *r = calloc(1, sizeof(*r));
	uint64_t *gps = NULL;
	size_t n = 0, i;
	int err;

	memset(s, 0, sizeof(*s));
	if (!r)
		return -ENOMEM;
	r->pid = pid;
	r->b = b;
	r->L_checked = b->layout;
	r->L = &r->L_checked;
	r->bias = bias;
	r->s = s;
	r->gsize = g_bytes(&r->L_checked);
	if (!r->gsize) {
		free(r);
		return -EPROTO;
	}
	r->raw = malloc(BATCH * r->gsize);
	r->stacks = malloc(BATCH * (STACK_READ > r->gsize ? STACK_READ : r->gsize));
	err = r->raw && r->stacks ? read_allgs(r, &gps, &n) : -ENOMEM;
	for (i = 0; !err && i < n; i += BATCH)
		err = do_batch(r, gps + i, n - i < BATCH ? n - i : BATCH);
	free_index(s);
	free(gps);
	free(r->raw);
	free(r->stacks);
	free(r);
	if (err)
		go_snapshot_clear(s);
	return err;
}

void go_snapshot_clear(struct go_snapshot *s)
{
	size_t i;

	free_index(s);
	for (i = 0; i < s->nstacks; i++)
		free(s->stacks[i]);
	free(s->stacks);
	free(s->gs);
	memset(s, 0, sizeof(*s));
}
