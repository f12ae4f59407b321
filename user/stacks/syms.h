/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_SYMS_H
#define BW_SYMS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct bw_event;
struct syms;

/* A captured user context: registers in DWARF order plus a copy of the
 * stack from stack_base. */
struct bw_snapshot {
	pid_t pid;
	pid_t tid;
	const uint64_t *regs; /* BW_NREGS, DWARF numbering */
	uint64_t stack_base;
	const uint8_t *stack;
	uint32_t stack_len;
};

#define BW_MAX_FRAMES 128

struct bw_pc {
	uint64_t pc;
	bool activation; /* the interrupted pc itself, not a return address */
	bool kernel;	 /* a kernel address (-K) */
};

struct bw_frame {
	uint64_t addr;
	uint64_t offset;   /* file offset of addr in module; 0 if unknown */
	uint64_t symoff;   /* addr - symbol start */
	char *symbol;	   /* bare name, NULL when no symbol covers addr */
	char *module;	   /* path of the mapped file, NULL if unmapped */
	char *file;	   /* source file, NULL without line info */
	uint32_t line;
	bool inlined;	   /* an inlined call: shares addr with the next frame */
	bool kernel;	   /* from the kernel stack (-K) */
};

/* Frames one pc can expand to (inlined calls + the function). */
#define BW_MAX_INLINE 16

struct syms *syms__new(void);
void syms__free(struct syms *s);
/* Read the mappings of @pid now, while it lives. */
int syms__prepare(struct syms *s, pid_t pid);
/* Drop what is cached about @pid (it exited). */
void syms__forget(struct syms *s, pid_t pid);
/* Drop processes that no longer exist. */
void syms__prune(struct syms *s);
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
/* A kernel address in a BPF program or the tracepoint code that runs
 * it (bpf_trace_run*, __bpf_trace_*, __traceiter_*). */
bool syms__is_bpf_frame(struct syms *s, uint64_t addr);
/* Use these separate debug info directories (libdwfl's
 * debuginfo_path syntax) instead of the default /usr/lib/debug. */
void syms__set_debuginfo_path(const char *path);
/* "_ZN3foo3barEv" -> "foo::bar()"; other names are copied. */
char *bw_demangle(const char *name);
void bw_frame_clear(struct bw_frame *f);

#endif
