// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <dwarf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uthash.h>
#include "base/clock.h"
#include "base/util.h"
#include "proc/procfs.h"
#include "stacks/debugfile.h"
#include "stacks/demangle.h"
#include "stacks/elfsym.h"
#include "stacks/pccache.h"
#include "stacks/symtab.h"

#define ELFSYM_MAX_FILES 256
#define ELFSYM_MAX_PCS 16384

struct filesym {
	UT_hash_handle hh;
	struct elffile file;
	Dwfl *dwfl;
	struct symtab *syms; /* read at the first lookup */
	bool syms_failed;
	bool released;	 /* its Dwfl dropped while idle: reopened at a miss */
	bool unreached;	 /* never opened: its process was gone; tried again */
	pid_t pid;	 /* who it was last opened through, and as what */
	char *path;
	uint64_t used_ns;
	uint64_t dwarf_ns; /* the Dwfl last used: a pc not in the cache */
	uint64_t released_ns;
	unsigned int backoff; /* kept 2^backoff times the idle time */
	uint64_t mark; /* the sweep it was last found mapped in */
	size_t idlen;
	unsigned char id[]; /* build-id */
};

struct elfsyms {
	const Dwfl_Callbacks *cb;
	struct filesym *files;
	uint64_t sweep; /* sweeps so far */
	struct pccache *pcs;
	bool no_lines; /* names only: no DWARF (elfsyms__set_lines) */
};

void elfsym_callbacks(Dwfl_Callbacks *cb, char **debuginfo_path)
{
	memset(cb, 0, sizeof(*cb));
	cb->find_elf = dwfl_build_id_find_elf;
	cb->find_debuginfo = debugfile_find;
	cb->debuginfo_path = debuginfo_path;
}

struct elfsyms *elfsyms__new(const Dwfl_Callbacks *cb)
{
	struct elfsyms *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->cb = cb;
	c->pcs = pccache__new(ELFSYM_MAX_PCS);
	if (!c->pcs) {
		free(c);
		return NULL;
	}
	return c;
}

void elfsyms__set_lines(struct elfsyms *c, bool lines)
{
	c->no_lines = !lines;
}

static void filesym_free(struct elfsyms *c, struct filesym *f)
{
	pccache__drop(c->pcs, f);
	symtab__free(f->syms);
	if (f->dwfl)
		dwfl_end(f->dwfl);
	free(f->path);
	free(f);
}

void elfsyms__free(struct elfsyms *c)
{
	struct filesym *f, *tmp;

	if (!c)
		return;
	HASH_ITER(hh, c->files, f, tmp) {
		HASH_DEL(c->files, f);
		filesym_free(c, f);
	}
	pccache__free(c->pcs);
	free(c);
}

static void evict(struct elfsyms *c)
{
	struct filesym *f, *tmp, *old = NULL;

	if (HASH_COUNT(c->files) < ELFSYM_MAX_FILES)
		return;
	HASH_ITER(hh, c->files, f, tmp)
		if (!old || f->used_ns < old->used_ns)
			old = f;
	HASH_DEL(c->files, old);
	filesym_free(c, old);
}

/* Where to open a released file again: through the last process seen
 * mapping it (it may be gone by then: the next one's). */
static void remember(struct filesym *f, pid_t pid, const char *path)
{
	char *p;

	f->pid = pid;
	if (f->path && !strcmp(f->path, path))
		return;
	p = strdup(path);
	if (!p)
		return; /* the old path, or none: a reopen may fail, and says so */
	free(f->path);
	f->path = p;
}

/* false when the file could not be reached through @pid (gone, say),
 * as opposed to reached and not readable as ELF */
static bool open_file(struct elfsyms *c, struct filesym *f, pid_t pid, const char *path)
{
	int fd = procfs_open_mapped(pid, path);

	f->dwarf_ns = bw_mono_ns();
	if (fd < 0)
		return false;
	f->dwfl = dwfl_begin(c->cb);
	if (!f->dwfl) {
		close(fd);
		return true; /* out of memory: not the process's absence */
	}
	dwfl_report_begin(f->dwfl);
	/* dwfl takes the fd */
	f->file.mod = dwfl_report_elf(f->dwfl, path, path, fd, 0, false);
	dwfl_report_end(f->dwfl, NULL, NULL);
	if (f->file.mod && !dwfl_module_getelf(f->file.mod, &f->file.bias))
		f->file.mod = NULL;
	return true;
}

const struct elffile *elfsyms__get(struct elfsyms *c, const unsigned char *id, size_t idlen,
				   pid_t pid, const char *path)
{
	struct filesym *f;

	if (!idlen || path[0] != '/')
		return NULL;
	HASH_FIND(hh, c->files, id, idlen, f);
	if (f && f->unreached) {
		/* before the caller takes its bias: opened now, or not */
		f->unreached = !open_file(c, f, pid, path);
		if (f->file.mod)
			remember(f, pid, path);
	}
	if (f) {
		f->used_ns = bw_mono_ns();
		if (f->released)
			remember(f, pid, path);
		return f->file.mod || f->released ? &f->file : NULL;
	}
	evict(c);
	f = calloc(1, sizeof(*f) + idlen);
	if (!f)
		return NULL;
	memcpy(f->id, id, idlen);
	f->idlen = idlen;
	f->used_ns = bw_mono_ns();
	/* A file that cannot be read is remembered as such. One that could
	 * not be reached through @pid (a short-lived process gone before its
	 * pcs were named) is not: it is opened through the next process
	 * that maps it (elfsyms__get). Else every later process's
	 * pcs of it were named the slow way (dwfl_module_addrinfo on the
	 * process's module: a tenth of blockwatch's CPU in the soak). */
	HASH_ADD_KEYPTR(hh, c->files, f->id, f->idlen, f);
	f->unreached = !open_file(c, f, pid, path);
	if (f->file.mod)
		remember(f, pid, path);
	return f->file.mod ? &f->file : NULL;
}

