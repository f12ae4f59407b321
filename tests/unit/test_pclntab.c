// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The .gopclntab reader against the Go runtime's own answers, in the
 * four builds of tests/fixtures/go/pcln.go: the process prints
 * runtime.Callers/CallersFrames for known call chains, answers
 * runtime.FuncForPC for any pc we ask, and on request crashes with
 * GOTRACEBACK=system, whose traceback gives every frame's fp and sp as
 * the runtime's unwinder computed them from pcsp. Nothing here compares
 * the reader with itself, except the builds with each other.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include "base/util.h"
#include "pclntab_fixture.h"
#include "pclntab_oracle.h"

#define MAX_FRAMES 32
#define SWEEP_STRIDE 7 /* bytes between swept pcs: ~150,000 of them */
#define BATCH 2000

/* One build under test. */
struct variant {
	const char *name;
	char path[512];
	struct goelf g;
	struct gopclntab *t;
	struct oracle o;
	uint64_t bias; /* runtime address - link-time address */
};

/* What the default build's reader said for the stacks, for the others. */
struct results {
	char frames[MAX_STACKS][MAX_PCS][256];
	int nframes[MAX_STACKS];
	bool have;
};

static void same_frame(const struct variant *v, const struct go_frame *mine,
		       const struct gframe *go, uint64_t pc)
{
	if (strcmp(mine->func, go->func) || strcmp(mine->file, go->file) ||
	    mine->line != go->line || mine->entry + v->bias != go->entry ||
	    mine->inlined != go->inlined)
		fail_msg("%s pc %#lx: reader %s %s:%u %#lx%s, Go %s %s:%u %#lx%s", v->name, pc,
			 mine->func, mine->file, mine->line, mine->entry + v->bias,
			 mine->inlined ? " inlined" : "", go->func, go->file, go->line, go->entry,
			 go->inlined ? " inlined" : "");
}

/*
 * runtime.Callers lists one pc per frame, inlined ones included (1.19
 * adds entry + parentPc + 1 for each), and CallersFrames gives frame i
 * for pc i. The reader, given pc - 1, must give frames i .. i + n - 1:
 * for a return address all the inlined calls there, and for a pc that
 * Callers made up, the ones from that level out.
 */
static void check_stacks(struct variant *v, struct results *res, int *npcs, int *nframes)
{
	struct go_frame fr[MAX_FRAMES];
	struct go_func f;
	int s, i, k, n, inlined = 0;

	for (s = 0; s < v->o.nstacks; s++) {
		struct gstack *st = &v->o.stacks[s];
		int walk = 0, out = 0;

		assert_int_equal(st->npcs, st->nframes);
		for (i = 0; i < st->npcs; i++) {
			n = gopclntab__frames(v->t, st->pcs[i] - 1 - v->bias, fr, MAX_FRAMES);
			assert_true(n >= 1 && i + n <= st->nframes);
			for (k = 0; k < n; k++)
				same_frame(v, &fr[k], &st->frames[i + k], st->pcs[i]);
			(*npcs)++;
			*nframes += n;
			if (i != walk)
				continue;
			/* the physical pcs: the reader's frames, in order, are Go's */
			walk += n;
			for (k = 0; k < n; k++, out++) {
				char line[256];

				inlined += fr[k].inlined;
				snprintf(line, sizeof(line), "%s %s:%u%s", fr[k].func, fr[k].file,
					 fr[k].line, fr[k].inlined ? " inlined" : "");
				assert_true(out < MAX_PCS);
				if (!res->have)
					memcpy(res->frames[s][out], line, sizeof(line));
				else if (out >= res->nframes[s] || strcmp(line, res->frames[s][out]))
					fail_msg("%s stack %s frame %d: %s, default build: %s", v->name,
						 st->name, out, line,
						 out < res->nframes[s] ? res->frames[s][out] : "none");
			}
			/* every non-inlined frame's function is found by name */
			assert_int_equal(gopclntab__lookup(v->t, fr[n - 1].func, &f), 0);
			assert_int_equal(f.entry, fr[n - 1].entry);
		}
		assert_int_equal(walk, st->nframes);
		if (res->have)
			assert_int_equal(out, res->nframes[s]);
		res->nframes[s] = out;
	}
	assert_true(inlined >= 6); /* the fixture's chains do inline */
}

