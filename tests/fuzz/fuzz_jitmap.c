// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * /tmp/perf-PID.map (stacks/jitmap.c), a file the traced process itself
 * writes: "START SIZE name" lines, then lookups at, inside and around
 * every range the input names, and at the ends of the address space.
 */
#include "stacks/jitmap.h"
#include "fuzz.h"

#define MAX_PROBES 64

static void probe(struct jitmap *jm, uint64_t addr)
{
	struct bw_frame fr = { 0 };
	int r = jitmap__resolve(jm, addr, &fr);

	FUZZ_CHECK(r == 0 || r == 1 || r == -ENOMEM);
	if (r == 1) {
		FUZZ_CHECK(fr.symbol && fr.module && !strcmp(fr.module, "[jit]"));
		FUZZ_CHECK(fr.symoff <= addr);
		fuzz_touch(fr.symbol);
	}
	bw_frame_clear(&fr);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jitmap *jm = jitmap__new(1);
	FILE *f = fuzz_file(data, size);
	int fd = fuzz_memfd(data, size), r;
	char line[1024];
	int probes = 0;

	if (!jm || !f || fd < 0)
		goto out;
	r = jitmap__parse(jm, fd);
	FUZZ_CHECK(r == 0 || r == -ENOMEM || r == -E2BIG || r == -EFBIG || r == -ETIME);
	probe(jm, 0);
	probe(jm, UINT64_MAX);
	while (probes < MAX_PROBES && fgets(line, sizeof(line), f)) {
		unsigned long long start, len;

		if (sscanf(line, "%llx %llx", &start, &len) != 2)
			continue;
		probe(jm, start);
		probe(jm, start - 1);
		probe(jm, start + len / 2);
		probe(jm, start + len - 1);
		probe(jm, start + len);
		probes++;
	}
out:
	if (fd >= 0)
		close(fd);
	if (f)
		fclose(f);
	jitmap__free(jm);
	return 0;
}
