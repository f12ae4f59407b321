/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_PCLNTAB_H
#define BW_PCLNTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A Go binary's function table (.gopclntab): the name, source file and
 * line, inlined calls and frame size of every Go function, present in
 * every Go binary, stripped or not. Layouts: Go 1.16-1.17 (magic
 * 0xfffffffa), 1.18-1.19 (0xfffffff0), 1.20+ (0xfffffff1). Addresses
 * are the binary's own (link-time): a caller with a runtime pc
 * subtracts the load bias first. No Debian package parses this from C,
 * hence our own reader (debug/gosym and runtime/symtab.go are the
 * reference).
 */
struct gopclntab;

/* A Go function. */
struct go_func {
	uint64_t entry;
	uint64_t end;	  /* first pc after it */
	const char *name; /* as the runtime prints it: main.(*T).M, valid while the table lives */
	uint8_t funcid;	  /* the runtime's funcID (goexit, mcall, systemstack...) */
};

/* One frame of a pc: an inlined call or the function itself. */
struct go_frame {
	const char *func;  /* valid while the table lives */
	const char *file;
	uint32_t line;
	uint64_t entry;	   /* of the function itself (the outermost) */
	bool inlined;	   /* an inlined call: the next frame is its caller */
};

/* Parse @len bytes of .gopclntab (kept, not copied: they must outlive
 * the table). @text_addr: the .text section's address, for layouts that
 * do not hold it (1.16-1.17). 0 or -EINVAL (unknown magic, truncated),
 * -ENOMEM. */
int gopclntab__new(const void *data, size_t len, uint64_t text_addr, struct gopclntab **out);
void gopclntab__free(struct gopclntab *t);
/* 116, 118 or 120: which layout. */
int gopclntab__layout(const struct gopclntab *t);
/* The function holding @pc: 0, or -ENOENT. */
int gopclntab__find(const struct gopclntab *t, uint64_t pc, struct go_func *f);
/* The function called @name (e.g. "runtime.allgadd"): 0, or -ENOENT. */
int gopclntab__lookup(const struct gopclntab *t, const char *name, struct go_func *f);
/*
 * The frames at @pc, innermost first: each inlined call (inlined =
 * true, its own name, the file:line inside it), then the function that
 * holds @pc with the file:line of the call site of the outermost inlined
 * call (or of @pc itself when nothing is inlined there) — what
 * runtime.CallersFrames and the runtime's tracebacks show. @pc is taken
 * as is: pass pc - 1 for a return address. Returns how many (>= 1,
 * at most @max) or -ENOENT.
 */
int gopclntab__frames(const struct gopclntab *t, uint64_t pc, struct go_frame *out, int max);
/* The runtime's pcsp value at @pc: how far SP is below the frame's
 * entry SP (the bytes the function has pushed and reserved so far, the
 * return address excluded). 0 or -ENOENT. */
int gopclntab__spdelta(const struct gopclntab *t, uint64_t pc, int32_t *delta);

/*
 * The inline trees (FUNCDATA_InlTree) are not in .gopclntab: the linker
 * puts them in the go:func.* data, which only runtime.firstmoduledata
 * points to (.rodata in the default, stripped, PIE and static builds of
 * Go 1.19). @data: the @len bytes of the section that holds it, at
 * link-time address @addr (kept, not copied); @gofunc: moduledata.gofunc
 * (1.18+; the 1.16 layout's funcdata are absolute addresses, @gofunc is
 * ignored). Until this is called, gopclntab__frames returns a single
 * frame, the function holding the pc at the pc's own file:line (what
 * debug/gosym shows). 0, or -EINVAL when @gofunc is outside @data.
 */
int gopclntab__set_funcdata(struct gopclntab *t, const void *data, size_t len, uint64_t addr,
			    uint64_t gofunc);
/*
 * Find runtime.firstmoduledata in @data (@len bytes at link-time address
 * @addr: .noptrdata in every build seen): the word equal to
 * @pclntab_addr (the address of .gopclntab) followed by this table's
 * funcnametab, cutab, filetab, pctab and pclntable slices. Sets @md to
 * its address and @gofunc to its gofunc field (0 for the 1.16 layout).
 * 0, or -ENOENT (also when the file holds unapplied relocations there).
 */
int gopclntab__find_moduledata(const struct gopclntab *t, const void *data, size_t len,
			       uint64_t addr, uint64_t pclntab_addr, uint64_t *md,
			       uint64_t *gofunc);

struct goelf;
/*
 * All of the above for a Go binary opened with goelf_open: the table of
 * @g's .gopclntab with the inline trees attached when moduledata and
 * go:func.* are found (the table still works without them, see
 * gopclntab__set_funcdata). The table points into @g's memory: free it
 * before goelf_close. 0, -EINVAL or -ENOMEM.
 */
int gopclntab__from_goelf(const struct goelf *g, struct gopclntab **out);

#endif
