/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_PCCACHE_H
#define BW_PCCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "stacks/frame.h"

/*
 * pc -> frames of one file (its function, inlined calls, lines), kept
 * across reports and processes: the second process that blocks in the
 * same place of libc, or the same stack named again after a report
 * dropped it, costs a hash lookup, not a DWARF walk. Keyed by the file
 * (its owner: elfsym's shared symbolizer of one build-id, so a process
 * that execs, or a library replaced at the same address, is another
 * owner) and the address in the file's own terms. At most @max entries,
 * the least recently used leaving first.
 */
struct pccache;

struct pccache *pccache__new(size_t max);
void pccache__free(struct pccache *c);
/* The frames cached for (@owner, @addr, @activation), each a copy of
 * @tmpl (addr, module, mapping) with the cached names and lines: how
 * many, 0 when not cached (or more than @max), -ENOMEM. */
int pccache__get(struct pccache *c, const void *owner, uint64_t addr, bool activation,
		 const struct bw_frame *tmpl, struct bw_frame *out, int max);
/* Keep @n frames (their symbol, symoff, file, line, inlined). -ENOMEM
 * (nothing kept). */
int pccache__put(struct pccache *c, const void *owner, uint64_t addr, bool activation,
		 const struct bw_frame *frames, int n);
/* Everything of @owner goes (its file is closed). */
void pccache__drop(struct pccache *c, const void *owner);
size_t pccache__count(const struct pccache *c);

#endif
