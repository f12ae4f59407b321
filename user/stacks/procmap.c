// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <gelf.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include "base/clock.h"
#include "base/log.h"
#include "proc/procfs.h"
#include "stacks/debugfile.h"
#include "stacks/mapset.h"
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

	if (fd >= 0 && pm->elfs) {
		/* the handle other processes mapping the file share */
		*elfp = elfcache__get(pm->elfs, fd);
		*file_name = *elfp ? strdup(modname) : NULL;
		return -1;
	}
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

/* The file has unwind tables of its own (.eh_frame_hdr) */
static bool has_eh_frame(Dwfl_Module *mod)
{
	Dwarf_Addr bias;
	Elf *elf = dwfl_module_getelf(mod, &bias);
	size_t i, n;

	if (!elf || elf_getphdrnum(elf, &n))
		return false;
	for (i = 0; i < n; i++) {
		GElf_Phdr mem, *ph = gelf_getphdr(elf, i, &mem);

		if (ph && ph->p_type == PT_GNU_EH_FRAME)
			return true;
	}
	return false;
}

/*
 * A process Dwfl only unwinds, and libdwfl asks a module's separate
 * debug file only for .debug_frame, after .eh_frame had no rule for a
 * pc (the outermost frame, a garbage return address): opening it costs
 * decompressing all its DWARF (libc6-dbg's: 12 MB) in every process.
 * A file with a build-id is named by its shared symbolizer (elfsym),
 * which reads the debug file once; if it also has .eh_frame, its
 * process Dwfl does without. Files without either keep the standard
 * search (a debuglink, .debug_frame only there).
 */
static int find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname,
			  Dwarf_Addr base, const char *file_name, const char *debuglink_file,
			  GElf_Word debuglink_crc, char **debuginfo_file_name)
{
	const unsigned char *id;
	GElf_Addr vaddr;

	if (dwfl_module_build_id(mod, &id, &vaddr) > 0 && has_eh_frame(mod))
		return -1;
	return debugfile_find(mod, userdata, modname, base, file_name,
			      debuglink_file, debuglink_crc, debuginfo_file_name);
}

