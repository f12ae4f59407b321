// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Naming file descriptors of another process from /proc, without
 * stopping it: readlink of /proc/PID/fd/N, socket inodes looked up in
 * the process's network namespace tables (/proc/PID/net/...). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <uthash.h>
#include "base/clock.h"
#include "base/util.h"
#include "proc/fdinfo.h"
#include "proc/procfs.h"

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

/*
 * Socket inode -> what it is, from the tables of one network namespace.
 * A socket says which table holds it (its sockfs xattr
 * system.sockprotoname), and only that one is read: /proc/net/tcp and
 * tcp6 walk the whole established hash (every bucket of it, on a host
 * with few connections mostly empty), which cost a quarter of
 * blockwatch's CPU under pgbench when every table was read each report.
 * A table is kept for SOCK_TABLE_TTL_NS (a socket keeps its inode, and
 * its addresses once connected or listening), and read again once per
 * report at most when a socket is not in it (newer than the table).
 */
enum sock_table { ST_TCP, ST_TCP6, ST_UDP, ST_UDP6, ST_UNIX, ST_COUNT, ST_UNKNOWN = ST_COUNT };

static const char *const table_name[ST_COUNT] = { "tcp", "tcp6", "udp", "udp6", "unix" };

#define SOCK_TABLE_TTL_NS (10 * BW_NSEC_PER_SEC)

struct sock_desc {
	UT_hash_handle hh;
	unsigned long ino;
	char desc[200];
};

struct netns {
	UT_hash_handle hh;
	unsigned long ns_ino;
	uint64_t born_ns;
	bool loaded[ST_COUNT];
	bool reloaded[ST_COUNT]; /* in this report: a socket newer than the table */
	struct sock_desc *socks;
};

/*
 * What a (pid, fd) was, and an epoll set's fds, for FDINFO_TTL_NS: a
 * database's backends block on the same socket and epoll set hundreds
 * of times a second, and each look costs 3-8 reads of /proc. An fd
 * closed and opened again as another file within the TTL keeps its
 * old name that long; it is read after the block ended anyway.
 */
#define FDINFO_TTL_NS (100 * BW_NSEC_PER_MSEC)
/* An fd whose file the record names (fd_ino, fd_dev), or an epoll
 * set's member (its fdinfo names each member's file), keeps its name
 * while it is that file, read again this often for a rename. */
#define FDINFO_FILE_TTL_NS (10 * BW_NSEC_PER_SEC)
/* An epoll set is read again this often: fds added to or removed from
 * it show that much later (its members are named by their files, as
 * the set says they are). Every epoll file is the one anonymous inode:
 * a record cannot tell one set from another that took its fd. */
#define FDINFO_SET_TTL_NS (1 * BW_NSEC_PER_SEC)
#define FDINFO_MAX_CACHED 4096

struct fdkey {
	int32_t pid;
	int32_t fd;
	int32_t epoll; /* the key of an epoll set's fds */
};

struct fdent {
	UT_hash_handle hh;
	struct fdkey key;
	uint64_t at_ns;
	int err;	/* describe: its result */
	int n;		/* epoll: how many fds */
	struct fdinfo_member *fds;
	char *desc;
	bool has_id;	/* the file it was described as: */
	uint64_t ino;
	uint64_t dev;	/* st_dev */
};

struct fdinfo {
	struct netns *netns; /* by namespace inode */
	struct fdent *cache;
};

struct fdinfo *fdinfo__new(void)
{
	return calloc(1, sizeof(struct fdinfo));
}

static void ent_del(struct fdinfo *fi, struct fdent *e)
{
	HASH_DEL(fi->cache, e);
	free(e->fds);
	free(e->desc);
	free(e);
}

static void cache_clear(struct fdinfo *fi)
{
	struct fdent *e, *tmp;

	HASH_ITER(hh, fi->cache, e, tmp)
		ent_del(fi, e);
}

/* How long an entry is good for. */
static uint64_t ent_ttl(const struct fdent *e)
{
	if (e->key.epoll)
		return FDINFO_SET_TTL_NS;
	return e->has_id ? FDINFO_FILE_TTL_NS : FDINFO_TTL_NS;
}

