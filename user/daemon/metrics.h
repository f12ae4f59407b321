/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_METRICS_H
#define BW_METRICS_H

/*
 * What /metrics says, kept across reports: counters that only grow for
 * the run, gauges as of the last report. Reports go in (bw_metrics__add),
 * a rendering (report/prom.c) reads it; nothing here is formatted.
 *
 * Cardinality stays bounded on a busy host: at most @max_procs processes
 * have series of their own, chosen by blocked time (decayed, so a
 * process that stopped blocking gives its place up); every other
 * process is summed under comm "other" (pid ""). A process that leaves
 * its place or exits takes its series with it, and its counts go on in
 * "other": each counter's sum over its series never goes down.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "model/reason.h"
#include "model/report.h"

#define BW_METRICS_TOP 20 /* --metrics-top's default */
#define BW_METRICS_SITE_LEN 160

/* Per (process, reason). */
struct bw_mreason {
	char name[BW_REASON_LEN];
	uint64_t offcpu_ns; /* counter */
	uint64_t blocks;    /* counter: finished blocks past the threshold */
	uint32_t blocked;   /* gauge: threads blocked now */
};

struct bw_mgo_count {
	char name[BW_METRICS_SITE_LEN];
	uint32_t count;
};

/* One process's series, or "other"'s (pid 0). */
struct bw_mproc {
	uint32_t pid;
	uint64_t starttime; /* with pid: the process (pids are reused) */
	char comm[BW_COMM_MAX];
	double score;	    /* decayed blocked ns, what places are given by */
	size_t nreasons;
	struct bw_mreason *reasons;
	/* gauges, as of the last report */
	uint64_t longest_ns;
	uint32_t deadlocked;
	bool go;
	uint32_t goroutines;
	size_t ngo_reasons;
	struct bw_mgo_count *go_reasons;
	size_t nsuspects;
	struct bw_mgo_count *suspects; /* by blocking site */
	uint64_t seen;		       /* the report it was last in */
};

/* blockwatch's own, read when a report is added. */
struct bw_mself {
	double cpu_s;
	uint64_t rss_bytes;
	bool have_bpf;	       /* the kernel counts program run time */
	uint64_t bpf_run_ns;
	uint64_t bpf_runs;
	uint64_t log_lost;     /* log lines the journal did not take */
};

struct bw_metrics {
	size_t max_procs;
	size_t nprocs;
	struct bw_mproc *procs; /* by pid */
	struct bw_mproc other;
	uint64_t reports;
	uint64_t dropped[BW_DROP_MAX];
	uint64_t late;
	uint64_t threshold_ns;
	uint64_t last_report_ns; /* CLOCK_REALTIME */
	struct bw_mself self;
	/* for tests: whether a process is alive, and its start time */
	bool (*alive)(uint32_t pid, uint64_t starttime);
	uint64_t (*starttime)(uint32_t pid);
};

/* 0 or -ENOMEM. @max_procs 0: BW_METRICS_TOP. */
int bw_metrics__init(struct bw_metrics *m, size_t max_procs);
void bw_metrics__fini(struct bw_metrics *m);
/* One report (an interval's) in; @self: blockwatch's own numbers, NULL to
 * keep the last. 0 or -ENOMEM (then the report counts in part). */
int bw_metrics__add(struct bw_metrics *m, const struct bw_report *r, const struct bw_mself *self);
/* Another bound on the processes with series of their own (a reload):
 * the weakest beyond it are folded into "other". 0 or -ENOMEM. */
int bw_metrics__set_max(struct bw_metrics *m, size_t max_procs);
/* The series "other" has anything to say in. */
bool bw_metrics__other_used(const struct bw_metrics *m);

#endif
