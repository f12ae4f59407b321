/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_INGEST_H
#define BW_INGEST_H

#include <stddef.h>
#include <stdint.h>
#include "base/bpf_abi.h"
#include "stacks/frame.h"

struct agg;
struct fdinfo;
struct goprocs;
struct split;
struct stacktab;
struct syms;

/*
 * From BPF records to the interval's aggregation: each record (a
 * finished block from the ring buffer, a still-blocked thread from the
 * task iterator) is split at report boundaries, unwound, symbolized
 * (once per distinct stack), its wait named, and added. Records are
 * taken in as they arrive, while their process most likely lives.
 */
struct ingest {
	struct syms *syms;
	struct stacktab *stacks;
	struct split *split;
	struct fdinfo *fdinfo;
	struct agg *agg;
	struct goprocs *go; /* the Go processes: their goroutines, their stacks' edges */
	uint64_t threshold_ns;
	uint64_t interval_start; /* CLOCK_MONOTONIC; 0: count ongoing blocks whole */
	/* While the still-blocked scan runs: the report's own time, up to
	 * which every still-blocked thread is counted. 0 otherwise. */
	uint64_t scan_at;
	uint64_t user_drops;	 /* blocks lost here this interval */
	/* the report epoch being collected: records of a later one (read
	 * while the report is made) are held for the next */
	uint32_t epoch;
	void **held;
	size_t nheld;
	size_t *held_size;
	struct bw_pc pcs[BW_MAX_FRAMES + BW_KSTACK_DEPTH];
};

struct ingest *ingest__new(const char *debuginfo_path, uint64_t threshold_ns);
void ingest__free(struct ingest *in);
/* One record of @size bytes. Never fails: what cannot be kept is
 * counted in user_drops. */
void ingest__record(struct ingest *in, const void *data, size_t size);
/* The report at @now is out: start the next interval (forget its
 * entries, expire split blocks, sweep stacks and processes gone). */
void ingest__next_interval(struct ingest *in, uint64_t now);

#endif
