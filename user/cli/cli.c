// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/cli.h"
#include "base/log.h"

static const char usage_text[] =
"Usage: blockwatch [OPTIONS]\n"
"Report threads that were blocked (off-CPU voluntarily) past a threshold:\n"
"for how long, why, and where in the code.\n"
"\n"
"  -p, --pid PID[,PID...]  trace these processes (default: the whole system)\n"
"  -t, --threshold DUR     report blocks at least this long (default 100ms)\n"
"  -i, --interval DUR      one report per interval (default 5s)\n"
"  -d, --duration DUR      stop after DUR (default: until Ctrl-C or SIGTERM)\n"
"  -n, --now               print the threads blocked right now (at least the\n"
"                          threshold), with age, reason, lock owner, stack; exit\n"
"  -f, --format FMT        text (default) or json (one object per line)\n"
"  -o, --output FILE       write reports to FILE instead of stdout\n"
"      --top N             only the N processes with the most blocked time\n"
"      --frames N          stack frames shown per entry in text (default 8)\n"
"  -K, --kernel-stacks     kernel stacks too, below the user stacks (costs a\n"
"                          stack walk at every sleep of a traced thread)\n"
"      --stack-size SIZE   user stack bytes copied per block (default 16K,\n"
"                          4K to 64K); deeper stacks are marked truncated\n"
"      --debuginfo-path P  where separate debug files are looked up (libdwfl\n"
"                          syntax; default /usr/lib/debug)\n"
"      --btf FILE          kernel BTF to use instead of /sys/kernel/btf/vmlinux\n"
"      --ringbuf-size SIZE ring buffer size, e.g. 16M (default 16M)\n"
"      --force-raw-tp      use raw_tp/sched_switch instead of tp_btf\n"
"      --syscall-exit      stacks for threads without rseq too (costs ~25ns\n"
"                          on every syscall of the machine)\n"
"  -v, --verbose           log what blockwatch does on stderr\n"
"  -h, --help              show this help\n"
"  -V, --version           show the version\n"
"\n"
"DUR is a number with a unit: ns, us, ms, s, m or h (e.g. 500us, 2s).\n"
"\n"
"Exit status: 0 ok, 1 runtime failure, 2 usage error, 3 no such process,\n"
"4 permission denied (needs root or CAP_BPF+CAP_PERFMON), 5 no kernel BTF.\n";

enum {
	OPT_TOP = 0x100,
	OPT_FRAMES,
	OPT_BTF,
	OPT_RINGBUF,
	OPT_RAW_TP,
	OPT_SYSCALL_EXIT,
	OPT_STACK_SIZE,
	OPT_DEBUGINFO,
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
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{},
};

int bw_parse_duration(const char *s, uint64_t *ns)
{
	static const struct {
		const char *unit;
		double mult;
	} units[] = {
		{ "ns", 1 }, { "us", 1e3 }, { "ms", 1e6 },
		{ "s", 1e9 }, { "m", 60e9 }, { "h", 3600e9 },
	};
	char *end;
	double v;
	size_t i;

	if (!s || !*s || *s == '-' || *s == '+' || (*s != '.' && (*s < '0' || *s > '9')))
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || !isfinite(v))
		return -EINVAL;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].unit))
			continue;
		v *= units[i].mult;
		if (v >= 18446744073709551616.0)
			return -ERANGE;
		*ns = (uint64_t)(v + 0.5);
		return 0;
	}
	return -EINVAL;
}

int bw_parse_size(const char *s, uint64_t *bytes)
{
	unsigned long long v;
	unsigned int shift = 0;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -ERANGE;
	if (!strcmp(end, "K") || !strcmp(end, "k"))
		shift = 10;
	else if (!strcmp(end, "M") || !strcmp(end, "m"))
		shift = 20;
	else if (!strcmp(end, "G") || !strcmp(end, "g"))
		shift = 30;
	else if (*end)
		return -EINVAL;
	if (v > (UINT64_MAX >> shift))
		return -ERANGE;
	*bytes = (uint64_t)v << shift;
	return 0;
}

