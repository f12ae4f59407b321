/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_TEXT_GO_H
#define BW_TEXT_GO_H

#include <stdint.h>
#include <stdio.h>

struct bw_go_view;

/* The goroutine section of Go process @pid (@comm) for people: counts,
 * then its groups, leak suspects first; runtime frames folded away. */
void bw_go_text(FILE *out, uint32_t pid, const char *comm, const struct bw_go_view *v,
		unsigned int frames);

#endif
