/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_LOOP_H
#define BW_LOOP_H

#include <stdint.h>

/*
 * The event loop: one epoll set in which every fd carries its own
 * handler. A handler is embedded in whatever owns the fd (a timer, the
 * ring buffer, a target's pidfd, later an HTTP client or the terminal)
 * and finds its owner with bw_container_of.
 */
struct bw_handler {
	int fd;
	/* @events are epoll's. 0 goes on; a negative errno stops the loop
	 * and is what bw_loop__run returns. */
	int (*ready)(struct bw_handler *h, uint32_t events);
};

struct bw_loop;

struct bw_loop *bw_loop__new(void);
void bw_loop__free(struct bw_loop *l);
/* Watch h->fd for input. -errno on failure. */
int bw_loop__add(struct bw_loop *l, struct bw_handler *h);
/* Stop watching it; safe from inside any handler, its own included. */
void bw_loop__del(struct bw_loop *l, struct bw_handler *h);
/* Make bw_loop__run return 0 once the current batch is dispatched. */
void bw_loop__stop(struct bw_loop *l);
/* Dispatch until bw_loop__stop or a handler's error. */
int bw_loop__run(struct bw_loop *l);

/* A CLOCK_MONOTONIC timerfd that fires after @first_ns, then every
 * @period_ns (0: once). Returns the fd or -errno. */
int bw_timer_new(uint64_t first_ns, uint64_t period_ns);
/* Arm @fd again: first after @first_ns, then every @period_ns. 0 or -errno. */
int bw_timer_set(int fd, uint64_t first_ns, uint64_t period_ns);
/* Read a timerfd that fired; returns how many times it did. */
uint64_t bw_timer_ack(int fd);

#endif
