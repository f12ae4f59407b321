// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The table: its header, the name index, moduledata and go:func.*. */
#include <errno.h>
#include <stdlib.h>
#include "golang/goelf.h"
#include "golang/pclntab_int.h"

/*
 * pcHeader: uint32 magic, two zero bytes, the pc quantum, the pointer
 * size, then uintptrs: nfunc, nfiles, [textStart, 1.18+], and the
 * offsets of funcnametab, cutab, filetab, pctab and pclntab (functab,
 * then the _func records). Each part ends where the next one starts.
 */
static int parse_header(struct gopclntab *t, uint64_t text_addr)
{
	const uint8_t *p = t->data;
	uint64_t off[R_NUM], nfunc;
	int first, k, j;

	switch (get32(p)) {
	case MAGIC_116:
		t->layout = 116;
		break;
	case MAGIC_118:
		t->layout = 118;
		break;
	case MAGIC_120:
		t->layout = 120;
		break;
	default: /* also every big-endian table */
		return -EINVAL;
	}
	first = t->layout == 116 ? 2 : 3;
	if (p[4] || p[5] || (p[6] != 1 && p[6] != 2 && p[6] != 4) || p[7] != 8 ||
	    t->len < 8 + 8 * (size_t)(first + R_NUM))
		return -EINVAL;
	t->quantum = p[6];
	nfunc = get64(p + 8);
	if (nfunc > t->len / 8 || nfunc >= UINT32_MAX)
		return -EINVAL;
	t->nfunc = (uint32_t)nfunc;
	t->text_start = t->layout == 116 ? 0 : get64(p + 24);
	if (!t->text_start) /* unrelocated (debug/gosym does not trust it either) */
		t->text_start = text_addr;
	for (k = 0; k < R_NUM; k++) {
		off[k] = get64(p + 8 + 8 * (first + k));
		if (off[k] > t->len)
			return -EINVAL;
	}
	for (k = 0; k < R_NUM; k++) {
		t->r[k].off = off[k];
		t->r[k].end = t->len;
		for (j = 0; j < R_NUM; j++)
			if (j != k && off[j] >= off[k] && off[j] < t->r[k].end &&
			    (off[j] > off[k] || j > k))
				t->r[k].end = off[j];
	}
	return 0;
}

/* functab: nfunc (entry, funcoff) pairs and the end of the last
 * function, sorted: find_idx's binary search relies on it. */
static int check_functab(struct gopclntab *t)
{
	uint64_t prev = 0, e;
	uint32_t i;

	t->ftab_field = t->layout == 116 ? 8 : 4;
	if (((uint64_t)t->nfunc * 2 + 1) * t->ftab_field > t->r[R_FUNC].end - t->r[R_FUNC].off)
		return -EINVAL;
	for (i = 0; i <= t->nfunc; i++) {
		e = ftab_entry(t, i);
		if (e < prev)
			return -EINVAL;
		prev = e;
	}
	return 0;
}

int gopclntab__new(const void *data, size_t len, uint64_t text_addr, struct gopclntab **out)
{
	struct gopclntab *t;
	int err;

	*out = NULL;
	if (!data || len < 8)
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->data = data;
	t->len = len;
	err = parse_header(t, text_addr);
	if (!err)
		err = check_functab(t);
	if (err) {
		free(t);
		return err;
	}
	*out = t;
	return 0;
}

void gopclntab__free(struct gopclntab *t)
{
	if (!t)
		return;
	free(t->byname);
	free(t);
}

int gopclntab__set_funcdata(struct gopclntab *t, const void *data, size_t len, uint64_t addr,
			    uint64_t gofunc)
{
	if (!data || (t->layout != 116 && (gofunc < addr || gofunc - addr >= len)))
		return -EINVAL;
	t->fd = data;
	t->fd_len = len;
	t->fd_addr = addr;
	t->gofunc = gofunc;
	return 0;
}

/*
 * moduledata (runtime/symtab.go) starts with the pcHeader pointer and the
 * funcnametab, cutab, filetab, pctab and pclntable slices (pointer, len,
 * cap) in every layout; gofunc is its word 38 in 1.18-1.19 and 40 from
 * 1.20, which added covctrs and ecovctrs before it (from the runtime's
 * source, unverified).
 */
int gopclntab__find_moduledata(const struct gopclntab *t, const void *data, size_t len,
			       uint64_t addr, uint64_t pclntab_addr, uint64_t *md,
			       uint64_t *gofunc)
{
	size_t words = t->layout == 116 ? 16 : t->layout == 118 ? 39 : 41, off;
	const uint8_t *p = data;
	int k;

	for (off = (8 - addr % 8) % 8; data && off < len && len - off >= words * 8; off += 8) {
		if (get64(p + off) != pclntab_addr)
			continue;
		for (k = 0; k < R_NUM; k++)
			if (get64(p + off + 8 * (1 + 3 * k)) != pclntab_addr + t->r[k].off)
				break;
		if (k < R_NUM)
			continue;
		*md = addr + off;
		*gofunc = t->layout == 116 ? 0 : get64(p + off + 8 * (words - 1));
		return 0;
	}
	return -ENOENT;
}

