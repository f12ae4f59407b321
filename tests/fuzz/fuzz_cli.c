// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The command line's strict number parsers (cli/parse.c): a duration, a
 * size, a PID list, a count, on any string. */
#include <limits.h>
#include "cli/parse.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_str(data, size);
	uint64_t ns, bytes;
	unsigned int u;
	pid_t *pids = NULL;
	int n = 0, i, commas = 0;

	if (!s)
		return 0;
	bw_parse_duration(s, &ns);
	bw_parse_size(s, &bytes);
	bw_parse_uint(s, &u);
	if (!bw_parse_pids(s, &pids, &n)) {
		/* one PID per comma-separated field, each in 1..INT_MAX */
		for (i = 0; s[i]; i++)
			commas += s[i] == ',';
		FUZZ_CHECK(n == commas + 1);
		for (i = 0; i < n; i++)
			FUZZ_CHECK(pids[i] > 0 && pids[i] <= INT_MAX);
		free(pids);
	}
	free(s);
	return 0;
}
