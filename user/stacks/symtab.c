// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <gelf.h>
#include <stdbool.h>
#include <stdlib.h>
#include "stacks/symtab.h"

struct sym {
	uint64_t start;
	uint64_t end;
	const char *name;
	uint32_t rank; /* libdwfl's search order: globals, then locals */
	int32_t binding;
	bool global;   /* in the part of the table searched first */
};

struct symtab {
	size_t n;
	struct sym *syms;   /* by start */
	uint64_t *max_end;  /* max_end[i]: the furthest end of syms[0..i] */
	size_t nlabels;
	uint64_t *labels;   /* sizeless symbols of the first part, sorted */
};

/* Higher is better, as libdwfl ranks bindings (its binding_value):
 * global, weak, local, then anything else (GNU unique included). */
static int binding_value(const GElf_Sym *s)
{
	switch (GELF_ST_BIND(s->st_info)) {
	case STB_GLOBAL:
		return 3;
	case STB_WEAK:
		return 2;
	case STB_LOCAL:
		return 1;
	default:
		return 0;
	}
}

static int sym_cmp(const void *a, const void *b)
{
	const struct sym *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->rank < y->rank ? -1 : x->rank > y->rank;
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void add(struct symtab *t, Dwfl_Module *mod, int i, uint32_t rank, bool global,
		Dwarf_Addr hi)
{
	GElf_Sym sym;
	GElf_Addr addr;
	GElf_Word shndx;
	const char *name = dwfl_module_getsym_info(mod, i, &sym, &addr, &shndx, NULL, NULL);
	int type = GELF_ST_TYPE(sym.st_info);

	if (!name || !*name || sym.st_shndx == SHN_UNDEF || type == STT_SECTION ||
	    type == STT_FILE || type == STT_TLS)
		return;
	if (!sym.st_size) {
		/* an assembly label: libdwfl does not search the locals for
		 * an address one of the first part is at (see lookup) */
		if (global)
			t->labels[t->nlabels++] = addr;
		return;
	}
	/* Only a pc in the module is looked up: a symbol starting past it
	 * covers none. One of a section not loaded (.gnu.warning.*) is
	 * left unrelocated by libdwfl, at a small address: it stays, as
	 * libdwfl's search sees it. */
	if (addr >= hi)
		return;
	t->syms[t->n++] = (struct sym){
		.start = addr,
		/* past the end of the address space: to its end, as libdwfl's
		 * pc - start < size sees it */
		.end = addr + sym.st_size < addr ? UINT64_MAX : addr + sym.st_size,
		.name = name,
		.rank = rank,
		.binding = binding_value(&sym),
		.global = global,
	};
}

struct symtab *symtab__new(Dwfl_Module *mod)
{
	struct symtab *t = calloc(1, sizeof(*t));
	int n = dwfl_module_getsymtab(mod), first_global, i;
	uint32_t rank = 0;
	Dwarf_Addr lo = 0, hi = 0;
	size_t k;

	if (!t)
		return NULL;
	dwfl_module_info(mod, NULL, &lo, &hi, NULL, NULL, NULL, NULL);
	if (n <= 1)
		return t;
	t->syms = malloc(n * sizeof(*t->syms));
	t->max_end = malloc(n * sizeof(*t->max_end));
	t->labels = malloc(n * sizeof(*t->labels));
	if (!t->syms || !t->max_end || !t->labels) {
		symtab__free(t);
		errno = ENOMEM;
		return NULL;
	}
	/* libdwfl searches the globals first, and the locals only when no
	 * global is found (index 0 is the null symbol) */
	first_global = dwfl_module_getsymtab_first_global(mod);
	if (first_global <= 0 || first_global > n)
		first_global = 1;
	for (i = first_global; i < n; i++)
		add(t, mod, i, rank++, true, hi);
	for (i = 1; i < first_global; i++)
		add(t, mod, i, rank++, false, hi);
	qsort(t->syms, t->n, sizeof(*t->syms), sym_cmp);
	qsort(t->labels, t->nlabels, sizeof(*t->labels), u64_cmp);
	for (k = 0; k < t->n; k++)
		t->max_end[k] = k && t->max_end[k - 1] > t->syms[k].end ? t->max_end[k - 1] :
									  t->syms[k].end;
	return t;
}

void symtab__free(struct symtab *t)
{
	if (!t)
		return;
	free(t->syms);
	free(t->max_end);
	free(t->labels);
	free(t);
}

size_t symtab__count(const struct symtab *t)
{
	return t->n;
}

static bool is_label(const struct symtab *t, uint64_t addr)
{
	size_t lo = 0, hi = t->nlabels;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->labels[mid] < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < t->nlabels && t->labels[lo] == addr;
}

/* libdwfl's choice, symbol by symbol in its search order: a closer
 * start or a stronger binding takes the place of the one so far, and so
 * does a smaller one at the same start with the same binding. */
static bool better(const struct sym *cur, const struct sym *s)
{
	return !cur || cur->start < s->start || cur->binding < s->binding ||
	       (cur->start == s->start && cur->binding == s->binding &&
		cur->end - cur->start > s->end - s->start);
}

int symtab__lookup(const struct symtab *t, uint64_t addr, const char **name, uint64_t *off)
{
	const struct sym *cand[SYMTAB_MAX_COVERING], *best = NULL;
	size_t lo = 0, hi = t->n, i, j, n = 0;

	/* the first symbol starting past addr */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->syms[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* every symbol that covers addr, back while one still can */
	for (i = lo; i > 0 && t->max_end[i - 1] > addr; i--) {
		const struct sym *s = &t->syms[i - 1];

		if (addr >= s->end)
			continue;
		if (n == SYMTAB_MAX_COVERING)
			return -E2BIG;
		/* in libdwfl's order */
		for (j = n++; j > 0 && cand[j - 1]->rank > s->rank; j--)
			cand[j] = cand[j - 1];
		cand[j] = s;
	}
	/* the first part's; the second's only when the first has none */
	for (i = 0; i < n; i++)
		if (cand[i]->global && better(best, cand[i]))
			best = cand[i];
	if (!best && n && is_label(t, addr))
		return -EAGAIN; /* libdwfl may stop at a label there: ask it */
	for (i = 0; i < n && !(best && best->global); i++)
		if (!cand[i]->global && better(best, cand[i]))
			best = cand[i];
	if (!best)
		return 0;
	*name = best->name;
	*off = addr - best->start;
	return 1;
}
