// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Naming file descriptors of another process from /proc, without
 * stopping it: readlink of /proc/PID/fd/N, socket inodes looked up in
 * the process's network namespace tables (/proc/PID/net/...). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fdinfo.h"

int sock_addr_format(const char *hex, char *buf, size_t len)
{
	const char *colon = strchr(hex, ':');
	unsigned int port;
	size_t n;

	if (!colon || sscanf(colon + 1, "%x", &port) != 1)
		return -EINVAL;
	n = colon - hex;
	if (n == 8) {
		struct in_addr a;
		char ip[INET_ADDRSTRLEN];

		if (sscanf(hex, "%8x", &a.s_addr) != 1 || !inet_ntop(AF_INET, &a, ip, sizeof(ip)))
			return -EINVAL;
		snprintf(buf, len, "%s:%u", ip, port);
		return 0;
	}
	if (n == 32) {
		struct in6_addr a;
		char ip[INET6_ADDRSTRLEN];
		int i;

		/* four 32-bit words, each in host byte order */
		for (i = 0; i < 4; i++)
			if (sscanf(hex + 8 * i, "%8x", &a.s6_addr32[i]) != 1)
				return -EINVAL;
		if (!inet_ntop(AF_INET6, &a, ip, sizeof(ip)))
			return -EINVAL;
		snprintf(buf, len, "[%s]:%u", ip, port);
		return 0;
	}
	return -EINVAL;
}

int sock_inet_line(const char *line, unsigned long ino, char *buf, size_t len)
{
	char local[64], remote[64], l[80], r[80];
	unsigned long inode;
	unsigned int state;

	/* sl local rem st tx:rx tr:tm retrnsmt uid timeout inode */
	if (sscanf(line, " %*s %63s %63s %x %*s %*s %*s %*s %*s %lu", local, remote, &state,
		   &inode) != 4 || inode != ino)
		return -ENOENT;
	if (sock_addr_format(local, l, sizeof(l)) || sock_addr_format(remote, r, sizeof(r)))
		return -EINVAL;
	/* state 0x0A is TCP_LISTEN */
	if (state == 0x0A)
		snprintf(buf, len, "%s (listening)", l);
	else
		snprintf(buf, len, "%s -> %s", l, r);
	return 0;
}

static int find_inet(pid_t pid, const char *table, unsigned long ino, char *buf, size_t len)
{
	char path[64], line[512];
	int ret = -ENOENT;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/net/%s", pid, table);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (ret && fgets(line, sizeof(line), f))
		ret = sock_inet_line(line, ino, buf, len);
	fclose(f);
	return ret;
}

static int find_unix(pid_t pid, unsigned long ino, char *buf, size_t len)
{
	char path[64], line[512];
	int ret = -ENOENT;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/net/unix", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (ret && fgets(line, sizeof(line), f)) {
		unsigned long inode;
		char name[256] = "";

		/* Num RefCount Protocol Flags Type St Inode [Path] */
		if (sscanf(line, "%*s %*s %*s %*s %*s %*s %lu %255s", &inode, name) < 1 ||
		    inode != ino)
			continue;
		snprintf(buf, len, "%s", name[0] ? name : "(unnamed)");
		ret = 0;
	}
	fclose(f);
	return ret;
}

static void describe_socket(pid_t pid, unsigned long ino, char *buf, size_t len)
{
	static const char *const inet[] = { "tcp", "tcp6", "udp", "udp6" };
	char addr[200];
	size_t i;

	for (i = 0; i < sizeof(inet) / sizeof(inet[0]); i++) {
		if (!find_inet(pid, inet[i], ino, addr, sizeof(addr))) {
			snprintf(buf, len, "socket:[%lu] %s %s", ino, inet[i], addr);
			return;
		}
	}
	if (!find_unix(pid, ino, addr, sizeof(addr))) {
		snprintf(buf, len, "socket:[%lu] unix %s", ino, addr);
		return;
	}
	snprintf(buf, len, "socket:[%lu]", ino);
}

int fd_describe(pid_t pid, int fd, char *buf, size_t len)
{
	char path[64], target[512];
	unsigned long ino;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid, fd);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return -errno;
	target[n] = 0;
	if (sscanf(target, "socket:[%lu]", &ino) == 1)
		describe_socket(pid, ino, buf, len);
	else
		snprintf(buf, len, "%s", target);
	return 0;
}

int epoll_fds(pid_t pid, int epfd, int *fds, int max)
{
	char path[64], line[256];
	int n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", pid, epfd);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (n < max && fgets(line, sizeof(line), f)) {
		int tfd;

		if (sscanf(line, "tfd: %d", &tfd) == 1)
			fds[n++] = tfd;
	}
	fclose(f);
	return n;
}
