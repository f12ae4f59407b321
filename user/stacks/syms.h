/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_SYMS_H
#define BW_SYMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "stacks/dlwatch.h"
#include "stacks/frame.h"
#include "stacks/unwind.h"

/*
 * Unwinding and symbolization with elfutils' libdwfl, the library perf,
 * eu-stack and systemtap use: one procmap per process (its maps, its
 * unwinder, its JIT map), shared per-file symbolizers (elfsym), the
 * kernel's symbols (kallsyms).
 */
struct syms;

/* @debuginfo_path: where separate debug files are looked up (libdwfl's
 * syntax), NULL for its default (/usr/lib/debug). */
struct syms *syms__new(const char *debuginfo_path);
void syms__free(struct syms *s);
/* Frames with source lines and inlined calls (the default), or function
 * names only and no DWARF read for them (--no-lines); before the first
 * lookup. */
void syms__set_lines(struct syms *s, bool lines);
/* Read the mappings of @pid now, while it lives. */
int syms__prepare(struct syms *s, pid_t pid);
/* Where a language runtime knows a stack ends before the unwinder does
 * (Go's stack switches): called on every walk, before its pcs are
 * judged (a pc past the real end is no reason to reread the maps). */
typedef void (*bw_cut_fn)(void *ctx, pid_t pid, struct bw_pc *pcs, int *n, bool *truncated);
void syms__set_cut(struct syms *s, bw_cut_fn fn, void *ctx);
/* Hear the processes' dynamic loaders (stacks/dlwatch.h) through
 * @ops (NULL: not: every process's maps are compared every
 * PROCMAP_CHECK_NS); 0 or -ENOMEM. */
int syms__set_loader_ops(struct syms *s, const struct dl_ops *ops);
/* @pid's loader said its mappings are changing (BW_EV_MAPS): they are
 * compared before its next stack is unwound. */
void syms__maps_marked(struct syms *s, pid_t pid);
/* Drop what is cached about @pid (it exited, or exec'd). */
void syms__forget(struct syms *s, pid_t pid);
/*
 * Once per report (@now_ns: CLOCK_MONOTONIC): drop what is kept about
 * processes that no longer exist, the mappings (Dwfl, files, unwinder,
 * JIT map) of those not unwound for SYMS_IDLE_NS (read again when they
 * next block), and the file symbolizers no process left maps.
 */
#define SYMS_IDLE_NS (10 * 1000000000ULL)
void syms__prune(struct syms *s, uint64_t now_ns);
/* What is held: processes known, those with their mappings read, and
 * shared file symbolizers. */
struct bw_syms_stats {
	size_t procs;
	size_t mapped;
	size_t files;
	size_t elfs; /* shared libelf handles of mapped files */
};
void syms__stats(const struct syms *s, struct bw_syms_stats *st);
/* Unwind a snapshot into return addresses, leaf first. Returns the
 * number of frames; *truncated is set when the walk ran out of copied
 * stack (or frames) before reaching the outermost frame. */
int syms__unwind(struct syms *s, const struct bw_snapshot *snap, struct bw_pc *pcs,
		 int max, bool *truncated);
/* Resolve one pc of @pid into up to @max frames: its inlined calls,
 * innermost first, then the function itself; returns how many (>= 1)
 * or -ENOMEM. Strings are malloc'ed (free with bw_frame_clear). Never
 * guesses: a pc no symbol covers gets symbol == NULL. */
int syms__resolve(struct syms *s, pid_t pid, const struct bw_pc *pc, struct bw_frame *out,
		  int max);
/* How many times @pid's mappings were read (0: never): stacks named
 * with an older generation may be named better now. */
uint32_t syms__generation(struct syms *s, pid_t pid);
/* A kernel address in a BPF program or the tracepoint code that runs
 * it: blockwatch's own frames at the top of a switch-out stack. */
bool syms__is_bpf_frame(struct syms *s, uint64_t addr);

#endif
