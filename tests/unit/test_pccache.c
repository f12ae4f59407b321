// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* stacks/pccache and stacks/unwmemo: what is kept comes back as it was,
 * only for the same key, the least recently used leaves first, and an
 * owner's (a file's, a process's) entries go with it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "base/bpf_abi.h"
#include "stacks/pccache.h"
#include "stacks/unwmemo.h"

static const int owner_a, owner_b;

static void two_frames(struct bw_frame *f)
{
	memset(f, 0, 2 * sizeof(*f));
	f[0].symbol = (char *)"inlined_fn";
	f[0].file = (char *)"a.h";
	f[0].line = 7;
	f[0].inlined = true;
	f[1].symbol = (char *)"outer_fn";
	f[1].file = (char *)"a.c";
	f[1].line = 42;
	f[1].symoff = 0x11;
}

static void test_roundtrip(void **state)
{
	struct pccache *c = pccache__new(8);
	struct bw_frame in[2], out[4], tmpl = { .addr = 0x5000, .offset = 0x1000 };
	int n, i;

	assert_non_null(c);
	two_frames(in);
	tmpl.module = (char *)"/lib/x.so";
	tmpl.build_id = (char *)"abcd";
	assert_int_equal(pccache__get(c, &owner_a, 0x1000, false, &tmpl, out, 4), 0);
	assert_int_equal(pccache__put(c, &owner_a, 0x1000, false, in, 2), 0);
	n = pccache__get(c, &owner_a, 0x1000, false, &tmpl, out, 4);
	assert_int_equal(n, 2);
	assert_string_equal(out[0].symbol, "inlined_fn");
	assert_true(out[0].inlined);
	assert_int_equal(out[0].line, 7);
	assert_string_equal(out[1].symbol, "outer_fn");
	assert_string_equal(out[1].file, "a.c");
	assert_int_equal(out[1].symoff, 0x11);
	assert_false(out[1].inlined);
	for (i = 0; i < n; i++) {
		/* the template's: the process's own address and mapping */
		assert_int_equal(out[i].addr, 0x5000);
		assert_int_equal(out[i].offset, 0x1000);
		assert_string_equal(out[i].module, "/lib/x.so");
		assert_string_equal(out[i].build_id, "abcd");
		bw_frame_clear(&out[i]);
	}
	/* another owner (file), activation or address: not the same pc */
	assert_int_equal(pccache__get(c, &owner_b, 0x1000, false, &tmpl, out, 4), 0);
	assert_int_equal(pccache__get(c, &owner_a, 0x1000, true, &tmpl, out, 4), 0);
	assert_int_equal(pccache__get(c, &owner_a, 0x1001, false, &tmpl, out, 4), 0);
	/* room for fewer frames than kept: not served */
	assert_int_equal(pccache__get(c, &owner_a, 0x1000, false, &tmpl, out, 1), 0);
	pccache__free(c);
	pccache__free(NULL);
}

static void test_lru_and_drop(void **state)
{
	struct pccache *c = pccache__new(2);
	struct bw_frame in[2], out[2], tmpl = { 0 };
	int i;

	two_frames(in);
	assert_int_equal(pccache__put(c, &owner_a, 1, false, in, 1), 0);
	assert_int_equal(pccache__put(c, &owner_a, 2, false, in, 1), 0);
	/* 1 used: 2 is the least recently used */
	assert_int_equal(pccache__get(c, &owner_a, 1, false, &tmpl, out, 2), 1);
	bw_frame_clear(&out[0]);
	assert_int_equal(pccache__put(c, &owner_b, 3, false, in, 2), 0);
	assert_int_equal(pccache__count(c), 2);
	assert_int_equal(pccache__get(c, &owner_a, 2, false, &tmpl, out, 2), 0);
	assert_int_equal(pccache__get(c, &owner_a, 1, false, &tmpl, out, 2), 1);
	bw_frame_clear(&out[0]);
	assert_int_equal(pccache__get(c, &owner_b, 3, false, &tmpl, out, 2), 2);
	for (i = 0; i < 2; i++)
		bw_frame_clear(&out[i]);
	/* the same key again: replaced, not doubled */
	assert_int_equal(pccache__put(c, &owner_b, 3, false, in, 1), 0);
	assert_int_equal(pccache__count(c), 2);
	assert_int_equal(pccache__get(c, &owner_b, 3, false, &tmpl, out, 2), 1);
	bw_frame_clear(&out[0]);
	/* a file closed: its pcs go, the others stay */
	pccache__drop(c, &owner_a);
	assert_int_equal(pccache__count(c), 1);
	assert_int_equal(pccache__get(c, &owner_a, 1, false, &tmpl, out, 2), 0);
	pccache__free(c);
}

