/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_TEST_PCLNTAB_FIXTURE_H
#define BW_TEST_PCLNTAB_FIXTURE_H

/* The Go fixtures of the pclntab tests: build/tests/go/VARIANT/pcln. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include "golang/goelf.h"
#include "golang/pclntab.h"

static const char *const go_variants[] = { "default", "stripped", "pie", "static" };

static int open_go_fixture(const char *variant, struct goelf *g, struct gopclntab **t,
			   char *path, size_t pathlen)
{
	const char *dir = getenv("BW_FIXTURE_DIR");
	int err;

	snprintf(path, pathlen, "%s/go/%s/pcln", dir ? dir : "build/tests", variant);
	err = goelf_open(open(path, O_RDONLY | O_CLOEXEC), g);
	if (err)
		return err;
	err = gopclntab__from_goelf(g, t);
	if (err)
		goelf_close(g);
	return err;
}

#endif
