// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The unwinder on recorded register + stack snapshots, no BPF: the
 * fixture records itself three calls deep, built with and without
 * frame pointers; CFI must give every frame either way. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include <elfutils/libdwfl.h>
#include "stacks/cfiwalk.h"
#include "stacks/demangle.h"
#include "stacks/syms.h"

struct snap_hdr {
	uint64_t pid, tid;
	uint64_t regs[17];
	uint64_t stack_base, stack_len;
};

struct recorded {
	pid_t child;
	int in;
	struct snap_hdr h;
	uint8_t *stack;
};

static int record(const char *name, struct recorded *r)
{
	const char *dir = getenv("BW_FIXTURE_DIR");
	char path[512];
	int to[2], from[2];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir ? dir : "build/tests", name);
	if (pipe(to) || pipe(from))
		return -1;
	r->child = fork();
	if (r->child == 0) {
		dup2(to[0], 0);
		dup2(from[1], 1);
		close(to[1]);
		close(from[0]);
		execl(path, path, (char *)NULL);
		_exit(127);
	}
	close(to[0]);
	close(from[1]);
	r->in = to[1];
	f = fdopen(from[0], "r");
	if (!f || fread(&r->h, sizeof(r->h), 1, f) != 1)
		return -1;
	r->stack = malloc(r->h.stack_len ? r->h.stack_len : 1);
	if (!r->stack || fread(r->stack, 1, r->h.stack_len, f) != r->h.stack_len)
		return -1;
	fclose(f);
	return 0;
}

static void finish(struct recorded *r)
{
	close(r->in);
	waitpid(r->child, NULL, 0);
	free(r->stack);
}

static int unwind_names(struct syms *s, struct recorded *r, uint32_t stack_len, char **names,
			int max, bool *truncated)
{
	struct bw_snapshot snap = {
		.pid = r->h.pid, .tid = r->h.tid, .regs = r->h.regs,
		.stack_base = r->h.stack_base, .stack = r->stack, .stack_len = stack_len,
	};
	struct bw_pc pcs[BW_MAX_FRAMES];
	int n, i;

	n = syms__unwind(s, &snap, pcs, BW_MAX_FRAMES, truncated);
	for (i = 0; i < n && i < max; i++) {
		struct bw_frame f;

		assert_int_equal(syms__resolve(s, r->h.pid, &pcs[i], &f, 1), 1);
		names[i] = f.symbol ? strdup(f.symbol) : strdup("?");

		bw_frame_clear(&f);
	}
	return n < max ? n : max;
}

static void check(const char *fixture)
{
	static const char *const want[] = {
		"fixture_capture", "fixture_level3", "fixture_level2", "fixture_level1", "main",
		"__libc_start_call_main", "__libc_start_main", "_start",
	};
	struct syms *s = syms__new(NULL);
	struct recorded r;
	char *names[32];
	bool truncated;
	int n, i, j;

	assert_int_equal(record(fixture, &r), 0);
	assert_true(r.h.stack_len >= 4096);

	n = unwind_names(s, &r, r.h.stack_len, names, 32, &truncated);
	for (i = 0; i < n; i++)
		printf("# %s frame %d: %s\n", fixture, i, names[i]);
	/* The whole chain, in order, and nothing made up after _start. */
	assert_int_equal(n, 8);
	for (i = 0; i < 8; i++)
		assert_string_equal(names[i], want[i]);
	assert_false(truncated);
	for (i = 0; i < n; i++)
		free(names[i]);

	/* The same snapshot with only 64 bytes of stack: cut short, and
	 * said so. */
	n = unwind_names(s, &r, 64, names, 32, &truncated);
	assert_true(n >= 1 && n < 8);
	assert_true(truncated);
	for (j = 0; j < n; j++) {
		assert_string_equal(names[j], want[j]);
		free(names[j]);
	}

	finish(&r);
	syms__free(s);
}

static void test_unwind_fp(void **state)
{
	check("snapshot_fp");
}

static void test_unwind_nofp(void **state)
{
	check("snapshot_nofp");
}

