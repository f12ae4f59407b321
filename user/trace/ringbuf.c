// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <bpf/bpf.h>
#include <errno.h>
#include <stdbool.h>
#include <linux/bpf.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "trace/ringbuf.h"

struct bw_ringbuf {
	int fd;
	unsigned long *consumer_pos; /* its own page, read-write */
	unsigned long *producer_pos; /* the first page of the read-only map */
	uint8_t *data;		     /* the data area, once */
	size_t size;		     /* of the data area: a power of 2 */
	size_t page;
	bw_ringbuf_fn fn;
	void *ctx;
	uint8_t *bounce; /* a wrapped record made one piece */
	size_t bounce_cap;
};

struct bw_ringbuf *bw_ringbuf__new(int map_fd, size_t max_record, bw_ringbuf_fn fn, void *ctx)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);
	struct bw_ringbuf *rb;
	void *p;
	int err;

	if (bpf_obj_get_info_by_fd(map_fd, &info, &len))
		return NULL;
	if (info.type != BPF_MAP_TYPE_RINGBUF || !info.max_entries ||
	    (info.max_entries & (info.max_entries - 1))) {
		errno = EINVAL;
		return NULL;
	}
	rb = calloc(1, sizeof(*rb));
	if (!rb)
		return NULL;
	rb->fd = map_fd;
	rb->fn = fn;
	rb->ctx = ctx;
	rb->size = info.max_entries;
	rb->page = (size_t)sysconf(_SC_PAGESIZE);
	rb->bounce_cap = max_record;
	rb->bounce = malloc(max_record);
	if (!rb->bounce)
		goto fail;
	p = mmap(NULL, rb->page, PROT_READ | PROT_WRITE, MAP_SHARED, map_fd, 0);
	if (p == MAP_FAILED)
		goto fail;
	rb->consumer_pos = p;
	/* the producer's page, then the data pages once (not the second
	 * copy the kernel offers after them) */
	p = mmap(NULL, rb->page + rb->size, PROT_READ, MAP_SHARED, map_fd, rb->page);
	if (p == MAP_FAILED)
		goto fail;
	rb->producer_pos = p;
	rb->data = (uint8_t *)p + rb->page;
	return rb;
fail:
	err = errno;
	bw_ringbuf__free(rb);
	errno = err;
	return NULL;
}

void bw_ringbuf__free(struct bw_ringbuf *rb)
{
	if (!rb)
		return;
	if (rb->producer_pos)
		munmap(rb->producer_pos, rb->page + rb->size);
	if (rb->consumer_pos)
		munmap(rb->consumer_pos, rb->page);
	free(rb->bounce);
	free(rb);
}

size_t bw_ringbuf__mapped(const struct bw_ringbuf *rb)
{
	return 2 * rb->page + rb->size;
}

/* The record at data offset @off, @len bytes after its header, as one
 * piece: in place, or copied when it runs past the end of the area. */
static void *record(struct bw_ringbuf *rb, size_t off, size_t len)
{
	size_t first;

	off = (off + BPF_RINGBUF_HDR_SZ) & (rb->size - 1);
	if (off + len <= rb->size)
		return rb->data + off;
	first = rb->size - off;
	memcpy(rb->bounce, rb->data + off, first);
	memcpy(rb->bounce + first, rb->data, len - first);
	return rb->bounce;
}

bool bw_ringbuf__pending(const struct bw_ringbuf *rb)
{
	return __atomic_load_n(rb->producer_pos, __ATOMIC_ACQUIRE) !=
	       __atomic_load_n(rb->consumer_pos, __ATOMIC_ACQUIRE);
}

int bw_ringbuf__consume(struct bw_ringbuf *rb)
{
	unsigned long cons = __atomic_load_n(rb->consumer_pos, __ATOMIC_ACQUIRE), prod;
	int n = 0, err = 0;

	for (;;) {
		bool got = false;

		prod = __atomic_load_n(rb->producer_pos, __ATOMIC_ACQUIRE);
		while (cons < prod) {
			/* headers are 8-byte aligned: never split by the end */
			uint32_t *hdr = (uint32_t *)(rb->data + (cons & (rb->size - 1)));
			uint32_t word = __atomic_load_n(hdr, __ATOMIC_ACQUIRE);
			uint32_t len = word & ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);
			void *data;

			if (word & BPF_RINGBUF_BUSY_BIT)
				return n; /* being written: its turn comes later */
			/* larger than any record the programs make */
			if (len > rb->bounce_cap)
				return -EPROTO;
			got = true;
			if (!(word & BPF_RINGBUF_DISCARD_BIT)) {
				data = record(rb, cons, len);
				err = rb->fn(rb->ctx, data, len);
				n++;
			}
			cons += (BPF_RINGBUF_HDR_SZ + len + 7) & ~7UL;
			__atomic_store_n(rb->consumer_pos, cons, __ATOMIC_RELEASE);
			if (err < 0)
				return err;
		}
		if (!got)
			return n;
	}
}
