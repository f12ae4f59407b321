// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "proc/procfs.h"
#include "stacks/kallsyms.h"

struct ksym {
	uint64_t addr;
	char *name;
	char *module; /* NULL: vmlinux */
};

struct kallsyms {
	bool loaded;
	size_t n;
	struct ksym *syms; /* sorted by addr */
};

struct kallsyms *kallsyms__new(void)
{
	return calloc(1, sizeof(struct kallsyms));
}

void kallsyms__free(struct kallsyms *ks)
{
	size_t i;

	if (!ks)
		return;
	for (i = 0; i < ks->n; i++) {
		free(ks->syms[i].name);
		free(ks->syms[i].module);
	}
	free(ks->syms);
	free(ks);
}

static int cmp_ksym(const void *a, const void *b)
{
	const struct ksym *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static void load(struct kallsyms *ks)
{
	char line[512];
	FILE *f;

	ks->loaded = true;
	f = procfs_fopen("kallsyms");
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
		if (!(ks->n & (ks->n - 1)) || !ks->syms) {
			grown = realloc(ks->syms, (ks->n ? ks->n * 2 : 1024) * sizeof(*grown));
			if (!grown)
				break;
			ks->syms = grown;
		}
		ks->syms[ks->n].addr = addr;
		ks->syms[ks->n].name = strdup(name);
		ks->syms[ks->n].module = n == 4 ? strdup(mod) : NULL;
		ks->n++;
	}
	fclose(f);
	if (ks->n) /* syms is NULL without one (kptr_restrict) */
		qsort(ks->syms, ks->n, sizeof(*ks->syms), cmp_ksym);
}

int kallsyms__resolve(struct kallsyms *ks, const struct bw_pc *pc, struct bw_frame *f)
{
	uint64_t lookup = pc->activation ? pc->pc : pc->pc - 1;
	size_t lo = 0, hi;
	const struct ksym *k;

	memset(f, 0, sizeof(*f));
	f->addr = pc->pc;
	f->kernel = true;
	if (!ks->loaded)
		load(ks);
	hi = ks->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (ks->syms[mid].addr <= lookup)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo) {
		f->module = strdup("[kernel]");
		return f->module ? 1 : -ENOMEM;
	}
	k = &ks->syms[lo - 1];
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

bool kallsyms__is_bpf(struct kallsyms *ks, uint64_t addr)
{
	struct bw_pc pc = { .pc = addr, .kernel = true };
	struct bw_frame f;
	bool bpf;

	if (kallsyms__resolve(ks, &pc, &f) < 0)
		return false;
	bpf = (f.module && !strcmp(f.module, "[bpf]")) ||
	      (f.symbol && (!strncmp(f.symbol, "bpf_trace_run", 13) ||
			    !strncmp(f.symbol, "__bpf_trace_", 12) ||
			    !strncmp(f.symbol, "__traceiter_", 12) ||
			    !strncmp(f.symbol, "bpf_prog_", 9)));
	bw_frame_clear(&f);
	return bpf;
}
