// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include "model/go.h"
#include "report/fmt.h"
#include "report/text_go.h"

/* groups shown in text; JSON has them all */
#define TEXT_GROUPS 10

/* 23020 -> "23,020" */
static const char *count_str(uint64_t n, char *buf, size_t len)
{
	char tmp[32];
	size_t i, k = 0, digits;

	snprintf(tmp, sizeof(tmp), "%" PRIu64, n);
	digits = strlen(tmp);
	for (i = 0; i < digits && k + 2 < len; i++) {
		if (i && (digits - i) % 3 == 0)
			buf[k++] = ',';
		buf[k++] = tmp[i];
	}
	buf[k] = 0;
	return buf;
}

static const char *base_name(const char *path)
{
	const char *s = path ? strrchr(path, '/') : NULL;

	return s ? s + 1 : path ? path : "?";
}

/* Names from the binary (wait reasons, functions, files, types, its
 * version) are the process's to choose: escaped (BW_ESC). */
static void print_counts(FILE *out, const struct bw_go_view *v)
{
	char n[32], name[BW_ESC_LEN];
	uint32_t i;
	const char *sep = "    ";

	for (i = 0; i < v->nreasons; i++, sep = " · ")
		fprintf(out, "%s%s %s", sep, BW_ESC(v->by_reason[i].name, name),
			count_str(v->by_reason[i].count, n, sizeof(n)));
	for (i = 0; i < v->nstates; i++) {
		if (!strcmp(v->by_state[i].name, "waiting"))
			continue;
		fprintf(out, "%s%s %s", sep, BW_ESC(v->by_state[i].name, name),
			count_str(v->by_state[i].count, n, sizeof(n)));
		sep = " · ";
	}
	fputc('\n', out);
	if (v->torn || v->unreadable || v->unwind_failed)
		fprintf(out, "    skipped: %u changed while read, %u unreadable; %u stacks cut short\n",
			v->torn, v->unreadable, v->unwind_failed);
}

static void print_title(FILE *out, const struct bw_go_group *g)
{
	char n[32], age[16], young[16], why[BW_ESC_LEN];

	fprintf(out, "  %s%s goroutine%s [%s", g->leak_suspect ? "LEAK? " : "",
		count_str(g->count, n, sizeof(n)), g->count == 1 ? "" : "s",
		BW_ESC(g->wait_reason ? g->wait_reason : g->state, why));
	if (g->age_known) {
		bw_fmt_duration(g->oldest_ns, age, sizeof(age));
		bw_fmt_duration(g->youngest_ns, young, sizeof(young));
		if (g->count > 1 && strcmp(age, young))
			fprintf(out, ", %s..%s", young, age);
		else
			fprintf(out, ", %s", age);
	}
	fputc(']', out);
	if (g->has_trend && g->trend_reports > 1)
		fprintf(out, "  %+.0f/min over %u reports%s", g->growth_per_min, g->trend_reports,
			g->members_persist ? ", none left" : "");
	fputc('\n', out);
}

static void print_site(FILE *out, const char *what, const struct bw_go_frame *f)
{
	char func[BW_ESC_LEN], file[BW_ESC_LEN];

	if (f && f->func)
		fprintf(out, "        %s  %s  %s:%u\n", what, BW_ESC(f->func, func),
			BW_ESC(base_name(f->file), file), f->line);
}

static void print_channel(FILE *out, const struct bw_go_group *g)
{
	const struct bw_go_channel *c = g->channel;
	char buf[64], type[BW_ESC_LEN];

	if (!c)
		return;
	if (c->cap)
		snprintf(buf, sizeof(buf), "buffer %" PRIu64 "/%" PRIu64 "%s", c->len, c->cap,
			 c->len >= c->cap ? " full" : "");
	else
		snprintf(buf, sizeof(buf), "unbuffered");
	fprintf(out, "        on chan %#" PRIx64 " (%s%s%s, %s, %u receiver%s waiting, %u sender%s waiting)",
		c->addr, c->elem_type ? BW_ESC(c->elem_type, type) : "", c->elem_type ? ", " : "",
		buf,
		c->closed ? "closed" : "open", c->recv_waiting, c->recv_waiting == 1 ? "" : "s",
		c->send_waiting, c->send_waiting == 1 ? "" : "s");
	if (g->nchannels > 1)
		fprintf(out, "; %u channels in all", g->nchannels);
	fputc('\n', out);
}

static void print_group(FILE *out, const struct bw_go_group *g, unsigned int frames)
{
	uint32_t i, shown = 0;

	print_title(out, g);
	if (g->leak_suspect)
		fprintf(out, "        why: %s\n", g->leak_why);
	print_site(out, "blocked at", g->blocking_site >= 0 ? &g->frames[g->blocking_site] : NULL);
	print_site(out, "created by", &g->created_by);
	print_channel(out, g);
	if (g->ngoids) {
		fprintf(out, "        goids");
		for (i = 0; i < g->ngoids; i++)
			fprintf(out, "%s%" PRIu64, i ? ", " : " ", g->goids[i]);
		fprintf(out, "%s\n", g->count > g->ngoids ? ", ..." : "");
	}
	for (i = 0; i < g->nframes && shown < frames; i++) {
		const struct bw_go_frame *f = &g->frames[i];
		char func[BW_ESC_LEN], file[BW_ESC_LEN];

		if (f->runtime)
			continue;
		if (f->func)
			fprintf(out, "          %s  %s:%u%s\n", BW_ESC(f->func, func),
				BW_ESC(base_name(f->file), file), f->line,
				f->inlined ? " [inline]" : "");
		else
			fprintf(out, "          0x%" PRIx64 "\n", f->addr);
		shown++;
	}
	if (g->truncated && frames)
		fprintf(out, "          [stack truncated]\n");
}

void bw_go_text(FILE *out, uint32_t pid, const char *comm, const struct bw_go_view *v,
		unsigned int frames)
{
	char n[32], m[32], cb[BW_ESC_LEN], vb[BW_ESC_LEN], wb[BW_ESC_LEN];
	const char *ver = BW_ESC(v->version, vb);
	uint32_t i, shown = 0;

	comm = BW_ESC(comm, cb);
	if (v->warning) {
		fprintf(out, "\nGO %u (%s, %s)  no goroutine view: %s\n", pid, comm, ver,
			BW_ESC(v->warning, wb));
		return;
	}
	fprintf(out, "\nGO %u (%s, %s)  %s goroutine%s (high-water %s; %u of the runtime's own)\n",
		pid, comm, ver, count_str(v->goroutines, n, sizeof(n)),
		v->goroutines == 1 ? "" : "s", count_str(v->max_goroutines, m, sizeof(m)),
		v->system_goroutines);
	print_counts(out, v);
	/* leak suspects first, then the biggest groups */
	for (i = 0; i < v->ngroups; i++)
		if (v->groups[i].leak_suspect) {
			print_group(out, &v->groups[i], frames);
			shown++;
		}
	for (i = 0; i < v->ngroups && shown < TEXT_GROUPS; i++)
		if (!v->groups[i].leak_suspect) {
			print_group(out, &v->groups[i], frames);
			shown++;
		}
	if (shown < v->ngroups)
		fprintf(out, "  (%u more groups, see -f json)\n", v->ngroups - shown);
}
