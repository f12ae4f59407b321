// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Addresses of the runtime's globals from its machine code, for
 * stripped binaries (no DWARF, no .symtab): the functions are found by
 * name in .gopclntab, their RIP-relative operands are the globals they
 * touch. x86-64 only, with capstone, loaded only while a function is
 * disassembled (dlopen): relocating its tables dirties ~3 MB that a
 * host whose Go binaries all have symbols would carry for nothing.
 * What each function tells (Go 1.19
 * proc.go and runtime2.go; unchanged in shape through tip):
 *
 *   runtime.allgadd   allgs = append(allgs, gp): loads and stores of
 *                     allgs, allgs+8, allgs+16 (the slice header); then
 *                     atomicstorep(&allgptr, ...) and
 *                     atomic.Storeuintptr(&allglen, ...), two XCHGs, in
 *                     that order;
 *   runtime.forEachG  reads allgs and allgs+8 (a cross-check);
 *   runtime.waitReason.String
 *                     cmp $len(waitReasonStrings), %al, then
 *                     lea waitReasonStrings(%rip) (in .data).
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <capstone/capstone.h>
#include "base/log.h"
#include "golang/layout_priv.h"

#define MAX_FUNC 65536
#define MAX_REFS 64
#define LEA_REACH 4 /* instructions between a lea and the xchg through it */

struct dis {
	uint64_t tgt[MAX_REFS]; /* RIP-relative targets, first use order */
	bool xchg[MAX_REFS];	/* the target of an atomic store */
	size_t n;
	uint64_t xchgs[4]; /* xchg targets in order */
	size_t nxchg;
	int64_t cmp_imm; /* the first cmp of a register with an immediate */
	bool have_cmp;
};

static void add_ref(struct dis *d, uint64_t t, bool xchg)
{
	size_t i;

	for (i = 0; i < d->n && d->tgt[i] != t; i++)
		;
	if (i == d->n) {
		if (d->n == MAX_REFS)
			return;
		d->tgt[d->n] = t;
		d->xchg[d->n++] = false;
	}
	if (xchg) {
		d->xchg[i] = true;
		if (d->nxchg < 4)
			d->xchgs[d->nxchg++] = t;
	}
}

/* One instruction: its RIP-relative operands, a lea's register (so an
 * xchg through it is known), an xchg, a cmp with an immediate. */
static void insn(struct dis *d, const cs_insn *in, uint64_t *lea, size_t *lea_at, size_t idx)
{
	const cs_x86 *x = &in->detail->x86;
	bool is_xchg = in->id == X86_INS_XCHG;

	for (uint8_t i = 0; i < x->op_count; i++) {
		const cs_x86_op *op = &x->operands[i];
		uint64_t t;

		if (op->type == X86_OP_IMM && in->id == X86_INS_CMP && !d->have_cmp && i == 1 &&
		    x->operands[0].type == X86_OP_REG) {
			d->cmp_imm = op->imm;
			d->have_cmp = true;
		}
		if (op->type != X86_OP_MEM)
			continue;
		if (op->mem.base == X86_REG_RIP) {
			t = in->address + in->size + (uint64_t)op->mem.disp;
			add_ref(d, t, is_xchg);
			if (in->id == X86_INS_LEA && x->operands[0].type == X86_OP_REG &&
			    x->operands[0].reg < X86_REG_ENDING) {
				lea[x->operands[0].reg] = t;
				lea_at[x->operands[0].reg] = idx;
			}
		} else if (is_xchg && op->mem.base > X86_REG_INVALID && op->mem.base < X86_REG_ENDING &&
			   lea[op->mem.base] && idx - lea_at[op->mem.base] <= LEA_REACH && !op->mem.disp) {
			add_ref(d, lea[op->mem.base], true);
		}
	}
}

#define CS_STR(x) #x
#define CS_SONAME(major) "libcapstone.so." CS_STR(major)

/* The capstone calls a walk makes, from the library dlopen'ed for it. */
struct cs_lib {
	void *so;
	cs_err (*open)(cs_arch, cs_mode, csh *);
	cs_err (*option)(csh, cs_opt_type, size_t);
	cs_insn *(*malloc)(csh);
	bool (*iter)(csh, const uint8_t **, size_t *, uint64_t *, cs_insn *);
	void (*free)(cs_insn *, size_t);
	cs_err (*close)(csh *);
};

static int cs_load(struct cs_lib *cs)
{
	static bool said;

	cs->so = dlopen(CS_SONAME(CS_API_MAJOR), RTLD_NOW | RTLD_LOCAL);
	if (!cs->so) {
		if (!said)
			bw_err("go layout: %s: stripped Go binaries' runtime globals unknown",
				dlerror());
		said = true;
		return -ENOTSUP;
	}
	*(void **)&cs->open = dlsym(cs->so, "cs_open");
	*(void **)&cs->option = dlsym(cs->so, "cs_option");
	*(void **)&cs->malloc = dlsym(cs->so, "cs_malloc");
	*(void **)&cs->iter = dlsym(cs->so, "cs_disasm_iter");
	*(void **)&cs->free = dlsym(cs->so, "cs_free");
	*(void **)&cs->close = dlsym(cs->so, "cs_close");
	if (!cs->open || !cs->option || !cs->malloc || !cs->iter || !cs->free || !cs->close) {
		dlclose(cs->so);
		return -ENOTSUP;
	}
	return 0;
}

