/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_PCLNTAB_INT_H
#define BW_PCLNTAB_INT_H

/* The table's insides, shared by pclntab.c (decoding) and
 * pclntab_table.c (the header, the name index, moduledata). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "golang/pclntab.h"

#define MAGIC_116 0xfffffffaU
#define MAGIC_118 0xfffffff0U
#define MAGIC_120 0xfffffff1U

/* runtime/symtab.go: _PCDATA_InlTreeIndex, _FUNCDATA_InlTree */
#define PCDATA_INLTREE 2
#define FUNCDATA_INLTREE 3
/* A corrupt inline tree can point back at itself through parentPc. */
#define MAX_INLINE_STEPS 256

/* The parts of the section the header points to, in the header's order. */
enum { R_NAME, R_CU, R_FILE, R_PC, R_FUNC, R_NUM };

struct region {
	size_t off, end;
};

/* Functions by name, built on the first lookup: @n pairs of (name
 * offset, function index), sorted by name. */
struct name_index {
	uint32_t n;
	uint32_t idx[];
};

struct gopclntab {
	const uint8_t *data;
	size_t len;
	int layout;
	uint32_t quantum; /* pc deltas are in units of it (1 on amd64) */
	uint32_t nfunc;
	uint64_t text_start;
	struct region r[R_NUM];
	uint32_t ftab_field; /* functab: uint32 pairs from 1.18, uintptr before */
	/* go:func.* (see gopclntab__set_funcdata) */
	const uint8_t *fd;
	size_t fd_len;
	uint64_t fd_addr, gofunc;
	struct name_index *byname;
};

/* One _func record, decoded. */
struct fn {
	uint64_t entry, end;
	uint32_t nameoff, pcsp, pcfile, pcln, npcdata, cuoff;
	uint8_t funcid, nfuncdata;
	size_t pcdata; /* offset of pcdata[0] in the section */
};

static inline uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v; /* little-endian only: gopclntab__new refuses the rest */
}

static inline uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static inline bool in_region(const struct region *r, size_t off, size_t n)
{
	return off >= r->off && off <= r->end && r->end - off >= n;
}

/* A NUL-terminated string at @off in region @r, or NULL. */
static inline const char *str_at(const struct gopclntab *t, int r, int64_t off)
{
	const struct region *g = &t->r[r];
	const uint8_t *p;

	if (off < 0 || (uint64_t)off >= g->end - g->off)
		return NULL;
	p = t->data + g->off + off;
	return memchr(p, 0, g->end - g->off - off) ? (const char *)p : NULL;
}

/* runtime.cfuncname: nameoff 0 is no name (go.buildid's, at the start
 * of text), though offset 0 holds the first function's. */
static inline const char *fn_name(const struct gopclntab *t, const struct fn *f)
{
	return f->nameoff ? str_at(t, R_NAME, f->nameoff) : "";
}

static inline uint64_t ftab_entry(const struct gopclntab *t, uint32_t i)
{
	const uint8_t *p = t->data + t->r[R_FUNC].off + (size_t)i * 2 * t->ftab_field;

	if (t->ftab_field == 4)
		return t->text_start + get32(p);
	return get64(p);
}

int pcln_read_fn(const struct gopclntab *t, uint32_t i, struct fn *f);
int pcln_to_func(const struct gopclntab *t, const struct fn *f, struct go_func *out);

#endif
