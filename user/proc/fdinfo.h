/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_FDINFO_H
#define BW_FDINFO_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/*
 * Naming another process's file descriptors from /proc, without
 * stopping it. A socket is looked up in the one table its protocol
 * names, read once per network namespace and kept 10 s (read again at
 * most once a report, for a socket newer than it);
 * what an fd is is kept for 100 ms, what an fd of a known file (the
 * record's, or an epoll set's member) is for as long as it is that
 * file (up to 10 s), an epoll set's members for 1 s.
 */
struct fdinfo;

/* An epoll set's member: its fd and, from the set's fdinfo, its file
 * (0 when the kernel does not say). */
struct fdinfo_member {
	int fd;
	uint32_t kdev; /* the kernel's dev_t, as the BPF side's fd_dev */
	uint64_t ino;
};

struct fdinfo *fdinfo__new(void);
void fdinfo__free(struct fdinfo *fi);
/* Drops what is past its time, socket tables 10 s old (once per report). */
void fdinfo__sweep(struct fdinfo *fi, uint64_t now);
/* What fd @fd of @pid is: "pipe:[123]", "/var/log/x", "socket:[456] tcp
 * 127.0.0.1:80 -> 127.0.0.1:5000", "socket:[789] unix /run/x.sock".
 * Returns 0, or -errno (fd gone). */
int fdinfo__describe(struct fdinfo *fi, pid_t pid, int fd, char *buf, size_t len);
/* The same for an fd known to be file @ino on kernel device @kdev (the
 * BPF side's fd_ino and fd_dev, or an epoll member's): kept while the
 * fd is that file (up to 10 s, for a file renamed). -ESTALE when the fd
 * is another file now (closed and reused since): its name is not given
 * as that file's. */
int fdinfo__describe_file(struct fdinfo *fi, pid_t pid, int fd, uint64_t ino, uint32_t kdev,
			  char *buf, size_t len);
/* The fds registered in epoll instance @epfd of @pid (its fdinfo). */
int fdinfo_epoll_fds(pid_t pid, int epfd, struct fdinfo_member *fds, int max);
/* The same, as read at most 1 s ago. */
int fdinfo__epoll_fds(struct fdinfo *fi, pid_t pid, int epfd, struct fdinfo_member *fds,
		      int max);

/* Parsing helpers, exposed for tests. */
/* "0100007F:1F90" (IPv4) or 32 hex digits + port (IPv6) -> "127.0.0.1:8080" */
int sock_addr_format(const char *hex, char *buf, size_t len);
/* A /proc/net/{tcp,udp}[6] line for inode @ino -> "local -> remote". */
int sock_inet_line(const char *line, unsigned long ino, char *buf, size_t len);
/* One line of /proc/net/@table (tcp, udp6...) -> its socket's inode and
 * "tcp local -> remote", or of /proc/net/unix -> "unix PATH"; -ENOENT
 * for a line that names no socket (the header). */
int sock_inet_entry(const char *table, const char *line, unsigned long *ino, char *buf,
		    size_t len);
int sock_unix_entry(const char *line, unsigned long *ino, char *buf, size_t len);
/* The "tfd: N ... ino:X sdev:Y" members of an epoll instance's fdinfo
 * text, at most @max; @ino: the epoll file's own "ino:" line, 0 if none. */
int fdinfo_parse_epoll(FILE *f, struct fdinfo_member *fds, int max, uint64_t *ino);

#endif