struct walked {
	struct bw_pc pcs[BW_MAX_FRAMES];
	struct bw_memread reads[BW_UNWIND_MAX_READS];
	int n, err, nreads;
	bool cut_short;
	uint32_t regs_used;
};

static void walk_one(Dwfl *d, struct bw_unwinder *uw, const struct bw_snapshot *snap, int max,
		     bool dwfl_only, struct walked *w)
{
	memset(w, 0, sizeof(*w));
	uw->dwfl_only = dwfl_only;
	uw->reads = w->reads;
	w->n = bw_unwind_walk(d, uw, snap, w->pcs, max, &w->err);
	w->nreads = uw->nreads;
	w->cut_short = uw->cut_short;
	w->regs_used = uw->regs_used;
	uw->reads = NULL;
}

/* The same pcs, error and cut, and reads at the same addresses with the
 * same kinds (values aside). */
static void same_pcs(const struct walked *a, const struct walked *b, const char *what)
{
	int i;

	if (a->n != b->n || a->err != b->err || a->cut_short != b->cut_short ||
	    a->nreads != b->nreads)
		fail_msg("%s: %d frames err %d cut %d reads %d, then %d frames err %d cut %d "
			 "reads %d", what, a->n, a->err, a->cut_short, a->nreads, b->n, b->err,
			 b->cut_short, b->nreads);
	for (i = 0; i < a->n; i++)
		if (a->pcs[i].pc != b->pcs[i].pc || a->pcs[i].activation != b->pcs[i].activation)
			fail_msg("%s: frame %d differs", what, i);
	for (i = 0; i < a->nreads && i < BW_UNWIND_MAX_READS; i++)
		if (a->reads[i].addr != b->reads[i].addr || a->reads[i].kind != b->reads[i].kind)
			fail_msg("%s: read %d at another address or of another kind", what, i);
}

/* A read the walk used is at @addr (a word may be read twice: as a
 * saved register never used, and as a return address). */
static bool used_at(const struct walked *w, uint64_t addr)
{
	for (int i = 0; i < w->nreads && i < BW_UNWIND_MAX_READS; i++)
		if (!w->reads[i].unused && w->reads[i].addr == addr)
			return true;
	return false;
}

/*
 * What a walk by kept rules says it did not depend on, it did not: the
 * snapshot's registers outside regs_used and every word read marked
 * unused, all set to random values at once, walk the same. Returns how
 * many of the walk's reads were unused.
 */
static int unused_is_unused(Dwfl *d, struct bw_unwinder *uw, struct bw_snapshot *snap,
			    uint8_t *copy, uint64_t *seed, const char *what)
{
	static struct walked a, b;
	uint64_t regs[BW_NREGS];
	const uint64_t *saved = snap->regs;
	int i, unused = 0;

	walk_one(d, uw, snap, BW_MAX_FRAMES, false, &a);
	if (a.regs_used == BW_ALL_REGS)
		return 0; /* by libdwfl: nothing claimed */
	memcpy(regs, saved, sizeof(regs));
	for (int round = 0; round < 4; round++) {
		for (i = 0; i < BW_NREGS; i++) {
			*seed = *seed * 6364136223846793005ULL + 1442695040888963407ULL;
			regs[i] = a.regs_used & (1u << i) ? saved[i] : *seed;
		}
		for (i = 0; i < a.nreads && i < BW_UNWIND_MAX_READS; i++) {
			const struct bw_memread *r = &a.reads[i];

			if (!r->unused || r->kind != BW_READ_OK || used_at(&a, r->addr))
				continue;
			*seed = *seed * 6364136223846793005ULL + 1442695040888963407ULL;
			memcpy(copy + (r->addr - snap->stack_base), seed, 8);
			unused += round == 0;
		}
		snap->regs = regs;
		walk_one(d, uw, snap, BW_MAX_FRAMES, false, &b);
		snap->regs = saved;
		same_pcs(&a, &b, what);
		/* the words back, for the next round and the caller */
		for (i = 0; i < a.nreads && i < BW_UNWIND_MAX_READS; i++)
			if (a.reads[i].kind == BW_READ_OK)
				memcpy(copy + (a.reads[i].addr - snap->stack_base), &a.reads[i].value, 8);
	}
	return unused;
}