/* -- unwmemo */

static uint64_t regs[BW_NREGS];
static uint64_t stack[64];

static struct bw_snapshot snap_of(pid_t pid)
{
	return (struct bw_snapshot){
		.pid = pid,
		.tid = pid,
		.regs = regs,
		.stack_base = 0x7000,
		.stack = (const uint8_t *)stack,
		.stack_len = sizeof(stack),
	};
}

static void test_memo(void **state)
{
	struct unwmemo *m = unwmemo__new(4);
	struct bw_pc pcs[4] = { { .pc = 0x401000, .activation = true }, { .pc = 0x402000 } }, got[4];
	struct bw_memread reads[2];
	struct bw_snapshot s;
	bool cut;
	int err, i;

	assert_non_null(m);
	for (i = 0; i < BW_NREGS; i++)
		regs[i] = 0x100 + i;
	for (i = 0; i < 64; i++)
		stack[i] = 0x9000 + i;
	s = snap_of(10);
	/* the walk read word 3 and tried one above the copy */
	assert_int_equal(bw_snapshot_read(&s, 0x7000 + 3 * 8, &reads[0].value), BW_READ_OK);
	reads[0].addr = 0x7000 + 3 * 8;
	reads[0].kind = BW_READ_OK;
	reads[1] = (struct bw_memread){ .addr = 0x7000 + 64 * 8, .kind = BW_READ_ABOVE };
	assert_int_equal(bw_snapshot_read(&s, reads[1].addr, &reads[1].value), BW_READ_ABOVE);
	assert_int_equal(bw_snapshot_read(&s, 0x6ff8, &reads[1].value), BW_READ_BELOW);
	assert_int_equal(unwmemo__find(m, 1, &s, got, 4, &err, &cut), -1);
	assert_int_equal(unwmemo__add(m, 1, &s, BW_ALL_REGS, reads, 2, pcs, 2, 4, 0, true), 0);
	assert_int_equal(unwmemo__find(m, 1, &s, got, 4, &err, &cut), 2);
	assert_int_equal(got[0].pc, 0x401000);
	assert_true(got[0].activation);
	assert_int_equal(got[1].pc, 0x402000);
	assert_int_equal(err, 0);
	assert_true(cut);
	/* a word the walk did not read may change */
	stack[5]++;
	assert_int_equal(unwmemo__find(m, 1, &s, got, 4, &err, &cut), 2);
	/* one it read may not */
	stack[3]++;
	assert_int_equal(unwmemo__find(m, 1, &s, got, 4, &err, &cut), -1);
	stack[3]--;
	/* nor a register, the generation, the process, the frame budget */
	regs[BW_REG_RBX]++;
	assert_int_equal(unwmemo__find(m, 1, &s, got, 4, &err, &cut), -1);
	regs[BW_REG_RBX]--;
	assert_int_equal(unwmemo__find(m, 2, &s, got, 4, &err, &cut), -1);
	assert_int_equal(unwmemo__find(m, 1, &s, got, 3, &err, &cut), -1);
	s = snap_of(11);
	assert_int_equal(unwmemo__find(m, 1, &s, got, 4, &err, &cut), -1);
	/* a shorter copy: the read above it still falls above it */
	s = snap_of(10);
	s.stack_len -= 8;
	assert_int_equal(unwmemo__find(m, 1, &s, got, 4, &err, &cut), 2);
	s = snap_of(10);
	s.stack_base += 8;
	s.stack += 8;
	s.stack_len -= 8;
	assert_int_equal(unwmemo__find(m, 1, &s, got, 4, &err, &cut), 2);
	s.stack_base += 24; /* word 3 is below the copy now */
	s.stack += 24;
	s.stack_len -= 24;
	assert_int_equal(unwmemo__find(m, 1, &s, got, 4, &err, &cut), -1);
	/* the process exec'd or exited */
	s = snap_of(10);
	unwmemo__forget(m, 10);
	assert_int_equal(unwmemo__count(m), 0);
	assert_int_equal(unwmemo__find(m, 1, &s, got, 4, &err, &cut), -1);
	/* bounded: the least recently used goes */
	for (i = 0; i < 6; i++) {
		s = snap_of(100 + i);
		assert_int_equal(unwmemo__add(m, 1, &s, BW_ALL_REGS, reads, 1, pcs, 2, 4, 0, false), 0);
	}
	assert_int_equal(unwmemo__count(m), 4);
	s = snap_of(100);
	assert_int_equal(unwmemo__find(m, 1, &s, got, 4, &err, &cut), -1);
	s = snap_of(105);
	assert_int_equal(unwmemo__find(m, 1, &s, got, 4, &err, &cut), 2);
	unwmemo__free(m);
	unwmemo__free(NULL);
}

