// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>
#include "golang/gtrend.h"
#include "golang/gview.h"

/* goids kept per group per report to see whether members leave */
#define SAMPLE 32
/* a group unseen for this many reports is forgotten */
#define FORGET 3

struct point {
	uint64_t t;
	uint32_t count;
};

struct hist {
	UT_hash_handle hh;
	uint64_t key;
	uint32_t n; /* points kept, at most GTREND_WINDOW */
	struct point pts[GTREND_WINDOW];
	uint32_t nsample;
	uint64_t sample[SAMPLE]; /* its oldest goids at the previous report */
	uint64_t last_gen;
};

struct gtrend {
	struct hist *groups;
	uint64_t gen;
};

struct gtrend *gtrend__new(void)
{
	return calloc(1, sizeof(struct gtrend));
}

void gtrend__free(struct gtrend *t)
{
	struct hist *h, *tmp;

	if (!t)
		return;
	HASH_ITER(hh, t->groups, h, tmp) {
		HASH_DEL(t->groups, h);
		free(h);
	}
	free(t);
}

static bool has_goid(const uint64_t *sorted, uint32_t n, uint64_t goid)
{
	uint32_t lo = 0, hi = n;

	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;

		if (sorted[mid] < goid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && sorted[lo] == goid;
}

/* Least squares: goroutines per minute over the points. */
static double slope_per_min(const struct hist *h)
{
	double mt = 0, mc = 0, num = 0, den = 0;
	uint32_t i;

	for (i = 0; i < h->n; i++) {
		mt += (double)(h->pts[i].t - h->pts[0].t) / 60e9;
		mc += h->pts[i].count;
	}
	mt /= h->n;
	mc /= h->n;
	for (i = 0; i < h->n; i++) {
		double dt = (double)(h->pts[i].t - h->pts[0].t) / 60e9 - mt;

		num += dt * (h->pts[i].count - mc);
		den += dt * dt;
	}
	return den > 0 ? num / den : 0;
}

/*
 * The verdict on one group, with the reason in words: over at least
 * GTREND_MIN_REPORTS reports spanning GTREND_MIN_SPAN_NS, it never
 * shrank, grew by at least 2, is still growing in the recent half of
 * the window (a pool that warmed up and stopped is not), and its oldest
 * members are all still there (a busy pool's come and go).
 */
static void judge(struct bw_go_group *g, const struct hist *h, uint32_t kept, uint32_t sampled)
{
	uint32_t i, ups = 0, downs = 0, first = h->pts[0].count, last = h->pts[h->n - 1].count;
	uint32_t mid = h->pts[h->n / 2].count;
	uint64_t span = h->pts[h->n - 1].t - h->pts[0].t;

	g->has_trend = true;
	g->trend_reports = h->n;
	g->growth_per_min = h->n > 1 ? slope_per_min(h) : 0;
	g->members_persist = sampled && kept == sampled;
	for (i = 1; i < h->n; i++) {
		ups += h->pts[i].count > h->pts[i - 1].count;
		downs += h->pts[i].count < h->pts[i - 1].count;
	}
	g->leak_suspect = h->n >= GTREND_MIN_REPORTS && span >= GTREND_MIN_SPAN_NS && !downs &&
			  last >= first + 2 && last > mid && g->growth_per_min > 0 &&
			  g->members_persist;
	if (g->leak_suspect)
		snprintf(g->leak_why, sizeof(g->leak_why),
			 "grew in %u of the last %u reports (%u -> %u, %+.0f/min) and none of its "
			 "%u oldest left",
			 ups, h->n - 1, first, last, g->growth_per_min, sampled);
}

static void take_sample(struct hist *h, const uint64_t *members, uint32_t count)
{
	h->nsample = count < SAMPLE ? count : SAMPLE;
	memcpy(h->sample, members, h->nsample * sizeof(uint64_t));
}

void gtrend__update(struct gtrend *t, struct gview *v, uint64_t now)
{
	struct hist *h, *tmp;
	uint32_t gi, i, kept;

	t->gen++;
	for (gi = 0; gi < v->v.ngroups; gi++) {
		struct bw_go_group *g = &v->groups[gi];

		HASH_FIND(hh, t->groups, &v->keys[gi], sizeof(uint64_t), h);
		if (!h && (h = calloc(1, sizeof(*h)))) {
			h->key = v->keys[gi];
			HASH_ADD(hh, t->groups, key, sizeof(h->key), h);
		}
		if (!h)
			continue;
		if (h->n == GTREND_WINDOW)
			memmove(h->pts, h->pts + 1, (GTREND_WINDOW - 1) * sizeof(h->pts[0]));
		else
			h->n++;
		h->pts[h->n - 1] = (struct point){ now, g->count };
		for (i = 0, kept = 0; i < h->nsample; i++)
			kept += has_goid(v->members[gi], g->count, h->sample[i]);
		judge(g, h, kept, h->nsample);
		take_sample(h, v->members[gi], g->count);
		h->last_gen = t->gen;
	}
	HASH_ITER(hh, t->groups, h, tmp) {
		if (t->gen - h->last_gen >= FORGET) {
			HASH_DEL(t->groups, h);
			free(h);
		}
	}
}
