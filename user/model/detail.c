// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/bpf_abi.h"
#include "base/util.h"
#include "model/detail.h"
#include "proc/fdinfo.h"
#include "stacks/stacktab.h"

#define FUTEX_CMD_MASK 0x7f
#define FUTEX_PRIVATE 128
#define FUTEX_WAIT_BITSET 9
#define FUTEX_LOCK_PI 6
#define FUTEX_LOCK_PI2 13
#define MAX_FDS 64
#define COND_G_SIGNALS 40 /* offsetof(pthread_cond_t, __data.__g_signals) */

static const char *const futex_kind_names[BW_FUTEX_KIND_MAX] = {
	[BW_FUTEX_PLAIN] = "futex",	    [BW_FUTEX_MUTEX] = "mutex",
	[BW_FUTEX_CONDVAR] = "condvar",	    [BW_FUTEX_RWLOCK] = "rwlock",
	[BW_FUTEX_SEMAPHORE] = "semaphore", [BW_FUTEX_JOIN] = "join",
	[BW_FUTEX_BARRIER] = "barrier",	    [BW_FUTEX_LOCK] = "lock",
	[BW_FUTEX_PI_LOCK] = "pi_lock",	    [BW_FUTEX_WAITV] = "waitv",
};

const char *bw_futex_kind_name(enum bw_futex_kind k)
{
	return k < BW_FUTEX_KIND_MAX ? futex_kind_names[k] : "futex";
}

void bw_futex_op_name(uint64_t op, char *buf, size_t len)
{
	static const char *const names[] = {
		"WAIT", "WAKE", "FD", "REQUEUE", "CMP_REQUEUE", "WAKE_OP", "LOCK_PI",
		"UNLOCK_PI", "TRYLOCK_PI", "WAIT_BITSET", "WAKE_BITSET", "WAIT_REQUEUE_PI",
		"CMP_REQUEUE_PI", "LOCK_PI2",
	};
	unsigned int cmd = op & FUTEX_CMD_MASK;

	if (cmd < BW_ARRAY_SIZE(names))
		snprintf(buf, len, "FUTEX_%s%s", names[cmd], op & FUTEX_PRIVATE ? "_PRIVATE" : "");
	else
		snprintf(buf, len, "FUTEX_%u", cmd);
}

enum bw_futex_kind bw_futex_kind(const struct bw_stack *st)
{
	static const struct {
		const char *prefix;
		enum bw_futex_kind kind;
	} kinds[] = {
		{ "pthread_mutex_", BW_FUTEX_MUTEX },	 { "pthread_cond_", BW_FUTEX_CONDVAR },
		{ "pthread_rwlock_", BW_FUTEX_RWLOCK },	 { "sem_", BW_FUTEX_SEMAPHORE },
		{ "new_sem_", BW_FUTEX_SEMAPHORE },	 { "pthread_join", BW_FUTEX_JOIN },
		{ "pthread_clockjoin", BW_FUTEX_JOIN },	 { "pthread_timedjoin", BW_FUTEX_JOIN },
		{ "pthread_barrier_", BW_FUTEX_BARRIER },
	};
	bool lll = false;
	uint32_t i;
	size_t k;

	/* The innermost pthread function on the stack says what it is;
	 * glibc's __lll_lock_wait sits below pthread_mutex_lock and its
	 * internal locks alike. */
	for (i = 0; st && i < st->nframes && i < 12; i++) {
		const char *name = st->frames[i].symbol;

		if (!name)
			continue;
		while (*name == '_')
			name++;
		if (!strncmp(name, "lll_lock_wait", 13)) {
			lll = true;
			continue;
		}
		for (k = 0; k < BW_ARRAY_SIZE(kinds); k++)
			if (!strncmp(name, kinds[k].prefix, strlen(kinds[k].prefix)))
				return kinds[k].kind;
	}
	return lll ? BW_FUTEX_LOCK : BW_FUTEX_PLAIN;
}

static bool is_mutex_wait(const struct bw_wait *w, enum bw_futex_kind kind)
{
	unsigned int cmd = w->args[1] & FUTEX_CMD_MASK;

	return kind == BW_FUTEX_MUTEX || cmd == FUTEX_LOCK_PI || cmd == FUTEX_LOCK_PI2;
}

static void futex_detail(const struct bw_wait *w, const struct bw_stack *st,
			 struct bw_wait_info *out)
{
	unsigned int cmd = w->args[1] & FUTEX_CMD_MASK;
	const char *name = bw_syscall_name(w->syscall_nr);
	enum bw_futex_kind kind = bw_futex_kind(st);
	struct bw_detail *d = &out->detail;

