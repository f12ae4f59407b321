// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The walk of libdwfl 0.188 (libdwfl/frame_unwind.c, dwfl_frame.c,
 * dwfl_frame_pc.c) on x86-64, with each pc's rules taken from libdw
 * once: see cfiwalk.h. */
#include <dwarf.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "base/bpf_abi.h"
#include "stacks/cfiwalk.h"
#include "stacks/debugframe.h"

/* Rules kept per process, in an open-addressed table that doubles up
 * to MAX_SLOTS; when that is half full they all go (a process whose
 * blocked stacks go through more pcs than this is rare, and is walked
 * as fast as before while they refill). */
#define MIN_SLOTS 64
#define MAX_SLOTS 4096

enum {
	R_UNDEF, /* undefined */
	R_SAME,	 /* the same value, if the frame has one */
	R_AT,	 /* the word at CFA + off */
	R_VAL,	 /* CFA + off */
	R_REG,	 /* register off's value */
	R_SKIP,	 /* not set (libdw said an error) */
};

enum {
	K_EMPTY, /* a free slot */
	K_RULES, /* the rules below */
	K_FP,	 /* no CFI (or in no module): libdwfl's frame-pointer guess */
	K_DWFL,	 /* walked by libdwfl: CFI in other forms, or out of memory */
};

struct rule {
	uint64_t pc; /* the pc looked up (a return address less one) */
	uint8_t kind;
	bool signal; /* the CIE's 'S': the caller's pc is not a return address */
	bool cfa_ok; /* CFA = reg[cfa_reg] + cfa_off; else it cannot be had */
	uint8_t cfa_reg;
	uint8_t ra; /* the return address register */
	uint8_t how[BW_NREGS];
	int32_t cfa_off;
	int32_t off[BW_NREGS];
};

/* Modules whose .debug_frame was asked for, with it alone (debugframe.h)
 * or NULL: libdwfl's (the file has none, or not in a form read here). A
 * process's CFI from .debug_frame is mostly one Go binary's. */
#define MAX_FRAMES 8

struct cfirules {
	struct rule *slots;
	uint32_t cap; /* a power of two */
	uint32_t n;
	int nframes;
	struct {
		Dwfl_Module *mod;
		struct debugframe *df;
	} frames[MAX_FRAMES];
};

void cfirules__free(struct cfirules *r)
{
	if (!r)
		return;
	for (int i = 0; i < r->nframes; i++)
		debugframe__free(r->frames[i].df);
	free(r->slots);
	free(r);
}

/* @mod's .debug_frame CFI: its own when the file has the section
 * (libdwfl would take the file's own DWARF then, at the same bias),
 * else libdwfl's (a separate debug file's). */
static Dwarf_CFI *debug_frame(struct cfirules *rs, Dwfl_Module *mod, Dwarf_Addr *bias,
			      bool *nomem)
{
	struct debugframe *df = NULL;
	Dwarf_Addr mbias;
	Elf *elf;
	int i;

	for (i = 0; i < rs->nframes && rs->frames[i].mod != mod; i++)
		;
	if (i < rs->nframes) {
		df = rs->frames[i].df;
	} else if (rs->nframes < MAX_FRAMES && (elf = dwfl_module_getelf(mod, &mbias))) {
		if (debugframe__open(elf, &df) == -ENOMEM) {
			*nomem = true;
			return NULL;
		}
		rs->frames[rs->nframes].mod = mod;
		rs->frames[rs->nframes++].df = df;
	}
	if (!df || !dwfl_module_getelf(mod, bias))
		return dwfl_module_dwarf_cfi(mod, bias);
	return debugframe__cfi(df);
}

size_t cfirules__count(const struct cfirules *r)
{
	return r ? r->n : 0;
}

static inline uint32_t slot_of(uint64_t pc, uint32_t cap)
{
	return (uint32_t)((pc * 0x9e3779b97f4a7c15ULL) >> 40) & (cap - 1);
}

static bool fits(int64_t v)
{
	return v >= INT32_MIN && v <= INT32_MAX;
}

/* The CFA rule dwarf_frame_cfa gives, if it is register + offset. */
static bool cfa_rule(Dwarf_Frame *fr, struct rule *r)
{
	Dwarf_Op *ops;
	size_t nops;

	r->cfa_ok = false;
	if (dwarf_frame_cfa(fr, &ops, &nops) != 0 || nops == 0)
		return true; /* expr_eval fails on it: no CFA */
	if (nops != 1)
		return false;
	if (ops[0].atom == DW_OP_bregx) {
		if (ops[0].number >= BW_NREGS)
			return true; /* dwfl_frame_reg fails on it */
		if (!fits((int64_t)ops[0].number2))
			return false;
		r->cfa_reg = (uint8_t)ops[0].number;
		r->cfa_off = (int32_t)ops[0].number2;
	} else if (ops[0].atom >= DW_OP_breg0 && ops[0].atom <= DW_OP_breg31) {
		if (ops[0].atom - DW_OP_breg0 >= BW_NREGS)
			return true;
		if (!fits((int64_t)ops[0].number))
			return false;
		r->cfa_reg = (uint8_t)(ops[0].atom - DW_OP_breg0);
		r->cfa_off = (int32_t)ops[0].number;
	} else {
		return false;
	}
	r->cfa_ok = true;
	return true;
}

