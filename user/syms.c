// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Unwinding and symbolization with elfutils' libdwfl, the library perf,
 * eu-stack and systemtap use. One Dwfl per process, built from
 * /proc/PID/maps and kept while the process lives. Unwinding never
 * touches the live process: the thread callbacks serve registers and
 * stack memory from the snapshot the BPF side copied.
 */
#include <elfutils/libdwfl.h>
#include <dwarf.h>
#include <errno.h>
#include <gelf.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uthash.h>
#include "blockwatch_types.h"
#include "log.h"
#include "syms.h"

struct proc {
	pid_t pid;
	Dwfl *dwfl;
	bool attached;
	uint64_t built_ns;
	const struct bw_snapshot *cur; /* snapshot being unwound */
	bool cur_short;		       /* a read fell outside the copy */
	UT_hash_handle hh;
};

struct syms {
	struct proc *procs;
};

static char *debuginfo_path;

static const Dwfl_Callbacks proc_callbacks = {
	.find_elf = dwfl_linux_proc_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.debuginfo_path = &debuginfo_path,
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static pid_t cb_next_thread(Dwfl *dwfl, void *arg, void **thread_argp)
{
	(void)dwfl;
	(void)arg;
	(void)thread_argp;
	return 0; /* threads are named by the snapshot, never enumerated */
}

static bool cb_get_thread(Dwfl *dwfl, pid_t tid, void *arg, void **thread_argp)
{
	struct proc *p = arg;

	(void)dwfl;
	if (!p->cur || p->cur->tid != tid)
		return false;
	*thread_argp = p;
	return true;
}

static bool cb_memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result, void *arg)
{
	struct proc *p = arg;
	const struct bw_snapshot *s = p->cur;

	(void)dwfl;
	if (!s || addr < s->stack_base || addr + sizeof(*result) < addr ||
	    addr + sizeof(*result) > s->stack_base + s->stack_len) {
		/* Above the copy: the stack was cut short. Below it: a
		 * garbage frame pointer, not a short copy. */
		if (s && addr >= s->stack_base + s->stack_len)
			p->cur_short = true;
		return false;
	}
	memcpy(result, s->stack + (addr - s->stack_base), sizeof(*result));
	return true;
}

static bool cb_set_initial_registers(Dwfl_Thread *thread, void *thread_arg)
{
	struct proc *p = thread_arg;
	Dwarf_Word regs[BW_NREGS];
	int i;

	for (i = 0; i < BW_NREGS; i++)
		regs[i] = p->cur->regs[i];
	dwfl_thread_state_register_pc(thread, regs[BW_REG_RIP]);
	return dwfl_thread_state_registers(thread, 0, BW_NREGS, regs);
}

static const Dwfl_Thread_Callbacks thread_callbacks = {
	.next_thread = cb_next_thread,
	.get_thread = cb_get_thread,
	.memory_read = cb_memory_read,
	.set_initial_registers = cb_set_initial_registers,
};

static void proc_free(struct proc *p)
{
	if (!p)
		return;
	if (p->dwfl)
		dwfl_end(p->dwfl);
	free(p);
}

static int proc_build(struct proc *p)
{
	int err;

	if (p->dwfl)
		dwfl_end(p->dwfl);
	p->attached = false;
	p->built_ns = now_ns();
	p->dwfl = dwfl_begin(&proc_callbacks);
	if (!p->dwfl)
		return -ENOMEM;
	dwfl_report_begin(p->dwfl);
	err = dwfl_linux_proc_report(p->dwfl, p->pid);
	dwfl_report_end(p->dwfl, NULL, NULL);
	if (err) {
		dwfl_end(p->dwfl);
		p->dwfl = NULL;
		return err > 0 ? -err : -ESRCH;
	}
	p->attached = dwfl_attach_state(p->dwfl, NULL, p->pid, &thread_callbacks, p);
	if (!p->attached)
		bw_dbg("pid %d: no unwinder state: %s", p->pid, dwfl_errmsg(-1));
	return 0;
}

static struct proc *proc_get(struct syms *s, pid_t pid)
{
	struct proc *p;

	HASH_FIND_INT(s->procs, &pid, p);
	if (p)
		return p;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->pid = pid;
	if (proc_build(p)) {
		/* Remember the failure too: a process gone stays gone. */
		bw_dbg("pid %d: cannot read its mappings", pid);
	}
	HASH_ADD_INT(s->procs, pid, p);
	return p;
}

struct syms *syms__new(void)
{
	return calloc(1, sizeof(struct syms));
}

void syms__free(struct syms *s)
{
	struct proc *p, *tmp;

	if (!s)
		return;
	HASH_ITER(hh, s->procs, p, tmp) {
		HASH_DEL(s->procs, p);
		proc_free(p);
	}
	free(s);
}

