// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>
#include "base/bpf_abi.h"
#include "base/clock.h"
#include "base/log.h"
#include "proc/procfs.h"
#include "stacks/debugfile.h"
#include "stacks/elfsym.h"
#include "stacks/kallsyms.h"
#include "stacks/procmap.h"
#include "stacks/syms.h"
#include "stacks/unwmemo.h"

/* A process's maps are read again when a pc falls outside them, but not
 * more often than this. */
#define REREAD_NS BW_NSEC_PER_SEC
/* walks remembered (unwmemo), across processes */
#define MAX_MEMOS 4096

struct proc {
	UT_hash_handle hh;
	pid_t pid;
	uint64_t used_ns; /* last asked about (CLOCK_MONOTONIC) */
	struct procmap *map;
};

struct syms {
	char *debuginfo_path;
	/* libdwfl keeps pointers to these: they live as long as we do */
	Dwfl_Callbacks proc_cb;
	Dwfl_Callbacks file_cb;
	struct proc *procs;
	struct elfsyms *files;
	struct elfcache *elfs;
	struct kallsyms *kernel;
	bw_cut_fn cut;
	void *cut_ctx;
	struct unwmemo *memo;
	struct dlwatch *dl; /* NULL: no loader announcements (--now) */
	bool lines;	    /* source lines and inlined calls (syms__set_lines) */
	struct bw_memread reads[BW_UNWIND_MAX_READS]; /* of the walk under way */
	uint64_t walks, remembered; /* walks asked for, and found in the memo */
};

void syms__set_cut(struct syms *s, bw_cut_fn fn, void *ctx)
{
	s->cut = fn;
	s->cut_ctx = ctx;
}

/* libdwfl's walk, or the same walk remembered. */
static int dwfl_walk(struct syms *s, struct procmap *pm, const struct bw_snapshot *snap,
		     struct bw_pc *pcs, int max, int *err)
{
	int n = unwmemo__find(s->memo, pm->generation, snap, pcs, max, err, &pm->uw.cut_short);

	s->walks++;
	if (n >= 0) {
		s->remembered++;
		return n;
	}
	pm->uw.reads = s->reads;
	n = bw_unwind_walk(pm->dwfl, &pm->uw, snap, pcs, max, err);
	pm->uw.reads = NULL;
	/* Only walks that ended where the stack or its copy does: one cut
	 * by libdw (a file not readable yet, a process going away) may go
	 * further with the maps read again. Nor one that read more words
	 * than were kept. Nor one seen once: most walks never come again (a
	 * process that blocks once and exits, a thread parked on a fresh
	 * stack), and would fill the memo with words nobody asks for. */
	if (n > 0 && (*err == 0 || pm->uw.cut_short) && pm->uw.nreads <= BW_UNWIND_MAX_READS &&
	    unwmemo__admit(s->memo, pm->generation, snap))
		unwmemo__add(s->memo, pm->generation, snap, pm->uw.regs_used, s->reads,
			     pm->uw.nreads, pcs, n, max, *err, pm->uw.cut_short);
	return n;
}

/* One walk, cut where the process's runtime says its stack ends. */
static int walk(struct syms *s, struct procmap *pm, const struct bw_snapshot *snap,
		struct bw_pc *pcs, int max, int *err, bool *cut)
{
	int n = dwfl_walk(s, pm, snap, pcs, max, err);
	bool truncated = true;

	*cut = false;
	if (s->cut && n > 0) {
		s->cut(s->cut_ctx, snap->pid, pcs, &n, &truncated);
		*cut = !truncated;
	}
	return n;
}

