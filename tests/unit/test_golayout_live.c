// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The layout against a live process (default, PIE, stripped builds of
 * the fixture): read with process_vm_readv, never stopped, it must find
 * goroutine 1 and the goroutines the fixture parked.
 */
#include "golayout_test.h"

struct proc {
	pid_t pid;
	FILE *in, *out;
};

/* The fixture with 10 goroutines parked sending on a full channel and
 * 3 receiving from one nobody writes: "ready PID" once they are. */
static void start_fixture(const char *path, struct proc *p)
{
	int to[2], from[2];
	char line[64];
	int pid;

	assert_int_equal(pipe(to), 0);
	assert_int_equal(pipe(from), 0);
	p->pid = fork();
	assert_true(p->pid >= 0);
	if (p->pid == 0) {
		dup2(to[0], 0);
		dup2(from[1], 1);
		close(to[1]);
		close(from[0]);
		execl(path, path, "-send", "10", "-recv", "3", (char *)NULL);
		_exit(127);
	}
	close(to[0]);
	close(from[1]);
	p->in = fdopen(to[1], "w");
	p->out = fdopen(from[0], "r");
	assert_non_null(p->in);
	assert_non_null(p->out);
	assert_non_null(fgets(line, sizeof(line), p->out));
	assert_int_equal(sscanf(line, "ready %d", &pid), 1);
	assert_int_equal(pid, p->pid);
}

static int fixture_count(struct proc *p)
{
	char line[64];
	int n = -1;

	fputs("count\n", p->in);
	fflush(p->in);
	assert_non_null(fgets(line, sizeof(line), p->out));
	assert_int_equal(sscanf(line, "count %d", &n), 1);
	return n;
}

static void stop_fixture(struct proc *p)
{
	int st;

	fputs("quit\n", p->in);
	fclose(p->in);
	fclose(p->out);
	assert_int_equal(waitpid(p->pid, &st, 0), p->pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* A PIE's load bias: AT_ENTRY (where the kernel put the entry point)
 * minus the file's e_entry. */
static uint64_t load_bias(pid_t pid, const struct goelf *g)
{
	uint64_t av[2], bias = 0;
	char path[64];
	FILE *f;

	if (!g->pie)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/auxv", pid);
	f = fopen(path, "rb");
	assert_non_null(f);
	while (fread(av, sizeof(av), 1, f) == 1 && av[0] != AT_NULL)
		if (av[0] == AT_ENTRY)
			bias = av[1] - g->entry;
	fclose(f);
	assert_int_not_equal(bias, 0);
	return bias;
}

static uint32_t reason_no(const struct go_layout *l, const char *s)
{
	for (uint32_t i = 0; i < l->nreasons; i++)
		if (!strcmp(l->reasons[i], s))
			return i;
	fail_msg("no wait reason \"%s\"", s);
	return 0;
}

static uint64_t rd64(const uint8_t *g, uint32_t off)
{
	uint64_t v;

	memcpy(&v, g + off, 8);
	return v;
}

struct census {
	unsigned live, send, recv;
};

/* One G as the layout reads it: a plausible status, stack and (when
 * parked) saved pc and sp; counted by wait reason. */
static void check_g(const struct go_layout *l, const struct bin *b, uint64_t bias,
		    const uint8_t *g, struct census *c)
{
	uint32_t st, lo = l->g_stack_lo, hi = l->g_stack_hi;
	uint64_t pc = rd64(g, l->g_sched + l->gobuf_pc), sp = rd64(g, l->g_sched + l->gobuf_sp);

	memcpy(&st, g + l->g_atomicstatus, 4);
	st &= ~l->st_scan;
	if (st == l->st_dead)
		return;
	assert_true(st == l->st_runnable || st == l->st_running || st == l->st_syscall ||
		    st == l->st_waiting || st == l->st_preempted);
	assert_true(rd64(g, l->g_goid) > 0);
	assert_true(rd64(g, lo) < rd64(g, hi));
	c->live++;
	if (st != l->st_waiting)
		return;
	assert_true(pc >= b->g.text_addr + bias && pc < b->g.text_end + bias);
	assert_true(sp >= rd64(g, lo) && sp < rd64(g, hi));
	c->send += g[l->g_waitreason] == reason_no(l, "chan send");
	c->recv += g[l->g_waitreason] == reason_no(l, "chan receive");
}

/* allglen, then allgptr (the order the runtime's lock-free readers
 * use), then every G, with process_vm_readv, the process running. */
static void live(const char *variant)
{
	struct go_layout l;
	struct census c = { 0 };
	uint64_t n, allg, bias, *gp;
	char why[256];
	struct proc p;
	struct bin b;
	uint8_t *g;

	open_bin(&b, variant);
	assert_int_equal(go_layout_resolve(&b.g, b.pt, &l, why, sizeof(why)), 0);
	start_fixture(b.path, &p);
	bias = load_bias(p.pid, &b.g);
	assert_int_equal(procfs_read_mem(p.pid, l.allglen + bias, &n, 8), 0);
	assert_int_equal(procfs_read_mem(p.pid, l.allgptr + bias, &allg, 8), 0);
	assert_true(n >= 14 && n < 100000);
	gp = calloc(n, 8);
	g = malloc(l.g_size);
	assert_non_null(gp);
	assert_non_null(g);
	assert_int_equal(procfs_read_mem(p.pid, allg, gp, n * 8), 0);
	for (uint64_t i = 0; i < n; i++) {
		assert_int_equal(procfs_read_mem(p.pid, gp[i], g, l.g_size), 0);
		if (i == 0)
			assert_int_equal(rd64(g, l.g_goid), 1);
		check_g(&l, &b, bias, g, &c);
	}
	print_message("# live %s (bias %#lx): %lu Gs, %u live, %u [chan send], %u [chan receive], "
		      "NumGoroutine %d\n",
		      variant, (unsigned long)bias, (unsigned long)n, c.live, c.send, c.recv,
		      fixture_count(&p));
	assert_int_equal(c.send, 10);
	assert_int_equal(c.recv, 3);
	assert_true(c.live >= (unsigned)fixture_count(&p));
	stop_fixture(&p);
	free(gp);
	free(g);
	go_layout_clear(&l);
	close_bin(&b);
}

static void test_live_default(void **state)
{
	live("default");
}

static void test_live_pie(void **state)
{
	live("pie");
}

static void test_live_stripped(void **state)
{
	live("stripped");
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_live_default),
		cmocka_unit_test(test_live_pie),
		cmocka_unit_test(test_live_stripped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
