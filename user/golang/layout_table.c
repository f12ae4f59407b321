// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The last resort: offsets and wait reasons per Go minor version, amd64
 * (arm64 lays these structs out the same: both are 64-bit with natural
 * alignment). Only Go 1.19 could be checked here: Debian 12's go1.19.8,
 * where DWARF, the type descriptors and the running fixture agree with
 * it. Every other entry was computed, field by field, from that
 * version's src/runtime/runtime2.go as found by the search tool (the
 * copy is named in the entry) and is unverified; a binary with DWARF or
 * type descriptors never needs it. What a source did not show is left
 * GO_NOFIELD: runtime.g's whole size where it ends in a struct defined
 * elsewhere (gTraceState, 1.21+), sudog where its text was not read,
 * hchan, _type and moduledata (other files).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "base/util.h"
#include "golang/layout_priv.h"

#define NF GO_NOFIELD

struct tab {
	int lo, hi; /* Go 1.lo through 1.hi */
	struct go_layout l;
};

/* The _G* values have not changed since _Gpreempted (Go 1.14); 1.26
 * adds _Gleaked and _Gdeadextra after them. */
#define STATUSES                                                                                 \
	.st_idle = 0, .st_runnable = 1, .st_running = 2, .st_syscall = 3, .st_waiting = 4,      \
	.st_dead = 6, .st_copystack = 8, .st_preempted = 9, .st_scan = 0x1000

/* gobuf {sp, pc, g, ctxt, ret, lr, bp}: in every source read from 1.5
 * through 1.24; 1.25 dropped ret. waitq {first, last}: unchanged since
 * the first chan.go. */
#define GOBUF_RET .gobuf_sp = 0, .gobuf_pc = 8, .gobuf_bp = 48, .waitq_first = 0
#define NO_CHAN                                                                                  \
	.hchan_qcount = NF, .hchan_dataqsiz = NF, .hchan_elemtype = NF, .hchan_closed = NF,    \
	.hchan_recvq = NF, .hchan_sendq = NF, .type_str = NF, .type_tflag = NF,               \
	.moduledata_types = NF

