// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "base/log.h"
#include "base/util.h"
#include "cli/cli.h"
#include "stacks/debugcache.h"

static const char usage_text[] =
"Usage: blockwatch [OPTIONS]\n"
"       blockwatch top [-p PID[,PID...]] [-t DUR] [-d DUR] [OPTIONS]\n"
"Report threads that were blocked (off-CPU voluntarily) past a threshold:\n"
"for how long, why, and where in the code.\n"
"\n"
"  -p, --pid PID[,PID...]  trace these processes (default: the whole system);\n"
"                          not blockwatch itself, a kernel thread or a zombie\n"
"  -t, --threshold DUR     report blocks at least this long (default 100ms)\n"
"  -i, --interval DUR      one report per interval (default 5s)\n"
"  -d, --duration DUR      stop after DUR (default: until Ctrl-C or SIGTERM)\n"
"  -n, --now               print the threads blocked right now (at least the\n"
"                          threshold), with age, reason, lock owner, stack; exit\n"
"                          (not with -d or -i)\n"
"  -f, --format FMT[:FILE] to FILE or stdout, repeat for several outputs; every\n"
"                          report: text (default) or json (one object per line);\n"
"                          the whole run, written at the end and on SIGUSR1:\n"
"                          folded (flame graph stacks), pprof (go tool pprof),\n"
"                          pprof-go (the Go processes' goroutines, as pprof),\n"
"                          svg (an interactive flame graph)\n"
"  -o, --output FILE       write the format without a :FILE to FILE\n"
"      --top N             only the N processes with the most blocked time\n"
"      --frames N          stack frames shown per entry in text (default 8)\n"
"      --metrics [ADDR:]PORT\n"
"                          serve Prometheus metrics on /metrics, on 127.0.0.1\n"
"                          unless ADDR is given (0.0.0.0 or [::]: every\n"
"                          interface); PORT 0 picks one; not with --now\n"
"      --metrics-top N     processes with series of their own (default 20;\n"
"                          the others are summed under comm=\"other\")\n"
"      --log-events        a line when a thread is first seen still blocked and\n"
"                          when it wakes, when a deadlock or a Go leak suspect\n"
"                          appears and goes: to the journal under systemd, else\n"
"                          stderr (JSON with -f json)\n"
"      --config FILE       on SIGHUP, read FILE's BLOCKWATCH_OPTS=\"...\" line\n"
"                          again and apply its -t, -i, --top, --frames and\n"
"                          --metrics-top (without it SIGHUP stops as SIGTERM)\n"
"  -K, --kernel-stacks     kernel stacks too, below the user stacks (costs a\n"
"                          stack walk at every sleep of a traced thread)\n"
"      --stack-size SIZE   user stack bytes copied per block (default 16K,\n"
"                          4K to 64K); deeper stacks are marked truncated\n"
"      --debuginfo-path P  where separate debug files are looked up (libdwfl\n"
"                          syntax; default /usr/lib/debug)\n"
"      --debug-cache DIR   compressed DWARF of debug files kept inflated on disk\n"
"                          here, by build-id (default /var/cache/blockwatch;\n"
"                          off: inflated in memory at each use)\n"
"      --no-lines          frames name functions only: no source lines and no\n"
"                          inlined calls, so no DWARF is inflated for them\n"
"                          (the service's metrics and log lines show neither)\n"
"      --btf FILE          kernel BTF to use instead of /sys/kernel/btf/vmlinux\n"
"      --ringbuf-size SIZE ring buffer size, e.g. 16M (default 8M)\n"
"      --force-raw-tp      use raw_tp/sched_switch instead of tp_btf\n"
"      --syscall-exit      stacks for threads without rseq too (costs ~25ns\n"
"                          on every syscall of the machine)\n"
"      --no-progress       no status line (elapsed, blocks, drops, next\n"
"                          report) on stderr when it is a terminal\n"
"  -v, --verbose           log what blockwatch does on stderr\n"
"  -h, --help              show this help\n"
"  -V, --version           show the version\n"
"\n"
"DUR is a decimal number (a fraction allowed) and a unit: ns, us, ms, s, m\n"
"or h (e.g. 500us, 1.5s); no hex, exponent or sign.\n"
"\n"
"blockwatch top: a live terminal view of the threads (and goroutine groups)\n"
"blocked now, refreshed every second: keys a/t/c sort by age/total/count,\n"
"p and r filter by PID and reason, Enter expands, space pauses, q quits;\n"
"-f, -o, -n, -i, --top and --frames do not apply to it.\n"
"\n"
"Go processes among the targets (or on the machine) also get a goroutine\n"
"view: their goroutines grouped, the channels they wait on, leak suspects.\n"
"\n"
"Exit status: 0 ok, 1 runtime failure, 2 usage error, 3 no such process,\n"
"4 permission denied (needs root or CAP_BPF+CAP_PERFMON), 5 no kernel BTF,\n"
"6 --now could not read a Go target's memory (needs CAP_SYS_PTRACE).\n";

