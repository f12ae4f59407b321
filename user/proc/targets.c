// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "base/log.h"
#include "proc/targets.h"

#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

static int read_tgid(pid_t pid, pid_t *tgid, char *comm, size_t len)
{
	char path[64], line[256];
	FILE *f;
	int found = 0;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "Name:\t", 6)) {
			line[strcspn(line, "\n")] = 0;
			snprintf(comm, len, "%.15s", line + 6);
		} else if (sscanf(line, "Tgid:\t%d", tgid) == 1) {
			found = 1;
		}
	}
	fclose(f);
	return found ? 0 : -ESRCH;
}

int bw_targets_open(pid_t *pids, int npids, struct bw_target *t)
{
	int i;

	for (i = 0; i < npids; i++) {
		pid_t tgid;

		t[i].pidfd = -1;
		if (read_tgid(pids[i], &tgid, t[i].comm, sizeof(t[i].comm))) {
			bw_err("no such process: '%d'", pids[i]);
			bw_targets_close(t, i);
			return BW_EXIT_NOPROC;
		}
		if (tgid != pids[i])
			bw_dbg("%d is a thread of process %d: tracing the process", pids[i], tgid);
		pids[i] = tgid;
		t[i].pid = tgid;
		t[i].pidfd = syscall(SYS_pidfd_open, tgid, 0);
		if (t[i].pidfd < 0 && errno == ENOSYS)
			continue; /* before Linux 5.3: the session polls instead */
		if (t[i].pidfd < 0) {
			int err = errno;

			bw_targets_close(t, i);
			if (err == ESRCH) {
				bw_err("no such process: '%d'", tgid);
				return BW_EXIT_NOPROC;
			}
			bw_err("cannot watch process %d: %s", tgid, strerror(err));
			return BW_EXIT_FAIL;
		}
	}
	return 0;
}

void bw_targets_close(struct bw_target *t, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		if (t[i].pidfd >= 0)
			close(t[i].pidfd);
		t[i].pidfd = -1;
	}
}

bool bw_target_gone(const struct bw_target *t)
{
	char path[64], line[256];
	bool gone = true;
	FILE *f;

	if (kill(t->pid, 0) && errno == ESRCH)
		return true;
	snprintf(path, sizeof(path), "/proc/%d/status", t->pid);
	f = fopen(path, "re");
	if (!f)
		return true;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "State:", 6)) {
			gone = strchr(line, 'Z') || strchr(line, 'X');
			break;
		}
	}
	fclose(f);
	return gone;
}

bool bw_have_privileges(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = {};
	uint64_t eff;

	if (syscall(SYS_capget, &hdr, data))
		return geteuid() == 0;
	eff = data[0].effective | (uint64_t)data[1].effective << 32;
	if (eff & (1ULL << CAP_SYS_ADMIN))
		return true;
	return (eff & (1ULL << CAP_BPF)) && (eff & (1ULL << CAP_PERFMON));
}