static const struct tab tabs[] = {
	/* from the runtime's source, unverified: erlangtui/go1.17.13 */
	{ 17, 17, {
		.g_size = 392, .g_stack_lo = 0, .g_stack_hi = 8, .g_sched = 56,
		.g_syscallsp = 112, .g_syscallpc = 120, .g_syscallbp = NF, .g_m = 48,
		.g_atomicstatus = 144, .g_goid = 152, .g_waitsince = 168, .g_waitreason = 176,
		.g_gopc = 296, .g_startpc = 312, .g_waiting = 328, .g_parent_goid = NF,
		GOBUF_RET, .m_procid = 72, .sudog_g = NF, .sudog_next = NF, .sudog_c = NF,
		NO_CHAN, STATUSES } },
	/* verified on go1.19.8 */
	{ 19, 19, {
		.g_size = 392, .g_stack_lo = 0, .g_stack_hi = 8, .g_sched = 56,
		.g_syscallsp = 112, .g_syscallpc = 120, .g_syscallbp = NF, .g_m = 48,
		.g_atomicstatus = 144, .g_goid = 152, .g_waitsince = 168, .g_waitreason = 176,
		.g_gopc = 296, .g_startpc = 312, .g_waiting = 328, .g_parent_goid = NF,
		GOBUF_RET, .m_procid = 72, .sudog_g = 0, .sudog_next = 8, .sudog_c = 80,
		.hchan_qcount = 0, .hchan_dataqsiz = 8, .hchan_elemtype = 32, .hchan_closed = 28,
		.hchan_recvq = 56, .hchan_sendq = 72, .type_str = 40, .type_tflag = 20,
		.moduledata_types = 280, STATUSES } },
	/* from the runtime's source, unverified: GeeVong/GolangSrcReading1.20.6;
	 * atomicstatus is an atomic.Uint32, goid a uint64 */
	{ 20, 20, {
		.g_size = 392, .g_stack_lo = 0, .g_stack_hi = 8, .g_sched = 56,
		.g_syscallsp = 112, .g_syscallpc = 120, .g_syscallbp = NF, .g_m = 48,
		.g_atomicstatus = 144, .g_goid = 152, .g_waitsince = 168, .g_waitreason = 176,
		.g_gopc = 296, .g_startpc = 312, .g_waiting = 328, .g_parent_goid = NF,
		GOBUF_RET, .m_procid = 72, .sudog_g = NF, .sudog_next = NF, .sudog_c = NF,
		NO_CHAN, STATUSES } },
	/* from the runtime's source, unverified: 1.21's and 1.22's runtime2.go
	 * as quoted by documents the search tool found; parentGoid, the
	 * tracer's fields moved to gTraceState */
	{ 21, 22, {
		.g_size = NF, .g_stack_lo = 0, .g_stack_hi = 8, .g_sched = 56,
		.g_syscallsp = 112, .g_syscallpc = 120, .g_syscallbp = NF, .g_m = 48,
		.g_atomicstatus = 144, .g_goid = 152, .g_waitsince = 168, .g_waitreason = 176,
		.g_gopc = 280, .g_startpc = 296, .g_waiting = 312, .g_parent_goid = 272,
		GOBUF_RET, .m_procid = 72, .sudog_g = NF, .sudog_next = NF, .sudog_c = NF,
		NO_CHAN, STATUSES } },
	/* from the runtime's source, unverified: fire1220/annotation-go1.23.5,
	 * and a 1.24 runtime2.go (fipsIndicator fits in padding); syscallbp */
	{ 23, 24, {
		.g_size = NF, .g_stack_lo = 0, .g_stack_hi = 8, .g_sched = 56,
		.g_syscallsp = 112, .g_syscallpc = 120, .g_syscallbp = 128, .g_m = 48,
		.g_atomicstatus = 152, .g_goid = 160, .g_waitsince = 176, .g_waitreason = 184,
		.g_gopc = 288, .g_startpc = 304, .g_waiting = 320, .g_parent_goid = 280,
		GOBUF_RET, .m_procid = 72, .sudog_g = 0, .sudog_next = 8, .sudog_c = 80,
		NO_CHAN, STATUSES } },
	/* from the runtime's source, unverified: CaoYuming-git/go1.25.3;
	 * gobuf without ret, m without its padding word */
	{ 25, 25, {
		.g_size = NF, .g_stack_lo = 0, .g_stack_hi = 8, .g_sched = 56,
		.g_syscallsp = 104, .g_syscallpc = 112, .g_syscallbp = 120, .g_m = 48,
		.g_atomicstatus = 144, .g_goid = 152, .g_waitsince = 168, .g_waitreason = 176,
		.g_gopc = 280, .g_startpc = 296, .g_waiting = 312, .g_parent_goid = 272,
		.gobuf_sp = 0, .gobuf_pc = 8, .gobuf_bp = 40, .waitq_first = 0, .m_procid = 64,
		.sudog_g = 0, .sudog_next = 8, .sudog_c = 80, NO_CHAN, STATUSES } },
};

/*
 * runtime2.go's waitReasonStrings. 1.19: verified on go1.19.8 (the
 * file's own table). 1.25: from the runtime's source (go1.25.3 above).
 * The others: from delve's service/api/waitreason.go, unverified.
 */
static const char *const reasons_1_18[] = {
	"", "GC assist marking", "IO wait", "chan receive (nil chan)", "chan send (nil chan)",
	"dumping heap", "garbage collection", "garbage collection scan", "panicwait", "select",
	"select (no cases)", "GC assist wait", "GC sweep wait", "GC scavenge wait", "chan receive",
	"chan send", "finalizer wait", "force gc (idle)", "semacquire", "sleep", "sync.Cond.Wait",
	"timer goroutine (idle)", "trace reader (blocked)", "wait for GC cycle", "GC worker (idle)",
	"preempted", "debug call",
};

/* 1.20 replaced "timer goroutine (idle)" by the sync waits and added
 * GC worker (active), GC mark termination, stopping the world. */
#define REASONS_1_20_HEAD                                                                        \
	"", "GC assist marking", "IO wait", "chan receive (nil chan)", "chan send (nil chan)",  \
		"dumping heap", "garbage collection", "garbage collection scan", "panicwait",  \
		"select", "select (no cases)", "GC assist wait", "GC sweep wait",              \
		"GC scavenge wait", "chan receive", "chan send", "finalizer wait",             \
		"force gc (idle)"
#define REASONS_1_20_SYNC "sync.Cond.Wait", "sync.Mutex.Lock", "sync.RWMutex.RLock", "sync.RWMutex.Lock"
#define REASONS_1_20_TAIL                                                                        \
	"trace reader (blocked)", "wait for GC cycle", "GC worker (idle)", "GC worker (active)", \
		"preempted", "debug call", "GC mark termination", "stopping the world"
#define REASONS_1_22_TAIL                                                                        \
	"flushing proc caches", "trace goroutine status", "trace proc status", "page trace flush", \
		"coroutine"

