/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_ELFSYM_H
#define BW_ELFSYM_H

#include <elfutils/libdwfl.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "base/clock.h"
#include "stacks/frame.h"

/*
 * Symbols, lines and inlined calls of one ELF file, shared by every
 * process that maps it (keyed by build-id): the DWARF of libc is parsed
 * once, not once per process (12 MB each with libc6-dbg). The process
 * Dwfl only unwinds and says which file a pc is in. At most
 * ELFSYM_MAX_FILES are kept, the least recently used going first.
 */
struct elfsyms;

/* A file's shared symbolizer: its module in a Dwfl of its own. */
struct elffile {
	Dwfl_Module *mod; /* NULL: the file could not be read */
	Dwarf_Addr bias;
};

void elfsym_callbacks(Dwfl_Callbacks *cb, char **debuginfo_path);
struct elfsyms *elfsyms__new(const Dwfl_Callbacks *cb);
/* Lines and inlined calls (the default) or function names only, for
 * every pc from now on; set before the first lookup (the cache keeps
 * what was answered). */
void elfsyms__set_lines(struct elfsyms *c, bool lines);
void elfsyms__free(struct elfsyms *c);
/* The shared symbolizer of the file with this build-id, opened through
 * @pid (@path as it sees it) the first time; NULL if it cannot be. */
const struct elffile *elfsyms__get(struct elfsyms *c, const unsigned char *id, size_t idlen,
				   pid_t pid, const char *path);

/* elfsym_frames for @file (from elfsyms__get) through its symbol table
 * and the pc cache; -ESRCH when the file was released and cannot be
 * opened again (name the pc from the process's own module then). */
int elfsyms__frames(struct elfsyms *c, const struct elffile *file, Dwarf_Addr lookup,
		    bool activation, const struct bw_frame *tmpl, struct bw_frame *out, int max);
/* How many pcs are cached. */
size_t elfsyms__cached_pcs(const struct elfsyms *c);

struct symtab;
/*
 * Eviction: a file no process we hold the mappings of maps is dropped
 * (its DWARF can be tens of MB: a compiler's libLLVM, long exited).
 * Between two sweeps every file still mapped is marked; the sweep frees
 * the others and returns how many.
 */
void elfsyms__mark(struct elfsyms *c, const unsigned char *id, size_t idlen);
size_t elfsyms__sweep(struct elfsyms *c);
size_t elfsyms__count(const struct elfsyms *c);
/*
 * A file still mapped whose pcs have all been served by the pc cache
 * for @idle_ns drops its Dwfl (libc's DWARF inflated is ~16 MB, and
 * libdw's caches of it grow with every new pc): opened again at the
 * next pc not cached, through the last process seen mapping it. Opening
 * libc's again costs ~100 ms of CPU (inflating its DWARF), so a file
 * opened again within ELFSYM_SOON_NS of its release waits twice as long
 * before the next one (up to 16 times @idle_ns), and one that stayed
 * released that long starts over. Returns how many were released.
 */
#define ELFSYM_IDLE_NS (10 * BW_NSEC_PER_SEC)
#define ELFSYM_SOON_NS (60 * BW_NSEC_PER_SEC)
#define ELFSYM_MAX_BACKOFF 4
size_t elfsyms__release_idle(struct elfsyms *c, uint64_t now_ns, uint64_t idle_ns);

/*
 * Name @lookup (an address in @mod's own terms) into up to @max frames:
 * its inlined calls, innermost first, as eu-stack -i shows them, then
 * the function itself. Each starts as a copy of @tmpl (addr, module,
 * mapping; its strings are duplicated). Only a symbol whose extent
 * covers the address names the function: never the nearest preceding
 * (exported) one; from @syms, @mod's symbol table, when not NULL, else
 * from dwfl_module_addrinfo. @activation: the pc itself, not a return
 * address. !@lines: the function alone, without file, line or inlined
 * calls, and no DWARF is read (the symbol table only). Returns how many
 * (>= 1) or -ENOMEM.
 */
int elfsym_frames(Dwfl_Module *mod, const struct symtab *syms, Dwarf_Addr lookup, bool activation,
		  bool lines, const struct bw_frame *tmpl, struct bw_frame *out, int max);

#endif