struct syms *syms__new(const char *debuginfo_path)
{
	struct syms *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	if (debuginfo_path && !(s->debuginfo_path = strdup(debuginfo_path)))
		goto fail;
	debugfile_set_path(debuginfo_path);
	procmap_callbacks(&s->proc_cb, &s->debuginfo_path);
	elfsym_callbacks(&s->file_cb, &s->debuginfo_path);
	s->files = elfsyms__new(&s->file_cb);
	s->elfs = elfcache__new();
	s->kernel = kallsyms__new();
	s->memo = unwmemo__new(MAX_MEMOS);
	s->lines = true;
	if (!s->files || !s->elfs || !s->kernel || !s->memo)
		goto fail;
	return s;
fail:
	syms__free(s);
	return NULL;
}

static void proc_free(struct syms *s, struct proc *p)
{
	if (s->dl)
		dlwatch__detach(s->dl, p->map);
	procmap__free(p->map);
	free(p);
}

int syms__set_loader_ops(struct syms *s, const struct dl_ops *ops)
{
	dlwatch__free(s->dl);
	s->dl = ops ? dlwatch__new(ops) : NULL;
	return !ops || s->dl ? 0 : -ENOMEM;
}

void syms__maps_marked(struct syms *s, pid_t pid)
{
	struct proc *p;

	HASH_FIND_INT(s->procs, &pid, p);
	if (p)
		procmap__mark(p->map);
}

/* The maps of @pm were read: its loader heard from now on. */
static void built(struct syms *s, struct procmap *pm)
{
	if (s->dl && pm->dwfl)
		dlwatch__attach(s->dl, pm);
}

static int rebuild(struct syms *s, struct procmap *pm)
{
	int err = procmap__rebuild(pm, &s->proc_cb);

	built(s, pm);
	return err;
}

void syms__free(struct syms *s)
{
	struct proc *p, *tmp;

	if (!s)
		return;
	bw_dbg("walks: %llu, %llu of them remembered", (unsigned long long)s->walks,
	       (unsigned long long)s->remembered);
	HASH_ITER(hh, s->procs, p, tmp) {
		HASH_DEL(s->procs, p);
		proc_free(s, p);
	}
	dlwatch__free(s->dl);
	elfsyms__free(s->files);
	/* after the Dwfls: theirs were the other references */
	elfcache__free(s->elfs);
	kallsyms__free(s->kernel);
	unwmemo__free(s->memo);
	free(s->debuginfo_path);
	debugfile_set_path(NULL);
	free(s);
}

static struct procmap *proc_get(struct syms *s, pid_t pid)
{
	struct proc *p;

