// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sys/stat.h>
#include "base/log.h"
#include "base/util.h"
#include "report/sink.h"

extern const struct bw_sink_ops bw_sink_text;
extern const struct bw_sink_ops bw_sink_json;
extern const struct bw_sink_ops bw_sink_folded;
extern const struct bw_sink_ops bw_sink_pprof;
extern const struct bw_sink_ops bw_sink_pprof_go;
extern const struct bw_sink_ops bw_sink_svg;

/* Every output format: one line each. The first is the default. */
static const struct bw_sink_ops *const formats[] = {
	&bw_sink_text,
	&bw_sink_json,
	&bw_sink_folded,
	&bw_sink_pprof,
	&bw_sink_pprof_go,
	&bw_sink_svg,
};

struct bw_sinks {
	int n;
	struct bw_profile *prof; /* NULL: no whole-run sink */
	bool prof_failed;	 /* a report could not be added (said once) */
	struct bw_sink sinks[];
};

const struct bw_sink_ops *bw_sink_find(const char *name)
{
	size_t i;

	for (i = 0; i < BW_ARRAY_SIZE(formats); i++)
		if (!strcmp(formats[i]->name, name))
			return formats[i];
	return NULL;
}

void bw_sink_names(char *buf, size_t len)
{
	size_t i, off = 0;

	buf[0] = 0;
	for (i = 0; i < BW_ARRAY_SIZE(formats) && off < len; i++)
		off += snprintf(buf + off, len - off, "%s%s", i ? ", " : "", formats[i]->name);
}

/* The FILE's writes: whole, retried on EINTR; a failure is kept. */
static ssize_t sink_write(void *cookie, const char *buf, size_t len)
{
	struct bw_sink *s = cookie;
	size_t done = 0;

	while (done < len) {
		ssize_t n = write(s->fd, buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (!s->write_err)
				s->write_err = n < 0 ? -errno : -EIO;
			return -1;
		}
		done += n;
	}
	return (ssize_t)len;
}

int bw_sink_attach(struct bw_sink *s, int fd)
{
	cookie_io_functions_t io = { .write = sink_write };

	if (fd >= 0)
		s->fd = fd;
	s->out = fopencookie(s, "w", io);
	return s->out ? 0 : -errno;
}

int bw_sink_flush(struct bw_sink *s)
{
	int bad = fflush(s->out), err;

	err = s->write_err;
	s->write_err = 0;
	if (!bad && !ferror(s->out) && !err)
		return 0;
	clearerr(s->out);
	return err ? err : -EIO;
}

static const char *where(const struct bw_sink *s)
{
	return s->path ? s->path : "stdout";
}

int bw_sinks__open(const struct bw_sink_spec *specs, int n, const struct bw_sink_cfg *cfg,
		   struct bw_sinks **out)
{
	struct bw_sinks *ss = calloc(1, sizeof(*ss) + n * sizeof(ss->sinks[0]));
	int i, err;

	if (!ss) {
		bw_err("out of memory");
		return BW_EXIT_FAIL;
	}
	for (i = 0; i < n; i++) {
		struct bw_sink *s = &ss->sinks[i];

		s->ops = bw_sink_find(specs[i].format);
		s->cfg = cfg;
		s->path = specs[i].path;
		s->fd = s->path ? open(s->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)
				: STDOUT_FILENO;
		if (!s->ops || s->fd < 0 || bw_sink_attach(s, -1)) {
			bw_err("cannot open output '%s': %s", where(s),
			       s->ops ? strerror(errno) : "unknown format");
			if (s->path && s->fd >= 0)
				close(s->fd);
			goto fail;
		}
		ss->n++;
		if (s->ops->write && !ss->prof && !(ss->prof = profile__new())) {
			bw_err("out of memory");
			goto fail;
		}
		err = s->ops->open ? s->ops->open(s) : 0;
		if (err) {
			bw_err("cannot set up %s output: %s", s->ops->name, strerror(-err));
			goto fail;
		}
	}
	*out = ss;
	return 0;
fail:
	bw_sinks__close(ss);
	return BW_EXIT_FAIL;
}

/* Reported once per streak of failures; EPIPE (the reader is gone)
 * closes the sink for good. */
