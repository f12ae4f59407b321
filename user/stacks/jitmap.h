/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_JITMAP_H
#define BW_JITMAP_H

#include <stdint.h>
#include <sys/types.h>
#include "stacks/frame.h"

/*
 * JIT code named by the process itself: JIT compilers (V8, the JVM with
 * perf-map-agent, LuaJIT...) write "START SIZE name" lines to
 * /tmp/perf-PID.map, PID as the process knows itself; read through its
 * root (containers), the first time a pc needs it. Whoever wrote it, it
 * is read as hostile: no links, a regular file of the process's user (or
 * root), at most 64 MiB and 2^20 symbols, a second of reading; else no JIT
 * names for the process (said once under -v). Where lines overlap, the
 * last one that covers a pc names it.
 */
struct jitmap;

struct jitmap *jitmap__new(pid_t pid);
void jitmap__free(struct jitmap *jm);
/* Look again when a pc next needs it (the process's mappings changed):
 * read again if the file changed (its inode, size or mtime), else keep
 * what was read. What was said under -v stays said. */
void jitmap__reset(struct jitmap *jm);
/* 1 and @f named ("[jit]") when @addr is in a known JIT symbol, 0 when
 * not, -ENOMEM. */
int jitmap__resolve(struct jitmap *jm, uint64_t addr, struct bw_frame *f);
/* The map's lines from @fd, read to its end as the process's file would
 * be (same budget), instead of that file, which jitmap__resolve then no
 * longer reads: the parser alone, for tests and fuzzing. 0, -ENOMEM,
 * -E2BIG, -EFBIG, -ETIME or a read error. */
int jitmap__parse(struct jitmap *jm, int fd);

#endif
