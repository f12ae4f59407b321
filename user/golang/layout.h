/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_GOLAYOUT_H
#define BW_GOLAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "golang/goelf.h"
#include "golang/pclntab.h"

/*
 * Where the Go runtime keeps its goroutines in one binary: offsets of
 * the fields of runtime.g and of what hangs off it, the addresses of its
 * globals, its status values and wait-reason strings. Resolved once per
 * binary, from the best source it has (see ../shared/research/
 * go-goroutines.md):
 *   offsets: DWARF (runtime.g etc.), else the binary's own type
 *            descriptors (reflection metadata of *runtime.g, present even
 *            stripped), else a built-in table per Go minor version;
 *   globals: DWARF, else .symtab, else the machine code of the runtime
 *            functions that use them (capstone), found via .gopclntab;
 *   wait reasons: runtime.waitReasonStrings read from the file itself,
 *            else a built-in table per version.
 * Every item records its source; a layout that cannot be complete is
 * refused with a reason, never guessed.
 */

#define GO_NOFIELD UINT32_MAX

enum go_src {
	GO_SRC_NONE,
	GO_SRC_DWARF,
	GO_SRC_SYMTAB,
	GO_SRC_TYPEDESC,
	GO_SRC_DISASM,
	GO_SRC_TABLE,
};

const char *go_src_name(enum go_src s);

#define GO_MAX_WAIT_REASONS 64

struct go_layout {
	/* runtime.g; GO_NOFIELD where this version has no such field */
	uint32_t g_size;
	uint32_t g_stack_lo, g_stack_hi; /* g.stack.lo, g.stack.hi */
	uint32_t g_sched;		 /* gobuf */
	uint32_t g_syscallsp, g_syscallpc, g_syscallbp;
	uint32_t g_m;
	uint32_t g_atomicstatus; /* the uint32 (atomic.Uint32's value from 1.20) */
	uint32_t g_goid;	 /* 8 bytes, int64 or uint64 */
	uint32_t g_waitsince;	 /* int64, nanotime() */
	uint32_t g_waitreason;	 /* uint8 */
	uint32_t g_gopc, g_startpc;
	uint32_t g_waiting;	 /* *sudog */
	uint32_t g_parent_goid;	 /* 1.21+ */
	/* runtime.gobuf */
	uint32_t gobuf_sp, gobuf_pc, gobuf_bp;
	/* runtime.m */
	uint32_t m_procid; /* the OS thread id of a running goroutine */
	/* runtime.sudog, runtime.waitq, runtime.hchan */
	uint32_t sudog_g, sudog_next, sudog_c;
	uint32_t waitq_first;
	uint32_t hchan_qcount, hchan_dataqsiz, hchan_elemtype, hchan_closed;
	uint32_t hchan_recvq, hchan_sendq;
	/* runtime._type: for a channel's element type name */
	uint32_t type_str;   /* nameOff, int32 */
	uint32_t type_tflag; /* uint8; tflagExtraStar 2 */

	/* runtime globals, link-time addresses; 0 when unknown */
	uint64_t allgs;	  /* the []*g slice header */
	uint64_t allglen; /* uintptr */
	uint64_t allgptr; /* **g */
	uint64_t firstmoduledata; /* for nameOff: moduledata.types */
	uint32_t moduledata_types; /* offset of moduledata.types */

	/* runtime._G* values, from DWARF constants or the table */
	uint32_t st_idle, st_runnable, st_running, st_syscall, st_waiting, st_dead;
	uint32_t st_copystack, st_preempted, st_scan;

	/* wait reasons by number; NULL where unknown */
	uint32_t nreasons;
	char *reasons[GO_MAX_WAIT_REASONS];

	enum go_src src_offsets, src_globals, src_reasons;
};

/*
 * Resolve the layout of the Go binary @g (its pclntab parsed in @pt).
 * 0, or -ENOTSUP with @why ("go1.27: runtime.g layout unknown") when a
 * required item (the fields of runtime.g the reader needs, allgs or
 * allglen/allgptr) cannot be found; channel and type fields are
 * optional (GO_NOFIELD). Free with go_layout_clear.
 */
int go_layout_resolve(const struct goelf *g, const struct gopclntab *pt, struct go_layout *out,
		      char *why, size_t whylen);
void go_layout_clear(struct go_layout *l);

/* The parts, exposed for the cross-check tests; each returns 0 when it
 * filled what it knows, -ENOENT when its source is absent. */
int go_layout_from_dwarf(const struct goelf *g, struct go_layout *out);
int go_layout_from_typedesc(const struct goelf *g, const struct gopclntab *pt,
			    struct go_layout *out);
int go_layout_from_table(int major, int minor, struct go_layout *out);
int go_globals_from_symtab(const struct goelf *g, struct go_layout *out);
int go_globals_from_disasm(const struct goelf *g, const struct gopclntab *pt,
			   struct go_layout *out);
int go_reasons_from_file(const struct goelf *g, const struct gopclntab *pt,
			 struct go_layout *out);
int go_reasons_from_table(int major, int minor, struct go_layout *out);
/* Every offset GO_NOFIELD, every address 0, no reasons. */
void go_layout_init(struct go_layout *l);

#endif
