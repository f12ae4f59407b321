// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Symbol names as the traced binaries hold them, into the names shown
 * (stacks/demangle.c: versions, __GI_, C++ and Rust demangling). */
#include "stacks/demangle.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_str(data, size), *d;

	if (!s)
		return 0;
	d = bw_symbol_name(s);
	fuzz_touch(d);
	free(d);
	d = bw_demangle(s);
	fuzz_touch(d);
	free(d);
	free(s);
	return 0;
}
