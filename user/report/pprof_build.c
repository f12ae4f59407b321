// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>
#include <zlib.h>
#include "proto/profile.pb-c.h"
#include "report/pprof_build.h"

typedef Perftools__Profiles__Profile Profile;
typedef Perftools__Profiles__Sample Sample;
typedef Perftools__Profiles__Label Label;
typedef Perftools__Profiles__Mapping Mapping;
typedef Perftools__Profiles__Location Location;
typedef Perftools__Profiles__Line Line;
typedef Perftools__Profiles__Function Function;
typedef Perftools__Profiles__ValueType ValueType;

struct strent {
	UT_hash_handle hh;
	int64_t idx;
};

struct idkey {
	UT_hash_handle hh;
	uint64_t key[3];
	uint64_t id;
};

struct pb {
	Profile p;
	ValueType period;
	struct strent *strs;
	struct idkey *funcs, *maps, *locs;
	size_t cap_str, cap_sample, cap_map, cap_loc, cap_func, cap_comment;
	size_t cap_sloc, cap_sval, cap_slabel; /* of the sample being added */
	int err;
};

/* Append to a growing array @v of @n (capacity *@cap). */
static int grow(void **v, size_t n, size_t *cap, size_t size)
{
	void *nv;
	size_t ncap;

	if (n < *cap)
		return 0;
	ncap = *cap ? 2 * *cap : 16;
	nv = realloc(*v, ncap * size);
	if (!nv)
		return -ENOMEM;
	*v = nv;
	*cap = ncap;
	return 0;
}

#define PUSH(b, arr, n, cap)                                                                  \
	(grow((void **)&(arr), (n), &(cap), sizeof(*(arr))) ? ((b)->err = -ENOMEM) : 0)

/* Index of @s in the string table (0: ""). */
static int64_t str(struct pb *b, const char *s)
{
	struct strent *e;
	size_t len;
	char *copy;

	if (!s || !*s)
		return 0;
	len = strlen(s);
	HASH_FIND(hh, b->strs, s, len, e);
	if (e)
		return e->idx;
	e = calloc(1, sizeof(*e));
	copy = strdup(s);
	if (!e || !copy || PUSH(b, b->p.string_table, b->p.n_string_table, b->cap_str)) {
		free(e);
		free(copy);
		b->err = -ENOMEM;
		return 0;
	}
	e->idx = (int64_t)b->p.n_string_table;
	b->p.string_table[b->p.n_string_table++] = copy;
	HASH_ADD_KEYPTR(hh, b->strs, copy, len, e);
	return e->idx;
}

struct pb *pb__new(const char *const *types, int ntypes)
{
	struct pb *b = calloc(1, sizeof(*b));
	int i;

	if (!b)
		return NULL;
	perftools__profiles__profile__init(&b->p);
	perftools__profiles__value_type__init(&b->period);
	b->p.string_table = calloc(16, sizeof(char *));
	b->p.sample_type = calloc(ntypes, sizeof(ValueType *));
	if (!b->p.string_table || !b->p.sample_type || !(b->p.string_table[0] = strdup(""))) {
		pb__free(b);
		return NULL;
	}
	b->cap_str = 16;
	b->p.n_string_table = 1;
	for (i = 0; i < ntypes; i++) {
		ValueType *vt = calloc(1, sizeof(*vt));

		if (!vt) {
			pb__free(b);
			return NULL;
		}
		perftools__profiles__value_type__init(vt);
		vt->type = str(b, types[2 * i]);
		vt->unit = str(b, types[2 * i + 1]);
		b->p.sample_type[b->p.n_sample_type++] = vt;
	}
	b->period = *b->p.sample_type[ntypes - 1];
	b->p.default_sample_type = b->period.type;
	b->p.period_type = &b->period;
	b->p.period = 1;
	return b;
}

static void free_ids(struct idkey **h)
{
	struct idkey *e, *t;

	HASH_ITER(hh, *h, e, t) {
		HASH_DEL(*h, e);
		free(e);
	}
}

