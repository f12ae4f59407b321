/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_OWNERS_H
#define BW_OWNERS_H

#include <stddef.h>
#include "model/report.h"

/*
 * Point each still-blocked lock waiter among @ongoing at the holder's
 * own still-blocked entry (owner_entry, and the holder's comm), and list
 * the cycles: every thread waits for at most one lock, so following the
 * links from any waiter either ends or enters a cycle, a deadlock.
 * Sorts @ongoing by tid. 0 or -ENOMEM.
 */
int bw_owners_link(struct bw_entry **ongoing, size_t n, struct bw_cycle **cycles,
		   size_t *ncycles);
void bw_cycles_free(struct bw_cycle *cycles, size_t n);

#endif
