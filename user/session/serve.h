/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_SERVE_H
#define BW_SERVE_H

#include "model/report.h"

/*
 * The always-on side of a run: /metrics (--metrics), kept up to date by
 * every report. In three steps because of what each must come after:
 * the port is bound at set-up, before outputs are opened (a port taken
 * must fail the run before it truncates a file); the server thread starts
 * once signals are blocked (it inherits the mask: a SIGTERM must reach the
 * signalfd, not kill the process from that thread); reports update it.
 */
struct serve;
struct bw_loader;
struct bw_opts;

/* NULL and 0 without --metrics; else an enum bw_exit code (reported). */
int serve_open(const struct bw_opts *o, const struct bw_loader *l, struct serve **out);
/* Start serving (signals blocked by now). 0 or -errno (reported). */
int serve_start(struct serve *sv);
/* A report was made: what /metrics says from now on. */
void serve_report(struct serve *sv, const struct bw_report *r);
/* --metrics-top changed (a reload). */
void serve_set_top(struct serve *sv, unsigned int n);
void serve_close(struct serve *sv);

#endif
