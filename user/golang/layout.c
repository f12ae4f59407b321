// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * What every source reads (the list of fields and statuses) and the
 * policy over them: each source is asked; the strongest one whose
 * answer is complete and plausible is taken whole; the others are
 * checked against it (a disagreement means the weaker one is wrong, and
 * says which reader to fix) and, where they agree, fill in what it
 * lacks; a layout that cannot be complete is refused with a reason.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/log.h"
#include "base/util.h"
#include "golang/layout_priv.h"

#define F(n, member, t, p, t2, p2, req)                                                       \
	{ n, offsetof(struct go_layout, member), t, p, t2, p2, req }

const struct go_field go_fields[] = {
	/* optional: a table entry may know the fields, not the whole size */
	F("g.size", g_size, "runtime.g", NULL, NULL, NULL, false),
	F("g.stack.lo", g_stack_lo, "runtime.g", "stack.lo", NULL, NULL, true),
	F("g.stack.hi", g_stack_hi, "runtime.g", "stack.hi", NULL, NULL, true),
	F("g.sched", g_sched, "runtime.g", "sched", NULL, NULL, true),
	F("g.syscallsp", g_syscallsp, "runtime.g", "syscallsp", NULL, NULL, false),
	F("g.syscallpc", g_syscallpc, "runtime.g", "syscallpc", NULL, NULL, false),
	F("g.syscallbp", g_syscallbp, "runtime.g", "syscallbp", NULL, NULL, false),
	F("g.m", g_m, "runtime.g", "m", NULL, NULL, false),
	F("g.atomicstatus", g_atomicstatus, "runtime.g", "atomicstatus", NULL, NULL, true),
	F("g.goid", g_goid, "runtime.g", "goid", NULL, NULL, true),
	F("g.waitsince", g_waitsince, "runtime.g", "waitsince", NULL, NULL, true),
	F("g.waitreason", g_waitreason, "runtime.g", "waitreason", NULL, NULL, true),
	F("g.gopc", g_gopc, "runtime.g", "gopc", NULL, NULL, true),
	F("g.startpc", g_startpc, "runtime.g", "startpc", NULL, NULL, true),
	F("g.waiting", g_waiting, "runtime.g", "waiting", NULL, NULL, false),
	F("g.parentGoid", g_parent_goid, "runtime.g", "parentGoid", NULL, NULL, false),
	F("gobuf.sp", gobuf_sp, "runtime.gobuf", "sp", NULL, NULL, true),
	F("gobuf.pc", gobuf_pc, "runtime.gobuf", "pc", NULL, NULL, true),
	F("gobuf.bp", gobuf_bp, "runtime.gobuf", "bp", NULL, NULL, true),
	F("m.procid", m_procid, "runtime.m", "procid", NULL, NULL, false),
	F("sudog.g", sudog_g, "runtime.sudog", "g", NULL, NULL, false),
	F("sudog.next", sudog_next, "runtime.sudog", "next", NULL, NULL, false),
	/* a maybeTraceableChan after 1.25, whose address is in vu (vp may be nil) */
	F("sudog.c", sudog_c, "runtime.sudog", "c.maybeTraceablePtr.vu", NULL, "c", false),
	F("waitq.first", waitq_first, "runtime.waitq", "first", NULL, NULL, false),
	F("hchan.qcount", hchan_qcount, "runtime.hchan", "qcount", NULL, NULL, false),
	F("hchan.dataqsiz", hchan_dataqsiz, "runtime.hchan", "dataqsiz", NULL, NULL, false),
	F("hchan.elemtype", hchan_elemtype, "runtime.hchan", "elemtype", NULL, NULL, false),
	F("hchan.closed", hchan_closed, "runtime.hchan", "closed", NULL, NULL, false),
	F("hchan.recvq", hchan_recvq, "runtime.hchan", "recvq", NULL, NULL, false),
	F("hchan.sendq", hchan_sendq, "runtime.hchan", "sendq", NULL, NULL, false),
	/* runtime._type is an alias of internal/abi.Type from Go 1.21 */
	F("_type.str", type_str, "runtime._type", "str", "internal/abi.Type", "Str", false),
	F("_type.tflag", type_tflag, "runtime._type", "tflag", "internal/abi.Type", "TFlag", false),
	F("moduledata.types", moduledata_types, "runtime.moduledata", "types", NULL, NULL, false),
};
const size_t go_nfields = BW_ARRAY_SIZE(go_fields);

#define S(n, member) { n, offsetof(struct go_layout, member) }

const struct go_status go_statuses[] = {
	S("runtime._Gidle", st_idle),	     S("runtime._Grunnable", st_runnable),
	S("runtime._Grunning", st_running),   S("runtime._Gsyscall", st_syscall),
	S("runtime._Gwaiting", st_waiting),   S("runtime._Gdead", st_dead),
	S("runtime._Gcopystack", st_copystack), S("runtime._Gpreempted", st_preempted),
	S("runtime._Gscan", st_scan),
};
const size_t go_nstatuses = BW_ARRAY_SIZE(go_statuses);

const char *go_src_name(enum go_src s)
{
	switch (s) {
	case GO_SRC_DWARF:
		return "dwarf";
	case GO_SRC_SYMTAB:
		return "symtab";
	case GO_SRC_TYPEDESC:
		return "typedesc";
	case GO_SRC_DISASM:
		return "disasm";
	case GO_SRC_TABLE:
		return "table";
	case GO_SRC_NONE:
		break;
	}
	return "none";
}

void go_layout_init(struct go_layout *l)
{
	memset(l, 0, sizeof(*l));
	for (size_t i = 0; i < go_nfields; i++)
		*go_field_ptr(l, go_fields[i].at) = GO_NOFIELD;
	for (size_t i = 0; i < go_nstatuses; i++)
		*go_field_ptr(l, go_statuses[i].at) = GO_NOFIELD;
}

void go_reasons_free(struct go_layout *l)
{
	for (uint32_t i = 0; i < l->nreasons && i < GO_MAX_WAIT_REASONS; i++)
		free(l->reasons[i]);
	memset(l->reasons, 0, sizeof(l->reasons));
	l->nreasons = 0;
}

void go_layout_clear(struct go_layout *l)
{
	go_reasons_free(l);
	go_layout_init(l);
}
