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

/* Sources of one kind, strongest first. */
#define NSRC 3
struct cands {
	const struct go_layout *l[NSRC]; /* NULL: that source has nothing */
	enum go_src src[NSRC];
};

#define G_MAX 4096 /* runtime.g is 392 bytes in 1.19 */

/* The fields of runtime.g a reader relies on, and their widths. */
static const struct {
	size_t at;
	uint32_t width;
} gfields[] = {
	{ offsetof(struct go_layout, g_stack_lo), 8 },
	{ offsetof(struct go_layout, g_stack_hi), 8 },
	{ offsetof(struct go_layout, g_sched), 8 },
	{ offsetof(struct go_layout, g_atomicstatus), 4 },
	{ offsetof(struct go_layout, g_goid), 8 },
	{ offsetof(struct go_layout, g_waitsince), 8 },
	{ offsetof(struct go_layout, g_waitreason), 1 },
	{ offsetof(struct go_layout, g_gopc), 8 },
	{ offsetof(struct go_layout, g_startpc), 8 },
};

/* One source's offsets: complete, aligned, inside runtime.g and apart.
 * NULL when plausible, else what is wrong. */
static const char *offsets_implausible(const struct go_layout *l)
{
	uint32_t gobuf_end = l->gobuf_sp, size = l->g_size;

	if (l->src_offsets == GO_SRC_NONE)
		return "incomplete";
	if (size == GO_NOFIELD)
		size = G_MAX;
	if (size > G_MAX)
		return "runtime.g larger than 4 KiB";
	for (size_t i = 0; i < BW_ARRAY_SIZE(gfields); i++) {
		uint32_t a = go_field_get(l, gfields[i].at);

		if (a % gfields[i].width || a + gfields[i].width > size)
			return "a field of runtime.g misaligned or outside it";
		for (size_t k = 0; k < i; k++)
			if (go_field_get(l, gfields[k].at) == a)
				return "two fields of runtime.g at one offset";
	}
	if (l->gobuf_pc > gobuf_end)
		gobuf_end = l->gobuf_pc;
	if (l->gobuf_bp > gobuf_end)
		gobuf_end = l->gobuf_bp;
	if (l->g_sched + gobuf_end + 8 > size)
		return "g.sched outside runtime.g";
	return NULL;
}

/* Where no source knew runtime.g's size (a table entry from source
 * that stops at the fields it lists): the bytes up to the end of the
 * last field known, which is what a reader needs. */
static void g_prefix(struct go_layout *l)
{
	uint32_t end = l->g_sched + l->gobuf_bp + 8;

	for (size_t i = 0; i < go_nfields; i++) {
		uint32_t a = go_field_get(l, go_fields[i].at);

		if (!strncmp(go_fields[i].name, "g.", 2) && a != GO_NOFIELD && a + 8 > end)
			end = a + 8;
	}
	l->g_size = end;
}

/* The items @a and @b both have and give differently, each logged. */
static int disagree(const struct go_layout *a, enum go_src sa, const struct go_layout *b,
		    enum go_src sb)
{
	int n = 0;

	for (size_t i = 0; i < go_nfields; i++) {
		uint32_t x = go_field_get(a, go_fields[i].at), y = go_field_get(b, go_fields[i].at);

		if (x != GO_NOFIELD && y != GO_NOFIELD && x != y) {
			bw_dbg("go layout: %s is %u by %s but %u by %s; using %s", go_fields[i].name, x,
			       go_src_name(sa), y, go_src_name(sb), go_src_name(sa));
			n++;
		}
	}
	return n;
}

/*
 * The offsets of the strongest source that is complete and plausible,
 * as a unit: a source's fields are consistent with each other, a mix of
 * sources need not be. The others are checked against it; those that
 * agree fill in the optional fields it lacks (a table entry's hchan for
 * a binary without *runtime.hchan's descriptor), those that disagree
 * are wrong and give nothing.
 */
static int merge_offsets(const struct cands *c, struct go_layout *out)
{
	int p = -1;

	for (int i = 0; i < NSRC && p < 0; i++)
		if (c->l[i] && !offsets_implausible(c->l[i]))
			p = i;
	if (p < 0)
		return -ENOENT;
	for (size_t k = 0; k < go_nfields; k++)
		*go_field_ptr(out, go_fields[k].at) = go_field_get(c->l[p], go_fields[k].at);
	for (int i = 0; i < NSRC; i++) {
		if (i == p || !c->l[i] || disagree(c->l[p], c->src[p], c->l[i], c->src[i]))
			continue;
		for (size_t k = 0; k < go_nfields; k++)
			if (go_field_get(out, go_fields[k].at) == GO_NOFIELD)
				*go_field_ptr(out, go_fields[k].at) =
					go_field_get(c->l[i], go_fields[k].at);
	}
	out->src_offsets = c->src[p];
	if (out->g_size == GO_NOFIELD)
		g_prefix(out);
	return 0;
}