int bw_parse_pids(const char *s, pid_t **pids, int *npids)
{
	pid_t *out = NULL;
	int n = 0;

	while (s && *s) {
		unsigned long v;
		char *end;
		pid_t *tmp;

		if (*s < '0' || *s > '9')
			goto inval;
		errno = 0;
		v = strtoul(s, &end, 10);
		if (errno || v == 0 || v > INT_MAX || (*end && *end != ','))
			goto inval;
		tmp = realloc(out, (n + 1) * sizeof(*out));
		if (!tmp) {
			free(out);
			return -ENOMEM;
		}
		out = tmp;
		out[n++] = (pid_t)v;
		s = *end ? end + 1 : end;
		if (*end == ',' && !*s)
			goto inval;
	}
	if (!n)
		return -EINVAL;
	*pids = out;
	*npids = n;
	return 0;
inval:
	free(out);
	return -EINVAL;
}

static int parse_uint(const char *s, unsigned int *v)
{
	unsigned long x;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	x = strtoul(s, &end, 10);
	if (errno || *end || x > UINT_MAX)
		return -EINVAL;
	*v = (unsigned int)x;
	return 0;
}

static int bad(const char *what, const char *val)
{
	bw_err("invalid %s '%s' (see --help)", what, val);
	return -EINVAL;
}

int bw_cli_parse(int argc, char **argv, struct bw_opts *o)
{
	int c, err;

	memset(o, 0, sizeof(*o));
	o->threshold_ns = 100000000ULL;
	o->interval_ns = 5000000000ULL;
	o->frames = 8;
	o->ringbuf_size = 16ULL << 20;
	o->stack_size = 16 * 1024;
	opterr = 0;
	optind = 1;

	while ((c = getopt_long(argc, argv, ":p:t:i:d:nf:o:KvhV", long_opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			free(o->pids);
			o->pids = NULL;
			err = bw_parse_pids(optarg, &o->pids, &o->npids);
			if (err == -ENOMEM) {
				bw_err("out of memory");
				return err;
			}
			if (err)
				return bad("PID list", optarg);
			break;
		case 't':
			if (bw_parse_duration(optarg, &o->threshold_ns))
				return bad("threshold", optarg);
			break;
		case 'i':
			if (bw_parse_duration(optarg, &o->interval_ns) || o->interval_ns < 1000000)
				return bad("interval (at least 1ms)", optarg);
			break;
		case 'd':
			if (bw_parse_duration(optarg, &o->duration_ns) || !o->duration_ns)
				return bad("duration", optarg);
			break;
		case 'n':
			o->now = true;
			break;
		case 'f':
			if (!strcmp(optarg, "text"))
				o->format = BW_FMT_TEXT;
			else if (!strcmp(optarg, "json"))
				o->format = BW_FMT_JSON;
			else
				return bad("format (text or json)", optarg);
			break;
		case 'o':
			o->output = optarg;
			break;
		case OPT_TOP:
			if (parse_uint(optarg, &o->top) || !o->top)
				return bad("--top count", optarg);
			break;
		case OPT_FRAMES:
			if (parse_uint(optarg, &o->frames))
				return bad("--frames count", optarg);
			break;
		case OPT_BTF:
			o->btf_path = optarg;
			break;
		case OPT_RINGBUF:
			if (bw_parse_size(optarg, &o->ringbuf_size) ||
			    o->ringbuf_size < 64 * 1024 || o->ringbuf_size > (1ULL << 30))
				return bad("ring buffer size (64K to 1G)", optarg);
			break;
		case OPT_RAW_TP:
			o->force_raw_tp = true;
			break;
		case OPT_SYSCALL_EXIT:
			o->syscall_exit = true;
			break;
		case 'K':
			o->kernel_stacks = true;
			break;
		case OPT_STACK_SIZE:
			if (bw_parse_size(optarg, &o->stack_size) || o->stack_size < 4096 ||
			    o->stack_size > 65536)
				return bad("stack size (4K to 64K)", optarg);
			break;
		case OPT_DEBUGINFO:
			o->debuginfo_path = optarg;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 1;
		case 'V':
			printf("blockwatch %s\n", BW_VERSION);
			return 1;
		case ':':
			bw_err("option '%s' needs an argument (see --help)", argv[optind - 1]);
			return -EINVAL;
		default:
			bw_err("unknown option '%s' (see --help)", argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		bw_err("unexpected argument '%s' (see --help)", argv[optind]);
		return -EINVAL;
	}
	return 0;
}

void bw_opts_free(struct bw_opts *o)
{
	free(o->pids);
	o->pids = NULL;
	o->npids = 0;
}
