// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The metrics state (daemon/metrics.h) in the Prometheus text exposition
 * format 0.0.4, or in OpenMetrics 1.0 (counter families named without
 * _total, # EOF at the end) when the scraper asks for it. Label values
 * from traced processes (comm, Go sites) are escaped as text output does
 * (bw_esc: printable UTF-8, controls as \xNN), then for the format.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "daemon/metrics.h"
#include "report/fmt.h"
#include "report/prom.h"

struct out {
	FILE *f;
	bool om;
};

static void family(struct out *o, const char *name, const char *type, const char *help)
{
	size_t n = strlen(name);

	/* OpenMetrics names a counter family without its samples' _total */
	if (o->om && !strcmp(type, "counter") && n > 6 && !strcmp(name + n - 6, "_total"))
		n -= 6;
	fprintf(o->f, "# HELP %.*s %s\n# TYPE %.*s %s\n", (int)n, name, help, (int)n, name, type);
}

static void label_value(struct out *o, const char *v)
{
	char buf[BW_ESC_LEN];
	const char *s = BW_ESC(v ? v : "", buf);

	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', o->f);
		if (*s == '\n')
			fputs("\\n", o->f);
		else
			fputc(*s, o->f);
	}
}

/* {pid="..",comm=".."[,@key="@val"]} */
static void proc_labels(struct out *o, const struct bw_mproc *p, const char *key, const char *val)
{
	if (p->pid)
		fprintf(o->f, "{pid=\"%u\",comm=\"", p->pid);
	else
		fputs("{pid=\"\",comm=\"", o->f);
	label_value(o, p->comm);
	fputc('"', o->f);
	if (key) {
		fprintf(o->f, ",%s=\"", key);
		label_value(o, val);
		fputc('"', o->f);
	}
	fputc('}', o->f);
}

static void seconds(struct out *o, uint64_t ns)
{
	fprintf(o->f, " %llu.%09llu\n", (unsigned long long)(ns / 1000000000ull),
		(unsigned long long)(ns % 1000000000ull));
}

static int by_pid(const void *a, const void *b)
{
	const struct bw_mproc *x = *(const struct bw_mproc *const *)a;
	const struct bw_mproc *y = *(const struct bw_mproc *const *)b;

	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

/* Tracked processes by pid, then "other" when it has anything. */
static size_t series(const struct bw_metrics *m, const struct bw_mproc **v)
{
	size_t i, n = 0;

	for (i = 0; i < m->nprocs; i++)
		v[n++] = &m->procs[i];
	if (n)
		qsort(v, n, sizeof(*v), by_pid);
	if (bw_metrics__other_used(m))
		v[n++] = &m->other;
	return n;
}

enum rcol { R_BLOCKED, R_OFFCPU, R_BLOCKS };

static void reasons(struct out *o, const struct bw_mproc *const *v, size_t n, const char *name,
		    enum rcol col)
{
	size_t i, j;

	for (i = 0; i < n; i++)
		for (j = 0; j < v[i]->nreasons; j++) {
			const struct bw_mreason *r = &v[i]->reasons[j];

			fputs(name, o->f);
			proc_labels(o, v[i], "reason", r->name);
			if (col == R_OFFCPU)
				seconds(o, r->offcpu_ns);
			else
				fprintf(o->f, " %llu\n",
					(unsigned long long)(col == R_BLOCKS ? r->blocks : r->blocked));
		}
}

static void go_counts(struct out *o, const struct bw_mproc *const *v, size_t n, const char *name,
		      const char *key, bool suspects)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		const struct bw_mgo_count *c = suspects ? v[i]->suspects : v[i]->go_reasons;
		size_t nc = suspects ? v[i]->nsuspects : v[i]->ngo_reasons;

		for (j = 0; v[i]->go && j < nc; j++) {
			fputs(name, o->f);
			proc_labels(o, v[i], key, c[j].name);
			fprintf(o->f, " %u\n", c[j].count);
		}
	}
}

