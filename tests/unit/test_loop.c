// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The event loop: each fd's own handler, deleting from a handler,
 * stopping, errors. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <cmocka.h>
#include <signal.h>
#include "base/loop.h"
#include "base/signals.h"
#include "base/util.h"

struct counter {
	struct bw_handler h;
	struct bw_loop *loop;
	struct counter *victim; /* deleted by this one's first call */
	int calls;
	int stop_after;
	int fail_with;
};

static int on_ready(struct bw_handler *h, uint32_t events)
{
	struct counter *c = bw_container_of(h, struct counter, h);
	uint64_t v;

	(void)events;
	c->calls++;
	if (read(h->fd, &v, sizeof(v)) < 0)
		return -errno;
	if (c->victim) {
		bw_loop__del(c->loop, &c->victim->h);
		c->victim = NULL;
	}
	if (c->fail_with)
		return c->fail_with;
	if (c->stop_after && c->calls >= c->stop_after)
		bw_loop__stop(c->loop);
	return 0;
}

static void poke(int fd)
{
	uint64_t one = 1;

	assert_int_equal(write(fd, &one, sizeof(one)), sizeof(one));
}

static struct counter make(struct bw_loop *l)
{
	struct counter c = { .loop = l };

	c.h.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	c.h.ready = on_ready;
	assert_true(c.h.fd >= 0);
	return c;
}

static void test_handlers_and_delete(void **state)
{
	struct bw_loop *l = bw_loop__new();
	struct counter a = make(l), b = make(l), t;
	int bcalls;

	assert_non_null(l);
	/* a deletes b, both ready in one batch: b is never called */
	a.victim = &b;
	assert_int_equal(bw_loop__add(l, &a.h), 0);
	assert_int_equal(bw_loop__add(l, &b.h), 0);
	poke(a.h.fd);
	poke(b.h.fd);
	/* a timer handler ends the run */
	t = make(l);
	close(t.h.fd);
	t.h.fd = bw_timer_new(20 * 1000000ULL, 0);
	assert_true(t.h.fd >= 0);
	t.stop_after = 1;
	t.h.ready = on_ready;
	assert_int_equal(bw_loop__add(l, &t.h), 0);
	assert_int_equal(bw_loop__run(l), 0);
	assert_int_equal(a.calls, 1);
	assert_int_equal(t.calls, 1);
	/* b may have run first in the batch; once deleted, never again */
	bcalls = b.calls;
	assert_true(bcalls <= 1);
	poke(b.h.fd);
	poke(a.h.fd);
	a.stop_after = a.calls + 1;
	assert_int_equal(bw_loop__run(l), 0);
	assert_int_equal(b.calls, bcalls);
	close(a.h.fd);
	close(b.h.fd);
	close(t.h.fd);
	bw_loop__free(l);
}

static void test_error_ends_run(void **state)
{
	struct bw_loop *l = bw_loop__new();
	struct counter a = make(l);

	a.fail_with = -EPIPE;
	assert_int_equal(bw_loop__add(l, &a.h), 0);
	poke(a.h.fd);
	assert_int_equal(bw_loop__run(l), -EPIPE);
	/* the same fd twice is refused */
	assert_int_equal(bw_loop__add(l, &a.h), -EEXIST);
	close(a.h.fd);
	bw_loop__free(l);
	bw_loop__free(NULL);
}

/* A signal that comes while the loop no longer reads them (the final
 * report of a run that ended by its duration) is taken, not delivered. */
static void test_signal_late(void **state)
{
	int fd = bw_signals_open();

	assert_true(fd >= 0);
	assert_int_equal(kill(getpid(), SIGTERM), 0);
	assert_int_not_equal(bw_signals_close(fd), 0);
	/* and read from the fd while watched */
	fd = bw_signals_open();
	assert_true(fd >= 0);
	assert_int_equal(kill(getpid(), SIGINT), 0);
	assert_int_equal(bw_signals_take(fd), SIGINT);
	assert_int_equal(bw_signals_close(fd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handlers_and_delete),
		cmocka_unit_test(test_error_ends_run),
		cmocka_unit_test(test_signal_late),
	};

	return cmocka_run_group_tests_name("loop", tests, NULL, NULL);
}
