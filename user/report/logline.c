// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Log lines of events (daemon/events.h): to the journal as structured
 * fields when stderr is the journal's stream (systemd sets
 * $JOURNAL_STREAM to its device:inode), else a line on stderr, in JSON
 * when the run's reports are JSON. libsystemd's sd_journal_send: the
 * journal's native protocol, fields and all, without our own socket code.
 */
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <systemd/sd-journal.h>
#include "base/log.h"
#include "daemon/events.h"
#include "report/fmt.h"
#include "report/json_util.h"
#include "report/logline.h"
#include "report/text.h"
#include "stacks/stacktab.h"

#define LOG_FRAMES 4

static const char *const kind_names[] = {
	[BW_EV_BLOCKED] = "blocked",	   [BW_EV_WOKE] = "woke",
	[BW_EV_DEADLOCK] = "deadlock",	   [BW_EV_DEADLOCK_GONE] = "deadlock-gone",
	[BW_EV_LEAK] = "go-leak-suspect", [BW_EV_LEAK_GONE] = "go-leak-gone",
};

enum bw_log_target bw_log_target(bool json)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 && !fstat(2, &st) &&
	    st.st_dev == dev && st.st_ino == ino)
		return BW_LOG_JOURNAL;
	return json ? BW_LOG_JSON : BW_LOG_TEXT;
}

/* "f1 < f2 < f3": the innermost frames, named or module+offset. */
static void frames_text(const struct bw_entry *e, char *buf, size_t len)
{
	struct bw_strbuf sb = { .buf = buf, .len = len };
	uint32_t i, n = 0;

	buf[0] = 0;
	for (i = 0; e && e->stack && i < e->stack->nframes && n < LOG_FRAMES; i++) {
		const struct bw_frame *f = &e->stack->frames[i];

		if (f->kernel)
			continue;
		bw_sb_printf(&sb, "%s", n++ ? " < " : "");
		if (f->symbol)
			bw_sb_esc(&sb, f->symbol);
		else if (f->module)
			bw_sb_printf(&sb, "%s+%#" PRIx64, strrchr(f->module, '/') ?
				     strrchr(f->module, '/') + 1 : f->module, f->offset);
		else
			bw_sb_printf(&sb, "%#" PRIx64, f->addr);
	}
}

static void tids_text(const struct bw_change *ev, char *buf, size_t len)
{
	struct bw_strbuf sb = { .buf = buf, .len = len };
	uint32_t i;

	buf[0] = 0;
	for (i = 0; i < ev->ntids; i++)
		bw_sb_printf(&sb, "%s%u", i ? ", " : "", ev->tids[i]);
}

/* The line people read, whatever the target. */
static void message(const struct bw_change *ev, const char *wait, const char *frames, char *buf,
		    size_t len)
{
	char cbuf[BW_ESC_LEN], tbuf[BW_ESC_LEN], owner[BW_ESC_LEN], age[16], tids[96];
	const char *comm = BW_ESC(ev->comm, cbuf), *thread = BW_ESC(ev->thread, tbuf);
	const struct bw_entry *e = ev->entry;
	struct bw_strbuf sb = { .buf = buf, .len = len };

	bw_fmt_duration(ev->age_ns, age, sizeof(age));
	tids_text(ev, tids, sizeof(tids));
	switch (ev->kind) {
	case BW_EV_BLOCKED:
		bw_sb_printf(&sb, "blocked: pid %u (%s) thread %u (%s), %s", ev->pid, comm, ev->tid,
			     thread, ev->reason);
		if (wait[0])
			bw_sb_printf(&sb, " on %s", wait);
		if (e && e->owner)
			bw_sb_printf(&sb, ", lock held by %u (%s)", e->owner,
				     BW_ESC(e->owner_comm, owner));
		bw_sb_printf(&sb, ", for %s so far", age);
		if (frames[0])
			bw_sb_printf(&sb, ", in %s", frames);
		break;
	case BW_EV_WOKE:
		bw_sb_printf(&sb, "woke: pid %u (%s) thread %u (%s), %s, after %s%s", ev->pid, comm,
			     ev->tid, thread, ev->reason, ev->exact ? "" : "at least ", age);
		break;
	case BW_EV_DEADLOCK:
		bw_sb_printf(&sb, "deadlock: pid %u (%s), threads %s", ev->pid, comm, tids);
		break;
	case BW_EV_DEADLOCK_GONE:
		bw_sb_printf(&sb, "deadlock gone: pid %u (%s), threads %s, after %s", ev->pid, comm,
			     tids, age);
		break;
	case BW_EV_LEAK:
		bw_sb_printf(&sb, "go leak suspect: pid %u (%s), %u goroutines (%s) at ", ev->pid,
			     comm, ev->count, ev->reason);
		bw_sb_esc(&sb, ev->site);
		bw_sb_printf(&sb, ", +%.0f/min", ev->growth_per_min);
		break;
	case BW_EV_LEAK_GONE:
		bw_sb_printf(&sb, "go leak suspect gone: pid %u (%s) at ", ev->pid, comm);
		bw_sb_esc(&sb, ev->site);
		bw_sb_printf(&sb, ", after %s", age);
		break;
	}
}

