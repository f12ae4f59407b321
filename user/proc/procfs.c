// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <sys/uio.h>
#include <unistd.h>
#include "proc/procfs.h"

/* include/linux/sched.h, the same since 2.6.27 */
#define PF_KTHREAD 0x00200000

static int vpath(char *buf, size_t len, const char *fmt, va_list ap)
{
	int n = snprintf(buf, len, "/proc/");

	n += vsnprintf(buf + n, len - n, fmt, ap);
	return n < (int)len ? 0 : -ENAMETOOLONG;
}

FILE *procfs_fopen(const char *fmt, ...)
{
	char path[PATH_MAX];
	va_list ap;
	int err;

	va_start(ap, fmt);
	err = vpath(path, sizeof(path), fmt, ap);
	va_end(ap);
	if (err) {
		errno = -err;
		return NULL;
	}
	return fopen(path, "re");
}

ssize_t procfs_read_small(char *buf, size_t len, const char *fmt, ...)
{
	char path[PATH_MAX];
	va_list ap;
	ssize_t n;
	int fd, err;

	if (!len)
		return -EINVAL;
	va_start(ap, fmt);
	err = vpath(path, sizeof(path), fmt, ap);
	va_end(ap);
	if (err)
		return err;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	do
		n = read(fd, buf, len - 1);
	while (n < 0 && errno == EINTR);
	err = errno;
	close(fd);
	if (n < 0)
		return -err;
	buf[n] = 0;
	return n;
}

/* Whole, with read(2) into a buffer that grows: no stdio (its fstat
 * per file), one open. A /proc file's size is 0 to stat, so it is read
 * till EOF. */
int procfs_read_file(char **buf, size_t *len, const char *fmt, ...)
{
	size_t cap = 16384, n = 0;
	char path[PATH_MAX], *b = NULL, *nb;
	va_list ap;
	ssize_t k;
	int fd, err;

	*buf = NULL;
	*len = 0;
	va_start(ap, fmt);
	err = vpath(path, sizeof(path), fmt, ap);
	va_end(ap);
	if (err)
		return err;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		if (!b || n + 1 >= cap) {
			nb = realloc(b, b ? (cap *= 2) : cap);
			if (!nb) {
				err = -ENOMEM;
				break;
			}
			b = nb;
		}
		k = read(fd, b + n, cap - n - 1);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			err = -errno;
			break;
		}
		if (!k)
			break;
		n += (size_t)k;
	}
	close(fd);
	if (err) {
		free(b);
		return err;
	}
	b[n] = 0;
	*buf = b;
	*len = n;
	return 0;
}

DIR *procfs_opendir(const char *fmt, ...)
{
	char path[PATH_MAX];
	va_list ap;
	int err;

	va_start(ap, fmt);
	err = vpath(path, sizeof(path), fmt, ap);
	va_end(ap);
	if (err) {
		errno = -err;
		return NULL;
	}
	return opendir(path);
}

ssize_t procfs_readlink(char *buf, size_t len, const char *fmt, ...)
{
	char path[PATH_MAX];
	va_list ap;
	ssize_t n;
	int err;

	va_start(ap, fmt);
	err = vpath(path, sizeof(path), fmt, ap);
	va_end(ap);
	if (err)
		return err;
	n = readlink(path, buf, len - 1);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	return n;
}

int procfs_stat(struct stat *st, const char *fmt, ...)
{
	char path[PATH_MAX];
	va_list ap;
	int err;

	va_start(ap, fmt);
	err = vpath(path, sizeof(path), fmt, ap);
	va_end(ap);
	if (err)
		return err;
	return stat(path, st) ? -errno : 0;
}

ssize_t procfs_getxattr(char *buf, size_t len, const char *name, const char *fmt, ...)
{
	char path[PATH_MAX];
	va_list ap;
	ssize_t n;
	int err;

	va_start(ap, fmt);
	err = vpath(path, sizeof(path), fmt, ap);
	va_end(ap);
	if (err)
		return err;
	n = getxattr(path, name, buf, len - 1);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	return n;
}

