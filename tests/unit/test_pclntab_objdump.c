// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * pcsp against the machine code: `go tool objdump` of each build (Go's
 * disassembler; it does not read pcsp) followed instruction by
 * instruction from each function's entry, SP moved by SUBQ/ADDQ $n, SP
 * and the pushes and pops. The stack check's JBE target (the morestack
 * call) is at the entry's SP; a function is followed to its first RET
 * or JMP, or until SP is written another way. runtime.rt0_go is left
 * out: the first function of the process, it moves SP without telling
 * its table (SUBQ, then ANDQ), and no unwinder goes past it. The
 * stripped build has no symbols for objdump; its code is the default's.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "pclntab_fixture.h"

struct sim {
	const struct gopclntab *t;
	bool on;	/* still following the current function */
	int32_t sp;	/* what its instructions so far pushed and reserved */
	uint64_t check; /* its stack check's branch target */
	int insns;
	long funcs, checked, no_table, mismatches;
};

static bool starts(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

/* "SUBQ $0x18, SP": +0x18; ADDQ the other way; 0 otherwise. */
static int32_t sp_imm(const char *insn)
{
	bool sub = starts(insn, "SUBQ $"), add = starts(insn, "ADDQ $");
	const char *end = insn + strlen(insn);
	long v;

	if ((!sub && !add) || end - insn < 4 || strcmp(end - 4, ", SP"))
		return 0;
	v = strtol(insn + 6, NULL, 0);
	return sub ? v : -v;
}

static void step(struct sim *s, uint64_t pc, const char *insn)
{
	int32_t d;
	int err;

	if (s->insns++ < 4 && starts(insn, "JBE 0x"))
		s->check = strtoull(insn + 4, NULL, 16);
	if (pc == s->check)
		s->sp = 0;
	err = gopclntab__spdelta(s->t, pc, &d);
	if (err == -ENOENT) { /* cgo's C code: in the table, without pc tables */
		s->no_table++;
		s->on = false;
		return;
	}
	assert_int_equal(err, 0);
	if (d != s->sp) {
		print_message("# %#lx %s: spdelta %d, the instructions %d\n", pc, insn, d, s->sp);
		s->mismatches++;
		s->on = false;
		return;
	}
	s->checked++;
	if (starts(insn, "RET") || starts(insn, "JMP") || starts(insn, "UD2"))
		s->on = false;
	else if (starts(insn, "PUSHQ ") || starts(insn, "PUSHFQ"))
		s->sp += 8;
	else if (starts(insn, "POPQ ") || starts(insn, "POPFQ"))
		s->sp -= 8;
	else if (sp_imm(insn))
		s->sp += sp_imm(insn);
	else if (strstr(insn, ", SP") && !starts(insn, "CMPQ") && !starts(insn, "TESTQ"))
		s->on = false;
}

/* "  file.go:12\t\t0x401000\t\t4883ec18\t\tSUBQ $0x18, SP\t" */
static void line(struct sim *s, char *l)
{
	char *tok[4], *save = NULL, *p;
	int n = 0;

	if (starts(l, "TEXT ")) {
		s->on = !starts(l, "TEXT runtime.rt0_go");
		s->sp = 0;
		s->check = 0;
		s->insns = 0;
		s->funcs++;
		return;
	}
	for (p = strtok_r(l, "\t\n", &save); p && n < 4; p = strtok_r(NULL, "\t\n", &save))
		tok[n++] = p;
	if (s->on && n == 4 && starts(tok[1], "0x"))
		step(s, strtoull(tok[1], NULL, 16), tok[3]);
}

static void check_build(const char *variant)
{
	struct sim s = { 0 };
	char path[512], cmd[600], buf[1024];
	struct gopclntab *t;
	struct goelf g;
	FILE *p;

	assert_int_equal(open_go_fixture(variant, &g, &t, path, sizeof(path)), 0);
	snprintf(cmd, sizeof(cmd), "go tool objdump '%s' 2>/dev/null", path);
	p = popen(cmd, "r");
	s.t = t;
	while (p && fgets(buf, sizeof(buf), p))
		line(&s, buf);
	if (p)
		pclose(p);
	if (!s.funcs) {
		print_message("# objdump %s: skipped: no output from `%s`\n", variant, cmd);
		gopclntab__free(t);
		goelf_close(&g);
		skip();
	}
	print_message("# objdump %s: %ld functions, %ld instructions at the simulated spdelta, "
		      "%ld without pc tables (C), %ld differ\n",
		      variant, s.funcs, s.checked, s.no_table, s.mismatches);
	assert_int_equal(s.mismatches, 0);
	assert_true(s.checked > 30000);
	gopclntab__free(t);
	goelf_close(&g);
}

static void test_default(void **state)
{
	check_build("default");
}

static void test_pie(void **state)
{
	check_build("pie");
}

static void test_static(void **state)
{
	check_build("static");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default),
		cmocka_unit_test(test_pie),
		cmocka_unit_test(test_static),
	};

	return cmocka_run_group_tests_name("pclntab_objdump", tests, NULL, NULL);
}
