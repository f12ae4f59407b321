// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* An epoll instance's /proc/PID/fdinfo/FD (proc/fdinfo.c): its "tfd:"
 * lines and its own "ino:", into an array of exactly @max (the first
 * byte) members. */
#include "proc/fdinfo.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fdinfo_member *fds;
	uint64_t ino;
	int max, n;
	FILE *f;

	if (!size)
		return 0;
	max = data[0] % 65;
	fds = malloc((max ? max : 1) * sizeof(*fds));
	f = fuzz_file(data + 1, size - 1);
	if (fds && f) {
		n = fdinfo_parse_epoll(f, fds, max, &ino);
		FUZZ_CHECK(n >= 0 && n <= max);
	}
	if (f)
		fclose(f);
	free(fds);
	return 0;
}