enum {
	OPT_TOP = 0x100,
	OPT_FRAMES,
	OPT_BTF,
	OPT_RINGBUF,
	OPT_RAW_TP,
	OPT_SYSCALL_EXIT,
	OPT_STACK_SIZE,
	OPT_DEBUGINFO,
	OPT_METRICS,
	OPT_METRICS_TOP,
	OPT_LOG_EVENTS,
	OPT_CONFIG,
	OPT_NO_PROGRESS,
	OPT_NO_LINES,
	OPT_DEBUG_CACHE,
};

static const struct option long_opts[] = {
	{ "pid", required_argument, NULL, 'p' },
	{ "threshold", required_argument, NULL, 't' },
	{ "interval", required_argument, NULL, 'i' },
	{ "duration", required_argument, NULL, 'd' },
	{ "now", no_argument, NULL, 'n' },
	{ "format", required_argument, NULL, 'f' },
	{ "output", required_argument, NULL, 'o' },
	{ "top", required_argument, NULL, OPT_TOP },
	{ "frames", required_argument, NULL, OPT_FRAMES },
	{ "btf", required_argument, NULL, OPT_BTF },
	{ "ringbuf-size", required_argument, NULL, OPT_RINGBUF },
	{ "force-raw-tp", no_argument, NULL, OPT_RAW_TP },
	{ "syscall-exit", no_argument, NULL, OPT_SYSCALL_EXIT },
	{ "kernel-stacks", no_argument, NULL, 'K' },
	{ "stack-size", required_argument, NULL, OPT_STACK_SIZE },
	{ "debuginfo-path", required_argument, NULL, OPT_DEBUGINFO },
	{ "metrics", required_argument, NULL, OPT_METRICS },
	{ "metrics-top", required_argument, NULL, OPT_METRICS_TOP },
	{ "log-events", no_argument, NULL, OPT_LOG_EVENTS },
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "no-progress", no_argument, NULL, OPT_NO_PROGRESS },
	{ "no-lines", no_argument, NULL, OPT_NO_LINES },
	{ "debug-cache", required_argument, NULL, OPT_DEBUG_CACHE },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{},
};

static int bad(const char *what, const char *val)
{
	bw_err("invalid %s '%s' (see --help)", what, val);
	return -EINVAL;
}

/* -t, -i, -d: what is wrong with a duration, in its own words. */
static int duration(const char *what, const char *arg, uint64_t min, const char *min_text,
		    uint64_t *ns)
{
	int err = bw_parse_duration(arg, ns);

	if (err == -ERANGE) {
		bw_err("invalid %s '%s': out of range (at most %s; see --help)", what, arg,
		       BW_DURATION_MAX_TEXT);
		return -EINVAL;
	}
	if (err)
		return bad(what, arg);
	if (*ns < min) {
		bw_err("invalid %s '%s': %s (see --help)", what, arg, min_text);
		return -EINVAL;
	}
	return 0;
}

/* -f FORMAT[:FILE]; FILE "-" is stdout. */
static int add_sink(struct bw_opts *o, const char *arg)
{
	struct bw_sink_spec *sp = &o->sinks[o->nsinks];
	char *copy, *colon;

	if (o->nsinks == BW_MAX_SINKS) {
		bw_err("too many outputs (at most %d -f)", BW_MAX_SINKS);
		return -EINVAL;
	}
	copy = strdup(arg);
	if (!copy) {
		bw_err("out of memory");
		return -ENOMEM;
	}
	o->strings[o->nsinks++] = copy;
	colon = strchr(copy, ':');
	if (colon)
		*colon = 0;
	if (!bw_sink_find(copy)) {
		char names[128];

		bw_sink_names(names, sizeof(names));
		bw_err("invalid format '%s' (one of %s; see --help)", copy, names);
		return -EINVAL;
	}
	if (colon && !colon[1]) {
		bw_err("invalid output '%s': no file after ':' (see --help)", arg);
		return -EINVAL;
	}
	sp->format = copy;
	sp->path = colon && strcmp(colon + 1, "-") ? colon + 1 : NULL;
	sp->to_default = !colon;
	return 0;
}