/* One FuncForPC answer: "r PC FUNC ENTRY FILE LINE" or "r PC -". */
static void sweep_answer(struct variant *v, char *line, long *found, long *inl, long *entries)
{
	struct go_frame fr[MAX_FRAMES];
	struct go_func fn;
	char *f[8];
	int n = fields(line, f, 8), err;
	uint64_t pc;
	int32_t d;

	assert_string_equal(f[0], "r");
	pc = strtoull(f[1], NULL, 16) - v->bias;
	err = gopclntab__find(v->t, pc, &fn);
	if (n == 3 && !strcmp(f[2], "-")) {
		if (err != -ENOENT)
			fail_msg("%s pc %#lx: Go has no function, reader %d %s", v->name, pc, err,
				 err ? "" : fn.name);
		assert_int_equal(gopclntab__frames(v->t, pc, fr, MAX_FRAMES), -ENOENT);
		return;
	}
	assert_int_equal(n, 6);
	if (err || fn.entry + v->bias != strtoull(f[3], NULL, 16))
		fail_msg("%s pc %#lx: Go %s at %s, reader %d", v->name, pc, f[2], f[3], err);
	assert_true(pc < fn.end);
	assert_true(gopclntab__frames(v->t, pc, fr, MAX_FRAMES) >= 1);
	/* FuncForPC: the innermost inlined function, file:line at the pc */
	if (strcmp(fr[0].func, f[2]) || strcmp(fr[0].file, f[4]) ||
	    fr[0].line != strtoul(f[5], NULL, 10))
		fail_msg("%s pc %#lx: Go %s %s:%s, reader %s %s:%u", v->name, pc, f[2], f[4], f[5],
			 fr[0].func, fr[0].file, fr[0].line);
	if (!fr[0].inlined)
		assert_string_equal(fn.name, f[2]);
	(*found)++;
	*inl += fr[0].inlined;
	/* The first swept pc of each function: nothing pushed at its entry.
	 * cgo's C functions are in the table too, without pc tables. */
	if (pc - fn.entry < SWEEP_STRIDE) {
		err = gopclntab__spdelta(v->t, fn.entry, &d);
		if (err == -ENOENT && !strcmp(fr[0].file, "?"))
			return;
		if (err || d)
			fail_msg("%s %s %#lx: spdelta at the entry %d (%d)", v->name, fn.name, fn.entry, d, err);
		(*entries)++;
	}
}

static void sync_answers(struct variant *v, long *found, long *inl, long *entries)
{
	char line[1024];

	fprintf(v->o.in, "sync\n");
	fflush(v->o.in);
	while (fgets(line, sizeof(line), v->o.out)) {
		if (!strcmp(line, "synced\n"))
			return;
		sweep_answer(v, line, found, inl, entries);
	}
	fail_msg("%s: the fixture ended during the sweep", v->name);
}

/* Every SWEEP_STRIDE-th byte of .text and a page either side, and a few
 * far-off pcs: the reader's function, innermost frame and entry against
 * runtime.FuncForPC's. */
static void check_sweep(struct variant *v, long *pcs, long *found, long *inl, long *entries)
{
	static const uint64_t far[] = { 0, 1, 0x1000, UINT32_MAX, 1ULL << 46 };
	uint64_t pc;
	size_t i;

	for (i = 0; i < BW_ARRAY_SIZE(far); i++, (*pcs)++)
		fprintf(v->o.in, "q %lx\n", far[i] + v->bias);
	for (pc = v->g.text_addr - 4096; pc < v->g.text_end + 4096; pc += SWEEP_STRIDE) {
		fprintf(v->o.in, "q %lx\n", pc + v->bias);
		if (++(*pcs) % BATCH == 0)
			sync_answers(v, found, inl, entries);
	}
	sync_answers(v, found, inl, entries);
}

/* "\tFILE:LINE [+0xOFF] fp=0x.. sp=0x.. pc=0x.." of a traceback. */
static void parse_location(char *line, struct gframe *g, uint64_t *off, uint64_t *fp,
			   uint64_t *sp, uint64_t *pc)
{
	char *end = line + 1 + strcspn(line + 1, " "), *colon, *p;

	*end = 0;
	colon = strrchr(line + 1, ':');
	assert_non_null(colon);
	*colon = 0;
	copy(g->file, sizeof(g->file), line + 1);
	g->line = strtoul(colon + 1, NULL, 10);
	*end = ' ';
	*off = (p = strstr(end, "+0x")) ? strtoull(p + 1, NULL, 16) : 0;
	*fp = (p = strstr(end, "fp=")) ? strtoull(p + 3, NULL, 16) : 0;
	*sp = (p = strstr(end, "sp=")) ? strtoull(p + 3, NULL, 16) : 0;
	*pc = (p = strstr(end, "pc=")) ? strtoull(p + 3, NULL, 16) : 0;
}

