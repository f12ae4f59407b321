/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_MAPSET_H
#define BW_MAPSET_H

#include <stdio.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The file mappings of a process (the /proc/PID/maps lines whose inode
 * is not 0) as a set: one hash per line, sorted. Anonymous mappings
 * (heap, stacks, JIT code) come and go without changing a name, so
 * they are left out.
 *
 * What matters when the maps are read again is whether a mapping was
 * added or changed (a library dlopen'ed, one replaced at the same
 * addresses): only then can a pc be named wrongly with the old
 * snapshot. A mapping removed cannot make the old snapshot wrong for a
 * pc that still runs, and a process that is exiting shows its mappings
 * going away one by one: rebuilding from that would lose the names of
 * the blocks it sent just before.
 */
struct mapset {
	uint64_t *h;
	size_t n;
};

/* Read @f (a maps file); 0 or -ENOMEM. An unreadable or empty file
 * gives an empty set. */
int mapset__read(struct mapset *ms, FILE *f);
/* Lines of @cur not in @old. */
size_t mapset__added(const struct mapset *old, const struct mapset *cur);
void mapset__free(struct mapset *ms);

#endif
