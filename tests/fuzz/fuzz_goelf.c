// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * A Go binary, whole, as a traced process's executable (golang/goelf.c,
 * pclntab, layout*.c): goelf_open on it (a memfd), its function table
 * with the inline trees (moduledata), then the runtime's layout from
 * every source there is (DWARF, type descriptors, .symtab, machine
 * code, the version table, wait-reason strings) and the policy over
 * them, and a few lookups in the table.
 */
#include "golang/goelf.h"
#include "golang/layout.h"
#include "golang/pclntab.h"
#include "fuzz.h"

static void lookups(const struct goelf *g, const struct gopclntab *t)
{
	static const char *const names[] = { "runtime.allgadd", "runtime.gopark", "main.main" };
	struct go_frame fr[8];
	struct go_func f;
	size_t i;
	int n, k;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (gopclntab__lookup(t, names[i], &f))
			continue;
		n = gopclntab__frames(t, f.entry, fr, 8);
		for (k = 0; k < n; k++)
			fuzz_touch(fr[k].file);
	}
	for (k = 0; k < 16 && g->text_end > g->text_addr; k++)
		if (!gopclntab__find(t, g->text_addr + (g->text_end - g->text_addr) / 16 * k, &f))
			fuzz_touch(f.name);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = fuzz_memfd(data, size);
	struct gopclntab *t = NULL;
	struct go_layout l;
	struct goelf g;
	char why[256];
	uint8_t word[8];
	uint32_t i;

	if (fd < 0)
		return 0;
	if (goelf_open(fd, &g))
		return 0; /* it closed the fd */
	fuzz_touch(g.version);
	if (gopclntab__from_goelf(&g, &t))
		t = NULL;
	if (t)
		lookups(&g, t);
	goelf_read(&g, g.entry, word, sizeof(word));
	why[0] = 0;
	if (!go_layout_resolve(&g, t, &l, why, sizeof(why))) {
		FUZZ_CHECK(l.nreasons <= GO_MAX_WAIT_REASONS);
		for (i = 0; i < l.nreasons; i++)
			fuzz_touch(l.reasons[i]);
		go_layout_clear(&l);
	} else {
		FUZZ_CHECK(why[0] && memchr(why, 0, sizeof(why)));
	}
	gopclntab__free(t);
	goelf_close(&g);
	return 0;
}
