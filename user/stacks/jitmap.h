/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_JITMAP_H
#define BW_JITMAP_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include "stacks/frame.h"

/*
 * JIT code named by the process itself: JIT compilers (V8, the JVM with
 * perf-map-agent, LuaJIT...) write "START SIZE name" lines to
 * /tmp/perf-PID.map, PID as the process knows itself; read through its
 * root (containers), the first time a pc needs it.
 */
struct jitmap;

struct jitmap *jitmap__new(pid_t pid);
void jitmap__free(struct jitmap *jm);
/* 1 and @f named ("[jit]") when @addr is in a known JIT symbol, 0 when
 * not, -ENOMEM. */
int jitmap__resolve(struct jitmap *jm, uint64_t addr, struct bw_frame *f);
/* The map's lines from @f instead of the process's file (which
 * jitmap__resolve then no longer reads): the parser alone, for tests
 * and fuzzing. 0 or -ENOMEM. */
int jitmap__parse(struct jitmap *jm, FILE *f);

#endif