uint64_t procfs_inode(const char *fmt, ...)
{
	char path[PATH_MAX];
	struct stat st;
	va_list ap;
	int err;

	va_start(ap, fmt);
	err = vpath(path, sizeof(path), fmt, ap);
	va_end(ap);
	if (err || stat(path, &st))
		return 0;
	return st.st_ino;
}

/* "NSpid:\t41\t7": the host's id first, the process's own last. */
static void parse_nspid(const char *val, struct bw_status *st)
{
	const char *p = val;
	char *end;
	int n = 0;

	for (;; p = end) {
		long v = strtol(p, &end, 10);

		if (end == p)
			break;
		st->ns_pid = (pid_t)v;
		n++;
	}
	st->nested = n > 1;
}

/* The kernel writes a name's LF and backslash as \n and \\ in status
 * (proc_task_name): the name as the thread set it, as comm and BPF say. */
static void unescape_name(const char *s, char *name, size_t len)
{
	size_t n = 0;

	for (; *s && n + 1 < len; s++) {
		if (s[0] == '\\' && (s[1] == 'n' || s[1] == '\\'))
			name[n++] = *++s == 'n' ? '\n' : '\\';
		else
			name[n++] = *s;
	}
	name[n] = 0;
}

int procfs_parse_status(FILE *f, struct bw_status *st)
{
	char line[256];
	bool tgid = false;

	memset(st, 0, sizeof(*st));
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "Name:\t", 6)) {
			line[strcspn(line, "\n")] = 0;
			unescape_name(line + 6, st->name, sizeof(st->name));
		} else if (!strncmp(line, "State:", 6)) {
			st->state = line[6 + strspn(line + 6, " \t")];
		} else if (sscanf(line, "Tgid:\t%d", &st->tgid) == 1) {
			tgid = true;
		} else if (!strncmp(line, "Threads:", 8)) {
			st->threads = (int)strtol(line + 8, NULL, 10);
		} else if (!strncmp(line, "Uid:", 4)) {
			sscanf(line + 4, "%u %u", &st->uid, &st->euid);
		} else if (!strncmp(line, "NSpid:", 6)) {
			parse_nspid(line + 6, st);
		}
	}
	return tgid ? 0 : -ESRCH;
}

int procfs_status(pid_t pid, pid_t tid, struct bw_status *st)
{
	FILE *f;
	int err;

	memset(st, 0, sizeof(*st));
	f = tid ? procfs_fopen("%d/task/%d/status", pid, tid) : procfs_fopen("%d/status", pid);
	if (!f)
		return -errno;
	err = procfs_parse_status(f, st);
	fclose(f);
	if (!st->ns_pid)
		st->ns_pid = tid ? tid : pid; /* before Linux 4.1: no NSpid */
	return err;
}

void procfs_comm(pid_t pid, pid_t tid, char *buf, size_t len)
{
	buf[0] = 0;
	if (procfs_read_small(buf, len, "%d/task/%d/comm", pid, tid) > 0)
		buf[strcspn(buf, "\n")] = 0;
	else
		buf[0] = 0;
	if (!buf[0])
		snprintf(buf, len, "?");
}

bool procfs_alive(pid_t pid)
{
	return !(kill(pid, 0) && errno == ESRCH);
}

/*
 * glibc stores tids as the process sees them: inside a container (a pid
 * namespace) they are not the host's. Each thread's NSpid line says
 * both.
 */
pid_t procfs_host_tid(pid_t pid, pid_t nstid)
{
	struct bw_status st;
	struct dirent *de;
	pid_t host = nstid;
	DIR *d;

	if (procfs_status(pid, 0, &st) || !st.nested)
		return nstid; /* same namespace as ours */
	d = procfs_opendir("%d/task", pid);
	if (!d)
		return nstid;
	while ((de = readdir(d))) {
		pid_t tid = (pid_t)strtol(de->d_name, NULL, 10);

		if (tid > 0 && !procfs_status(pid, tid, &st) && st.ns_pid == nstid) {
			host = tid;
			break;
		}
	}
	closedir(d);
	return host;
}

