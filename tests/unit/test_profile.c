// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The whole-run profile (model/profile) and the formats written from it:
 * folded lines, and pprof's profile.proto (read back through the
 * protobuf-c decoder generated from the same .proto, after gunzip). The
 * real consumers read them in tests/e2e/test_profiles.py. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <cmocka.h>
#include "model/go.h"
#include "model/profile.h"
#include "proto/profile.pb-c.h"
#include "report/sink.h"
#include "stacks/stacktab.h"

#define MS 1000000ULL

static const struct bw_sink_cfg cfg = { .frames = 8 };

/* leaf first: an inlined helper in outer(), its caller, main */
static struct bw_frame frames[] = {
	{ .addr = 0x1010, .symbol = "helper;x", .module = "/bin/app", .file = "app.c", .line = 7,
	  .inlined = true, .map_start = 0x1000, .map_end = 0x2000, .build_id = "abcdef" },
	{ .addr = 0x1010, .symbol = "outer", .module = "/bin/app", .file = "app.c", .line = 20,
	  .map_start = 0x1000, .map_end = 0x2000, .build_id = "abcdef" },
	{ .addr = 0x1100, .symbol = "main", .module = "/bin/app", .file = "app.c", .line = 30,
	  .map_start = 0x1000, .map_end = 0x2000, .build_id = "abcdef" },
};

static struct bw_stack stack = { .refs = 1, .id = 42, .pid = 100, .nframes = 3, .frames = frames };

struct fixture {
	struct bw_entry e[3];
	struct bw_entry *ptr[3];
	struct bw_proc_report p;
	struct bw_proc_report *pp[1];
	struct bw_report r;
};

/* One report at @t s of one process with @n entries as set up by caller. */
static void report(struct fixture *f, int n, uint64_t t)
{
	int i;

	f->p = (struct bw_proc_report){ .pid = 100, .nthreads = n, .threads = f->ptr };
	strcpy(f->p.comm, "app");
	f->p.blocked_ns = 0;
	for (i = 0; i < n; i++) {
		f->ptr[i] = &f->e[i];
		f->p.blocked_ns += f->e[i].interval_ns;
	}
	f->pp[0] = &f->p;
	f->r = (struct bw_report){ .kind = BW_REPORT_INTERVAL, .time_ns = t * 1000 * MS,
				   .interval_ns = 1000 * MS, .nprocs = 1, .procs = f->pp };
}

static struct bw_entry entry(uint32_t tid, bool ongoing, uint64_t ns, uint64_t count)
{
	struct bw_entry e = { .pid = 100, .tid = tid, .ongoing = ongoing, .stack = &stack,
			      .interval_ns = ns, .count = count };

	strcpy(e.comm, "worker");
	strcpy(e.reason, "futex_wait");
	return e;
}

struct seen {
	int n;
	bool ongoing[4];
	uint64_t ns[4], count[4];
};

static int collect(void *ctx, const struct bw_prof_sample *s, bool ongoing, uint64_t ns,
		   uint64_t count)
{
	struct seen *x = ctx;

	assert_true(x->n < 4);
	assert_ptr_equal(s->k.stack, &stack);
	x->ongoing[x->n] = ongoing;
	x->ns[x->n] = ns;
	x->count[x->n++] = count;
	return 0;
}

/* open in two reports, ended in the third: one block, its whole length */
static void test_block_across_reports(void **state)
{
	struct bw_profile *p = profile__new();
	struct fixture f;
	struct seen x = { 0 };

	f.e[0] = entry(101, true, 1000 * MS, 1);
	report(&f, 1, 1);
	assert_int_equal(profile__add(p, &f.r), 0);
	report(&f, 1, 2);
	assert_int_equal(profile__add(p, &f.r), 0);
	f.e[0] = entry(101, false, 500 * MS, 1);
	report(&f, 1, 3);
	assert_int_equal(profile__add(p, &f.r), 0);
	assert_int_equal(profile__each(p, collect, &x), 0);
	assert_int_equal(x.n, 1);
	assert_false(x.ongoing[0]);
	assert_int_equal(x.ns[0], 2500 * MS);
	assert_int_equal(x.count[0], 1);
	assert_int_equal(stack.refs, 2); /* the profile holds one */
	profile__free(p);
	assert_int_equal(stack.refs, 1);
}

/* one block ends and the thread's next, same stack, is open at the last
 * report: two parts, the open one ongoing, whatever the entries' order */
