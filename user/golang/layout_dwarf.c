// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The layout from the binary's DWARF (a default `go build`): member
 * offsets of the runtime's structs, addresses of its globals, the
 * values of its _G* constants. The strongest source: the compiler's own
 * account of this very build. */
#include <errno.h>
#include <string.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include "base/log.h"
#include "base/util.h"
#include "golang/layout_priv.h"

#define MAX_STRUCTS 16
#define MAX_STATUSES 16

enum { VAR_ALLGS, VAR_ALLGLEN, VAR_ALLGPTR, VAR_MODULEDATA, VAR_REASONS, NVARS };

static const char *const var_names[NVARS] = {
	[VAR_ALLGS] = "runtime.allgs",
	[VAR_ALLGLEN] = "runtime.allglen",
	[VAR_ALLGPTR] = "runtime.allgptr",
	[VAR_MODULEDATA] = "runtime.firstmoduledata",
	[VAR_REASONS] = "runtime.waitReasonStrings",
};

/* What one pass over the top-level DIEs of every CU found. */
struct dw_scan {
	const char *snames[MAX_STRUCTS];
	Dwarf_Die structs[MAX_STRUCTS];
	size_t nstructs;
	Dwarf_Die vars[NVARS];
	uint64_t addrs[NVARS]; /* 0: not found */
	int64_t status[MAX_STATUSES];
	bool have_status[MAX_STATUSES];
	int64_t max_reason; /* the largest runtime.waitReason* constant, -1: none */
};

static bool wanted_struct(const char *name)
{
	for (size_t i = 0; i < go_nfields; i++)
		if (!strcmp(name, go_fields[i].type) ||
		    (go_fields[i].type2 && !strcmp(name, go_fields[i].type2)))
			return true;
	return false;
}

/* Go writes DW_AT_location as DW_FORM_block1 in DWARF 4 CUs, which
 * elfutils' dwarf_getlocation() refuses ("not a location list value"):
 * read the block and decode its one DW_OP_addr ourselves. */
static uint64_t var_addr(Dwarf_Die *die)
{
	Dwarf_Attribute a;
	Dwarf_Block b;
	uint64_t addr;

	if (!dwarf_attr(die, DW_AT_location, &a) || dwarf_formblock(&a, &b) || b.length != 9 ||
	    b.data[0] != DW_OP_addr)
		return 0;
	memcpy(&addr, b.data + 1, 8);
	return addr;
}

static void scan_constant(struct dw_scan *s, Dwarf_Die *die, const char *name)
{
	Dwarf_Attribute a;
	Dwarf_Sword v;

	if (!dwarf_attr(die, DW_AT_const_value, &a) || dwarf_formsdata(&a, &v))
		return;
	if (!strncmp(name, "runtime.waitReason", 18)) {
		if (v > s->max_reason)
			s->max_reason = v;
		return;
	}
	for (size_t i = 0; i < go_nstatuses && i < MAX_STATUSES; i++) {
		if (!strcmp(name, go_statuses[i].name)) {
			s->status[i] = v;
			s->have_status[i] = true;
		}
	}
}

static void scan_die(struct dw_scan *s, Dwarf_Die *die)
{
	const char *name = dwarf_diename(die);
	int tag = dwarf_tag(die);

	if (!name || (strncmp(name, "runtime", 7) && strncmp(name, "internal/abi.", 13)))
		return;
	if (tag == DW_TAG_structure_type && s->nstructs < MAX_STRUCTS && wanted_struct(name)) {
		for (size_t i = 0; i < s->nstructs; i++)
			if (!strcmp(s->snames[i], name))
				return;
		s->snames[s->nstructs] = name;
		s->structs[s->nstructs++] = *die;
	} else if (tag == DW_TAG_variable) {
		for (int i = 0; i < NVARS; i++) {
			if (!s->addrs[i] && !strcmp(name, var_names[i])) {
				s->vars[i] = *die;
				s->addrs[i] = var_addr(die);
			}
		}
	} else if (tag == DW_TAG_constant) {
		scan_constant(s, die, name);
	}
}

