// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * An ELF file as a traced process maps it, through the shared
 * symbolizer (stacks/elfsym.c, libdw): opened as elfsyms__get opens a
 * mapped file (here through our own /proc/PID/root), then every
 * function symbol (up to MAX_SYMS), and pcs spread over the module,
 * named into frames with their inlined calls and source lines, through
 * the file's sorted symbol table and pc cache (twice: cold, then
 * cached), each checked against libdwfl's own lookup.
 */
#include <fcntl.h>
#include <gelf.h>
#include "stacks/elfsym.h"
#include "fuzz.h"

#define MAX_SYMS 256
#define SPREAD 64

static char path[64];
/* nothing outside the input: no separate debug files */
static char *debuginfo_path = "/nonexistent/bw-fuzz-debuginfo";
static Dwfl_Callbacks cb;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = access("/dev/shm", W_OK) ? "/tmp" : "/dev/shm";

	(void)argc;
	(void)argv;
	snprintf(path, sizeof(path), "%s/bw-fuzz-elfsym-%d", dir, (int)getpid());
	elfsym_callbacks(&cb, &debuginfo_path);
	return 0;
}

static bool same(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

/* A pc of the module (blockwatch looks a pc up only in the module that
 * maps it), named cold and cached, against libdwfl's own lookup. */
static void name(struct elfsyms *c, const struct elffile *ef, Dwarf_Addr pc, bool activation)
{
	struct bw_frame out[BW_MAX_INLINE], ref[BW_MAX_INLINE], tmpl = { .addr = pc };
	int n, r, k, pass;
	Dwarf_Addr lo, hi;

	if (!dwfl_module_info(ef->mod, NULL, &lo, &hi, NULL, NULL, NULL, NULL) || pc < lo ||
	    pc >= hi)
		return;
	tmpl.module = (char *)"fuzz";
	r = elfsym_frames(ef->mod, NULL, pc, activation, true, &tmpl, ref, BW_MAX_INLINE);
	FUZZ_CHECK(r <= BW_MAX_INLINE && (r >= 1 || r == -ENOMEM));
	for (pass = 0; pass < 2; pass++) {
		n = elfsyms__frames(c, ef, pc, activation, &tmpl, out, BW_MAX_INLINE);
		FUZZ_CHECK(n <= BW_MAX_INLINE && (n >= 1 || n == -ENOMEM));
		FUZZ_CHECK(n < 0 || r < 0 || n == r);
		for (k = 0; k < n; k++) {
			fuzz_touch(out[k].symbol);
			fuzz_touch(out[k].file);
			FUZZ_CHECK(k == n - 1 || out[k].inlined);
			if (r == n)
				FUZZ_CHECK(same(out[k].symbol, ref[k].symbol) &&
					   same(out[k].file, ref[k].file) && out[k].line == ref[k].line &&
					   out[k].symoff == ref[k].symoff);
			bw_frame_clear(&out[k]);
		}
	}
	for (k = 0; k < r; k++)
		bw_frame_clear(&ref[k]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct elffile *ef;
	struct elfsyms *c;
	Dwarf_Addr lo, hi;
	int fd, nsyms, i, probes = 0;

	if (!path[0])
		LLVMFuzzerInitialize(NULL, NULL);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return 0;
	if (fuzz_write_all(fd, data, size)) {
		close(fd);
		return 0;
	}
	close(fd);
	c = elfsyms__new(&cb);
	ef = c ? elfsyms__get(c, (const unsigned char *)"fuzz", 4, getpid(), path) : NULL;
	if (!ef)
		goto out;
	nsyms = dwfl_module_getsymtab(ef->mod);
	for (i = 1; i < nsyms && probes < MAX_SYMS; i++) {
		GElf_Addr addr;
		GElf_Sym sym;

		if (!dwfl_module_getsym_info(ef->mod, i, &sym, &addr, NULL, NULL, NULL) ||
		    GELF_ST_TYPE(sym.st_info) != STT_FUNC)
			continue;
		name(c, ef, addr, true);
		name(c, ef, addr + sym.st_size / 2, false);
		probes++;
	}
	if (dwfl_module_info(ef->mod, NULL, &lo, &hi, NULL, NULL, NULL, NULL) && hi > lo)
		for (i = 0; i < SPREAD; i++)
			name(c, ef, lo + (hi - lo) / SPREAD * i, i % 2);
out:
	elfsyms__free(c);
	unlink(path);
	return 0;
}
