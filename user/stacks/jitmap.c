// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * /tmp/perf-PID.map is written by the traced process, or by whoever got
 * there first: it is opened as procfs_open_untrusted() allows and read
 * within a budget of bytes, symbols and time. A map refused or over
 * budget gives no JIT names at all for the process, said once under -v.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "base/clock.h"
#include "base/log.h"
#include "proc/procfs.h"
#include "stacks/jitmap.h"

/* Bigger maps are refused whole: blockwatch runs as root beside
 * everything, and the process decides how much it writes. 64 MiB is some
 * 700,000 symbols as V8 writes them. */
#define JIT_MAX_BYTES (64 << 20)
#define JIT_MAX_SYMS (1u << 20)
#define JIT_MAX_NS BW_NSEC_PER_SEC
#define JIT_LINE 1024
#define JIT_CHUNK (64 << 10)

struct jit_sym {
	uint64_t start, end;
	uint32_t name; /* offset in names */
	uint32_t seq;  /* its line: a later one is about newer code */
};

/* The address space cut into disjoint pieces, each named by the newest
 * line that covers it: a JIT reuses memory and says so in a new line. */
struct jit_piece {
	uint64_t start, end;
	uint32_t sym;
};

struct jitmap {
	pid_t pid;
	bool loaded;
	bool told; /* a refused map was said under -v */
	bool read; /* syms, names and pieces are what the file @id held */
	struct stat id;
	struct jit_sym *syms; /* by start, then line */
	uint32_t nsyms, capsyms;
	char *names;
	size_t nnames, capnames;
	struct jit_piece *pieces;
	size_t npieces;
};

struct jitmap *jitmap__new(pid_t pid)
{
	struct jitmap *jm = calloc(1, sizeof(*jm));

	if (jm)
		jm->pid = pid;
	return jm;
}

static void drop(struct jitmap *jm)
{
	free(jm->syms);
	free(jm->names);
	free(jm->pieces);
	jm->syms = NULL;
	jm->names = NULL;
	jm->pieces = NULL;
	jm->nsyms = jm->capsyms = 0;
	jm->nnames = jm->capnames = jm->npieces = 0;
	jm->read = false;
}

void jitmap__reset(struct jitmap *jm)
{
	jm->loaded = false;
}

void jitmap__free(struct jitmap *jm)
{
	if (!jm)
		return;
	drop(jm);
	free(jm);
}

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
	size_t n = *cap ? *cap : 64;
	void *q;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	q = realloc(*p, n * size);
	if (!q)
		return -ENOMEM;
	*p = q;
	*cap = n;
	return 0;
}

/* A hex number and the blanks after it; false if none or no blank. */
static bool hex_field(char **p, unsigned long long *v)
{
	char *end;

	*v = strtoull(*p, &end, 16);
	if (end == *p || (*end != ' ' && *end != '\t'))
		return false;
	*p = end + strspn(end, " \t");
	return true;
}

/* "START SIZE name", hex without 0x; anything else is skipped. */
static int add_line(struct jitmap *jm, char *line)
{
	unsigned long long start, size;
	size_t cap = jm->capsyms, len;
	char *name = line;

	if (!hex_field(&name, &start) || !hex_field(&name, &size))
		return 0;
	len = strcspn(name, "\n");
	if (!len || !size || start + size < start)
		return 0;
	if (jm->nsyms >= JIT_MAX_SYMS)
		return -E2BIG;
	if (grow((void **)&jm->syms, &cap, jm->nsyms + 1, sizeof(*jm->syms)) ||
	    grow((void **)&jm->names, &jm->capnames, jm->nnames + len + 1, 1))
		return -ENOMEM;
	jm->capsyms = (uint32_t)cap;
	jm->syms[jm->nsyms] = (struct jit_sym){ start, start + size, (uint32_t)jm->nnames,
						jm->nsyms };
	memcpy(jm->names + jm->nnames, name, len);
	jm->names[jm->nnames + len] = 0;
	jm->nnames += len + 1;
	jm->nsyms++;
	return 0;
}

/* The whole lines in @buf (@end: its end) to add_line(), cut to JIT_LINE;
 * where the last, unfinished one starts. */
static char *add_lines(struct jitmap *jm, char *buf, char *end, bool *skip, int *err)
{
	char *p = buf, *nl;

	while (!*err && (nl = memchr(p, '\n', (size_t)(end - p)))) {
		*nl = 0;
		if (nl - p >= JIT_LINE)
			p[JIT_LINE - 1] = 0;
		if (!*skip)
			*err = add_line(jm, p);
		*skip = false;
		p = nl + 1;
	}
	return p;
}

/* Read in chunks, within the budget; a line longer than JIT_LINE is cut
 * there (its name), what follows not taken for another line. */
static int parse(struct jitmap *jm, int fd)
{
	char *buf = malloc(JIT_CHUNK + 1), *rest;
	uint64_t t0 = bw_mono_ns(), total = 0;
	size_t have = 0;
	bool skip = false;
	int err = 0;

	if (!buf)
		return -ENOMEM;
	while (!err) {
		ssize_t got = read(fd, buf + have, JIT_CHUNK - have);

		if (got <= 0) {
			if (got < 0 && errno == EINTR)
				continue;
			err = got < 0 ? -errno : 0;
			buf[have] = 0;
			if (!err && have && !skip)
				err = add_line(jm, buf);
			break;
		}
		/* the file may have grown since it was checked */
		total += (size_t)got;
		if (total > JIT_MAX_BYTES)
			err = -EFBIG;
		else if (bw_mono_ns() - t0 > JIT_MAX_NS)
			err = -ETIME;
		rest = add_lines(jm, buf, buf + have + got, &skip, &err);
		have = (size_t)(buf + have + got - rest);
		if (have >= JIT_LINE) {
			rest[JIT_LINE - 1] = 0;
			if (!err && !skip)
				err = add_line(jm, rest);
			skip = true;
			have = 0;
		}
		memmove(buf, rest, have);
	}
	free(buf);
	return err;
}

