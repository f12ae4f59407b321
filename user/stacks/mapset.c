// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "stacks/mapset.h"

/* FNV-1a of a whole line: addresses, permissions, offset, device,
 * inode and path all count. */
static uint64_t line_hash(const char *p)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *p && *p != '\n'; p++)
		h = (h ^ (uint8_t)*p) * 1099511628211ULL;
	return h;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int mapset__read(struct mapset *ms, FILE *f)
{
	size_t cap = 0, i, j;
	char line[4096];

	ms->h = NULL;
	ms->n = 0;
	while (f && fgets(line, sizeof(line), f)) {
		unsigned long inode;

		/* a path longer than the buffer: its rest is not a line */
		if (!strchr(line, '\n') && !feof(f)) {
			int c;

			while ((c = fgetc(f)) != EOF && c != '\n')
				;
		}
		if (sscanf(line, "%*s %*s %*s %*s %lu", &inode) != 1 || !inode)
			continue;
		if (ms->n == cap) {
			uint64_t *h = realloc(ms->h, (cap = cap ? 2 * cap : 64) * sizeof(*h));

			if (!h) {
				mapset__free(ms);
				return -ENOMEM;
			}
			ms->h = h;
		}
		ms->h[ms->n++] = line_hash(line);
	}
	if (!ms->n)
		return 0;
	qsort(ms->h, ms->n, sizeof(*ms->h), cmp_u64);
	for (i = j = 1; i < ms->n; i++)
		if (ms->h[i] != ms->h[j - 1])
			ms->h[j++] = ms->h[i];
	ms->n = j;
	return 0;
}

size_t mapset__added(const struct mapset *old, const struct mapset *cur)
{
	size_t i = 0, j = 0, added = 0;

	/* both sorted: one merge */
	while (j < cur->n) {
		if (i < old->n && old->h[i] < cur->h[j]) {
			i++;
		} else {
			added += i == old->n || old->h[i] != cur->h[j];
			if (i < old->n && old->h[i] == cur->h[j])
				i++;
			j++;
		}
	}
	return added;
}

void mapset__free(struct mapset *ms)
{
	free(ms->h);
	ms->h = NULL;
	ms->n = 0;
}
