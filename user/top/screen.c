// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The live view on the terminal (ncursesw: thread and symbol names may be
 * UTF-8, and ncurses is what every terminal over ssh is known to). Three
 * header lines (what, when, totals and drops, per-process totals), the
 * rows, a status line; sized to the terminal at every draw, so 80x24 and
 * a resize are the same code.
 */
#include <curses.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <langinfo.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>
#include "base/clock.h"
#include "cli/parse.h"
#include "report/fmt.h"
#include "top/rows.h"
#include "top/term.h"
#include "top/top.h"

#define HEADER_LINES 4	/* three of header, the column titles */
#define STATUS_NS (10 * BW_NSEC_PER_SEC) /* a message stays this long */
#define MIN_COLS 40
#define MIN_LINES 8
/* the columns before TOP FRAME: PID TID COMM REASON AGE TOTAL COUNT */
#define W_PID 7
#define W_TID 7
#define W_COMM 15
#define W_REASON 10
#define W_DUR 7
#define W_COUNT 5
#define FIXED (W_PID + W_TID + W_COMM + W_REASON + 2 * W_DUR + W_COUNT + 7)
#define DETAIL_INDENT 16
#define STACK_INDENT 18

static const char help_text[] = "a/t/c sort  p/r filter  Enter expand  space pause  q quit";

struct bw_top {
	SCREEN *scr;
	bool utf8;
	char what[160];
	struct top_model *m;
	struct top_filter filter;
	enum top_sort sort;
	bool paused;
	const struct top_row **view;
	long nview;
	long sel;   /* index in view, -1 when empty */
	uint64_t sel_key;
	bool has_expanded;
	uint64_t expanded_key;
	long first; /* the first row on the screen */
	int prompt; /* 'p', 'r' or 0 */
	char input[TOP_NAME];
	size_t ninput;
	char status[256];
	bool status_err;
	uint64_t status_at;
};

static void set_status(struct bw_top *t, bool err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_status(struct bw_top *t, bool err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->status, sizeof(t->status), fmt, ap);
	va_end(ap);
	t->status_err = err;
	t->status_at = bw_mono_ns();
}

/* Controls that reorder or break lines: bw_esc escapes them in names,
 * and here they are stopped in anything else that reaches the screen
 * (a library's own line on stderr). */
static bool reorders(wchar_t wc)
{
	return (wc >= 0x200e && wc <= 0x200f) || (wc >= 0x2028 && wc <= 0x202e) ||
	       (wc >= 0x2066 && wc <= 0x2069);
}

/*
 * @s on the screen in at most @cols columns, padded to @cols if @pad.
 * Names are escaped already (bw_esc: no control characters, valid UTF-8
 * or \xNN); whatever else comes (a library's line on stderr) has each
 * control character, and each byte of what is not UTF-8, as a '?'.
 * UTF-8 takes the columns wcwidth says; in a terminal that is not UTF-8
 * each non-ASCII byte is a '?'.
 */
static int put(const struct bw_top *t, const char *s, int cols, bool pad)
{
	mbstate_t st;
	int used = 0;

	memset(&st, 0, sizeof(st));
	while (*s && used < cols) {
		unsigned char c = (unsigned char)*s;
		size_t n = 1;
		int w = 1;

		if (c >= 0x80 && t->utf8) {
			wchar_t wc;

			n = mbrtowc(&wc, s, strlen(s), &st);
			if (n == (size_t)-1 || n == (size_t)-2 || !n) {
				memset(&st, 0, sizeof(st));
				n = 1;
				c = '?';
			} else if ((w = wcwidth(wc)) < 0 || reorders(wc)) {
				w = 1;
				c = '?';
			}
		} else if (c >= 0x80 || c < 0x20 || c == 0x7f) {
			c = '?';
		}
		if (used + w > cols)
			break;
		if (c == '?' && (unsigned char)*s != '?')
			addch('?');
		else
			addnstr(s, (int)n);
		used += w;
		s += n;
	}
	while (pad && used < cols) {
		addch(' ');
		used++;
	}
	return used;
}

/* Text at (y, x) cut to the screen's width. */
static void put_at(const struct bw_top *t, int y, int x, const char *s)
{
	if (x >= COLS)
		return;
	move(y, x);
	put(t, s, COLS - x, false);
}

