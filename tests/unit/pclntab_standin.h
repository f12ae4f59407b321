/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * TEMPORARY: the two calls of golang/pclntab.h the layout's disassembly
 * needs (find a function by name), for test_golayout.c only, until the
 * real reader (user/golang/pclntab.c, written on another branch) lands.
 * test_golayout.c includes this only while that file does not exist, so
 * the real one replaces it without an edit; delete this file then.
 * Go 1.18+ layout only (magic 0xfffffff0/0xfffffff1), linear search.
 */
#ifndef BW_TEST_PCLNTAB_STANDIN_H
#define BW_TEST_PCLNTAB_STANDIN_H

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "golang/pclntab.h"

struct gopclntab {
	const uint8_t *d;
	size_t len;
	uint64_t text, nfunc, funcname, pcln;
};

static uint64_t standin_u64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static uint32_t standin_u32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

int gopclntab__new(const void *data, size_t len, uint64_t text_addr, struct gopclntab **out)
{
	struct gopclntab *t;
	uint32_t magic;

	if (len < 72)
		return -EINVAL;
	magic = standin_u32(data);
	if (magic != 0xfffffff0 && magic != 0xfffffff1)
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->d = data;
	t->len = len;
	t->nfunc = standin_u64(t->d + 8);
	/* textStart is relocated at load time in a PIE: 0 in the file */
	t->text = standin_u64(t->d + 24) ? standin_u64(t->d + 24) : text_addr;
	t->funcname = standin_u64(t->d + 32);
	t->pcln = standin_u64(t->d + 64);
	if (t->pcln + (t->nfunc + 1) * 8 > len) {
		free(t);
		return -EINVAL;
	}
	*out = t;
	return 0;
}

void gopclntab__free(struct gopclntab *t)
{
	free(t);
}

int gopclntab__lookup(const struct gopclntab *t, const char *name, struct go_func *f)
{
	size_t nlen = strlen(name);

	for (uint64_t i = 0; i < t->nfunc; i++) {
		const uint8_t *ft = t->d + t->pcln + i * 8;
		uint64_t fo = t->pcln + standin_u32(ft + 4), no;

		if (fo + 8 > t->len)
			return -EINVAL;
		no = t->funcname + standin_u32(t->d + fo + 4);
		if (no + nlen + 1 > t->len || memcmp(t->d + no, name, nlen + 1))
			continue;
		f->entry = t->text + standin_u32(ft);
		f->end = t->text + standin_u32(ft + 8);
		f->name = (const char *)t->d + no;
		f->funcid = 0;
		return 0;
	}
	return -ENOENT;
}

#endif