/* Register @regno's rule in the forms dwarf_frame_register gives;
 * false for anything else. */
static bool reg_rule(Dwarf_Frame *fr, int regno, struct rule *r)
{
	Dwarf_Op mem[3], *ops;
	size_t nops;

	r->off[regno] = 0;
	if (dwarf_frame_register(fr, regno, mem, &ops, &nops) != 0) {
		r->how[regno] = R_SKIP;
		return true;
	}
	if (nops == 0) {
		r->how[regno] = ops == mem ? R_UNDEF : ops == NULL ? R_SAME : R_SKIP;
		return true;
	}
	if (ops[0].atom == DW_OP_regx && nops == 1) {
		if (ops[0].number >= BW_NREGS)
			r->how[regno] = R_SKIP;
		else
			r->how[regno] = R_REG, r->off[regno] = (int32_t)ops[0].number;
		return true;
	}
	if (ops[0].atom != DW_OP_call_frame_cfa)
		return false;
	ops++, nops--;
	if (nops && ops[0].atom == DW_OP_plus_uconst) {
		if (!fits((int64_t)ops[0].number))
			return false;
		r->off[regno] = (int32_t)ops[0].number;
		ops++, nops--;
	}
	if (nops == 0)
		r->how[regno] = R_AT;
	else if (nops == 1 && ops[0].atom == DW_OP_stack_value)
		r->how[regno] = R_VAL;
	else
		return false;
	return true;
}

/* What libdw's CFI says at @pc (handle_cfi's lookup order: .eh_frame,
 * then .debug_frame; the first that has the pc is used). */
static void make_rule(Dwfl *dwfl, struct cfirules *rs, uint64_t pc, struct rule *r)
{
	Dwfl_Module *mod = dwfl_addrmodule(dwfl, pc);
	Dwarf_Frame *fr = NULL;
	Dwarf_CFI *cfi;
	Dwarf_Addr bias;
	bool signal = false, nomem = false;
	int ra, i;

	r->kind = K_FP; /* __libdwfl_frame_unwind: no module, or no CFI */
	if (!mod)
		return;
	cfi = dwfl_module_eh_cfi(mod, &bias);
	if (!cfi || dwarf_cfi_addrframe(cfi, pc - bias, &fr) != 0) {
		fr = NULL;
		cfi = debug_frame(rs, mod, &bias, &nomem);
		if (nomem) {
			r->kind = K_DWFL;
			return;
		}
		if (!cfi || dwarf_cfi_addrframe(cfi, pc - bias, &fr) != 0)
			return;
	}
	r->kind = K_DWFL;
	ra = dwarf_frame_info(fr, NULL, NULL, &signal);
	if (ra < 0 || ra >= BW_NREGS || !cfa_rule(fr, r))
		goto out;
	for (i = 0; i < BW_NREGS; i++)
		if (!reg_rule(fr, i, r))
			goto out;
	r->ra = (uint8_t)ra;
	r->signal = signal;
	r->kind = K_RULES;
out:
	free(fr);
}

static struct rule *find(struct cfirules *rs, uint64_t pc)
{
	uint32_t i = slot_of(pc, rs->cap);

	while (rs->slots[i].kind != K_EMPTY && rs->slots[i].pc != pc)
		i = (i + 1) & (rs->cap - 1);
	return &rs->slots[i];
}

/* Room for one more: the table doubled, or emptied at its largest.
 * false without memory. */
static bool make_room(struct cfirules *rs)
{
	struct rule *old = rs->slots, *nw;
	uint32_t cap = rs->cap, i;

	if (rs->slots && rs->n + 1 <= rs->cap / 2)
		return true;
	if (rs->slots && rs->cap >= MAX_SLOTS) {
		memset(rs->slots, 0, sizeof(*rs->slots) * rs->cap);
		rs->n = 0;
		return true;
	}
	nw = calloc(cap ? cap * 2 : MIN_SLOTS, sizeof(*nw));
	if (!nw)
		return false;
	rs->slots = nw;
	rs->cap = cap ? cap * 2 : MIN_SLOTS;
	for (i = 0; i < cap; i++)
		if (old[i].kind != K_EMPTY)
			*find(rs, old[i].pc) = old[i];
	free(old);
	return true;
}

