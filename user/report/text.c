// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Reports for people: fits 80-120 columns, the worst first. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include "report/fmt.h"
#include "report/text.h"
#include "report/text_go.h"
#include "report/sink.h"
#include "stacks/stacktab.h"

/* One "on ..." line: what a thread waits on. */
#define DETAIL_MAX 256

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

/* Every name in a frame may come from the process: escaped (BW_ESC). */
static void print_frame(FILE *out, const struct bw_frame *f)
{
	char sb[BW_ESC_LEN], mb[BW_ESC_LEN], fb[BW_ESC_LEN];
	const char *sym = BW_ESC(f->symbol, sb);
	const char *mod = NULL;

	if (f->module)
		mod = BW_ESC(f->kernel ? f->module : base_name(f->module), mb);

	if (f->kernel) {
		bool other = mod && strcmp(mod, "[kernel]");

		if (sym)
			fprintf(out, "        [k] %s+0x%" PRIx64 "%s%s\n", sym, f->symoff,
				other ? " " : "", other ? mod : "");
		else
			fprintf(out, "        [k] 0x%" PRIx64 "\n", f->addr);
		return;
	}
	if (sym && f->inlined)
		fprintf(out, "        %s (%s)", sym, mod ? mod : "?");
	else if (sym)
		fprintf(out, "        %s+0x%" PRIx64 " (%s)", sym, f->symoff, mod ? mod : "?");
	else if (mod)
		fprintf(out, "        %s+0x%" PRIx64, mod, f->offset);
	else
		fprintf(out, "        0x%" PRIx64, f->addr);
	if (f->file)
		fprintf(out, " %s:%u", BW_ESC(base_name(f->file), fb), f->line);
	if (f->inlined)
		fprintf(out, " [inline]");
	fputc('\n', out);
}

static void print_header(FILE *out, const struct bw_report *r)
{
	uint64_t dropped = bw_report_dropped(r);
	char when[40], iv[16], th[16], sh[16];
	int i;

	bw_fmt_time(r->time_ns, when, sizeof(when));
	bw_fmt_duration(r->interval_ns, iv, sizeof(iv));
	bw_fmt_duration(r->threshold_ns, th, sizeof(th));
	bw_fmt_duration(r->short_ns, sh, sizeof(sh));
	if (r->kind == BW_REPORT_INTERVAL)
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
		" shorter blocks (%s)",
		r->blocked_procs, r->blocked_procs == 1 ? "" : "es", r->short_count, sh);
	if (r->late_count)
		fprintf(out, "; %" PRIu64 " block%s closed late (switch-in not seen)", r->late_count,
			r->late_count == 1 ? "" : "s");
	fputc('\n', out);
	for (i = 0; i < (int)r->nwarnings; i++)
		fprintf(out, "    warning: %s\n", r->warnings[i]);
}

static void print_deadlocks(FILE *out, const struct bw_report *r)
{
	size_t i, j;

	for (i = 0; i < r->ndeadlocks; i++) {
		const struct bw_cycle *c = &r->deadlocks[i];

		fprintf(out, "DEADLOCK:");
		for (j = 0; j <= c->n; j++) {
			const struct bw_entry *e = c->entries[j % c->n];
			char comm[BW_ESC_LEN];

			fprintf(out, "%s TID %u (%s)", j ? " waits for" : "", e->tid,
				BW_ESC(e->comm, comm));
		}
		fputc('\n', out);
	}
}

static void fds_text(struct bw_strbuf *sb, const struct bw_detail *d)
{
	uint32_t i;

	for (i = 0; i < d->set.n; i++) {
		bw_sb_printf(sb, "%sfd %d ", i ? ", " : "", d->set.fds[i].fd);
		bw_sb_esc(sb, d->set.fds[i].target);
	}
}

static void futex_text(struct bw_strbuf *sb, const struct bw_detail *d)
{
	char op[32];

	if (d->futex.kind == BW_FUTEX_WAITV) {
		bw_sb_printf(sb, "futex_waitv");
		return;
	}
	bw_futex_op_name(d->futex.op, op, sizeof(op));
	if (d->futex.kind == BW_FUTEX_CONDVAR)
		bw_sb_printf(sb, "condvar %#" PRIx64 " (futex %#" PRIx64 " %s)",
			     d->futex.condvar ? d->futex.condvar : d->futex.addr, d->futex.addr, op);
	else
		bw_sb_printf(sb, "%s %#" PRIx64 " %s", bw_futex_kind_name(d->futex.kind),
			     d->futex.addr, op);
}

