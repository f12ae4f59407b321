// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The decompressing is libelf's (elf_compress with type 0, what
 * eu-elfcompress -t none does): a file copied, its compressed sections
 * inflated in place, the file laid out again by elf_update. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "base/log.h"
#include "stacks/debugcache.h"

#define MAX_ID 64		  /* build-id bytes */
#define STALE_TMP_SEC (10 * 60)	  /* a copy under way this long was left by a crash */
#define FAILED_MAX 16		  /* files remembered as not copyable, the oldest forgotten */
static struct {
	uint64_t max_bytes;
	char *dir;
	int dirfd; /* -1: not opened yet */
	bool refused;
	bool said;
	struct debugcache_stats st;
	char failed[FAILED_MAX][2 * MAX_ID + 1]; /* files whose copy failed */
	unsigned int nfailed;
} dc = { .dirfd = -1, .max_bytes = DEBUGCACHE_MAX_BYTES };

void debugcache_set_limit(uint64_t bytes)
{
	dc.max_bytes = bytes ? bytes : DEBUGCACHE_MAX_BYTES;
}

int debugcache_set_dir(const char *dir)
{
	char *copy = NULL;

	if (dir && !(copy = strdup(dir)))
		return -ENOMEM;
	if (dc.dirfd >= 0)
		close(dc.dirfd);
	free(dc.dir);
	dc.dir = copy;
	dc.dirfd = -1;
	dc.refused = false;
	dc.said = false;
	dc.nfailed = 0;
	return 0;
}

void debugcache_stats(struct debugcache_stats *st)
{
	*st = dc.st;
}

static void fail(const char *what, int err)
{
	dc.st.failed++;
	if (!dc.said)
		bw_err("warning: debug cache %s: %s: %s; compressed debug info is inflated in "
		       "memory instead",
		       dc.dir, what, strerror(err));
	dc.said = true;
}

/* The directory, made if @make; without @make one not there yet is
 * -1, and nothing is said. */
static int open_dir(bool make)
{
	struct stat st;
	int fd;

	if (dc.dirfd >= 0 || dc.refused)
		return dc.dirfd;
	if (!make && access(dc.dir, F_OK))
		return -1;
	if (mkdir(dc.dir, 0700) && errno != EEXIST) {
		fail("cannot make it", errno);
		dc.refused = true;
		return -1;
	}
	fd = open(dc.dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		fail("cannot open it", errno);
		if (fd >= 0)
			close(fd);
		dc.refused = true;
		return -1;
	}
	if (st.st_uid != geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH))) {
		fail("not this user's, or others can write it", EPERM);
		close(fd);
		dc.refused = true;
		return -1;
	}
	dc.dirfd = fd;
	return fd;
}

struct info {
	char hex[2 * MAX_ID + 1];
	bool compressed;
	bool uncopyable;     /* not zlib, or a dwz alt file named relative to it */
	uint64_t inflated;   /* the compressed sections' sizes inflated */
	uint64_t compressed_bytes; /* and as they are in the file */
};

static void build_id(Elf_Scn *scn, struct info *in)
{
	Elf_Data *d = elf_getdata(scn, NULL);
	size_t off = 0, noff, doff;
	GElf_Nhdr nh;

	while (d && (off = gelf_getnote(d, off, &nh, &noff, &doff)) > 0) {
		const unsigned char *desc = (const unsigned char *)d->d_buf + doff;

		if (nh.n_type != NT_GNU_BUILD_ID || nh.n_namesz != 4 ||
		    memcmp((const char *)d->d_buf + noff, "GNU", 4) || !nh.n_descsz ||
		    nh.n_descsz > MAX_ID)
			continue;
		for (size_t i = 0; i < nh.n_descsz; i++)
			snprintf(in->hex + 2 * i, 3, "%02x", desc[i]);
		return;
	}
}

/* A .gnu_debugaltlink naming its dwz file relative to this file's
 * directory: libdw would look for it from the copy's (the cache). */
static bool altlink_relative(Elf *elf, Elf_Scn *scn, const GElf_Shdr *sh)
{
	size_t shstrndx;
	const char *name;
	Elf_Data *d;

	if (sh->sh_type != SHT_PROGBITS || elf_getshdrstrndx(elf, &shstrndx) ||
	    !(name = elf_strptr(elf, shstrndx, sh->sh_name)) || strcmp(name, ".gnu_debugaltlink"))
		return false;
	d = elf_getdata(scn, NULL);
	return !d || !d->d_size || ((const char *)d->d_buf)[0] != '/';
}

/* What the cache needs of @elf; false if it is no ELF file, or one with
 * a section past @size (a damaged copy). */