static int cmp_sym(const void *a, const void *b)
{
	const struct jit_sym *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* A max-heap of symbols by line: the newest covering one on top. */
static void heap_push(const struct jit_sym *syms, uint32_t *h, size_t *n, uint32_t s)
{
	size_t i = (*n)++;

	for (; i && syms[h[(i - 1) / 2]].seq < syms[s].seq; i = (i - 1) / 2)
		h[i] = h[(i - 1) / 2];
	h[i] = s;
}

static void heap_pop(const struct jit_sym *syms, uint32_t *h, size_t *n)
{
	uint32_t last = h[--*n];
	size_t i = 0, c;

	for (; (c = 2 * i + 1) < *n; i = c) {
		if (c + 1 < *n && syms[h[c + 1]].seq > syms[h[c]].seq)
			c++;
		if (syms[h[c]].seq <= syms[last].seq)
			break;
		h[i] = h[c];
	}
	if (*n)
		h[i] = last;
}

static void emit(struct jitmap *jm, uint64_t start, uint64_t end, uint32_t sym)
{
	struct jit_piece *last = jm->npieces ? &jm->pieces[jm->npieces - 1] : NULL;

	if (last && last->sym == sym && last->end == start)
		last->end = end;
	else
		jm->pieces[jm->npieces++] = (struct jit_piece){ start, end, sym };
}

/* Sweep the starts and ends in order; between two of them the newest
 * symbol begun and not yet ended names the piece. */
static int flatten(struct jitmap *jm)
{
	size_t nb = 2 * (size_t)jm->nsyms, nh = 0, b, i = 0;
	uint64_t *bounds = malloc(nb * sizeof(*bounds));
	uint32_t *heap = malloc(jm->nsyms * sizeof(*heap));

	jm->pieces = malloc(nb * sizeof(*jm->pieces));
	if (!bounds || !heap || !jm->pieces) {
		free(bounds);
		free(heap);
		return -ENOMEM;
	}
	for (b = 0; b < jm->nsyms; b++) {
		bounds[2 * b] = jm->syms[b].start;
		bounds[2 * b + 1] = jm->syms[b].end;
	}
	qsort(bounds, nb, sizeof(*bounds), cmp_u64);
	for (b = 0; b + 1 < nb; b++) {
		if (bounds[b] == bounds[b + 1])
			continue;
		while (i < jm->nsyms && jm->syms[i].start <= bounds[b])
			heap_push(jm->syms, heap, &nh, (uint32_t)i++);
		while (nh && jm->syms[heap[0]].end <= bounds[b])
			heap_pop(jm->syms, heap, &nh);
		if (nh)
			emit(jm, bounds[b], bounds[b + 1], heap[0]);
	}
	free(bounds);
	free(heap);
	return 0;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* Whatever was read before dropped, @fd's lines read, sorted and cut
 * into pieces. */
static int parse_sorted(struct jitmap *jm, int fd)
{
	int err;

	drop(jm);
	err = parse(jm, fd);
	if (!err && jm->nsyms) { /* syms is NULL without one */
		qsort(jm->syms, jm->nsyms, sizeof(*jm->syms), cmp_sym);
		err = flatten(jm);
	}
	jm->read = !err;
	return err;
}

int jitmap__parse(struct jitmap *jm, int fd)
{
	jm->loaded = true;
	return parse_sorted(jm, fd);
}

/* What was read stays while the file is the same: a JIT appends to it. */
static int read_map(struct jitmap *jm, const char *path)
{
	struct stat st;
	int fd, err;

	fd = procfs_open_untrusted(jm->pid, path, JIT_MAX_BYTES);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st)) {
		err = -errno;
		close(fd);
		return err;
	}
	if (jm->read && same_file(&st, &jm->id)) {
		close(fd);
		return 0;
	}
	err = parse_sorted(jm, fd);
	close(fd);
	jm->id = st;
	return err;
}

static const char *why(int err)
{
	if (err == -ETIME)
		return "it takes too long to read";
	if (err == -E2BIG)
		return "too many symbols";
	if (err == -EFBIG)
		return "bigger than 64 MiB";
	return procfs_untrusted_why(err);
}

static void load(struct jitmap *jm)
{
	struct bw_status st;
	char path[64];
	int err;

	jm->loaded = true;
	if (procfs_status(jm->pid, 0, &st))
		return;
	snprintf(path, sizeof(path), "/tmp/perf-%d.map", st.ns_pid);
	err = read_map(jm, path);
	if (!err)
		return;
	if (err != -ENOENT && err != -ESRCH && !jm->told) {
		bw_dbg("pid %d: no JIT names from %s: %s", jm->pid, path, why(err));
		jm->told = true;
	}
	drop(jm);
}

int jitmap__resolve(struct jitmap *jm, uint64_t addr, struct bw_frame *f)
{
	const struct jit_piece *p;
	const struct jit_sym *s;
	size_t lo = 0, hi;

	if (!jm->loaded)
		load(jm);
	hi = jm->npieces;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (jm->pieces[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo || addr >= jm->pieces[lo - 1].end)
		return 0;
	p = &jm->pieces[lo - 1];
	s = &jm->syms[p->sym];
	f->symbol = strdup(jm->names + s->name);
	f->module = strdup("[jit]");
	f->symoff = addr - s->start;
	return f->symbol && f->module ? 1 : -ENOMEM;
}
