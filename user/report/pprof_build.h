/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_PPROF_BUILD_H
#define BW_PPROF_BUILD_H

/*
 * Building one profile.proto message (pprof's format, encoded by the
 * protobuf-c code generated from third_party/pprof/profile.proto) and
 * writing it gzipped: the string table, functions, mappings and
 * locations deduplicated, samples with their labels. Shared by the
 * pprof (threads) and pprof-go (goroutines) sinks.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct pb;

/* One line of a location: a function and where in it. */
struct pb_line {
	const char *func;	/* NULL: the location has no line */
	const char *sysname;	/* NULL: as func */
	const char *file;	/* NULL: unknown */
	uint32_t line;
};

/* A mapping: 0 start for none. */
struct pb_mapping {
	uint64_t start, limit, offset;
	const char *file;
	const char *build_id;	/* hex; NULL: none */
};

/* @types: {"blocks", "count", "offcpu", "nanoseconds"}: n pairs. The
 * last is the period type and the default (as in the Go runtime's CPU
 * profile: the count first, by profile.proto's convention). */
struct pb *pb__new(const char *const *types, int ntypes);
void pb__free(struct pb *b);
void pb__times(struct pb *b, uint64_t start_ns, uint64_t duration_ns);
void pb__comment(struct pb *b, const char *text);

/* The id of mapping @m of process @space, made now if new (the first
 * is the one pprof takes for the main binary); 0 on -ENOMEM. */
uint64_t pb__mapping(struct pb *b, uint64_t space, const struct pb_mapping *m);

/* The id of the location of @addr in process @space (made with @lines,
 * innermost first, the last the function they were inlined into, and
 * @m, the first time it is asked for); 0 on -ENOMEM. */
uint64_t pb__location(struct pb *b, uint64_t space, uint64_t addr, const struct pb_mapping *m,
		      const struct pb_line *lines, int nlines);

/* Sample being added: locations (leaf first), values, labels. */
int pb__sample_begin(struct pb *b);
int pb__sample_loc(struct pb *b, uint64_t loc);
int pb__sample_value(struct pb *b, int64_t v);
int pb__label_str(struct pb *b, const char *key, const char *val);
int pb__label_num(struct pb *b, const char *key, int64_t val);

/* The whole profile, gzipped, to @out. 0 or -errno. */
int pb__write(struct pb *b, FILE *out);

#endif
