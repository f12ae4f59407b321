// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "base/log.h"
#include "proc/targets.h"

/*
 * What -p cannot trace would give an empty report and exit 0: an exited
 * process (a zombie) is no such process; blockwatch itself (the BPF side
 * skips its own threads) and a kernel thread (no user space, skipped
 * too) cannot be traced at all, a usage error. 0 or an enum bw_exit.
 */
static int untraceable(pid_t asked, const struct bw_status *st)
{
	if (procfs_exited(st)) {
		bw_err("no such process: '%d' (%s) has exited (a zombie)", asked, st->name);
		return BW_EXIT_NOPROC;
	}
	if (st->tgid == getpid()) {
		bw_err("cannot trace '%d': that is blockwatch itself", asked);
		return BW_EXIT_USAGE;
	}
	if (procfs_kthread(st->tgid)) {
		bw_err("cannot trace '%d' (%s): a kernel thread, nothing in user space to trace",
		       asked, st->name);
		return BW_EXIT_USAGE;
	}
	return 0;
}

int bw_targets_open(pid_t *pids, int npids, struct bw_target *t)
{
	struct bw_status st;
	int i, ret;

	for (i = 0; i < npids; i++) {
		t[i].pidfd = -1;
		if (procfs_status(pids[i], 0, &st)) {
			bw_err("no such process: '%d'", pids[i]);
			bw_targets_close(t, i);
			return BW_EXIT_NOPROC;
		}
		ret = untraceable(pids[i], &st);
		if (ret) {
			bw_targets_close(t, i);
			return ret;
		}
		if (st.tgid != pids[i])
			bw_dbg("%d is a thread of process %d: tracing the process", pids[i], st.tgid);
		snprintf(t[i].comm, sizeof(t[i].comm), "%s", st.name);
		pids[i] = st.tgid;
		t[i].pid = st.tgid;
		t[i].pidfd = syscall(SYS_pidfd_open, st.tgid, 0);
		if (t[i].pidfd < 0 && errno == ENOSYS)
			continue; /* before Linux 5.3: the session polls instead */
		if (t[i].pidfd < 0) {
			int err = errno;

			bw_targets_close(t, i);
			if (err == ESRCH) {
				bw_err("no such process: '%d'", st.tgid);
				return BW_EXIT_NOPROC;
			}
			bw_err("cannot watch process %d: %s", st.tgid, strerror(err));
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
	struct bw_status st;

	return !procfs_alive(t->pid) || procfs_status(t->pid, 0, &st) || procfs_exited(&st);
}