static bool inspect(Elf *elf, uint64_t size, struct info *in)
{
	Elf_Scn *scn = NULL;
	GElf_Ehdr eh;

	memset(in, 0, sizeof(*in));
	if (elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh) ||
	    eh.e_shoff + (uint64_t)eh.e_shnum * eh.e_shentsize > size)
		return false;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		GElf_Chdr ch;

		if (!gelf_getshdr(scn, &sh))
			return false;
		if (sh.sh_type != SHT_NOBITS &&
		    (sh.sh_offset > size || sh.sh_size > size - sh.sh_offset))
			return false;
		if (sh.sh_type == SHT_NOTE && !in->hex[0])
			build_id(scn, in);
		if (altlink_relative(elf, scn, &sh))
			in->uncopyable = true;
		if (!(sh.sh_flags & SHF_COMPRESSED))
			continue;
		in->compressed = true;
		if (!gelf_getchdr(scn, &ch))
			return false;
		/* libelf 0.188 inflates zlib only (not ELFCOMPRESS_ZSTD) */
		if (ch.ch_type != ELFCOMPRESS_ZLIB)
			in->uncopyable = true;
		in->inflated += ch.ch_size;
		in->compressed_bytes += sh.sh_size;
	}
	return true;
}

static bool info_of(int fd, struct info *in)
{
	struct stat st;
	Elf *elf;
	bool ok;

	if (fstat(fd, &st) || !S_ISREG(st.st_mode))
		return false;
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf)
		return false;
	ok = inspect(elf, (uint64_t)st.st_size, in);
	elf_end(elf);
	return ok;
}

/* A copy is sound: this user's regular file, an ELF file whole, the
 * build-id of its name, nothing compressed in it. */
static bool sound(int fd, const char *hex)
{
	struct stat st;
	struct info in;

	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_uid != geteuid())
		return false;
	return info_of(fd, &in) && !in.compressed && !strcmp(in.hex, hex);
}

struct entry {
	struct timespec used;
	uint64_t bytes;
	char name[NAME_MAX + 1];
};

static int older(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	if (x->used.tv_sec != y->used.tv_sec)
		return x->used.tv_sec < y->used.tv_sec ? -1 : 1;
	return x->used.tv_nsec < y->used.tv_nsec ? -1 : x->used.tv_nsec > y->used.tv_nsec;
}

/* Room for @need more bytes: the copies used longest ago removed, and
 * copies under way that a crash left behind. */
static void make_room(uint64_t need)
{
	struct entry *e = NULL, *grown;
	size_t n = 0, cap = 0, i;
	uint64_t total = 0;
	struct dirent *de;
	time_t now = time(NULL);
	int fd = dup(dc.dirfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	rewinddir(d); /* the dup shares dirfd's offset: the last scan's end */
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		struct stat st;

		if (fstatat(dc.dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) || !S_ISREG(st.st_mode))
			continue;
		if (de->d_name[0] == '.' && len > 4 && !strcmp(de->d_name + len - 4, ".tmp")) {
			if (now - st.st_mtime > STALE_TMP_SEC)
				unlinkat(dc.dirfd, de->d_name, 0);
			continue;
		}
		if (len < 7 || strcmp(de->d_name + len - 6, ".debug"))
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			grown = realloc(e, cap * sizeof(*e));
			if (!grown)
				break;
			e = grown;
		}
		e[n].used = st.st_mtim;
		e[n].bytes = (uint64_t)st.st_size;
		snprintf(e[n].name, sizeof(e[n].name), "%s", de->d_name);
		total += e[n++].bytes;
	}
	closedir(d);
	if (n)
		qsort(e, n, sizeof(*e), older);
	for (i = 0; i < n && total + need > dc.max_bytes; i++)
		if (!unlinkat(dc.dirfd, e[i].name, 0)) {
			bw_dbg("debug cache: %s removed (the cache is over %llu MB)", e[i].name,
			       (unsigned long long)(dc.max_bytes >> 20));
			total -= e[i].bytes;
		}
	free(e);
}

static int copy_bytes(int in, int out, uint64_t size)
{
	loff_t off_in = 0, off_out = 0;
	char buf[1 << 16];

	while ((uint64_t)off_in < size) {
		ssize_t n = copy_file_range(in, &off_in, out, &off_out, size - (uint64_t)off_in, 0);

		if (n > 0)
			continue;
		if (n == 0)
			return -EIO; /* the file shrank under us */
		if (errno != EXDEV && errno != ENOSYS && errno != EOPNOTSUPP && errno != EINVAL)
			return -errno;
		/* another file system: by hand */
		while ((uint64_t)off_in < size) {
			ssize_t r = pread(in, buf, sizeof(buf), off_in);

			if (r <= 0)
				return r ? -errno : -EIO;
			if (pwrite(out, buf, (size_t)r, off_out) != r)
				return -errno ? -errno : -EIO;
			off_in += r;
			off_out += r;
		}
	}
	return 0;
}

/* About what the copy of a file of @size bytes takes. */
static uint64_t copy_size(const struct info *in, uint64_t size)
{
	return size - in->compressed_bytes + in->inflated;
}

static bool failed_before(const char *hex)
{
	for (unsigned int i = 0; i < dc.nfailed && i < FAILED_MAX; i++)
		if (!strcmp(dc.failed[i], hex))
			return true;
	return false;
}

