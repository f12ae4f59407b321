// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * .gopclntab after runtime/symtab.go, the reader whose answers Go's own
 * tracebacks show, with debug/gosym/pclntab.go for the header. Verified
 * against Go 1.19 (layout 118, tests/unit/test_pclntab.c); the 116 and
 * 120 paths are from the runtime's source of those versions, unverified.
 * Every offset read from the file is checked against the section before
 * use: a corrupt table gives -EINVAL, never a read outside it.
 */
#include <errno.h>
#include "golang/pclntab_int.h"

static uint64_t ftab_funcoff(const struct gopclntab *t, uint32_t i)
{
	const uint8_t *p = t->data + t->r[R_FUNC].off + ((size_t)i * 2 + 1) * t->ftab_field;

	return t->ftab_field == 4 ? get32(p) : get64(p);
}

/*
 * _func (runtime/runtime2.go): the entry (uintptr before 1.18, a uint32
 * offset from textStart since), then uint32 nameoff, args, deferreturn,
 * pcsp, pcfile, pcln, npcdata, cuOffset, [startLine, 1.20+], then the
 * bytes funcID, flag, pad, nfuncdata, then npcdata uint32 pcdata offsets
 * and nfuncdata funcdata (uint32 offsets from gofunc since 1.18,
 * 8-aligned uintptrs before).
 */
int pcln_read_fn(const struct gopclntab *t, uint32_t i, struct fn *f)
{
	const struct region *r = &t->r[R_FUNC];
	size_t base = t->ftab_field == 4 ? 4 : 8, id, off, need;
	const uint8_t *p;
	uint64_t funcoff = ftab_funcoff(t, i);

	id = base + 32 + (t->layout == 120 ? 4 : 0);
	if (funcoff > r->end - r->off || !in_region(r, r->off + funcoff, id + 4))
		return -EINVAL;
	off = r->off + funcoff;
	p = t->data + off;
	f->entry = base == 4 ? t->text_start + get32(p) : get64(p);
	f->end = ftab_entry(t, i + 1);
	f->nameoff = get32(p + base);
	f->pcsp = get32(p + base + 12);
	f->pcfile = get32(p + base + 16);
	f->pcln = get32(p + base + 20);
	f->npcdata = get32(p + base + 24);
	f->cuoff = get32(p + base + 28);
	f->funcid = p[id];
	f->nfuncdata = p[id + 3];
	f->pcdata = off + id + 4;
	/* pcdata, then funcdata (with the 1.16 layout's alignment padding) */
	need = (size_t)f->npcdata * 4;
	if (base == 4)
		need += (size_t)f->nfuncdata * 4;
	else if (f->nfuncdata)
		need += (size_t)f->nfuncdata * 8 + 4;
	if (f->entry != ftab_entry(t, i) || !in_region(r, f->pcdata, need))
		return -EINVAL;
	return 0;
}

static int uvarint(const uint8_t *p, size_t *pos, size_t end, uint32_t *v)
{
	uint32_t x = 0;
	unsigned int shift;

	for (shift = 0; shift < 35 && *pos < end; shift += 7) {
		uint8_t b = p[(*pos)++];

		x |= (uint32_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*v = x;
			return 0;
		}
	}
	return -EINVAL;
}

/*
 * The value of the pc-value table at @off (in pctab) for @target: pairs
 * of a zig-zag value delta and a pc delta, from value -1 at the entry,
 * ended by a zero byte (runtime.pcvalue and step, with step's "first"
 * meaning "still at the entry" as there). -ENOENT: no table, or it ends
 * before @target (the runtime's non-strict -1); -EINVAL: malformed.
 */