size_t elfsyms__release_idle(struct elfsyms *c, uint64_t now_ns, uint64_t idle_ns)
{
	struct filesym *f, *tmp;
	size_t n = 0;

	HASH_ITER(hh, c->files, f, tmp) {
		if (!f->dwfl || now_ns - f->dwarf_ns < idle_ns << f->backoff)
			continue;
		/* the table's names are the module's: they go with it; the
		 * cached frames are copies and stay */
		symtab__free(f->syms);
		f->syms = NULL;
		f->syms_failed = false;
		dwfl_end(f->dwfl);
		f->dwfl = NULL;
		f->file.mod = NULL;
		f->released = true;
		f->released_ns = now_ns;
		n++;
	}
	return n;
}

void elfsyms__mark(struct elfsyms *c, const unsigned char *id, size_t idlen)
{
	struct filesym *f;

	if (!idlen)
		return;
	HASH_FIND(hh, c->files, id, idlen, f);
	if (f)
		f->mark = c->sweep + 1;
}

size_t elfsyms__sweep(struct elfsyms *c)
{
	struct filesym *f, *tmp;
	size_t n = 0;

	c->sweep++;
	HASH_ITER(hh, c->files, f, tmp) {
		if (f->mark == c->sweep)
			continue;
		HASH_DEL(c->files, f);
		filesym_free(c, f);
		n++;
	}
	return n;
}

size_t elfsyms__count(const struct elfsyms *c)
{
	return HASH_COUNT(c->files);
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
	return name ? bw_symbol_name(name) : NULL;
}

/*
 * Inlined calls become frames of their own, innermost first: each gets
 * the function's name from its DW_TAG_inlined_subroutine and the line
 * it is at; the next one out is at the inlined call's
 * DW_AT_call_file:DW_AT_call_line. Returns how many were written.
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
		bw_frame_copy(f, tmpl);
		f->inlined = true;
		f->symbol = die_name(scope);
		free(f->file);
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

int elfsym_frames(Dwfl_Module *mod, const struct symtab *syms, Dwarf_Addr lookup, bool activation,
		  bool lines, const struct bw_frame *tmpl, struct bw_frame *out, int max)
{
	const char *name, *file = NULL;
	int line = 0, n = 0, i, k;
	struct bw_frame *fn;
	Dwfl_Line *dl;
	GElf_Off off;
	GElf_Sym sym;

	if (max <= 0)
		return 0;
	if (lines) {
		dl = dwfl_module_getsrc(mod, lookup);
		if (dl)
			file = dwfl_lineinfo(dl, NULL, &line, NULL, NULL, NULL);
		n = inline_frames(mod, lookup, tmpl, out, max, &file, &line);
	}
	fn = &out[n];
	if (bw_frame_copy(fn, tmpl))
		goto nomem;
	if (syms && (k = symtab__lookup(syms, lookup, &name, &off)) >= 0) {
		if (!k)
			name = NULL;
	} else {
		name = dwfl_module_addrinfo(mod, lookup, &off, &sym, NULL, NULL, NULL);
		if (name && !(sym.st_size && off < sym.st_size))
			name = NULL;
	}
	if (name) {
		fn->symbol = bw_symbol_name(name);
		fn->symoff = off + (activation ? 0 : 1);
		if (!fn->symbol)
			goto nomem;
	}
	free(fn->file);
	fn->file = file ? strdup(file) : NULL;
	fn->line = line;
	if (file && !fn->file)
		goto nomem;
	for (i = 0; i < n; i++)
		if (!out[i].module && tmpl->module)
			goto nomem;
	return n + 1;
nomem:
	for (i = 0; i <= n && i < max; i++)
		bw_frame_clear(&out[i]);
	return -ENOMEM;
}

int elfsyms__frames(struct elfsyms *c, const struct elffile *file, Dwarf_Addr lookup,
		    bool activation, const struct bw_frame *tmpl, struct bw_frame *out, int max)
{
	struct filesym *f = bw_container_of(file, struct filesym, file);
	int n = pccache__get(c->pcs, f, lookup, activation, tmpl, out, max);

	if (n)
		return n;
	if (f->released) {
		/* signed: a caller's clock may run ahead of ours (tests) */
		bool soon = (int64_t)(bw_mono_ns() - f->released_ns) < (int64_t)ELFSYM_SOON_NS;

		f->backoff = !soon ? 0 : f->backoff < ELFSYM_MAX_BACKOFF ? f->backoff + 1 :
			f->backoff;
		f->released = false;
		if (f->path)
			open_file(c, f, f->pid, f->path);
		if (!f->file.mod) {
			f->released = true; /* the next process mapping it may do */
			return -ESRCH;
		}
	}
	f->dwarf_ns = bw_mono_ns();
	if (!f->syms && !f->syms_failed) {
		f->syms = symtab__new(f->file.mod);
		/* out of memory: libdwfl's own lookup still works */
		f->syms_failed = !f->syms;
	}
	n = elfsym_frames(f->file.mod, f->syms, lookup, activation, !c->no_lines, tmpl, out, max);
	/* n == max may have been cut short: not the pc's whole answer */
	if (n > 0 && n < max)
		pccache__put(c->pcs, f, lookup, activation, out, n); /* a failure: not cached */
	return n;
}

size_t elfsyms__cached_pcs(const struct elfsyms *c)
{
	return pccache__count(c->pcs);
}
