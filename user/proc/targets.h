/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_TARGETS_H
#define BW_TARGETS_H

#include <stdbool.h>
#include <sys/types.h>
#include "proc/procfs.h"

/* A -p target: its pidfd polls readable once the process has exited. */
struct bw_target {
	pid_t pid;
	int pidfd; /* -1: before Linux 5.3, poll with bw_target_gone */
	bool exited;
	char comm[BW_COMM_MAX];
};

/* Check that every PID exists and can be traced (not exited, not
 * blockwatch, not a kernel thread); a thread id is taken for its
 * process. Logs and returns an enum bw_exit code on failure. Fills @t
 * (caller allocates npids entries) and may rewrite pids[] to thread
 * group ids. */
int bw_targets_open(pid_t *pids, int npids, struct bw_target *t);
void bw_targets_close(struct bw_target *t, int n);
/* Without a pidfd: is it gone? (gone from /proc, or exited: a zombie
 * whose threads are all gone) */
bool bw_target_gone(const struct bw_target *t);

#endif
