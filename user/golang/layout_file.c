// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The binary's static data read as loaded (relocations applied), the
 * wait-reason strings it holds, and its moduledata found without
 * symbols. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "base/log.h"
#include "golang/layout_priv.h"

#define R_RELATIVE_X86_64 8
#define R_RELATIVE_AARCH64 1027
#define GO_STRING_MAX 128 /* the longest wait reason is 31 bytes */

static int cmp_u64pair(const void *a, const void *b)
{
	const uint64_t *x = a, *y = b;

	return x[0] < y[0] ? -1 : x[0] > y[0];
}

static uint32_t relative_type(const struct goelf *g)
{
	GElf_Ehdr eh;

	if (!gelf_getehdr(g->elf, &eh))
		return 0;
	return eh.e_machine == EM_AARCH64 ? R_RELATIVE_AARCH64 : R_RELATIVE_X86_64;
}

/* Every RELATIVE relocation of every SHT_RELA section, as (offset,
 * addend) pairs sorted by offset. */
static int load_relocs(struct go_img *im)
{
	uint32_t rtype = relative_type(im->g);
	uint64_t *pairs = NULL;
	size_t n = 0, cap = 0;
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(im->g->elf, scn))) {
		Elf_Data *d = elf_getdata(scn, NULL);
		GElf_Shdr sh;
		GElf_Rela r;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_RELA || !d || !sh.sh_entsize)
			continue;
		for (size_t i = 0; i < sh.sh_size / sh.sh_entsize && gelf_getrela(d, i, &r); i++) {
			if (GELF_R_TYPE(r.r_info) != rtype)
				continue;
			if (n == cap) {
				uint64_t *p = realloc(pairs, (cap = cap ? 2 * cap : 1024) * 16);

				if (!p) {
					free(pairs);
					return -ENOMEM;
				}
				pairs = p;
			}
			pairs[2 * n] = r.r_offset;
			pairs[2 * n + 1] = (uint64_t)r.r_addend;
			n++;
		}
	}
	qsort(pairs, n, 16, cmp_u64pair);
	im->roff = pairs; /* interleaved: offset, addend */
	im->nrel = n;
	return 0;
}

int go_img_open(struct go_img *im, const struct goelf *g)
{
	memset(im, 0, sizeof(*im));
	im->g = g;
	return g->pie ? load_relocs(im) : 0;
}

void go_img_close(struct go_img *im)
{
	free(im->roff);
	im->roff = NULL;
	im->nrel = 0;
}

int go_img_read(const struct go_img *im, uint64_t addr, void *buf, size_t len)
{
	size_t lo = 0, hi = im->nrel;
	int err = goelf_read(im->g, addr, buf, len);

	if (err)
		return err;
	/* the first relocation that can overlap [addr, addr + len) */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (im->roff[2 * mid] + 8 <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < im->nrel && im->roff[2 * lo] < addr + len; lo++) {
		uint64_t off = im->roff[2 * lo], val = im->roff[2 * lo + 1];

		for (unsigned i = 0; i < 8; i++)
			if (off + i >= addr && off + i < addr + len)
				((uint8_t *)buf)[off + i - addr] = (uint8_t)(val >> (8 * i));
	}
	return 0;
}

int go_img_u64(const struct go_img *im, uint64_t addr, uint64_t *v)
{
	return go_img_read(im, addr, v, sizeof(*v));
}

bool go_addr_in_file(const struct goelf *g, uint64_t addr, uint64_t len, bool writable)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(g->elf, scn))) {
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh) || !(sh.sh_flags & SHF_ALLOC))
			continue;
		if (addr >= sh.sh_addr && addr + len <= sh.sh_addr + sh.sh_size && addr + len >= addr)
			return !writable || (sh.sh_flags & SHF_WRITE);
	}
	return false;
}

/* pcHeader.funcnameOffset: where moduledata.funcnametab must point.
 * runtime/symtab.go: at 24 in the 1.16 layout, 32 from 1.18 (textStart
 * was added before it). */
static int funcname_offset(const struct goelf *g, uint64_t *off)
{
	uint32_t magic;
	size_t at;

	if (g->pclntab_len < 40)
		return -EINVAL;
	memcpy(&magic, g->pclntab, 4);
	if (magic == 0xfffffffa)
		at = 24;
	else if (magic == 0xfffffff0 || magic == 0xfffffff1)
		at = 32;
	else
		return -ENOTSUP;
	memcpy(off, g->pclntab + at, 8);
	return 0;
}

static bool is_moduledata(const struct go_img *im, uint64_t md, uint64_t fnoff)
{
	uint64_t v[2];

	return !go_img_read(im, md, v, sizeof(v)) && v[0] == im->g->pclntab_addr &&
	       v[1] == im->g->pclntab_addr + fnoff;
}

