// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The "go" object of a Go process in the JSON report. */
#include <json-c/json.h>
#include "model/go.h"
#include "report/json_go.h"
#include "report/json_util.h"

static json_object *frame_json(const struct bw_go_frame *f)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "symbol", bw_json_str(f->func));
	json_object_object_add(o, "file", bw_json_str(f->file));
	json_object_object_add(o, "line", bw_json_u64(f->line));
	json_object_object_add(o, "addr", bw_json_u64(f->addr));
	if (f->inlined)
		json_object_object_add(o, "inline", json_object_new_boolean(true));
	if (f->runtime)
		json_object_object_add(o, "runtime", json_object_new_boolean(true));
	return o;
}

static json_object *channel_json(const struct bw_go_channel *c, uint32_t nchannels)
{
	json_object *o;

	if (!c)
		return NULL;
	o = json_object_new_object();
	json_object_object_add(o, "addr", bw_json_u64(c->addr));
	json_object_object_add(o, "elem_type", bw_json_str(c->elem_type));
	json_object_object_add(o, "cap", bw_json_u64(c->cap));
	json_object_object_add(o, "len", bw_json_u64(c->len));
	json_object_object_add(o, "closed", json_object_new_boolean(c->closed));
	json_object_object_add(o, "send_waiting", bw_json_u64(c->send_waiting));
	json_object_object_add(o, "recv_waiting", bw_json_u64(c->recv_waiting));
	json_object_object_add(o, "channels", bw_json_u64(nchannels));
	return o;
}

static json_object *group_json(const struct bw_go_group *g)
{
	json_object *o = json_object_new_object(), *arr;
	uint32_t i;

	json_object_object_add(o, "count", bw_json_u64(g->count));
	json_object_object_add(o, "state", json_object_new_string(g->state));
	json_object_object_add(o, "wait_reason", bw_json_str(g->wait_reason));
	json_object_object_add(o, "blocking_site", g->blocking_site >= 0 ?
				frame_json(&g->frames[g->blocking_site]) : NULL);
	json_object_object_add(o, "created_by", g->created_by.func ? frame_json(&g->created_by) : NULL);
	arr = json_object_new_array_ext(g->nframes);
	for (i = 0; i < g->nframes; i++)
		json_object_array_add(arr, frame_json(&g->frames[i]));
	json_object_object_add(o, "stack", arr);
	json_object_object_add(o, "truncated", json_object_new_boolean(g->truncated));
	json_object_object_add(o, "oldest_ns", g->age_known ? bw_json_u64(g->oldest_ns) : NULL);
	json_object_object_add(o, "youngest_ns", g->age_known ? bw_json_u64(g->youngest_ns) : NULL);
	arr = json_object_new_array_ext(g->ngoids);
	for (i = 0; i < g->ngoids; i++)
		json_object_array_add(arr, bw_json_u64(g->goids[i]));
	json_object_object_add(o, "goids", arr);
	json_object_object_add(o, "channel", channel_json(g->channel, g->nchannels));
	json_object_object_add(o, "growth_per_min",
			       g->has_trend ? json_object_new_double(g->growth_per_min) : NULL);
	json_object_object_add(o, "trend_reports", bw_json_u64(g->has_trend ? g->trend_reports : 0));
	json_object_object_add(o, "leak_suspect", json_object_new_boolean(g->leak_suspect));
	json_object_object_add(o, "leak_why", g->leak_suspect ? json_object_new_string(g->leak_why)
							    : NULL);
	return o;
}

static json_object *counts_json(const struct bw_go_count *c, uint32_t n)
{
	json_object *o = json_object_new_object();
	uint32_t i;

	for (i = 0; i < n; i++)
		json_object_object_add(o, c[i].name, bw_json_u64(c[i].count));
	return o;
}

json_object *bw_go_json(const struct bw_go_view *v)
{
	json_object *o = json_object_new_object(), *arr, *skipped;
	uint32_t i;

	json_object_object_add(o, "version", json_object_new_string(v->version));
	if (v->warning) {
		json_object_object_add(o, "warning", json_object_new_string(v->warning));
		return o;
	}
	json_object_object_add(o, "goroutines", bw_json_u64(v->goroutines));
	json_object_object_add(o, "system_goroutines", bw_json_u64(v->system_goroutines));
	json_object_object_add(o, "max_goroutines", bw_json_u64(v->max_goroutines));
	json_object_object_add(o, "by_state", counts_json(v->by_state, v->nstates));
	json_object_object_add(o, "by_reason", counts_json(v->by_reason, v->nreasons));
	arr = json_object_new_array_ext(v->ngroups);
	for (i = 0; i < v->ngroups; i++)
		json_object_array_add(arr, group_json(&v->groups[i]));
	json_object_object_add(o, "groups", arr);
	skipped = json_object_new_object();
	json_object_object_add(skipped, "torn", bw_json_u64(v->torn));
	json_object_object_add(skipped, "unreadable", bw_json_u64(v->unreadable));
	json_object_object_add(skipped, "unwind_failed", bw_json_u64(v->unwind_failed));
	json_object_object_add(o, "skipped", skipped);
	json_object_object_add(o, "read_ns", bw_json_u64(v->read_ns));
	return o;
}
