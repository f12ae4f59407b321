/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* What the golayout tests share: the Go fixture in its four builds,
 * opened with its function table, and layout comparisons. */
#ifndef BW_TEST_GOLAYOUT_H
#define BW_TEST_GOLAYOUT_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include "golang/goelf.h"
#include "golang/layout.h"
#include "golang/layout_priv.h"
#include "golang/pclntab.h"
#include "base/log.h"
#include "proc/procfs.h"

/* The fixture's builds (Makefile GO_VARIANTS) and what each holds. */
struct variant {
	const char *name;
	bool dwarf, symtab;
};

__attribute__((unused)) static const struct variant variants[] = {
	{ "default", true, true }, { "stripped", false, false }, { "pie", true, true },
	{ "static", true, true },  { "nodwarf", false, true },
};
#define NVARIANTS 5
#define FIXTURE "goroutines"

struct bin {
	struct goelf g;
	struct gopclntab *pt;
	char path[512];
};

__attribute__((unused)) static void bin_path(char *buf, size_t len, const char *variant)
{
	const char *dir = getenv("BW_FIXTURE_DIR");

	snprintf(buf, len, "%s/go/%s/" FIXTURE, dir ? dir : "build/tests", variant);
}

__attribute__((unused)) static void open_bin_at(struct bin *b, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	snprintf(b->path, sizeof(b->path), "%s", path);
	assert_true(fd >= 0);
	assert_int_equal(goelf_open(fd, &b->g), 0);
	assert_int_equal(gopclntab__new(b->g.pclntab, b->g.pclntab_len, b->g.text_addr, &b->pt), 0);
}

__attribute__((unused)) static void open_bin(struct bin *b, const char *variant)
{
	char path[512];

	bin_path(path, sizeof(path), variant);
	open_bin_at(b, path);
	assert_string_equal(b->g.version, "go1.19.8");
}

__attribute__((unused)) static void close_bin(struct bin *b)
{
	gopclntab__free(b->pt);
	goelf_close(&b->g);
}

/* Every offset and status the same; prints each difference. */
__attribute__((unused)) static void assert_same_offsets(const struct go_layout *a, const struct go_layout *b,
				const char *what)
{
	int diff = 0;

	for (size_t i = 0; i < go_nfields; i++) {
		uint32_t x = go_field_get(a, go_fields[i].at), y = go_field_get(b, go_fields[i].at);

		if (x != y) {
			print_message("%s: %s %d vs %d\n", what, go_fields[i].name, (int)x, (int)y);
			diff++;
		}
	}
	assert_int_equal(diff, 0);
}

__attribute__((unused)) static void assert_same_statuses(const struct go_layout *a, const struct go_layout *b)
{
	for (size_t i = 0; i < go_nstatuses; i++)
		assert_int_equal(go_field_get(a, go_statuses[i].at), go_field_get(b, go_statuses[i].at));
}

#endif
