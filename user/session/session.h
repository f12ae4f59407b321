/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_SESSION_H
#define BW_SESSION_H

#include <stdio.h>

struct bw_opts;
struct bw_loader;
struct bw_target;

/* Trace until the duration ends, a signal arrives or every target has
 * exited; report every interval and once more at the end. Returns an
 * enum bw_exit code. */
int bw_session_run(const struct bw_opts *o, struct bw_loader *l, struct bw_target *t,
		   int ntargets, FILE *out);

#endif