static void draw_title(struct bw_top *t)
{
	char line[512], when[16] = "--:--:--", th[16];
	struct bw_strbuf sb = BW_STRBUF(line);
	const struct top_model *m = t->m;

	if (m->time_ns) {
		time_t secs = (time_t)(m->time_ns / BW_NSEC_PER_SEC);
		struct tm tm;

		localtime_r(&secs, &tm);
		strftime(when, sizeof(when), "%H:%M:%S", &tm);
	}
	bw_fmt_duration(m->threshold_ns, th, sizeof(th));
	/* what matters most first: a narrow terminal cuts the end */
	bw_sb_printf(&sb, "blockwatch top  %s  sort %s", t->what, top_sort_names[t->sort]);
	if (t->filter.pid)
		bw_sb_printf(&sb, "  pid=%u", t->filter.pid);
	if (t->filter.reason[0])
		bw_sb_printf(&sb, "  reason~%s", t->filter.reason);
	bw_sb_printf(&sb, "  %s  threshold %s", when, m->time_ns ? th : "-");
	attron(A_BOLD);
	put_at(t, 0, 0, line);
	if (t->paused) {
		attron(A_REVERSE);
		put_at(t, 0, COLS - 8 > 0 ? COLS - 8 : 0, " PAUSED ");
		attroff(A_REVERSE);
	}
	attroff(A_BOLD);
}

static void draw_totals(struct bw_top *t)
{
	const struct top_model *m = t->m;
	char line[512];
	struct bw_strbuf sb = BW_STRBUF(line);
	uint64_t threads = 0, groups = 0, gs = 0, dropped = 0;
	size_t i;

	for (i = 0; i < m->nprocs; i++) {
		threads += m->procs[i].threads;
		groups += m->procs[i].groups;
		gs += m->procs[i].goroutines;
	}
	for (i = 0; i < BW_DROP_MAX; i++)
		dropped += m->dropped[i];
	bw_sb_printf(&sb, "blocked now: %" PRIu64 " thread%s", threads, threads == 1 ? "" : "s");
	if (groups)
		bw_sb_printf(&sb, ", %" PRIu64 " goroutine group%s (%" PRIu64 " goroutines)", groups,
			     groups == 1 ? "" : "s", gs);
	bw_sb_printf(&sb, "  dropped %" PRIu64, dropped);
	if (dropped) {
		const char *sep = " (";

		for (i = 0; i < BW_DROP_MAX; i++)
			if (m->dropped[i]) {
				bw_sb_printf(&sb, "%s%s %" PRIu64, sep, bw_drop_names[i], m->dropped[i]);
				sep = ", ";
			}
		bw_sb_printf(&sb, ")");
	}
	if (m->warning)
		bw_sb_printf(&sb, "  warning: %s", m->warning);
	if (dropped)
		attron(A_BOLD);
	put_at(t, 1, 0, line);
	attroff(A_BOLD);
}

/* Per process, most blocked first, as many as fit on the line. */
static void draw_procs(struct bw_top *t)
{
	const struct top_model *m = t->m;
	char line[1024], item[256];
	struct bw_strbuf sb = BW_STRBUF(line);
	size_t i, shown = 0;

	for (i = 0; i < m->nprocs; i++) {
		const struct top_proc *p = &m->procs[i];
		struct bw_strbuf ib = BW_STRBUF(item);
		char tot[16];

		if (!p->threads && !p->groups)
			continue;
		bw_fmt_duration(p->blocked_ns, tot, sizeof(tot));
		bw_sb_printf(&ib, "%sPID %u %s: %u blocked", shown ? "  |  " : "", p->pid, p->comm,
			     p->threads);
		if (p->groups)
			bw_sb_printf(&ib, ", %" PRIu64 " goroutines", p->goroutines);
		bw_sb_printf(&ib, ", %s/s", tot);
		if ((int)(sb.off + ib.off) > COLS - 12 && shown) {
			size_t left = 0;

			for (; i < m->nprocs; i++)
				left += m->procs[i].threads || m->procs[i].groups;
			bw_sb_printf(&sb, "  +%zu more", left);
			break;
		}
		bw_sb_printf(&sb, "%s", item);
		shown++;
	}
	if (!shown)
		bw_sb_printf(&sb, m->reports ? "no thread blocked past the threshold"
					     : "waiting for the first report...");
	put_at(t, 2, 0, line);
}

