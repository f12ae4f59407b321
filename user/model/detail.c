// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include "model/agg.h"
#include "base/bpf_abi.h"
#include "model/detail.h"
#include "proc/fdinfo.h"

#define FUTEX_CMD_MASK 0x7f
#define FUTEX_PRIVATE 128
#define FUTEX_WAIT 0
#define FUTEX_WAIT_BITSET 9
#define FUTEX_LOCK_PI 6
#define FUTEX_LOCK_PI2 13
#define MAX_FDS 64
#define COND_G_SIGNALS 40 /* offsetof(pthread_cond_t, __data.__g_signals) */

void bw_futex_op_name(uint64_t op, char *buf, size_t len)
{
	static const char *const names[] = {
		"WAIT", "WAKE", "FD", "REQUEUE", "CMP_REQUEUE", "WAKE_OP", "LOCK_PI",
		"UNLOCK_PI", "TRYLOCK_PI", "WAIT_BITSET", "WAKE_BITSET", "WAIT_REQUEUE_PI",
		"CMP_REQUEUE_PI", "LOCK_PI2",
	};
	unsigned int cmd = op & FUTEX_CMD_MASK;

	if (cmd < sizeof(names) / sizeof(names[0]))
		snprintf(buf, len, "FUTEX_%s%s", names[cmd], op & FUTEX_PRIVATE ? "_PRIVATE" : "");
	else
		snprintf(buf, len, "FUTEX_%u", cmd);
}

const char *bw_futex_kind(const struct bw_stack *st)
{
	static const struct {
		const char *prefix;
		const char *kind;
	} kinds[] = {
		{ "pthread_mutex_", "mutex" },	  { "pthread_cond_", "condvar" },
		{ "pthread_rwlock_", "rwlock" },  { "sem_", "semaphore" },
		{ "new_sem_", "semaphore" },	  { "pthread_join", "join" },
		{ "pthread_clockjoin", "join" },  { "pthread_timedjoin", "join" },
		{ "pthread_barrier_", "barrier" },
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
		for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
			if (!strncmp(name, kinds[k].prefix, strlen(kinds[k].prefix)))
				return kinds[k].kind;
	}
	return lll ? "lock" : NULL;
}

/*
 * glibc stores tids as the process sees them: inside a container (a pid
 * namespace) they are not the host's. A thread's NSpid line lists its
 * tid in each namespace, the host's first and the process's own last.
 */
static bool nspid_last(pid_t pid, const char *task, long *host, long *inner)
{
	char path[96], line[256];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%s/status", pid, task);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		char *p, *end;

		if (strncmp(line, "NSpid:", 6))
			continue;
		*host = strtol(line + 6, &end, 10);
		for (p = end, *inner = *host;; p = end) {
			long v = strtol(p, &end, 10);

			if (end == p)
				break;
			*inner = v;
		}
		found = true;
	}
	fclose(f);
	return found;
}

uint32_t host_tid(pid_t pid, uint32_t tid)
{
	char self[16];
	long host, inner;
	struct dirent *de;
	DIR *d;

	snprintf(self, sizeof(self), "%d", pid);
	if (!nspid_last(pid, self, &host, &inner) || host == inner)
		return tid; /* same namespace as ours */
	snprintf(self, sizeof(self), "/proc/%d/task", pid);
	d = opendir(self);
	if (!d)
		return tid;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (nspid_last(pid, de->d_name, &host, &inner) && inner == (long)tid) {
			closedir(d);
			return (uint32_t)host;
		}
	}
	closedir(d);
	return tid;
}

/* Its comm, or "?" once it is gone. */
static void thread_comm(pid_t pid, uint32_t tid, char *buf, size_t len)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%u/comm", pid, tid);
	buf[0] = 0;
	f = fopen(path, "re");
	if (f) {
		if (fgets(buf, len, f))
			buf[strcspn(buf, "\n")] = 0;
		fclose(f);
	}
	if (!buf[0])
		snprintf(buf, len, "?");
}

static int read_mem(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = { buf, len }, remote = { (void *)(uintptr_t)addr, len };

	return process_vm_readv(pid, &local, 1, &remote, 1, 0) == (ssize_t)len ? 0 : -EFAULT;
}

