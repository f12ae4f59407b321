// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <stdlib.h>
#include <string.h>
#include "stacks/demangle.h"

/* __cxa_demangle from libstdc++ (perf and eu-stack use the same): C++
 * names, and Rust's legacy mangling, which is Itanium-shaped with a
 * trailing "::h<16 hex>" hash that rustc-demangle drops too. */
extern char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status);

char *bw_demangle(const char *name)
{
	char *d;
	size_t n;
	int status;

	if (strncmp(name, "_Z", 2))
		return strdup(name);
	d = __cxa_demangle(name, NULL, NULL, &status);
	if (!d || status) {
		free(d);
		return strdup(name);
	}
	n = strlen(d);
	if (n > 19 && !strncmp(d + n - 19, "::h", 3) &&
	    strspn(d + n - 16, "0123456789abcdef") == 16)
		d[n - 19] = 0;
	return d;
}

char *bw_symbol_name(const char *name)
{
	char *bare, *d;

	if (!strncmp(name, "__GI_", 5))
		name += 5;
	bare = strndup(name, strcspn(name, "@"));
	if (!bare)
		return NULL;
	d = bw_demangle(bare);
	free(bare);
	return d;
}