/* The same file by two names (one existing already: a link, "./x") or
 * by the same name. */
static bool same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	if (!strcmp(a, b))
		return true;
	return !stat(a, &sa) && !stat(b, &sb) && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* -o goes to the one output without a :FILE (text when no -f); at most
 * one writes to stdout or -o, no file is named twice, and no binary
 * format goes to a terminal. */
static int finish_sinks(struct bw_opts *o, const char *output)
{
	int i, j, unnamed = 0, takes_output = 0;

	if (!o->nsinks)
		o->sinks[o->nsinks++] = (struct bw_sink_spec){ .format = "text", .to_default = true };
	for (i = 0; i < o->nsinks; i++) {
		struct bw_sink_spec *sp = &o->sinks[i];

		if (sp->to_default && output) {
			sp->path = output;
			takes_output++;
		}
		if (!sp->path)
			unnamed++;
		for (j = 0; sp->path && j < i; j++)
			if (o->sinks[j].path && same_file(o->sinks[j].path, sp->path)) {
				bw_err("output '%s' given twice (see --help)", sp->path);
				return -EINVAL;
			}
		if (!sp->path && bw_sink_find(sp->format)->binary && isatty(STDOUT_FILENO)) {
			bw_err("%s output is binary: not to a terminal (give it a :FILE; see --help)",
			       sp->format);
			return -EINVAL;
		}
	}
	if (output && !takes_output) {
		bw_err("-o '%s' is for an output without a :FILE, and there is none (see --help)",
		       output);
		return -EINVAL;
	}
	if (unnamed > 1) {
		bw_err("only one output can go to %s: give the others a :FILE (see --help)",
		       output ? "-o" : "stdout");
		return -EINVAL;
	}
	return 0;
}

/* Options that only switch something on. */
static bool *flag_of(struct bw_opts *o, int c)
{
	switch (c) {
	case 'n':
		return &o->now;
	case 'K':
		return &o->kernel_stacks;
	case 'v':
		return &o->verbose;
	case OPT_RAW_TP:
		return &o->force_raw_tp;
	case OPT_LOG_EVENTS:
		return &o->log_events;
	case OPT_SYSCALL_EXIT:
		return &o->syscall_exit;
	case OPT_NO_PROGRESS:
		return &o->no_progress;
	case OPT_NO_LINES:
		return &o->no_lines;
	}
	return NULL;
}

static int parse_pids(struct bw_opts *o, const char *arg)
{
	int err;

	free(o->pids);
	o->pids = NULL;
	err = bw_parse_pids(arg, &o->pids, &o->npids);
	if (err == -ENOMEM)
		bw_err("out of memory");
	return err == -ENOMEM ? err : err ? bad("PID list", arg) : 0;
}

/* Options with a value: 0, or -EINVAL/-ENOMEM (reported). */
static int parse_value(struct bw_opts *o, int c, const char *arg, const char **output)
{
	switch (c) {
	case 'p':
		return parse_pids(o, arg);
	case 't':
		return duration("threshold", arg, 0, NULL, &o->threshold_ns);
	case 'i':
		return duration("interval", arg, 1000000, "must be at least 1ms", &o->interval_ns);
	case 'd':
		return duration("duration", arg, 1, "must be more than 0", &o->duration_ns);
	case 'f':
		return add_sink(o, arg);
	case 'o':
		*output = arg;
		return 0;
	case OPT_TOP:
		return bw_parse_uint(arg, &o->top) || !o->top ? bad("--top count", arg) : 0;
	case OPT_FRAMES:
		return bw_parse_uint(arg, &o->frames) ? bad("--frames count", arg) : 0;
	case OPT_BTF:
		o->btf_path = arg;
		return 0;
	case OPT_RINGBUF:
		if (bw_parse_size(arg, &o->ringbuf_size) || o->ringbuf_size < 64 * 1024 ||
		    o->ringbuf_size > (1ULL << 30))
			return bad("ring buffer size (64K to 1G)", arg);
		return 0;
	case OPT_STACK_SIZE:
		if (bw_parse_size(arg, &o->stack_size) || o->stack_size < 4096 ||
		    o->stack_size > 65536)
			return bad("stack size (4K to 64K)", arg);
		return 0;
	case OPT_DEBUGINFO:
		o->debuginfo_path = arg;
		return 0;
	case OPT_DEBUG_CACHE:
		if (!*arg)
			return bad("--debug-cache directory (or off)", arg);
		o->debug_cache = strcmp(arg, "off") ? arg : NULL;
		return 0;
	case OPT_METRICS:
		o->metrics = arg;
		return 0;
	case OPT_CONFIG:
		o->config = arg;
		return 0;
	case OPT_METRICS_TOP:
		return bw_parse_uint(arg, &o->metrics_top) || !o->metrics_top ||
				       o->metrics_top > 10000 ?
			       bad("--metrics-top count (1 to 10000)", arg) :
			       0;
	}
	return -ENOENT;
}