static void same_walk(const struct walked *a, const struct walked *b, const char *what)
{
	int i;

	if (a->n != b->n || a->err != b->err || a->cut_short != b->cut_short ||
	    a->nreads != b->nreads)
		fail_msg("%s: libdwfl %d frames err %d cut %d reads %d; kept rules %d frames "
			 "err %d cut %d reads %d", what, a->n, a->err, a->cut_short, a->nreads,
			 b->n, b->err, b->cut_short, b->nreads);
	for (i = 0; i < a->n; i++)
		if (a->pcs[i].pc != b->pcs[i].pc || a->pcs[i].activation != b->pcs[i].activation)
			fail_msg("%s: frame %d: %#lx/%d vs %#lx/%d", what, i,
				 (unsigned long)a->pcs[i].pc, a->pcs[i].activation,
				 (unsigned long)b->pcs[i].pc, b->pcs[i].activation);
	for (i = 0; i < a->nreads && i < BW_UNWIND_MAX_READS; i++)
		if (a->reads[i].addr != b->reads[i].addr || a->reads[i].kind != b->reads[i].kind ||
		    a->reads[i].value != b->reads[i].value)
			fail_msg("%s: read %d differs", what, i);
}

/*
 * The walk with kept rules is libdwfl's own: the same frames, error,
 * cut, and stack words read in the same order, on the fixture's
 * snapshot whole, cut at every 8 bytes, with words of it overwritten
 * (return addresses into nowhere, into other functions), and stopped
 * at every frame count; and the rules were used, not left to libdwfl.
 */