static int read_proc_mem(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = pread(fd, buf, len, (off_t)addr);
	close(fd);
	if (n < 0)
		return errno == EIO ? -EFAULT : -errno;
	return n == (ssize_t)len ? 0 : -EFAULT;
}

int procfs_read_mem(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = { buf, len }, remote = { (void *)(uintptr_t)addr, len };
	ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);

	if (n == (ssize_t)len)
		return 0;
	/* Not mapped: /proc/PID/mem cannot do better. Not allowed or not
	 * there (seccomp, old kernels): it may. */
	if (n >= 0 || errno == EFAULT)
		return -EFAULT;
	if (errno == ESRCH)
		return -ESRCH;
	return read_proc_mem(pid, addr, buf, len);
}

#define IOV_BATCH 1024

/* A process_vm_readv of up to IOV_BATCH ranges from @i: how many of
 * them it read whole (*tried: how many it was given), or -errno. */
static ssize_t readv_batch(pid_t pid, struct procfs_iov *iov, size_t i, size_t n, size_t *tried)
{
	struct iovec local[IOV_BATCH], remote[IOV_BATCH];
	size_t k, m = n - i < IOV_BATCH ? n - i : IOV_BATCH;
	ssize_t got;

	*tried = m;
	if (!m)
		return 0;
	for (k = 0; k < m; k++) {
		local[k] = (struct iovec){ iov[i + k].buf, iov[i + k].len };
		remote[k] = (struct iovec){ (void *)(uintptr_t)iov[i + k].addr, iov[i + k].len };
	}
	got = process_vm_readv(pid, local, m, remote, m, 0);
	if (got < 0)
		return -errno;
	for (k = 0; k < m && (size_t)got >= iov[i + k].len; k++) {
		iov[i + k].ok = true;
		got -= iov[i + k].len;
	}
	return k;
}

int procfs_read_many(pid_t pid, struct procfs_iov *iov, size_t n)
{
	size_t i, tried;
	ssize_t k;
	int done = 0;

	for (i = 0; i < n; i++)
		iov[i].ok = false;
	for (i = 0; i < n;) {
		k = readv_batch(pid, iov, i, n, &tried);
		/* the process as a whole: not allowed, gone */
		if (k == -EPERM || k == -ESRCH || k == -ENOSYS)
			return done ? done : (int)k;
		if (k < 0)
			k = 0; /* EFAULT: the first range is unreadable */
		done += k;
		i += k;
		/* the range that stopped it stays !ok; go on after it */
		if ((size_t)k < tried)
			i++;
	}
	return done;
}

/* Field @n of /proc/PID/stat as a number, 0 if gone. Counted after
 * "(comm)", which may hold spaces: state is field 3. */
static uint64_t stat_field(pid_t pid, int n)
{
	char line[1024], *p;
	unsigned long long v = 0;
	int field;

	/* one read(2), no stdio: this is asked once a report of every
	 * process whose stacks were named */
	if (procfs_read_small(line, sizeof(line), "%d/stat", pid) <= 0)
		return 0;
	p = strrchr(line, ')');
	for (field = 2; p && field < n; field++)
		p = strchr(p + 1, ' ');
	if (p)
		sscanf(p + 1, "%llu", &v);
	return v;
}

uint64_t procfs_starttime(pid_t pid)
{
	return stat_field(pid, 22);
}

bool procfs_kthread(pid_t pid)
{
	return stat_field(pid, 9) & PF_KTHREAD;
}

bool procfs_exited(const struct bw_status *st)
{
	return (st->state == 'Z' || st->state == 'X') && st->threads <= 1;
}

uint64_t procfs_auxv(pid_t pid, uint64_t type)
{
	uint64_t kv[2], v = 0;
	FILE *f = procfs_fopen("%d/auxv", pid);

	if (!f)
		return 0;
	while (fread(kv, sizeof(kv), 1, f) == 1 && kv[0]) {
		if (kv[0] == type) {
			v = kv[1];
			break;
		}
	}
	fclose(f);
	return v;
}
