/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_TOP_ROWS_H
#define BW_TOP_ROWS_H

/*
 * The live view's model, apart from the terminal: every second's report
 * becomes rows (the threads and goroutine groups blocked now, their
 * strings escaped and cut for the screen) and per-process totals, with
 * what the view accumulates over the run (each thread's blocked time and
 * blocks, the drops). Selecting, filtering and sorting the rows is here
 * too, so the unit tests reach it without ncurses.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "model/report.h"

struct bw_stack;

enum top_sort {
	TOP_SORT_AGE,	/* blocked for the longest now */
	TOP_SORT_TOTAL, /* most blocked time since the view started */
	TOP_SORT_COUNT, /* most blocks since it started (goroutines in a group) */
	TOP_SORT_MAX,
};

extern const char *const top_sort_names[TOP_SORT_MAX];

enum top_kind {
	TOP_THREAD,
	TOP_GROUP, /* goroutines alike, of a Go process */
};

#define TOP_NAME 72  /* an escaped comm or reason */
#define TOP_TEXT 256 /* an escaped wait detail or frame */

struct top_row {
	enum top_kind kind;
	uint32_t pid;
	uint32_t tid; /* 0 for a group */
	uint64_t key; /* the same thread or group in the next report has the same */
	char comm[TOP_NAME]; /* a group: its process's */
	char reason[TOP_NAME];
	bool age_known;
	uint64_t age_ns;   /* a group: its oldest member's */
	bool has_total;	   /* groups have none */
	uint64_t total_ns; /* past-threshold blocked time since the view started */
	uint64_t count;	   /* past-threshold blocks since then; a group: goroutines */
	uint32_t owner;	   /* lock holder's tid, 0: none */
	char owner_comm[TOP_NAME];
	char wait[TOP_TEXT];  /* what it waits on, "" if nothing known */
	char frame[TOP_TEXT]; /* its top user frame (the first outside libc & co.) */
	/* the whole stack, rendered when the row is expanded */
	struct bw_stack *stack; /* a thread: a reference of the row's */
	uint32_t nlines;	/* a group: its frames, rendered now (their
				 * strings belong to the Go binary) */
	char **lines;
};

struct top_proc {
	uint32_t pid;
	char comm[TOP_NAME];
	uint32_t threads;    /* blocked now */
	uint32_t groups;     /* goroutine groups waiting */
	uint64_t goroutines; /* in those groups */
	uint64_t blocked_ns; /* in the last interval */
};

struct top_stat;

struct top_model {
	struct top_row *rows;
	size_t nrows;
	struct top_proc *procs; /* most blocked threads first */
	size_t nprocs;
	uint64_t time_ns; /* of the report the rows are from */
	uint64_t interval_ns;
	uint64_t threshold_ns;
	uint64_t reports;		/* taken in */
	uint64_t dropped[BW_DROP_MAX];	/* over the run */
	uint64_t short_count;		/* over the run */
	const char *warning;		/* the first of the report's, or NULL */
	struct top_stat *stats;		/* per thread, over the run */
};

struct top_filter {
	uint32_t pid;	  /* 0: every process */
	char reason[TOP_NAME]; /* "": every reason; else a part of it */
};

struct top_model *top_model__new(void);
void top_model__free(struct top_model *m);
/* Take in one report: the run's totals always; the rows and processes
 * only if @rows (a paused view keeps the ones it shows). 0 or -ENOMEM
 * (the model is then as before, its totals aside). */
int top_model__update(struct top_model *m, const struct bw_report *r, bool rows);

bool top_row_match(const struct top_row *row, const struct top_filter *f);
/* Negative when @a goes first under @by; ties by pid, then tid. */
int top_row_cmp(const struct top_row *a, const struct top_row *b, enum top_sort by);
/* The rows @f lets through, sorted by @by, as pointers into @m (valid
 * until its next update with rows): *@out malloc'ed. The count or
 * -ENOMEM. */
long top_select(const struct top_model *m, const struct top_filter *f, enum top_sort by,
		const struct top_row ***out);

/* The expanded entry, line by line (its frames, escaped, and for a
 * group where it was created); the count of lines or -ENOMEM. *@out is
 * malloc'ed, each line too (top_lines_free). */
long top_row_lines(const struct top_row *row, char ***out);
void top_lines_free(char **lines, long n);

#endif