static void differential(const char *fixture)
{
	static const Dwfl_Callbacks cb = {
		.find_elf = dwfl_linux_proc_find_elf,
		.find_debuginfo = dwfl_standard_find_debuginfo,
	};
	static struct walked a, b;
	static struct bw_memread words[BW_UNWIND_MAX_READS];
	int nwords;
	struct bw_unwinder uw;
	struct recorded r;
	struct bw_snapshot snap;
	uint8_t *copy;
	struct bw_pc pcs[BW_MAX_FRAMES];
	uint64_t seed = 42;
	int err, i, max, fast = 0;
	uint32_t len;
	char what[96];
	Dwfl *d;

	assert_int_equal(record(fixture, &r), 0);
	d = dwfl_begin(&cb);
	assert_non_null(d);
	dwfl_report_begin(d);
	assert_int_equal(dwfl_linux_proc_report(d, r.h.pid), 0);
	dwfl_report_end(d, NULL, NULL);
	memset(&uw, 0, sizeof(uw));
	assert_true(bw_unwind_attach(d, r.h.pid, &uw));
	copy = malloc(r.h.stack_len);
	assert_non_null(copy);
	snap = (struct bw_snapshot){
		.pid = r.h.pid, .tid = r.h.tid, .regs = r.h.regs,
		.stack_base = r.h.stack_base, .stack = copy, .stack_len = r.h.stack_len,
	};

	/* whole, then shorter and shorter */
	memcpy(copy, r.stack, r.h.stack_len);
	for (len = r.h.stack_len;; len -= len > 8 ? 8 : len) {
		snap.stack_len = len;
		walk_one(d, &uw, &snap, BW_MAX_FRAMES, true, &a);
		walk_one(d, &uw, &snap, BW_MAX_FRAMES, false, &b);
		snprintf(what, sizeof(what), "%s, %u bytes", fixture, len);
		same_walk(&a, &b, what);
		if (!len)
			break;
	}
	/* the rules carry the whole walk: every frame to _start */
	snap.stack_len = r.h.stack_len;
	assert_int_equal(cfiwalk(d, &uw.rules, &uw, &snap, pcs, BW_MAX_FRAMES, &err), 8);
	assert_int_equal(err, 0);
	assert_true(cfirules__count(uw.rules) >= 7);
	for (max = 0; max <= 9; max++) {
		walk_one(d, &uw, &snap, max, true, &a);
		walk_one(d, &uw, &snap, max, false, &b);
		snprintf(what, sizeof(what), "%s, at most %d frames", fixture, max);
		same_walk(&a, &b, what);
	}
	/* what the walk says it did not depend on, it did not; and it did
	 * not depend on everything (the memo would gain nothing) */
	walk_one(d, &uw, &snap, BW_MAX_FRAMES, false, &b);
	assert_true(b.regs_used != BW_ALL_REGS);
	assert_true(b.regs_used & (1u << BW_REG_RSP | 1u << BW_REG_RBP));
	assert_false(b.regs_used & (1u << BW_REG_RAX));
	i = unused_is_unused(d, &uw, &snap, copy, &seed, fixture);
	printf("# %s: %d of %d words read unused, registers used %#x\n", fixture, i, b.nreads,
	       b.regs_used);
	/* damaged copies: one of the words the walk reads (return
	 * addresses, saved registers) made a random value, a pc of the walk
	 * (a loop), or a pc near one (another function, or no CFI) */
	walk_one(d, &uw, &snap, BW_MAX_FRAMES, true, &a);
	assert_true(a.nreads > 0 && a.nreads <= BW_UNWIND_MAX_READS);
	memcpy(words, a.reads, sizeof(words[0]) * a.nreads);
	nwords = a.nreads;
	for (i = 0; i < 3000; i++) {
		uint64_t at, v;

		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		at = words[(seed >> 33) % nwords].addr - r.h.stack_base;
		v = i % 3 == 0 ? seed : i % 3 == 1 ? pcs[(seed >> 8) % 8].pc
						    : pcs[(seed >> 8) % 8].pc - 64 + (seed >> 40) % 128;
		memcpy(copy, r.stack, r.h.stack_len);
		memcpy(copy + at, &v, 8);
		walk_one(d, &uw, &snap, BW_MAX_FRAMES, true, &a);
		walk_one(d, &uw, &snap, BW_MAX_FRAMES, false, &b);
		if (cfiwalk(d, &uw.rules, &uw, &snap, pcs + 16, BW_MAX_FRAMES - 16, &err) >= 0)
			fast++;
		snprintf(what, sizeof(what), "%s, word at +%lu = %#lx", fixture, (unsigned long)at,
			 (unsigned long)v);
		same_walk(&a, &b, what);
		if (i % 10 == 0)
			unused_is_unused(d, &uw, &snap, copy, &seed, what);
	}
	printf("# %s: %d of 3000 damaged walks by kept rules\n", fixture, fast);
	/* most by the rules, some (a pc in no module) by libdwfl */
	assert_true(fast > 0 && fast < 3000);
	bw_unwind_detach(&uw);
	dwfl_end(d);
	free(copy);
	finish(&r);
}

static void test_cfiwalk_fp(void **state)
{
	differential("snapshot_fp");
}

static void test_cfiwalk_nofp(void **state)
{
	differential("snapshot_nofp");
}

static void test_demangle(void **state)
{
	char *d;

	d = bw_demangle("_ZN3foo3barEi");
	assert_string_equal(d, "foo::bar(int)");
	free(d);
	/* Rust's legacy mangling: the hash goes, like rustc-demangle */
	d = bw_demangle("_ZN4core3ptr13drop_in_place17h0123456789abcdefE");
	assert_string_equal(d, "core::ptr::drop_in_place");
	free(d);
	d = bw_demangle("plain_c_function");
	assert_string_equal(d, "plain_c_function");
	free(d);
	d = bw_demangle("_Znot_really_mangled(");
	assert_string_equal(d, "_Znot_really_mangled(");
	free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unwind_fp),
		cmocka_unit_test(test_unwind_nofp),
		cmocka_unit_test(test_cfiwalk_fp),
		cmocka_unit_test(test_cfiwalk_nofp),
		cmocka_unit_test(test_demangle),
	};

	return cmocka_run_group_tests_name("unwind", tests, NULL, NULL);
}