static const struct rule *rule_at(Dwfl *dwfl, struct cfirules **rules, uint64_t pc)
{
	struct cfirules *rs = *rules;
	struct rule *r;

	if (!rs) {
		rs = calloc(1, sizeof(*rs));
		if (!rs)
			return NULL;
		*rules = rs;
	}
	if (rs->slots) {
		r = find(rs, pc);
		if (r->kind != K_EMPTY)
			return r;
	}
	if (!make_room(rs))
		return NULL;
	r = find(rs, pc);
	memset(r, 0, sizeof(*r));
	r->pc = pc;
	make_rule(dwfl, rs, pc, r);
	rs->n++;
	return r;
}

enum { PC_SET, PC_UNDEFINED };

/*
 * Origins: where each register's value came from -- a register of the
 * snapshot (ORG_REG) or a stack word read (its index in uw->reads),
 * plus a constant. A read's address came from the CFA's register
 * (its parent). What the walk's pcs depend on is what use() is called
 * on: each pc, each CFA's register, the frame-pointer guess's rbp and
 * rsp. A read never used is marked unused (its value may differ and
 * the walk would be the same: only its kind, OK or out of the copy,
 * matters); a register of the snapshot used is in uw->regs_used. The
 * memo of walks (unwmemo.h) compares only those.
 */
#define ORG_REG(r) ((int16_t)(-1 - (int)(r)))
#define ORG_NONE INT16_MAX /* a read past what uw->reads keeps */

static void use(struct bw_unwinder *uw, int org)
{
	while (org >= 0) {
		struct bw_memread *r;

		if (org == ORG_NONE || !uw->reads || org >= BW_UNWIND_MAX_READS) {
			uw->regs_used = BW_ALL_REGS; /* not followed: all count */
			return;
		}
		r = &uw->reads[org];
		if (!r->unused)
			return; /* used before, and so is where it came from */
		r->unused = false;
		org = r->parent;
	}
	uw->regs_used |= 1u << (-1 - org);
}

/* bw_unwind_read, noting the read's origin: its index (or ORG_NONE). */
static bool read_word(struct bw_unwinder *uw, uint64_t addr, int parent, uint64_t *v,
		      int16_t *org)
{
	int idx = uw->nreads;
	bool ok = bw_unwind_read(uw, addr, v);

	*org = ORG_NONE;
	if (uw->reads && idx < BW_UNWIND_MAX_READS) {
		uw->reads[idx].unused = true;
		uw->reads[idx].parent = (int16_t)parent;
		*org = (int16_t)idx;
	}
	return ok;
}

/* A Dwfl_Frame's part that the walk looks at. */
struct frame {
	uint64_t regs[BW_NREGS];
	int16_t org[BW_NREGS]; /* where each value came from (above) */
	uint32_t set; /* bit per register with a value */
	uint64_t pc;
	int pc_state;
	bool initial;
	bool signal;
};

static bool get(const struct frame *f, unsigned regno, uint64_t *v)
{
	if (!(f->set & (1u << regno)))
		return false;
	*v = f->regs[regno];
	return true;
}

enum { S_OK, S_FAIL, S_DWFL };

/* ebl_unwind's x86_64_unwind, libdwfl's guess without CFI: the caller's
 * frame from rbp's chain. S_FAIL where libdwfl discards it (the thread
 * then has no caller frame: the walk ends in an error). */
static int fp_step(struct bw_unwinder *uw, const struct frame *f, struct frame *up)
{
	uint64_t fp, sp, prev, ret;
	int16_t prev_org, ret_org;

	if (!get(f, BW_REG_RBP, &fp))
		return S_FAIL;
	use(uw, f->org[BW_REG_RBP]);
	if (fp == 0)
		return S_FAIL;
	if (!get(f, BW_REG_RSP, &sp))
		sp = 0;
	else
		use(uw, f->org[BW_REG_RSP]);
	if (!read_word(uw, fp, f->org[BW_REG_RBP], &prev, &prev_org))
		prev = 0;
	if (!read_word(uw, fp + 8, f->org[BW_REG_RBP], &ret, &ret_org))
		return S_FAIL;
	use(uw, ret_org);
	up->set = 1u << BW_REG_RBP | 1u << BW_REG_RSP;
	up->regs[BW_REG_RBP] = prev;
	up->org[BW_REG_RBP] = prev_org;
	up->regs[BW_REG_RSP] = fp + 16;
	up->org[BW_REG_RSP] = f->org[BW_REG_RBP];
	up->pc = ret;
	up->pc_state = PC_SET;
	up->initial = false;
	up->signal = false;
	/* the sp did not move up: no frame, random data */
	return sp >= fp + 16 ? S_FAIL : S_OK;
}

