/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_GPROC_H
#define BW_GPROC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "model/go.h"
#include "stacks/frame.h"

/*
 * Every Go process blockwatch looks at: which processes run Go (told
 * once per process), their binaries (shared), and per process what the
 * views need from one report to the next (when each goroutine was first
 * seen, the groups' trends) and its last view.
 */
struct goprocs;

struct goprocs *goprocs__new(void);
void goprocs__free(struct goprocs *g);
/*
 * The goroutine view of @pid now (CLOCK_MONOTONIC @now), valid until the
 * next snapshot of it or the next sweep; NULL when @pid does not run Go
 * (or is gone). A Go binary whose layout blockwatch cannot read gets a
 * view with only a warning. *err: 0, or why a Go process could not be
 * read (-EPERM: its memory, -ESRCH: it exited meanwhile), said once per
 * process on stderr. @trend: follow the groups across reports.
 */
const struct bw_go_view *goprocs__snapshot(struct goprocs *g, pid_t pid, uint64_t now,
					   bool trend, int *err);
/* Say on stderr what keeps a process's goroutines from being read (its
 * memory, its executable): for -p targets; system-wide, the missing
 * capability is said once at start instead, and each process only with
 * -v. Default: quiet. */
void goprocs__set_loud(struct goprocs *g, bool loud);
/* After a report: forget processes not looked at since the last sweep. */
void goprocs__sweep(struct goprocs *g);
/* @pid exec'd or exited: what is known about it goes (its binary may be
 * another now). */
void goprocs__forget(struct goprocs *g, pid_t pid);
/*
 * An OS thread's unwound stack in a Go process ends where the runtime
 * switched stacks (runtime.mcall, systemstack, asmcgocall: on to the
 * g0 stack) or where a stack begins (mstart, rt0_go, goexit): past
 * those, frames are another stack's, or garbage. Cut @pcs there (*n
 * shrinks, *truncated becomes false); nothing for other processes.
 */
void goprocs__cut_stack(struct goprocs *g, pid_t pid, struct bw_pc *pcs, int *n,
			bool *truncated);
/*
 * Name a pc of Go process @pid that the ELF symbols could not (a
 * stripped binary: .gopclntab is always there): @out[0] is what the
 * symbolizer made of it (module, offsets), which every frame keeps; its
 * inlined calls become frames of their own. Returns how many (1 and
 * @out untouched when it is no Go code of @pid), or -ENOMEM.
 */
int goprocs__resolve(struct goprocs *g, pid_t pid, const struct bw_pc *pc, struct bw_frame *out,
		     int max);

#endif
