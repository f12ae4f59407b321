/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_GVIEW_H
#define BW_GVIEW_H

#include <stdint.h>
#include <sys/types.h>
#include "golang/gsnap.h"
#include "model/go.h"

struct gobin;
struct gseen;

/*
 * From a snapshot to the goroutine view: goroutines grouped like pprof's
 * goroutine?debug=1 (state, wait reason, stack, and where they were
 * created), each group's frames, blocking site, ages, oldest goids and
 * the channel its members wait on. Owns everything the view points to
 * but the binary's strings.
 */
struct gview {
	struct bw_go_view v;
	/* storage */
	struct bw_go_count *states, *reasons;
	struct bw_go_group *groups; /* each owns its frames */
	struct bw_go_channel *channels; /* sorted by address */
	size_t nchannels;
	uint64_t *keys;		/* per group: its identity across reports */
	uint64_t **members;	/* per group: its goids, sorted */
	char **strings;
	size_t nstrings;
};

/* What the previous snapshots saw: when each goroutine was first seen
 * in the wait it is in now. */
struct gseen *gseen__new(void);
void gseen__free(struct gseen *g);

/* Build @out from @s (taken at CLOCK_MONOTONIC @now) of @pid, running
 * @b at @bias. Reads the channels' hchans from the process. 0 or
 * -ENOMEM. */
int gview_build(struct gview *out, const struct go_snapshot *s, struct gobin *b, pid_t pid,
		uint64_t bias, uint64_t now, struct gseen *seen);
void gview_clear(struct gview *v);

#endif
