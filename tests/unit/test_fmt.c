// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* report/fmt.c's escaping of names from traced processes, for a terminal
 * and for JSON (test_report.c renders whole reports with such names). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "base/util.h"
#include "report/fmt.h"
#include "report/progress.h"

#define EVIL_COMM "\x1b]0;pwn\x07\r\n\xff"
#define EVIL_COMM_TEXT "\\x1b]0;pwn\\x07\\x0d\\x0a\\xff"

static void test_escape(void **state)
{
	static const char *const cases[][2] = {
		{ "caf\xc3\xa9 \xe5\x90\x8d\xf0\x9f\x98\x80", NULL }, /* printable UTF-8 */
		{ EVIL_COMM, EVIL_COMM_TEXT },
		{ "a\\b\x7f", "a\\\\b\\x7f" },
		/* C1 CSI, RLO, LRI, LINE SEPARATOR */
		{ "\xc2\x9b\xe2\x80\xae\xe2\x81\xa6\xe2\x80\xa8",
		  "\\xc2\\x9b\\xe2\\x80\\xae\\xe2\\x81\\xa6\\xe2\\x80\\xa8" },
		/* overlong, a surrogate, past U+10FFFF */
		{ "\xc0\xaf\xed\xa0\x80\xf4\x90\x80\x80",
		  "\\xc0\\xaf\\xed\\xa0\\x80\\xf4\\x90\\x80\\x80" },
		{ "x\xe2\x82", "x\\xe2\\x82" }, /* cut short */
		{ "\xf0\x9f\x98", "\\xf0\\x9f\\x98" },
	};
	char buf[64], big[600], *fixed;
	struct bw_strbuf sb = BW_STRBUF(buf);
	size_t i;

	for (i = 0; i < BW_ARRAY_SIZE(cases); i++) {
		const char *got = BW_ESC(cases[i][0], buf);

		if (!cases[i][1])
			assert_ptr_equal(got, cases[i][0]);
		else
			assert_string_equal(got, cases[i][1]);
	}
	assert_null(BW_ESC(NULL, buf));
	/* cut between escapes, never inside one */
	assert_string_equal(bw_esc("\x1b\x1b\x1b\x1b", buf, 12), "\\x1b\\x1b...");
	memset(big, '\n', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	assert_int_equal(strlen(BW_ESC(big, buf)), sizeof(buf) - 1);
	bw_sb_printf(&sb, "fd 3 ");
	bw_sb_esc(&sb, "\r");
	bw_sb_esc(&sb, NULL);
	assert_string_equal(buf, "fd 3 \\x0d?");
	/* JSON: only what is not UTF-8, as the text shows it */
	assert_int_equal(bw_json_utf8("{\"a\":\"caf\xc3\xa9\"}", &fixed), 0);
	assert_null(fixed);
	assert_int_equal(bw_json_utf8("{\"a\":\"x\xff\xc3\"}", &fixed), 0);
	assert_string_equal(fixed, "{\"a\":\"x\\\\xff\\\\xc3\"}");
	free(fixed);
}

/* The status line: elapsed as a clock, the next report rounded up to
 * the second. */
static void test_progress(void **state)
{
	struct bw_progress p = {
		.elapsed_ns = 65 * 1000000000ULL + 999999999ULL, .slow = 1234, .shorter = 5678,
		.dropped = 9, .threshold_ns = 100000000ULL, .next_report_ns = 2000000001ULL,
	};
	char buf[128];

	(void)state;
	bw_progress_format(&p, buf, sizeof(buf));
	assert_string_equal(buf, "blockwatch: 1m05s  blocks 1234 >=100ms, 5678 shorter  dropped 9"
				 "  next report in 3s");
	p.elapsed_ns = 7384ULL * 1000000000ULL;
	p.next_report_ns = 0;
	p.threshold_ns = 1000000000ULL;
	bw_progress_format(&p, buf, sizeof(buf));
	assert_string_equal(buf, "blockwatch: 2h03m04s  blocks 1234 >=1.00s, 5678 shorter  dropped 9"
				 "  next report in 0s");
	/* cut, never overrun */
	bw_progress_format(&p, buf, 16);
	assert_string_equal(buf, "blockwatch: 2h0");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_progress),
	};

	return cmocka_run_group_tests_name("fmt", tests, NULL, NULL);
}
