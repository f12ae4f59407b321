// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The pclntab reader on damaged input (headers it must refuse, every
 * kind of truncation, random byte flips in .gopclntab and go:func.*:
 * -EINVAL or an answer, never a read outside the buffers; run it under
 * ASan or valgrind to see the reads), how it degrades without go:func.*,
 * its @max handling, and what one lookup costs on a warm table.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include "base/util.h"
#include "pclntab_fixture.h"

#define PROBE_STRIDE 331 /* ~3,000 pcs over .text for each damaged table */
#define FLIPS 400 /* rounds; BW_PCLNTAB_FLIPS=N for a longer run */

struct fixture {
	char path[512];
	struct goelf g;
	struct gopclntab *t;
	/* go:func.*, as gopclntab__from_goelf found it */
	const uint8_t *fd;
	size_t fd_len;
	uint64_t fd_addr, gofunc;
};

struct tally {
	long refused, accepted, ok, einval, enoent;
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	uint64_t md, addr;
	const uint8_t *d;
	size_t len;

	if (!fx || open_go_fixture("default", &fx->g, &fx->t, fx->path, sizeof(fx->path)))
		return -1;
	if (!goelf_section(&fx->g, ".noptrdata", &d, &len, &addr) ||
	    gopclntab__find_moduledata(fx->t, d, len, addr, fx->g.pclntab_addr, &md, &fx->gofunc) ||
	    !goelf_section(&fx->g, ".rodata", &fx->fd, &fx->fd_len, &fx->fd_addr))
		return -1;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	gopclntab__free(fx->t);
	goelf_close(&fx->g);
	free(fx);
	return 0;
}

static void count(struct tally *c, int err)
{
	if (err >= 0)
		c->ok++;
	else if (err == -EINVAL)
		c->einval++;
	else if (err == -ENOENT)
		c->enoent++;
	else
		fail_msg("unexpected error %d", err);
}

/* Every call on every probe pc; the strings the reader returns are read
 * to the end, so that ASan sees a bad one. */
static void exercise(const struct fixture *fx, const struct gopclntab *t, struct tally *c)
{
	struct go_frame fr[16];
	struct go_func f;
	volatile size_t sink = 0;
	uint64_t pc;
	int32_t d;
	int n, k;

	for (pc = fx->g.text_addr; pc < fx->g.text_end; pc += PROBE_STRIDE) {
		n = gopclntab__find(t, pc, &f);
		count(c, n);
		if (!n)
			sink += strlen(f.name);
		n = gopclntab__frames(t, pc, fr, 16);
		count(c, n);
		assert_true(n <= 16);
		for (k = 0; k < n; k++)
			sink += strlen(fr[k].func) + strlen(fr[k].file);
		count(c, gopclntab__spdelta(t, pc, &d));
	}
	count(c, gopclntab__lookup(t, "runtime.allgadd", &f));
	count(c, gopclntab__lookup(t, "main.main", &f));
	(void)sink;
}

/* A private copy of @len bytes, so that reading past them is an error
 * ASan reports, then the table on it. */
static void try_table(const struct fixture *fx, const uint8_t *bytes, size_t len,
		      const uint8_t *fd, struct tally *c)
{
	uint8_t *copy = malloc(len ? len : 1);
	struct gopclntab *t;

	assert_non_null(copy);
	memcpy(copy, bytes, len);
	if (gopclntab__new(copy, len, fx->g.text_addr, &t)) {
		c->refused++;
	} else {
		c->accepted++;
		gopclntab__set_funcdata(t, fd, fx->fd_len, fx->fd_addr, fx->gofunc);
		exercise(fx, t, c);
		gopclntab__free(t);
	}
	free(copy);
}

