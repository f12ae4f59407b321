// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* /proc/PID/status (proc/procfs.c): a process names itself (Name:), so
 * the text is partly its own. */
#include "proc/procfs.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FILE *f = fuzz_file(data, size);
	struct bw_status st;
	int err;

	if (!f)
		return 0;
	err = procfs_parse_status(f, &st);
	fclose(f);
	FUZZ_CHECK(err == 0 || err == -ESRCH);
	FUZZ_CHECK(memchr(st.name, 0, sizeof(st.name)));
	return 0;
}
