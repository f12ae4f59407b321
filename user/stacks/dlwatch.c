// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "base/clock.h"
#include "base/log.h"
#include "proc/procfs.h"
#include "stacks/dlwatch.h"

/* loader files met: probed or not, each tried once */
#define MAX_FILES 64

struct dl_file {
	dev_t dev;
	ino_t ino;
	int err; /* of the probe: 0 attached */
};

struct dlwatch {
	struct dl_ops ops;
	struct dl_file files[MAX_FILES];
	size_t nfiles;
};

struct dlwatch *dlwatch__new(const struct dl_ops *ops)
{
	struct dlwatch *dw = calloc(1, sizeof(*dw));

	if (dw && ops)
		dw->ops = *ops;
	return dw;
}

void dlwatch__free(struct dlwatch *dw)
{
	free(dw);
}

/* glibc's ld-linux-x86-64.so.2, ld-2.31.so; musl's ld-musl-x86_64.so.1 */
static bool loader_name(const char *path)
{
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	return !strncmp(base, "ld-", 3) && strstr(base, ".so");
}

static int find_loader(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr start,
		       void *arg)
{
	const char **found = arg;

	(void)mod;
	(void)userdata;
	(void)start;
	if (name && name[0] == '/' && loader_name(name)) {
		*found = name;
		return DWARF_CB_ABORT;
	}
	return DWARF_CB_OK;
}

/* The probe of @pm's loader: 0 when it is attached. */
static int probed(struct dlwatch *dw, struct procmap *pm, const char *path)
{
	struct dl_file *f;
	struct stat st;
	size_t i;
	int fd = procfs_open_mapped(pm->pid, path), err;

	if (fd < 0)
		return -ENOENT;
	if (fstat(fd, &st)) {
		err = -errno;
		close(fd);
		return err;
	}
	for (i = 0; i < dw->nfiles; i++) {
		f = &dw->files[i];
		if (f->dev == st.st_dev && f->ino == st.st_ino) {
			close(fd);
			return f->err;
		}
	}
	err = dw->ops.probe(dw->ops.ctx, fd);
	close(fd);
	if (err)
		bw_dbg("pid %d: cannot probe its loader %s (%s): its maps are read every %llu ms",
		       pm->pid, path, strerror(-err),
		       (unsigned long long)(PROCMAP_CHECK_NS / BW_NSEC_PER_MSEC));
	else
		bw_dbg("probing the loader %s (dlopen and dlclose, from pid %d)", path, pm->pid);
	if (dw->nfiles < MAX_FILES)
		dw->files[dw->nfiles++] = (struct dl_file){ st.st_dev, st.st_ino, err };
	return err;
}

/* The kernel side batches the wake-ups of @pm's records: its mappings
 * are held. */
static void batch(struct dlwatch *dw, struct procmap *pm)
{
	if (!pm->dl_batched && !dw->ops.watch(dw->ops.ctx, pm->pid, true))
		pm->dl_batched = true;
}

void dlwatch__attach(struct dlwatch *dw, struct procmap *pm)
{
	const char *path = NULL;

	if (!dw->ops.probe || pm->dl_watching || !pm->dwfl)
		return;
	dwfl_getmodules(pm->dwfl, find_loader, &path, 0);
	if (!path || probed(dw, pm, path)) {
		/* nothing will announce its changes: compared by time (every
		 * PROCMAP_CHECK_NS, when a record comes), as a record that
		 * woke userspace at once was; that it waits up to
		 * BW_WAKE_NS to be read changes nothing of it. A wake-up a
		 * record was a static Go service's whole cost here. */
		batch(dw, pm);
		return;
	}
	if (dw->ops.watch(dw->ops.ctx, pm->pid, true))
		return;
	pm->dl_batched = false;
	pm->dl_watching = true;
	/* a change from now on is announced; one before is found by the
	 * next comparison, the first made after this */
	pm->dl_since_ns = bw_mono_ns();
}

void dlwatch__detach(struct dlwatch *dw, struct procmap *pm)
{
	if (!pm->dl_watching && !pm->dl_batched)
		return;
	dw->ops.watch(dw->ops.ctx, pm->pid, false);
	pm->dl_watching = false;
	pm->dl_batched = false;
	pm->dl_since_ns = 0;
}