	HASH_FIND_INT(s->procs, &pid, p);
	if (p) {
		p->used_ns = bw_mono_ns();
		if (p->map->released) {
			rebuild(s, p->map);
			return p->map;
		}
		/* A failed read (out of fds, a race with exec) is retried
		 * now and then; a process that is gone stays so. */
		if (!p->map->dwfl && bw_mono_ns() - p->map->built_ns > REREAD_NS &&
		    procfs_alive(pid))
			rebuild(s, p->map);
		return p->map;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->pid = pid;
	p->used_ns = bw_mono_ns();
	p->map = procmap__new(pid, &s->proc_cb, s->elfs);
	if (!p->map) {
		free(p);
		return NULL;
	}
	HASH_ADD_INT(s->procs, pid, p);
	built(s, p->map);
	return p->map;
}

int syms__prepare(struct syms *s, pid_t pid)
{
	struct procmap *pm = proc_get(s, pid);

	if (!pm)
		return -ENOMEM;
	return pm->dwfl ? 0 : -ESRCH;
}

void syms__forget(struct syms *s, pid_t pid)
{
	struct proc *p;

	unwmemo__forget(s->memo, pid);
	HASH_FIND_INT(s->procs, &pid, p);
	if (!p)
		return;
	HASH_DEL(s->procs, p);
	proc_free(s, p);
}

static int mark_module(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr start,
		       void *arg)
{
	struct syms *s = arg;
	const unsigned char *id;
	GElf_Addr vaddr;
	int len;

	(void)userdata;
	(void)name;
	(void)start;
	/* only a module whose file was opened has one: no file is read here */
	len = dwfl_module_build_id(mod, &id, &vaddr);
	if (len > 0) {
		elfsyms__mark(s->files, id, len);
		elfcache__mark(s->elfs, id, len);
	}
	return DWARF_CB_OK;
}

void syms__prune(struct syms *s, uint64_t now_ns)
{
	struct proc *p, *tmp;
	size_t released = 0, gone = 0, files, idle;

	HASH_ITER(hh, s->procs, p, tmp) {
		if (!procfs_alive(p->pid)) {
			unwmemo__forget(s->memo, p->pid);
			HASH_DEL(s->procs, p);
			proc_free(s, p);
			gone++;
			continue;
		}
		if (p->map->dwfl && now_ns - p->used_ns >= SYMS_IDLE_NS) {
			procmap__release(p->map);
			released++;
		}
		if (p->map->dwfl)
			dwfl_getmodules(p->map->dwfl, mark_module, s, 0);
	}
	files = elfsyms__sweep(s->files);
	elfcache__sweep(s->elfs);
	idle = elfsyms__release_idle(s->files, now_ns, ELFSYM_IDLE_NS);
	if (gone || released || files || idle)
		bw_dbg("dropped the state of %zu exited processes, the mappings of %zu idle ones, "
		       "%zu files no process maps, the DWARF of %zu whose pcs are all cached",
		       gone, released, files, idle);
}

void syms__stats(const struct syms *s, struct bw_syms_stats *st)
{
	struct proc *p, *tmp;

	memset(st, 0, sizeof(*st));
	HASH_ITER(hh, s->procs, p, tmp) {
		st->procs++;
		st->mapped += p->map->dwfl != NULL;
	}
	st->files = elfsyms__count(s->files);
	st->elfs = elfcache__count(s->elfs);
}

/* A pc in no module we know and not JIT code: the mappings changed
 * since we read them (dlopen, a new JIT region). */
static bool left_modules(struct procmap *pm, const struct bw_pc *pcs, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		struct bw_frame f = { 0 };
		int jit;

		if (dwfl_addrmodule(pm->dwfl, pcs[i].pc))
			continue;
		jit = jitmap__resolve(pm->jit, pcs[i].pc, &f);
		bw_frame_clear(&f);
		if (jit <= 0)
			return true;
	}
	return false;
}

int syms__unwind(struct syms *s, const struct bw_snapshot *snap, struct bw_pc *pcs,
		 int max, bool *truncated)
{
	uint64_t ip = snap->regs[BW_REG_RIP];
	struct procmap *pm;
	bool cut;
	int n, err;

	*truncated = true;
	if (max <= 0)
		return 0;
	pm = proc_get(s, snap->pid);
	if (!pm || !pm->dwfl || !pm->attached)
		goto pc_only;
	/* A library replaced at the same addresses: no pc leaves the
	 * modules, but their files are others. */
	if (procmap__files_changed(pm)) {
		bw_dbg("pid %d: its file mappings changed, rereading them", pm->pid);
		if (rebuild(s, pm) || !pm->attached)
			goto pc_only;
	}
	n = walk(s, pm, snap, pcs, max, &err, &cut);
	if ((n == 0 || left_modules(pm, pcs, n)) && bw_mono_ns() - pm->built_ns > REREAD_NS) {
		bw_dbg("pid %d: a pc outside the known mappings, rereading them", pm->pid);
		if (!rebuild(s, pm) && pm->attached)
			n = walk(s, pm, snap, pcs, max, &err, &cut);
	}
	if (n == 0)
		goto pc_only;
	/* cut by the runtime: it ended where the stack does */
	*truncated = !cut && (err != 0 || pm->uw.cut_short);
	if (*truncated)
		bw_dbg("pid %d tid %d: stack cut after %d frames: %s", snap->pid, snap->tid, n,
		       pm->uw.cut_short ? "stack copy too short" :
		       n >= max ? "too many frames" : dwfl_errmsg(-1));
	return n;
pc_only:
	pcs[0] = (struct bw_pc){ .pc = ip, .activation = true };
	return 1;
}