static void scan(Dwarf *dw, struct dw_scan *s)
{
	Dwarf_Off off = 0, next;
	size_t hsize;

	memset(s, 0, sizeof(*s));
	s->max_reason = -1;
	while (dwarf_nextcu(dw, off, &next, &hsize, NULL, NULL, NULL) == 0) {
		Dwarf_Die cu, die;

		if (dwarf_offdie(dw, off + hsize, &cu) && dwarf_child(&cu, &die) == 0) {
			do
				scan_die(s, &die);
			while (dwarf_siblingof(&die, &die) == 0);
		}
		off = next;
	}
}

/* The type of @die, typedefs peeled. */
static Dwarf_Die *type_of(Dwarf_Die *die, Dwarf_Die *mem)
{
	Dwarf_Attribute a;

	if (!dwarf_attr(die, DW_AT_type, &a) || !dwarf_formref_die(&a, mem))
		return NULL;
	while (dwarf_tag(mem) == DW_TAG_typedef)
		if (!dwarf_attr(mem, DW_AT_type, &a) || !dwarf_formref_die(&a, mem))
			return NULL;
	return mem;
}

static int find_member(Dwarf_Die *st, const char *name, size_t len, Dwarf_Die *m, uint32_t *off)
{
	Dwarf_Attribute a;
	Dwarf_Word w;

	if (dwarf_child(st, m))
		return -ENOENT;
	do {
		const char *n = dwarf_diename(m);

		if (dwarf_tag(m) != DW_TAG_member || !n || strlen(n) != len || memcmp(n, name, len))
			continue;
		if (!dwarf_attr(m, DW_AT_data_member_location, &a) || dwarf_formudata(&a, &w) ||
		    w > UINT32_MAX / 2)
			return -EINVAL;
		*off = (uint32_t)w;
		return 0;
	} while (dwarf_siblingof(m, m) == 0);
	return -ENOENT;
}

/*
 * The offset of @path ("stack.lo") in @st. A member of an atomic type
 * (atomic.Uint32 for g.atomicstatus from Go 1.20) is a struct around
 * `value`: the offset is that of the value.
 */
static int member_path(Dwarf_Die *st, const char *path, uint32_t *out)
{
	Dwarf_Die cur = *st, m;
	bool have = true; /* cur: the type of what the path reached so far */
	uint32_t total = 0, off;

	while (*path) {
		size_t n = strcspn(path, ".");

		if (!have || dwarf_tag(&cur) != DW_TAG_structure_type ||
		    find_member(&cur, path, n, &m, &off))
			return -ENOENT;
		total += off;
		path += n + (path[n] == '.');
		have = type_of(&m, &cur) != NULL;
	}
	if (have && dwarf_tag(&cur) == DW_TAG_structure_type &&
	    !find_member(&cur, "value", 5, &m, &off))
		total += off;
	*out = total;
	return 0;
}

static Dwarf_Die *struct_die(struct dw_scan *s, const char *name)
{
	for (size_t i = 0; name && i < s->nstructs; i++)
		if (!strcmp(s->snames[i], name))
			return &s->structs[i];
	return NULL;
}

static int path_value(struct dw_scan *s, const char *type, const char *path, uint32_t *v)
{
	Dwarf_Die *st = struct_die(s, type);
	int size;

	if (!st)
		return -ENOENT;
	if (path)
		return member_path(st, path, v);
	size = dwarf_bytesize(st);
	if (size <= 0)
		return -ENOENT;
	*v = (uint32_t)size;
	return 0;
}

static int field_value(struct dw_scan *s, const struct go_field *f, uint32_t *v)
{
	const char *type, *path;

	if (!path_value(s, f->type, f->path, v))
		return 0;
	return go_field_alt(f, &type, &path) ? path_value(s, type, path, v) : -ENOENT;
}