int gopclntab__layout(const struct gopclntab *t)
{
	return t->layout;
}

/* By name, then by address: names are not unique (since 1.17 an
 * assembly function and its ABI wrapper share one; the wrappers follow
 * their package's code), and the first one is what debug/gosym finds. */
static int cmp_name(const void *a, const void *b, void *ctx)
{
	const struct gopclntab *t = ctx;
	const char *names = (const char *)t->data + t->r[R_NAME].off;
	const uint32_t *x = a, *y = b;
	int c = strcmp(names + x[0], names + y[0]);

	return c ? c : (x[1] > y[1]) - (x[1] < y[1]);
}

/* (name offset, function index) pairs of every function with a valid
 * name, sorted by name. */
static struct name_index *build_index(const struct gopclntab *t)
{
	struct name_index *ix = malloc(sizeof(*ix) + (size_t)t->nfunc * 8);
	struct fn f;
	uint32_t i;

	if (!ix)
		return NULL;
	ix->n = 0;
	for (i = 0; i < t->nfunc; i++) {
		if (pcln_read_fn(t, i, &f) || !f.nameoff || !str_at(t, R_NAME, f.nameoff))
			continue;
		ix->idx[2 * ix->n] = f.nameoff;
		ix->idx[2 * ix->n + 1] = i;
		ix->n++;
	}
	qsort_r(ix->idx, ix->n, 8, cmp_name, (void *)t);
	return ix;
}

/* The index is a cache behind a const table: built once, published with
 * a compare-and-swap so that concurrent first lookups are safe (the
 * loser frees its copy). */
static const struct name_index *name_index(const struct gopclntab *t)
{
	struct gopclntab *mt = (struct gopclntab *)t;
	struct name_index *ix, *none = NULL;

	ix = __atomic_load_n(&mt->byname, __ATOMIC_ACQUIRE);
	if (ix)
		return ix;
	ix = build_index(t);
	if (ix && !__atomic_compare_exchange_n(&mt->byname, &none, ix, false, __ATOMIC_ACQ_REL,
					       __ATOMIC_ACQUIRE)) {
		free(ix);
		ix = none;
	}
	return ix;
}

int gopclntab__lookup(const struct gopclntab *t, const char *name, struct go_func *out)
{
	const struct name_index *ix = name_index(t);
	const char *names = (const char *)t->data + t->r[R_NAME].off;
	uint32_t lo = 0, hi;
	struct fn f;
	int err;

	if (!ix)
		return -ENOMEM;
	hi = ix->n;
	while (lo < hi) { /* the first of equal names */
		uint32_t mid = lo + (hi - lo) / 2;

		if (strcmp(names + ix->idx[2 * mid], name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < ix->n && !strcmp(names + ix->idx[2 * lo], name)) {
		err = pcln_read_fn(t, ix->idx[2 * lo + 1], &f);
		return err ? err : pcln_to_func(t, &f, out);
	}
	return -ENOENT;
}

/* The bytes of @g's loaded section holding link-time address @addr. */
static int section_at(const struct goelf *g, uint64_t addr, const uint8_t **data, size_t *len,
		      uint64_t *start)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(g->elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || !(sh.sh_flags & SHF_ALLOC) ||
		    sh.sh_type == SHT_NOBITS || addr < sh.sh_addr || addr >= sh.sh_addr + sh.sh_size)
			continue;
		d = elf_getdata(scn, NULL);
		if (!d || !d->d_buf)
			return -EINVAL;
		*data = d->d_buf;
		*len = d->d_size;
		*start = sh.sh_addr;
		return 0;
	}
	return -ENOENT;
}

/* moduledata is in .noptrdata (1.16-1.19, every build mode seen); .data
 * in case a version moves it. The 1.16 layout has no gofunc: its inline
 * trees are at absolute addresses in .rodata (unverified). */
static void attach_funcdata(struct gopclntab *t, const struct goelf *g)
{
	static const char *const secs[] = { ".noptrdata", ".data" };
	uint64_t md, gofunc = 0, addr;
	const uint8_t *d;
	size_t len, i;

	for (i = 0; i < sizeof(secs) / sizeof(secs[0]); i++)
		if (goelf_section(g, secs[i], &d, &len, &addr) && d &&
		    !gopclntab__find_moduledata(t, d, len, addr, g->pclntab_addr, &md, &gofunc))
			break;
	if (i == sizeof(secs) / sizeof(secs[0]))
		return;
	if (t->layout == 116 && !goelf_section(g, ".rodata", &d, &len, &addr))
		return;
	if (t->layout != 116 && section_at(g, gofunc, &d, &len, &addr))
		return;
	gopclntab__set_funcdata(t, d, len, addr, gofunc);
}

int gopclntab__from_goelf(const struct goelf *g, struct gopclntab **out)
{
	int err = gopclntab__new(g->pclntab, g->pclntab_len, g->text_addr, out);

	if (!err)
		attach_funcdata(*out, g);
	return err;
}
