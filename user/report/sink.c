// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "base/log.h"
#include "base/util.h"
#include "report/sink.h"

extern const struct bw_sink_ops bw_sink_text;
extern const struct bw_sink_ops bw_sink_json;

/* Every output format: one line each. The first is the default. */
static const struct bw_sink_ops *const formats[] = {
	&bw_sink_text,
	&bw_sink_json,
};

struct bw_sinks {
	int n;
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

int bw_sink_flush(struct bw_sink *s)
{
	int bad = fflush(s->out), err = errno;

	if (!bad && !ferror(s->out))
		return 0;
	clearerr(s->out);
	return -(bad && err ? err : EIO);
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
		s->out = s->path ? fopen(s->path, "we") : stdout;
		if (!s->ops || !s->out) {
			bw_err("cannot open output '%s': %s", where(s),
			       s->ops ? strerror(errno) : "unknown format");
			goto fail;
		}
		ss->n++;
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

int bw_sinks__emit(struct bw_sinks *ss, const struct bw_report *r)
{
	int i, open = 0;

	for (i = 0; i < ss->n; i++) {
		struct bw_sink *s = &ss->sinks[i];

		if (s->closed)
			continue;
		emitted(s, s->ops->emit(s, r));
		open += !s->closed;
	}
	return open ? 0 : -EPIPE;
}

int bw_sinks__close(struct bw_sinks *ss)
{
	int i, err, ret = 0;

	if (!ss)
		return 0;
	for (i = 0; i < ss->n; i++) {
		struct bw_sink *s = &ss->sinks[i];

		err = s->ops->close ? s->ops->close(s) : 0;
		if (err && !s->closed)
			emitted(s, err);
		if (s->out && s->out != stdout && fclose(s->out) && !s->failed) {
			bw_err("cannot write '%s': %s", s->path, strerror(errno));
			s->failed = true;
		}
		if (s->failed)
			ret = -EIO;
	}
	free(ss);
	return ret;
}
