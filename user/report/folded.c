// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Folded stacks, the format of Brendan Gregg's stackcollapse scripts,
 * which flamegraph.pl, inferno and speedscope read: one line per
 * distinct stack, "comm;root;...;leaf VALUE", VALUE the off-CPU
 * microseconds of the whole run (still-blocked time up to the last
 * report). Kernel frames end in "_[k]", as flamegraph.pl colours them.
 * Each goroutine group of a Go process's last view is a stack of its
 * own, under the root "COMM [goroutines]", its value the group's count.
 * Names are escaped as for a terminal, and ';' (the separator) becomes
 * ':'.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "model/profile.h"
#include "report/fmt.h"
#include "report/framename.h"
#include "report/sink.h"
#include "stacks/stacktab.h"

struct line {
	char *text; /* the stack, without the value */
	uint64_t value;
};

struct lines {
	struct line *v;
	size_t n, cap;
};

/* @s escaped, its ';' as ':'. */
static void put_name(FILE *f, const char *s)
{
	char buf[BW_ESC_LEN];
	const char *e = BW_ESC(s, buf);

	for (; *e; e++)
		fputc(*e == ';' ? ':' : *e, f);
}

/* bw_frame_name's, ';' as ':' */
static void put_frame(FILE *f, const struct bw_frame *fr)
{
	char buf[BW_ESC_LEN];
	const char *e = bw_frame_name(fr, buf, sizeof(buf));

	for (; *e; e++)
		fputc(*e == ';' ? ':' : *e, f);
}

static int push(struct lines *ls, char *text, uint64_t value)
{
	if (ls->n == ls->cap) {
		size_t cap = ls->cap ? 2 * ls->cap : 256;
		struct line *v = realloc(ls->v, cap * sizeof(*v));

		if (!v) {
			free(text);
			return -ENOMEM;
		}
		ls->v = v;
		ls->cap = cap;
	}
	ls->v[ls->n++] = (struct line){ .text = text, .value = value };
	return 0;
}

/* A line being written: a memstream. */
struct mline {
	FILE *f;
	char *buf;
	size_t len;
};

static int mline_open(struct mline *m, const char *root)
{
	m->buf = NULL;
	m->f = open_memstream(&m->buf, &m->len);
	if (!m->f)
		return -errno;
	put_name(m->f, root);
	return 0;
}

static int mline_push(struct mline *m, struct lines *ls, uint64_t value)
{
	if (fclose(m->f)) {
		free(m->buf);
		return -ENOMEM;
	}
	return push(ls, m->buf, value);
}

static int thread_line(void *ctx, const struct bw_prof_sample *s, bool ongoing, uint64_t ns,
		       uint64_t count)
{
	struct mline m;
	int32_t i;
	int err;

	(void)ongoing;
	(void)count;
	err = mline_open(&m, s->pcomm);
	if (err)
		return err;
	if (!s->k.stack)
		fputs(";[stacks not kept: too many]", m.f);
	for (i = s->k.stack ? (int32_t)s->k.stack->nframes - 1 : -1; i >= 0; i--) {
		fputc(';', m.f);
		put_frame(m.f, &s->k.stack->frames[i]);
	}
	return mline_push(&m, ctx, ns);
}

static int go_lines(const struct bw_profile *p, struct lines *ls)
{
	const struct bw_prof_go *g, *tg;
	uint32_t i;
	int32_t j;
	int err;

	HASH_ITER(hh, p->gos, g, tg) {
		for (i = 0; i < g->ngroups; i++) {
			const struct bw_prof_ggroup *gr = &g->groups[i];
			struct mline m;

			err = mline_open(&m, g->comm);
			if (err)
				return err;
			fputs(" [goroutines]", m.f);
			for (j = (int32_t)gr->nframes - 1; j >= 0; j--) {
				fputc(';', m.f);
				if (gr->frames[j].func)
					put_name(m.f, gr->frames[j].func);
				else
					fprintf(m.f, "0x%" PRIx64, gr->frames[j].addr);
			}
			err = mline_push(&m, ls, gr->count);
			if (err)
				return err;
		}
	}
	return 0;
}

static int cmp_line(const void *a, const void *b)
{
	return strcmp(((const struct line *)a)->text, ((const struct line *)b)->text);
}

/* Sorted, each distinct stack once; thread values in ns until here. */
static int write_lines(FILE *out, struct lines *ls, size_t nthreads)
{
	size_t i, j;

	/* goroutine lines count goroutines, thread lines nanoseconds:
	 * microseconds from here */
	for (i = 0; i < nthreads; i++)
		ls->v[i].value = (ls->v[i].value + 500) / 1000;
	qsort(ls->v, ls->n, sizeof(*ls->v), cmp_line);
	for (i = 0; i < ls->n; i = j) {
		uint64_t sum = 0;

		for (j = i; j < ls->n && !strcmp(ls->v[i].text, ls->v[j].text); j++)
			sum += ls->v[j].value;
		if (sum)
			fprintf(out, "%s %" PRIu64 "\n", ls->v[i].text, sum);
	}
	return 0;
}

static int folded_write(struct bw_sink *s, const struct bw_profile *p)
{
	struct lines ls = { 0 };
	size_t i, nthreads;
	int err;

	err = profile__each(p, thread_line, &ls);
	nthreads = ls.n;
	if (!err)
		err = go_lines(p, &ls);
	if (!err)
		err = write_lines(s->out, &ls, nthreads);
	for (i = 0; i < ls.n; i++)
		free(ls.v[i].text);
	free(ls.v);
	return err;
}

const struct bw_sink_ops bw_sink_folded = {
	.name = "folded",
	.write = folded_write,
};
