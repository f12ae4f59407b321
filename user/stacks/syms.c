// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Unwinding and symbolization with elfutils' libdwfl, the library perf,
 * eu-stack and systemtap use. One Dwfl per process, built from
 * /proc/PID/maps and kept while the process lives. Unwinding never
 * touches the live process: the thread callbacks serve registers and
 * stack memory from the snapshot the BPF side copied.
 */
#include <elfutils/libdwfl.h>
#include <dirent.h>
#include <dwarf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <limits.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uthash.h>
#include "base/bpf_abi.h"
#include "base/log.h"
#include "stacks/syms.h"

struct jit_sym {
	uint64_t start;
	uint64_t size;
	char *name;
};

struct proc {
	pid_t pid;
	Dwfl *dwfl;
	bool attached;
	bool foreign_root;
	bool jit_loaded;
	size_t njit;
	struct jit_sym *jit; /* /tmp/perf-PID.map, sorted by start */
	uint64_t built_ns;
	const struct bw_snapshot *cur; /* snapshot being unwound */
	bool cur_short;		       /* a read fell outside the copy */
	UT_hash_handle hh;
};

struct ksym {
	uint64_t addr;
	char *name;
	char *module; /* NULL: vmlinux */
};

/*
 * Symbols, lines and inlined calls of one file, shared by every process
 * that maps it (keyed by build-id): the DWARF of libc is parsed once,
 * not once per process (12 MB each with libc6-dbg). The per-process
 * Dwfl only unwinds (.eh_frame) and says which file a pc is in.
 */
struct filesym {
	UT_hash_handle hh;
	Dwfl *dwfl;
	Dwfl_Module *mod; /* NULL: the file could not be read */
	Dwarf_Addr bias;
	uint64_t used_ns;
	size_t idlen;
	unsigned char id[]; /* build-id */
};

#define MAX_FILESYMS 256

struct syms {
	struct proc *procs;
	struct filesym *files;
	bool ksyms_loaded;
	size_t nksyms;
	struct ksym *ksyms; /* /proc/kallsyms text symbols, sorted */
};

static char *debuginfo_path;
/* The process whose modules libdwfl may open right now: its find_elf
 * callback has no other way to know (ELF files are opened lazily). */
static pid_t cur_pid;
/* ...and whether its root is another than ours (a container), found
 * while it lived: once it is gone /proc cannot say. */
static bool cur_foreign_root;

void syms__set_debuginfo_path(const char *path)
{
	free(debuginfo_path);
	debuginfo_path = path ? strdup(path) : NULL;
}

/* The mapping of @modname in /proc/PID/map_files, which reaches the
 * mapped file even once it is deleted or replaced on disk. */
static int open_map_file(pid_t pid, const char *modname)
{
	char dir[64], path[PATH_MAX], target[PATH_MAX];
	unsigned long best = ULONG_MAX;
	struct dirent *de;
	int fd = -1;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%d/map_files", pid);
	d = opendir(dir);
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		unsigned long start;
		ssize_t n;

		if (sscanf(de->d_name, "%lx-", &start) != 1 || start >= best)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		n = readlink(path, target, sizeof(target) - 1);
		if (n < 0)
			continue;
		target[n] = 0;
		if (strcmp(target, modname))
			continue;
		best = start; /* the lowest mapping holds the ELF header */
	}
	closedir(d);
	if (best != ULONG_MAX) {
		char name[64];

		snprintf(name, sizeof(name), "%lx-", best);
		d = opendir(dir);
		while (d && (de = readdir(d))) {
			if (strncmp(de->d_name, name, strlen(name)))
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			fd = open(path, O_RDONLY | O_CLOEXEC);
			break;
		}
		if (d)
			closedir(d);
	}
	return fd;
}

/* Is @pid's root directory another than ours (a container)? Unknown
 * (the process is gone) counts as ours, the common case. */