static bool alarming(enum bw_event_kind k)
{
	return k == BW_EV_BLOCKED || k == BW_EV_DEADLOCK || k == BW_EV_LEAK;
}

static int to_journal(const struct bw_change *ev, const char *msg, const char *wait,
		      const char *frames)
{
	const struct bw_entry *e = ev->entry;
	char tids[96];
	int r;

	tids_text(ev, tids, sizeof(tids));
	r = sd_journal_send("MESSAGE=%s", msg, "PRIORITY=%d", alarming(ev->kind) ? LOG_WARNING :
			    LOG_INFO, "SYSLOG_IDENTIFIER=blockwatch", "BLOCKWATCH_EVENT=%s",
			    kind_names[ev->kind], "BLOCKWATCH_PID=%u", ev->pid,
			    "BLOCKWATCH_COMM=%s", ev->comm, "BLOCKWATCH_TID=%u", ev->tid,
			    "BLOCKWATCH_THREAD=%s", ev->thread, "BLOCKWATCH_REASON=%s", ev->reason,
			    "BLOCKWATCH_WAIT=%s", wait, "BLOCKWATCH_OWNER_TID=%u",
			    e ? e->owner : 0, "BLOCKWATCH_AGE_NS=%" PRIu64, ev->age_ns,
			    "BLOCKWATCH_FRAMES=%s", frames, "BLOCKWATCH_TIDS=%s", tids,
			    "BLOCKWATCH_SITE=%s", ev->site, NULL);
	return r < 0 ? r : 0;
}

static void to_json(const struct bw_change *ev, const char *msg, const char *wait,
		    const char *frames)
{
	struct json_object *o = json_object_new_object(), *t;
	const struct bw_entry *e = ev->entry;
	char *fixed = NULL;
	const char *text;
	uint32_t i;

	if (!o)
		return;
	json_object_object_add(o, "event", json_object_new_string(kind_names[ev->kind]));
	json_object_object_add(o, "pid", json_object_new_int64(ev->pid));
	json_object_object_add(o, "comm", json_object_new_string(ev->comm));
	if (ev->kind == BW_EV_BLOCKED || ev->kind == BW_EV_WOKE) {
		json_object_object_add(o, "tid", json_object_new_int64(ev->tid));
		json_object_object_add(o, "thread", json_object_new_string(ev->thread));
		json_object_object_add(o, "reason", json_object_new_string(ev->reason));
	}
	if (wait[0])
		json_object_object_add(o, "wait", json_object_new_string(wait));
	if (e && e->owner)
		json_object_object_add(o, "owner_tid", json_object_new_int64(e->owner));
	json_object_object_add(o, "age_ns", json_object_new_uint64(ev->age_ns));
	if (frames[0])
		json_object_object_add(o, "frames", json_object_new_string(frames));
	if (ev->ntids) {
		t = json_object_new_array();
		for (i = 0; i < ev->ntids; i++)
			json_object_array_add(t, json_object_new_int64(ev->tids[i]));
		json_object_object_add(o, "tids", t);
	}
	if (ev->site[0])
		json_object_object_add(o, "site", json_object_new_string(ev->site));
	json_object_object_add(o, "message", json_object_new_string(msg));
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
						 JSON_C_TO_STRING_NOSLASHESCAPE);
	if (text && !bw_json_utf8(text, &fixed)) {
		bw_status_clear();
		fprintf(stderr, "%s\n", fixed ? fixed : text);
	}
	free(fixed);
	json_object_put(o);
}

int bw_logline(enum bw_log_target target, const struct bw_change *ev)
{
	char wait[256] = "", frames[512], msg[1024];

	if (ev->entry)
		bw_text_detail(&ev->entry->detail, wait, sizeof(wait));
	frames_text(ev->entry, frames, sizeof(frames));
	message(ev, wait, frames, msg, sizeof(msg));
	if (target == BW_LOG_JOURNAL)
		return to_journal(ev, msg, wait, frames);
	else if (target == BW_LOG_JSON)
		to_json(ev, msg, wait, frames);
	else {
		/* escaped piece by piece already: not bw_err, which would
		 * escape the escapes */
		bw_status_clear();
		fprintf(stderr, "blockwatch: %s\n", msg);
	}
	return 0;
}