/* __libdwfl_frame_unwind: @up from @f by handle_cfi or the frame-pointer
 * guess (S_OK), no caller frame (S_FAIL), or S_DWFL when libdwfl would
 * do it otherwise. */
static int step(Dwfl *dwfl, struct cfirules **rules, struct bw_unwinder *uw,
		const struct frame *f, struct frame *up)
{
	uint64_t pc = f->pc, cfa = 0, v;
	const struct rule *r;
	int16_t cfa_org = ORG_NONE, o;
	bool have_cfa;
	int i;

	if (!f->initial && !f->signal)
		pc--;
	r = rule_at(dwfl, rules, pc);
	if (r && r->kind == K_FP)
		return fp_step(uw, f, up);
	if (!r || r->kind != K_RULES)
		return S_DWFL;
	up->set = 0;
	up->initial = false;
	up->signal = r->signal;
	up->pc_state = -1; /* DWFL_FRAME_STATE_ERROR */
	have_cfa = r->cfa_ok && get(f, r->cfa_reg, &cfa);
	if (have_cfa) {
		cfa_org = f->org[r->cfa_reg];
		use(uw, cfa_org);
	}
	cfa += (uint64_t)r->cfa_off;
	for (i = 0; i < BW_NREGS; i++) {
		switch (r->how[i]) {
		case R_UNDEF:
			if (i == r->ra)
				up->pc_state = PC_UNDEFINED;
			continue;
		case R_SAME:
			if (!get(f, i, &v))
				continue;
			o = f->org[i];
			break;
		case R_AT:
			if (!have_cfa ||
			    !read_word(uw, cfa + (uint64_t)r->off[i], cfa_org, &v, &o))
				continue;
			break;
		case R_VAL:
			if (!have_cfa)
				continue;
			v = cfa + (uint64_t)r->off[i];
			o = cfa_org;
			break;
		case R_REG:
			if (!get(f, (unsigned)r->off[i], &v))
				continue;
			o = f->org[r->off[i]];
			break;
		default:
			continue;
		}
		up->regs[i] = v;
		up->org[i] = o;
		up->set |= 1u << i;
	}
	if (up->pc_state < 0) {
		if (get(up, r->ra, &up->pc)) {
			use(uw, up->org[r->ra]);
			up->pc_state = up->pc ? PC_SET : PC_UNDEFINED;
		} else {
			up->pc_state = PC_UNDEFINED;
		}
	}
	return S_OK;
}

int cfiwalk(Dwfl *dwfl, struct cfirules **rules, struct bw_unwinder *uw,
	    const struct bw_snapshot *snap, struct bw_pc *pcs, int max, int *err)
{
	struct frame fr[2], *f = &fr[0], *up = &fr[1], *t;
	int n = 0, i;

	uw->cur = snap;
	uw->cut_short = false;
	uw->nreads = 0;
	uw->regs_used = 1u << BW_REG_RIP; /* the first pc */
	for (i = 0; i < BW_NREGS; i++) {
		f->regs[i] = snap->regs[i];
		f->org[i] = ORG_REG(i);
	}
	f->set = (1u << BW_NREGS) - 1;
	f->pc = snap->regs[BW_REG_RIP];
	f->pc_state = PC_SET;
	f->initial = true;
	f->signal = false;
	for (;;) {
		bool activation = false, stepped = false;
		int s;

		/* frame_cb: dwfl_frame_pc's isactivation unwinds first; one
		 * that found no caller is not kept, and is tried again */
		if (f->initial || f->signal) {
			activation = true;
		} else {
			s = step(dwfl, rules, uw, f, up);
			if (s == S_DWFL)
				goto dwfl;
			stepped = s == S_OK;
			activation = stepped && up->pc_state == PC_SET && up->signal;
		}
		if (n >= max) {
			*err = DWARF_CB_ABORT;
			goto out;
		}
		pcs[n++] = (struct bw_pc){ .pc = f->pc, .activation = activation };
		if (!stepped) {
			s = step(dwfl, rules, uw, f, up);
			if (s == S_DWFL)
				goto dwfl;
			if (s == S_FAIL) {
				*err = -1; /* dwfl_thread_getframes: no next state */
				goto out;
			}
		}
		t = f, f = up, up = t;
		if (f->pc_state != PC_SET)
			break;
	}
	*err = 0; /* ended at an undefined return address */
out:
	uw->cur = NULL;
	return n;
dwfl:
	uw->cur = NULL;
	return -1;
}