void pb__free(struct pb *b)
{
	struct strent *e, *t;
	size_t i, j;

	if (!b)
		return;
	HASH_ITER(hh, b->strs, e, t) {
		HASH_DEL(b->strs, e);
		free(e);
	}
	free_ids(&b->funcs);
	free_ids(&b->maps);
	free_ids(&b->locs);
	for (i = 0; i < b->p.n_string_table; i++)
		free(b->p.string_table[i]);
	free(b->p.string_table);
	for (i = 0; i < b->p.n_sample_type; i++)
		free(b->p.sample_type[i]);
	free(b->p.sample_type);
	for (i = 0; i < b->p.n_sample; i++) {
		Sample *s = b->p.sample[i];

		for (j = 0; j < s->n_label; j++)
			free(s->label[j]);
		free(s->label);
		free(s->location_id);
		free(s->value);
		free(s);
	}
	free(b->p.sample);
	for (i = 0; i < b->p.n_mapping; i++)
		free(b->p.mapping[i]);
	free(b->p.mapping);
	for (i = 0; i < b->p.n_location; i++) {
		for (j = 0; j < b->p.location[i]->n_line; j++)
			free(b->p.location[i]->line[j]);
		free(b->p.location[i]->line);
		free(b->p.location[i]);
	}
	free(b->p.location);
	for (i = 0; i < b->p.n_function; i++)
		free(b->p.function[i]);
	free(b->p.function);
	free(b->p.comment);
	free(b);
}

void pb__times(struct pb *b, uint64_t start_ns, uint64_t duration_ns)
{
	b->p.time_nanos = (int64_t)start_ns;
	b->p.duration_nanos = (int64_t)duration_ns;
}

void pb__comment(struct pb *b, const char *text)
{
	int64_t idx = str(b, text);

	if (!PUSH(b, b->p.comment, b->p.n_comment, b->cap_comment))
		b->p.comment[b->p.n_comment++] = idx;
}

/* The id in @h of @key, or 0 (and *@e the new entry to fill in). */
static uint64_t find_id(struct pb *b, struct idkey **h, const uint64_t key[3], struct idkey **e)
{
	struct idkey *f;

	*e = NULL;
	HASH_FIND(hh, *h, key, sizeof(f->key), f);
	if (f)
		return f->id;
	f = calloc(1, sizeof(*f));
	if (!f) {
		b->err = -ENOMEM;
		return 0;
	}
	memcpy(f->key, key, sizeof(f->key));
	*e = f;
	return 0;
}

static uint64_t function(struct pb *b, const struct pb_line *l)
{
	uint64_t key[3] = { str(b, l->func), str(b, l->sysname ? l->sysname : l->func),
			    str(b, l->file) };
	struct idkey *e;
	uint64_t id = find_id(b, &b->funcs, key, &e);
	Function *f;

	if (id || !e)
		return id;
	f = calloc(1, sizeof(*f));
	if (!f || PUSH(b, b->p.function, b->p.n_function, b->cap_func)) {
		free(f);
		free(e);
		b->err = -ENOMEM;
		return 0;
	}
	perftools__profiles__function__init(f);
	f->id = e->id = b->p.n_function + 1;
	f->name = (int64_t)key[0];
	f->system_name = (int64_t)key[1];
	f->filename = (int64_t)key[2];
	b->p.function[b->p.n_function++] = f;
	HASH_ADD(hh, b->funcs, key, sizeof(e->key), e);
	return f->id;
}

static uint64_t mapping(struct pb *b, uint64_t space, const struct pb_mapping *m, bool lines)
{
	uint64_t key[3] = { space, m->start, (uint64_t)str(b, m->file) };
	struct idkey *e;
	uint64_t id = find_id(b, &b->maps, key, &e);
	Mapping *mp;

	if (id || !e)
		return id;
	mp = calloc(1, sizeof(*mp));
	if (!mp || PUSH(b, b->p.mapping, b->p.n_mapping, b->cap_map)) {
		free(mp);
		free(e);
		b->err = -ENOMEM;
		return 0;
	}
	perftools__profiles__mapping__init(mp);
	mp->id = e->id = b->p.n_mapping + 1;
	mp->memory_start = m->start;
	mp->memory_limit = m->limit;
	mp->file_offset = m->offset;
	mp->filename = (int64_t)key[2];
	mp->build_id = str(b, m->build_id);
	/* symbolized here: pprof needs not do it again (it still can, by
	 * build-id, with -symbolize=force) */
	mp->has_functions = mp->has_filenames = mp->has_line_numbers = lines;
	mp->has_inline_frames = lines;
	b->p.mapping[b->p.n_mapping++] = mp;
	HASH_ADD(hh, b->maps, key, sizeof(e->key), e);
	return mp->id;
}

uint64_t pb__mapping(struct pb *b, uint64_t space, const struct pb_mapping *m)
{
	return m->start ? mapping(b, space, m, true) : 0;
}