static int pcvalue(const struct gopclntab *t, const struct fn *f, uint32_t off, uint64_t target,
		   int32_t *out)
{
	const struct region *r = &t->r[R_PC];
	size_t pos = r->off + off;
	uint32_t val = UINT32_MAX;
	uint64_t pc = f->entry;

	if (!off)
		return -ENOENT;
	if (off >= r->end - r->off)
		return -EINVAL;
	for (;;) {
		uint32_t uv, pcd;

		if (pos >= r->end)
			return -EINVAL;
		if (!t->data[pos] && pc != f->entry)
			return -ENOENT;
		if (uvarint(t->data, &pos, r->end, &uv) || uvarint(t->data, &pos, r->end, &pcd))
			return -EINVAL;
		val += -(uv & 1) ^ (uv >> 1);
		pc += (uint64_t)pcd * t->quantum;
		if (target < pc) {
			*out = (int32_t)val;
			return 0;
		}
	}
}

static int pcdata(const struct gopclntab *t, const struct fn *f, uint32_t table, uint64_t pc,
		  int32_t *out)
{
	if (table >= f->npcdata)
		return -ENOENT;
	return pcvalue(t, f, get32(t->data + f->pcdata + table * 4), pc, out);
}

/* runtime.funcline1 and funcfile: "?" and 0 where the tables say nothing. */
static int funcline(const struct gopclntab *t, const struct fn *f, uint64_t pc,
		    const char **file, uint32_t *line)
{
	int32_t fileno, ln;
	uint64_t cu;
	uint32_t off;
	int err;

	*file = "?";
	*line = 0;
	err = pcvalue(t, f, f->pcfile, pc, &fileno);
	if (!err)
		err = pcvalue(t, f, f->pcln, pc, &ln);
	if (err == -ENOENT || (!err && (fileno < 0 || ln < 0)))
		return 0;
	if (err)
		return err;
	cu = ((uint64_t)f->cuoff + (uint32_t)fileno) * 4;
	if (cu > t->r[R_CU].end - t->r[R_CU].off ||
	    !in_region(&t->r[R_CU], t->r[R_CU].off + cu, 4))
		return -EINVAL;
	off = get32(t->data + t->r[R_CU].off + cu);
	if (off == UINT32_MAX)
		return 0;
	if (!(*file = str_at(t, R_FILE, off)))
		return -EINVAL;
	*line = (uint32_t)ln;
	return 0;
}

/* The index of the function holding @pc: the last entry <= pc. */
static int find_idx(const struct gopclntab *t, uint64_t pc, uint32_t *idx)
{
	uint32_t lo = 0, hi = t->nfunc;

	if (!t->nfunc || pc < ftab_entry(t, 0) || pc >= ftab_entry(t, t->nfunc))
		return -ENOENT;
	while (hi - lo > 1) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (ftab_entry(t, mid) <= pc)
			lo = mid;
		else
			hi = mid;
	}
	*idx = lo;
	return 0;
}

int pcln_to_func(const struct gopclntab *t, const struct fn *f, struct go_func *out)
{
	out->name = fn_name(t, f);
	if (!out->name)
		return -EINVAL;
	out->entry = f->entry;
	out->end = f->end;
	out->funcid = f->funcid;
	return 0;
}

int gopclntab__find(const struct gopclntab *t, uint64_t pc, struct go_func *out)
{
	struct fn f;
	uint32_t i;
	int err;

	err = find_idx(t, pc, &i);
	if (!err)
		err = pcln_read_fn(t, i, &f);
	return err ? err : pcln_to_func(t, &f, out);
}

int gopclntab__spdelta(const struct gopclntab *t, uint64_t pc, int32_t *delta)
{
	struct fn f;
	uint32_t i;
	int err;

	err = find_idx(t, pc, &i);
	if (!err)
		err = pcln_read_fn(t, i, &f);
	return err ? err : pcvalue(t, &f, f.pcsp, pc, delta);
}

/* One entry of an inline tree (runtime.inlinedCall). */
struct inl {
	uint8_t funcid;
	int32_t nameoff, parentpc;
};

