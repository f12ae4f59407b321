// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* One JSON object per report, one report per line. */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include "report/report.h"

static json_object *u64(uint64_t v)
{
	return json_object_new_uint64(v);
}

static json_object *str_or_null(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

static json_object *stack_json(const struct bw_stack *st)
{
	json_object *arr = json_object_new_array_ext(st->nframes);
	uint32_t i;

	for (i = 0; i < st->nframes; i++) {
		const struct bw_frame *f = &st->frames[i];
		json_object *o = json_object_new_object();

		json_object_object_add(o, "addr", u64(f->addr));
		json_object_object_add(o, "symbol", str_or_null(f->symbol));
		json_object_object_add(o, "module", str_or_null(f->module));
		json_object_object_add(o, "offset", u64(f->offset));
		if (f->file) {
			json_object_object_add(o, "file", json_object_new_string(f->file));
			json_object_object_add(o, "line", u64(f->line));
		}
		if (f->inlined)
			json_object_object_add(o, "inline", json_object_new_boolean(true));
		if (f->kernel)
			json_object_object_add(o, "kernel", json_object_new_boolean(true));
		json_object_array_add(arr, o);
	}
	return arr;
}

static json_object *entry_json(const struct bw_entry *e)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "tid", u64(e->key.tid));
	json_object_object_add(o, "comm", json_object_new_string(e->comm));
	json_object_object_add(o, "reason", json_object_new_string(e->key.reason));
	/* A still-blocked entry's blocked_ns is its age so far; the part
	 * of it inside this interval (what the process total adds up) is
	 * interval_blocked_ns, as for every entry. */
	json_object_object_add(o, "blocked_ns", u64(e->key.ongoing ? e->age_ns : e->blocked_ns));
	json_object_object_add(o, "interval_blocked_ns", u64(e->blocked_ns));
	json_object_object_add(o, "count", u64(e->count));
	json_object_object_add(o, "max_ns", u64(e->key.ongoing ? e->age_ns : e->max_ns));
	json_object_object_add(o, "ongoing", json_object_new_boolean(e->key.ongoing));
	if (e->key.ongoing)
		json_object_object_add(o, "age_ns", u64(e->age_ns));
	json_object_object_add(o, "detail", json_object_get(e->detail));
	if (e->owner) {
		json_object_object_add(o, "lock_owner", u64(e->owner));
		json_object_object_add(o, "lock_owner_comm", json_object_new_string(e->owner_comm));
		if (e->owner_entry)
			json_object_object_add(o, "lock_owner_blocked_ns", u64(e->owner_entry->age_ns));
	}
	json_object_object_add(o, "truncated", json_object_new_boolean(e->key.stack->truncated));
	json_object_object_add(o, "stack", stack_json(e->key.stack));
	return o;
}

int report_json(FILE *out, const struct bw_report *r)
{
	json_object *root = json_object_new_object(), *drops, *procs;
	char when[40];
	size_t i, j;
	int err = 0;

	if (!root)
		return -ENOMEM;
	bw_fmt_time(r->time_ns, when, sizeof(when));
	json_object_object_add(root, "time", json_object_new_string(when));
	json_object_object_add(root, "interval_ns", u64(r->interval_ns));
	json_object_object_add(root, "threshold_ns", u64(r->threshold_ns));
	drops = json_object_new_object();
	for (i = 0; i < BW_DROP_MAX; i++)
		json_object_object_add(drops, bw_drop_names[i], u64(r->dropped[i]));
	json_object_object_add(root, "dropped", drops);
	json_object_object_add(root, "above_threshold_count", u64(r->slow_count));
	json_object_object_add(root, "below_threshold_count", u64(r->short_count));
	json_object_object_add(root, "below_threshold_ns", u64(r->short_ns));
	procs = json_object_new_array_ext(r->nprocs);
	for (i = 0; i < r->nprocs; i++) {
		const struct bw_proc *p = r->procs[i];
		json_object *po = json_object_new_object();
		json_object *threads = json_object_new_array_ext(p->nthreads);

		json_object_object_add(po, "pid", u64(p->pid));
		json_object_object_add(po, "comm", json_object_new_string(p->comm));
		json_object_object_add(po, "blocked_ns", u64(p->blocked_ns));
		for (j = 0; j < p->nthreads; j++)
			json_object_array_add(threads, entry_json(p->threads[j]));
		json_object_object_add(po, "threads", threads);
		json_object_array_add(procs, po);
	}
	json_object_object_add(root, "processes", procs);
	drops = json_object_new_array_ext(r->ndeadlocks);
	for (i = 0; i < r->ndeadlocks; i++) {
		json_object *cyc = json_object_new_array_ext(r->deadlocks[i].n);

		for (j = 0; j < r->deadlocks[i].n; j++)
			json_object_array_add(cyc, u64(r->deadlocks[i].entries[j]->key.tid));
		json_object_array_add(drops, cyc);
	}
	json_object_object_add(root, "deadlocks", drops);

	if (fprintf(out, "%s\n",
		    json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN |
							 JSON_C_TO_STRING_NOSLASHESCAPE)) < 0 ||
	    fflush(out))
		err = -errno;
	json_object_put(root);
	return err;
}
