// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The terminal around the live view: stderr into a pipe, SIGWINCH as a
 * signalfd, and a handler for the fatal signals that restores the
 * terminal first. The handler can only reach globals: what it needs
 * (the terminal's modes from before, the escape bytes) is set here once,
 * before it is installed, and never changes while it is.
 */
#include <curses.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <term.h>
#include <termios.h>
#include <unistd.h>
#include "base/log.h"
#include "base/util.h"
#include "top/term.h"

/* What was said on stderr while the screen was up, kept to be written
 * out again; past this much only the count of what was cut. */
#define KEEP_MAX (256 * 1024)

static int saved_stderr = -1, err_r = -1, winch_fd = -1;
static char *kept;
static size_t nkept, cut;
static size_t scan; /* where the next line starts in kept */

static struct termios saved_modes;
static volatile sig_atomic_t armed;
static char restore_seq[128];
static size_t restore_len;

static const int fatal[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGQUIT,
			     SIGINT, SIGTERM, SIGHUP };
/* What each had before (a sanitizer's report, the default): run after
 * the terminal is back. SIGINT and SIGTERM get the default instead of
 * what ncurses put there (its handler exits from inside the handler). */
static struct sigaction before[BW_ARRAY_SIZE(fatal)];

int top_term_check(void)
{
	int err = 0;

	if (!isatty(STDOUT_FILENO) || !isatty(STDIN_FILENO)) {
		bw_err("top needs a terminal: %s is not one (use -f text or -f json for "
		       "reports to a file or a pipe)",
		       isatty(STDOUT_FILENO) ? "stdin" : "stdout");
		return BW_EXIT_USAGE;
	}
	if (setupterm(NULL, STDOUT_FILENO, &err) != OK) {
		const char *t = getenv("TERM");

		if (err == 0)
			bw_err("top cannot draw on terminal type '%s' (unknown to terminfo)",
			       t ? t : "");
		else
			bw_err("top cannot find the terminfo database");
		return BW_EXIT_USAGE;
	}
	del_curterm(cur_term);
	return 0;
}

static void winch_mask(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGWINCH);
}

int top_term_open(void)
{
	sigset_t set;
	int p[2], err;

	if (tcgetattr(STDIN_FILENO, &saved_modes))
		return -errno;
	winch_mask(&set);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		return -errno;
	winch_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (winch_fd < 0)
		goto fail;
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK))
		goto fail;
	/* room for a burst of messages while a report is being made; a
	 * write that does not fit is lost rather than blocking tracing */
	fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
	saved_stderr = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
	if (saved_stderr < 0 || dup2(p[1], STDERR_FILENO) < 0) {
		err = -errno;
		close(p[0]);
		close(p[1]);
		errno = -err;
		goto fail;
	}
	close(p[1]);
	err_r = p[0];
	return 0;
fail:
	err = -errno;
	top_term_close();
	return err;
}

static void add_seq(const char *cap)
{
	char *s = tigetstr((char *)cap);
	size_t n;

	if (!s || s == (char *)-1)
		return;
	n = strlen(s);
	if (restore_len + n < sizeof(restore_seq)) {
		memcpy(restore_seq + restore_len, s, n);
		restore_len += n;
	}
}

static void on_fatal(int sig, siginfo_t *si, void *uc)
{
	size_t i;

	(void)uc;
	if (armed) {
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_modes);
		if (write(STDOUT_FILENO, restore_seq, restore_len) < 0) {
			/* nothing more to do for a terminal that is gone */
		}
		armed = 0;
	}
	for (i = 0; i < BW_ARRAY_SIZE(fatal); i++)
		if (fatal[i] == sig)
			sigaction(sig, &before[i], NULL);
	/* a fault comes back when the instruction runs again, to what was
	 * there before (a sanitizer reports it where it happened); a signal
	 * sent is sent again */
	if (si->si_code <= 0 ||
	    (sig != SIGSEGV && sig != SIGBUS && sig != SIGFPE && sig != SIGILL))
		raise(sig);
}

void top_term_arm(void)
{
	struct sigaction sa = { .sa_sigaction = on_fatal, .sa_flags = SA_SIGINFO };
	size_t i;

	restore_len = 0;
	add_seq("sgr0");
	add_seq("cnorm");
	add_seq("rmcup");
	sigemptyset(&sa.sa_mask);
	armed = 1;
	/* SIGINT/SIGTERM are read from a signalfd while tracing (blocked):
	 * this handler only runs for one that comes unblocked, the second
	 * Ctrl-C, which kills at once */
	for (i = 0; i < BW_ARRAY_SIZE(fatal); i++) {
		sigaction(fatal[i], &sa, &before[i]);
		if (fatal[i] == SIGINT || fatal[i] == SIGTERM) {
			memset(&before[i], 0, sizeof(before[i]));
			before[i].sa_handler = SIG_DFL;
		}
	}
}

int top_term_errfd(void)
{
	return err_r;
}

int top_term_winchfd(void)
{
	return winch_fd;
}

/* Everything the pipe has now, appended to kept. */
static void pull(void)
{
	char buf[4096];
	ssize_t n;

	while (err_r >= 0 && (n = read(err_r, buf, sizeof(buf))) > 0) {
		size_t take = (size_t)n;
		char *k;

		if (nkept + take > KEEP_MAX) {
			cut += take;
			continue;
		}
		k = realloc(kept, nkept + take);
		if (!k) {
			cut += take;
			continue;
		}
		kept = k;
		memcpy(kept + nkept, buf, take);
		nkept += take;
	}
}

int top_term_message(char *buf, size_t len)
{
	char *nl;
	size_t n;

	pull();
	if (scan >= nkept)
		return 0;
	nl = memchr(kept + scan, '\n', nkept - scan);
	if (!nl)
		return 0;
	n = (size_t)(nl - (kept + scan));
	snprintf(buf, len, "%.*s", (int)n, kept + scan);
	scan += n + 1;
	return 1;
}

void top_term_winch_ack(void)
{
	struct signalfd_siginfo si;

	while (winch_fd >= 0 && read(winch_fd, &si, sizeof(si)) == sizeof(si))
		;
}

void top_term_close(void)
{
	sigset_t set;
	size_t i;

	if (armed) {
		armed = 0;
		for (i = 0; i < BW_ARRAY_SIZE(fatal); i++)
			sigaction(fatal[i], &before[i], NULL);
	}
	pull();
	if (saved_stderr >= 0) {
		dup2(saved_stderr, STDERR_FILENO);
		close(saved_stderr);
		saved_stderr = -1;
	}
	if (nkept && write(STDERR_FILENO, kept, nkept) < 0) {
		/* stderr is gone: nobody to tell */
	}
	if (cut)
		bw_err("(%zu bytes of messages were cut while the view was up)", cut);
	free(kept);
	kept = NULL;
	nkept = scan = cut = 0;
	if (err_r >= 0)
		close(err_r);
	err_r = -1;
	if (winch_fd >= 0) {
		close(winch_fd);
		winch_fd = -1;
		winch_mask(&set);
		sigprocmask(SIG_UNBLOCK, &set, NULL);
	}
}