/* The live entry of the key; an expired one is dropped. */
static struct fdent *cache_find(struct fdinfo *fi, pid_t pid, int fd, bool epoll, uint64_t now)
{
	struct fdkey k = { .pid = pid, .fd = fd, .epoll = epoll };
	struct fdent *e;

	HASH_FIND(hh, fi->cache, &k, sizeof(k), e);
	if (e && now - e->at_ns >= ent_ttl(e)) {
		ent_del(fi, e);
		e = NULL;
	}
	return e;
}

/* A new entry (NULL: out of memory, nothing cached). */
static struct fdent *cache_add(struct fdinfo *fi, pid_t pid, int fd, bool epoll, uint64_t now)
{
	struct fdent *e;

	if (HASH_COUNT(fi->cache) >= FDINFO_MAX_CACHED)
		cache_clear(fi);
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->key = (struct fdkey){ .pid = pid, .fd = fd, .epoll = epoll };
	e->at_ns = now;
	HASH_ADD(hh, fi->cache, key, sizeof(e->key), e);
	return e;
}

static void add_sock(struct netns *ns, unsigned long ino, const char *desc)
{
	struct sock_desc *d;

	/* a table read again says what the socket is now (bound, or
	 * connected, since) */
	HASH_FIND(hh, ns->socks, &ino, sizeof(ino), d);
	if (d) {
		snprintf(d->desc, sizeof(d->desc), "%s", desc);
		return;
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return;
	d->ino = ino;
	snprintf(d->desc, sizeof(d->desc), "%s", desc);
	HASH_ADD(hh, ns->socks, ino, sizeof(d->ino), d);
}

int sock_inet_entry(const char *table, const char *line, unsigned long *ino, char *buf,
		    size_t len)
{
	char addr[160];

	if (sscanf(line, " %*s %*s %*s %*s %*s %*s %*s %*s %*s %lu", ino) != 1 || !*ino ||
	    sock_inet_line(line, *ino, addr, sizeof(addr)))
		return -ENOENT;
	snprintf(buf, len, "%s %s", table, addr);
	return 0;
}

int sock_unix_entry(const char *line, unsigned long *ino, char *buf, size_t len)
{
	char name[160] = "";

	/* Num RefCount Protocol Flags Type St Inode [Path] */
	if (sscanf(line, "%*s %*s %*s %*s %*s %*s %lu %159s", ino, name) < 1 || !*ino)
		return -ENOENT;
	snprintf(buf, len, "unix %s", name[0] ? name : "(unnamed)");
	return 0;
}

static void load_table(struct netns *ns, pid_t pid, enum sock_table t)
{
	char line[512], desc[200];
	unsigned long ino;
	FILE *f;
	int ok;

	ns->loaded[t] = true;
	f = procfs_fopen("%d/net/%s", pid, table_name[t]);
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		ok = t == ST_UNIX ? !sock_unix_entry(line, &ino, desc, sizeof(desc)) :
				    !sock_inet_entry(table_name[t], line, &ino, desc, sizeof(desc));
		if (ok)
			add_sock(ns, ino, desc);
	}
	fclose(f);
}

static struct netns *netns_of(struct fdinfo *fi, pid_t pid, uint64_t now)
{
	unsigned long ino = procfs_inode("%d/ns/net", pid);
	struct netns *ns;

	if (!ino)
		return NULL;
	HASH_FIND(hh, fi->netns, &ino, sizeof(ino), ns);
	if (ns)
		return ns;
	ns = calloc(1, sizeof(*ns));
	if (!ns)
		return NULL;
	ns->ns_ino = ino;
	ns->born_ns = now;
	HASH_ADD(hh, fi->netns, ns_ino, sizeof(ns->ns_ino), ns);
	return ns;
}

static void netns_del(struct fdinfo *fi, struct netns *ns)
{
	struct sock_desc *d, *dtmp;

	HASH_ITER(hh, ns->socks, d, dtmp) {
		HASH_DEL(ns->socks, d);
		free(d);
	}
	HASH_DEL(fi->netns, ns);
	free(ns);
}

static void netns_clear(struct fdinfo *fi)
{
	struct netns *ns, *tmp;

	HASH_ITER(hh, fi->netns, ns, tmp)
		netns_del(fi, ns);
}