/* Each _G* value from the strongest source that has it. */
static void merge_statuses(const struct cands *c, struct go_layout *out)
{
	for (size_t k = 0; k < go_nstatuses; k++) {
		int best = -1;

		for (int i = 0; i < NSRC; i++) {
			uint32_t v;

			if (!c->l[i] || (v = go_field_get(c->l[i], go_statuses[k].at)) == GO_NOFIELD)
				continue;
			if (best < 0) {
				best = i;
				*go_field_ptr(out, go_statuses[k].at) = v;
			} else if (v != go_field_get(out, go_statuses[k].at)) {
				bw_dbg("go layout: %s is %u by %s but %u by %s", go_statuses[k].name,
				       go_field_get(out, go_statuses[k].at), go_src_name(c->src[best]),
				       v, go_src_name(c->src[i]));
			}
		}
	}
}

static bool statuses_known(const struct go_layout *l)
{
	return l->st_idle != GO_NOFIELD && l->st_runnable != GO_NOFIELD &&
	       l->st_running != GO_NOFIELD && l->st_syscall != GO_NOFIELD &&
	       l->st_waiting != GO_NOFIELD && l->st_dead != GO_NOFIELD &&
	       l->st_waiting != l->st_dead && l->st_waiting != l->st_running &&
	       l->st_waiting != l->st_runnable && l->st_running != l->st_runnable;
}

/* allglen + allgptr (what the runtime's lock-free readers use) or the
 * allgs slice header, in the binary's writable data. */
static bool globals_plausible(const struct goelf *g, const struct go_layout *l)
{
	return (l->allglen && l->allgptr && go_addr_in_file(g, l->allglen, 8, true) &&
		go_addr_in_file(g, l->allgptr, 8, true)) ||
	       (l->allgs && go_addr_in_file(g, l->allgs, 24, true));
}

static int disagree_globals(const struct go_layout *a, enum go_src sa, const struct go_layout *b,
			    enum go_src sb)
{
	const uint64_t x[4] = { a->allgs, a->allglen, a->allgptr, a->firstmoduledata };
	const uint64_t y[4] = { b->allgs, b->allglen, b->allgptr, b->firstmoduledata };
	static const char *const names[4] = { "allgs", "allglen", "allgptr", "firstmoduledata" };
	int n = 0;

	for (int i = 0; i < 4; i++) {
		if (x[i] && y[i] && x[i] != y[i]) {
			bw_dbg("go layout: runtime.%s is at %#lx by %s but %#lx by %s; using %s",
			       names[i], (unsigned long)x[i], go_src_name(sa), (unsigned long)y[i],
			       go_src_name(sb), go_src_name(sa));
			n++;
		}
	}
	return n;
}

/* Like the offsets: the strongest plausible source as a unit; an
 * agreeing one may add firstmoduledata. */
static int merge_globals(const struct goelf *g, const struct cands *c, struct go_layout *out)
{
	int p = -1;

	for (int i = 0; i < NSRC && p < 0; i++)
		if (c->l[i] && globals_plausible(g, c->l[i]))
			p = i;
	if (p < 0)
		return -ENOENT;
	out->allgs = c->l[p]->allgs;
	out->allglen = c->l[p]->allglen;
	out->allgptr = c->l[p]->allgptr;
	out->firstmoduledata = c->l[p]->firstmoduledata;
	for (int i = 0; i < NSRC; i++) {
		if (i == p || !c->l[i] || disagree_globals(c->l[p], c->src[p], c->l[i], c->src[i]))
			continue;
		if (!out->firstmoduledata)
			out->firstmoduledata = c->l[i]->firstmoduledata;
	}
	out->src_globals = c->src[p];
	return 0;
}

/* The strings in the file, else the table's; when both exist, a
 * difference is logged (the table is the one to fix). */
static void resolve_reasons(const struct goelf *g, const struct gopclntab *pt,
			    struct go_layout *out)
{
	struct go_layout tab;