static const char *const reasons_1_20[] = {
	REASONS_1_20_HEAD, "semacquire", "sleep", REASONS_1_20_SYNC, REASONS_1_20_TAIL,
};

static const char *const reasons_1_22[] = {
	REASONS_1_20_HEAD, "semacquire", "sleep", REASONS_1_20_SYNC, REASONS_1_20_TAIL,
	REASONS_1_22_TAIL,
};

static const char *const reasons_1_24[] = {
	REASONS_1_20_HEAD, "semacquire", "sleep", REASONS_1_20_SYNC, "sync.WaitGroup.Wait",
	REASONS_1_20_TAIL, REASONS_1_22_TAIL, "GC weak to strong wait", "synctest.Run",
	"synctest.Wait", "chan receive (synctest)", "chan send (synctest)",
};

/* 1.25 inserted "GOMAXPROCS updater (idle)" before semacquire: every
 * later number moved. */
static const char *const reasons_1_25[] = {
	REASONS_1_20_HEAD, "GOMAXPROCS updater (idle)", "semacquire", "sleep", REASONS_1_20_SYNC,
	"sync.WaitGroup.Wait", REASONS_1_20_TAIL, REASONS_1_22_TAIL, "GC weak to strong wait",
	"synctest.Run", "synctest.Wait", "chan receive (durable)", "chan send (durable)",
	"select (durable)", "sync.WaitGroup.Wait (durable)", "cleanup wait",
};

/* 1.26 reordered the enum. */
static const char *const reasons_1_26[] = {
	"", "GC assist marking", "IO wait", "dumping heap", "garbage collection",
	"garbage collection scan", "panicwait", "GC assist wait", "GC sweep wait",
	"GC scavenge wait", "finalizer wait", "force gc (idle)", "GOMAXPROCS updater (idle)",
	"semacquire", "sleep", "chan receive (nil chan)", "chan send (nil chan)",
	"select (no cases)", "select", "chan receive", "chan send", REASONS_1_20_SYNC,
	"sync.WaitGroup.Wait", REASONS_1_20_TAIL, REASONS_1_22_TAIL, "GC weak to strong wait",
	"synctest.Run", "synctest.Wait", "chan receive (durable)", "chan send (durable)",
	"select (durable)", "sync.WaitGroup.Wait (durable)", "cleanup wait",
};

struct reasons {
	int lo, hi;
	const char *const *s;
	size_t n;
};

#define R(lo, hi, a) { lo, hi, a, BW_ARRAY_SIZE(a) }

static const struct reasons reason_tabs[] = {
	R(18, 19, reasons_1_18), R(20, 21, reasons_1_20), R(22, 23, reasons_1_22),
	R(24, 24, reasons_1_24), R(25, 25, reasons_1_25), R(26, 26, reasons_1_26),
};

int go_layout_from_table(int major, int minor, struct go_layout *out)
{
	const struct tab *t = NULL;
	bool complete = true;

	for (size_t i = 0; major == 1 && i < BW_ARRAY_SIZE(tabs); i++)
		if (minor >= tabs[i].lo && minor <= tabs[i].hi)
			t = &tabs[i];
	if (!t)
		return -ENOENT;
	for (size_t i = 0; i < go_nfields; i++) {
		uint32_t v = go_field_get(&t->l, go_fields[i].at);

		*go_field_ptr(out, go_fields[i].at) = v;
		if (v == GO_NOFIELD && go_fields[i].required)
			complete = false;
	}
	for (size_t i = 0; i < go_nstatuses; i++)
		*go_field_ptr(out, go_statuses[i].at) = go_field_get(&t->l, go_statuses[i].at);
	if (complete)
		out->src_offsets = GO_SRC_TABLE;
	return 0;
}

int go_reasons_from_table(int major, int minor, struct go_layout *out)
{
	const struct reasons *r = NULL;

	for (size_t i = 0; major == 1 && i < BW_ARRAY_SIZE(reason_tabs); i++)
		if (minor >= reason_tabs[i].lo && minor <= reason_tabs[i].hi)
			r = &reason_tabs[i];
	if (!r)
		return -ENOENT;
	go_reasons_free(out);
	for (size_t i = 0; i < r->n && i < GO_MAX_WAIT_REASONS; i++) {
		out->reasons[i] = strdup(r->s[i]);
		if (!out->reasons[i]) {
			out->nreasons = (uint32_t)i;
			return -ENOMEM;
		}
	}
	out->nreasons = (uint32_t)(r->n < GO_MAX_WAIT_REASONS ? r->n : GO_MAX_WAIT_REASONS);
	out->src_reasons = GO_SRC_TABLE;
	return 0;
}