void bw_text_detail(const struct bw_detail *d, char *buf, size_t len)
{
	struct bw_strbuf sb = { .buf = buf, .len = len };

	buf[0] = 0;
	switch (d->kind) {
	case BW_DETAIL_FUTEX:
		futex_text(&sb, d);
		break;
	case BW_DETAIL_FD:
		bw_sb_printf(&sb, "fd %d ", d->fd.fd);
		bw_sb_esc(&sb, d->fd.target);
		break;
	case BW_DETAIL_FDSET:
		bw_sb_printf(&sb, "%s: ", d->set.call);
		fds_text(&sb, d);
		break;
	case BW_DETAIL_EPOLL:
		bw_sb_printf(&sb, "epoll fd %d: ", d->set.epfd);
		fds_text(&sb, d);
		break;
	case BW_DETAIL_CHILD:
		bw_sb_printf(&sb, "for pid %d", d->child.pid);
		break;
	case BW_DETAIL_NONE:
		break;
	}
	if (d->io && !buf[0]) {
		if (d->syscall)
			bw_sb_printf(&sb, "in %s", d->syscall);
		else
			bw_sb_printf(&sb, "page fault or other kernel wait");
	}
}

static void print_wait(FILE *out, const struct bw_entry *e)
{
	char age[16], text[DETAIL_MAX], comm[BW_ESC_LEN];

	if (e->ongoing) {
		char part[16];

		bw_fmt_duration(e->age_ns, age, sizeof(age));
		bw_fmt_duration(e->interval_ns, part, sizeof(part));
		if (e->interval_ns + 1000000 < e->age_ns)
			fprintf(out, "           ^ STILL BLOCKED, for %s so far (%s of it in this interval)\n",
				age, part);
		else
			fprintf(out, "           ^ STILL BLOCKED, for %s so far\n", age);
	}
	bw_text_detail(&e->detail, text, sizeof(text));
	if (text[0])
		fprintf(out, "           on %s\n", text);
	if (!e->owner)
		return;
	fprintf(out, "           %s lock held by TID %u (%s)", e->ongoing ? "waiting for" : "waited for",
		e->owner, BW_ESC(e->owner_comm, comm));
	if (e->ongoing && e->owner_entry) {
		bw_fmt_duration(e->owner_entry->age_ns, age, sizeof(age));
		fprintf(out, ", blocked itself for %s", age);
	}
	fputc('\n', out);
}

static void print_entry(FILE *out, const struct bw_entry *e, unsigned int frames)
{
	const struct bw_stack *st = e->stack;
	char blk[16], max[16], comm[BW_ESC_LEN];
	uint32_t k;

	bw_fmt_duration(e->blocked_ns, blk, sizeof(blk));
	bw_fmt_duration(e->max_ns, max, sizeof(max));
	fprintf(out, "  %7u  %-16s %-22s %9s %7" PRIu64 " %9s\n", e->tid, BW_ESC(e->comm, comm),
		e->reason, blk, e->count, max);
	print_wait(out, e);
	if (e->nsame) {
		fprintf(out, "           + %u more idle Go runtime thread%s like it (TID", e->nsame,
			e->nsame == 1 ? "" : "s");
		for (k = 0; k < e->nsame; k++)
			fprintf(out, "%s%u", k ? ", " : " ", e->same_tids[k]);
		fprintf(out, ")\n");
	}
	for (k = 0; k < st->nframes && k < frames; k++)
		print_frame(out, &st->frames[k]);
	if (st->nframes > frames)
		fprintf(out, "        ... %u more frames\n", st->nframes - frames);
	else if (st->truncated && frames)
		fprintf(out, "        [stack truncated]\n");
}

static int text_emit(struct bw_sink *s, const struct bw_report *r)
{
	FILE *out = s->out;
	size_t i, j;

	print_header(out, r);
	print_deadlocks(out, r);
	for (i = 0; i < r->nprocs; i++) {
		const struct bw_proc_report *p = r->procs[i];
		char tot[16], comm[BW_ESC_LEN];

		if (p->nthreads) {
			bw_fmt_duration(p->blocked_ns, tot, sizeof(tot));
			fprintf(out, "\nPID %u (%s)  blocked %s\n", p->pid, BW_ESC(p->comm, comm),
				tot);
			fprintf(out, "  %7s  %-16s %-22s %9s %7s %9s\n", "TID", "COMM", "REASON",
				"BLOCKED", "COUNT", "MAX");
		}
		for (j = 0; j < p->nthreads; j++)
			print_entry(out, p->threads[j], s->cfg->frames);
		if (p->go)
			bw_go_text(out, p->pid, p->comm, p->go, s->cfg->frames);
	}
	if (r->nprocs < r->total_procs)
		fprintf(out, "\n(%zu more processes, see --top)\n", r->total_procs - r->nprocs);
	fputc('\n', out);
	return bw_sink_flush(s);
}

const struct bw_sink_ops bw_sink_text = {
	.name = "text",
	.emit = text_emit,
};
