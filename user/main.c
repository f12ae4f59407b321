// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* blockwatch: which threads are blocked, for how long, on what, where. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include "cli/cli.h"
#include "trace/loader.h"
#include "base/log.h"
#include "session/session.h"
#include "stacks/syms.h"
#include "proc/targets.h"

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
	struct bw_target *targets = NULL;
	struct bw_loader *loader = NULL;
	struct bw_opts opts;
	FILE *out = stdout;
	int ret;

	ret = bw_cli_parse(argc, argv, &opts);
	if (ret)
		return ret > 0 ? BW_EXIT_OK : BW_EXIT_USAGE;
	bw_verbose = opts.verbose;
	raise_fd_limit();
	if (opts.debuginfo_path)
		syms__set_debuginfo_path(opts.debuginfo_path);

	if (!bw_have_privileges()) {
		bw_err("permission denied: run as root (or with CAP_BPF and CAP_PERFMON)");
		ret = BW_EXIT_PERM;
		goto cleanup;
	}
	targets = calloc(opts.npids ? opts.npids : 1, sizeof(*targets));
	if (!targets) {
		bw_err("out of memory");
		ret = BW_EXIT_FAIL;
		goto cleanup;
	}
	ret = bw_targets_open(opts.pids, opts.npids, targets);
	if (ret)
		goto cleanup;
	if (opts.output) {
		out = fopen(opts.output, "we");
		if (!out) {
			bw_err("cannot open output '%s': %s", opts.output, strerror(errno));
			ret = BW_EXIT_FAIL;
			goto cleanup;
		}
	}
	ret = bw_loader__new(&opts, &loader);
	if (ret)
		goto cleanup;
	ret = bw_session_run(&opts, loader, targets, opts.npids, out);

cleanup:
	bw_loader__free(loader);
	if (out && out != stdout && fclose(out) && !ret) {
		bw_err("cannot write '%s': %s", opts.output, strerror(errno));
		ret = BW_EXIT_FAIL;
	}
	if (targets)
		bw_targets_close(targets, opts.npids);
	free(targets);
	bw_opts_free(&opts);
	return ret;
}
