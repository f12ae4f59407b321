// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <gelf.h>
#include <stdlib.h>
#include "stacks/symtab.h"

struct sym {
	uint64_t start;
	uint64_t end;
	const char *name;
	uint32_t rank; /* libdwfl's search order: globals, then locals */
	int32_t binding;
};

struct symtab {
	size_t n;
	struct sym *syms;   /* by start, then best first */
	uint64_t *max_end;  /* max_end[i]: the furthest end of syms[0..i] */
};

/* Higher is better, as libdwfl ranks bindings at the same address. */
static int binding_value(const GElf_Sym *s)
{
	switch (GELF_ST_BIND(s->st_info)) {
	case STB_GLOBAL:
		return 3;
	case STB_GNU_UNIQUE:
		return 2;
	case STB_WEAK:
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
	if (x->binding != y->binding)
		return x->binding > y->binding ? -1 : 1;
	return x->rank < y->rank ? -1 : x->rank > y->rank;
}

static void add(struct symtab *t, Dwfl_Module *mod, int i, uint32_t rank)
{
	GElf_Sym sym;
	GElf_Addr addr;
	GElf_Word shndx;
	const char *name = dwfl_module_getsym_info(mod, i, &sym, &addr, &shndx, NULL, NULL);
	int type = GELF_ST_TYPE(sym.st_info);

	if (!name || !sym.st_size || sym.st_shndx == SHN_UNDEF || type == STT_SECTION ||
	    type == STT_FILE || type == STT_TLS || addr + sym.st_size < addr)
		return;
	t->syms[t->n++] = (struct sym){
		.start = addr,
		.end = addr + sym.st_size,
		.name = name,
		.rank = rank,
		.binding = binding_value(&sym),
	};
}

struct symtab *symtab__new(Dwfl_Module *mod)
{
	struct symtab *t = calloc(1, sizeof(*t));
	int n = dwfl_module_getsymtab(mod), first_global, i;
	uint32_t rank = 0;
	size_t k;

	if (!t)
		return NULL;
	if (n <= 1)
		return t;
	t->syms = malloc(n * sizeof(*t->syms));
	t->max_end = malloc(n * sizeof(*t->max_end));
	if (!t->syms || !t->max_end) {
		symtab__free(t);
		errno = ENOMEM;
		return NULL;
	}
	/* libdwfl searches the globals first, then the locals (index 0
	 * is the null symbol) */
	first_global = dwfl_module_getsymtab_first_global(mod);
	if (first_global <= 0 || first_global > n)
		first_global = 1;
	for (i = first_global; i < n; i++)
		add(t, mod, i, rank++);
	for (i = 1; i < first_global; i++)
		add(t, mod, i, rank++);
	qsort(t->syms, t->n, sizeof(*t->syms), sym_cmp);
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
	free(t);
}

size_t symtab__count(const struct symtab *t)
{
	return t->n;
}

const char *symtab__lookup(const struct symtab *t, uint64_t addr, uint64_t *off)
{
	size_t lo = 0, hi = t->n, i, j, k;

	/* the first symbol starting past addr */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->syms[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* Back, one start at a time, while something can still cover
	 * addr; within one start the best comes first. */
	for (i = lo; i > 0 && t->max_end[i - 1] > addr; i = j) {
		for (j = i - 1; j > 0 && t->syms[j - 1].start == t->syms[i - 1].start; j--)
			;
		for (k = j; k < i; k++) {
			if (addr < t->syms[k].end) {
				*off = addr - t->syms[k].start;
				return t->syms[k].name;
			}
		}
	}
	return NULL;
}