void procmap_callbacks(Dwfl_Callbacks *cb, char **debuginfo_path)
{
	memset(cb, 0, sizeof(*cb));
	cb->find_elf = find_elf;
	cb->find_debuginfo = find_debuginfo;
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

static int hash_module(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr start,
		       void *arg)
{
	uint64_t *h = arg;
	Dwarf_Addr end;
	const char *p;

	(void)userdata;
	dwfl_module_info(mod, NULL, NULL, &end, NULL, NULL, NULL, NULL);
	for (p = name; p && *p; p++)
		*h = (*h ^ (uint8_t)*p) * 1099511628211ULL;
	*h = (*h ^ start) * 1099511628211ULL;
	*h = (*h ^ end) * 1099511628211ULL;
	return DWARF_CB_OK;
}

/* A reread that finds the same modules (and the same JIT map file) is
 * the same generation: what was named with it needs no naming again.
 * Stacks that run into garbage (no CFI, no frame pointer) would
 * otherwise make every reread a new one. */
static void sign(struct procmap *pm)
{
	uint64_t h = 1469598103934665603ULL;
	char path[64];
	struct stat st;
	struct bw_status ps;

	dwfl_getmodules(pm->dwfl, hash_module, &h, 0);
	if (!procfs_status(pm->pid, 0, &ps)) {
		snprintf(path, sizeof(path), "/proc/%d/root/tmp/perf-%d.map", pm->pid, ps.ns_pid);
		if (!stat(path, &st))
			h = (h ^ (uint64_t)st.st_size ^ (uint64_t)st.st_mtim.tv_nsec) * 1099511628211ULL;
	}
	if (h != pm->signature)
		pm->generation++;
	pm->signature = h;
}

/* A set from a maps file's text @buf (@len bytes). */
static int mapset_of(const char *buf, size_t len, struct mapset *ms)
{
	FILE *f = len ? fmemopen((void *)buf, len, "r") : NULL;
	int err = mapset__read(ms, f);

	if (f)
		fclose(f);
	return err;
}

/* The file mappings now; an empty set when they cannot be read (gone,
 * exiting: its mappings torn down). */
static int read_files(pid_t pid, struct mapset *ms)
{
	char *buf;
	size_t len;
	int err;

	if (procfs_read_file(&buf, &len, "%d/maps", pid))
		return mapset__read(ms, NULL);
	err = mapset_of(buf, len, ms);
	free(buf);
	return err;
}

/*
 * The modules of @maps (the text of /proc/PID/maps), as
 * dwfl_linux_proc_report() reports them but from text read once: it
 * would read the maps itself, and the auxv for where the vdso is, two
 * more /proc files per process. The vdso is the line named "[vdso]"
 * (what AT_SYSINFO_EHDR points at), reported under the name
 * dwfl_linux_proc_find_elf() reads from the process's memory.
 */
static int report_maps(Dwfl *dwfl, pid_t pid, const char *maps, size_t len)
{
	FILE *f = fmemopen((void *)maps, len, "r");
	const char *v = strstr(maps, " [vdso]\n");
	int err;

	if (!f)
		return -ENOMEM;
	err = dwfl_linux_proc_maps_report(dwfl, f);
	fclose(f);
	if (err)
		return err > 0 ? -err : -ENOEXEC;
	if (v) {
		unsigned long long lo, hi;
		char name[32];

		while (v > maps && v[-1] != '\n')
			v--;
		if (sscanf(v, "%llx-%llx", &lo, &hi) == 2 && lo < hi) {
			snprintf(name, sizeof(name), "[vdso: %d]", (int)pid);
			if (!dwfl_report_module(dwfl, name, lo, hi))
				return -ENOMEM;
		}
	}
	return 0;
}

bool procmap__files_changed(struct procmap *pm)
{
	uint64_t now = bw_mono_ns();
	struct mapset cur;
	size_t added;

	if (pm->dl_since_ns && pm->dl_since_ns < pm->checked_ns) {
		/* compared since its loader was heard: it says when */
		if (!pm->dl_marked)
			return false;
	} else if (now - pm->checked_ns < PROCMAP_CHECK_NS) {
		return false;
	}
	pm->dl_marked = false;
	pm->checked_ns = now;
	if (read_files(pm->pid, &cur))
		return false;
	/* Only a mapping new or changed makes the snapshot wrong (see
	 * struct mapset): removed ones are kept, what they named stays. */
	added = mapset__added(&pm->files, &cur);
	if (added)
		bw_dbg("pid %d: %zu file mappings new or changed (%zu now, %zu before)", pm->pid,
		       added, cur.n, pm->files.n);
	else if (cur.n && cur.n < pm->files.n)
		bw_dbg("pid %d: %zu of its %zu file mappings gone, the others as they were: "
		       "keeping what was read", pm->pid, pm->files.n - cur.n, pm->files.n);
	mapset__free(&cur);
	return added && procfs_alive(pm->pid);
}

void procmap__mark(struct procmap *pm)
{
	pm->dl_marked = true;
}

static void drop_dwfl(struct procmap *pm)
{
	bw_unwind_detach(&pm->uw);
	if (pm->dwfl)
		dwfl_end(pm->dwfl);
	pm->dwfl = NULL;
	pm->attached = false;
}

void procmap__release(struct procmap *pm)
{
	drop_dwfl(pm);
	jitmap__free(pm->jit);
	pm->jit = NULL;
	pm->released = true;
}

int procmap__rebuild(struct procmap *pm, const Dwfl_Callbacks *cb)
{
	char *maps = NULL;
	size_t len;
	int err;

	drop_dwfl(pm);
	pm->released = false;
	if (!pm->jit)
		pm->jit = jitmap__new(pm->pid);
	else
		jitmap__reset(pm->jit);
	if (!pm->jit)
		return -ENOMEM;
	pm->built_ns = pm->checked_ns = bw_mono_ns();
	pm->dl_marked = false;
	pm->dwfl = dwfl_begin(cb);
	if (!pm->dwfl)
		return -ENOMEM;
	/* One read of the maps: the modules and the set to compare with
	 * later come from the same text. A process gone (or exiting, its
	 * mappings torn down: an empty file) has no Dwfl. */
	err = procfs_read_file(&maps, &len, "%d/maps", pm->pid);
	if (err == -ENOMEM) {
		drop_dwfl(pm);
		return err;
	}
	if (err || !len) {
		free(maps);
		drop_dwfl(pm);
		return -ESRCH;
	}
	pm->foreign_root = procfs_foreign_root(pm->pid);
	dwfl_report_begin(pm->dwfl);
	err = report_maps(pm->dwfl, pm->pid, maps, len);
	dwfl_report_end(pm->dwfl, NULL, NULL);
	if (!err) {
		mapset__free(&pm->files);
		err = mapset_of(maps, len, &pm->files);
	}
	free(maps);
	if (err) {
		drop_dwfl(pm);
		return err == -ENOMEM ? err : -ESRCH;
	}
	/* before attaching: that opens a first file already */
	dwfl_getmodules(pm->dwfl, claim_module, pm, 0);
	sign(pm);
	pm->attached = bw_unwind_attach(pm->dwfl, pm->pid, &pm->uw);
	if (!pm->attached)
		bw_dbg("pid %d: no unwinder state: %s", pm->pid, dwfl_errmsg(-1));
	return 0;
}

struct procmap *procmap__new(pid_t pid, const Dwfl_Callbacks *cb, struct elfcache *elfs)
{
	struct procmap *pm = calloc(1, sizeof(*pm));

	if (!pm)
		return NULL;
	pm->pid = pid;
	pm->elfs = elfs;
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
	mapset__free(&pm->files);
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