void fdinfo__sweep(struct fdinfo *fi, uint64_t now)
{
	struct fdent *e, *tmp;
	struct netns *ns, *ntmp;

	HASH_ITER(hh, fi->cache, e, tmp)
		if (now - e->at_ns >= ent_ttl(e))
			ent_del(fi, e);
	HASH_ITER(hh, fi->netns, ns, ntmp) {
		if (now - ns->born_ns >= SOCK_TABLE_TTL_NS)
			netns_del(fi, ns);
		else
			memset(ns->reloaded, 0, sizeof(ns->reloaded));
	}
}

void fdinfo__free(struct fdinfo *fi)
{
	if (!fi)
		return;
	cache_clear(fi);
	netns_clear(fi);
	free(fi);
}

static enum sock_table sock_table_of(const char *proto)
{
	static const struct {
		const char *proto;
		enum sock_table t;
	} map[] = {
		{ "TCP", ST_TCP }, { "TCPv6", ST_TCP6 }, { "UDP", ST_UDP }, { "UDPv6", ST_UDP6 },
		{ "UNIX", ST_UNIX }, { "UNIX-STREAM", ST_UNIX },
	};
	size_t i;

	for (i = 0; i < BW_ARRAY_SIZE(map); i++)
		if (!strcmp(proto, map[i].proto))
			return map[i].t;
	return ST_UNKNOWN;
}

/* @ino in table @t: read when it was not yet, and again (once a
 * report) when the socket is newer than it. */
static struct sock_desc *sock_in(struct netns *ns, pid_t pid, enum sock_table t,
				 unsigned long ino)
{
	struct sock_desc *d = NULL;

	if (!ns->loaded[t]) {
		load_table(ns, pid, t);
		ns->reloaded[t] = true;
	}
	HASH_FIND(hh, ns->socks, &ino, sizeof(ino), d);
	if (!d && !ns->reloaded[t]) {
		ns->reloaded[t] = true;
		load_table(ns, pid, t);
		HASH_FIND(hh, ns->socks, &ino, sizeof(ino), d);
	}
	return d;
}

/* What @ino is, from the table its protocol says (a socket of another
 * protocol is its inode alone; one that cannot say is looked for in
 * every table). */
static void describe_socket(struct fdinfo *fi, pid_t pid, int fd, unsigned long ino, char *buf,
			    size_t len)
{
	struct sock_desc *d = NULL;
	struct netns *ns = NULL;
	enum sock_table t;
	char proto[32];
	bool known;

	known = procfs_getxattr(proto, sizeof(proto), "system.sockprotoname", "%d/fd/%d", pid,
				fd) > 0;
	t = known ? sock_table_of(proto) : ST_UNKNOWN;
	if (t != ST_UNKNOWN || !known)
		ns = netns_of(fi, pid, bw_mono_ns());
	if (ns && known)
		d = sock_in(ns, pid, t, ino);
	for (t = 0; ns && !known && !d && t < ST_COUNT; t++)
		d = sock_in(ns, pid, t, ino);
	if (d)
		snprintf(buf, len, "socket:[%lu] %s", ino, d->desc);
	else
		snprintf(buf, len, "socket:[%lu]", ino);
}

static int describe(struct fdinfo *fi, pid_t pid, int fd, char *buf, size_t len)
{
	char target[512];
	unsigned long ino;
	ssize_t n;

	n = procfs_readlink(target, sizeof(target), "%d/fd/%d", pid, fd);
	if (n < 0)
		return (int)n;
	if (sscanf(target, "socket:[%lu]", &ino) == 1)
		describe_socket(fi, pid, fd, ino, buf, len);
	else
		snprintf(buf, len, "%s", target);
	return 0;
}

int fdinfo__describe(struct fdinfo *fi, pid_t pid, int fd, char *buf, size_t len)
{
	uint64_t now = bw_mono_ns();
	struct fdent *e = cache_find(fi, pid, fd, false, now);
	char desc[512];

	if (!e) {
		e = cache_add(fi, pid, fd, false, now);
		if (!e)
			return describe(fi, pid, fd, buf, len);
		e->err = describe(fi, pid, fd, desc, sizeof(desc));
		if (!e->err && !(e->desc = strdup(desc))) {
			ent_del(fi, e);
			snprintf(buf, len, "%s", desc);
			return 0;
		}
	}
	if (e->err)
		return e->err;
	snprintf(buf, len, "%s", e->desc);
	return 0;
}