static void emitted(struct bw_sink *s, int err)
{
	if (!err) {
		if (s->failing)
			bw_err("writing %s reports to '%s' again", s->ops->name, where(s));
		s->failing = false;
		return;
	}
	s->failed = true;
	if (err == -EPIPE) {
		bw_err("cannot write %s report to '%s': %s; no more reports there",
		       s->ops->name, where(s), strerror(-err));
		s->closed = true;
	} else if (!s->failing) {
		bw_err("cannot write %s report to '%s': %s; tracing goes on", s->ops->name,
		       where(s), strerror(-err));
	}
	s->failing = true;
}

/*
 * A file removed or renamed away while blockwatch writes to it (a
 * cleanup, logrotate): its reports would go on into an inode nobody can
 * see. The name is opened again, created anew, and said once.
 */
static void follow_path(struct bw_sink *s)
{
	struct stat by_fd, by_path;
	int fd;

	if (!s->path || fstat(s->fd, &by_fd) || !S_ISREG(by_fd.st_mode))
		return;
	if (!stat(s->path, &by_path) && by_path.st_dev == by_fd.st_dev &&
	    by_path.st_ino == by_fd.st_ino)
		return;
	fflush(s->out);
	fd = open(s->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0) {
		if (!s->orphaned)
			bw_err("output '%s' was removed and cannot be made again: %s; its "
			       "reports are lost until it can", s->path, strerror(errno));
		s->orphaned = s->failed = true;
		return;
	}
	s->orphaned = false;
	bw_err("output '%s' was removed or renamed: writing to a new '%s'", s->path, s->path);
	close(s->fd);
	s->fd = fd; /* the writer writes to s->fd */
}

int bw_sinks__emit(struct bw_sinks *ss, const struct bw_report *r)
{
	int i, err, open = 0;

	if (ss->prof) {
		err = profile__add(ss->prof, r);
		if (err && !ss->prof_failed)
			bw_err("cannot add a report to the whole-run profile: %s; it misses a part",
			       strerror(-err));
		ss->prof_failed = ss->prof_failed || err;
	}
	for (i = 0; i < ss->n; i++) {
		struct bw_sink *s = &ss->sinks[i];

		if (s->closed)
			continue;
		follow_path(s);
		if (s->ops->emit)
			emitted(s, s->ops->emit(s, r));
		open += !s->closed;
	}
	return open ? 0 : -EPIPE;
}

/* A regular file holds one profile, the latest: emptied first. */
static int rewind_file(struct bw_sink *s)
{
	struct stat st;

	if (fstat(s->fd, &st) || !S_ISREG(st.st_mode))
		return 0;
	if (ftruncate(s->fd, 0) || lseek(s->fd, 0, SEEK_SET) < 0)
		return -errno;
	return 0;
}

static int dump_one(struct bw_sink *s, const struct bw_profile *p)
{
	int err = bw_sink_flush(s);

	if (!err)
		err = rewind_file(s);
	if (!err)
		err = s->ops->write(s, p);
	if (!err)
		err = bw_sink_flush(s);
	return err;
}

int bw_sinks__dump(struct bw_sinks *ss)
{
	int i, ret = 0;

	for (i = 0; ss && i < ss->n; i++) {
		struct bw_sink *s = &ss->sinks[i];

		if (s->closed || !s->ops->write)
			continue;
		emitted(s, dump_one(s, ss->prof));
		if (s->failing)
			ret = -EIO;
	}
	return ret;
}

int bw_sinks__close(struct bw_sinks *ss)
{
	int i, err, ret = 0;

	if (!ss)
		return 0;
	if (ss->prof && ss->prof->reports)
		bw_sinks__dump(ss);
	for (i = 0; i < ss->n; i++) {
		struct bw_sink *s = &ss->sinks[i];

		err = s->ops->close ? s->ops->close(s) : 0;
		if (err && !s->closed)
			emitted(s, err);
		if (s->out && fclose(s->out) && !s->failed && !s->closed) {
			bw_err("cannot write '%s': %s", where(s),
			       strerror(s->write_err ? -s->write_err : errno));
			s->failed = true;
		}
		if (s->path && close(s->fd) && !s->failed) {
			bw_err("cannot write '%s': %s", s->path, strerror(errno));
			s->failed = true;
		}
		if (s->failed)
			ret = -EIO;
	}
	profile__free(ss->prof);
	free(ss);
	return ret;
}
