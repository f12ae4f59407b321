/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_TEST_PCLNTAB_ORACLE_H
#define BW_TEST_PCLNTAB_ORACLE_H

/*
 * tests/fixtures/go/pcln.go as a process: its report (the anchors and
 * the call chains with runtime.Callers and CallersFrames) and pipes for
 * its commands. Include after cmocka.h.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define MAX_PCS 128
#define MAX_STACKS 8

struct gframe {
	char func[128], file[256];
	uint32_t line;
	uint64_t entry;
	bool inlined;
};

struct gstack {
	char name[32];
	uint64_t pcs[MAX_PCS];
	int npcs, nframes;
	struct gframe frames[MAX_PCS];
};

struct oracle {
	pid_t pid;
	FILE *in, *out, *err;
	uint64_t anchor[3];
	char anchor_name[3][64];
	int nanchors, nstacks;
	char goroot[256];
	struct gstack stacks[MAX_STACKS];
};

static int spawn(struct oracle *o, const char *path)
{
	int in[2], out[2], err[2];

	if (pipe(in) || pipe(out) || pipe(err))
		return -errno;
	o->pid = fork();
	if (o->pid < 0)
		return -errno;
	if (!o->pid) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		dup2(err[1], 2);
		execl(path, path, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	close(err[1]);
	o->in = fdopen(in[1], "w");
	o->out = fdopen(out[0], "r");
	o->err = fdopen(err[0], "r");
	return o->in && o->out && o->err ? 0 : -ENOMEM;
}

/* A bounded copy (fields can be longer than we keep). */
static void copy(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);

	memcpy(dst, src, n);
	dst[n] = 0;
}

/* Split @line at tabs into at most @max fields; returns how many. */
static int fields(char *line, char **f, int max)
{
	int n = 0;

	line[strcspn(line, "\n")] = 0;
	while (n < max) {
		f[n++] = line;
		line = strchr(line, '\t');
		if (!line)
			break;
		*line++ = 0;
	}
	return n;
}

static void read_frame(struct gstack *s, char **f, int n)
{
	struct gframe *g = &s->frames[s->nframes++];

	assert_int_equal(n, 6);
	copy(g->func, sizeof(g->func), f[1]);
	copy(g->file, sizeof(g->file), f[2]);
	g->line = strtoul(f[3], NULL, 10);
	g->entry = strtoull(f[4], NULL, 16);
	g->inlined = f[5][0] == '1';
}

/* The fixture's report up to "ready". */
static void read_report(struct oracle *o)
{
	struct gstack *s = NULL;
	char line[1024], *f[8];
	int n;

	while (fgets(line, sizeof(line), o->out)) {
		n = fields(line, f, 8);
		if (!strcmp(f[0], "ready"))
			return;
		if (!strcmp(f[0], "goroot") && n == 2) {
			copy(o->goroot, sizeof(o->goroot), f[1]);
		} else if (!strcmp(f[0], "anchor") && n == 3 && o->nanchors < 3) {
			copy(o->anchor_name[o->nanchors], 64, f[1]);
			o->anchor[o->nanchors++] = strtoull(f[2], NULL, 16);
		} else if (!strcmp(f[0], "stack") && n == 2 && o->nstacks < MAX_STACKS) {
			s = &o->stacks[o->nstacks++];
			copy(s->name, sizeof(s->name), f[1]);
		} else if (!strcmp(f[0], "pc") && s && s->npcs < MAX_PCS) {
			s->pcs[s->npcs++] = strtoull(f[1], NULL, 16);
		} else if (!strcmp(f[0], "frame") && s && s->nframes < MAX_PCS) {
			read_frame(s, f, n);
		}
	}
	fail_msg("the fixture ended before \"ready\"");
}

#endif
