// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <linux/capability.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "base/caps.h"

#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif
#ifndef CAP_SYSLOG
#define CAP_SYSLOG 34
#endif

static uint64_t effective(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = {};

	if (syscall(SYS_capget, &hdr, data))
		return geteuid() == 0 ? ~0ULL : 0;
	return data[0].effective | (uint64_t)data[1].effective << 32;
}

bool bw_have_cap(int cap)
{
	return effective() & (1ULL << cap);
}

bool bw_have_privileges(void)
{
	uint64_t eff = effective();

	if (eff & (1ULL << CAP_SYS_ADMIN))
		return true;
	return (eff & (1ULL << CAP_BPF)) && (eff & (1ULL << CAP_PERFMON));
}

int bw_missing_caps(const char **out, int max)
{
	int n = 0;

	/* /proc/PID/maps, mem, fd of a process another user owns (or that
	 * is not dumpable) are behind ptrace access checks */
	if (!bw_have_cap(CAP_SYS_PTRACE) && n < max)
		out[n++] = "without CAP_SYS_PTRACE, other users' processes get raw addresses, "
			   "truncated stacks, unknown fds and lock owners, and no goroutine view";
	/* /proc/PID/map_files: what names a deleted or replaced binary
	 * (checkpoint_restore_ns_capable: either capability) */
	if (!bw_have_cap(CAP_SYS_ADMIN) && !bw_have_cap(CAP_CHECKPOINT_RESTORE) && n < max)
		out[n++] = "without CAP_CHECKPOINT_RESTORE (or CAP_SYS_ADMIN), binaries deleted "
			   "or replaced since they were started cannot be read for symbols";
	/* /proc/kallsyms addresses are zeros without it (kptr_restrict) */
	if (!bw_have_cap(CAP_SYSLOG) && n < max)
		out[n++] = "without CAP_SYSLOG, kernel stacks (-K) are not named";
	return n;
}