static bool foreign_root(pid_t pid)
{
	struct stat ours, theirs;
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/root", pid);
	if (stat("/", &ours) || stat(path, &theirs))
		return false;
	return ours.st_dev != theirs.st_dev || ours.st_ino != theirs.st_ino;
}

/*
 * Files as the process sees them: through /proc/PID/root, so binaries
 * in containers (another mount namespace) are found, and through
 * /proc/PID/map_files when the file was deleted or replaced. Anything
 * else (the vdso, read from memory) goes to libdwfl's own callback.
 */
/* @modname (a path from @pid's maps) as that process sees it, or -1. */
static int open_module(pid_t pid, const char *modname)
{
	const char *deleted = strstr(modname, " (deleted)");
	char path[PATH_MAX];
	struct stat st;
	int fd = -1;

	if (modname[0] != '/' || pid <= 0)
		return -1;
	if (!deleted) {
		snprintf(path, sizeof(path), "/proc/%d/root%s", pid, modname);
		if (!stat(path, &st) && S_ISREG(st.st_mode))
			fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	if (fd < 0)
		fd = open_map_file(pid, modname);
	return fd;
}

static int find_elf(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
		    char **file_name, Elf **elfp)
{
	int fd = open_module(cur_pid, modname);

	if (fd >= 0) {
		*file_name = strdup(modname);
		*elfp = NULL;
		return fd;
	}
	/* The same path in our own mount namespace is another file when
	 * the process has a root of its own (a container). */
	if (modname[0] == '/' && cur_foreign_root)
		return -1;
	return dwfl_linux_proc_find_elf(mod, userdata, modname, base, file_name, elfp);
}

static const Dwfl_Callbacks proc_callbacks = {
	.find_elf = find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.debuginfo_path = &debuginfo_path,
};

static void set_cur(const struct proc *p)
{
	cur_pid = p->pid;
	cur_foreign_root = p->foreign_root;
}

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

static void jit_free(struct proc *p)
{
	size_t i;

	for (i = 0; i < p->njit; i++)
		free(p->jit[i].name);
	free(p->jit);
	p->jit = NULL;
	p->njit = 0;
	p->jit_loaded = false;
}

static void proc_free(struct proc *p)
{
	if (!p)
		return;
	if (p->dwfl)
		dwfl_end(p->dwfl);
	jit_free(p);
	free(p);
}

static int cmp_jit(const void *a, const void *b)
{
	const struct jit_sym *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* The pid a process knows itself by (the last of NSpid: its own pid
 * namespace's), which is what it names its perf map after. */
static pid_t ns_pid(pid_t pid)
{
	char path[64], line[256];
	pid_t own = pid;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	if (!f)
		return pid;
	while (fgets(line, sizeof(line), f)) {
		char *p = line + 6, *end;

		if (strncmp(line, "NSpid:", 6))
			continue;
		for (;; p = end) {
			long v = strtol(p, &end, 10);

			if (end == p)
				break;
			own = v;
		}
	}
	fclose(f);
	return own;
}

/* JIT compilers (V8, the JVM with perf-map-agent, LuaJIT...) write
 * "START SIZE name" lines to /tmp/perf-PID.map, PID as the process
 * knows itself; read through its root for containers. */
static void jit_load(struct proc *p)
{
	char path[PATH_MAX], line[1024];
	FILE *f;

	p->jit_loaded = true;
	snprintf(path, sizeof(path), "/proc/%d/root/tmp/perf-%d.map", p->pid, ns_pid(p->pid));
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long start, size;
		struct jit_sym *grown;
		int off = 0;

		if (sscanf(line, "%llx %llx %n", &start, &size, &off) < 2 || !off)
			continue;
		line[strcspn(line, "\n")] = 0;
		grown = realloc(p->jit, (p->njit + 1) * sizeof(*grown));
		if (!grown)
			break;
		p->jit = grown;
		p->jit[p->njit].start = start;
		p->jit[p->njit].size = size;
		p->jit[p->njit].name = strdup(line + off);
		if (p->jit[p->njit].name)
			p->njit++;
	}
	fclose(f);
	qsort(p->jit, p->njit, sizeof(*p->jit), cmp_jit);
}

static int resolve_jit(struct proc *p, uint64_t addr, struct bw_frame *f)
{
	size_t lo = 0, hi;

	if (!p->jit_loaded)
		jit_load(p);
	hi = p->njit;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (p->jit[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo || addr >= p->jit[lo - 1].start + p->jit[lo - 1].size)
		return 0;
	f->symbol = strdup(p->jit[lo - 1].name);
	f->module = strdup("[jit]");
	f->symoff = addr - p->jit[lo - 1].start;
	return f->symbol && f->module ? 0 : -ENOMEM;
}

static int proc_build(struct proc *p)
{
	int err;

	if (p->dwfl)
		dwfl_end(p->dwfl);
	jit_free(p);
	p->foreign_root = foreign_root(p->pid);
	set_cur(p);
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
	if (p) {
		/* A failed read (out of fds, a race with exec) is retried
		 * now and then; a process that is gone stays so. */
		if (!p->dwfl && now_ns() - p->built_ns > 1000000000ULL &&
		    !(kill(pid, 0) && errno == ESRCH))
			proc_build(p);
		return p;
	}
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

static int cmp_ksym(const void *a, const void *b)
{
	const struct ksym *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* Kernel text symbols from /proc/kallsyms (root sees real addresses). */
static void ksyms_load(struct syms *s)
{
	char line[512];
	FILE *f;

	s->ksyms_loaded = true;
	f = fopen("/proc/kallsyms", "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char name[256], mod[128] = "", type;
		unsigned long long addr;
		struct ksym *grown;
		int n;

		n = sscanf(line, "%llx %c %255s [%127[^]]]", &addr, &type, name, mod);
		if (n < 3 || !addr || (type != 't' && type != 'T' && type != 'w' && type != 'W'))
			continue;
		if (!(s->nksyms & (s->nksyms - 1)) || !s->ksyms) {
			grown = realloc(s->ksyms, (s->nksyms ? s->nksyms * 2 : 1024) * sizeof(*grown));
			if (!grown)
				break;
			s->ksyms = grown;
		}
		s->ksyms[s->nksyms].addr = addr;
		s->ksyms[s->nksyms].name = strdup(name);
		s->ksyms[s->nksyms].module = n == 4 ? strdup(mod) : NULL;
		s->nksyms++;
	}
	fclose(f);
	qsort(s->ksyms, s->nksyms, sizeof(*s->ksyms), cmp_ksym);
}

static int resolve_kernel(struct syms *s, const struct bw_pc *pc, struct bw_frame *f)
{
	uint64_t lookup = pc->activation ? pc->pc : pc->pc - 1;
	size_t lo = 0, hi;
	const struct ksym *k;

	memset(f, 0, sizeof(*f));
	f->addr = pc->pc;
	f->kernel = true;
	if (!s->ksyms_loaded)
		ksyms_load(s);
	hi = s->nksyms;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (s->ksyms[mid].addr <= lookup)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo) {
		f->module = strdup("[kernel]");
		return f->module ? 1 : -ENOMEM;
	}
	/* kallsyms has no sizes: the nearest preceding text symbol is
	 * what the kernel's own stack dumps print too. */
	k = &s->ksyms[lo - 1];
	f->symbol = k->name ? strdup(k->name) : NULL;
	f->symoff = pc->pc - k->addr;
	if (k->module) {
		f->module = malloc(strlen(k->module) + 3);
		if (f->module)
			sprintf(f->module, "[%s]", k->module);
	} else {
		f->module = strdup("[kernel]");
	}
	return f->module ? 1 : -ENOMEM;
}

bool syms__is_bpf_frame(struct syms *s, uint64_t addr)
{
	struct bw_pc pc = { .pc = addr, .kernel = true };
	struct bw_frame f;
	bool bpf;

	if (resolve_kernel(s, &pc, &f) < 0)
		return false;
	bpf = (f.module && !strcmp(f.module, "[bpf]")) ||
	      (f.symbol && (!strncmp(f.symbol, "bpf_trace_run", 13) ||
			    !strncmp(f.symbol, "__bpf_trace_", 12) ||
			    !strncmp(f.symbol, "__traceiter_", 12) ||
			    !strncmp(f.symbol, "bpf_prog_", 9)));
	bw_frame_clear(&f);
	return bpf;
}

static const Dwfl_Callbacks file_callbacks = {
	.find_elf = dwfl_build_id_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.debuginfo_path = &debuginfo_path,
};

static void filesym_free(struct filesym *f)
{
	if (f->dwfl)
		dwfl_end(f->dwfl);
	free(f);
}

/* The least recently used one goes when there are too many. */
static void filesym_evict(struct syms *s)
{
	struct filesym *f, *tmp, *old = NULL;

	if (HASH_COUNT(s->files) < MAX_FILESYMS)
		return;
	HASH_ITER(hh, s->files, f, tmp)
		if (!old || f->used_ns < old->used_ns)
			old = f;
	HASH_DEL(s->files, old);
	filesym_free(old);
}

static struct filesym *filesym_get(struct syms *s, Dwfl_Module *pmod, const char *modname,
				   pid_t pid)
{
	const unsigned char *id;
	struct filesym *f;
	GElf_Addr vaddr;
	int len, fd;

	len = dwfl_module_build_id(pmod, &id, &vaddr);
	if (len <= 0 || modname[0] != '/')
		return NULL;
	HASH_FIND(hh, s->files, id, len, f);
	if (f) {
		f->used_ns = now_ns();
		return f->mod ? f : NULL;
	}
	filesym_evict(s);
	f = calloc(1, sizeof(*f) + len);
	if (!f)
		return NULL;
	memcpy(f->id, id, len);
	f->idlen = len;
	f->used_ns = now_ns();
	HASH_ADD_KEYPTR(hh, s->files, f->id, f->idlen, f);
	fd = open_module(pid, modname);
	if (fd < 0)
		return NULL;
	f->dwfl = dwfl_begin(&file_callbacks);
	if (!f->dwfl) {
		close(fd);
		return NULL;
	}
	dwfl_report_begin(f->dwfl);
	/* dwfl takes the fd */
	f->mod = dwfl_report_elf(f->dwfl, modname, modname, fd, 0, false);
	dwfl_report_end(f->dwfl, NULL, NULL);
	if (f->mod && !dwfl_module_getelf(f->mod, &f->bias))
		f->mod = NULL;
	return f->mod ? f : NULL;
}

void syms__free(struct syms *s)
{
	struct filesym *f, *ftmp;
	struct proc *p, *tmp;
	size_t i;

	if (!s)
		return;
	HASH_ITER(hh, s->files, f, ftmp) {
		HASH_DEL(s->files, f);
		filesym_free(f);
	}
	for (i = 0; i < s->nksyms; i++) {
		free(s->ksyms[i].name);
		free(s->ksyms[i].module);
	}
	free(s->ksyms);
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
	w->pcs[w->n] = (struct bw_pc){ .pc = pc, .activation = activation };
	w->n++;
	return DWARF_CB_OK;
}

static int walk_once(struct proc *p, const struct bw_snapshot *snap, struct walk *w)
{
	int err;

	w->n = 0;
	p->cur = snap;
	p->cur_short = false;
	set_cur(p);
	err = dwfl_getthread_frames(p->dwfl, snap->tid, frame_cb, w);
	p->cur = NULL;
	return err;
}

/* A pc in no module we know and not JIT code: the mappings changed
 * since we read them (dlopen, a new JIT region). */
static bool walk_left_modules(struct proc *p, const struct walk *w)
{
	int i;

	for (i = 0; i < w->n; i++) {
		struct bw_frame f = { 0 };
		bool jit;

		if (dwfl_addrmodule(p->dwfl, w->pcs[i].pc))
			continue;
		jit = !resolve_jit(p, w->pcs[i].pc, &f) && f.symbol;
		bw_frame_clear(&f);
		if (!jit)
			return true;
	}
	return false;
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
	if (!p || !p->dwfl || !p->attached) {
		pcs[0] = (struct bw_pc){ .pc = ip, .activation = true };
		return 1;
	}
	err = walk_once(p, snap, &w);
	if ((w.n == 0 || walk_left_modules(p, &w)) && now_ns() - p->built_ns > 1000000000ULL) {
		bw_dbg("pid %d: a pc outside the known mappings, rereading them", p->pid);
		if (!proc_build(p) && p->attached)
			err = walk_once(p, snap, &w);
	}
	if (w.n == 0) {
		pcs[0] = (struct bw_pc){ .pc = ip, .activation = true };
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

/* __cxa_demangle from libstdc++ (perf and eu-stack use the same): C++
 * names, and Rust's legacy mangling, which is Itanium-shaped with a
 * trailing "::h<16 hex>" hash that rustc-demangle drops too. */
extern char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status);

char *bw_demangle(const char *name)
{
	char *d;
	size_t n;
	int status;

	if (strncmp(name, "_Z", 2))
		return strdup(name);
	d = __cxa_demangle(name, NULL, NULL, &status);
	if (!d || status) {
		free(d);
		return strdup(name);
	}
	n = strlen(d);
	if (n > 19 && !strncmp(d + n - 19, "::h", 3) &&
	    strspn(d + n - 16, "0123456789abcdef") == 16)
		d[n - 19] = 0;
	return d;
}

/* The bare name of an ELF symbol: no symbol version, no glibc-internal
 * "__GI_" alias prefix, demangled. */
static char *clean_name(const char *name)
{
	char *bare, *d;

	if (!strncmp(name, "__GI_", 5))
		name += 5;
	bare = strndup(name, strcspn(name, "@"));
	if (!bare)
		return NULL;
	d = bw_demangle(bare);
	free(bare);
	return d;
}

static char *die_name(Dwarf_Die *die)
{
	Dwarf_Attribute attr;
	const char *name;

	name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name, &attr));
	if (!name)
		name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &attr));
	if (!name)
		name = dwarf_diename(die);
	return name ? clean_name(name) : NULL;
}

static int set_str(char **dst, const char *src)
{
	*dst = src ? strdup(src) : NULL;
	return src && !*dst ? -ENOMEM : 0;
}

/*
 * Inlined calls become frames of their own, innermost first, as
 * eu-stack -i shows them: each gets the function's name from its
 * DW_TAG_inlined_subroutine and the line it is at; the next one out
 * is at the inlined call's DW_AT_call_file:DW_AT_call_line.
 */
static int inline_frames(Dwfl_Module *mod, Dwarf_Addr lookup, const struct bw_frame *tmpl,
			 struct bw_frame *out, int max, const char **file, int *line)
{
	Dwarf_Die *cudie, *scopes = NULL, *chain = NULL;
	Dwarf_Files *files = NULL;
	Dwarf_Addr bias;
	int n, i, nf = 0;

	cudie = dwfl_module_addrdie(mod, lookup, &bias);
	if (!cudie)
		return 0;
	/* dwarf_getscopes continues from the innermost inlined instance
	 * into its abstract definition; the physical nesting of inlined
	 * calls is what dwarf_getscopes_die of the innermost scope gives
	 * (eu-stack does the same). */
	n = dwarf_getscopes(cudie, lookup - bias, &scopes);
	if (n <= 0)
		return 0;
	n = dwarf_getscopes_die(&scopes[0], &chain);
	free(scopes);
	if (n <= 0)
		return 0;
	if (dwarf_getsrcfiles(cudie, &files, NULL))
		files = NULL;
	for (i = 0; i < n && nf < max - 1; i++) {
		Dwarf_Die *scope = &chain[i];
		Dwarf_Attribute attr;
		Dwarf_Word val;
		struct bw_frame *f;
		int tag = dwarf_tag(scope);

		if (tag == DW_TAG_subprogram)
			break;
		if (tag != DW_TAG_inlined_subroutine)
			continue;
		f = &out[nf++];
		*f = *tmpl;
		f->inlined = true;
		f->symbol = die_name(scope);
		f->module = tmpl->module ? strdup(tmpl->module) : NULL;
		f->file = *file ? strdup(*file) : NULL;
		f->line = *line;
		if (!files)
			continue;
		if (!dwarf_formudata(dwarf_attr(scope, DW_AT_call_file, &attr), &val))
			*file = dwarf_filesrc(files, val, NULL, NULL);
		if (!dwarf_formudata(dwarf_attr(scope, DW_AT_call_line, &attr), &val))
			*line = val;
	}
	free(chain);
	return nf;
}

int syms__resolve(struct syms *s, pid_t pid, const struct bw_pc *pc, struct bw_frame *out,
		  int max)
{
	/* A return address points after the call: look up the call. */
	Dwarf_Addr lookup = pc->activation ? pc->pc : pc->pc - 1;
	struct bw_frame base = { .addr = pc->pc };
	const char *modname, *name, *file = NULL;
	int line = 0, n = 0, err;
	struct filesym *fs;
	Dwfl_Module *mod;
	Dwfl_Line *dl;
	struct proc *p;
	Dwarf_Addr bias;
	GElf_Off off;
	GElf_Sym sym;
	Elf *elf;

	if (max <= 0)
		return 0;
	if (pc->kernel)
		return resolve_kernel(s, pc, out);
	memset(out, 0, sizeof(*out));
	out[0].addr = pc->pc;
	p = proc_get(s, pid);
	if (!p || !p->dwfl)
		return 1;
	set_cur(p);
	mod = dwfl_addrmodule(p->dwfl, lookup);
	if (!mod)
		return resolve_jit(p, lookup, &out[0]) ? -ENOMEM : 1;
	modname = dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
	if (modname && !strncmp(modname, "[vdso", 5))
		modname = "[vdso]";
	if (set_str(&base.module, modname ? modname : "[unknown]"))
		return -ENOMEM;
	elf = dwfl_module_getelf(mod, &bias);
	if (elf)
		base.offset = file_offset(elf, pc->pc - bias);
	/* Names from the file's shared symbolizer when there is one: the
	 * same address in the file's own terms. */
	fs = elf && modname ? filesym_get(s, mod, modname, pid) : NULL;
	if (fs) {
		lookup = lookup - bias + fs->bias;
		mod = fs->mod;
	}
	dl = dwfl_module_getsrc(mod, lookup);
	if (dl)
		file = dwfl_lineinfo(dl, NULL, &line, NULL, NULL, NULL);

	n = inline_frames(mod, lookup, &base, out, max, &file, &line);

	out[n] = base;
	base.module = NULL;
	name = dwfl_module_addrinfo(mod, lookup, &off, &sym, NULL, NULL, NULL);
	/* Only a symbol whose extent covers the pc names it: never the
	 * nearest preceding (exported) one. */
	if (name && sym.st_size && off < sym.st_size) {
		out[n].symbol = clean_name(name);
		out[n].symoff = off + (pc->activation ? 0 : 1);
	}
	err = set_str(&out[n].file, file);
	out[n].line = line;
	if (err || (name && !out[n].symbol)) {
		int i;

		for (i = 0; i <= n; i++)
			bw_frame_clear(&out[i]);
		return -ENOMEM;
	}
	return n + 1;
}

void bw_frame_clear(struct bw_frame *f)
{
	free(f->symbol);
	free(f->module);
	free(f->file);
	memset(f, 0, sizeof(*f));
}
