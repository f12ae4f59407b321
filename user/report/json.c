// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* One JSON object per report, one report per line. The only user of
 * json-c. */
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include "model/go.h"
#include "report/fmt.h"
#include "report/json_util.h"
#include "report/json_go.h"
#include "report/sink.h"
#include "stacks/stacktab.h"

/* The "version" of every report: the version of its shape as
 * doc/blockwatch-report.schema.json writes it down. Any change to what
 * this file or json_go.c emits changes the schema and this number. */
#define BW_JSON_SCHEMA_VERSION 1

static json_object *hex_str(uint64_t v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%#" PRIx64, v);
	return json_object_new_string(buf);
}

static json_object *fd_json(const struct bw_fd_ref *f)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "fd", json_object_new_int(f->fd));
	json_object_object_add(o, "target", json_object_new_string(f->target ? f->target : "?"));
	return o;
}

static json_object *fds_json(const struct bw_detail *d)
{
	json_object *arr = json_object_new_array_ext(d->set.n);
	uint32_t i;

	for (i = 0; i < d->set.n; i++)
		json_object_array_add(arr, fd_json(&d->set.fds[i]));
	return arr;
}

static json_object *futex_json(const struct bw_detail *d)
{
	json_object *o = json_object_new_object();
	char op[32];

	json_object_object_add(o, "kind", json_object_new_string(bw_futex_kind_name(d->futex.kind)));
	if (d->futex.kind == BW_FUTEX_WAITV)
		return o;
	if (d->futex.condvar)
		json_object_object_add(o, "condvar", hex_str(d->futex.condvar));
	bw_futex_op_name(d->futex.op, op, sizeof(op));
	json_object_object_add(o, "futex", hex_str(d->futex.addr));
	json_object_object_add(o, "op", json_object_new_string(op));
	return o;
}

/* The "detail" object; NULL (JSON null) when there is nothing to say. */
static json_object *detail_json(const struct bw_detail *d)
{
	json_object *o = NULL;

	switch (d->kind) {
	case BW_DETAIL_FUTEX:
		o = futex_json(d);
		break;
	case BW_DETAIL_FD:
		o = fd_json(&d->fd);
		break;
	case BW_DETAIL_FDSET:
		o = json_object_new_object();
		json_object_object_add(o, "fds", fds_json(d));
		break;
	case BW_DETAIL_EPOLL:
		o = json_object_new_object();
		json_object_object_add(o, "epfd", json_object_new_int(d->set.epfd));
		json_object_object_add(o, "fds", fds_json(d));
		break;
	case BW_DETAIL_CHILD:
		o = json_object_new_object();
		json_object_object_add(o, "pid", json_object_new_int(d->child.pid));
		break;
	case BW_DETAIL_NONE:
		break;
	}
	if (d->io) {
		if (!o)
			o = json_object_new_object();
		json_object_object_add(o, "syscall", bw_json_str(d->syscall));
	}
	return o;
}

