// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * bw-attach OBJECT PROGRAM...: load the named programs of a BPF object,
 * attach them, say so on stderr ("bw-attach: attached ..."), and hold
 * them until SIGINT or SIGTERM. The benchmark uses it to measure what
 * an empty program on a tracepoint costs, beside blockwatch.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>

#define MAX_LINKS 8

static int silent(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

static int run(const char *path, char **names, int n)
{
	struct bpf_link *links[MAX_LINKS] = { 0 };
	struct bpf_object *obj;
	struct bpf_program *p;
	int err = 0, i, sig;
	sigset_t set;

	obj = bpf_object__open_file(path, NULL);
	if (!obj) {
		err = -errno;
		fprintf(stderr, "bw-attach: cannot open '%s': %s\n", path, strerror(-err));
		return err;
	}
	bpf_object__for_each_program(p, obj)
		bpf_program__set_autoload(p, false);
	for (i = 0; i < n; i++) {
		p = bpf_object__find_program_by_name(obj, names[i]);
		if (!p) {
			fprintf(stderr, "bw-attach: no program '%s' in '%s'\n", names[i], path);
			err = -ENOENT;
			goto out;
		}
		bpf_program__set_autoload(p, true);
	}
	err = bpf_object__load(obj);
	if (err) {
		fprintf(stderr, "bw-attach: cannot load '%s': %s\n", path, strerror(-err));
		goto out;
	}
	for (i = 0; i < n; i++) {
		links[i] = bpf_program__attach(bpf_object__find_program_by_name(obj, names[i]));
		if (!links[i]) {
			err = -errno;
			fprintf(stderr, "bw-attach: cannot attach '%s': %s\n", names[i],
				strerror(-err));
			goto out;
		}
	}
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &set, NULL)) {
		err = -errno;
		goto out;
	}
	fprintf(stderr, "bw-attach: attached %d program%s\n", n, n == 1 ? "" : "s");
	if (sigwait(&set, &sig))
		err = -EINTR;
out:
	for (i = 0; i < n; i++)
		bpf_link__destroy(links[i]);
	bpf_object__close(obj);
	return err;
}

int main(int argc, char **argv)
{
	if (argc < 3 || argc - 2 > MAX_LINKS) {
		fprintf(stderr, "usage: bw-attach OBJECT PROGRAM... (at most %d)\n", MAX_LINKS);
		return 2;
	}
	libbpf_set_print(silent);
	return run(argv[1], argv + 2, argc - 2) ? 1 : 0;
}