uint64_t pb__location(struct pb *b, uint64_t space, uint64_t addr, const struct pb_mapping *m,
		      const struct pb_line *lines, int nlines)
{
	uint64_t key[3] = { space, addr, 0 };
	struct idkey *e;
	uint64_t id = find_id(b, &b->locs, key, &e);
	Location *loc;
	int i;

	if (id || !e)
		return id;
	loc = calloc(1, sizeof(*loc));
	if (!loc || PUSH(b, b->p.location, b->p.n_location, b->cap_loc))
		goto nomem;
	perftools__profiles__location__init(loc);
	loc->address = addr;
	if (m && m->start)
		loc->mapping_id = mapping(b, space, m, nlines && lines[0].func);
	if (nlines && lines[0].func) {
		loc->line = calloc(nlines, sizeof(*loc->line));
		if (!loc->line)
			goto nomem;
		for (i = 0; i < nlines; i++) {
			Line *l = calloc(1, sizeof(*l));

			if (!l)
				goto nomem;
			perftools__profiles__line__init(l);
			l->function_id = function(b, &lines[i]);
			l->line = lines[i].line;
			loc->line[loc->n_line++] = l;
		}
	}
	loc->id = e->id = b->p.n_location + 1;
	b->p.location[b->p.n_location++] = loc;
	HASH_ADD(hh, b->locs, key, sizeof(e->key), e);
	return loc->id;
nomem:
	if (loc) {
		for (i = 0; i < (int)loc->n_line; i++)
			free(loc->line[i]);
		free(loc->line);
	}
	free(loc);
	free(e);
	b->err = -ENOMEM;
	return 0;
}

static Sample *cur(struct pb *b)
{
	return b->p.n_sample ? b->p.sample[b->p.n_sample - 1] : NULL;
}

int pb__sample_begin(struct pb *b)
{
	Sample *s = calloc(1, sizeof(*s));

	if (!s || PUSH(b, b->p.sample, b->p.n_sample, b->cap_sample)) {
		free(s);
		return b->err = -ENOMEM;
	}
	perftools__profiles__sample__init(s);
	b->p.sample[b->p.n_sample++] = s;
	b->cap_sloc = b->cap_sval = b->cap_slabel = 0;
	return 0;
}

int pb__sample_loc(struct pb *b, uint64_t loc)
{
	Sample *s = cur(b);

	if (!s || !loc || PUSH(b, s->location_id, s->n_location_id, b->cap_sloc))
		return b->err = -ENOMEM;
	s->location_id[s->n_location_id++] = loc;
	return 0;
}

int pb__sample_value(struct pb *b, int64_t v)
{
	Sample *s = cur(b);

	if (!s || PUSH(b, s->value, s->n_value, b->cap_sval))
		return b->err = -ENOMEM;
	s->value[s->n_value++] = v;
	return 0;
}

static Label *label(struct pb *b, const char *key)
{
	Sample *s = cur(b);
	Label *l;

	if (!s || PUSH(b, s->label, s->n_label, b->cap_slabel))
		return NULL;
	l = calloc(1, sizeof(*l));
	if (!l) {
		b->err = -ENOMEM;
		return NULL;
	}
	perftools__profiles__label__init(l);
	l->key = str(b, key);
	s->label[s->n_label++] = l;
	return l;
}

int pb__label_str(struct pb *b, const char *key, const char *val)
{
	Label *l = label(b, key);

	if (!l)
		return b->err = -ENOMEM;
	l->str = str(b, val);
	return b->err;
}

int pb__label_num(struct pb *b, const char *key, int64_t val)
{
	Label *l = label(b, key);

	if (!l)
		return b->err = -ENOMEM;
	l->num = val;
	return b->err;
}

/* profile.proto on disk is gzipped, as pprof writes and expects it. */
static int gzip_to(FILE *out, const uint8_t *data, size_t len)
{
	uint8_t chunk[65536];
	z_stream z = { 0 };
	int zr, err = 0;

	if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
			 Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	z.next_in = (uint8_t *)data;
	z.avail_in = (uInt)len;
	do {
		z.next_out = chunk;
		z.avail_out = sizeof(chunk);
		zr = deflate(&z, Z_FINISH);
		if (zr == Z_STREAM_ERROR) {
			err = -EIO;
			break;
		}
		if (fwrite(chunk, 1, sizeof(chunk) - z.avail_out, out) !=
		    sizeof(chunk) - z.avail_out) {
			err = -EIO;
			break;
		}
	} while (zr != Z_STREAM_END);
	deflateEnd(&z);
	return err;
}

int pb__write(struct pb *b, FILE *out)
{
	size_t len;
	uint8_t *buf;
	int err;

	if (b->err)
		return b->err;
	len = perftools__profiles__profile__get_packed_size(&b->p);
	buf = malloc(len ? len : 1);
	if (!buf)
		return -ENOMEM;
	perftools__profiles__profile__pack(&b->p, buf);
	err = gzip_to(out, buf, len);
	free(buf);
	return err;
}