static void defaults(struct bw_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->threshold_ns = 100000000ULL;
	o->interval_ns = 5000000000ULL;
	o->frames = 8;
	o->ringbuf_size = 8ULL << 20;
	o->stack_size = 16 * 1024;
	o->debug_cache = DEBUGCACHE_DEFAULT_DIR;
}

/* --now is one snapshot: a duration or an interval would be ignored,
 * and the user would think it samples for a while. */
static int check_now(const struct bw_opts *o, const char *timed)
{
	if (o->now && (o->metrics || o->log_events)) {
		bw_err("--now takes one snapshot and exits: %s does not apply (see --help)",
		       o->metrics ? "--metrics" : "--log-events");
		return -EINVAL;
	}
	if (!o->now || !timed)
		return 0;
	bw_err("--now takes one snapshot and exits: %s does not apply (see --help)", timed);
	return -EINVAL;
}

/* `top` draws on the terminal every second: no report formats, outputs,
 * snapshot or interval of its own. */
static int check_top(const struct bw_opts *o, int c)
{
	static const struct {
		int c;
		const char *name;
	} refused[] = {
		{ 'f', "-f/--format" }, { 'o', "-o/--output" }, { 'n', "-n/--now" },
		{ 'i', "-i/--interval" }, { OPT_TOP, "--top" }, { OPT_FRAMES, "--frames" },
	};
	size_t i;

	if (!o->top_view)
		return 0;
	for (i = 0; i < BW_ARRAY_SIZE(refused); i++)
		if (refused[i].c == c) {
			bw_err("top shows the terminal view every second: %s does not apply "
			       "(see --help)", refused[i].name);
			return -EINVAL;
		}
	return 0;
}

int bw_cli_parse(int argc, char **argv, struct bw_opts *o)
{
	const char *output = NULL, *timed = NULL;
	int c, err;
	bool *flag;

	defaults(o);
	opterr = 0;
	optind = 1;
	if (argc > 1 && !strcmp(argv[1], "top")) {
		o->top_view = true;
		o->interval_ns = 1000000000ULL;
		argc--;
		argv++;
	}
	while ((c = getopt_long(argc, argv, ":p:t:i:d:nf:o:KvhV", long_opts, NULL)) != -1) {
		if (check_top(o, c))
			return -EINVAL;
		if ((flag = flag_of(o, c))) {
			*flag = true;
			continue;
		}
		if (c == 'd' || c == 'i')
			timed = c == 'd' ? "-d/--duration" : "-i/--interval";
		err = parse_value(o, c, optarg, &output);
		if (err != -ENOENT) {
			if (err)
				return err;
			continue;
		}
		if (c == 'h' || c == 'V') {
			if (c == 'h')
				fputs(usage_text, stdout);
			else
				printf("blockwatch %s\n", BW_VERSION);
			return 1;
		}
		if (c == ':')
			bw_err("option '%s' needs an argument (see --help)", argv[optind - 1]);
		else
			bw_err("unknown option '%s' (see --help)", argv[optind - 1]);
		return -EINVAL;
	}
	if (optind < argc) {
		bw_err("unexpected argument '%s' (see --help)", argv[optind]);
		return -EINVAL;
	}
	err = check_now(o, timed);
	return err ? err : finish_sinks(o, output);
}

void bw_opts_free(struct bw_opts *o)
{
	int i;

	free(o->pids);
	o->pids = NULL;
	o->npids = 0;
	for (i = 0; i < BW_MAX_SINKS; i++) {
		free(o->strings[i]);
		o->strings[i] = NULL;
	}
	o->nsinks = 0;
}