/* File offset of @rel (an address in the ELF's own address space). */
static uint64_t file_offset(Elf *elf, GElf_Addr rel)
{
	size_t i, n;

	if (!elf || elf_getphdrnum(elf, &n))
		return rel;
	for (i = 0; i < n; i++) {
		GElf_Phdr mem, *ph = gelf_getphdr(elf, i, &mem);

		if (ph && ph->p_type == PT_LOAD && rel >= ph->p_vaddr &&
		    rel < ph->p_vaddr + ph->p_memsz)
			return rel - ph->p_vaddr + ph->p_offset;
	}
	return rel;
}

static char *hex(const unsigned char *id, int len)
{
	char *s = malloc(2 * len + 1);
	int i;

	for (i = 0; s && i < len; i++)
		sprintf(s + 2 * i, "%02x", id[i]);
	return s;
}

/* What every frame of a pc in module @m shares. */
static int module_frame(const struct bw_module *m, const struct bw_pc *pc, struct bw_frame *f)
{
	memset(f, 0, sizeof(*f));
	f->addr = pc->pc;
	f->module = strdup(m->name);
	f->map_start = m->start;
	f->map_end = m->end;
	if (m->elf) {
		f->offset = file_offset(m->elf, pc->pc - m->bias);
		f->map_offset = file_offset(m->elf, m->start - m->bias);
	}
	if (m->build_id)
		f->build_id = hex(m->build_id, m->build_id_len);
	if (!f->module || (m->build_id && !f->build_id)) {
		bw_frame_clear(f);
		return -ENOMEM;
	}
	return 0;
}

void syms__set_lines(struct syms *s, bool lines)
{
	s->lines = lines;
	elfsyms__set_lines(s->files, lines);
}

int syms__resolve(struct syms *s, pid_t pid, const struct bw_pc *pc, struct bw_frame *out,
		  int max)
{
	/* A return address points after the call: look up the call. */
	Dwarf_Addr lookup = pc->activation ? pc->pc : pc->pc - 1;
	const struct elffile *file = NULL;
	struct bw_frame base;
	struct bw_module m;
	struct procmap *pm;
	Dwfl_Module *mod;
	int n;

	if (max <= 0)
		return 0;
	if (pc->kernel)
		return kallsyms__resolve(s->kernel, pc, out);
	memset(out, 0, sizeof(*out));
	out[0].addr = pc->pc;
	pm = proc_get(s, pid);
	if (!pm || !pm->dwfl)
		return 1;
	if (!procmap__module(pm, lookup, &m))
		return jitmap__resolve(pm->jit, lookup, &out[0]) < 0 ? -ENOMEM : 1;
	if (module_frame(&m, pc, &base))
		return -ENOMEM;
	/* Names from the file's shared symbolizer when there is one: the
	 * same address in the file's own terms. */
	mod = m.mod;
	if (m.elf)
		file = elfsyms__get(s->files, m.build_id, m.build_id_len, pid, m.name);
	n = file ? elfsyms__frames(s->files, file, lookup - m.bias + file->bias, pc->activation,
				   &base, out, max) : -ESRCH;
	if (n == -ESRCH)
		n = elfsym_frames(mod, NULL, lookup, pc->activation, s->lines, &base, out, max);
	bw_frame_clear(&base);
	return n;
}

uint32_t syms__generation(struct syms *s, pid_t pid)
{
	struct proc *p;

	HASH_FIND_INT(s->procs, &pid, p);
	return p ? p->map->generation : 0;
}

bool syms__is_bpf_frame(struct syms *s, uint64_t addr)
{
	return kallsyms__is_bpf(s->kernel, addr);
}
