// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include "base/clock.h"
#include "base/loop.h"

#define BATCH 16

struct bw_loop {
	int epfd;
	bool stop;
	/* The batch being dispatched: a handler deleted meanwhile is
	 * crossed out here, so that it is not called after its owner may
	 * have freed it. */
	struct epoll_event evs[BATCH];
	int nevs;
};

struct bw_loop *bw_loop__new(void)
{
	struct bw_loop *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		int err = errno;

		free(l);
		errno = err;
		return NULL;
	}
	return l;
}

void bw_loop__free(struct bw_loop *l)
{
	if (!l)
		return;
	close(l->epfd);
	free(l);
}

int bw_loop__add(struct bw_loop *l, struct bw_handler *h)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = h };

	return epoll_ctl(l->epfd, EPOLL_CTL_ADD, h->fd, &ev) ? -errno : 0;
}

void bw_loop__del(struct bw_loop *l, struct bw_handler *h)
{
	int i;

	epoll_ctl(l->epfd, EPOLL_CTL_DEL, h->fd, NULL);
	for (i = 0; i < l->nevs; i++)
		if (l->evs[i].data.ptr == h)
			l->evs[i].data.ptr = NULL;
}

void bw_loop__stop(struct bw_loop *l)
{
	l->stop = true;
}

int bw_loop__run(struct bw_loop *l)
{
	int i, err;

	l->stop = false;
	while (!l->stop) {
		l->nevs = epoll_wait(l->epfd, l->evs, BATCH, -1);
		if (l->nevs < 0) {
			l->nevs = 0;
			if (errno == EINTR)
				continue;
			return -errno;
		}
		/* the whole batch, even once stopped: a target's exit that
		 * came with the signal is still said */
		for (i = 0; i < l->nevs; i++) {
			struct bw_handler *h = l->evs[i].data.ptr;

			if (!h)
				continue;
			err = h->ready(h, l->evs[i].events);
			if (err) {
				l->nevs = 0;
				return err;
			}
		}
		l->nevs = 0;
	}
	return 0;
}

int bw_timer_set(int fd, uint64_t first_ns, uint64_t period_ns)
{
	struct itimerspec its = {
		.it_value = { first_ns / BW_NSEC_PER_SEC, first_ns % BW_NSEC_PER_SEC },
		.it_interval = { period_ns / BW_NSEC_PER_SEC, period_ns % BW_NSEC_PER_SEC },
	};

	/* an all-zero it_value would disarm it */
	if (!first_ns)
		its.it_value.tv_nsec = 1;
	return timerfd_settime(fd, 0, &its, NULL) ? -errno : 0;
}

int bw_timer_new(uint64_t first_ns, uint64_t period_ns)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK), err;

	if (fd < 0)
		return -errno;
	err = bw_timer_set(fd, first_ns, period_ns);
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

uint64_t bw_timer_ack(int fd)
{
	uint64_t n = 0;

	if (read(fd, &n, sizeof(n)) != sizeof(n))
		return 0;
	return n;
}