static void test_ended_and_open(void **state)
{
	struct bw_profile *p = profile__new();
	struct fixture f;
	struct seen x = { 0 };

	f.e[0] = entry(101, true, 300 * MS, 1);
	report(&f, 1, 1);
	assert_int_equal(profile__add(p, &f.r), 0);
	f.e[0] = entry(101, true, 200 * MS, 1); /* listed first */
	f.e[1] = entry(101, false, 100 * MS, 1); /* the end of the first */
	report(&f, 2, 2);
	assert_int_equal(profile__add(p, &f.r), 0);
	assert_int_equal(profile__each(p, collect, &x), 0);
	assert_int_equal(x.n, 2);
	assert_false(x.ongoing[0]);
	assert_int_equal(x.ns[0], 400 * MS);
	assert_int_equal(x.count[0], 1);
	assert_true(x.ongoing[1]);
	assert_int_equal(x.ns[1], 200 * MS);
	assert_int_equal(x.count[1], 1);
	profile__free(p);
}

/* past BW_PROFILE_MAX samples: the process's stackless one, totals kept */
static void test_bounded(void **state)
{
	struct bw_profile *p = profile__new();
	struct fixture f;
	uint32_t i;

	for (i = 0; i < BW_PROFILE_MAX + 10; i++) {
		f.e[0] = entry(1000 + i, false, 1 * MS, 1);
		report(&f, 1, 1 + i);
		assert_int_equal(profile__add(p, &f.r), 0);
	}
	assert_int_equal(p->nsamples, BW_PROFILE_MAX + 1);
	assert_int_equal(p->overflow, 10);
	profile__free(p);
	assert_int_equal(stack.refs, 1);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = calloc(1, 1 << 20);

	assert_non_null(f);
	*len = fread(buf, 1, (1 << 20) - 1, f);
	fclose(f);
	return buf;
}

/* Write one report through -f FORMAT:tmpfile; the file's bytes. */
static char *write_one(const char *format, struct bw_report *r, size_t *len)
{
	char path[] = "/tmp/bw-prof-XXXXXX";
	struct bw_sink_spec spec = { .format = format, .path = path };
	struct bw_sinks *ss;
	char *buf;

	close(mkstemp(path));
	assert_int_equal(bw_sinks__open(&spec, 1, &cfg, &ss), 0);
	assert_int_equal(bw_sinks__emit(ss, r), 0);
	assert_int_equal(bw_sinks__dump(ss), 0); /* rewritten whole by close */
	assert_int_equal(bw_sinks__emit(ss, r), 0);
	assert_int_equal(bw_sinks__close(ss), 0);
	buf = slurp(path, len);
	unlink(path);
	return buf;
}

static void test_folded(void **state)
{
	struct bw_go_frame gf[] = { { .func = "runtime.gopark" }, { .func = "main.leak" },
				    { .func = "runtime.goexit" } };
	struct bw_go_group g = { .count = 7, .state = "waiting", .wait_reason = "chan send",
				 .nframes = 3, .frames = gf };
	struct bw_go_view v = { .version = "go1.19", .ngroups = 1, .groups = &g };
	struct fixture f;
	size_t len;
	char *out;

	f.e[0] = entry(101, false, 1500 * MS, 2);
	f.e[1] = entry(102, false, 1000 * MS + 400, 1); /* same stack, another thread */
	report(&f, 2, 1);
	f.p.go = &v;
	out = write_one("folded", &f.r, &len);
	/* two reports: twice each; one line for both threads; ';' in a name
	 * as ':'; root first; goroutines a stack of their own */
	assert_string_equal(out, "app [goroutines];runtime.goexit;main.leak;runtime.gopark 7\n"
				 "app;main;outer;helper:x 5000001\n");
	free(out);
}

static Perftools__Profiles__Profile *read_pprof(const char *gz, size_t len)
{
	static uint8_t raw[1 << 20];
	z_stream z = { .next_in = (uint8_t *)gz, .avail_in = (uInt)len, .next_out = raw,
		       .avail_out = sizeof(raw) };

	assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK); /* gzip only */
	assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
	inflateEnd(&z);
	return perftools__profiles__profile__unpack(NULL, z.total_out, raw);
}

static const char *label(const Perftools__Profiles__Profile *p,
			 const Perftools__Profiles__Sample *s, const char *key, int64_t *num)
{
	size_t i;

	for (i = 0; i < s->n_label; i++)
		if (!strcmp(p->string_table[s->label[i]->key], key)) {
			if (num)
				*num = s->label[i]->num;
			return p->string_table[s->label[i]->str];
		}
	return NULL;
}

