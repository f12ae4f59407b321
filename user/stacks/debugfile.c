// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include "stacks/debugcache.h"
#include "stacks/debugfile.h"

/* libdwfl's default (DEFAULT_DEBUGINFO_PATH) */
#define DEBUGFILE_DEFAULT_PATH ":.debug:/usr/lib/debug"

static char *debugfile_path;

void debugfile_set_path(const char *path)
{
	free(debugfile_path);
	debugfile_path = path ? strdup(path) : NULL;
}

int debugfile_candidates(const char *path, const char *file_name, const char *debuglink,
			 int (*fn)(void *ctx, const char *candidate, bool check_crc), void *ctx)
{
	char dir[PATH_MAX], cand[PATH_MAX];
	const char *slash = strrchr(file_name, '/'), *p, *end;
	bool defcheck = true;
	size_t dlen;
	int ret;

	if (!slash || strchr(debuglink, '/'))
		return 0;
	dlen = (size_t)(slash - file_name);
	if (dlen >= sizeof(dir))
		return 0;
	memcpy(dir, file_name, dlen);
	dir[dlen] = '\0';
	if (!path)
		path = DEBUGFILE_DEFAULT_PATH;
	if (*path == '+' || *path == '-')
		defcheck = *path++ == '+';
	for (p = path;; p = end + 1) {
		bool check = defcheck;
		size_t elen;
		int n;

		end = strchrnul(p, ':');
		if (*p == '+' || *p == '-')
			check = *p++ == '+';
		elen = end > p ? (size_t)(end - p) : 0;
		if (!elen)
			n = snprintf(cand, sizeof(cand), "%s/%s", dir, debuglink);
		else if (*p == '/')
			n = snprintf(cand, sizeof(cand), "%.*s%s/%s", (int)elen, p, dir, debuglink);
		else
			n = snprintf(cand, sizeof(cand), "%s/%.*s/%s", dir, (int)elen, p, debuglink);
		if (n > 0 && (size_t)n < sizeof(cand) && (ret = fn(ctx, cand, check)))
			return ret;
		if (!*end)
			return 0;
	}
}

/* The GNU debuglink CRC is the CRC-32 zlib computes. */
static bool crc_matches(int fd, GElf_Word want)
{
	unsigned char buf[65536];
	uLong crc = crc32(0L, Z_NULL, 0);
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		crc = crc32(crc, buf, (uInt)n);
	return n == 0 && (GElf_Word)crc == want;
}

struct search {
	struct stat self; /* the file itself is no debug file of its own */
	bool have_self;
	GElf_Word crc;
	int fd;
	char *name;
};

static int try_candidate(void *ctx, const char *cand, bool check)
{
	struct search *s = ctx;
	struct stat st;
	int fd = open(cand, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		return 0;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) ||
	    (s->have_self && st.st_dev == s->self.st_dev && st.st_ino == s->self.st_ino) ||
	    (check && s->crc && !crc_matches(fd, s->crc)) || lseek(fd, 0, SEEK_SET) ||
	    !(s->name = strdup(cand))) {
		close(fd);
		return 0;
	}
	s->fd = fd;
	return 1;
}

/* The debug file named by @id under each absolute directory of @path
 * (DIR/.build-id/xx/rest.debug, libdwfl's own naming), its name in
 * *@name; -1 if there is none. */
static int by_build_id(const char *path, const unsigned char *id, int len, char **name)
{
	char hex[2 * 64 + 1], cand[PATH_MAX];
	const char *p, *end;

	if (len < 2 || len > 64)
		return -1;
	for (int i = 0; i < len; i++)
		snprintf(hex + 2 * i, 3, "%02x", id[i]);
	for (p = path ? path : DEBUGFILE_DEFAULT_PATH;; p = end + 1) {
		struct stat st;
		int n, fd;

		end = strchrnul(p, ':');
		if (*p == '+' || *p == '-')
			p++;
		n = snprintf(cand, sizeof(cand), "%.*s/.build-id/%.2s/%s.debug", (int)(end - p), p,
			     hex, hex + 2);
		if (*p == '/' && n > 0 && (size_t)n < sizeof(cand) &&
		    (fd = open(cand, O_RDONLY | O_CLOEXEC)) >= 0) {
			if (!fstat(fd, &st) && S_ISREG(st.st_mode) && (*name = strdup(cand)))
				return fd;
			close(fd);
		}
		if (!*end)
			return -1;
	}
}

/* A debug file by build-id read from the cache of inflated ones
 * (debugcache.h), the copy made now if there is none. Only for a file
 * the path has (the cache does not widen it). -1: not this way (no
 * cache, no build-id, nothing compressed): libdwfl's own lookup then,
 * which opens the file itself, so no copy can stand in for it after. */
static int cached_by_build_id(Dwfl_Module *mod, char **debuginfo_file_name)
{
	const unsigned char *id;
	GElf_Addr vaddr;
	char *name = NULL;
	int len, fd, c;

	if (!debugcache_on())
		return -1;
	len = dwfl_module_build_id(mod, &id, &vaddr);
	if (len <= 0 || (fd = by_build_id(debugfile_path, id, len, &name)) < 0)
		return -1;
	c = debugcache_swap(fd, name, id, (size_t)len, debuginfo_file_name);
	free(name);
	if (c == fd) {
		close(fd);
		return -1;
	}
	return c;
}

int debugfile_find(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
		   const char *file_name, const char *debuglink_file, GElf_Word debuglink_crc,
		   char **debuginfo_file_name)
{
	struct search s = { .crc = debuglink_crc, .fd = -1 };
	int fd;

	/* libdwfl asks for a dwz alt file with the .gnu_debugaltlink name
	 * and no CRC: that one is not the module's own */
	if ((!debuglink_file || debuglink_crc) &&
	    (fd = cached_by_build_id(mod, debuginfo_file_name)) >= 0)
		return fd;
	errno = 0;
	fd = dwfl_build_id_find_debuginfo(mod, userdata, modname, base, file_name,
					  debuglink_file, debuglink_crc, debuginfo_file_name);
	if (fd >= 0 || !file_name || !debuglink_file || !*debuglink_file)
		return fd;
	s.have_self = stat(file_name, &s.self) == 0;
	if (!debugfile_candidates(debugfile_path, file_name, debuglink_file, try_candidate, &s)) {
		errno = 0; /* nothing found, no error: libdwfl goes on without */
		return -1;
	}
	*debuginfo_file_name = s.name;
	/* by debuglink, its CRC checked: a build-id it may lack is not asked */
	return debugcache_swap(s.fd, s.name, NULL, 0, debuginfo_file_name);
}