static json_object *stack_json(const struct bw_stack *st)
{
	json_object *arr = json_object_new_array_ext(st->nframes);
	uint32_t i;

	for (i = 0; i < st->nframes; i++) {
		const struct bw_frame *f = &st->frames[i];
		json_object *o = json_object_new_object();

		json_object_object_add(o, "addr", bw_json_u64(f->addr));
		json_object_object_add(o, "symbol", bw_json_str(f->symbol));
		json_object_object_add(o, "module", bw_json_str(f->module));
		json_object_object_add(o, "offset", bw_json_u64(f->offset));
		if (f->file) {
			json_object_object_add(o, "file", json_object_new_string(f->file));
			json_object_object_add(o, "line", bw_json_u64(f->line));
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

	json_object_object_add(o, "tid", bw_json_u64(e->tid));
	json_object_object_add(o, "comm", json_object_new_string(e->comm));
	json_object_object_add(o, "reason", json_object_new_string(e->reason));
	json_object_object_add(o, "blocked_ns", bw_json_u64(e->blocked_ns));
	json_object_object_add(o, "interval_blocked_ns", bw_json_u64(e->interval_ns));
	json_object_object_add(o, "count", bw_json_u64(e->count));
	json_object_object_add(o, "max_ns", bw_json_u64(e->max_ns));
	json_object_object_add(o, "ongoing", json_object_new_boolean(e->ongoing));
	if (e->ongoing)
		json_object_object_add(o, "age_ns", bw_json_u64(e->age_ns));
	json_object_object_add(o, "detail", detail_json(&e->detail));
	if (e->owner) {
		json_object_object_add(o, "lock_owner", bw_json_u64(e->owner));
		json_object_object_add(o, "lock_owner_comm", json_object_new_string(e->owner_comm));
		if (e->owner_entry)
			json_object_object_add(o, "lock_owner_blocked_ns", bw_json_u64(e->owner_entry->age_ns));
	}
	if (e->nsame) {
		json_object *same = json_object_new_array_ext(e->nsame);
		uint32_t i;

		for (i = 0; i < e->nsame; i++)
			json_object_array_add(same, bw_json_u64(e->same_tids[i]));
		json_object_object_add(o, "idle_like_it", same);
	}
	json_object_object_add(o, "truncated", json_object_new_boolean(e->stack->truncated));
	json_object_object_add(o, "stack", stack_json(e->stack));
	return o;
}

static json_object *procs_json(const struct bw_report *r)
{
	json_object *procs = json_object_new_array_ext(r->nprocs);
	size_t i, j;

	for (i = 0; i < r->nprocs; i++) {
		const struct bw_proc_report *p = r->procs[i];
		json_object *po = json_object_new_object();
		json_object *threads = json_object_new_array_ext(p->nthreads);

		json_object_object_add(po, "pid", bw_json_u64(p->pid));
		json_object_object_add(po, "comm", json_object_new_string(p->comm));
		json_object_object_add(po, "blocked_ns", bw_json_u64(p->blocked_ns));
		for (j = 0; j < p->nthreads; j++)
			json_object_array_add(threads, entry_json(p->threads[j]));
		json_object_object_add(po, "threads", threads);
		if (p->go)
			json_object_object_add(po, "go", bw_go_json(p->go));
		json_object_array_add(procs, po);
	}
	return procs;
}

static json_object *deadlocks_json(const struct bw_report *r)
{
	json_object *arr = json_object_new_array_ext(r->ndeadlocks);
	size_t i, j;

	for (i = 0; i < r->ndeadlocks; i++) {
		json_object *cyc = json_object_new_array_ext(r->deadlocks[i].n);

		for (j = 0; j < r->deadlocks[i].n; j++)
			json_object_array_add(cyc, bw_json_u64(r->deadlocks[i].entries[j]->tid));
		json_object_array_add(arr, cyc);
	}
	return arr;
}

static int json_emit(struct bw_sink *s, const struct bw_report *r)
{
	json_object *root = json_object_new_object(), *drops;
	const char *text;
	char when[40], *fixed = NULL;
	int i, err;

	if (!root)
		return -ENOMEM;
	bw_fmt_time(r->time_ns, when, sizeof(when));
	json_object_object_add(root, "version", json_object_new_int(BW_JSON_SCHEMA_VERSION));
	json_object_object_add(root, "time", json_object_new_string(when));
	json_object_object_add(root, "interval_ns", bw_json_u64(r->interval_ns));
	json_object_object_add(root, "threshold_ns", bw_json_u64(r->threshold_ns));
	drops = json_object_new_object();
	for (i = 0; i < BW_DROP_MAX; i++)
		json_object_object_add(drops, bw_drop_names[i], bw_json_u64(r->dropped[i]));
	json_object_object_add(root, "dropped", drops);
	json_object_object_add(root, "above_threshold_count", bw_json_u64(r->slow_count));
	json_object_object_add(root, "below_threshold_count", bw_json_u64(r->short_count));
	json_object_object_add(root, "below_threshold_ns", bw_json_u64(r->short_ns));
	drops = json_object_new_object();
	json_object_object_add(drops, "missed_switch_in", bw_json_u64(r->late_count));
	json_object_object_add(root, "recovered", drops);
	json_object_object_add(root, "processes", procs_json(r));
	json_object_object_add(root, "deadlocks", deadlocks_json(r));
	drops = json_object_new_array_ext(r->nwarnings);
	for (i = 0; i < (int)r->nwarnings; i++)
		json_object_array_add(drops, json_object_new_string(r->warnings[i]));
	json_object_object_add(root, "warnings", drops);
	text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN |
							    JSON_C_TO_STRING_NOSLASHESCAPE);
	/* json-c copies a string's bytes as they are, and a comm or a path
	 * can hold any: made valid UTF-8 once here, for every string. */
	err = text ? bw_json_utf8(text, &fixed) : -ENOMEM;
	if (!err) {
		fprintf(s->out, "%s\n", fixed ? fixed : text);
		err = bw_sink_flush(s);
	}
	free(fixed);
	json_object_put(root);
	return err;
}

const struct bw_sink_ops bw_sink_json = {
	.name = "json",
	.emit = json_emit,
};