/* A walk by kept rules is compared on what it used: the registers in
 * its mask and the words it did not mark unused (those by kind only). */
static void test_memo_used(void **state)
{
	struct unwmemo *m = unwmemo__new(8);
	struct bw_pc pcs[2] = { { .pc = 0x401000, .activation = true }, { .pc = 0x402000 } }, got[4];
	struct bw_memread reads[2];
	struct bw_snapshot s;
	bool cut;
	int err, i;

	(void)state;
	assert_non_null(m);
	for (i = 0; i < BW_NREGS; i++)
		regs[i] = 0x300 + i;
	for (i = 0; i < 64; i++)
		stack[i] = 0xa000 + i;
	s = snap_of(30);
	/* word 2 a return address (used), word 4 a saved rbx (unused) */
	reads[0] = (struct bw_memread){ .addr = 0x7000 + 2 * 8, .value = stack[2] };
	reads[1] = (struct bw_memread){ .addr = 0x7000 + 4 * 8, .value = stack[4], .unused = true };
	assert_int_equal(unwmemo__add(m, 1, &s, 1u << BW_REG_RIP | 1u << BW_REG_RSP, reads, 2, pcs,
				      2, 4, 0, false),
			 0);
	assert_int_equal(unwmemo__find(m, 1, &s, got, 4, &err, &cut), 2);
	/* other argument and saved registers, another saved word: the same */
	regs[BW_REG_RDI] = 1, regs[BW_REG_RBX] = 2, regs[BW_REG_RAX] = 3;
	stack[4] = 7;
	assert_int_equal(unwmemo__find(m, 1, &s, got, 4, &err, &cut), 2);
	assert_int_equal(got[1].pc, 0x402000);
	/* the return address, the stack pointer or the pc: not */
	stack[2]++;
	assert_int_equal(unwmemo__find(m, 1, &s, got, 4, &err, &cut), -1);
	stack[2]--;
	regs[BW_REG_RSP] += 16;
	assert_int_equal(unwmemo__find(m, 1, &s, got, 4, &err, &cut), -1);
	regs[BW_REG_RSP] -= 16;
	regs[BW_REG_RIP]++;
	assert_int_equal(unwmemo__find(m, 1, &s, got, 4, &err, &cut), -1);
	regs[BW_REG_RIP]--;
	/* the unused word out of the copy now (another kind): not */
	s.stack_len = 4 * 8;
	assert_int_equal(unwmemo__find(m, 1, &s, got, 4, &err, &cut), -1);
	s = snap_of(30);
	assert_int_equal(unwmemo__find(m, 1, &s, got, 4, &err, &cut), 2);
	/* a walk that used every register beside it: both found */
	assert_int_equal(unwmemo__add(m, 1, &s, BW_ALL_REGS, reads, 1, pcs, 1, 4, 0, false), 0);
	assert_int_equal(unwmemo__find(m, 1, &s, got, 4, &err, &cut), 1);
	regs[BW_REG_RBX]++;
	assert_int_equal(unwmemo__find(m, 1, &s, got, 4, &err, &cut), 2);
	unwmemo__free(m);
}