/* The copy of @fd with its sections inflated, made under a name of its
 * own and renamed to @name when whole: an fd of it, or -errno. */
static int make_copy(int fd, const char *name, const struct info *in)
{
	char tmp[NAME_MAX + 1];
	struct stat st;
	Elf_Scn *scn = NULL;
	Elf *elf = NULL;
	int out, ret;

	uint64_t rnd;

	if (fstat(fd, &st))
		return -errno;
	make_room(copy_size(in, (uint64_t)st.st_size));
	/* a name nobody else has: another blockwatch (another pid
	 * namespace, the same pid) may be making the same copy */
	if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
		rnd = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	snprintf(tmp, sizeof(tmp), ".%s.%016llx.tmp", in->hex, (unsigned long long)rnd);
	out = openat(dc.dirfd, tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0)
		return -errno;
	ret = copy_bytes(fd, out, (uint64_t)st.st_size);
	if (ret)
		goto out;
	ret = -EPROTO; /* libelf's: said with -v (elf_errmsg) */
	elf = elf_begin(out, ELF_C_RDWR, NULL);
	if (!elf)
		goto out;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh))
			goto out;
		if ((sh.sh_flags & SHF_COMPRESSED) && elf_compress(scn, 0, 0) < 0)
			goto out;
	}
	if (elf_update(elf, ELF_C_WRITE) < 0) {
		/* a full disk comes back from libelf as its own error */
		ret = errno == ENOSPC || errno == EDQUOT || errno == EIO ? -errno : -EPROTO;
		goto out;
	}
	elf_end(elf);
	elf = NULL;
	/* whole on disk before it has the name a reader trusts */
	ret = fdatasync(out) || renameat(dc.dirfd, tmp, dc.dirfd, name) ? -errno : 0;
out:
	if (ret == -EPROTO)
		bw_dbg("debug cache: %s: %s", in->hex, elf_errmsg(-1));
	if (elf)
		elf_end(elf);
	close(out);
	if (ret) {
		unlinkat(dc.dirfd, tmp, 0);
		return ret;
	}
	out = openat(dc.dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	return out < 0 ? -errno : out;
}

/* The copy named @file if it is there and sound; -1 if not (a damaged
 * one removed). */
static int cached(const char *file, const char *hex)
{
	int c = openat(dc.dirfd, file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (c < 0)
		return -1;
	if (sound(c, hex)) {
		dc.st.hits++;
		futimens(c, NULL); /* used now: the last to be removed */
		return c;
	}
	bw_dbg("debug cache: %s is damaged: removed", file);
	close(c);
	unlinkat(dc.dirfd, file, 0);
	return -1;
}

static int give(int c, const char *file, char **cached_name)
{
	char *path;

	if (asprintf(&path, "%s/%s", dc.dir, file) < 0) {
		close(c);
		return -1;
	}
	free(*cached_name);
	*cached_name = path;
	return c;
}

bool debugcache_on(void)
{
	return dc.dir && !dc.refused;
}

int debugcache_swap(int fd, const char *name, const unsigned char *want, size_t wantlen,
		    char **cached_name)
{
	char file[2 * MAX_ID + 16], hex[2 * MAX_ID + 1];
	struct info in;
	struct stat st;
	int c;

	if (!dc.dir || dc.refused || fd < 0 || wantlen > MAX_ID)
		return fd;
	elf_version(EV_CURRENT);
	/* a file with nothing compressed is read as it is; so is one that
	 * cannot be copied, or is too large to, or whose copy failed: libdw
	 * inflates it in memory as before */
	if (!info_of(fd, &in) || !in.compressed || !in.hex[0] || in.uncopyable ||
	    fstat(fd, &st) || copy_size(&in, (uint64_t)st.st_size) > dc.max_bytes ||
	    failed_before(in.hex))
		return fd;
	/* not the module's (libdwfl's own lookup checks this too) */
	for (size_t i = 0; i < wantlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", want[i]);
	if (wantlen && strcmp(hex, in.hex))
		return fd;
	if (open_dir(true) < 0)
		return fd;
	snprintf(file, sizeof(file), "%s.debug", in.hex);
	c = cached(file, in.hex);
	if (c < 0) {
		c = make_copy(fd, file, &in);
		if (c == -EPROTO) {
			/* this file's: the others may still be copied */
			snprintf(dc.failed[dc.nfailed++ % FAILED_MAX], sizeof(dc.failed[0]), "%s",
				 in.hex);
			fail("libelf cannot inflate a copy", EPROTO);
			return fd;
		}
		if (c < 0) {
			/* the directory's (full, read-only): no more tries */
			fail("cannot write a copy", -c);
			dc.refused = true;
			return fd;
		}
		dc.st.made++;
		bw_dbg("debug cache: %s made for %s", file, name ? name : "?");
	}
	c = give(c, file, cached_name);
	if (c < 0)
		return fd;
	close(fd);
	return c;
}
