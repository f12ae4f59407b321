// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The section is copied as it is in the file (compressed or not) into
 * an ELF image with only it and its names, and libdw opens that: its
 * check_section inflates it as it would have in the whole file, and
 * finds nothing else to inflate. */
#include <errno.h>
#include <gelf.h>
#include <stdlib.h>
#include <string.h>
#include "stacks/debugframe.h"

struct debugframe {
	void *image;
	Elf *elf;
	Dwarf *dw;
	Dwarf_CFI *cfi;
};

/* The section libdw's check_section would take as .debug_frame: the
 * first so named (or .zdebug_frame) that is neither NOBITS nor in a
 * section group. */
static Elf_Scn *find_frame(Elf *elf, const char **name)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *n;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS || (sh.sh_flags & SHF_GROUP))
			continue;
		n = elf_strptr(elf, shstrndx, sh.sh_name);
		if (n && (!strcmp(n, ".debug_frame") || !strcmp(n, ".zdebug_frame"))) {
			*name = n;
			return scn;
		}
	}
	return NULL;
}

static size_t align8(size_t v)
{
	return (v + 7) & ~(size_t)7;
}

int debugframe__open(Elf *elf, struct debugframe **out)
{
	const char *name = NULL;
	struct debugframe *d;
	Elf64_Ehdr *eh;
	Elf64_Shdr *sh;
	GElf_Ehdr ehdr;
	GElf_Shdr shdr;
	Elf_Data *raw;
	Elf_Scn *scn;
	size_t data_off, str_off, sh_off, size, namelen;
	const char *ident;

	*out = NULL;
	if (!elf || !gelf_getehdr(elf, &ehdr) || !(ident = elf_getident(elf, NULL)) ||
	    ident[EI_CLASS] != ELFCLASS64)
		return -ENOENT;
	scn = find_frame(elf, &name);
	if (!scn || !gelf_getshdr(scn, &shdr))
		return -ENOENT;
	if (!strcmp(name, ".zdebug_frame"))
		return -ENOENT;
	raw = elf_rawdata(scn, NULL);
	if (!raw || !raw->d_buf || !raw->d_size)
		return -EINVAL;
	namelen = strlen(name);
	data_off = align8(sizeof(*eh));
	str_off = data_off + raw->d_size;
	/* "\0" name "\0" ".shstrtab\0" */
	sh_off = align8(str_off + 1 + namelen + 1 + sizeof(".shstrtab"));
	size = sh_off + 3 * sizeof(*sh);
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->image = calloc(1, size);
	if (!d->image) {
		free(d);
		return -ENOMEM;
	}
	eh = d->image;
	memcpy(eh->e_ident, ident, EI_NIDENT);
	eh->e_type = ehdr.e_type;
	eh->e_machine = ehdr.e_machine;
	eh->e_version = EV_CURRENT;
	eh->e_shoff = sh_off;
	eh->e_ehsize = sizeof(*eh);
	eh->e_shentsize = sizeof(*sh);
	eh->e_shnum = 3;
	eh->e_shstrndx = 2;
	memcpy((char *)d->image + data_off, raw->d_buf, raw->d_size);
	memcpy((char *)d->image + str_off + 1, name, namelen);
	memcpy((char *)d->image + str_off + 1 + namelen + 1, ".shstrtab", sizeof(".shstrtab"));
	sh = (Elf64_Shdr *)((char *)d->image + sh_off);
	sh[1].sh_name = 1;
	sh[1].sh_type = shdr.sh_type;
	sh[1].sh_flags = shdr.sh_flags & SHF_COMPRESSED; /* libdw inflates it */
	sh[1].sh_offset = data_off;
	sh[1].sh_size = raw->d_size;
	sh[1].sh_addralign = shdr.sh_addralign;
	sh[2].sh_name = (Elf64_Word)(1 + namelen + 1);
	sh[2].sh_type = SHT_STRTAB;
	sh[2].sh_offset = str_off;
	sh[2].sh_size = 1 + namelen + 1 + sizeof(".shstrtab");
	sh[2].sh_addralign = 1;
	elf_version(EV_CURRENT);
	d->elf = elf_memory(d->image, size);
	d->dw = d->elf ? dwarf_begin_elf(d->elf, DWARF_C_READ, NULL) : NULL;
	d->cfi = d->dw ? dwarf_getcfi(d->dw) : NULL;
	if (!d->cfi) {
		debugframe__free(d);
		return -EINVAL;
	}
	*out = d;
	return 0;
}

Dwarf_CFI *debugframe__cfi(const struct debugframe *d)
{
	return d->cfi;
}

void debugframe__free(struct debugframe *d)
{
	if (!d)
		return;
	if (d->dw)
		dwarf_end(d->dw); /* its CFI with it */
	if (d->elf)
		elf_end(d->elf);
	free(d->image);
	free(d);
}