	if (name && !strcmp(name, "futex_waitv"))
		kind = BW_FUTEX_WAITV;
	else if (kind == BW_FUTEX_PLAIN && (cmd == FUTEX_LOCK_PI || cmd == FUTEX_LOCK_PI2))
		kind = BW_FUTEX_PI_LOCK;
	if (kind == BW_FUTEX_MUTEX || kind == BW_FUTEX_CONDVAR)
		snprintf(out->reason, sizeof(out->reason), "%s", bw_futex_kind_name(kind));
	d->kind = BW_DETAIL_FUTEX;
	d->futex.kind = kind;
	d->futex.addr = w->args[0];
	d->futex.op = w->args[1];
	out->object = w->args[0];
	/* Only the wait for a signal (FUTEX_WAIT_BITSET on __g_signals) says
	 * where the pthread_cond_t is: glibc (2.25+) waits on __g_signals[0]
	 * or [1], at offsets 40 and 44, alternately. */
	if (kind == BW_FUTEX_CONDVAR && cmd == FUTEX_WAIT_BITSET) {
		d->futex.condvar = (w->args[0] & ~7ULL) - COND_G_SIGNALS;
		out->object = d->futex.condvar;
	}
	/* An owner only where the word's layout is known: a pthread mutex,
	 * or a PI futex. Its own tid is kept: a thread relocking a default
	 * mutex it holds waits for itself, a deadlock of one. */
	if (kind != BW_FUTEX_WAITV && w->owner && is_mutex_wait(w, kind)) {
		out->owner = procfs_host_tid(w->pid, w->owner);
		procfs_comm(w->pid, out->owner, out->owner_comm, sizeof(out->owner_comm));
	}
}

/* @fds: the members' files where known (an epoll set's), else 0 */
static int fd_refs(pid_t pid, struct fdinfo *fi, const struct fdinfo_member *fds, int n,
		   struct bw_detail *d)
{
	char target[256];
	int i;

	d->set.fds = calloc(n ? n : 1, sizeof(*d->set.fds));
	if (!d->set.fds)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		d->set.fds[i].fd = fds[i].fd;
		if (!fdinfo__describe_file(fi, pid, fds[i].fd, fds[i].ino, fds[i].kdev, target,
					   sizeof(target)))
			d->set.fds[i].target = strdup(target);
		d->set.n++;
	}
	return 0;
}

/* The fds a poll or select waits on, read from the process's memory. */
static int set_fds(const struct bw_wait *w, const char *name, struct fdinfo_member *fds)
{
	unsigned long set[1024 / (8 * sizeof(unsigned long))];
	int n = 0, which, fd;
	uint64_t nfds;
	size_t bytes;

	if (!strcmp(name, "poll") || !strcmp(name, "ppoll")) {
		struct pollfd pfd[MAX_FDS];

		nfds = w->args[1] < MAX_FDS ? w->args[1] : MAX_FDS;
		if (nfds && !procfs_read_mem(w->pid, w->args[0], pfd, nfds * sizeof(*pfd)))
			for (; n < (int)nfds; n++)
				fds[n] = (struct fdinfo_member){ .fd = pfd[n].fd };
		return n;
	}
	/* select/pselect6: nfds, readfds, writefds, exceptfds */
	nfds = w->args[0] < 1024 ? w->args[0] : 1024;
	bytes = (nfds + 63) / 64 * 8;
	for (which = 1; which <= 2 && n < MAX_FDS; which++) {
		if (!w->args[which] || !bytes ||
		    procfs_read_mem(w->pid, w->args[which], set, bytes))
			continue;
		for (fd = 0; fd < (int)nfds && n < MAX_FDS; fd++)
			if (set[fd / 64] & (1UL << (fd % 64)))
				fds[n++] = (struct fdinfo_member){ .fd = fd };
	}
	return n;
}

static bool fd_syscall(const char *name)
{
	static const char *const names[] = {
		"read", "readv", "pread64", "preadv", "preadv2", "recvfrom", "recvmsg",
		"recvmmsg", "accept", "accept4", "write", "writev", "pwrite64", "pwritev",
		"pwritev2", "sendto", "sendmsg", "sendmmsg", "connect", "fsync", "fdatasync",
		"flock", "fcntl", "ioctl", "splice", "sendfile", "copy_file_range",
	};
	size_t i;

	for (i = 0; i < BW_ARRAY_SIZE(names); i++)
		if (!strcmp(name, names[i]))
			return true;
	return false;
}

