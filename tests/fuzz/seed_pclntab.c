// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Writes fuzz_pclntab's seed from a Go binary: its .gopclntab and the
 * go:func.* bytes from moduledata.gofunc to the end of their section,
 * as gopclntab__from_goelf finds them.
 * Usage: seed_pclntab GO-BINARY OUTPUT
 */
#include <fcntl.h>
#include "golang/goelf.h"
#include "golang/pclntab_int.h"
#include "fuzz.h"
#include "pclntab_seed.h"

int main(int argc, char **argv)
{
	struct pclntab_seed h = { .magic = PCLNTAB_SEED_MAGIC };
	struct gopclntab *t;
	struct goelf g;
	size_t skip = 0;
	FILE *out;
	int err;

	if (argc != 3) {
		fprintf(stderr, "usage: seed_pclntab GO-BINARY OUTPUT\n");
		return 2;
	}
	err = goelf_open(open(argv[1], O_RDONLY | O_CLOEXEC), &g);
	if (!err)
		err = gopclntab__from_goelf(&g, &t);
	if (err) {
		fprintf(stderr, "seed_pclntab: cannot read '%s' as a Go binary: %s\n", argv[1],
			strerror(-err));
		return 1;
	}
	h.pclntab_len = (uint32_t)g.pclntab_len;
	h.text_addr = g.text_addr;
	if (t->fd && t->layout != 116 && t->gofunc >= t->fd_addr) {
		skip = t->gofunc - t->fd_addr;
		h.fd_addr = t->gofunc;
		h.gofunc = t->gofunc;
	}
	out = fopen(argv[2], "wbe");
	if (!out || fwrite(&h, sizeof(h), 1, out) != 1 ||
	    fwrite(g.pclntab, 1, g.pclntab_len, out) != g.pclntab_len ||
	    (h.fd_addr && fwrite(t->fd + skip, 1, t->fd_len - skip, out) != t->fd_len - skip) ||
	    fclose(out)) {
		fprintf(stderr, "seed_pclntab: cannot write '%s': %s\n", argv[2], strerror(errno));
		return 1;
	}
	gopclntab__free(t);
	goelf_close(&g);
	return 0;
}
