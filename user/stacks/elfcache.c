// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <elfutils/libdwelf.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uthash.h>
#include "stacks/elfcache.h"

#define BUILD_ID_MAX 64

struct file_key {
	uint64_t dev, ino, size;
	int64_t mtime_sec, mtime_nsec;
};

struct cached {
	UT_hash_handle hh;
	struct file_key key;
	Elf *elf; /* the cache's reference */
	uint64_t mark;
	size_t idlen;
	unsigned char id[BUILD_ID_MAX];
};

struct elfcache {
	struct cached *files;
	uint64_t sweep;
};

struct elfcache *elfcache__new(void)
{
	if (elf_version(EV_CURRENT) == EV_NONE)
		return NULL;
	return calloc(1, sizeof(struct elfcache));
}

static void drop(struct elfcache *c, struct cached *f)
{
	HASH_DEL(c->files, f);
	elf_end(f->elf);
	free(f);
}

void elfcache__free(struct elfcache *c)
{
	struct cached *f, *tmp;

	if (!c)
		return;
	HASH_ITER(hh, c->files, f, tmp)
		drop(c, f);
	free(c);
}

/* The handle for @fd, mapped, needing @fd no more. */
static Elf *open_elf(int fd)
{
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	size_t size;

	if (!elf)
		return NULL;
	/* mapped whole (or, should mapping fail, read whole): after this
	 * libelf never reads the fd again */
	if (elf_kind(elf) != ELF_K_ELF || !elf_rawfile(elf, &size) ||
	    elf_cntl(elf, ELF_C_FDDONE)) {
		elf_end(elf);
		return NULL;
	}
	return elf;
}

Elf *elfcache__get(struct elfcache *c, int fd)
{
	struct file_key key;
	struct cached *f;
	struct stat st;
	const void *id;
	ssize_t len;
	Elf *elf;

	if (fstat(fd, &st)) {
		close(fd);
		return NULL;
	}
	memset(&key, 0, sizeof(key));
	key.dev = st.st_dev;
	key.ino = st.st_ino;
	key.size = st.st_size;
	key.mtime_sec = st.st_mtim.tv_sec;
	key.mtime_nsec = st.st_mtim.tv_nsec;
	HASH_FIND(hh, c->files, &key, sizeof(key), f);
	if (f) {
		close(fd);
		return elf_begin(-1, ELF_C_READ_MMAP, f->elf);
	}
	elf = open_elf(fd);
	close(fd);
	if (!elf)
		return NULL;
	f = calloc(1, sizeof(*f));
	if (!f)
		return elf; /* unshared, still good */
	f->key = key;
	f->elf = elf;
	f->mark = c->sweep + 1; /* the Dwfl that asked maps it */
	len = dwelf_elf_gnu_build_id(elf, &id);
	if (len > 0 && len <= BUILD_ID_MAX) {
		memcpy(f->id, id, len);
		f->idlen = len;
	}
	HASH_ADD(hh, c->files, key, sizeof(f->key), f);
	return elf_begin(-1, ELF_C_READ_MMAP, elf);
}

void elfcache__mark(struct elfcache *c, const unsigned char *id, size_t len)
{
	struct cached *f, *tmp;

	/* a few dozen files: a walk costs less than a second index */
	HASH_ITER(hh, c->files, f, tmp)
		if (f->idlen == len && !memcmp(f->id, id, len))
			f->mark = c->sweep + 1;
}

size_t elfcache__sweep(struct elfcache *c)
{
	struct cached *f, *tmp;
	size_t n = 0;

	c->sweep++;
	HASH_ITER(hh, c->files, f, tmp) {
		if (f->mark == c->sweep)
			continue;
		drop(c, f);
		n++;
	}
	return n;
}

size_t elfcache__count(const struct elfcache *c)
{
	return HASH_COUNT(c->files);
}
