// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <stdlib.h>
#include <string.h>
#include <uthash.h>
#include "model/split.h"

struct block_key {
	uint32_t tid;
	uint32_t pad;
	uint64_t start;
};

struct block {
	UT_hash_handle hh;
	struct block_key key;
	uint64_t counted_until;
};

struct split {
	struct block *blocks;
};

struct split *split__new(void)
{
	return calloc(1, sizeof(struct split));
}

void split__free(struct split *sp)
{
	if (!sp)
		return;
	split__expire(sp, UINT64_MAX);
	free(sp);
}

static struct block *find(struct split *sp, uint32_t tid, uint64_t start)
{
	struct block_key k = { .tid = tid, .start = start };
	struct block *b;

	HASH_FIND(hh, sp->blocks, &k, sizeof(k), b);
	return b;
}

uint64_t split__ongoing(struct split *sp, uint32_t tid, uint64_t start, uint64_t now,
			uint64_t interval_start)
{
	struct block *b = find(sp, tid, start);
	uint64_t from;

	if (!b) {
		b = calloc(1, sizeof(*b));
		if (!b)
			return 0;
		b->key.tid = tid;
		b->key.start = start;
		HASH_ADD(hh, sp->blocks, key, sizeof(b->key), b);
		/* Before this interval it was either below the threshold or
		 * before blockwatch ran: not this interval's time. */
		from = start > interval_start ? start : interval_start;
	} else {
		from = b->counted_until;
	}
	b->counted_until = now > from ? now : from;
	return now > from ? now - from : 0;
}

uint64_t split__completed(struct split *sp, uint32_t tid, uint64_t first_start,
			  uint64_t last_end, uint64_t total)
{
	struct block *b = find(sp, tid, first_start);
	uint64_t rest;

	if (!b)
		return total;
	rest = last_end > b->counted_until ? last_end - b->counted_until : 0;
	HASH_DEL(sp->blocks, b);
	free(b);
	return rest < total ? rest : total;
}

void split__expire(struct split *sp, uint64_t before)
{
	struct block *b, *tmp;

	HASH_ITER(hh, sp->blocks, b, tmp) {
		if (b->counted_until < before) {
			HASH_DEL(sp->blocks, b);
			free(b);
		}
	}
}

unsigned int split__count(const struct split *sp)
{
	return HASH_COUNT(sp->blocks);
}
