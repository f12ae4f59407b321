// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <stdio.h>
#include <string.h>
#include "base/bpf_abi.h"
#include "model/reason.h"

static const char *const syscall_names[] = {
#include "syscall_names.h"
};

const char *bw_syscall_name(int64_t nr)
{
	if (nr < 0 || (uint64_t)nr >= sizeof(syscall_names) / sizeof(syscall_names[0]))
		return NULL;
	return syscall_names[nr];
}

int64_t bw_syscall_nr(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(syscall_names) / sizeof(syscall_names[0]); i++)
		if (syscall_names[i] && !strcmp(syscall_names[i], name))
			return i;
	return -1;
}

static const struct {
	const char *syscall;
	const char *reason;
} reasons[] = {
	{ "futex", "futex" },	      { "futex_waitv", "futex" },
	{ "epoll_wait", "epoll" },    { "epoll_pwait", "epoll" },
	{ "epoll_pwait2", "epoll" },  { "poll", "poll" },
	{ "ppoll", "poll" },	      { "select", "poll" },
	{ "pselect6", "poll" },	      { "read", "read" },
	{ "readv", "read" },	      { "pread64", "read" },
	{ "preadv", "read" },	      { "preadv2", "read" },
	{ "recvfrom", "read" },	      { "recvmsg", "read" },
	{ "recvmmsg", "read" },	      { "nanosleep", "sleep" },
	{ "clock_nanosleep", "sleep" }, { "accept", "accept" },
	{ "accept4", "accept" },      { "write", "write" },
	{ "writev", "write" },	      { "pwrite64", "write" },
	{ "pwritev", "write" },	      { "pwritev2", "write" },
	{ "sendto", "write" },	      { "sendmsg", "write" },
	{ "sendmmsg", "write" },      { "connect", "connect" },
	{ "wait4", "wait" },	      { "waitid", "wait" },
};

void bw_reason(int64_t syscall_nr, uint32_t state, char *buf, size_t len)
{
	const char *name;
	size_t i;

	/* D state without TASK_NOLOAD: disk or page-fault I/O, whatever
	 * the syscall. */
	if ((state & BW_TASK_UNINTERRUPTIBLE) && !(state & BW_TASK_NOLOAD)) {
		snprintf(buf, len, "io");
		return;
	}
	if (state & (BW_TASK_STOPPED | BW_TASK_TRACED)) {
		snprintf(buf, len, "stopped");
		return;
	}
	if (syscall_nr < 0) {
		snprintf(buf, len, "other:none");
		return;
	}
	name = bw_syscall_name(syscall_nr);
	if (!name) {
		snprintf(buf, len, "other:syscall_%lld", (long long)syscall_nr);
		return;
	}
	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
		if (!strcmp(name, reasons[i].syscall)) {
			snprintf(buf, len, "%s", reasons[i].reason);
			return;
		}
	}
	snprintf(buf, len, "other:%s", name);
}
