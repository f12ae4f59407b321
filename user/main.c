// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* blockwatch: which threads are blocked, for how long, on what, where. */
#include <sys/resource.h>
#include "base/log.h"
#include "cli/cli.h"
#include "session/session.h"

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
	int ret;

	ret = bw_cli_parse(argc, argv, &opts);
	if (ret) {
		bw_opts_free(&opts);
		return ret > 0 ? BW_EXIT_OK : BW_EXIT_USAGE;
	}
	bw_verbose = opts.verbose;
	raise_fd_limit();
	ret = bw_session_run(&opts);
	bw_opts_free(&opts);
	return ret;
}