/* Walks that start at one place (process, generation, pc, stack
 * pointer) share a bucket: at most 8 of them, the least recently used
 * leaving; a full memo may evict the one walk of the bucket being added
 * to. */
static void test_memo_bucket(void **state)
{
	struct unwmemo *m = unwmemo__new(16);
	struct bw_pc pcs[2] = { { .pc = 0x401000, .activation = true }, { .pc = 0x402000 } }, got[4];
	struct bw_memread none[1] = { { 0 } };
	struct bw_snapshot s;
	bool cut;
	int err, i;

	(void)state;
	assert_non_null(m);
	for (i = 0; i < BW_NREGS; i++)
		regs[i] = 0x500 + i;
	s = snap_of(50);
	for (i = 0; i < 10; i++) { /* one start, ten values of rbx */
		regs[BW_REG_RBX] = 0x1000 + i;
		assert_int_equal(unwmemo__add(m, 1, &s, BW_ALL_REGS, none, 0, pcs, 1 + i % 2, 4, 0,
					      false),
				 0);
	}
	assert_int_equal(unwmemo__count(m), 8);
	regs[BW_REG_RBX] = 0x1000; /* the two first went */
	assert_int_equal(unwmemo__find(m, 1, &s, got, 4, &err, &cut), -1);
	regs[BW_REG_RBX] = 0x1001;
	assert_int_equal(unwmemo__find(m, 1, &s, got, 4, &err, &cut), -1);
	regs[BW_REG_RBX] = 0x1002; /* a hit makes it the most recent */
	assert_int_equal(unwmemo__find(m, 1, &s, got, 4, &err, &cut), 1);
	regs[BW_REG_RBX] = 0x1003;
	assert_int_equal(unwmemo__find(m, 1, &s, got, 4, &err, &cut), 2);
	/* the same registers again: replaced, not added */
	regs[BW_REG_RBX] = 0x1009;
	assert_int_equal(unwmemo__add(m, 1, &s, BW_ALL_REGS, none, 0, pcs, 1, 4, 0, false), 0);
	assert_int_equal(unwmemo__count(m), 8);
	assert_int_equal(unwmemo__find(m, 1, &s, got, 4, &err, &cut), 1);
	/* another stack pointer is another start */
	regs[BW_REG_RSP] += 8;
	assert_int_equal(unwmemo__find(m, 1, &s, got, 4, &err, &cut), -1);
	assert_int_equal(unwmemo__add(m, 1, &s, BW_ALL_REGS, none, 0, pcs, 2, 4, 0, false), 0);
	assert_int_equal(unwmemo__count(m), 9);
	unwmemo__forget(m, 50);
	assert_int_equal(unwmemo__count(m), 0);
	unwmemo__free(m);

	/* a memo of one: each add evicts the walk before it, also when
	 * that is the bucket's only one */
	m = unwmemo__new(1);
	assert_non_null(m);
	for (i = 0; i < 3; i++) {
		regs[BW_REG_RBX] = 0x2000 + i;
		assert_int_equal(unwmemo__add(m, 1, &s, BW_ALL_REGS, none, 0, pcs, 2, 4, 0, false),
				 0);
		assert_int_equal(unwmemo__count(m), 1);
		assert_int_equal(unwmemo__find(m, 1, &s, got, 4, &err, &cut), 2);
	}
	regs[BW_REG_RBX] = 0x2000;
	assert_int_equal(unwmemo__find(m, 1, &s, got, 4, &err, &cut), -1);
	unwmemo__free(m);
}

/* A walk is worth keeping when it comes again: the first offer of a key
 * is only noted, the second and later ones are admitted; another
 * process, generation or register is another key. */
