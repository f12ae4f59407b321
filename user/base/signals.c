// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <signal.h>
#include <time.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include "base/signals.h"

static void stop_set(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
}

/* The stop signals and SIGUSR1 (write the whole-run outputs). */
static void all_set(sigset_t *set)
{
	stop_set(set);
	sigaddset(set, SIGUSR1);
}

void bw_signals_defer(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
}

int bw_signals_open(void)
{
	sigset_t set;
	int fd;

	signal(SIGPIPE, SIG_IGN);
	all_set(&set);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		return -errno;
	fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (fd < 0) {
		int err = -errno;

		sigprocmask(SIG_UNBLOCK, &set, NULL);
		return err;
	}
	return fd;
}

int bw_signals_take(int fd)
{
	struct signalfd_siginfo si;
	sigset_t set;

	if (read(fd, &si, sizeof(si)) != sizeof(si))
		return 0;
	if (si.ssi_signo == SIGHUP)
		return SIGHUP; /* a reload (or a stop): the caller decides */
	if (si.ssi_signo == SIGUSR1) /* not a stop: it stays blocked */
		return SIGUSR1;
	stop_set(&set);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	return (int)si.ssi_signo;
}

int bw_signals_close(int fd)
{
	struct timespec zero = { 0, 0 };
	sigset_t set;
	int sig = 0, ret;

	if (fd < 0)
		return 0;
	close(fd);
	/* A SIGUSR1 from here on would kill: the final write comes anyway */
	signal(SIGUSR1, SIG_IGN);
	all_set(&set);
	/* One that came while still blocked (during the final report, the
	 * loop having ended for another reason) is taken, not delivered:
	 * it would kill the process before its outputs are closed. */
	while ((ret = sigtimedwait(&set, NULL, &zero)) > 0)
		if (ret != SIGUSR1)
			sig = SIGINT;
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	return sig;
}

void bw_signals_unblock(void)
{
	sigset_t set;

	stop_set(&set);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
}