static void fill(struct dw_scan *s, struct go_layout *out)
{
	bool complete = true;
	uint32_t v;

	for (size_t i = 0; i < go_nfields; i++) {
		if (!field_value(s, &go_fields[i], &v))
			*go_field_ptr(out, go_fields[i].at) = v;
		else if (go_fields[i].required)
			complete = false;
	}
	if (complete)
		out->src_offsets = GO_SRC_DWARF;
	for (size_t i = 0; i < go_nstatuses && i < MAX_STATUSES; i++)
		if (s->have_status[i] && s->status[i] >= 0 && s->status[i] < 0x10000)
			*go_field_ptr(out, go_statuses[i].at) = (uint32_t)s->status[i];
	out->allgs = s->addrs[VAR_ALLGS];
	out->allglen = s->addrs[VAR_ALLGLEN];
	out->allgptr = s->addrs[VAR_ALLGPTR];
	out->firstmoduledata = s->addrs[VAR_MODULEDATA];
	if (out->allgs || (out->allglen && out->allgptr))
		out->src_globals = GO_SRC_DWARF;
}

/* The file's DWARF through an Elf handle of its own: libdw inflates the
 * compressed debug sections into the handle it is given, and they stay
 * until that handle ends; the goelf's lives as long as its process is
 * watched (megabytes for a layout read once). */
static Dwarf *dwarf_open(const struct goelf *g, Elf **elf)
{
	Dwarf *dw;

	*elf = elf_begin(g->fd, ELF_C_READ_MMAP, NULL);
	if (!*elf)
		return NULL;
	dw = dwarf_begin_elf(*elf, DWARF_C_READ, NULL);
	if (!dw) {
		elf_end(*elf);
		*elf = NULL;
	}
	return dw;
}

static void dwarf_close(Dwarf *dw, Elf *elf)
{
	dwarf_end(dw);
	elf_end(elf);
}

int go_layout_from_dwarf(const struct goelf *g, struct go_layout *out)
{
	struct dw_scan s;
	Elf *elf;
	Dwarf *dw = dwarf_open(g, &elf);

	if (!dw)
		return -ENOENT;
	scan(dw, &s);
	fill(&s, out);
	dwarf_close(dw, elf);
	return s.nstructs || s.addrs[VAR_ALLGLEN] ? 0 : -ENOENT;
}

/* [N]string: N from the array type's subrange. */
static int array_count(Dwarf_Die *var, uint32_t *n)
{
	Dwarf_Die tmem, *t = type_of(var, &tmem), sub;
	Dwarf_Attribute a;
	Dwarf_Word w, plus;

	if (!t || dwarf_tag(t) != DW_TAG_array_type || dwarf_child(t, &sub) ||
	    dwarf_tag(&sub) != DW_TAG_subrange_type)
		return -ENOENT;
	if (dwarf_attr(&sub, DW_AT_count, &a))
		plus = 0;
	else if (dwarf_attr(&sub, DW_AT_upper_bound, &a))
		plus = 1;
	else
		return -ENOENT;
	if (dwarf_formudata(&a, &w))
		return -ENOENT;
	w += plus;
	if (w > GO_MAX_WAIT_REASONS * 4)
		return -ERANGE;
	*n = (uint32_t)w;
	return 0;
}

int go_dwarf_reasons_loc(const struct goelf *g, uint64_t *addr, uint32_t *n)
{
	struct dw_scan s;
	Elf *elf;
	Dwarf *dw = dwarf_open(g, &elf);
	int err = -ENOENT;

	if (!dw)
		return -ENOENT;
	scan(dw, &s);
	if (s.addrs[VAR_REASONS] && !(err = array_count(&s.vars[VAR_REASONS], n))) {
		*addr = s.addrs[VAR_REASONS];
		/* the enum and its table are declared side by side in runtime2.go */
		if (s.max_reason >= 0 && s.max_reason + 1 != *n)
			bw_dbg("go layout: %u waitReasonStrings but waitReason constants up to %ld", *n,
			       (long)s.max_reason);
	}
	dwarf_close(dw, elf);
	return err;
}
