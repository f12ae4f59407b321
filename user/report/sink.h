/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_SINK_H
#define BW_SINK_H

#include <stdbool.h>
#include <stdio.h>
#include "model/profile.h"
#include "model/report.h"

/*
 * Sinks: where reports go. Every output format is one file defining a
 * struct bw_sink_ops and one line in sink.c's table; the CLI picks
 * several per run (-f FORMAT[:FILE], repeatable). A sink's write error
 * is reported once and does not end tracing: it keeps being tried, and
 * the run exits 1 at the end.
 *
 * Interval formats (text, json) write every report as it comes.
 * Whole-run formats (folded, pprof, pprof-go, svg) write the run's
 * profile (model/profile.h), added up from every report, at the end and
 * on request (SIGUSR1): a regular file is rewritten whole each time,
 * anything else (stdout, a pipe) gets one more profile after the last.
 */
struct bw_sink;

/* What every sink may need from the command line. */
struct bw_sink_cfg {
	unsigned int frames; /* stack frames per entry in text */
};

struct bw_sink_ops {
	const char *name; /* -f NAME */
	/* optional: set up priv */
	int (*open)(struct bw_sink *s);
	/* interval formats: every report */
	int (*emit)(struct bw_sink *s, const struct bw_report *r);
	/* whole-run formats: the run so far, at the end and on request */
	int (*write)(struct bw_sink *s, const struct bw_profile *p);
	/* optional, at the end: free priv */
	int (*close)(struct bw_sink *s);
	bool binary; /* not for a terminal */
};

struct bw_sink {
	const struct bw_sink_ops *ops;
	const struct bw_sink_cfg *cfg;
	FILE *out;	  /* writes reach fd through the sink, which keeps their errno */
	int fd;
	int write_err;	  /* -errno of the first write that failed since the last flush */
	const char *path; /* NULL: stdout */
	void *priv;
	bool failing;	  /* the last write failed (reported) */
	bool failed;	  /* one did, once */
	bool closed;	  /* for good (EPIPE) */
	bool orphaned;	  /* its file was removed and could not be made again (said) */
};

/* Where one sink goes: a format and a file (NULL: stdout). */
struct bw_sink_spec {
	const char *format;
	const char *path;
	bool to_default; /* -f FORMAT alone: -o FILE applies */
};

/* For emit: flush s->out; 0 or -errno of the first write that failed
 * since the last flush (stdio itself forgets it: a write error inside
 * fprintf drops the buffer, and the fflush after it succeeds). */
int bw_sink_flush(struct bw_sink *s);
/* Point s->out at @fd (-1: s->fd as it is), through a writer that keeps
 * write errors for bw_sink_flush. 0 or -errno. */
int bw_sink_attach(struct bw_sink *s, int fd);

const struct bw_sink_ops *bw_sink_find(const char *name);
/* "text, json": for help and errors. */
void bw_sink_names(char *buf, size_t len);

struct bw_sinks;

/* Open every sink; a file that cannot be opened is one line on stderr
 * and an enum bw_exit code. On failure the sinks opened so far are
 * closed again (their close is called, so a close must cope with a
 * sink whose open did not run or failed). */
int bw_sinks__open(const struct bw_sink_spec *specs, int n, const struct bw_sink_cfg *cfg,
		   struct bw_sinks **out);
/* Hand @r to every interval sink, and add it to the run's profile. -EPIPE when no sink can take reports any more
 * (every one closed for good): tracing for nobody should end. */
int bw_sinks__emit(struct bw_sinks *ss, const struct bw_report *r);
/* Write every whole-run sink with the run so far (SIGUSR1); 0, or
 * -EIO when one failed (reported). */
int bw_sinks__dump(struct bw_sinks *ss);
/* Write the whole-run sinks a last time, close every sink (accepts NULL). -EIO when any write
 * failed during the run (each was reported). */
int bw_sinks__close(struct bw_sinks *ss);

#endif
