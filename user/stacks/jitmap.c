// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "proc/procfs.h"
#include "stacks/jitmap.h"

struct jit_sym {
	uint64_t start;
	uint64_t size;
	char *name;
};

struct jitmap {
	pid_t pid;
	bool loaded;
	size_t n;
	struct jit_sym *syms; /* sorted by start */
};

struct jitmap *jitmap__new(pid_t pid)
{
	struct jitmap *jm = calloc(1, sizeof(*jm));

	if (jm)
		jm->pid = pid;
	return jm;
}

void jitmap__free(struct jitmap *jm)
{
	size_t i;

	if (!jm)
		return;
	for (i = 0; i < jm->n; i++)
		free(jm->syms[i].name);
	free(jm->syms);
	free(jm);
}

static int cmp_jit(const void *a, const void *b)
{
	const struct jit_sym *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

int jitmap__parse(struct jitmap *jm, FILE *f)
{
	char line[1024];
	int err = 0;

	jm->loaded = true;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long start, size;
		struct jit_sym *grown;
		int off = 0;

		if (sscanf(line, "%llx %llx %n", &start, &size, &off) < 2 || !off)
			continue;
		line[strcspn(line, "\n")] = 0;
		grown = realloc(jm->syms, (jm->n + 1) * sizeof(*grown));
		if (!grown) {
			err = -ENOMEM;
			break;
		}
		jm->syms = grown;
		jm->syms[jm->n].start = start;
		jm->syms[jm->n].size = size;
		jm->syms[jm->n].name = strdup(line + off);
		if (jm->syms[jm->n].name)
			jm->n++;
	}
	if (jm->n) /* syms is NULL without one */
		qsort(jm->syms, jm->n, sizeof(*jm->syms), cmp_jit);
	return err;
}

static void load(struct jitmap *jm)
{
	char path[64];
	struct bw_status st;
	FILE *f;

	jm->loaded = true;
	if (procfs_status(jm->pid, 0, &st))
		return;
	snprintf(path, sizeof(path), "/tmp/perf-%d.map", st.ns_pid);
	f = procfs_fopen_in_root(jm->pid, path);
	if (!f)
		return;
	jitmap__parse(jm, f);
	fclose(f);
}

int jitmap__resolve(struct jitmap *jm, uint64_t addr, struct bw_frame *f)
{
	const struct jit_sym *s;
	size_t lo = 0, hi;

	if (!jm->loaded)
		load(jm);
	hi = jm->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (jm->syms[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo || addr >= jm->syms[lo - 1].start + jm->syms[lo - 1].size)
		return 0;
	s = &jm->syms[lo - 1];
	f->symbol = strdup(s->name);
	f->module = strdup("[jit]");
	f->symoff = addr - s->start;
	return f->symbol && f->module ? 1 : -ENOMEM;
}