int syms__prepare(struct syms *s, pid_t pid)
{
	struct proc *p = proc_get(s, pid);

	if (!p)
		return -ENOMEM;
	return p->dwfl ? 0 : -ESRCH;
}

void syms__forget(struct syms *s, pid_t pid)
{
	struct proc *p;

	HASH_FIND_INT(s->procs, &pid, p);
	if (!p)
		return;
	HASH_DEL(s->procs, p);
	proc_free(p);
}

void syms__prune(struct syms *s)
{
	struct proc *p, *tmp;

	HASH_ITER(hh, s->procs, p, tmp) {
		if (kill(p->pid, 0) && errno == ESRCH) {
			HASH_DEL(s->procs, p);
			proc_free(p);
		}
	}
}

struct walk {
	struct bw_pc *pcs;
	int n;
	int max;
};

static int frame_cb(Dwfl_Frame *frame, void *arg)
{
	struct walk *w = arg;
	Dwarf_Addr pc;
	bool activation;

	if (!dwfl_frame_pc(frame, &pc, &activation))
		return DWARF_CB_ABORT;
	if (w->n >= w->max)
		return DWARF_CB_ABORT;
	w->pcs[w->n].pc = pc;
	w->pcs[w->n].activation = activation;
	w->n++;
	return DWARF_CB_OK;
}

int syms__unwind(struct syms *s, const struct bw_snapshot *snap, struct bw_pc *pcs,
		 int max, bool *truncated)
{
	struct walk w = { .pcs = pcs, .max = max };
	uint64_t ip = snap->regs[BW_REG_RIP];
	struct proc *p;
	int err;

	*truncated = true;
	if (max <= 0)
		return 0;
	p = proc_get(s, snap->pid);
	if (p && p->dwfl && !dwfl_addrmodule(p->dwfl, ip) && now_ns() - p->built_ns > 100000000ULL) {
		/* A mapping newer than our view (dlopen, JIT): re-read. */
		bw_dbg("pid %d: pc %#llx unmapped, rereading mappings", p->pid,
		       (unsigned long long)ip);
		proc_build(p);
	}
	if (!p || !p->dwfl || !p->attached) {
		pcs[0].pc = ip;
		pcs[0].activation = true;
		return 1;
	}
	p->cur = snap;
	p->cur_short = false;
	err = dwfl_getthread_frames(p->dwfl, snap->tid, frame_cb, &w);
	p->cur = NULL;
	if (w.n == 0) {
		pcs[0].pc = ip;
		pcs[0].activation = true;
		return 1;
	}
	/* Ends cleanly (0) at the outermost frame, whose CFI marks the
	 * return address undefined (_start, clone3); anything else left
	 * frames out. */
	*truncated = err != 0 || p->cur_short;
	if (*truncated)
		bw_dbg("pid %d tid %d: stack cut after %d frames: %s", snap->pid, snap->tid,
		       w.n, p->cur_short ? "stack copy too short" :
		       w.n >= max ? "too many frames" : dwfl_errmsg(-1));
	return w.n;
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

int syms__resolve(struct syms *s, pid_t pid, const struct bw_pc *pc, struct bw_frame *f)
{
	/* A return address points after the call: look up the call. */
	Dwarf_Addr lookup = pc->activation ? pc->pc : pc->pc - 1;
	const char *modname, *name;
	Dwfl_Module *mod;
	struct proc *p;
	Dwarf_Addr bias;
	GElf_Off off;
	GElf_Sym sym;
	Elf *elf;

	memset(f, 0, sizeof(*f));
	f->addr = pc->pc;
	p = proc_get(s, pid);
	if (!p || !p->dwfl)
		return 0;
	mod = dwfl_addrmodule(p->dwfl, lookup);
	if (!mod)
		return 0;
	modname = dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
	if (modname && !strncmp(modname, "[vdso", 5))
		modname = "[vdso]";
	f->module = strdup(modname ? modname : "[unknown]");
	if (!f->module)
		return -ENOMEM;
	elf = dwfl_module_getelf(mod, &bias);
	if (elf)
		f->offset = file_offset(elf, pc->pc - bias);
	name = dwfl_module_addrinfo(mod, lookup, &off, &sym, NULL, NULL, NULL);
	/* Only a symbol whose extent covers the pc names it: never the
	 * nearest preceding (exported) one. */
	if (name && sym.st_size && off < sym.st_size) {
		/* .symtab names carry symbol versions, and glibc's hidden
		 * internal aliases a "__GI_" prefix: keep the bare name. */
		if (!strncmp(name, "__GI_", 5))
			name += 5;
		f->symbol = strndup(name, strcspn(name, "@"));
		if (!f->symbol)
			return -ENOMEM;
		f->symoff = off + (pc->pc - lookup);
	}
	return 0;
}

void bw_frame_clear(struct bw_frame *f)
{
	free(f->symbol);
	free(f->module);
	memset(f, 0, sizeof(*f));
}
