/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_PROCFS_H
#define BW_PROCFS_H

/*
 * The one /proc layer: everything blockwatch learns about another
 * process from /proc, and every read of its memory, goes through here.
 * Nothing stops, signals or ptraces the process.
 */
#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define BW_COMM_MAX 16

/* What /proc/PID[/task/TID]/status says. */
struct bw_status {
	pid_t tgid;
	char name[BW_COMM_MAX];
	char state;	/* 'R', 'S', 'D', 'Z', 'X'... */
	pid_t ns_pid;	/* last NSpid field: its id in its own pid namespace */
	bool nested;	/* NSpid has more than one field: another namespace */
	int threads;	/* live threads of the process, a zombie leader counted */
	uid_t uid, euid; /* Uid: real and effective, as our user namespace sees them */
};

/* @tid 0: the process itself. 0 or -errno (gone: -ENOENT/-ESRCH). */
int procfs_status(pid_t pid, pid_t tid, struct bw_status *st);
/* The parser alone, on a status file's text (for tests and fuzzing):
 * 0, or -ESRCH without a Tgid line; ns_pid 0 without NSpid. */
int procfs_parse_status(FILE *f, struct bw_status *st);
/* A thread's comm; "?" once it is gone. */
void procfs_comm(pid_t pid, pid_t tid, char *buf, size_t len);
/* Does @pid still exist (a zombie does)? */
bool procfs_alive(pid_t pid);
/* Has the process of @st exited (a zombie, not yet reaped)? A leader
 * that is a zombie while other threads run (it called pthread_exit) has
 * not: its process lives on. */
bool procfs_exited(const struct bw_status *st);
/* Is @pid a kernel thread (PF_KTHREAD in /proc/PID/stat's flags)? */
bool procfs_kthread(pid_t pid);
/* A tid as @pid's own pid namespace numbers it (what glibc stores in a
 * mutex) -> the host's tid; @nstid itself when they are the same. */
pid_t procfs_host_tid(pid_t pid, pid_t nstid);

/* Copy @len bytes at @addr of @pid's memory: process_vm_readv, else
 * /proc/PID/mem. 0 or -errno (-EFAULT: not all of it is mapped). */
int procfs_read_mem(pid_t pid, uint64_t addr, void *buf, size_t len);

/* One range of a batched read: @len bytes at @addr into @buf. */
struct procfs_iov {
	uint64_t addr;
	void *buf;
	size_t len;
	bool ok; /* set by procfs_read_many */
};

/* Many reads of @pid's memory in few syscalls (process_vm_readv takes
 * up to IOV_MAX ranges; it stops at the first range it cannot read,
 * and the rest are tried again after it). Returns how many ranges were
 * read whole, or -errno when none could be (-EPERM: not allowed, -ESRCH:
 * gone). */
int procfs_read_many(pid_t pid, struct procfs_iov *iov, size_t n);
/* When the process started (/proc/PID/stat field 22, clock ticks since
 * boot): with the pid, who it is (pids are reused). 0 if gone. */
uint64_t procfs_starttime(pid_t pid);
/* AT_ENTRY and friends: the value of auxv entry @type, 0 if none. */
uint64_t procfs_auxv(pid_t pid, uint64_t type);

/* /proc/<formatted path>, e.g. procfs_fopen("%d/net/tcp", pid). */
FILE *procfs_fopen(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
DIR *procfs_opendir(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* /proc/<formatted path> read whole into *@buf (NUL-terminated, @len
 * bytes before the NUL; free() it): 0 or -errno. */
int procfs_read_file(char **buf, size_t *len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* /proc/<formatted path>'s first @len - 1 bytes in one read(2) (a
 * small file: stat, comm), NUL-terminated: their count or -errno. */
ssize_t procfs_read_small(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* readlink of /proc/<path>, NUL-terminated; its length or -errno. */
ssize_t procfs_readlink(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* stat(2) of /proc/<path> (links followed). 0 or -errno. */
struct stat;
int procfs_stat(struct stat *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* getxattr(2) of /proc/<path> (links followed), NUL-terminated: its
 * length or -errno (a socket's "system.sockprotoname": "TCP", "UNIX"...). */
ssize_t procfs_getxattr(char *buf, size_t len, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* The inode of /proc/<path> (namespaces: ns/net...), 0 if unknown. */
uint64_t procfs_inode(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A regular file as @pid sees it, through /proc/PID/root (containers);
 * a path with " (deleted)" or not found there, through the mapping in
 * /proc/PID/map_files (deleted or replaced binaries). fd or -1. */
int procfs_open_mapped(pid_t pid, const char *path);
/*
 * A file in @pid's root that anyone may have put there (/tmp/perf-PID.map:
 * the process writes it, but any user can get there first): @path as the
 * process sees it, absolute, without "." or ".." components. Nothing is
 * opened for reading before it is checked: no symbolic link anywhere on
 * the way (openat2's RESOLVE_NO_SYMLINKS, else a walk with O_NOFOLLOW), a
 * regular file (not a FIFO, device, socket or directory: they block or
 * never end), owned by the process's real or effective uid or by root,
 * with one link (not a hard link to someone else's file), at most
 * @max_size bytes. An O_RDONLY|O_NONBLOCK fd, or -errno: -ENOENT (none),
 * -ELOOP (a link), -EISDIR, -EINVAL (not a regular file; a bad @path),
 * -EACCES (someone else's), -EMLINK, -EFBIG; procfs_untrusted_why() puts
 * them in words. The file may still grow: read at most @max_size.
 */
int procfs_open_untrusted(pid_t pid, const char *path, off_t max_size);
const char *procfs_untrusted_why(int err);
/* Is @pid's root another directory than ours (a container)? Unknown
 * (gone) counts as ours, the common case. */
bool procfs_foreign_root(pid_t pid);

#endif
