/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_GOLAYOUT_PRIV_H
#define BW_GOLAYOUT_PRIV_H

/* What the sources of golang/layout share; not for other modules. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "golang/layout.h"

/*
 * One uint32 member of struct go_layout and where each source finds it:
 * @type's member @path ("stack.lo": a member of a member; NULL: the
 * struct's size), else, where versions differ, @path2 in @type2 (or in
 * @type when @type2 is NULL): runtime._type became internal/abi.Type in
 * Go 1.21, sudog.c a struct around the pointer after 1.25.
 */
struct go_field {
	const char *name; /* for messages: "g.goid" */
	size_t at;	  /* offsetof(struct go_layout, ...) */
	const char *type, *path;
	const char *type2, *path2;
	bool required;
};

extern const struct go_field go_fields[];
extern const size_t go_nfields;

/* runtime._G* constants and where they go in struct go_layout. */
struct go_status {
	const char *name; /* "runtime._Gwaiting" */
	size_t at;
};

extern const struct go_status go_statuses[];
extern const size_t go_nstatuses;

static inline uint32_t *go_field_ptr(struct go_layout *l, size_t at)
{
	return (uint32_t *)((char *)l + at);
}

/* The alternative spelling of @f: false when it has none. */
static inline bool go_field_alt(const struct go_field *f, const char **type, const char **path)
{
	if (!f->type2 && !f->path2)
		return false;
	*type = f->type2 ? f->type2 : f->type;
	*path = f->path2;
	return true;
}

static inline uint32_t go_field_get(const struct go_layout *l, size_t at)
{
	return *(const uint32_t *)((const char *)l + at);
}

/*
 * The file's static data as the loader would see it: a PIE's pointers
 * are zero in the file, their values are in R_X86_64_RELATIVE addends
 * (.rela.dyn), so reads of pointers apply those.
 */
struct go_img {
	const struct goelf *g;
	uint64_t *roff; /* (offset, addend) pairs, sorted by offset */
	size_t nrel;
};

int go_img_open(struct go_img *im, const struct goelf *g);
void go_img_close(struct go_img *im);
/* goelf_read, then the relocations inside [addr, addr + len). */
int go_img_read(const struct go_img *im, uint64_t addr, void *buf, size_t len);
int go_img_u64(const struct go_img *im, uint64_t addr, uint64_t *v);
/* Is [addr, addr + len) inside an allocated section (writable if asked)? */
bool go_addr_in_file(const struct goelf *g, uint64_t addr, uint64_t len, bool writable);

/* Free @l's wait-reason strings (nreasons 0). */
void go_reasons_free(struct go_layout *l);

/* runtime.waitReasonStrings: where and how many, by source. */
int go_dwarf_reasons_loc(const struct goelf *g, uint64_t *addr, uint32_t *n);
int go_symtab_reasons_loc(const struct goelf *g, uint64_t *addr, uint32_t *n);
int go_disasm_reasons_loc(const struct goelf *g, const struct gopclntab *pt, uint64_t *addr,
			  uint32_t *n);
/* runtime.firstmoduledata without symbols: the .noptrdata word that
 * points at the pcHeader (= .gopclntab), checked by its funcnametab. */
int go_scan_moduledata(const struct goelf *g, uint64_t *addr);

#endif
