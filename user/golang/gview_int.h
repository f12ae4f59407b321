/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Inside the goroutine view: what its builder shares between files. */
#ifndef BW_GVIEW_INT_H
#define BW_GVIEW_INT_H

#include <stdint.h>
#include <sys/types.h>
#include "golang/gobin.h"
#include "golang/gsnap.h"
#include "golang/gview.h"

struct builder {
	struct gview *out;
	const struct go_snapshot *s;
	struct gobin *b;
	pid_t pid;
	uint64_t bias, now;
	struct gseen *seen;
	uint32_t *group_of; /* per G of s: its group, or UINT32_MAX (system) */
	uint32_t *member_n;
	uint64_t *chan_of;  /* per G: the hchan it waits on, 0 none */
};

/* The runtime's words for @g's wait; NULL when it is not waiting. */
const char *gview_reason(const struct builder *bd, const struct go_g *g);
int gview_cmp_u64(const void *a, const void *b);
/* When @g was first seen in the wait it is in now (@now if just now). */
uint64_t gseen_since(struct gseen *gs, const struct go_g *g, uint64_t now);
/* Forget goroutines not seen since the last sweep. */
void gseen_sweep(struct gseen *gs);
/* g.waiting -> sudog.c of every goroutine blocked in a channel
 * operation, then the distinct hchans, read in batches. */
int gview_read_channels(struct builder *bd);
/* Who waits on each channel, and the channel each group waits on most. */
int gview_assign_channels(struct builder *bd);

#endif
