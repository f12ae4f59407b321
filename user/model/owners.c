// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include "model/owners.h"

static int cmp_tid(const void *x, const void *y)
{
	const struct bw_entry *a = *(struct bw_entry *const *)x;
	const struct bw_entry *b = *(struct bw_entry *const *)y;

	return a->tid < b->tid ? -1 : a->tid > b->tid;
}

static struct bw_entry **find(struct bw_entry **by_tid, size_t n, uint32_t tid)
{
	struct bw_entry key = { .tid = tid }, *kp = &key;

	return bsearch(&kp, by_tid, n, sizeof(*by_tid), cmp_tid);
}

/* Record the cycle through @start (each entry waits for the next). */
static int add_cycle(const struct bw_entry *start, struct bw_cycle **cycles, size_t *ncycles)
{
	const struct bw_entry *c = start;
	struct bw_cycle *grown, *cyc;
	size_t len = 0;

	do {
		len++;
		c = c->owner_entry;
	} while (c != start);
	grown = realloc(*cycles, (*ncycles + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	*cycles = grown;
	cyc = &grown[*ncycles];
	cyc->entries = calloc(len, sizeof(*cyc->entries));
	if (!cyc->entries)
		return -ENOMEM;
	cyc->n = len;
	(*ncycles)++;
	for (c = start, len = 0; len < cyc->n; len++, c = c->owner_entry)
		cyc->entries[len] = c;
	return 0;
}

int bw_owners_link(struct bw_entry **by_tid, size_t n, struct bw_cycle **cycles,
		   size_t *ncycles)
{
	unsigned char *color;
	size_t i;
	int err = 0;

	qsort(by_tid, n, sizeof(*by_tid), cmp_tid);
	for (i = 0; i < n; i++) {
		struct bw_entry *e = by_tid[i], **hit;

		hit = e->owner ? find(by_tid, n, e->owner) : NULL;
		e->owner_entry = hit ? *hit : NULL;
		if (hit)
			snprintf(e->owner_comm, sizeof(e->owner_comm), "%s", (*hit)->comm);
	}
	/* 0: not seen, 1: on the walk in progress, 2: done */
	color = calloc(n ? n : 1, 1);
	if (!color)
		return -ENOMEM;
	for (i = 0; i < n && !err; i++) {
		const struct bw_entry *cur;

		/* Walk until a settled entry, or back onto this walk. */
		for (cur = by_tid[i]; cur; cur = cur->owner_entry) {
			size_t idx = find(by_tid, n, cur->tid) - by_tid;

			if (color[idx] == 2)
				break;
			if (color[idx] == 1) {
				err = add_cycle(cur, cycles, ncycles);
				break;
			}
			color[idx] = 1;
		}
		for (cur = by_tid[i]; cur; cur = cur->owner_entry) {
			size_t idx = find(by_tid, n, cur->tid) - by_tid;

			if (color[idx] == 2)
				break;
			color[idx] = 2;
		}
	}
	free(color);
	return err;
}

void bw_cycles_free(struct bw_cycle *cycles, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(cycles[i].entries);
	free(cycles);
}
