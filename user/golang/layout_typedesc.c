// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Offsets from the binary's own reflection metadata: the structType
 * descriptors the compiler emits for runtime.g and friends (because some
 * runtime code needs *runtime.g's type), which stripping keeps. Layouts
 * from /usr/lib/go-1.19/src/runtime/type.go and reflect/type.go:
 *
 *   _type      {size, ptrdata uintptr; hash uint32; tflag, align,
 *               fieldAlign, kind uint8; equal, gcdata *; str nameOff;
 *               ptrToThis typeOff}                          48 bytes
 *   ptrtype    {_type; elem *_type}
 *   structtype {_type; pkgPath name; fields []structField}
 *   structField{name name; typ *_type; offset uintptr}      24 bytes
 *
 * offset is offset<<1 | embedded before Go 1.19. A name is a flag byte,
 * then the length as a uvarint (Go 1.17+; 2 bytes big-endian before),
 * then the bytes. nameOff and the typelinks are offsets from
 * moduledata.types; tflagExtraStar means the stored name has a '*' to
 * drop. Internal/abi.Type (1.21+) kept the same layout.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "base/log.h"
#include "golang/layout_priv.h"

#define T_TFLAG 20
#define T_KIND 23
#define T_STR 40
#define T_SIZE 48
#define PTR_ELEM 48
#define ST_FIELDS 56
#define SF_SIZE 24
#define KIND_MASK 31
#define KIND_PTR 22
#define KIND_STRUCT 25
#define TFLAG_EXTRASTAR 2
#define NAME_MAX_LEN 128
#define MAX_FIELDS 512
#define MAX_STRUCTS 16

struct td {
	struct go_img im;
	const struct goelf *g;
	uint64_t types;
	bool varint;  /* name lengths as uvarints: 1.17+ */
	bool shifted; /* structField.offset<<1 | embedded: before 1.19 */
	const char *names[MAX_STRUCTS];
	uint64_t addrs[MAX_STRUCTS];
	size_t n;
};

/* A name record at @addr into @buf (NUL-terminated): 0 or -errno. */
static int read_name(const struct td *td, uint64_t addr, char *buf, size_t len)
{
	uint8_t b[2];
	uint64_t n = 0;
	unsigned hdr = 1;

	if (td->varint) {
		for (unsigned i = 0;; i++) {
			if (i == 4 || goelf_read(td->g, addr + 1 + i, b, 1))
				return -EINVAL;
			n |= (uint64_t)(b[0] & 0x7f) << (7 * i);
			hdr++;
			if (!(b[0] & 0x80))
				break;
		}
	} else {
		if (goelf_read(td->g, addr + 1, b, 2))
			return -EINVAL;
		n = (uint64_t)b[0] << 8 | b[1];
		hdr += 2;
	}
	if (n >= len || goelf_read(td->g, addr + hdr, buf, n))
		return -EINVAL;
	buf[n] = 0;
	return 0;
}

struct tdtype {
	uint64_t size;
	uint8_t tflag, kind;
	int32_t str;
};

static int read_type(const struct td *td, uint64_t t, struct tdtype *out)
{
	uint8_t h[T_SIZE];

	if (goelf_read(td->g, t, h, sizeof(h)))
		return -EINVAL;
	memcpy(&out->size, h, 8);
	out->tflag = h[T_TFLAG];
	out->kind = h[T_KIND] & KIND_MASK;
	memcpy(&out->str, h + T_STR, 4);
	return 0;
}

static int type_name(const struct td *td, const struct tdtype *t, char *buf, size_t len)
{
	int err = read_name(td, td->types + (int64_t)t->str, buf, len);

	if (!err && (t->tflag & TFLAG_EXTRASTAR) && buf[0] == '*')
		memmove(buf, buf + 1, strlen(buf));
	return err;
}

/* The go_fields spelling of @name if we want that struct (a string
 * that outlives ours on the stack), else NULL. */
static const char *wanted(const char *name)
{
	for (size_t i = 0; i < go_nfields; i++) {
		if (!strcmp(name, go_fields[i].type))
			return go_fields[i].type;
		if (go_fields[i].type2 && !strcmp(name, go_fields[i].type2))
			return go_fields[i].type2;
	}
	return NULL;
}

static void record(struct td *td, const char *spec, uint64_t addr)
{
	for (size_t i = 0; i < td->n; i++)
		if (td->names[i] == spec)
			return;
	if (td->n < MAX_STRUCTS) {
		td->names[td->n] = spec;
		td->addrs[td->n++] = addr;
	}
}

/* A struct type @t, if it is one we want, by its own name. */
static void consider_struct(struct td *td, uint64_t t)
{
	struct tdtype ty;
	char name[NAME_MAX_LEN];
	const char *spec;

	if (!read_type(td, t, &ty) && ty.kind == KIND_STRUCT &&
	    !type_name(td, &ty, name, sizeof(name)) && (spec = wanted(name)))
		record(td, spec, t);
}

/* The typelinks list every pointer type reflect may look up by name,
 * *runtime.g among them: their elems are the struct types we want. */
static int from_typelinks(struct td *td)
{
	const uint8_t *links;
	size_t len;

	if (!goelf_section(td->g, ".typelink", &links, &len, NULL) &&
	    !goelf_section(td->g, ".data.rel.ro.typelink", &links, &len, NULL))
		return -ENOENT;
	for (size_t i = 0; links && i + 4 <= len; i += 4) {
		struct tdtype ty;
		char name[NAME_MAX_LEN];
		uint64_t t, elem;
		int32_t off;

		memcpy(&off, links + i, 4);
		t = td->types + (int64_t)off;
		if (read_type(td, t, &ty) || ty.kind != KIND_PTR ||
		    type_name(td, &ty, name, sizeof(name)) || name[0] != '*' || !wanted(name + 1))
			continue;
		if (!go_img_u64(&td->im, t + PTR_ELEM, &elem))
			consider_struct(td, elem);
	}
	return 0;
}

static uint64_t find(const struct td *td, const char *name)
{
	for (size_t i = 0; name && i < td->n; i++)
		if (!strcmp(td->names[i], name))
			return td->addrs[i];
	return 0;
}

/* The fields array of struct type @st, read whole (PIE: relocated). */
static uint8_t *fields(const struct td *td, uint64_t st, uint64_t *n)
{
	uint64_t sl[2];
	uint8_t *buf;

	if (go_img_read(&td->im, st + ST_FIELDS, sl, sizeof(sl)) || !sl[1] || sl[1] > MAX_FIELDS)
		return NULL;
	buf = malloc(sl[1] * SF_SIZE);
	if (buf && go_img_read(&td->im, sl[0], buf, sl[1] * SF_SIZE)) {
		free(buf);
		return NULL;
	}
	*n = sl[1];
	return buf;
}

/* The field @name (@len bytes) of struct type @st: offset and type. */
static int field(const struct td *td, uint64_t st, const char *name, size_t len, uint64_t *off,
		 uint64_t *typ)
{
	char fname[NAME_MAX_LEN];
	uint64_t n, np;
	uint8_t *f = fields(td, st, &n);
	int err = -ENOENT;

	if (!f)
		return -EINVAL;
	for (uint64_t i = 0; i < n && err == -ENOENT; i++) {
		memcpy(&np, f + i * SF_SIZE, 8);
		if (read_name(td, np, fname, sizeof(fname)) || strlen(fname) != len ||
		    memcmp(fname, name, len))
			continue;
		memcpy(typ, f + i * SF_SIZE + 8, 8);
		memcpy(off, f + i * SF_SIZE + 16, 8);
		if (td->shifted)
			*off >>= 1;
		err = *off < UINT32_MAX / 2 ? 0 : -EINVAL;
	}
	free(f);
	return err;
}

static bool is_struct(const struct td *td, uint64_t t)
{
	struct tdtype ty;

	return t && !read_type(td, t, &ty) && ty.kind == KIND_STRUCT;
}

/* Like the DWARF reader: "stack.lo" is a member of a member, and an
 * atomic.Uint32 member means its `value`. */
static int path_offset(const struct td *td, uint64_t st, const char *path, uint32_t *out)
{
	uint64_t total = 0, off, typ = st;

	while (*path) {
		size_t n = strcspn(path, ".");

		if (!is_struct(td, typ) || field(td, typ, path, n, &off, &typ))
			return -ENOENT;
		total += off;
		path += n + (path[n] == '.');
	}
	if (is_struct(td, typ) && !field(td, typ, "value", 5, &off, &typ))
		total += off;
	if (total > UINT32_MAX / 2)
		return -EINVAL;
	*out = (uint32_t)total;
	return 0;
}

static int path_value(const struct td *td, const char *type, const char *path, uint32_t *v)
{
	uint64_t st = find(td, type);
	struct tdtype ty;

	if (!st)
		return -ENOENT;
	if (path)
		return path_offset(td, st, path, v);
	if (read_type(td, st, &ty) || !ty.size || ty.size > UINT32_MAX / 2)
		return -EINVAL;
	*v = (uint32_t)ty.size;
	return 0;
}

static int field_value(const struct td *td, const struct go_field *f, uint32_t *v)
{
	const char *type, *path;

	if (!path_value(td, f->type, f->path, v))
		return 0;
	return go_field_alt(f, &type, &path) ? path_value(td, type, path, v) : -ENOENT;
}

/* Struct types reachable from those found, through fields of struct or
 * pointer-to-struct type: runtime.gobuf from g.sched, runtime.hchan
 * from sudog.c... for binaries whose typelinks lack one. */
static void follow_fields(struct td *td)
{
	for (size_t i = 0; i < td->n; i++) {
		uint64_t n, typ, elem;
		uint8_t *f = fields(td, td->addrs[i], &n);
		struct tdtype ty;

		for (uint64_t k = 0; f && k < n; k++) {
			memcpy(&typ, f + k * SF_SIZE + 8, 8);
			if (read_type(td, typ, &ty))
				continue;
			if (ty.kind == KIND_STRUCT)
				consider_struct(td, typ);
			else if (ty.kind == KIND_PTR && !go_img_u64(&td->im, typ + PTR_ELEM, &elem))
				consider_struct(td, elem);
		}
		free(f);
	}
}

/* moduledata.types: read from moduledata when its place is known, else
 * the start of the section the linker puts the type data at the head of
 * (.rodata; .data.rel.ro in a PIE). The right one finds runtime.g. */
static int find_types(struct td *td, const struct go_layout *hint)
{
	uint64_t cand[3] = { 0 };
	size_t n = 0;

	if (hint->firstmoduledata && hint->moduledata_types != GO_NOFIELD &&
	    !go_img_u64(&td->im, hint->firstmoduledata + hint->moduledata_types, &cand[n]))
		n++;
	if (goelf_section(td->g, ".rodata", NULL, NULL, &cand[n]))
		n++;
	if (goelf_section(td->g, ".data.rel.ro", NULL, NULL, &cand[n]))
		n++;
	for (size_t i = 0; i < n; i++) {
		td->types = cand[i];
		td->n = 0;
		from_typelinks(td);
		if (find(td, "runtime.g"))
			return 0;
	}
	return -ENOENT;
}

static void fill(const struct td *td, struct go_layout *out)
{
	bool complete = true;
	uint32_t v;

	for (size_t i = 0; i < go_nfields; i++) {
		if (!field_value(td, &go_fields[i], &v))
			*go_field_ptr(out, go_fields[i].at) = v;
		else if (go_fields[i].required)
			complete = false;
	}
	if (complete)
		out->src_offsets = GO_SRC_TYPEDESC;
}

int go_layout_from_typedesc(const struct goelf *g, const struct gopclntab *pt,
			    struct go_layout *out)
{
	struct td td = { .g = g };
	int err;

	(void)pt; /* the descriptors are found through typelinks, not functions */
	if (g->major != 1 || g->minor < 16)
		return -ENOTSUP;
	td.varint = g->minor >= 17;
	td.shifted = g->minor < 19;
	err = go_img_open(&td.im, g);
	if (err)
		return err;
	err = find_types(&td, out);
	if (!err) {
		follow_fields(&td);
		fill(&td, out);
	}
	go_img_close(&td.im);
	return err;
}
