// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Reports for people: fits 80-120 columns, the worst first. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "report/report.h"

static void bw_fmt_duration_raw(uint64_t ns, char *buf, size_t len);

static void trim_zero(char *buf)
{
	char *dot = strstr(buf, ".0");

	/* "100.0ms" -> "100ms", "1.50s" stays */
	if (dot && (dot[2] < '0' || dot[2] > '9'))
		memmove(dot, dot + 2, strlen(dot + 2) + 1);
}

void bw_fmt_duration(uint64_t ns, char *buf, size_t len)
{
	bw_fmt_duration_raw(ns, buf, len);
	trim_zero(buf);
}

static void bw_fmt_duration_raw(uint64_t ns, char *buf, size_t len)
{
	/* Bounds are where rounding would print "1000.0" of a unit. */
	if (ns < 1000)
		snprintf(buf, len, "%" PRIu64 "ns", ns);
	else if (ns < 999950)
		snprintf(buf, len, "%.1fus", ns / 1e3);
	else if (ns < 999950000)
		snprintf(buf, len, "%.1fms", ns / 1e6);
	else if (ns < (uint64_t)59995000000)
		snprintf(buf, len, "%.2fs", ns / 1e9);
	else if (ns < (uint64_t)3600000000000)
		snprintf(buf, len, "%" PRIu64 "m%02" PRIu64 "s", ns / (uint64_t)60000000000,
			 ns / (uint64_t)1000000000 % 60);
	else
		snprintf(buf, len, "%" PRIu64 "h%02" PRIu64 "m", ns / (uint64_t)3600000000000,
			 ns / (uint64_t)60000000000 % 60);
}