static void draw_columns(struct bw_top *t)
{
	char line[256];

	snprintf(line, sizeof(line), "%*s %*s %-*s %-*s %*s %*s %*s %s", W_PID, "PID", W_TID, "TID",
		 W_COMM, "COMM", W_REASON, "REASON", W_DUR, "AGE", W_DUR, "TOTAL", W_COUNT, "COUNT",
		 "TOP FRAME");
	attron(A_REVERSE);
	move(3, 0);
	put(t, line, COLS, true);
	attroff(A_REVERSE);
}

static bool has_detail(const struct top_row *r)
{
	return r->wait[0] || r->owner;
}

static bool expanded(const struct bw_top *t, const struct top_row *r)
{
	return t->has_expanded && r->key == t->expanded_key;
}

static void draw_row(struct bw_top *t, int y, const struct top_row *r, bool selected)
{
	char age[16] = "?", tot[16] = "-", num[32];

	if (r->age_known)
		bw_fmt_duration(r->age_ns, age, sizeof(age));
	if (r->has_total)
		bw_fmt_duration(r->total_ns, tot, sizeof(tot));
	if (selected)
		attron(A_REVERSE);
	move(y, 0);
	snprintf(num, sizeof(num), "%*u ", W_PID, r->pid);
	put(t, num, COLS, false);
	if (r->kind == TOP_GROUP)
		snprintf(num, sizeof(num), "%*s ", W_TID, "go");
	else
		snprintf(num, sizeof(num), "%*u ", W_TID, r->tid);
	put(t, num, COLS - W_PID - 1, false);
	if (COLS > W_PID + W_TID + 2) {
		put(t, r->comm, W_COMM, true);
		addch(' ');
	}
	if (COLS > W_PID + W_TID + W_COMM + 3) {
		put(t, r->reason, W_REASON, true);
		snprintf(num, sizeof(num), " %*s %*s %*" PRIu64 " ", W_DUR, age, W_DUR, tot, W_COUNT,
			 r->count);
		put(t, num, COLS - (W_PID + W_TID + W_COMM + W_REASON + 3), false);
	}
	if (COLS > FIXED)
		put(t, r->frame, COLS - FIXED, selected);
	if (selected)
		attroff(A_REVERSE);
}

static void draw_detail(struct bw_top *t, int y, const struct top_row *r)
{
	char line[TOP_TEXT * 2];
	struct bw_strbuf sb = BW_STRBUF(line);

	/* the owner first: a narrow terminal cuts the end */
	if (r->owner)
		bw_sb_printf(&sb, "lock held by TID %u (%s)%s", r->owner, r->owner_comm,
			     r->wait[0] ? ", " : "");
	if (r->wait[0])
		bw_sb_printf(&sb, "on %s", r->wait);
	put_at(t, y, COLS < 100 ? DETAIL_INDENT / 2 : DETAIL_INDENT, line);
}

/* Lines @r takes on the screen; @lines: the expanded one's stack. */
static long row_height(const struct bw_top *t, const struct top_row *r, long nlines)
{
	return 1 + has_detail(r) + (expanded(t, r) ? nlines : 0);
}

static void draw_rows(struct bw_top *t)
{
	long body = LINES - HEADER_LINES - 1, used, i, k, n = 0;
	char **lines = NULL;
	int y = HEADER_LINES;

	for (i = 0; i < t->nview && !lines; i++)
		if (expanded(t, t->view[i])) {
			n = top_row_lines(t->view[i], &lines);
			if (n < 0) {
				set_status(t, true, "out of memory");
				n = 0;
				lines = NULL;
			}
			if (!n)
				lines = NULL;
			break;
		}
	/* keep the selected row on the screen, its first line at least */
	if (t->sel >= 0 && t->sel < t->first)
		t->first = t->sel;
	if (t->first >= t->nview)
		t->first = t->nview ? t->nview - 1 : 0;
	for (;;) {
		for (used = 0, i = t->first; i < t->sel; i++)
			used += row_height(t, t->view[i], n);
		if (t->sel < 0 || used + 1 + has_detail(t->view[t->sel]) <= body ||
		    t->first >= t->sel)
			break;
		t->first++;
	}
	if (!t->nview) {
		put_at(t, y, 2, t->m->nrows ? "(no row matches the filter: p and r change it)"
					    : "(nothing blocked past the threshold now)");
	}
	for (i = t->first; i < t->nview && y < LINES - 1; i++) {
		const struct top_row *r = t->view[i];

		draw_row(t, y++, r, i == t->sel);
		if (has_detail(r) && y < LINES - 1)
			draw_detail(t, y++, r);
		for (k = 0; expanded(t, r) && k < n && y < LINES - 1; k++)
			put_at(t, y++, COLS < 100 ? STACK_INDENT / 2 : STACK_INDENT, lines[k]);
	}
	top_lines_free(lines, n);
}

