// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The /proc layer, files in another process's root: its binaries (through
 * /proc/PID/root or map_files) and the files it, or anyone, writes for us
 * to read (perf maps), which are opened as hostile.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "proc/procfs.h"

/*
 * The regular file behind the O_PATH fd @pathfd (closed), opened for
 * reading only now, through the inode itself: whatever its name points
 * to by now, a FIFO or a device is never opened (one hangs open() or
 * read(), another acts on being opened: a watchdog arms). fd or -errno.
 */
static int reopen_regular(int pathfd)
{
	struct stat st;
	char link[64];
	int fd;

	if (fstat(pathfd, &st))
		fd = -errno;
	else if (S_ISLNK(st.st_mode))
		fd = -ELOOP;
	else if (S_ISDIR(st.st_mode))
		fd = -EISDIR;
	else if (!S_ISREG(st.st_mode))
		fd = -EINVAL;
	else {
		snprintf(link, sizeof(link), "/proc/self/fd/%d", pathfd);
		fd = open(link, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
		if (fd < 0)
			fd = -errno;
	}
	close(pathfd);
	return fd;
}

/* The lowest mapping of @path in /proc/PID/map_files: it reaches the
 * file even once deleted or replaced, and holds the ELF header. */
static int open_map_file(pid_t pid, const char *path)
{
	char link[PATH_MAX], target[PATH_MAX], best[NAME_MAX + 1] = "";
	unsigned long lowest = ULONG_MAX;
	struct dirent *de;
	DIR *d;
	int fd;

	d = procfs_opendir("%d/map_files", pid);
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		unsigned long start;

		if (sscanf(de->d_name, "%lx-", &start) != 1 || start >= lowest)
			continue;
		if (procfs_readlink(target, sizeof(target), "%d/map_files/%s", pid, de->d_name) < 0 ||
		    strcmp(target, path))
			continue;
		lowest = start;
		snprintf(best, sizeof(best), "%s", de->d_name);
	}
	closedir(d);
	if (!best[0])
		return -1;
	snprintf(link, sizeof(link), "/proc/%d/map_files/%s", pid, best);
	fd = open(link, O_PATH | O_CLOEXEC);
	return fd < 0 ? -1 : reopen_regular(fd);
}

int procfs_open_mapped(pid_t pid, const char *path)
{
	char full[PATH_MAX];
	int fd = -1;

	if (path[0] != '/' || pid <= 0)
		return -1;
	if (!strstr(path, " (deleted)")) {
		snprintf(full, sizeof(full), "/proc/%d/root%s", pid, path);
		fd = open(full, O_PATH | O_CLOEXEC);
		if (fd >= 0)
			fd = reopen_regular(fd);
	}
	if (fd < 0)
		fd = open_map_file(pid, path);
	return fd < 0 ? -1 : fd;
}

/* "/a/b": absolute, no empty, "." or ".." component, none too long. */
static bool plain_path(const char *path)
{
	const char *p = path;

	if (*p != '/')
		return false;
	while (*p == '/') {
		size_t n = strcspn(++p, "/");

		if (!n || n > NAME_MAX || (p[0] == '.' && (n == 1 || (n == 2 && p[1] == '.'))))
			return false;
		p += n;
	}
	return true;
}

/* An O_PATH fd of the component @name (@n bytes) in @dirfd, never
 * followed: -ELOOP if it is a link, -ENOTDIR if not @last nor a directory. */
static int step_nofollow(int dirfd, const char *name, size_t n, bool last)
{
	char comp[NAME_MAX + 1];
	struct stat st;
	int fd, err = 0;

	memcpy(comp, name, n);
	comp[n] = 0;
	fd = openat(dirfd, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st))
		err = -errno;
	else if (S_ISLNK(st.st_mode))
		err = -ELOOP;
	else if (!last && !S_ISDIR(st.st_mode))
		err = -ENOTDIR;
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

/* Without openat2 (before Linux 5.6, or filtered by a seccomp profile):
 * the same walk by hand, each component relative to the last one's fd,
 * none followed if a link. */
static int walk_nofollow(int rootfd, const char *path)
{
	const char *p = path + 1;
	int dir = rootfd, fd;

	for (;;) {
		size_t n = strcspn(p, "/");

		fd = step_nofollow(dir, p, n, !p[n]);
		if (dir != rootfd)
			close(dir);
		if (fd < 0 || !p[n])
			return fd;
		dir = fd;
		p += n + 1;
	}
}

/* @path in the tree under @rootfd as an O_PATH fd, no link followed. */
static int open_nofollow(int rootfd, const char *path)
{
	struct open_how how = {
		.flags = O_PATH | O_CLOEXEC,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	long fd = syscall(SYS_openat2, rootfd, path + 1, &how, sizeof(how));

	if (fd >= 0)
		return (int)fd;
	if (errno != ENOSYS && errno != EPERM)
		return -errno;
	return walk_nofollow(rootfd, path);
}

/* A regular file's owner, links and size; anything else is for
 * reopen_regular() to refuse. Root's files are a root process's: no one
 * else can make one. One link only: a hard link to another user's file
 * would pass for the owner's. */
static int check_untrusted(int fd, const struct bw_status *owner, off_t max_size)
{
	struct stat st;

	if (fstat(fd, &st))
		return -errno;
	if (!S_ISREG(st.st_mode))
		return 0; /* reopen_regular() says what it is */
	if (st.st_uid != owner->uid && st.st_uid != owner->euid && st.st_uid != 0)
		return -EACCES;
	if (st.st_nlink != 1)
		return -EMLINK;
	return st.st_size > max_size ? -EFBIG : 0;
}

int procfs_open_untrusted(pid_t pid, const char *path, off_t max_size)
{
	struct bw_status owner;
	char link[64];
	int rootfd, pathfd, err;

	if (pid <= 0 || !plain_path(path))
		return -EINVAL;
	err = procfs_status(pid, 0, &owner);
	if (err)
		return err;
	snprintf(link, sizeof(link), "/proc/%d/root", pid);
	rootfd = open(link, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return -errno;
	pathfd = open_nofollow(rootfd, path);
	close(rootfd);
	if (pathfd < 0)
		return pathfd;
	err = check_untrusted(pathfd, &owner, max_size);
	if (err) {
		close(pathfd);
		return err;
	}
	return reopen_regular(pathfd);
}

const char *procfs_untrusted_why(int err)
{
	switch (err) {
	case -ELOOP:
		return "a symbolic link on the way";
	case -EISDIR:
		return "a directory";
	case -EINVAL:
		return "not a regular file";
	case -EACCES:
		return "owned by another user";
	case -EMLINK:
		return "a hard link";
	case -EFBIG:
		return "too big";
	default:
		return strerror(-err);
	}
}

bool procfs_foreign_root(pid_t pid)
{
	/* Our own root, read once: only we could change it (chroot,
	 * setns), and we never do. It was a stat per process asked about:
	 * 300 a second in the soak. */
	static struct stat ours;
	static bool have_ours;
	struct stat theirs;
	char path[64];

	if (!have_ours) {
		if (stat("/", &ours))
			return false;
		have_ours = true;
	}
	snprintf(path, sizeof(path), "/proc/%d/root", pid);
	if (stat(path, &theirs))
		return false;
	return ours.st_dev != theirs.st_dev || ours.st_ino != theirs.st_ino;
}