void bw_fmt_time(uint64_t realtime_ns, char *buf, size_t len)
{
	time_t secs = realtime_ns / 1000000000ULL;
	struct tm tm;
	char tmp[32];

	gmtime_r(&secs, &tm);
	strftime(tmp, sizeof(tmp), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03uZ", tmp, (unsigned int)(realtime_ns / 1000000 % 1000));
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

static void print_frame(FILE *out, const struct bw_frame *f)
{
	if (f->kernel) {
		if (f->symbol)
			fprintf(out, "        [k] %s+0x%" PRIx64 "%s%s\n", f->symbol, f->symoff,
				strcmp(f->module, "[kernel]") ? " " : "",
				strcmp(f->module, "[kernel]") ? f->module : "");
		else
			fprintf(out, "        [k] 0x%" PRIx64 "\n", f->addr);
		return;
	}
	if (f->symbol && f->inlined)
		fprintf(out, "        %s (%s)", f->symbol, f->module ? base_name(f->module) : "?");
	else if (f->symbol)
		fprintf(out, "        %s+0x%" PRIx64 " (%s)", f->symbol, f->symoff,
			f->module ? base_name(f->module) : "?");
	else if (f->module)
		fprintf(out, "        %s+0x%" PRIx64, base_name(f->module), f->offset);
	else
		fprintf(out, "        0x%" PRIx64, f->addr);
	if (f->file)
		fprintf(out, " %s:%u", base_name(f->file), f->line);
	if (f->inlined)
		fprintf(out, " [inline]");
	fputc('\n', out);
}

static void print_header(FILE *out, const struct bw_report *r)
{
	char when[40], iv[16], th[16], sh[16];
	uint64_t dropped = 0;
	int i;

	for (i = 0; i < BW_DROP_MAX; i++)
		dropped += r->dropped[i];
	bw_fmt_time(r->time_ns, when, sizeof(when));
	bw_fmt_duration(r->interval_ns, iv, sizeof(iv));
	bw_fmt_duration(r->threshold_ns, th, sizeof(th));
	bw_fmt_duration(r->short_ns, sh, sizeof(sh));
	if (r->interval_ns)
		fprintf(out, "=== %s  interval %s  threshold %s  dropped %" PRIu64, when, iv, th,
			dropped);
	else
		fprintf(out, "=== %s  snapshot of threads blocked now  threshold %s  dropped %" PRIu64,
			when, th, dropped);
	if (dropped) {
		const char *sep = " (";

		for (i = 0; i < BW_DROP_MAX; i++) {
			if (!r->dropped[i])
				continue;
			fprintf(out, "%s%s %" PRIu64, sep, bw_drop_names[i], r->dropped[i]);
			sep = ", ";
		}
		fputc(')', out);
	}
	fprintf(out, "\n    %zu process%s blocked past the threshold; %" PRIu64
		" shorter blocks (%s)\n",
		r->total_procs, r->total_procs == 1 ? "" : "es", r->short_count, sh);
}

static void print_deadlocks(FILE *out, const struct bw_report *r)
{
	size_t i, j;

	for (i = 0; i < r->ndeadlocks; i++) {
		const struct bw_cycle *c = &r->deadlocks[i];

		fprintf(out, "DEADLOCK:");
		for (j = 0; j <= c->n; j++) {
			const struct bw_entry *e = c->entries[j % c->n];

			fprintf(out, "%s TID %u (%s)", j ? " waits for" : "", e->key.tid, e->comm);
		}
		fputc('\n', out);
	}
}

static void print_wait(FILE *out, const struct bw_entry *e)
{
	char age[16];

	if (e->key.ongoing) {
		char part[16];

		bw_fmt_duration(e->age_ns, age, sizeof(age));
		bw_fmt_duration(e->blocked_ns, part, sizeof(part));
		if (e->blocked_ns + 1000000 < e->age_ns)
			fprintf(out, "           ^ STILL BLOCKED, for %s so far (%s of it in this interval)\n",
				age, part);
		else
			fprintf(out, "           ^ STILL BLOCKED, for %s so far\n", age);
	}
	if (e->detail_text[0])
		fprintf(out, "           on %s\n", e->detail_text);
	if (!e->owner)
		return;
	fprintf(out, "           %s lock held by TID %u (%s)", e->key.ongoing ? "waiting for" : "waited for",
		e->owner, e->owner_comm);
	if (e->key.ongoing && e->owner_entry) {
		bw_fmt_duration(e->owner_entry->age_ns, age, sizeof(age));
		fprintf(out, ", blocked itself for %s", age);
	}
	fputc('\n', out);
}

int report_text(FILE *out, const struct bw_report *r, unsigned int frames)
{
	size_t i, j;

	print_header(out, r);
	print_deadlocks(out, r);
	for (i = 0; i < r->nprocs; i++) {
		const struct bw_proc *p = r->procs[i];
		char tot[16];

		bw_fmt_duration(p->blocked_ns, tot, sizeof(tot));
		fprintf(out, "\nPID %u (%s)  blocked %s\n", p->pid, p->comm, tot);
		fprintf(out, "  %7s  %-16s %-22s %9s %7s %9s\n", "TID", "COMM", "REASON",
			"BLOCKED", "COUNT", "MAX");
		for (j = 0; j < p->nthreads; j++) {
			const struct bw_entry *e = p->threads[j];
			const struct bw_stack *st = e->key.stack;
			char blk[16], max[16];
			uint32_t k;

			/* still blocked: how long so far */
			bw_fmt_duration(e->key.ongoing ? e->age_ns : e->blocked_ns, blk, sizeof(blk));
			bw_fmt_duration(e->key.ongoing ? e->age_ns : e->max_ns, max, sizeof(max));
			fprintf(out, "  %7u  %-16s %-22s %9s %7" PRIu64 " %9s\n", e->key.tid,
				e->comm, e->key.reason, blk, e->count, max);
			print_wait(out, e);
			for (k = 0; k < st->nframes && k < frames; k++)
				print_frame(out, &st->frames[k]);
			if (st->nframes > frames)
				fprintf(out, "        ... %u more frames\n", st->nframes - frames);
			else if (st->truncated && frames)
				fprintf(out, "        [stack truncated]\n");
		}
	}
	if (r->nprocs < r->total_procs)
		fprintf(out, "\n(%zu more processes, see --top)\n", r->total_procs - r->nprocs);
	fputc('\n', out);
	return fflush(out) ? -1 : 0;
}
