/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_RINGBUF_H
#define BW_RINGBUF_H

#include <stdbool.h>
#include <stddef.h>

/*
 * The consumer of a BPF ring buffer map, its data area mapped once.
 *
 * libbpf's ring_buffer maps the data pages twice, back to back (the
 * kernel offers them so), so that a record wrapping around the end reads
 * as one piece: every page of it is resident from the mmap on, and
 * counted twice in the process's RSS (32 MB for a 16 MB ring). Here the
 * data is mapped once and the rare record that wraps is copied into one
 * piece. The protocol is the kernel's (kernel/bpf/ringbuf.c): an 8-byte
 * header per record (length, busy and discard bits), consumer position
 * written by us with release, producer position read with acquire.
 *
 * Poll the map's own fd for input (level-triggered: it stays readable
 * while records wait).
 */
struct bw_ringbuf;

/* A record: 0 goes on; < 0 stops after this record (it is consumed)
 * and bw_ringbuf__consume returns it. */
typedef int (*bw_ringbuf_fn)(void *ctx, void *data, size_t size);

/* @map_fd: a BPF_MAP_TYPE_RINGBUF whose records are at most @max_record
 * bytes. NULL and errno on failure. */
struct bw_ringbuf *bw_ringbuf__new(int map_fd, size_t max_record, bw_ringbuf_fn fn, void *ctx);
void bw_ringbuf__free(struct bw_ringbuf *rb);
/* Hand out the records ready now; how many, the callback's error, or
 * -EPROTO for a record larger than @max_record. */
int bw_ringbuf__consume(struct bw_ringbuf *rb);
/* Records written and not consumed (one may still be being written). */
bool bw_ringbuf__pending(const struct bw_ringbuf *rb);
/* Bytes mapped (for the reports' own memory). */
size_t bw_ringbuf__mapped(const struct bw_ringbuf *rb);

#endif