/* Where @f's inline tree starts (a link-time address), or -ENOENT. */
static int inltree(const struct gopclntab *t, const struct fn *f, uint64_t *base)
{
	size_t fd = f->pcdata + (size_t)f->npcdata * 4;
	uint32_t off;

	if (!t->fd || f->nfuncdata <= FUNCDATA_INLTREE)
		return -ENOENT;
	if (t->ftab_field == 4) {
		off = get32(t->data + fd + FUNCDATA_INLTREE * 4);
		*base = t->gofunc + off;
		return off == UINT32_MAX ? -ENOENT : 0;
	}
	/* 1.16: uintptrs, 8-aligned in memory; .gopclntab itself is (32 in
	 * every build seen), so the offset's alignment is the address's.
	 * From the runtime's source, unverified. */
	fd = (fd + 7) & ~(size_t)7;
	*base = get64(t->data + fd + FUNCDATA_INLTREE * 8);
	return *base ? 0 : -ENOENT;
}

/*
 * Entry @ix of the tree at @base. 1.16-1.19: int16 parent, uint8 funcID,
 * pad, int32 file, line, func_ (name offset), parentPc; 1.20+: uint8
 * funcID, 3 pad, int32 nameOff, parentPc, startLine (symtabinl.go; from
 * the runtime's source, unverified).
 */
static int read_inl(const struct gopclntab *t, uint64_t base, int32_t ix, struct inl *c)
{
	size_t sz = t->layout == 120 ? 16 : 20;
	const uint8_t *p;
	uint64_t off;

	if (ix < 0 || base < t->fd_addr || base - t->fd_addr > t->fd_len)
		return -EINVAL;
	off = base - t->fd_addr + (uint64_t)ix * sz;
	if (off > t->fd_len || t->fd_len - off < sz)
		return -EINVAL;
	p = t->fd + off;
	c->funcid = p[t->layout == 120 ? 0 : 2];
	c->nameoff = (int32_t)get32(p + (t->layout == 120 ? 4 : 12));
	c->parentpc = (int32_t)get32(p + (t->layout == 120 ? 8 : 16));
	return 0;
}

static int frame(const struct gopclntab *t, const struct fn *f, const char *name, uint64_t pc,
		 bool inlined, struct go_frame *o)
{
	o->func = name;
	if (!o->func)
		return -EINVAL;
	o->entry = f->entry;
	o->inlined = inlined;
	return funcline(t, f, pc, &o->file, &o->line);
}

/*
 * 1.19's runtime.Callers and CallersFrames, in one step: the inline tree
 * index at the pc names the innermost inlined call, its file:line is the
 * pc's own; its caller's position is that of the instruction at
 * entry + parentPc, where the tree index names the next call out, and so
 * on until the index is -1: the physical function, at the position of
 * the outermost call site. Inlined wrappers are kept (the runtime elides
 * them by a funcID whose value depends on the Go version). With more
 * frames than @max, the outermost inlined ones are dropped: the last
 * frame is always the physical function.
 */
int gopclntab__frames(const struct gopclntab *t, uint64_t pc, struct go_frame *out, int max)
{
	uint64_t tree, tracepc = pc;
	int n = 0, steps, err;
	bool has_tree;
	struct fn f;
	uint32_t i;

	if (max < 1)
		return -EINVAL;
	err = find_idx(t, pc, &i);
	if (!err)
		err = pcln_read_fn(t, i, &f);
	if (err)
		return err;
	has_tree = !inltree(t, &f, &tree);
	for (steps = 0; has_tree; steps++) {
		struct inl c;
		int32_t ix;

		if (steps == MAX_INLINE_STEPS)
			return -EINVAL;
		err = pcdata(t, &f, PCDATA_INLTREE, tracepc, &ix);
		if (err == -ENOENT || (!err && ix < 0))
			break;
		if (!err)
			err = read_inl(t, tree, ix, &c);
		if (!err && n < max - 1) {
			err = frame(t, &f, str_at(t, R_NAME, c.nameoff), tracepc, true, &out[n]);
			n += !err;
		}
		if (!err && (c.parentpc < 0 || (uint64_t)c.parentpc >= f.end - f.entry))
			err = -EINVAL;
		if (err)
			return err;
		tracepc = f.entry + (uint32_t)c.parentpc;
	}
	err = frame(t, &f, fn_name(t, &f), tracepc, false, &out[n]);
	return err ? err : n + 1;
}