/* moduledata's first word is its pcHeader, so firstmoduledata is the
 * word that points at .gopclntab: in the file's bytes, or (PIE) in a
 * relocation's addend. Go 1.26 gives it a section of its own. */
static int scan_section(const struct go_img *im, const char *name, uint64_t fnoff, uint64_t *addr)
{
	const uint8_t *d;
	uint64_t base, v;
	size_t len;

	if (!goelf_section(im->g, name, &d, &len, &base) || !d)
		return -ENOENT;
	for (size_t off = 0; off + 16 <= len; off += 8) {
		memcpy(&v, d + off, 8);
		if (v == im->g->pclntab_addr && is_moduledata(im, base + off, fnoff)) {
			*addr = base + off;
			return 0;
		}
	}
	for (size_t i = 0; i < im->nrel; i++) {
		uint64_t at = im->roff[2 * i];

		if (at >= base && at + 16 <= base + len && im->roff[2 * i + 1] == im->g->pclntab_addr &&
		    is_moduledata(im, at, fnoff)) {
			*addr = at;
			return 0;
		}
	}
	return -ENOENT;
}

int go_scan_moduledata(const struct goelf *g, uint64_t *addr)
{
	struct go_img im;
	uint64_t fnoff;
	int err;

	err = funcname_offset(g, &fnoff);
	if (err)
		return err;
	err = go_img_open(&im, g);
	if (err)
		return err;
	err = scan_section(&im, ".go.module", fnoff, addr);
	if (err)
		err = scan_section(&im, ".noptrdata", fnoff, addr);
	go_img_close(&im);
	return err;
}

/* Where waitReasonStrings is: every source that knows, the strongest
 * kept, a disagreement logged. */
static enum go_src reasons_loc(const struct goelf *g, const struct gopclntab *pt, uint64_t *addr,
			       uint32_t *n)
{
	uint64_t a[3] = { 0 };
	uint32_t c[3] = { 0 };
	static const enum go_src src[3] = { GO_SRC_DWARF, GO_SRC_SYMTAB, GO_SRC_DISASM };
	int ok[3];
	int best = -1;

	ok[0] = !go_dwarf_reasons_loc(g, &a[0], &c[0]);
	ok[1] = !go_symtab_reasons_loc(g, &a[1], &c[1]);
	ok[2] = pt && !go_disasm_reasons_loc(g, pt, &a[2], &c[2]);
	for (int i = 0; i < 3; i++) {
		/* a [N]string in writable data, or that source is wrong */
		if (!ok[i] || !c[i] || c[i] > GO_MAX_WAIT_REASONS ||
		    !go_addr_in_file(g, a[i], 16ull * c[i], true))
			continue;
		if (best < 0) {
			best = i;
		} else if (a[i] != a[best] || c[i] != c[best]) {
			bw_dbg("go layout: waitReasonStrings at %#lx [%u] by %s, %#lx [%u] by %s; using %s",
			       (unsigned long)a[best], c[best], go_src_name(src[best]),
			       (unsigned long)a[i], c[i], go_src_name(src[i]), go_src_name(src[best]));
		}
	}
	if (best < 0)
		return GO_SRC_NONE;
	*addr = a[best];
	*n = c[best];
	return src[best];
}

static int read_string(const struct go_img *im, uint64_t hdr, char **out)
{
	uint64_t sh[2];
	char buf[GO_STRING_MAX + 1];
	int err = go_img_read(im, hdr, sh, sizeof(sh));

	if (err)
		return err;
	if (sh[1] > GO_STRING_MAX || (sh[1] && goelf_read(im->g, sh[0], buf, sh[1])))
		return -EINVAL;
	for (uint64_t i = 0; i < sh[1]; i++)
		if (buf[i] < 0x20 || buf[i] > 0x7e)
			return -EINVAL;
	buf[sh[1]] = 0;
	*out = strdup(buf);
	return *out ? 0 : -ENOMEM;
}

int go_reasons_from_file(const struct goelf *g, const struct gopclntab *pt, struct go_layout *out)
{
	struct go_img im;
	enum go_src src;
	uint64_t addr;
	uint32_t n, i;
	int err;

	go_reasons_free(out);
	src = reasons_loc(g, pt, &addr, &n);
	if (src == GO_SRC_NONE)
		return -ENOENT;
	err = go_img_open(&im, g);
	if (err)
		return err;
	for (i = 0; i < n && !err; i++)
		err = read_string(&im, addr + 16ull * i, &out->reasons[i]);
	go_img_close(&im);
	out->nreasons = i;
	if (err) {
		go_reasons_free(out);
		return err;
	}
	out->src_reasons = src;
	return 0;
}
