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

int debugfile_find(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
		   const char *file_name, const char *debuglink_file, GElf_Word debuglink_crc,
		   char **debuginfo_file_name)
{
	struct search s = { .crc = debuglink_crc, .fd = -1 };
	int fd;

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
	return s.fd;
}
