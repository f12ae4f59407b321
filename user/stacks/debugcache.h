/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_DEBUGCACHE_H
#define BW_DEBUGCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Separate debug files kept decompressed, on disk, by build-id.
 *
 * Debian's debug packages (libc6-dbg, every -dbgsym) ship their DWARF
 * compressed (SHF_COMPRESSED, zlib). libdw inflates a section whole the
 * first time it reads it: libc6-dbg's .debug_info, .debug_abbrev and
 * .debug_line come to 10 MB of malloc'd memory and ~45 ms of CPU, paid
 * again each time the file's Dwfl is reopened (after its idle release,
 * in every --now run). A copy with those sections inflated once, named
 * DIR/BUILDID.debug, is read instead: libdwfl maps it, so only the pages
 * a lookup touches are resident, and they are the page cache's, shared
 * and reclaimable. What the copy says is what the file says (libelf's
 * own elf_compress, as eu-elfcompress -t none); it is found by the
 * build-id libdwfl already matched the file by, and checked again when
 * it is opened (the build-id, no compressed section left, every section
 * inside the file) -- a damaged one is made again.
 *
 * The directory is made 0700 if missing, and is refused if it is not a
 * directory of this user's that nobody else can write. The copies are
 * bounded (DEBUGCACHE_MAX_BYTES: the oldest used go first). When the
 * cache cannot be used (refused, read-only, full disk), one line says
 * why, once, and the original file is read as before: nothing else
 * changes.
 */

#define DEBUGCACHE_DEFAULT_DIR "/var/cache/blockwatch"
#define DEBUGCACHE_MAX_BYTES (256ULL << 20)

/* Where the copies go; NULL: no cache (the default until set). -ENOMEM. */
int debugcache_set_dir(const char *dir);
/* The bound on the copies' bytes (0: DEBUGCACHE_MAX_BYTES); a file whose
 * DWARF inflates past it is not copied. */
void debugcache_set_limit(uint64_t bytes);

/* Whether copies may be read or made (a directory set, not refused). */
bool debugcache_on(void);

/*
 * @fd: a debug file libdwfl is to read, named @name, for a module with
 * build-id @want (@wantlen bytes; 0: not checked). If it has compressed
 * sections and that build-id, and the cache is on, returns the fd of its
 * decompressed copy (made now if there is none), with @fd closed and
 * *@cached_name (freed first, then malloc'd) the copy's path; else
 * returns @fd itself and leaves *@cached_name alone. Never fails: the
 * cache's troubles are said once and @fd is returned. A file libelf
 * cannot copy is not tried again; a directory that cannot take a copy
 * (full, read-only) is not used again until debugcache_set_dir.
 * Not copied, read as they are: files compressed other than with zlib
 * (libelf 0.188 inflates zlib only), and files naming their dwz file
 * relative to their own directory (libdw would look for it from the
 * cache's). A copy is named by build-id alone: a debug file rewritten
 * under the same build-id keeps its old copy until that is removed.
 */
int debugcache_swap(int fd, const char *name, const unsigned char *want, size_t wantlen,
		    char **cached_name);

struct debugcache_stats {
	size_t hits;   /* a copy was there and sound */
	size_t made;   /* a copy was made */
	size_t failed; /* a copy could not be made or used: the original read */
};
void debugcache_stats(struct debugcache_stats *st);

#endif /* BW_DEBUGCACHE_H */
