/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_FRAME_H
#define BW_FRAME_H

#include <stdbool.h>
#include <stdint.h>

#define BW_MAX_FRAMES 128
/* Frames one pc can expand to (inlined calls + the function). */
#define BW_MAX_INLINE 16

/* One pc of an unwound stack. */
struct bw_pc {
	uint64_t pc;
	bool activation; /* the interrupted pc itself, not a return address */
	bool kernel;	 /* a kernel address (-K) */
};

/* One symbolized frame. Strings are malloc'ed (bw_frame_clear). */
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
	/* The module's mapping, as profile.proto's Mapping wants it: the
	 * addresses it spans, the file offset of map_start, its build-id
	 * (hex; NULL when it has none). 0/NULL when unmapped. */
	uint64_t map_start;
	uint64_t map_end;
	uint64_t map_offset;
	char *build_id;
};

void bw_frame_clear(struct bw_frame *f);
/* A deep copy; -ENOMEM. */
int bw_frame_copy(struct bw_frame *dst, const struct bw_frame *src);

#endif
