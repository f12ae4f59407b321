// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The ring buffer consumer against the kernel's own ring: records
 * written by real BPF programs (bpf_ringbuf_output, run with
 * BPF_PROG_TEST_RUN) into a one-page ring, so that records wrap around
 * its end again and again; each is handed out whole, in order, once.
 * Needs CAP_BPF (root); skipped without it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <cmocka.h>
#include "trace/ringbuf.h"

#define INSN(c, d, s, o, i) ((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i) })

/* A socket filter that writes one record of @size bytes, each 8-byte
 * word of it @tag, with bpf_ringbuf_output. */
static int writer(int map_fd, int size, int32_t tag)
{
	struct bpf_insn insns[64];
	int n = 0, i;

	for (i = 0; i < size / 8; i++) /* *(u64 *)(r10 - size + 8i) = tag */
		insns[n++] = INSN(BPF_ST | BPF_MEM | BPF_DW, BPF_REG_10, 0, -size + 8 * i, tag);
	insns[n++] = INSN(BPF_LD | BPF_DW | BPF_IMM, BPF_REG_1, BPF_PSEUDO_MAP_FD, 0, map_fd);
	insns[n++] = INSN(0, 0, 0, 0, 0);
	insns[n++] = INSN(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_2, BPF_REG_10, 0, 0);
	insns[n++] = INSN(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0, -size);
	insns[n++] = INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_3, 0, 0, size);
	insns[n++] = INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_4, 0, 0, 0);
	insns[n++] = INSN(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_ringbuf_output);
	insns[n++] = INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0);
	insns[n++] = INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	return bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, "bw_rb_test", "GPL", insns, n, NULL);
}

static int run(int prog)
{
	uint8_t pkt[64] = { 0 };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = sizeof(pkt));

	return bpf_prog_test_run_opts(prog, &o);
}

struct seen {
	int n, stop_after;
	int sizes[4096];
	int32_t tags[4096];
	bool bad;
};

static int on_rec(void *ctx, void *data, size_t size)
{
	struct seen *s = ctx;
	const int32_t *w = data;
	size_t i;

	for (i = 0; i + 4 <= size; i += 8)
		if (w[i / 4] != w[0] || w[i / 4 + 1] != (w[0] < 0 ? -1 : 0))
			s->bad = true;
	s->sizes[s->n] = (int)size;
	s->tags[s->n] = w[0];
	s->n++;
	if (s->stop_after && s->n % s->stop_after == 0)
		return -EAGAIN;
	return 0;
}

static int map_fd = -1;
static int progs[4];
static const int prog_size[4] = { 8, 48, 200, 136 }; /* none divides the page */

static int setup(void **state)
{
	int i;

	(void)state;
	map_fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "bw_rb_test", 0, 0,
				(unsigned int)sysconf(_SC_PAGESIZE), NULL);
	if (map_fd < 0)
		return 0; /* no BPF here: the tests skip */
	for (i = 0; i < 4; i++) {
		progs[i] = writer(map_fd, prog_size[i], 1000 + i);
		if (progs[i] < 0) {
			fprintf(stderr, "test_ringbuf: loading a writer: %s\n", strerror(errno));
			return -1;
		}
	}
	return 0;
}

static int teardown(void **state)
{
	int i;

	(void)state;
	for (i = 0; i < 4; i++)
		if (progs[i] > 0)
			close(progs[i]);
	if (map_fd >= 0)
		close(map_fd);
	return 0;
}

static void test_wraps(void **state)
{
	struct seen *s = calloc(1, sizeof(*s));
	struct bw_ringbuf *rb;
	int round, i, want = 0, written = 0;

	(void)state;
	if (map_fd < 0)
		skip();
	rb = bw_ringbuf__new(map_fd, 256, on_rec, s);
	assert_non_null(rb);
	assert_int_equal(bw_ringbuf__mapped(rb), 2 * (size_t)sysconf(_SC_PAGESIZE) +
						     (size_t)sysconf(_SC_PAGESIZE));
	assert_int_equal(bw_ringbuf__consume(rb), 0);
	/* 3 records per round (under a page with headers), 400 rounds:
	 * every offset of the page is crossed many times */
	for (round = 0; round < 400; round++) {
		for (i = 0; i < 3; i++) {
			int k = (round + i) % 4;

			assert_int_equal(run(progs[k]), 0);
			s->sizes[written % 4096] = 0;
			written++;
		}
		assert_int_equal(bw_ringbuf__consume(rb), 3);
		for (i = 0; i < 3; i++, want++) {
			int k = (round + i) % 4;

			assert_int_equal(s->sizes[want], prog_size[k]);
			assert_int_equal(s->tags[want], 1000 + k);
		}
		if (s->n > 3000) {
			s->n = 0;
			want = 0;
		}
	}
	assert_false(s->bad);
	bw_ringbuf__free(rb);
	free(s);
}

/* A callback's error stops after its record; the rest come next time. */
static void test_stop(void **state)
{
	struct seen *s = calloc(1, sizeof(*s));
	struct bw_ringbuf *rb;
	int i;

	(void)state;
	if (map_fd < 0)
		skip();
	rb = bw_ringbuf__new(map_fd, 256, on_rec, s);
	assert_non_null(rb);
	bw_ringbuf__consume(rb);
	s->n = 0;
	s->stop_after = 2;
	for (i = 0; i < 5; i++)
		assert_int_equal(run(progs[1]), 0);
	assert_int_equal(bw_ringbuf__consume(rb), -EAGAIN);
	assert_int_equal(s->n, 2);
	assert_int_equal(bw_ringbuf__consume(rb), -EAGAIN);
	assert_int_equal(s->n, 4);
	assert_int_equal(bw_ringbuf__consume(rb), 1);
	assert_int_equal(s->n, 5);
	assert_int_equal(bw_ringbuf__consume(rb), 0);
	/* a record larger than the caller said records are: refused */
	bw_ringbuf__free(rb);
	rb = bw_ringbuf__new(map_fd, 16, on_rec, s);
	assert_non_null(rb);
	assert_int_equal(run(progs[2]), 0);
	assert_int_equal(bw_ringbuf__consume(rb), -EPROTO);
	bw_ringbuf__free(rb);
	/* not a ring buffer */
	assert_null(bw_ringbuf__new(progs[0], 256, on_rec, s));
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wraps),
		cmocka_unit_test(test_stop),
	};

	return cmocka_run_group_tests_name("ringbuf", tests, setup, teardown);
}
