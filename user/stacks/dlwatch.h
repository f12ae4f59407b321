/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_DLWATCH_H
#define BW_DLWATCH_H

#include <stdbool.h>
#include <sys/types.h>
#include "stacks/procmap.h"

/*
 * A library replaced at the same addresses (dlclose, then dlopen of
 * another file mapped where the first was) changes no pc's module, so
 * only the maps tell. Reading /proc/PID/maps every PROCMAP_CHECK_NS for
 * every process that blocks costs more than anything else on a server
 * whose processes have long maps (a database: a fifth of blockwatch's
 * CPU). The dynamic loader says when it changes them: glibc's and musl's
 * call _dl_debug_state (r_brk, where debuggers stop) before and after
 * every dlopen and dlclose. With a probe on it (bw_dl_state) and the
 * process asked for, a process's maps are compared only after it said
 * so (a BW_EV_MAPS marker, in order with its records); a process
 * without a loader blockwatch could probe (static, another loader, too
 * many loader files) keeps the periodic check.
 */
struct dl_ops {
	/* attach the probe to the loader file open at @fd: 0 or -errno */
	int (*probe)(void *ctx, int fd);
	/* ask (@on) or stop asking for @pid's markers: 0 or -errno */
	int (*watch)(void *ctx, pid_t pid, bool on);
	void *ctx;
};

struct dlwatch;

struct dlwatch *dlwatch__new(const struct dl_ops *ops);
void dlwatch__free(struct dlwatch *dw);
/* After @pm's maps were read: its loader probed (once per file) and
 * its process asked for; pm->dl_since_ns says from when. */
void dlwatch__attach(struct dlwatch *dw, struct procmap *pm);
/* @pm goes: stop asking for its process. */
void dlwatch__detach(struct dlwatch *dw, struct procmap *pm);

#endif