static void test_headers(void **state)
{
	struct fixture *fx = *state;
	size_t len = fx->g.pclntab_len;
	uint8_t *b = malloc(len);
	struct gopclntab *t;
	static const struct {
		size_t off;
		uint8_t val;
	} bad[] = {
		{ 0, 0xfb }, /* 1.2-1.15's magic: not supported */
		{ 0, 0xf2 }, /* a magic from the future */
		{ 4, 1 },    /* pad */
		{ 6, 3 },    /* pc quantum */
		{ 7, 4 },    /* 4-byte pointers */
	};
	size_t i;

	assert_non_null(b);
	for (i = 0; i < BW_ARRAY_SIZE(bad); i++) {
		memcpy(b, fx->g.pclntab, len);
		b[bad[i].off] = bad[i].val;
		assert_int_equal(gopclntab__new(b, len, fx->g.text_addr, &t), -EINVAL);
		assert_null(t);
	}
	/* big-endian: the magic reads backwards */
	memcpy(b, fx->g.pclntab, len);
	b[0] = b[1] = b[2] = 0xff;
	b[3] = 0xf0;
	assert_int_equal(gopclntab__new(b, len, fx->g.text_addr, &t), -EINVAL);
	assert_int_equal(gopclntab__new(b, 7, fx->g.text_addr, &t), -EINVAL);
	assert_int_equal(gopclntab__new(NULL, len, fx->g.text_addr, &t), -EINVAL);
	/* nfunc beyond the section */
	memcpy(b, fx->g.pclntab, len);
	memset(b + 8, 0xff, 4);
	assert_int_equal(gopclntab__new(b, len, fx->g.text_addr, &t), -EINVAL);
	/* set_funcdata: gofunc outside the bytes given */
	assert_int_equal(gopclntab__set_funcdata(fx->t, fx->fd, fx->fd_len, fx->fd_addr,
						 fx->fd_addr + fx->fd_len),
			 -EINVAL);
	free(b);
}

/* The first 256 lengths one by one (the header), then ~1,000 spread
 * over the rest (the functab is at the end). */
static void test_truncations(void **state)
{
	struct fixture *fx = *state;
	size_t len = fx->g.pclntab_len, l;
	struct tally c = { 0 };

	for (l = 0; l < len; l += l < 256 ? 1 : len / 1000 + 1)
		try_table(fx, fx->g.pclntab, l, fx->fd, &c);
	try_table(fx, fx->g.pclntab, len - 1, fx->fd, &c);
	print_message("# truncations: %ld refused, %ld accepted; calls: %ld answered, %ld -EINVAL, "
		      "%ld -ENOENT\n",
		      c.refused, c.accepted, c.ok, c.einval, c.enoent);
	assert_true(c.refused > 250);
}

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* 1-8 random bytes changed per round: in the header, the functab, or
 * anywhere, and in every other round in go:func.* too. */
static void test_flips(void **state)
{
	struct fixture *fx = *state;
	size_t len = fx->g.pclntab_len, ftab, i;
	uint8_t *b = malloc(len), *fd = malloc(fx->fd_len);
	uint64_t seed = 0x9e3779b97f4a7c15ULL;
	const char *env = getenv("BW_PCLNTAB_FLIPS");
	int round, k, n, rounds = env ? atoi(env) : FLIPS;
	struct tally c = { 0 };

	assert_true(b && fd);
	memcpy(&ftab, fx->g.pclntab + 8 + 7 * 8, sizeof(ftab)); /* pclnOffset: the functab */
	for (round = 0; round < rounds; round++) {
		memcpy(b, fx->g.pclntab, len);
		memcpy(fd, fx->fd, fx->fd_len);
		n = 1 + xorshift(&seed) % 8;
		for (k = 0; k < n; k++) {
			uint64_t r = xorshift(&seed);

			i = r % 4 == 0 ? r / 4 % 72 : r % 4 == 1 ? ftab + r / 4 % 20000 : r / 4 % len;
			b[i % len] ^= 1 + (r >> 40) % 255;
			if (round % 2)
				fd[(r >> 8) % fx->fd_len] ^= 1 + (r >> 48) % 255;
		}
		try_table(fx, b, len, fd, &c);
	}
	print_message("# %d rounds of byte flips: %ld refused, %ld accepted; calls: %ld answered, "
		      "%ld -EINVAL, %ld -ENOENT\n",
		      rounds, c.refused, c.accepted, c.ok, c.einval, c.enoent);
	assert_true(c.accepted > 0 && c.einval > 0);
	free(b);
	free(fd);
}

/* The real table answers every pc of .text without -EINVAL; without
 * go:func.* a pc gives one frame, the physical function's; with more
 * frames than @max, the physical function stays last. */
