// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "base/clock.h"
#include "base/log.h"
#include "proc/procfs.h"
#include "stacks/procmap.h"

/*
 * libdwfl opens a module's file lazily, long after the Dwfl was built;
 * each module's userdata slot points at its procmap, so the callback
 * knows whose file it is.
 */
static int find_elf(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
		    char **file_name, Elf **elfp)
{
	const struct procmap *pm = *userdata;
	int fd = pm ? procfs_open_mapped(pm->pid, modname) : -1;

	if (fd >= 0) {
		*file_name = strdup(modname);
		*elfp = NULL;
		return fd;
	}
	/* The same path in our own mount namespace is another file when
	 * the process has a root of its own (a container). */
	if (modname[0] == '/' && (!pm || pm->foreign_root))
		return -1;
	/* the vdso, read from the process's memory */
	return dwfl_linux_proc_find_elf(mod, userdata, modname, base, file_name, elfp);
}

void procmap_callbacks(Dwfl_Callbacks *cb, char **debuginfo_path)
{
	memset(cb, 0, sizeof(*cb));
	cb->find_elf = find_elf;
	cb->find_debuginfo = dwfl_standard_find_debuginfo;
	cb->debuginfo_path = debuginfo_path;
}

static int claim_module(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr start,
			void *arg)
{
	(void)mod;
	(void)name;
	(void)start;
	*userdata = arg;
	return DWARF_CB_OK;
}

static void drop_dwfl(struct procmap *pm)
{
	if (pm->dwfl)
		dwfl_end(pm->dwfl);
	pm->dwfl = NULL;
	pm->attached = false;
}

int procmap__rebuild(struct procmap *pm, const Dwfl_Callbacks *cb)
{
	int err;

	struct jitmap *jit = jitmap__new(pm->pid);

	drop_dwfl(pm);
	if (!jit)
		return -ENOMEM; /* the old map stays: never a NULL one */
	jitmap__free(pm->jit);
	pm->jit = jit;
	pm->foreign_root = procfs_foreign_root(pm->pid);
	pm->built_ns = bw_mono_ns();
	pm->generation++;
	pm->dwfl = dwfl_begin(cb);
	if (!pm->dwfl)
		return -ENOMEM;
	dwfl_report_begin(pm->dwfl);
	err = dwfl_linux_proc_report(pm->dwfl, pm->pid);
	dwfl_report_end(pm->dwfl, NULL, NULL);
	if (err) {
		drop_dwfl(pm);
		return err > 0 ? -err : -ESRCH;
	}
	/* before attaching: that opens a first file already */
	dwfl_getmodules(pm->dwfl, claim_module, pm, 0);
	pm->attached = bw_unwind_attach(pm->dwfl, pm->pid, &pm->uw);
	if (!pm->attached)
		bw_dbg("pid %d: no unwinder state: %s", pm->pid, dwfl_errmsg(-1));
	return 0;
}

struct procmap *procmap__new(pid_t pid, const Dwfl_Callbacks *cb)
{
	struct procmap *pm = calloc(1, sizeof(*pm));

	if (!pm)
		return NULL;
	pm->pid = pid;
	if (procmap__rebuild(pm, cb) == -ENOMEM || !pm->jit) {
		procmap__free(pm);
		return NULL;
	}
	if (!pm->dwfl)
		bw_dbg("pid %d: cannot read its mappings", pid);
	return pm;
}

void procmap__free(struct procmap *pm)
{
	if (!pm)
		return;
	drop_dwfl(pm);
	jitmap__free(pm->jit);
	free(pm);
}

bool procmap__module(struct procmap *pm, uint64_t addr, struct bw_module *m)
{
	GElf_Addr vaddr;
	Dwarf_Addr start, end;

	memset(m, 0, sizeof(*m));
	m->mod = pm->dwfl ? dwfl_addrmodule(pm->dwfl, addr) : NULL;
	if (!m->mod)
		return false;
	m->name = dwfl_module_info(m->mod, NULL, &start, &end, NULL, NULL, NULL, NULL);
	if (m->name && !strncmp(m->name, "[vdso", 5))
		m->name = "[vdso]";
	if (!m->name)
		m->name = "[unknown]";
	m->start = start;
	m->end = end;
	m->elf = dwfl_module_getelf(m->mod, &m->bias);
	m->build_id_len = dwfl_module_build_id(m->mod, &m->build_id, &vaddr);
	if (m->build_id_len <= 0) {
		m->build_id = NULL;
		m->build_id_len = 0;
	}
	return true;
}