int fdinfo__describe_file(struct fdinfo *fi, pid_t pid, int fd, uint64_t ino, uint32_t kdev,
			  char *buf, size_t len)
{
	/* the kernel's dev_t: 12 bits of major above 20 of minor */
	uint64_t dev = makedev(kdev >> 20, kdev & ((1u << 20) - 1)), now = bw_mono_ns();
	struct fdkey k = { .pid = pid, .fd = fd, .epoll = false };
	char desc[512];
	struct stat st, st2;
	struct fdent *e;
	int err;

	if (!ino)
		return fdinfo__describe(fi, pid, fd, buf, len);
	HASH_FIND(hh, fi->cache, &k, sizeof(k), e);
	if (e && !e->err && e->has_id && e->ino == ino && e->dev == dev &&
	    now - e->at_ns < FDINFO_FILE_TTL_NS) {
		snprintf(buf, len, "%s", e->desc);
		return 0;
	}
	if (e)
		ent_del(fi, e);
	/* what it is before and after its name is read: the same file, or
	 * the fd changed meanwhile and nothing is kept */
	err = procfs_stat(&st, "%d/fd/%d", pid, fd);
	if (!err)
		err = describe(fi, pid, fd, desc, sizeof(desc));
	if (!err)
		err = procfs_stat(&st2, "%d/fd/%d", pid, fd);
	if (!err && (st.st_ino != st2.st_ino || st.st_dev != st2.st_dev))
		return -ESTALE;
	e = cache_add(fi, pid, fd, false, now);
	if (e) {
		e->err = err;
		if (!err) {
			e->has_id = true;
			e->ino = st.st_ino;
			e->dev = st.st_dev;
			e->desc = strdup(desc);
			if (!e->desc)
				ent_del(fi, e);
		}
	}
	if (err)
		return err;
	if ((uint64_t)st.st_ino != ino || (uint64_t)st.st_dev != dev)
		return -ESTALE;
	snprintf(buf, len, "%s", desc);
	return 0;
}

int fdinfo_parse_epoll(FILE *f, struct fdinfo_member *fds, int max, uint64_t *ino)
{
	char line[256];
	int n = 0;

	*ino = 0;
	while (n < max && fgets(line, sizeof(line), f)) {
		struct fdinfo_member m = { 0 };
		unsigned long long id;
		unsigned int dev;

		if (sscanf(line, "ino: %llu", &id) == 1) {
			*ino = id;
			continue;
		}
		if (sscanf(line, "tfd: %d", &m.fd) != 1)
			continue;
		/* "tfd: %8d events: %8x data: %16llx  pos:%lli ino:%lx sdev:%x" */
		if (sscanf(line, "tfd: %*d events: %*x data: %*x pos:%*d ino:%llx sdev:%x", &id,
			   &dev) == 2) {
			m.ino = id;
			m.kdev = dev;
		}
		fds[n++] = m;
	}
	return n;
}

static int epoll_read(pid_t pid, int epfd, struct fdinfo_member *fds, int max)
{
	uint64_t ino;
	FILE *f;
	int n;

	f = procfs_fopen("%d/fdinfo/%d", pid, epfd);
	if (!f)
		return -errno;
	n = fdinfo_parse_epoll(f, fds, max, &ino);
	fclose(f);
	return n;
}

int fdinfo_epoll_fds(pid_t pid, int epfd, struct fdinfo_member *fds, int max)
{
	return epoll_read(pid, epfd, fds, max);
}

int fdinfo__epoll_fds(struct fdinfo *fi, pid_t pid, int epfd, struct fdinfo_member *fds,
		      int max)
{
	uint64_t now = bw_mono_ns();
	struct fdent *e = cache_find(fi, pid, epfd, true, now);

	if (!e) {
		e = cache_add(fi, pid, epfd, true, now);
		if (!e)
			return epoll_read(pid, epfd, fds, max);
		e->fds = calloc(max > 0 ? max : 1, sizeof(*e->fds));
		if (!e->fds) {
			ent_del(fi, e);
			return epoll_read(pid, epfd, fds, max);
		}
		e->n = epoll_read(pid, epfd, e->fds, max);
	}
	if (e->n > 0)
		memcpy(fds, e->fds, (e->n < max ? e->n : max) * sizeof(*fds));
	return e->n < max ? e->n : max;
}