/*
 * A timed wait interrupted by a stop (SIGSTOP, ptrace, the freezer)
 * goes on in restart_syscall, with the user registers of the original
 * call: the innermost user function names that call again.
 */
static int64_t restarted_syscall(const struct bw_stack *st)
{
	static const struct {
		const char *in;
		const char *syscall;
	} calls[] = {
		{ "nanosleep", "clock_nanosleep" }, { "futex", "futex" },
		{ "lll_lock", "futex" },	    { "pthread_", "futex" },
		{ "sem_", "futex" },		    { "ppoll", "ppoll" },
		{ "poll", "poll" },		    { "select", "pselect6" },
		{ "epoll", "epoll_wait" },
	};
	uint32_t i;
	size_t k;

	for (i = 0; st && i < st->nframes && i < 4; i++) {
		const char *name = st->frames[i].symbol;

		if (!name || st->frames[i].kernel)
			continue;
		for (k = 0; k < BW_ARRAY_SIZE(calls); k++)
			if (strstr(name, calls[k].in))
				return bw_syscall_nr(calls[k].syscall);
	}
	return -1;
}

static int fd_detail(const struct bw_wait *w, const char *name, struct fdinfo *fi,
		     struct bw_wait_info *out)
{
	struct bw_detail *d = &out->detail;
	struct fdinfo_member fds[MAX_FDS];
	int n;
	char target[256];

	if (!strncmp(name, "epoll_", 6)) {
		d->kind = BW_DETAIL_EPOLL;
		d->set.epfd = (int)w->args[0];
		out->object = d->set.epfd;
		n = fdinfo__epoll_fds(fi, w->pid, d->set.epfd, fds, MAX_FDS);
		return fd_refs(w->pid, fi, fds, n > 0 ? n : 0, d);
	}
	if (!strcmp(name, "poll") || !strcmp(name, "ppoll") || !strcmp(name, "select") ||
	    !strcmp(name, "pselect6")) {
		d->kind = BW_DETAIL_FDSET;
		d->set.call = name;
		return fd_refs(w->pid, fi, fds, set_fds(w, name, fds), d);
	}
	if (fd_syscall(name)) {
		d->kind = BW_DETAIL_FD;
		d->fd.fd = (int)w->args[0];
		out->object = d->fd.fd;
		if (!fdinfo__describe_file(fi, w->pid, d->fd.fd, w->fd_ino, w->fd_dev, target,
					   sizeof(target)) &&
		    !(d->fd.target = strdup(target)))
			return -ENOMEM;
	}
	return 0;
}

int bw_wait_describe(const struct bw_wait *w, const struct bw_stack *st, struct fdinfo *fi,
		     struct bw_wait_info *out)
{
	const char *name = bw_syscall_name(w->syscall_nr);
	struct bw_wait restarted;
	int err = 0;

	if (name && !strcmp(name, "restart_syscall") && restarted_syscall(st) >= 0) {
		restarted = *w;
		restarted.syscall_nr = restarted_syscall(st);
		w = &restarted;
		name = bw_syscall_name(w->syscall_nr);
	}
	memset(out, 0, sizeof(*out));
	bw_reason(w->syscall_nr, w->state, out->reason, sizeof(out->reason));
	out->detail.io = !strcmp(out->reason, "io");
	out->detail.syscall = name;
	if (!name)
		return 0;
	if (!strcmp(name, "futex") || !strcmp(name, "futex_waitv")) {
		futex_detail(w, st, out);
	} else if (!strcmp(name, "wait4") || !strcmp(name, "waitid")) {
		out->detail.kind = BW_DETAIL_CHILD;
		out->detail.child.pid = !strcmp(name, "waitid") ? (int)w->args[1] : (int)w->args[0];
	} else {
		err = fd_detail(w, name, fi, out);
	}
	if (err)
		bw_detail_clear(&out->detail);
	return err;
}

void bw_detail_clear(struct bw_detail *d)
{
	uint32_t i;

	if (d->kind == BW_DETAIL_FD)
		free(d->fd.target);
	if (d->kind == BW_DETAIL_FDSET || d->kind == BW_DETAIL_EPOLL) {
		for (i = 0; i < d->set.n; i++)
			free(d->set.fds[i].target);
		free(d->set.fds);
	}
	memset(d, 0, sizeof(*d));
}

void bw_detail_move(struct bw_detail *dst, struct bw_detail *src)
{
	*dst = *src;
	memset(src, 0, sizeof(*src));
}
