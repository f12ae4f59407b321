// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* One JSON object per report, one report per line. The only user of
 * json-c. */
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <uthash.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "model/go.h"
#include "report/fmt.h"
#include "report/json_util.h"
#include "report/json_go.h"
#include "report/sink.h"
#include "stacks/stacktab.h"

/* The "version" of every report: the version of its shape as
 * doc/blockwatch-report.schema.json writes it down. Any change to what
 * this file or json_go.c emits changes the schema and this number. */
#define BW_JSON_SCHEMA_VERSION 2

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
	return o;
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

/*
 * The line is written a piece at a time: a tree of the whole report
 * (10,000 threads with their stacks: ~200 MB of json-c objects and a
 * string of their text) is never built; at most one entry's is.
 * Each piece is @o as text, made valid UTF-8 (json-c copies a string's
 * bytes as they are, and a comm or a path can hold any); @open: without
 * its closing brace, for more members to follow. Takes @o.
 */
static int put(struct bw_sink *s, json_object *o, bool open)
{
	const char *text;
	char *fixed = NULL;
	size_t len;
	int err;

	if (!o)
		return -ENOMEM;
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
						 JSON_C_TO_STRING_NOSLASHESCAPE);
	err = text ? bw_json_utf8(text, &fixed) : -ENOMEM;
	if (!err) {
		text = fixed ? fixed : text;
		len = strlen(text);
		if (open && len && text[len - 1] == '}')
			len--;
		fwrite(text, 1, len, s->out);
	}
	free(fixed);
	json_object_put(o);
	return err;
}

/* Stacks as text, each made once per report: 10,000 threads with the
 * same stack are one stack to render. */
struct stack_text {
	UT_hash_handle hh;
	const struct bw_stack *st;
	char text[];
};

static void stack_texts_free(struct stack_text **tab)
{
	struct stack_text *t, *tmp;

	HASH_ITER(hh, *tab, t, tmp) {
		HASH_DEL(*tab, t);
		free(t);
	}
}

static const char *stack_text(struct stack_text **tab, const struct bw_stack *st)
{
	struct stack_text *t;
	char *fixed = NULL;
	const char *text;
	json_object *o;
	size_t len;

	HASH_FIND_PTR(*tab, &st, t);
	if (t)
		return t->text;
	o = json_object_new_object();
	if (!o)
		return NULL;
	json_object_object_add(o, "truncated", json_object_new_boolean(st->truncated));
	json_object_object_add(o, "stack", stack_json(st));
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
						 JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!text || bw_json_utf8(text, &fixed)) {
		json_object_put(o);
		return NULL;
	}
	text = fixed ? fixed : text;
	/* the members without the braces: they end an entry */
	len = strlen(text);
	t = len >= 2 ? malloc(sizeof(*t) + len - 1) : NULL;
	if (t) {
		t->st = st;
		memcpy(t->text, text + 1, len - 2);
		t->text[len - 2] = 0;
		HASH_ADD_PTR(*tab, st, t);
	}
	free(fixed);
	json_object_put(o);
	return t ? t->text : NULL;
}

static int put_entry(struct bw_sink *s, const struct bw_entry *e, struct stack_text **stacks)
{
	const char *st = stack_text(stacks, e->stack);
	int err;

	if (!st)
		return -ENOMEM;
	err = put(s, entry_json(e), true);
	if (!err)
		fprintf(s->out, ",%s}", st);
	return err;
}

/* Every piece after a failed one is left out: the line is cut short. */
static int put_proc(struct bw_sink *s, const struct bw_proc_report *p,
		    struct stack_text **stacks)
{
	json_object *po = json_object_new_object();
	size_t j;
	int err;

	if (!po)
		return -ENOMEM;
	json_object_object_add(po, "pid", bw_json_u64(p->pid));
	json_object_object_add(po, "comm", json_object_new_string(p->comm));
	json_object_object_add(po, "blocked_ns", bw_json_u64(p->blocked_ns));
	err = put(s, po, true);
	if (!err)
		fputs(",\"threads\":[", s->out);
	for (j = 0; !err && j < p->nthreads; j++) {
		if (j)
			fputc(',', s->out);
		err = put_entry(s, p->threads[j], stacks);
	}
	if (err)
		return err;
	fputc(']', s->out);
	if (p->go) {
		fputs(",\"go\":", s->out);
		err = put(s, bw_go_json(p->go), false);
	}
	if (!err)
		fputc('}', s->out);
	return err;
}

static int json_emit(struct bw_sink *s, const struct bw_report *r)
{
	json_object *root = json_object_new_object(), *drops;
	struct stack_text *stacks = NULL;
	char when[40];
	size_t i;
	int err, flush;

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
	drops = json_object_new_object();
	json_object_object_add(drops, "rss_bytes", bw_json_u64(r->self.rss_bytes));
	json_object_object_add(drops, "cpu_ns", bw_json_u64(r->self.cpu_ns));
	json_object_object_add(drops, "processes", bw_json_u64(r->self.procs));
	json_object_object_add(drops, "processes_mapped", bw_json_u64(r->self.mapped));
	json_object_object_add(drops, "files", bw_json_u64(r->self.files));
	json_object_object_add(drops, "stacks", bw_json_u64(r->self.stacks));
	json_object_object_add(root, "self", drops);
	err = put(s, root, true);
	if (!err)
		fputs(",\"processes\":[", s->out);
	for (i = 0; !err && i < r->nprocs; i++) {
		if (i)
			fputc(',', s->out);
		err = put_proc(s, r->procs[i], &stacks);
	}
	stack_texts_free(&stacks);
	if (!err) {
		fputs("],\"deadlocks\":", s->out);
		err = put(s, deadlocks_json(r), false);
	}
	drops = json_object_new_array_ext(r->nwarnings);
	for (i = 0; drops && i < r->nwarnings; i++)
		json_object_array_add(drops, json_object_new_string(r->warnings[i]));
	if (!err) {
		fputs(",\"warnings\":", s->out);
		err = put(s, drops, false);
	} else {
		json_object_put(drops);
	}
	/* Cut short (out of memory), the line fails to parse: a reader
	 * never takes it for a report with fewer threads. */
	fputs(err ? "\n" : "}\n", s->out);
	flush = bw_sink_flush(s);
	return err ? err : flush;
}

const struct bw_sink_ops bw_sink_json = {
	.name = "json",
	.emit = json_emit,
};