static void test_degrade(void **state)
{
	struct fixture *fx = *state;
	struct go_frame full[16], few[2], one;
	struct gopclntab *bare;
	long deep = 0, inl = 0;
	struct go_func f;
	uint64_t pc;
	int n, m;

	assert_int_equal(gopclntab__new(fx->g.pclntab, fx->g.pclntab_len, fx->g.text_addr, &bare), 0);
	for (pc = fx->g.text_addr; pc < fx->g.text_end; pc++) {
		n = gopclntab__frames(fx->t, pc, full, 16);
		if (n == -ENOENT)
			continue;
		assert_true(n >= 1);
		assert_int_equal(gopclntab__find(fx->t, pc, &f), 0);
		assert_string_equal(full[n - 1].func, f.name);
		assert_false(full[n - 1].inlined);
		m = gopclntab__frames(bare, pc, &one, 1);
		assert_int_equal(m, 1);
		assert_string_equal(one.func, f.name);
		assert_string_equal(one.file, full[0].file);
		assert_int_equal(one.line, full[0].line);
		inl += n > 1;
		if (n < 3)
			continue;
		deep++;
		assert_int_equal(gopclntab__frames(fx->t, pc, few, 2), 2);
		assert_string_equal(few[0].func, full[0].func);
		assert_int_equal(few[0].line, full[0].line);
		assert_string_equal(few[1].func, full[n - 1].func);
		assert_int_equal(few[1].line, full[n - 1].line);
	}
	print_message("# every pc of .text: %ld in inlined calls, %ld two or more deep\n", inl,
		      deep);
	assert_true(inl > 1000 && deep > 100);
	assert_int_equal(gopclntab__frames(fx->t, fx->g.text_addr, full, 0), -EINVAL);
	gopclntab__free(bare);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* What a snapshot pays per pc (callers cache per pc): frames, find and
 * spdelta over every 7th byte of .text, and lookup by name, warm. */
static void test_cost(void **state)
{
	struct fixture *fx = *state;
	struct go_frame fr[16];
	struct go_func f;
	uint64_t pc, t0, t_frames, t_find, t_sp, t_lookup, t_index;
	long calls = 0, names = 0;
	int32_t d;
	int rep;

	for (rep = 0; rep < 2; rep++) { /* the first round warms the caches */
		calls = 0;
		t0 = now_ns();
		for (pc = fx->g.text_addr; pc < fx->g.text_end; pc += 7, calls++)
			gopclntab__frames(fx->t, pc, fr, 16);
		t_frames = now_ns() - t0;
	}
	t0 = now_ns();
	for (pc = fx->g.text_addr; pc < fx->g.text_end; pc += 7)
		gopclntab__find(fx->t, pc, &f);
	t_find = now_ns() - t0;
	t0 = now_ns();
	for (pc = fx->g.text_addr; pc < fx->g.text_end; pc += 7)
		gopclntab__spdelta(fx->t, pc, &d);
	t_sp = now_ns() - t0;
	t0 = now_ns(); /* the first lookup builds the index */
	assert_int_equal(gopclntab__lookup(fx->t, "runtime.goexit", &f), 0);
	t_index = now_ns() - t0;
	t_lookup = 0;
	for (pc = fx->g.text_addr; pc < fx->g.text_end; pc += 997) {
		char name[256];

		if (gopclntab__find(fx->t, pc, &f) || !f.name[0])
			continue;
		snprintf(name, sizeof(name), "%s", f.name);
		t0 = now_ns();
		assert_int_equal(gopclntab__lookup(fx->t, name, &f), 0);
		t_lookup += now_ns() - t0;
		names++;
	}
	print_message("# per call, warm, %ld pcs: frames %lu ns, find %lu ns, spdelta %lu ns; "
		      "lookup %lu ns (%ld names) after %lu us for the name index\n",
		      calls, t_frames / calls, t_find / calls, t_sp / calls, t_lookup / names, names,
		      t_index / 1000);
	/* microseconds, not milliseconds: generous, for slow CI machines */
	assert_true(t_frames / calls < 20000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_truncations),
		cmocka_unit_test(test_flips),
		cmocka_unit_test(test_degrade),
		cmocka_unit_test(test_cost),
	};

	return cmocka_run_group_tests_name("pclntab_fuzz", tests, setup, teardown);
}
