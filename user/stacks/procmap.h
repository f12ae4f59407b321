/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_PROCMAP_H
#define BW_PROCMAP_H

#include <elfutils/libdwfl.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "stacks/elfcache.h"
#include "base/clock.h"
#include "stacks/jitmap.h"
#include "stacks/mapset.h"
#include "stacks/unwind.h"

/*
 * One process's address space as libdwfl sees it: a Dwfl built from
 * /proc/PID/maps, whose files are opened the way the process sees them
 * (its root for containers, map_files for deleted binaries), with the
 * unwinder attached, plus its JIT map. Kept while the process lives.
 */
struct procmap {
	pid_t pid;
	Dwfl *dwfl;		  /* NULL: the maps could not be read */
	bool attached;		  /* the unwinder is */
	bool foreign_root;	  /* found while it lived: once gone, /proc cannot say */
	uint64_t built_ns;	  /* when the maps were read (CLOCK_MONOTONIC) */
	uint32_t generation;	  /* bumped when a reread found them changed */
	uint64_t signature;	  /* of the modules and the JIT map, to tell */
	struct mapset files;	  /* the file mappings in /proc/PID/maps */
	uint64_t checked_ns;	  /* when they were last compared */
	struct jitmap *jit;
	struct elfcache *elfs;	  /* the files' handles, shared */
	struct bw_unwinder uw;
	bool released;		  /* procmap__release: read again when next needed */
	/* Its loader announces dlopen and dlclose (stacks/dlwatch.h) since
	 * dl_since_ns (0: not): once the maps were compared after that,
	 * they are compared again only when dl_marked says it spoke. */
	bool dl_watching;
	bool dl_marked;
	uint64_t dl_since_ns;
	/* Held without a loader that announces (a static binary, most Go
	 * programs, or a loader that could not be probed): its records
	 * wake userspace batched all the same, and its maps are compared
	 * every PROCMAP_CHECK_NS as before. */
	bool dl_batched;
};

/* The module a pc is in, with what a frame needs about it. */
struct bw_module {
	Dwfl_Module *mod;
	const char *name; /* "[vdso]" for the vdso */
	Elf *elf;	  /* NULL: its file could not be read */
	Dwarf_Addr bias;
	uint64_t start, end;
	const unsigned char *build_id;
	int build_id_len;
};

/* The libdwfl callbacks for process Dwfls; @debuginfo_path must outlive
 * every Dwfl built with them. */
void procmap_callbacks(Dwfl_Callbacks *cb, char **debuginfo_path);

/* @elfs: where its files' handles are shared (NULL: opened for it
 * alone). NULL only when out of memory: a process whose maps cannot be read
 * gets a procmap without a Dwfl (a gone process stays gone). */
struct procmap *procmap__new(pid_t pid, const Dwfl_Callbacks *cb, struct elfcache *elfs);
void procmap__free(struct procmap *pm);
/* Drop the Dwfl, its files and the JIT map of a process that has not
 * blocked for a while; its generation and signature stay, so a rebuild
 * that finds the same maps keeps what was named with them. */
void procmap__release(struct procmap *pm);
/* Read the maps again (dlopen, a new JIT region, an earlier failure). */
int procmap__rebuild(struct procmap *pm, const Dwfl_Callbacks *cb);
/* A file mapping was added or changed since the maps were read (a
 * library dlclose'd and another mapped in its place; not one only
 * removed: see struct mapset); checked at most every PROCMAP_CHECK_NS,
 * false in between; when its loader announces changes, checked only
 * after it did (procmap__mark). */
bool procmap__files_changed(struct procmap *pm);
#define PROCMAP_CHECK_NS (100 * BW_NSEC_PER_MSEC)
/* Its loader said its mappings are changing. */
void procmap__mark(struct procmap *pm);
/* The module holding @addr; false when none does. */
bool procmap__module(struct procmap *pm, uint64_t addr, struct bw_module *m);

#endif