/*
 * One physical frame of the traceback, after the inlined ones printed
 * above it: the reader's frames at the pc the runtime looked up (pc - 1
 * unless at the entry), and its pcsp against the runtime's unwinder,
 * which set fp = sp + spdelta(pc) + 8 (traceback.go, x86: the return
 * address).
 */
static void traceback_frame(struct variant *v, struct gframe *pend, int npend, uint64_t off,
			    uint64_t fp, uint64_t sp, uint64_t pc)
{
	struct go_frame fr[MAX_FRAMES];
	struct go_func fn;
	uint64_t tracepc;
	int32_t d;
	int n, k;

	assert_true(fp && sp && pc);
	assert_int_equal(gopclntab__find(v->t, pc - v->bias, &fn), 0);
	assert_int_equal(pc - off, fn.entry + v->bias);
	tracepc = pc - v->bias - (pc - v->bias > fn.entry);
	n = gopclntab__frames(v->t, tracepc, fr, MAX_FRAMES);
	if (n != npend)
		fail_msg("%s pc %#lx: %d frames, the traceback %d", v->name, pc, n, npend);
	for (k = 0; k < n; k++) {
		pend[k].entry = fn.entry + v->bias;
		same_frame(v, &fr[k], &pend[k], pc);
	}
	assert_int_equal(gopclntab__spdelta(v->t, pc - v->bias, &d), 0);
	if ((uint64_t)d != fp - sp - 8)
		fail_msg("%s %s pc %#lx: spdelta %d, the runtime's %ld", v->name, fn.name, pc, d,
			 (long)(fp - sp - 8));
}

/* The crash with GOTRACEBACK=system: every goroutine, every frame,
 * with "name(...)" for inlined calls and fp/sp/pc for the others. */
static void check_traceback(struct variant *v, int *nframes, int *ninlined)
{
	struct gframe pend[MAX_FRAMES];
	char line[1024], *paren;
	uint64_t off, fp, sp, pc;
	int npend = 0, status;
	bool named = false;

	fprintf(v->o.in, "crash\n");
	fclose(v->o.in);
	v->o.in = NULL;
	while (fgets(line, sizeof(line), v->o.out))
		;
	while (fgets(line, sizeof(line), v->o.err)) {
		line[strcspn(line, "\n")] = 0;
		if (line[0] == '\t') {
			if (!named) /* "created by"'s location, "stack unavailable" */
				continue;
			assert_true(npend < MAX_FRAMES);
			parse_location(line, &pend[npend++], &off, &fp, &sp, &pc);
			named = false;
			if (pend[npend - 1].inlined)
				continue;
			traceback_frame(v, pend, npend, off, fp, sp, pc);
			*nframes += npend;
			npend = 0;
			continue;
		}
		paren = strrchr(line, '(');
		named = paren && line[strlen(line) - 1] == ')' && strncmp(line, "created by ", 11);
		if (!named) { /* "goroutine N [...]:", "created by ..." */
			npend = 0;
			continue;
		}
		*paren = 0;
		copy(pend[npend].func, sizeof(pend[0].func),
		     strcmp(line, "panic") ? line : "runtime.gopanic");
		pend[npend].inlined = !strcmp(paren + 1, "...)");
		*ninlined += pend[npend].inlined;
	}
	assert_int_equal(waitpid(v->o.pid, &status, 0), v->o.pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 2);
	v->o.pid = 0;
}

/*
 * The funcIDs from the runtime's own source (GOROOT/src/runtime/
 * symtab.go, 1.19: "funcID_normal funcID = iota" and one name a line):
 * each funcID_X is runtime.X's (runtime_main is runtime.main's).
 */
static void check_funcids(struct variant *v, int *checked)
{
	char path[512], line[256], name[64], fn_name[80];
	struct go_func f;
	int id = -1;
	FILE *src;

	snprintf(path, sizeof(path), "%s/src/runtime/symtab.go", v->o.goroot);
	src = fopen(path, "r");
	if (!src)
		fail_msg("%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), src)) {
		if (strstr(line, "funcID_normal funcID = iota")) {
			id = 0;
			continue;
		}
		if (id < 0)
			continue;
		if (sscanf(line, " funcID_%63[a-zA-Z0-9_]", name) != 1)
			break;
		id++;
		snprintf(fn_name, sizeof(fn_name), "runtime.%s",
			 strcmp(name, "runtime_main") ? name : "main");
		if (gopclntab__lookup(v->t, fn_name, &f))
			continue; /* wrapper, or not in this build (handleAsyncEvent: wasm) */
		if (f.funcid != id)
			fail_msg("%s %s: funcid %u, symtab.go %d", v->name, fn_name, f.funcid, id);
		(*checked)++;
	}
	fclose(src);
	assert_true(*checked >= 15);
}

