// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * SIGHUP: the options file read again (the one the service's
 * EnvironmentFile= reads: a BLOCKWATCH_OPTS="..." line), parsed as the
 * command line is, and what can change without detaching applied. The
 * counters, the BPF programs and the metrics' series go on.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/log.h"
#include "cli/cli.h"
#include "model/ingest.h"
#include "proc/targets.h"
#include "report/fmt.h"
#include "session/serve.h"
#include "session/session.h"
#include "stacks/syms.h"
#include "trace/loader.h"

#define MAX_WORDS 64
#define MAX_FILE (64 << 10)

/* The value of the file's BLOCKWATCH_OPTS= line, unquoted, in @buf. */
static int read_opts(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	char line[4096];
	size_t total = 0;
	int found = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f) && (total += strlen(line)) < MAX_FILE) {
		char *v = line + strspn(line, " \t"), *end;

		if (strncmp(v, "BLOCKWATCH_OPTS=", 16))
			continue;
		v += 16;
		v[strcspn(v, "\n")] = 0;
		if (*v == '"' || *v == '\'') {
			end = strrchr(v + 1, *v);
			if (!end || end[1]) {
				found = -EINVAL;
				break;
			}
			*end = 0;
			v++;
		}
		snprintf(buf, len, "%s", v);
		found = 0;
	}
	fclose(f);
	return found;
}

static int split(char *s, char **argv, int max)
{
	int n = 0;

	argv[n++] = "blockwatch";
	for (s = strtok(s, " \t"); s; s = strtok(NULL, " \t")) {
		if (n == max)
			return -E2BIG;
		argv[n++] = s;
	}
	return n;
}