static int walk(const uint8_t *code, size_t len, uint64_t addr, struct dis *d)
{
	uint64_t lea[X86_REG_ENDING] = { 0 };
	size_t lea_at[X86_REG_ENDING] = { 0 };
	struct cs_lib cs;
	cs_insn *in;
	csh h;
	size_t idx = 0;
	int err = cs_load(&cs);

	memset(d, 0, sizeof(*d));
	if (err)
		return err;
	if (cs.open(CS_ARCH_X86, CS_MODE_64, &h) != CS_ERR_OK) {
		err = -ENOTSUP;
		goto out;
	}
	cs.option(h, CS_OPT_DETAIL, CS_OPT_ON);
	in = cs.malloc(h);
	if (!in) {
		err = -ENOMEM;
		goto close;
	}
	while (cs.iter(h, &code, &len, &addr, in))
		insn(d, in, lea, lea_at, ++idx);
	cs.free(in, 1);
	err = idx ? 0 : -EINVAL;
close:
	cs.close(&h);
out:
	dlclose(cs.so);
	return err;
}

static int disasm_func(const struct goelf *g, const struct gopclntab *pt, const char *name,
		       struct dis *d)
{
	struct go_func f;
	uint8_t *code;
	int err;

	if (!pt || gopclntab__lookup(pt, name, &f))
		return -ENOENT;
	if (f.end <= f.entry || f.end - f.entry > MAX_FUNC)
		return -EINVAL;
	code = malloc(f.end - f.entry);
	if (!code)
		return -ENOMEM;
	err = goelf_read(g, f.entry, code, f.end - f.entry);
	if (!err)
		err = walk(code, f.end - f.entry, f.entry, d);
	free(code);
	return err;
}

static bool has(const struct dis *d, uint64_t t)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->tgt[i] == t)
			return true;
	return false;
}

/* The slice header: the lowest target T with T+8 (and, if asked, T+16)
 * also used. */
static uint64_t slice_base(const struct dis *d, bool with_cap)
{
	uint64_t best = 0;

	for (size_t i = 0; i < d->n; i++) {
		uint64_t t = d->tgt[i];

		if (has(d, t + 8) && (!with_cap || has(d, t + 16)) && (!best || t < best))
			best = t;
	}
	return best;
}

static bool x86_64(const struct goelf *g)
{
	GElf_Ehdr eh;

	return gelf_getehdr(g->elf, &eh) && eh.e_machine == EM_X86_64;
}

int go_globals_from_disasm(const struct goelf *g, const struct gopclntab *pt,
			   struct go_layout *out)
{
	struct dis add, each;
	uint64_t allgs, other;
	int err;

	if (!x86_64(g))
		return -ENOTSUP;
	err = disasm_func(g, pt, "runtime.allgadd", &add);
	if (err)
		return err;
	allgs = slice_base(&add, true);
	if (!allgs || add.nxchg < 2 || !go_addr_in_file(g, allgs, 24, true) ||
	    !go_addr_in_file(g, add.xchgs[add.nxchg - 2], 8, true) ||
	    !go_addr_in_file(g, add.xchgs[add.nxchg - 1], 8, true))
		return -ENOENT;
	if (!disasm_func(g, pt, "runtime.forEachG", &each) && (other = slice_base(&each, false)) &&
	    other != allgs)
		bw_dbg("go layout: allgs at %#lx by allgadd, %#lx by forEachG", (unsigned long)allgs,
		       (unsigned long)other);
	out->allgs = allgs;
	out->allgptr = add.xchgs[add.nxchg - 2];
	out->allglen = add.xchgs[add.nxchg - 1];
	if (!out->firstmoduledata)
		go_scan_moduledata(g, &out->firstmoduledata);
	out->src_globals = GO_SRC_DISASM;
	return 0;
}

int go_disasm_reasons_loc(const struct goelf *g, const struct gopclntab *pt, uint64_t *addr,
			  uint32_t *n)
{
	struct dis d;
	int err;

	if (!x86_64(g))
		return -ENOTSUP;
	err = disasm_func(g, pt, "runtime.waitReason.String", &d);
	if (err)
		return err;
	if (!d.have_cmp || d.cmp_imm <= 0 || d.cmp_imm > GO_MAX_WAIT_REASONS * 4)
		return -ENOENT;
	/* the other lea is the "unknown wait reason" string, in .rodata */
	for (size_t i = 0; i < d.n; i++) {
		if (go_addr_in_file(g, d.tgt[i], 16ull * (uint64_t)d.cmp_imm, true)) {
			*addr = d.tgt[i];
			*n = (uint32_t)d.cmp_imm;
			return 0;
		}
	}
	return -ENOENT;
}