static void check_lookups(struct variant *v, int *funcids)
{
	struct go_frame fr[4];
	struct go_func f, g;
	int32_t d;
	int i;

	/* the bias, the same from every anchor: 0 unless PIE */
	for (i = 0; i < v->o.nanchors; i++) {
		assert_int_equal(gopclntab__lookup(v->t, v->o.anchor_name[i], &f), 0);
		if (!i)
			v->bias = v->o.anchor[0] - f.entry;
		assert_int_equal(v->o.anchor[i], f.entry + v->bias);
		assert_int_equal(gopclntab__find(v->t, f.entry, &g), 0);
		assert_string_equal(g.name, v->o.anchor_name[i]);
	}
	assert_int_equal(v->o.nanchors, 3);
	if (!v->g.pie)
		assert_int_equal(v->bias, 0);
	check_funcids(v, funcids);
	assert_int_equal(gopclntab__lookup(v->t, "runtime.allgadd", &f), 0);
	assert_int_equal(f.funcid, 0);
	assert_true(f.end > f.entry);
	assert_int_equal(gopclntab__lookup(v->t, "main.nosuch", &f), -ENOENT);
	assert_int_equal(gopclntab__lookup(v->t, "", &f), -ENOENT);
	/* outside Go's text */
	assert_int_equal(gopclntab__find(v->t, 0, &f), -ENOENT);
	assert_int_equal(gopclntab__find(v->t, v->g.text_addr - 1, &f), -ENOENT);
	assert_int_equal(gopclntab__find(v->t, v->g.text_end, &f), -ENOENT);
	assert_int_equal(gopclntab__find(v->t, UINT64_MAX, &f), -ENOENT);
	assert_int_equal(gopclntab__frames(v->t, v->g.text_end, fr, 4), -ENOENT);
	assert_int_equal(gopclntab__spdelta(v->t, v->g.text_end, &d), -ENOENT);
}

static void stop(struct variant *v)
{
	if (v->o.in)
		fclose(v->o.in);
	if (v->o.out)
		fclose(v->o.out);
	if (v->o.err)
		fclose(v->o.err);
	if (v->o.pid > 0) {
		kill(v->o.pid, SIGKILL);
		waitpid(v->o.pid, NULL, 0);
	}
	gopclntab__free(v->t);
	goelf_close(&v->g);
	free(v);
}

static void check_variant(void **state, const char *name)
{
	struct results *res = *state;
	struct variant *v = calloc(1, sizeof(*v));
	long pcs = 0, found = 0, inl = 0, entries = 0;
	int npcs = 0, nframes = 0, tframes = 0, tinl = 0, funcids = 0;

	assert_non_null(v);
	v->name = name;
	assert_int_equal(open_go_fixture(name, &v->g, &v->t, v->path, sizeof(v->path)), 0);
	assert_int_equal(gopclntab__layout(v->t), 118);
	assert_int_equal(spawn(&v->o, v->path), 0);
	read_report(&v->o);
	check_lookups(v, &funcids);
	check_stacks(v, res, &npcs, &nframes);
	check_sweep(v, &pcs, &found, &inl, &entries);
	check_traceback(v, &tframes, &tinl);
	print_message("# %s: bias %#lx; %d funcIDs; stacks: %d pcs, %d frames; FuncForPC: %ld pcs, "
		      "%ld in functions (%ld inlined), %ld entries at spdelta 0; traceback: %d "
		      "frames (%d inlined) with file:line and spdelta\n",
		      name, v->bias, funcids, npcs, nframes, pcs, found, inl, entries, tframes,
		      tinl);
	assert_true(found > 50000 && tframes > 20 && tinl > 3);
	res->have = true;
	stop(v);
}

static void test_default(void **state)
{
	check_variant(state, "default");
}

static void test_stripped(void **state)
{
	check_variant(state, "stripped");
}

static void test_pie(void **state)
{
	check_variant(state, "pie");
}

static void test_static(void **state)
{
	check_variant(state, "static");
}

static int setup(void **state)
{
	*state = calloc(1, sizeof(struct results));
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	free(*state);
	return 0;
}

int main(void)
{
	/* the default build first: the others are compared with it */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default),
		cmocka_unit_test(test_stripped),
		cmocka_unit_test(test_pie),
		cmocka_unit_test(test_static),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("pclntab", tests, setup, teardown);
}
