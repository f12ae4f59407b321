// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The runtime's globals from .symtab: what -ldflags=-w leaves (no
 * DWARF, symbols kept). Addresses only; no offsets are in symbols. */
#include <errno.h>
#include <string.h>
#include "golang/layout_priv.h"

enum { SYM_ALLGS, SYM_ALLGLEN, SYM_ALLGPTR, SYM_MODULEDATA, SYM_REASONS, NSYMS };

static const char *const sym_names[NSYMS] = {
	[SYM_ALLGS] = "runtime.allgs",
	[SYM_ALLGLEN] = "runtime.allglen",
	[SYM_ALLGPTR] = "runtime.allgptr",
	[SYM_MODULEDATA] = "runtime.firstmoduledata",
	[SYM_REASONS] = "runtime.waitReasonStrings",
};

/* One pass over .symtab for every name above; @found[i] false where
 * absent. -ENOENT without a .symtab. */
static int lookup(const struct goelf *g, GElf_Sym *syms, bool *found)
{
	Elf_Scn *scn = NULL;
	Elf_Data *d;
	GElf_Shdr sh;
	GElf_Sym s;

	memset(found, 0, NSYMS * sizeof(*found));
	while ((scn = elf_nextscn(g->elf, scn)))
		if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_SYMTAB)
			break;
	if (!scn || !sh.sh_entsize || !(d = elf_getdata(scn, NULL)))
		return -ENOENT;
	for (size_t i = 0; i < sh.sh_size / sh.sh_entsize && gelf_getsym(d, i, &s); i++) {
		const char *n = elf_strptr(g->elf, sh.sh_link, s.st_name);

		if (!n || strncmp(n, "runtime.", 8) || GELF_ST_TYPE(s.st_info) != STT_OBJECT)
			continue;
		for (int k = 0; k < NSYMS; k++) {
			if (!found[k] && !strcmp(n, sym_names[k])) {
				syms[k] = s;
				found[k] = true;
			}
		}
	}
	return 0;
}

int go_globals_from_symtab(const struct goelf *g, struct go_layout *out)
{
	GElf_Sym s[NSYMS];
	bool found[NSYMS];
	int err = lookup(g, s, found);

	if (err)
		return err;
	if (found[SYM_ALLGS])
		out->allgs = s[SYM_ALLGS].st_value;
	if (found[SYM_ALLGLEN])
		out->allglen = s[SYM_ALLGLEN].st_value;
	if (found[SYM_ALLGPTR])
		out->allgptr = s[SYM_ALLGPTR].st_value;
	if (found[SYM_MODULEDATA])
		out->firstmoduledata = s[SYM_MODULEDATA].st_value;
	if (!found[SYM_ALLGS] && !(found[SYM_ALLGLEN] && found[SYM_ALLGPTR]))
		return -ENOENT;
	out->src_globals = GO_SRC_SYMTAB;
	return 0;
}

/* The symbol's size is the array's: [N]string, 16 bytes each. */
int go_symtab_reasons_loc(const struct goelf *g, uint64_t *addr, uint32_t *n)
{
	GElf_Sym s[NSYMS];
	bool found[NSYMS];
	int err = lookup(g, s, found);

	if (err)
		return err;
	if (!found[SYM_REASONS] || !s[SYM_REASONS].st_size || s[SYM_REASONS].st_size % 16)
		return -ENOENT;
	*addr = s[SYM_REASONS].st_value;
	*n = (uint32_t)(s[SYM_REASONS].st_size / 16);
	return 0;
}
