/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* The input of fuzz_pclntab: a header, a .gopclntab, the go:func.*
 * bytes its inline trees are in (seed_pclntab.c writes one from a Go
 * binary). All little-endian. */
#ifndef BW_FUZZ_PCLNTAB_SEED_H
#define BW_FUZZ_PCLNTAB_SEED_H

#include <stdint.h>

#define PCLNTAB_SEED_MAGIC "BWPT"

struct pclntab_seed {
	char magic[4];
	uint32_t pclntab_len; /* then that many bytes of .gopclntab */
	uint64_t text_addr;   /* .text, for the 1.16 layout */
	uint64_t fd_addr;     /* the link-time address of the bytes after the table */
	uint64_t gofunc;      /* moduledata.gofunc */
};

_Static_assert(sizeof(struct pclntab_seed) == 32, "pclntab seed header");

#endif