static json_object *fd_json(pid_t pid, int fd, char *text, size_t len)
{
	json_object *o = json_object_new_object();
	char target[256];

	if (fd_describe(pid, fd, target, sizeof(target)))
		snprintf(target, sizeof(target), "?");
	json_object_object_add(o, "fd", json_object_new_int(fd));
	json_object_object_add(o, "target", json_object_new_string(target));
	if (text)
		snprintf(text, len, "fd %d %s", fd, target);
	return o;
}

/* fds of several: a "fds" array and their names joined in the text. */
static void fds_detail(pid_t pid, const int *fds, int n, json_object *o, char *text, size_t len)
{
	json_object *arr = json_object_new_array();
	size_t off = strlen(text);
	int i;

	for (i = 0; i < n; i++) {
		char one[300];

		json_object_array_add(arr, fd_json(pid, fds[i], one, sizeof(one)));
		if (off < len)
			off += snprintf(text + off, len - off, "%s%s", i ? ", " : "", one);
	}
	json_object_object_add(o, "fds", arr);
}

static void futex_detail(const struct bw_wait *w, const struct bw_stack *st, struct bw_detail *d)
{
	unsigned int cmd = w->args[1] & FUTEX_CMD_MASK;
	const char *kind = bw_futex_kind(st);
	char op[32], addr[32];

	if (w->syscall_nr >= 0 && bw_syscall_name(w->syscall_nr) &&
	    !strcmp(bw_syscall_name(w->syscall_nr), "futex_waitv"))
		kind = "waitv";
	else if (!kind && (cmd == FUTEX_LOCK_PI || cmd == FUTEX_LOCK_PI2))
		kind = "pi_lock";
	if (kind && (!strcmp(kind, "mutex") || !strcmp(kind, "condvar")))
		snprintf(d->reason, sizeof(d->reason), "%s", kind);
	d->object = w->args[0];
	d->json = json_object_new_object();
	json_object_object_add(d->json, "kind", json_object_new_string(kind ? kind : "futex"));
	/* Only the wait for a signal (FUTEX_WAIT_BITSET on __g_signals) says
	 * where the pthread_cond_t is; its other futex words sit elsewhere. */
	if (kind && !strcmp(kind, "condvar") && cmd == FUTEX_WAIT_BITSET) {
		/* glibc (2.25+) waits on __g_signals[0] or [1], at offsets 40
		 * and 44 of pthread_cond_t, alternately: name the condvar. */
		d->object = (w->args[0] & ~7ULL) - COND_G_SIGNALS;
		snprintf(addr, sizeof(addr), "%#llx", (unsigned long long)d->object);
		json_object_object_add(d->json, "condvar", json_object_new_string(addr));
	}
	if (kind && !strcmp(kind, "waitv")) {
		snprintf(d->text, sizeof(d->text), "futex_waitv");
		return;
	}
	snprintf(addr, sizeof(addr), "%#llx", (unsigned long long)w->args[0]);
	bw_futex_op_name(w->args[1], op, sizeof(op));
	json_object_object_add(d->json, "futex", json_object_new_string(addr));
	json_object_object_add(d->json, "op", json_object_new_string(op));
	if (kind && !strcmp(kind, "condvar"))
		snprintf(d->text, sizeof(d->text), "condvar %#llx (futex %s %s)",
			 (unsigned long long)d->object, addr, op);
	else
		snprintf(d->text, sizeof(d->text), "%s %s %s", kind ? kind : "futex", addr, op);
	/* An owner only where the word's layout is known: a pthread
	 * mutex, or a PI futex. */
	/* Its own tid is kept: a thread relocking a default mutex it holds
	 * waits for itself, a deadlock of one. */
	if (w->owner &&
	    ((kind && !strcmp(kind, "mutex")) || cmd == FUTEX_LOCK_PI || cmd == FUTEX_LOCK_PI2)) {
		d->owner = host_tid(w->pid, w->owner);
		thread_comm(w->pid, d->owner, d->owner_comm, sizeof(d->owner_comm));
	}
}

