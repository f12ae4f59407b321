/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_ELFCACHE_H
#define BW_ELFCACHE_H

#include <libelf.h>
#include <stddef.h>

/*
 * One libelf handle per file, shared by the Dwfls of every process that
 * maps it (by device, inode, size and mtime: a replaced library is
 * another file). libelf counts the references (elf_begin on a handle
 * returns it with one more; elf_end drops one), so each Dwfl holds its
 * own and the cache one more: the file is mapped into blockwatch once,
 * not once per process (60 shells: 60 mappings of bash and libc), and
 * its section headers are parsed once.
 */
struct elfcache;

struct elfcache *elfcache__new(void);
/* Drops the cache's references; Dwfls keep theirs. Accepts NULL. */
void elfcache__free(struct elfcache *c);
/* A reference of the caller's to the file open at @fd, which is taken
 * (closed): for libdwfl's find_elf, with no fd. NULL when it is no ELF
 * file. */
Elf *elfcache__get(struct elfcache *c, int fd);
/* Between two sweeps, the files some held Dwfl still maps (by build-id)
 * are marked; the sweep drops the cache's reference to the others and
 * says how many. A file without a build-id is never marked: the next
 * process that maps it gets a handle of its own, nothing breaks. */
void elfcache__mark(struct elfcache *c, const unsigned char *id, size_t len);
size_t elfcache__sweep(struct elfcache *c);
size_t elfcache__count(const struct elfcache *c);

#endif
