// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "base/log.h"
#include "report/fmt.h"

int bw_verbose;

/* The status line: a global, as stderr is one for the whole process. */
static struct {
	bool on;
	bool shown; /* on the screen now */
	char text[256];
} status;

#define CLEAR_LINE "\r\033[K"

static void vlog(const char *fmt, va_list ap)
{
	char line[1024], esc[4096];

	/* One write per line, so concurrent output never interleaves. The
	 * whole line escaped: its values may be any process's names (a comm
	 * with "\r\n" or a terminal escape), and none of ours needs a
	 * control character. The status line, if shown, is taken off
	 * first and drawn again below it, in the same write. */
	vsnprintf(line, sizeof(line), fmt, ap);
	fprintf(stderr, "%sblockwatch: %s\n%s", status.shown ? CLEAR_LINE : "",
		bw_esc(line, esc, sizeof(esc)), status.shown ? status.text : "");
}

void bw_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(fmt, ap);
	va_end(ap);
}

void bw_dbg(const char *fmt, ...)
{
	va_list ap;

	if (!bw_verbose)
		return;
	va_start(ap, fmt);
	vlog(fmt, ap);
	va_end(ap);
}

bool bw_status_start(bool wanted)
{
	const char *term = getenv("TERM");

	status.on = wanted && isatty(STDERR_FILENO) && term && *term && strcmp(term, "dumb");
	return status.on;
}

/* A line longer than the terminal wraps, and "\r" no longer reaches
 * its start: cut to the width, less one for the cursor. */
static size_t width(void)
{
	struct winsize ws;

	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) || ws.ws_col < 2)
		return 79;
	return ws.ws_col - 1;
}

void bw_status_show(const char *text)
{
	size_t n = strlen(text), w = width();

	if (!status.on)
		return;
	if (n >= sizeof(status.text))
		n = sizeof(status.text) - 1;
	if (n > w)
		n = w;
	memcpy(status.text, text, n);
	status.text[n] = 0;
	fprintf(stderr, CLEAR_LINE "%s", status.text);
	status.shown = true;
}

void bw_status_clear(void)
{
	if (!status.shown)
		return;
	fputs(CLEAR_LINE, stderr);
	status.shown = false;
}

void bw_status_stop(void)
{
	bw_status_clear();
	status.on = false;
}
