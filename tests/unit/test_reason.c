// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/syscall.h>
#include "base/bpf_abi.h"
#include "model/reason.h"

static const char *reason(int64_t nr, uint32_t state)
{
	static char buf[BW_REASON_LEN];

	bw_reason(nr, state, buf, sizeof(buf));
	return buf;
}

static void test_names(void **state)
{
	assert_string_equal(bw_syscall_name(SYS_read), "read");
	assert_string_equal(bw_syscall_name(SYS_futex), "futex");
	assert_null(bw_syscall_name(-1));
	assert_null(bw_syscall_name(100000));
}

static void test_reasons(void **state)
{
	const uint32_t S = BW_TASK_INTERRUPTIBLE;

	assert_string_equal(reason(SYS_futex, S), "futex");
	assert_string_equal(reason(SYS_futex_waitv, S), "futex");
	assert_string_equal(reason(SYS_epoll_wait, S), "epoll");
	assert_string_equal(reason(SYS_epoll_pwait, S), "epoll");
	assert_string_equal(reason(SYS_poll, S), "poll");
	assert_string_equal(reason(SYS_pselect6, S), "poll");
	assert_string_equal(reason(SYS_read, S), "read");
	assert_string_equal(reason(SYS_recvfrom, S), "read");
	assert_string_equal(reason(SYS_nanosleep, S), "sleep");
	assert_string_equal(reason(SYS_clock_nanosleep, S), "sleep");
	assert_string_equal(reason(SYS_wait4, S), "wait");
	assert_string_equal(reason(SYS_pause, S), "other:pause");
	assert_string_equal(reason(SYS_sendto, S), "write");
	assert_string_equal(reason(SYS_connect, S), "connect");
	assert_string_equal(reason(SYS_accept4, S), "accept");
	assert_string_equal(reason(-1, S), "other:none");
	assert_string_equal(reason(9999, S), "other:syscall_9999");
}

static void test_states(void **state)
{
	/* D state is I/O whatever the syscall; TASK_IDLE is not. */
	assert_string_equal(reason(SYS_read, BW_TASK_UNINTERRUPTIBLE), "io");
	assert_string_equal(reason(-1, BW_TASK_UNINTERRUPTIBLE), "io");
	assert_string_equal(reason(SYS_futex, BW_TASK_UNINTERRUPTIBLE | BW_TASK_NOLOAD), "futex");
	assert_string_equal(reason(SYS_read, BW_TASK_STOPPED), "stopped");
	assert_string_equal(reason(SYS_read, BW_TASK_TRACED), "stopped");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_reasons),
		cmocka_unit_test(test_states),
	};

	return cmocka_run_group_tests_name("reason", tests, NULL, NULL);
}