static void test_memo_admit(void **state)
{
	struct unwmemo *m = unwmemo__new(4);
	struct bw_snapshot s;
	int i, admitted = 0;

	assert_non_null(m);
	for (i = 0; i < BW_NREGS; i++)
		regs[i] = 0x200 + i;
	s = snap_of(20);
	assert_false(unwmemo__admit(m, 1, &s));
	assert_true(unwmemo__admit(m, 1, &s));
	assert_true(unwmemo__admit(m, 1, &s));
	assert_false(unwmemo__admit(m, 2, &s));
	regs[BW_REG_RSP] += 8;
	assert_false(unwmemo__admit(m, 1, &s));
	regs[BW_REG_RSP] -= 8;
	s = snap_of(21);
	assert_false(unwmemo__admit(m, 1, &s));
	/* the stack words are not part of the key: the same registers with
	 * other words are the same key (unwmemo__find tells them apart) */
	s = snap_of(20);
	stack[0]++;
	assert_true(unwmemo__admit(m, 1, &s));
	stack[0]--;
	/* 1,000 walks seen once each (processes that block once): none is
	 * admitted, bar a collision or two in the table */
	for (i = 0; i < 1000; i++) {
		s = snap_of(1000 + i);
		admitted += unwmemo__admit(m, 1, &s);
	}
	assert_true(admitted <= 2);
	unwmemo__free(m);
}

/* A process's walks go with it, and only its: forgetting costs its walks
 * (a per-process list), whatever the LRU has evicted before. */
static void test_memo_forget(void **state)
{
	struct unwmemo *m = unwmemo__new(16);
	struct bw_pc pcs[2] = { { .pc = 0x401000, .activation = true }, { .pc = 0x402000 } }, got[4];
	struct bw_memread reads[1] = { { .addr = 0x7000, .kind = BW_READ_OK, .value = 0x9000 } };
	struct bw_snapshot s;
	bool cut;
	int err, pid, w;

	(void)state;
	for (w = 0; w < BW_NREGS; w++)
		regs[w] = 0x100 + w;
	stack[0] = 0x9000;
	for (pid = 1; pid <= 3; pid++) {
		for (w = 0; w < 3; w++) {
			regs[BW_REG_RBX] = 0x100 + w;
			s = snap_of(pid);
			assert_int_equal(unwmemo__add(m, 1, &s, BW_ALL_REGS, reads, 1, pcs, 2, 4, 0, false), 0);
		}
	}
	assert_int_equal(unwmemo__count(m), 9);
	unwmemo__forget(m, 2);
	assert_int_equal(unwmemo__count(m), 6);
	unwmemo__forget(m, 2);
	unwmemo__forget(m, 99);
	assert_int_equal(unwmemo__count(m), 6);
	for (pid = 1; pid <= 3; pid++) {
		for (w = 0; w < 3; w++) {
			regs[BW_REG_RBX] = 0x100 + w;
			s = snap_of(pid);
			assert_int_equal(unwmemo__find(m, 1, &s, got, 4, &err, &cut), pid == 2 ? -1 : 2);
		}
	}
	unwmemo__free(m);
	/* the LRU evicts one of a process's walks: its list follows */
	m = unwmemo__new(2);
	regs[BW_REG_RBX] = 1;
	s = snap_of(7);
	assert_int_equal(unwmemo__add(m, 1, &s, BW_ALL_REGS, reads, 1, pcs, 2, 4, 0, false), 0);
	s = snap_of(8);
	assert_int_equal(unwmemo__add(m, 1, &s, BW_ALL_REGS, reads, 1, pcs, 2, 4, 0, false), 0);
	regs[BW_REG_RBX] = 2;
	s = snap_of(7);
	assert_int_equal(unwmemo__add(m, 1, &s, BW_ALL_REGS, reads, 1, pcs, 2, 4, 0, false), 0);
	assert_int_equal(unwmemo__count(m), 2);
	unwmemo__forget(m, 7);
	assert_int_equal(unwmemo__count(m), 1);
	regs[BW_REG_RBX] = 1;
	s = snap_of(8);
	assert_int_equal(unwmemo__find(m, 1, &s, got, 4, &err, &cut), 2);
	unwmemo__free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_lru_and_drop),
		cmocka_unit_test(test_memo_forget),
		cmocka_unit_test(test_memo),
		cmocka_unit_test(test_memo_admit),
		cmocka_unit_test(test_memo_used),
		cmocka_unit_test(test_memo_bucket),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