static void draw_status(struct bw_top *t)
{
	char line[512];
	bool recent = t->status[0] && bw_mono_ns() - t->status_at < STATUS_NS;

	if (t->prompt)
		snprintf(line, sizeof(line), "%s (empty: all, Esc: cancel): %s_",
			 t->prompt == 'p' ? "show PID" : "show reason containing", t->input);
	else if (recent)
		snprintf(line, sizeof(line), "%s", t->status);
	else
		snprintf(line, sizeof(line), "%s   %ld/%ld (%zu)", help_text,
			 t->sel >= 0 ? t->sel + 1 : 0, t->nview, t->m->nrows);
	if (recent && t->status_err && !t->prompt)
		attron(A_BOLD);
	move(LINES - 1, 0);
	put(t, line, COLS - 1, false);
	attroff(A_BOLD);
}

static void draw(struct bw_top *t)
{
	erase();
	if (COLS < MIN_COLS || LINES < MIN_LINES) {
		put_at(t, 0, 0, "blockwatch top: the terminal is too small");
		refresh();
		return;
	}
	draw_title(t);
	draw_totals(t);
	draw_procs(t);
	draw_columns(t);
	draw_rows(t);
	draw_status(t);
	refresh();
}

/* The view again after the rows, the filter or the sort changed: the
 * same row stays selected when it is still there. */
static void reselect(struct bw_top *t)
{
	long i, n;

	free(t->view);
	t->view = NULL;
	n = top_select(t->m, &t->filter, t->sort, &t->view);
	if (n < 0) {
		t->nview = 0;
		t->sel = -1;
		set_status(t, true, "out of memory");
		return;
	}
	t->nview = n;
	for (i = 0; i < n; i++)
		if (t->sel >= 0 && t->view[i]->key == t->sel_key) {
			t->sel = i;
			return;
		}
	if (t->sel >= n)
		t->sel = n - 1;
	if (t->sel < 0 && n)
		t->sel = 0;
	if (t->sel >= 0)
		t->sel_key = t->view[t->sel]->key;
}

static void move_sel(struct bw_top *t, long by)
{
	if (!t->nview)
		return;
	t->sel += by;
	if (t->sel < 0)
		t->sel = 0;
	if (t->sel >= t->nview)
		t->sel = t->nview - 1;
	t->sel_key = t->view[t->sel]->key;
}

static void apply_prompt(struct bw_top *t)
{
	unsigned int pid;

	if (t->prompt == 'r') {
		snprintf(t->filter.reason, sizeof(t->filter.reason), "%s", t->input);
	} else if (!t->ninput) {
		t->filter.pid = 0;
	} else if (bw_parse_uint(t->input, &pid) || !pid) {
		set_status(t, true, "not a PID: '%s'", t->input);
	} else {
		t->filter.pid = pid;
	}
	t->prompt = 0;
	reselect(t);
}

static void prompt_key(struct bw_top *t, int c)
{
	if (c == '\r' || c == '\n' || c == KEY_ENTER) {
		apply_prompt(t);
	} else if (c == 27) {
		t->prompt = 0;
	} else if (c == KEY_BACKSPACE || c == 127 || c == 8) {
		if (t->ninput)
			t->input[--t->ninput] = 0;
	} else if (c >= 0x20 && c < 0x7f && t->ninput + 1 < sizeof(t->input)) {
		t->input[t->ninput++] = (char)c;
		t->input[t->ninput] = 0;
	}
}

static void toggle_expand(struct bw_top *t)
{
	if (t->sel < 0)
		return;
	if (t->has_expanded && t->expanded_key == t->view[t->sel]->key) {
		t->has_expanded = false;
		return;
	}
	t->has_expanded = true;
	t->expanded_key = t->view[t->sel]->key;
}

