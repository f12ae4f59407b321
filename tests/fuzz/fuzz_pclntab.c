// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * A Go binary's function table (golang/pclntab*.c) on any bytes: the
 * header of pclntab_seed.h, a .gopclntab, the go:func.* bytes of its
 * inline trees. Each function the table lists (up to MAX_FUNCS of them,
 * spread over the table) is asked for at its entry, inside and at its
 * end: find, frames, spdelta, then lookups by name. Every string
 * returned is read to its end.
 */
#include "golang/pclntab_int.h"
#include "fuzz.h"
#include "pclntab_seed.h"

#define MAX_FUNCS 512
#define MAX_FRAMES 8

static void ask(const struct gopclntab *t, uint64_t pc)
{
	struct go_frame fr[MAX_FRAMES];
	struct go_func f;
	int32_t d;
	int n, k;

	if (!gopclntab__find(t, pc, &f)) {
		FUZZ_CHECK(f.name && f.entry <= pc && pc < f.end);
		fuzz_touch(f.name);
	}
	n = gopclntab__frames(t, pc, fr, MAX_FRAMES);
	FUZZ_CHECK(n <= MAX_FRAMES && (n >= 1 || n == -ENOENT || n == -EINVAL));
	for (k = 0; k < n; k++) {
		FUZZ_CHECK(fr[k].func && fr[k].file);
		fuzz_touch(fr[k].func);
		fuzz_touch(fr[k].file);
	}
	gopclntab__spdelta(t, pc, &d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pclntab_seed h;
	uint8_t *tab = NULL, *fd = NULL;
	struct gopclntab *t = NULL;
	struct go_func f;
	size_t fd_len;
	uint32_t i, step;

	if (size < sizeof(h))
		return 0;
	memcpy(&h, data, sizeof(h));
	if (memcmp(h.magic, PCLNTAB_SEED_MAGIC, 4) || h.pclntab_len > size - sizeof(h))
		return 0;
	fd_len = size - sizeof(h) - h.pclntab_len;
	tab = fuzz_copy(data + sizeof(h), h.pclntab_len);
	fd = fuzz_copy(data + sizeof(h) + h.pclntab_len, fd_len);
	if (!tab || !fd || gopclntab__new(tab, h.pclntab_len, h.text_addr, &t))
		goto out;
	FUZZ_CHECK(gopclntab__layout(t) == 116 || gopclntab__layout(t) == 118 ||
		   gopclntab__layout(t) == 120);
	if (fd_len)
		gopclntab__set_funcdata(t, fd, fd_len, h.fd_addr, h.gofunc);
	step = t->nfunc / MAX_FUNCS + 1;
	for (i = 0; i < t->nfunc; i += step) {
		uint64_t entry = ftab_entry(t, i), next = ftab_entry(t, i + 1);

		ask(t, entry);
		ask(t, entry + (next - entry) / 2);
		ask(t, next - 1);
		/* the name index, and a lookup that finds something */
		if (i % (16 * step) == 0 && !gopclntab__find(t, entry, &f) && f.name[0] &&
		    !gopclntab__lookup(t, f.name, &f))
			fuzz_touch(f.name);
	}
	ask(t, 0);
	ask(t, UINT64_MAX);
	gopclntab__lookup(t, "runtime.allgadd", &f);
	gopclntab__lookup(t, "main.main", &f);
	gopclntab__lookup(t, "", &f);
out:
	gopclntab__free(t);
	free(tab);
	free(fd);
	return 0;
}