static bool same_str(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

/* The first option that differs and cannot change while tracing. */
static const char *fixed_change(const struct bw_opts *a, const struct bw_opts *b)
{
	int i;

	if (a->nsinks != b->nsinks)
		return "-f/-o";
	for (i = 0; i < a->nsinks; i++)
		if (!same_str(a->sinks[i].format, b->sinks[i].format) ||
		    !same_str(a->sinks[i].path, b->sinks[i].path))
			return "-f/-o";
	if (!same_str(a->metrics, b->metrics))
		return "--metrics";
	if (a->log_events != b->log_events)
		return "--log-events";
	if (a->duration_ns != b->duration_ns)
		return "-d";
	if (a->kernel_stacks != b->kernel_stacks || a->stack_size != b->stack_size)
		return "-K/--stack-size";
	if (a->ringbuf_size != b->ringbuf_size)
		return "--ringbuf-size";
	if (a->force_raw_tp != b->force_raw_tp || a->syscall_exit != b->syscall_exit ||
	    !same_str(a->btf_path, b->btf_path))
		return "--force-raw-tp/--syscall-exit/--btf";
	if (!same_str(a->debuginfo_path, b->debuginfo_path))
		return "--debuginfo-path";
	if (!same_str(a->debug_cache, b->debug_cache))
		return "--debug-cache";
	if (a->no_lines != b->no_lines)
		return "--no-lines";
	return NULL;
}

/* Every pid of @a is in @b. */
static bool within(const pid_t *a, int na, const pid_t *b, int nb)
{
	int i, j;

	for (i = 0; i < na; i++) {
		for (j = 0; j < nb && b[j] != a[i]; j++)
			;
		if (j == nb)
			return false;
	}
	return true;
}

static bool same_set(const pid_t *a, int na, const pid_t *b, int nb)
{
	return within(a, na, b, nb) && within(b, nb, a, na);
}

/*
 * Another -p list, or none (all processes) for one, or one for none:
 * its processes checked as at the start (each one there, not exited,
 * not a kernel thread), then the BPF side's targets swapped (loaded
 * with --config, it filters by a variable, not a constant). A list that
 * cannot be traced changes nothing. Returns whether the targets
 * changed.
 */
static bool retarget(struct session *s, const struct bw_opts *n)
{
	struct bw_opts *o = &s->opts;
	pid_t *pids, *asked = NULL;
	struct bw_target *t;
	int i, err;

	/* the list as it was asked for: a thread id stands for its
	 * process in o->pids */
	if (same_set(n->pids, n->npids, s->asked, s->nasked))
		return false;
	pids = malloc((n->npids ? n->npids : 1) * sizeof(*pids));
	asked = malloc((n->npids ? n->npids : 1) * sizeof(*asked));
	t = calloc(n->npids ? n->npids : 1, sizeof(*t));
	if (!pids || !asked || !t) {
		bw_err("SIGHUP: out of memory; -p stays as it was");
		goto fail;
	}
	if (n->npids) {
		memcpy(pids, n->pids, n->npids * sizeof(*pids));
		memcpy(asked, n->pids, n->npids * sizeof(*asked));
	}
	if (bw_targets_open(pids, n->npids, t)) { /* said which one */
		bw_err("SIGHUP: '%s': the new -p cannot be traced; -p stays as it was",
		       o->config);
		goto fail;
	}
	if (same_set(pids, n->npids, o->pids, o->npids)) {
		bw_targets_close(t, n->npids);
		goto fail;
	}
	err = bw_loader__set_targets(s->loader, pids, n->npids);
	if (err == -EINVAL && !o->npids != !n->npids) {
		/* loaded without --config: the filter is a constant */
		bw_err("SIGHUP: '%s' changes -p between all processes and a list, which only a "
		       "restart changes; not changed", o->config);
		bw_targets_close(t, n->npids);
		goto fail;
	}
	if (err) {
		bw_err("SIGHUP: cannot change the traced processes: %s; -p stays as it was",
		       strerror(-err));
		/* what was added goes again */
		bw_loader__set_targets(s->loader, o->pids, o->npids);
		bw_targets_close(t, n->npids);
		goto fail;
	}
	s->old_targets = s->targets;
	s->old_ntargets = s->ntargets;
	s->targets = t;
	s->ntargets = n->npids;
	free(s->pids);
	s->pids = pids;
	free(s->asked);
	s->asked = asked;
	s->nasked = n->npids;
	o->pids = pids;
	o->npids = n->npids;
	/* their mappings are read while they surely live */
	for (i = 0; i < s->ntargets; i++)
		syms__prepare(s->in->syms, t[i].pid);
	return true;
fail:
	free(pids);
	free(asked);
	free(t);
	return false;
}

void session_retire_targets(struct session *s)
{
	if (s->old_targets)
		bw_targets_close(s->old_targets, s->old_ntargets);
	free(s->old_targets);
	s->old_targets = NULL;
	s->old_ntargets = 0;
}

static void apply(struct session *s, const struct bw_opts *n)
{
	struct bw_opts *o = &s->opts;

	if (n->threshold_ns != o->threshold_ns) {
		bw_loader__set_threshold(s->loader, n->threshold_ns);
		s->in->threshold_ns = n->threshold_ns;
		o->threshold_ns = n->threshold_ns;
	}
	o->interval_ns = n->interval_ns;
	o->top = n->top;
	o->frames = n->frames;
	s->sink_cfg.frames = n->frames;
	if (n->metrics_top != o->metrics_top) {
		o->metrics_top = n->metrics_top;
		serve_set_top(s->serve, n->metrics_top);
	}
}

unsigned session_reload(struct session *s)
{
	const struct bw_opts *o = s->o;
	char text[4096], *argv[MAX_WORDS], th[16], iv[16];
	struct bw_opts n;
	const char *fixed;
	uint64_t interval = o->interval_ns;
	unsigned changed = 0;
	int argc, err;

	err = read_opts(o->config, text, sizeof(text));
	if (err) {
		bw_err("SIGHUP: cannot read BLOCKWATCH_OPTS from '%s': %s; the options stay as "
		       "they were", o->config, err == -ENOENT ? "no such line or file" :
		       err == -EINVAL ? "unbalanced quotes" : strerror(-err));
		return 0;
	}
	argc = split(text, argv, MAX_WORDS);
	if (argc < 0) {
		bw_err("SIGHUP: '%s': too many words; the options stay as they were", o->config);
		return 0;
	}
	err = bw_cli_parse(argc, argv, &n);
	if (err) {
		bw_err("SIGHUP: '%s' is not valid%s; the options stay as they were", o->config,
		       err == 1 ? " (--help or --version)" : "");
		bw_opts_free(&n);
		return 0;
	}
	fixed = fixed_change(o, &n);
	if (fixed)
		bw_err("SIGHUP: '%s' changes %s, which only a restart changes; not changed",
		       o->config, fixed);
	if (retarget(s, &n))
		changed |= BW_RELOAD_TARGETS;
	apply(s, &n);
	bw_opts_free(&n);
	bw_fmt_duration(o->threshold_ns, th, sizeof(th));
	bw_fmt_duration(o->interval_ns, iv, sizeof(iv));
	bw_err("SIGHUP: options from '%s': threshold %s, interval %s", o->config, th, iv);
	if (o->interval_ns != interval)
		changed |= BW_RELOAD_INTERVAL;
	return changed;
}