	go_layout_init(&tab);
	if (go_reasons_from_table(g->major, g->minor, &tab))
		tab.nreasons = 0;
	if (go_reasons_from_file(g, pt, out)) {
		memcpy(out->reasons, tab.reasons, sizeof(out->reasons));
		out->nreasons = tab.nreasons;
		out->src_reasons = tab.nreasons ? GO_SRC_TABLE : GO_SRC_NONE;
		return; /* the strings now belong to out */
	}
	if (tab.nreasons && tab.nreasons != out->nreasons)
		bw_dbg("go layout: %u wait reasons in the file, %u in the table for %s",
		       out->nreasons, tab.nreasons, g->version);
	for (uint32_t i = 0; i < tab.nreasons && i < out->nreasons; i++)
		if (strcmp(tab.reasons[i], out->reasons[i]))
			bw_dbg("go layout: wait reason %u is \"%s\" in the file, \"%s\" in the table", i,
			       out->reasons[i], tab.reasons[i]);
	go_reasons_free(&tab);
}

/* The parts each source contributes. */
struct parts {
	struct go_layout dwarf, typedesc, table, symtab, disasm;
	bool dw, td, tb, sy, da;
};

static void ask_all(const struct goelf *g, const struct gopclntab *pt, struct parts *p)
{
	go_layout_init(&p->dwarf);
	go_layout_init(&p->typedesc);
	go_layout_init(&p->table);
	go_layout_init(&p->symtab);
	go_layout_init(&p->disasm);
	p->dw = !go_layout_from_dwarf(g, &p->dwarf);
	p->td = !go_layout_from_typedesc(g, pt, &p->typedesc);
	p->tb = !go_layout_from_table(g->major, g->minor, &p->table);
	p->sy = !go_globals_from_symtab(g, &p->symtab);
	p->da = !go_globals_from_disasm(g, pt, &p->disasm);
}

/* Offsets, statuses, globals; 0 or -ENOTSUP with @why. */
static int merge(const struct goelf *g, const struct gopclntab *pt, const struct parts *p,
		 struct go_layout *out, char *why, size_t whylen)
{
	struct cands off = { { p->dw ? &p->dwarf : NULL, p->td ? &p->typedesc : NULL,
			       p->tb ? &p->table : NULL },
			     { GO_SRC_DWARF, GO_SRC_TYPEDESC, GO_SRC_TABLE } };
	struct cands glob = { { p->dw ? &p->dwarf : NULL, p->sy ? &p->symtab : NULL,
				p->da ? &p->disasm : NULL },
			      { GO_SRC_DWARF, GO_SRC_SYMTAB, GO_SRC_DISASM } };

	merge_statuses(&off, out);
	if (merge_offsets(&off, out)) {
		snprintf(why, whylen, "%s: runtime.g layout unknown (%s, %s, %s)", g->version,
			 p->dw ? "DWARF incomplete" : "no DWARF",
			 p->td ? "type descriptors incomplete" : "no type descriptors",
			 p->tb ? "table implausible" : "not in the table");
		return -ENOTSUP;
	}
	if (!statuses_known(out)) {
		snprintf(why, whylen, "%s: goroutine status values unknown (%s, %s)", g->version,
			 p->dw ? "not in DWARF" : "no DWARF", p->tb ? "not in the table" : "no table");
		return -ENOTSUP;
	}
	if (merge_globals(g, &glob, out)) {
		snprintf(why, whylen,
			 "%s: runtime.allglen/allgptr not found (in DWARF, .symtab or %s)",
			 g->version, pt ? "the code of runtime.allgadd" : "code: no function table");
		return -ENOTSUP;
	}
	return 0;
}

int go_layout_resolve(const struct goelf *g, const struct gopclntab *pt, struct go_layout *out,
		      char *why, size_t whylen)
{
	struct parts *p = malloc(sizeof(*p));
	int err;

	go_layout_init(out);
	if (!p) {
		snprintf(why, whylen, "%s: out of memory", g->version);
		return -ENOMEM;
	}
	ask_all(g, pt, p);
	err = merge(g, pt, p, out, why, whylen);
	free(p);
	if (err) {
		go_layout_clear(out);
		return err;
	}
	resolve_reasons(g, pt, out);
	bw_dbg("go layout of %s: offsets from %s, globals from %s, wait reasons from %s", g->version,
	       go_src_name(out->src_offsets), go_src_name(out->src_globals),
	       go_src_name(out->src_reasons));
	return 0;
}