static void poll_detail(const struct bw_wait *w, const char *name, struct bw_detail *d)
{
	int fds[MAX_FDS], n = 0;

	d->json = json_object_new_object();
	if (!strcmp(name, "poll") || !strcmp(name, "ppoll")) {
		struct pollfd pfd[MAX_FDS];
		uint64_t nfds = w->args[1] < MAX_FDS ? w->args[1] : MAX_FDS;

		if (nfds && !read_mem(w->pid, w->args[0], pfd, nfds * sizeof(*pfd)))
			for (; n < (int)nfds; n++)
				fds[n] = pfd[n].fd;
	} else {
		/* select/pselect6: nfds, readfds, writefds, exceptfds */
		unsigned long set[1024 / (8 * sizeof(unsigned long))];
		uint64_t nfds = w->args[0] < 1024 ? w->args[0] : 1024;
		size_t bytes = (nfds + 63) / 64 * 8;
		int which, fd;

		for (which = 1; which <= 2 && n < MAX_FDS; which++) {
			if (!w->args[which] || !bytes || read_mem(w->pid, w->args[which], set, bytes))
				continue;
			for (fd = 0; fd < (int)nfds && n < MAX_FDS; fd++)
				if (set[fd / 64] & (1UL << (fd % 64)))
					fds[n++] = fd;
		}
	}
	snprintf(d->text, sizeof(d->text), "%s: ", name);
	fds_detail(w->pid, fds, n, d->json, d->text, sizeof(d->text));
}

static void epoll_detail(const struct bw_wait *w, struct bw_detail *d)
{
	int fds[MAX_FDS], n, epfd = (int)w->args[0];

	d->object = epfd;
	d->json = json_object_new_object();
	json_object_object_add(d->json, "epfd", json_object_new_int(epfd));
	snprintf(d->text, sizeof(d->text), "epoll fd %d: ", epfd);
	n = epoll_fds(w->pid, epfd, fds, MAX_FDS);
	fds_detail(w->pid, fds, n > 0 ? n : 0, d->json, d->text, sizeof(d->text));
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

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
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
		for (k = 0; k < sizeof(calls) / sizeof(calls[0]); k++)
			if (strstr(name, calls[k].in))
				return bw_syscall_nr(calls[k].syscall);
	}
	return -1;
}

int bw_detail_build(const struct bw_wait *w, const struct bw_stack *st, struct bw_detail *d)
{
	const char *name = bw_syscall_name(w->syscall_nr);
	struct bw_wait restarted;

	if (name && !strcmp(name, "restart_syscall") && restarted_syscall(st) >= 0) {
		restarted = *w;
		restarted.syscall_nr = restarted_syscall(st);
		w = &restarted;
		name = bw_syscall_name(w->syscall_nr);
	}
	memset(d, 0, sizeof(*d));
	bw_reason(w->syscall_nr, w->state, d->reason, sizeof(d->reason));
	if (!name) {
		if (!strcmp(d->reason, "io")) {
			d->json = json_object_new_object();
			json_object_object_add(d->json, "syscall", NULL);
			snprintf(d->text, sizeof(d->text), "page fault or other kernel wait");
		}
		return 0;
	}
	if (!strcmp(name, "futex") || !strcmp(name, "futex_waitv")) {
		futex_detail(w, st, d);
	} else if (!strncmp(name, "epoll_", 6)) {
		epoll_detail(w, d);
	} else if (!strcmp(name, "poll") || !strcmp(name, "ppoll") || !strcmp(name, "select") ||
		   !strcmp(name, "pselect6")) {
		poll_detail(w, name, d);
	} else if (fd_syscall(name)) {
		int fd = (int)w->args[0];

		d->object = fd;
		d->json = fd_json(w->pid, fd, d->text, sizeof(d->text));
	} else if (!strcmp(name, "wait4") || !strcmp(name, "waitid")) {
		int pid = !strcmp(name, "waitid") ? (int)w->args[1] : (int)w->args[0];

		d->json = json_object_new_object();
		json_object_object_add(d->json, "pid", json_object_new_int(pid));
		snprintf(d->text, sizeof(d->text), "for pid %d", pid);
	}
	if (!strcmp(d->reason, "io")) {
		if (!d->json)
			d->json = json_object_new_object();
		json_object_object_add(d->json, "syscall", json_object_new_string(name));
		if (!d->text[0])
			snprintf(d->text, sizeof(d->text), "in %s", name);
	}
	return 0;
}

void bw_detail_clear(struct bw_detail *d)
{
	json_object_put(d->json);
	memset(d, 0, sizeof(*d));
}
