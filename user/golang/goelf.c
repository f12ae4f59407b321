// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "golang/goelf.h"

/* cmd/go/internal/version and debug/buildinfo: a 32-byte header, then
 * (Go 1.18+, flag 2) the version as a varint-prefixed string. Before
 * 1.18 the header holds pointers to Go string headers. */
#define BUILDINFO_MAGIC "\xff Go buildinf:"
#define BUILDINFO_HDR 32
#define FLAG_INLINE 0x2

Elf_Scn *goelf_section(const struct goelf *g, const char *name, const uint8_t **data, size_t *len,
		       uint64_t *addr)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;

	if (elf_getshdrstrndx(g->elf, &shstrndx))
		return NULL;
	while ((scn = elf_nextscn(g->elf, scn))) {
		GElf_Shdr sh;
		const char *n;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || !(n = elf_strptr(g->elf, shstrndx, sh.sh_name)))
			continue;
		if (strcmp(n, name))
			continue;
		if (addr)
			*addr = sh.sh_addr;
		if (data || len) {
			d = sh.sh_type == SHT_NOBITS ? NULL : elf_getdata(scn, NULL);
			if (data)
				*data = d ? d->d_buf : NULL;
			if (len)
				*len = d ? d->d_size : 0;
		}
		return scn;
	}
	return NULL;
}

int goelf_read(const struct goelf *g, uint64_t addr, void *buf, size_t len)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(g->elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || !(sh.sh_flags & SHF_ALLOC) ||
		    addr < sh.sh_addr || len > sh.sh_size || addr - sh.sh_addr > sh.sh_size - len)
			continue;
		if (sh.sh_type == SHT_NOBITS) {
			memset(buf, 0, len);
			return 0;
		}
		d = elf_getdata(scn, NULL);
		if (!d || len > d->d_size || addr - sh.sh_addr > d->d_size - len)
			return -EFAULT;
		memcpy(buf, (const uint8_t *)d->d_buf + (addr - sh.sh_addr), len);
		return 0;
	}
	return -EFAULT;
}

int goelf_parse_version(const char *v, int *major, int *minor)
{
	char *end;
	long ma, mi;

	if (strncmp(v, "go", 2))
		return -EINVAL;
	ma = strtol(v + 2, &end, 10);
	if (end == v + 2 || *end != '.')
		return -EINVAL;
	mi = strtol(end + 1, &end, 10);
	if (ma < 1 || mi < 0)
		return -EINVAL;
	*major = (int)ma;
	*minor = (int)mi;
	return 0;
}

static uint64_t uvarint(const uint8_t *p, size_t len, size_t *used)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < len && i < 10; i++) {
		v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
		if (!(p[i] & 0x80)) {
			*used = i + 1;
			return v;
		}
	}
	*used = 0;
	return 0;
}

/* Before Go 1.18: two pointers (ptrsize bytes each) to Go strings
 * {data, len} for the version and the module info. */
static int pointer_version(const struct goelf *g, const uint8_t *hdr, char *out, size_t outlen)
{
	uint8_t ptrsize = hdr[14];
	uint64_t sh[2] = { 0, 0 }, p = 0;
	size_t n;

	if (ptrsize != 8 || hdr[15] & 1) /* 64-bit little-endian only */
		return -EINVAL;
	memcpy(&p, hdr + 16, 8);
	if (goelf_read(g, p, sh, sizeof(sh)) || !sh[1] || sh[1] >= outlen)
		return -EINVAL;
	n = sh[1];
	if (goelf_read(g, sh[0], out, n))
		return -EINVAL;
	out[n] = 0;
	return 0;
}

static int read_version(struct goelf *g)
{
	const uint8_t *b;
	size_t len, used;
	uint64_t n;

	if (!goelf_section(g, ".go.buildinfo", &b, &len, NULL) || !b || len < BUILDINFO_HDR ||
	    memcmp(b, BUILDINFO_MAGIC, 14))
		return -ENOEXEC;
	if (!(b[15] & FLAG_INLINE))
		return pointer_version(g, b, g->version, sizeof(g->version));
	n = uvarint(b + BUILDINFO_HDR, len - BUILDINFO_HDR, &used);
	if (!used || !n || n >= sizeof(g->version) || BUILDINFO_HDR + used + n > len)
		return -EINVAL;
	memcpy(g->version, b + BUILDINFO_HDR + used, n);
	g->version[n] = 0;
	return 0;
}

int goelf_open(int fd, struct goelf *g)
{
	GElf_Ehdr eh;
	size_t i;
	int err;

	memset(g, 0, sizeof(*g));
	g->fd = fd;
	elf_version(EV_CURRENT);
	g->elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!g->elf || elf_kind(g->elf) != ELF_K_ELF || !gelf_getehdr(g->elf, &eh)) {
		goelf_close(g);
		return -EINVAL;
	}
	g->pie = eh.e_type == ET_DYN;
	g->entry = eh.e_entry;
	err = read_version(g);
	for (i = 0; !err && g->version[i]; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-+_ ",
			    g->version[i]))
			err = -EINVAL; /* not a version: not a Go binary we know */
	if (!err && goelf_parse_version(g->version, &g->major, &g->minor))
		err = -EINVAL;
	if (!err && !goelf_section(g, ".gopclntab", &g->pclntab, &g->pclntab_len, &g->pclntab_addr) &&
	    !goelf_section(g, ".data.rel.ro.gopclntab", &g->pclntab, &g->pclntab_len,
			   &g->pclntab_addr))
		err = -ENOEXEC;
	if (!err && !g->pclntab)
		err = -ENOEXEC;
	if (!err) {
		const uint8_t *unused;
		size_t tlen = 0;

		if (goelf_section(g, ".text", &unused, &tlen, &g->text_addr))
			g->text_end = g->text_addr + tlen;
	}
	if (err)
		goelf_close(g);
	return err;
}

void goelf_close(struct goelf *g)
{
	if (g->elf)
		elf_end(g->elf);
	if (g->fd >= 0)
		close(g->fd);
	g->elf = NULL;
	g->fd = -1;
}
