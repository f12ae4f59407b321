// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include "base/log.h"
#include "cli/cli.h"
#include "daemon/events.h"
#include "daemon/http.h"
#include "daemon/metrics.h"
#include "report/logline.h"
#include "report/prom.h"
#include "session/serve.h"
#include "trace/loader.h"

struct serve {
	const struct bw_loader *loader;
	bool metrics;
	struct bw_metrics m;
	struct bw_http *http;
	struct bw_events *events; /* --log-events */
	enum bw_log_target log;
	uint64_t log_lost; /* lines the journal refused */
	int fd; /* the listening socket until the server takes it */
	char where[128];
};

static void publish(struct serve *sv)
{
	char *text, *om;
	size_t len, omlen;

	if (bw_prom_render(&sv->m, false, &text, &len)) {
		bw_dbg("metrics: out of memory, /metrics keeps the last report's");
		return;
	}
	if (bw_prom_render(&sv->m, true, &om, &omlen)) {
		om = NULL;
		omlen = 0;
	}
	bw_http_publish(sv->http, text, len, om, omlen);
}

static bool json_out(const struct bw_opts *o)
{
	int i;

	for (i = 0; i < o->nsinks; i++)
		if (!strcmp(o->sinks[i].format, "json"))
			return true;
	return false;
}

static int open_metrics(const struct bw_opts *o, struct serve *sv)
{
	int err;

	if (bw_metrics__init(&sv->m, o->metrics_top)) {
		bw_err("out of memory");
		return BW_EXIT_FAIL;
	}
	sv->metrics = true;
	err = bw_http_listen(o->metrics, &sv->fd, sv->where, sizeof(sv->where));
	if (!err)
		return 0;
	if (err == -EINVAL)
		bw_err("invalid --metrics address '%s': [ADDR:]PORT, ADDR numeric, "
		       "IPv6 in [] (see --help)", o->metrics);
	else
		bw_err("cannot serve metrics on '%s': %s", o->metrics, strerror(-err));
	return err == -EINVAL ? BW_EXIT_USAGE : BW_EXIT_FAIL;
}

int serve_open(const struct bw_opts *o, const struct bw_loader *l, struct serve **out)
{
	struct serve *sv;
	int ret = 0;

	*out = NULL;
	if (!o->metrics && !o->log_events)
		return 0;
	sv = calloc(1, sizeof(*sv));
	if (!sv) {
		bw_err("out of memory");
		return BW_EXIT_FAIL;
	}
	sv->fd = -1;
	sv->loader = l;
	if (o->metrics)
		ret = open_metrics(o, sv);
	if (!ret && o->log_events) {
		sv->events = bw_events__new();
		sv->log = bw_log_target(json_out(o));
		if (!sv->events) {
			bw_err("out of memory");
			ret = BW_EXIT_FAIL;
		}
	}
	if (ret) {
		serve_close(sv);
		return ret;
	}
	*out = sv;
	return 0;
}

int serve_start(struct serve *sv)
{
	int err;

	if (!sv || !sv->metrics)
		return 0;
	err = bw_http_start(sv->fd, &sv->http);
	sv->fd = -1;
	if (err) {
		bw_err("cannot start the metrics server: %s", strerror(-err));
		return err;
	}
	publish(sv);
	bw_err("serving metrics on %s", sv->where);
	return 0;
}

static void self_stats(const struct serve *sv, struct bw_mself *me)
{
	struct rusage ru;
	unsigned long pages = 0, rss = 0;
	FILE *f;

	memset(me, 0, sizeof(*me));
	if (!getrusage(RUSAGE_SELF, &ru))
		me->cpu_s = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
			    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	f = fopen("/proc/self/statm", "re");
	if (f) {
		if (fscanf(f, "%lu %lu", &pages, &rss) == 2)
			me->rss_bytes = (uint64_t)rss * (uint64_t)sysconf(_SC_PAGESIZE);
		fclose(f);
	}
	bw_loader__run_time(sv->loader, &me->bpf_run_ns, &me->bpf_runs);
	me->log_lost = sv->log_lost;
	me->have_bpf = me->bpf_runs > 0;
}

static void on_event(void *ctx, const struct bw_change *ev)
{
	struct serve *sv = ctx;
	int err = bw_logline(sv->log, ev);

	if (!err)
		return;
	/* the journal full or gone: said once, every one counted */
	if (!sv->log_lost++)
		bw_err("cannot write to the journal: %s; lost log lines are counted "
		       "(blockwatch_log_lines_lost_total)", strerror(-err));
}

void serve_report(struct serve *sv, const struct bw_report *r)
{
	struct bw_mself me;

	if (!sv || r->kind != BW_REPORT_INTERVAL)
		return;
	if (sv->events && bw_events__report(sv->events, r, on_event, sv))
		bw_dbg("events: out of memory, some said late or not at all");
	if (!sv->http)
		return;
	self_stats(sv, &me);
	if (bw_metrics__add(&sv->m, r, &me))
		bw_dbg("metrics: out of memory, a report counted in part");
	publish(sv);
}

void serve_set_top(struct serve *sv, unsigned int n)
{
	if (sv && sv->metrics && bw_metrics__set_max(&sv->m, n))
		bw_dbg("metrics: out of memory, --metrics-top stays as it was");
}

void serve_close(struct serve *sv)
{
	if (!sv)
		return;
	bw_http_stop(sv->http);
	if (sv->fd >= 0)
		close(sv->fd);
	if (sv->metrics)
		bw_metrics__fini(&sv->m);
	bw_events__free(sv->events);
	free(sv);
}
