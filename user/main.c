// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* blockwatch: which threads are blocked, for how long, on what, where. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include "base/log.h"
#include "cli/cli.h"
#include "session/session.h"

/*
 * A closed fd 0, 1 or 2 would be taken by the next file opened: a pidfd
 * or the JSON output as stderr, and every message lands there. Each one
 * closed gets /dev/null. Returns which were closed (bit n: fd n), or
 * -errno.
 */
static int guard_std_fds(void)
{
	int fd, nfd, closed = 0;

	for (fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		closed |= 1 << fd;
		/* the lowest free fd: @fd itself, those below are open */
		nfd = open("/dev/null", fd ? O_WRONLY : O_RDONLY);
		if (nfd < 0)
			return -errno;
		if (nfd != fd) {
			dup2(nfd, fd);
			close(nfd);
		}
	}
	return closed;
}

/* A report for stdout when it was closed would vanish into /dev/null. */
static int check_stdout(const struct bw_opts *o, int closed)
{
	int i;

	if (!(closed & (1 << STDOUT_FILENO)))
		return 0;
	for (i = 0; i < o->nsinks; i++)
		if (!o->sinks[i].path) {
			bw_err("cannot open output 'stdout': it is closed (give the report "
			       "a file: -o FILE or -f %s:FILE)", o->sinks[i].format);
			return -EBADF;
		}
	return 0;
}

/* One Dwfl per process keeps its ELF and debug files open: system-wide,
 * the default 1024 fds run out. */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int main(int argc, char **argv)
{
	struct bw_opts opts;
	int closed, ret;

	closed = guard_std_fds();
	if (closed < 0) {
		bw_err("cannot open /dev/null: %s", strerror(-closed));
		return BW_EXIT_FAIL;
	}
	ret = bw_cli_parse(argc, argv, &opts);
	if (ret) {
		bw_opts_free(&opts);
		return ret > 0 ? BW_EXIT_OK : BW_EXIT_USAGE;
	}
	if (check_stdout(&opts, closed)) {
		bw_opts_free(&opts);
		return BW_EXIT_FAIL;
	}
	bw_verbose = opts.verbose;
	raise_fd_limit();
	ret = bw_session_run(&opts);
	bw_opts_free(&opts);
	return ret;
}
