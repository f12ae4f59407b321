/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_GOBIN_H
#define BW_GOBIN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "golang/goelf.h"
#include "golang/layout.h"
#include "golang/pclntab.h"

/* One frame of a goroutine stack, symbolized. Strings belong to the
 * binary's pclntab. */
struct go_sym {
	const char *func; /* NULL: not a Go pc */
	bool wrapper;	  /* compiler-made (a go statement's closure...): tracebacks hide it */
	const char *file;
	uint32_t line;
	bool inlined;
	bool runtime; /* hidden by the runtime's tracebacks: runtime.* but exported */
};

/*
 * A Go binary, shared by every process that runs it (keyed by the file's
 * device and inode): its ELF, its function table, its runtime layout,
 * and the pcs symbolized so far. A binary whose layout is refused keeps
 * the reason, so that it is said once.
 */
struct gobin {
	struct goelf elf;
	struct gopclntab *pcln;
	struct go_layout layout;
	bool usable;	  /* the layout resolved */
	bool warned;	  /* that it did not was said */
	char why[160];	  /* why not */
	uint64_t goexit_entry, goexit_end; /* runtime.goexit: where stacks end */
	int funcid_wrapper; /* funcID_wrapper of this Go version; -1: unknown */
	struct go_pcsyms *pcs; /* pc -> frames cache */
	char **clean;	       /* names that had to be made printable */
	size_t nclean;
	uint32_t refs;
};

struct gobins;

struct gobins *gobins__new(void);
void gobins__free(struct gobins *c);
/* The Go binary @pid runs: NULL with -ENOEXEC when it is none (or not
 * readable as a file), -EPERM when we may not look at its executable,
 * -ENOMEM. A reference of the caller's. */
struct gobin *gobins__get(struct gobins *c, pid_t pid, int *err);
void gobin_put(struct gobin *b);
/* Let go of binaries no process runs any more (their fd, map, tables),
 * and, past a bound, of what is known about files that are not Go. */
void gobins__prune(struct gobins *c);

/* The frames of link-time @pc, innermost first (inlined calls, then the
 * function); @ret: a return address (looked up at pc - 1). Cached per
 * pc for the binary's lifetime. Returns how many (>= 1): a pc outside
 * Go code is one frame with func NULL. */
int gobin_symbolize(struct gobin *b, uint64_t pc, bool ret, const struct go_sym **frames);
/* @s if it is printable ASCII, else a copy that is ('?' for the rest),
 * kept with the binary: names come from the binary, which may be
 * hostile, and end up on a terminal or in JSON. NULL stays NULL. */
const char *gobin_clean(struct gobin *b, const char *s);
/* Is @name one of the runtime's frames its tracebacks hide? */
bool go_is_runtime_func(const char *name);

#endif