/* One key; true: quit. */
static bool key(struct bw_top *t, int c)
{
	long page = LINES - HEADER_LINES - 1 > 2 ? (LINES - HEADER_LINES - 1) / 2 : 1;

	if (t->prompt) {
		prompt_key(t, c);
		return false;
	}
	t->status[0] = 0;
	switch (c) {
	case 'q':
	case 'Q':
		return true;
	case 'a':
	case 't':
	case 'c':
		t->sort = c == 'a' ? TOP_SORT_AGE : c == 't' ? TOP_SORT_TOTAL : TOP_SORT_COUNT;
		reselect(t);
		break;
	case 'p':
	case 'r':
		t->prompt = c;
		t->ninput = 0;
		t->input[0] = 0;
		break;
	case ' ':
		t->paused = !t->paused;
		break;
	case '\r':
	case '\n':
	case KEY_ENTER:
	case 'e':
		toggle_expand(t);
		break;
	case KEY_UP:
	case 'k':
		move_sel(t, -1);
		break;
	case KEY_DOWN:
	case 'j':
		move_sel(t, 1);
		break;
	case KEY_PPAGE:
		move_sel(t, -page);
		break;
	case KEY_NPAGE:
		move_sel(t, page);
		break;
	case KEY_HOME:
		move_sel(t, -t->nview);
		break;
	case KEY_END:
		move_sel(t, t->nview);
		break;
	case KEY_RESIZE:
		break;
	case '?':
	case 'h':
		set_status(t, false, "%s; j/k or arrows select; PgUp/PgDn", help_text);
		break;
	default:
		break;
	}
	return false;
}

bool bw_top__keys(struct bw_top *t)
{
	bool quit = false;
	int c;

	while (!quit && (c = getch()) != ERR)
		quit = key(t, c);
	if (!quit)
		draw(t);
	return quit;
}

void bw_top__resize(struct bw_top *t)
{
	struct winsize ws;

	top_term_winch_ack();
	if (!ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) && ws.ws_row && ws.ws_col)
		resizeterm(ws.ws_row, ws.ws_col);
	draw(t);
}

void bw_top__messages(struct bw_top *t)
{
	char buf[512];
	bool any = false;

	while (top_term_message(buf, sizeof(buf))) {
		const char *s = buf;

		if (!strncmp(s, "blockwatch: ", 12))
			s += 12;
		if (*s)
			set_status(t, true, "%s", s);
		any = true;
	}
	if (any)
		draw(t);
}

void bw_top__update(struct bw_top *t, const struct bw_report *r)
{
	if (top_model__update(t->m, r, !t->paused))
		set_status(t, true, "out of memory: the view is not up to date");
	if (!t->paused)
		reselect(t);
	draw(t);
}

int bw_top__keys_fd(const struct bw_top *t)
{
	(void)t;
	return STDIN_FILENO;
}

int bw_top__winch_fd(const struct bw_top *t)
{
	(void)t;
	return top_term_winchfd();
}

int bw_top__msg_fd(const struct bw_top *t)
{
	(void)t;
	return top_term_errfd();
}

struct bw_top *bw_top__open(const char *what)
{
	struct bw_top *t = calloc(1, sizeof(*t));
	int err;

	if (!t || !(t->m = top_model__new())) {
		free(t);
		errno = ENOMEM;
		return NULL;
	}
	snprintf(t->what, sizeof(t->what), "%s", what);
	t->sel = -1;
	setlocale(LC_CTYPE, "");
	t->utf8 = !strcmp(nl_langinfo(CODESET), "UTF-8");
	err = top_term_open();
	if (!err && !(t->scr = newterm(NULL, stdout, stdin)))
		err = -ENOTTY;
	if (err) {
		top_term_close();
		top_model__free(t->m);
		free(t);
		errno = -err;
		return NULL;
	}
	set_term(t->scr);
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	set_escdelay(50);
	curs_set(0);
	top_term_arm();
	draw(t);
	return t;
}

void bw_top__close(struct bw_top *t)
{
	if (!t)
		return;
	endwin();
	delscreen(t->scr);
	top_term_close();
	free(t->view);
	top_model__free(t->m);
	free(t);
}