static void test_pprof(void **state)
{
	Perftools__Profiles__Profile *p;
	const Perftools__Profiles__Location *loc;
	struct fixture f;
	int64_t num = 0;
	size_t len, i;
	char *out;

	f.e[0] = entry(101, false, 1500 * MS, 2);
	f.e[1] = entry(102, true, 700 * MS, 1);
	report(&f, 2, 1);
	out = write_one("pprof", &f.r, &len);
	p = read_pprof(out, len);
	assert_non_null(p);
	assert_int_equal(p->n_sample_type, 2);
	assert_string_equal(p->string_table[p->sample_type[0]->type], "blocks");
	assert_string_equal(p->string_table[p->sample_type[0]->unit], "count");
	assert_string_equal(p->string_table[p->sample_type[1]->type], "offcpu");
	assert_string_equal(p->string_table[p->sample_type[1]->unit], "nanoseconds");
	assert_string_equal(p->string_table[p->default_sample_type], "offcpu");
	assert_int_equal(p->n_sample, 2);
	/* tid 101: both reports' blocks; tid 102 open at the last */
	assert_int_equal(p->sample[0]->value[0], 4);
	assert_int_equal(p->sample[0]->value[1], 3000 * MS);
	assert_string_equal(label(p, p->sample[0], "ongoing", NULL), "false");
	assert_string_equal(label(p, p->sample[1], "ongoing", NULL), "true");
	assert_int_equal(p->sample[1]->value[1], 1400 * MS);
	assert_string_equal(label(p, p->sample[0], "comm", NULL), "worker");
	assert_string_equal(label(p, p->sample[0], "reason", NULL), "futex_wait");
	label(p, p->sample[0], "tid", &num);
	assert_int_equal(num, 101);
	label(p, p->sample[0], "pid", &num);
	assert_int_equal(num, 100);
	/* three frames, two pcs: the inlined call a Line of its caller's
	 * Location, innermost first */
	assert_int_equal(p->sample[0]->n_location_id, 2);
	assert_int_equal(p->n_location, 2);
	loc = p->location[p->sample[0]->location_id[0] - 1];
	assert_int_equal(loc->address, 0x1010);
	assert_int_equal(loc->n_line, 2);
	assert_string_equal(p->string_table[p->function[loc->line[0]->function_id - 1]->name],
			    "helper;x");
	assert_int_equal(loc->line[0]->line, 7);
	assert_string_equal(p->string_table[p->function[loc->line[1]->function_id - 1]->name],
			    "outer");
	assert_string_equal(p->string_table[p->function[loc->line[1]->function_id - 1]->filename],
			    "app.c");
	assert_int_equal(p->n_mapping, 1);
	assert_int_equal(p->mapping[0]->memory_start, 0x1000);
	assert_int_equal(p->mapping[0]->memory_limit, 0x2000);
	assert_string_equal(p->string_table[p->mapping[0]->build_id], "abcdef");
	assert_string_equal(p->string_table[p->mapping[0]->filename], "/bin/app");
	for (i = 0; i < p->n_location; i++)
		assert_int_equal(p->location[i]->mapping_id, 1);
	perftools__profiles__profile__free_unpacked(p, NULL);
	free(out);
}

/* names a process chose: nothing raw in folded (a line each) or in the
 * SVG's script (no "]]>" before its end, no control byte) */
static void test_hostile_names(void **state)
{
	struct bw_frame hf[] = { { .addr = 0x1000, .symbol = "evil]]><script>\n;x\x1b[2J" } };
	struct bw_stack hs = { .refs = 1, .id = 7, .pid = 100, .nframes = 1, .frames = hf };
	struct fixture f;
	const char *cdata, *end;
	size_t len;
	char *out;

	f.e[0] = entry(101, false, 200 * MS, 1);
	f.e[0].stack = &hs;
	report(&f, 1, 1);
	strcpy(f.p.comm, "a;b\r\n");
	out = write_one("folded", &f.r, &len);
	assert_string_equal(out, "a:b\\x0d\\x0a;evil]]><script>\\x0a:x\\x1b[2J 400000\n");
	free(out);
	out = write_one("svg", &f.r, &len);
	assert_non_null(strstr(out, "<svg "));
	cdata = strstr(out, "<![CDATA[");
	assert_non_null(cdata);
	end = strstr(cdata, "]]>");
	assert_non_null(end);
	assert_string_equal(end, "]]></script>\n</svg>\n"); /* the only one */
	assert_non_null(strstr(cdata, "\"evil]]\\u003e\\u003cscript\\u003e\\\\x0a;x\\\\x1b[2J\""));
	for (const char *c = cdata; c < end; c++)
		assert_true((unsigned char)*c >= 0x20 || *c == '\n');
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_block_across_reports),
		cmocka_unit_test(test_ended_and_open),
		cmocka_unit_test(test_bounded),
		cmocka_unit_test(test_folded),
		cmocka_unit_test(test_pprof),
		cmocka_unit_test(test_hostile_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