static void procs(struct out *o, const struct bw_metrics *m, const struct bw_mproc *const *v,
		  size_t n)
{
	size_t i;

	family(o, "blockwatch_blocked_threads", "gauge",
	       "Threads blocked at least the threshold at the last report.");
	reasons(o, v, n, "blockwatch_blocked_threads", R_BLOCKED);
	family(o, "blockwatch_offcpu_seconds_total", "counter",
	       "Time blocked in blocks past the threshold (still-blocked ones so far).");
	reasons(o, v, n, "blockwatch_offcpu_seconds_total", R_OFFCPU);
	family(o, "blockwatch_blocks_total", "counter", "Finished blocks past the threshold.");
	reasons(o, v, n, "blockwatch_blocks_total", R_BLOCKS);
	family(o, "blockwatch_longest_block_seconds", "gauge",
	       "Age of the oldest still-blocked thread at the last report.");
	for (i = 0; i < n; i++) {
		fputs("blockwatch_longest_block_seconds", o->f);
		proc_labels(o, v[i], NULL, NULL);
		seconds(o, v[i]->longest_ns);
	}
	family(o, "blockwatch_deadlocked_threads", "gauge",
	       "Threads in a cycle of lock waits at the last report.");
	for (i = 0; i < n; i++) {
		fputs("blockwatch_deadlocked_threads", o->f);
		proc_labels(o, v[i], NULL, NULL);
		fprintf(o->f, " %u\n", v[i]->deadlocked);
	}
	family(o, "blockwatch_go_goroutines", "gauge",
	       "Goroutines of a Go process at the last report, as runtime.NumGoroutine.");
	for (i = 0; i < n; i++) {
		if (!v[i]->go)
			continue;
		fputs("blockwatch_go_goroutines", o->f);
		proc_labels(o, v[i], NULL, NULL);
		fprintf(o->f, " %u\n", v[i]->goroutines);
	}
	family(o, "blockwatch_go_goroutines_by_reason", "gauge",
	       "Goroutines waiting, by the runtime's wait reason.");
	go_counts(o, v, n, "blockwatch_go_goroutines_by_reason", "reason", false);
	family(o, "blockwatch_go_leak_suspect_goroutines", "gauge",
	       "Goroutines of groups that look like a leak, by blocking site.");
	go_counts(o, v, n, "blockwatch_go_leak_suspect_goroutines", "site", true);
	(void)m;
}

static void self(struct out *o, const struct bw_metrics *m)
{
	size_t i;

	family(o, "blockwatch_dropped_events_total", "counter",
	       "Blocks or records lost or degraded, by cause.");
	for (i = 0; i < BW_DROP_MAX; i++)
		fprintf(o->f, "blockwatch_dropped_events_total{cause=\"%s\"} %llu\n",
			bw_drop_names[i], (unsigned long long)m->dropped[i]);
	family(o, "blockwatch_late_blocks_total", "counter",
	       "Blocks whose switch-in the tracepoint never saw, closed when next seen.");
	fprintf(o->f, "blockwatch_late_blocks_total %llu\n", (unsigned long long)m->late);
	family(o, "blockwatch_log_lines_lost_total", "counter",
	       "Log lines (--log-events) the journal did not take.");
	fprintf(o->f, "blockwatch_log_lines_lost_total %llu\n",
		(unsigned long long)m->self.log_lost);
	family(o, "blockwatch_reports_total", "counter", "Reports made.");
	fprintf(o->f, "blockwatch_reports_total %llu\n", (unsigned long long)m->reports);
	family(o, "blockwatch_threshold_seconds", "gauge", "The threshold blocks are counted from.");
	fputs("blockwatch_threshold_seconds", o->f);
	seconds(o, m->threshold_ns);
	family(o, "blockwatch_last_report_timestamp_seconds", "gauge",
	       "When the metrics were last updated (Unix time).");
	fputs("blockwatch_last_report_timestamp_seconds", o->f);
	seconds(o, m->last_report_ns);
	family(o, "blockwatch_cpu_seconds_total", "counter", "blockwatch's own CPU time.");
	fprintf(o->f, "blockwatch_cpu_seconds_total %.6f\n", m->self.cpu_s);
	family(o, "blockwatch_resident_memory_bytes", "gauge", "blockwatch's own resident memory.");
	fprintf(o->f, "blockwatch_resident_memory_bytes %llu\n",
		(unsigned long long)m->self.rss_bytes);
	family(o, "blockwatch_tracked_processes", "gauge",
	       "Processes with series of their own (the rest are comm=\"other\").");
	fprintf(o->f, "blockwatch_tracked_processes %zu\n", m->nprocs);
	if (!m->self.have_bpf)
		return;
	family(o, "blockwatch_bpf_run_seconds_total", "counter",
	       "Time the kernel ran blockwatch's BPF programs (kernel.bpf_stats_enabled).");
	fputs("blockwatch_bpf_run_seconds_total", o->f);
	seconds(o, m->self.bpf_run_ns);
	family(o, "blockwatch_bpf_runs_total", "counter", "Runs of blockwatch's BPF programs.");
	fprintf(o->f, "blockwatch_bpf_runs_total %llu\n", (unsigned long long)m->self.bpf_runs);
}

int bw_prom_render(const struct bw_metrics *m, bool openmetrics, char **text, size_t *len)
{
	const struct bw_mproc **v = calloc(m->nprocs + 1, sizeof(*v));
	struct out o = { .om = openmetrics };
	size_t n;

	*text = NULL;
	*len = 0;
	o.f = v ? open_memstream(text, len) : NULL;
	if (!o.f) {
		free(v);
		return -ENOMEM;
	}
	n = series(m, v);
	procs(&o, m, v, n);
	self(&o, m);
	if (o.om)
		fputs("# EOF\n", o.f);
	free(v);
	if (ferror(o.f) | fclose(o.f)) {
		free(*text);
		*text = NULL;
		return -ENOMEM;
	}
	return 0;
}
