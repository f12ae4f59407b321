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
#include "report/fmt.h"
#include "session/serve.h"
#include "session/session.h"
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

	if (a->npids != b->npids ||
	    (a->npids && memcmp(a->pids, b->pids, a->npids * sizeof(*a->pids))))
		return "-p";
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
	if (a->no_lines != b->no_lines)
		return "--no-lines";
	return NULL;
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

bool session_reload(struct session *s)
{
	const struct bw_opts *o = s->o;
	char text[4096], *argv[MAX_WORDS], th[16], iv[16];
	struct bw_opts n;
	const char *fixed;
	uint64_t interval = o->interval_ns;
	int argc, err;

	err = read_opts(o->config, text, sizeof(text));
	if (err) {
		bw_err("SIGHUP: cannot read BLOCKWATCH_OPTS from '%s': %s; the options stay as "
		       "they were", o->config, err == -ENOENT ? "no such line or file" :
		       err == -EINVAL ? "unbalanced quotes" : strerror(-err));
		return false;
	}
	argc = split(text, argv, MAX_WORDS);
	if (argc < 0) {
		bw_err("SIGHUP: '%s': too many words; the options stay as they were", o->config);
		return false;
	}
	err = bw_cli_parse(argc, argv, &n);
	if (err) {
		bw_err("SIGHUP: '%s' is not valid%s; the options stay as they were", o->config,
		       err == 1 ? " (--help or --version)" : "");
		bw_opts_free(&n);
		return false;
	}
	fixed = fixed_change(o, &n);
	if (fixed)
		bw_err("SIGHUP: '%s' changes %s, which only a restart changes; not changed",
		       o->config, fixed);
	apply(s, &n);
	bw_opts_free(&n);
	bw_fmt_duration(o->threshold_ns, th, sizeof(th));
	bw_fmt_duration(o->interval_ns, iv, sizeof(iv));
	bw_err("SIGHUP: options from '%s': threshold %s, interval %s", o->config, th, iv);
	return o->interval_ns != interval;
}
