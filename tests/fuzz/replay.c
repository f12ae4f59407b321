// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The fuzz targets without libFuzzer: replay.c is their main(), running
 * LLVMFuzzerTestOneInput once on each file named, and on every regular
 * file of each directory named (sorted, not recursing). What a finding
 * is does not change: a sanitizer report or a broken invariant aborts.
 * Usage: fuzz_NAME FILE|DIR...   Prints how many inputs ran.
 */
#include <dirent.h>
#include <sys/stat.h>
#include "fuzz.h"

__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rbe");
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (!f) {
		fprintf(stderr, "replay: cannot open '%s': %s\n", path, strerror(errno));
		return -1;
	}
	for (;;) {
		if (len == cap) {
			uint8_t *grown = realloc(buf, cap ? 2 * cap : 65536);

			if (!grown) {
				fprintf(stderr, "replay: '%s': out of memory\n", path);
				free(buf);
				fclose(f);
				return -1;
			}
			buf = grown;
			cap = cap ? 2 * cap : 65536;
		}
		n = fread(buf + len, 1, cap - len, f);
		if (!n)
			break;
		len += n;
	}
	fclose(f);
	/* exactly @len bytes, as libFuzzer hands them: a read past the end
	 * is a heap overflow ASan reports */
	{
		uint8_t *exact = fuzz_copy(buf, len);

		free(buf);
		if (!exact)
			return -1;
		LLVMFuzzerTestOneInput(exact, len);
		free(exact);
	}
	return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int run_dir(const char *dir, long *count)
{
	struct dirent **ents;
	char path[4096];
	int n, i, err = 0;

	n = scandir(dir, &ents, NULL, by_name);
	if (n < 0) {
		fprintf(stderr, "replay: cannot read '%s': %s\n", dir, strerror(errno));
		return -1;
	}
	for (i = 0; i < n; i++) {
		struct stat st;

		snprintf(path, sizeof(path), "%s/%s", dir, ents[i]->d_name);
		if (!stat(path, &st) && S_ISREG(st.st_mode)) {
			if (run_file(path))
				err = -1;
			else
				(*count)++;
		}
		free(ents[i]);
	}
	free(ents);
	return err;
}

int main(int argc, char **argv)
{
	long count = 0;
	int i, err = 0;

	LLVMFuzzerInitialize(&argc, &argv);
	for (i = 1; i < argc; i++) {
		struct stat st;

		if (stat(argv[i], &st)) {
			fprintf(stderr, "replay: cannot stat '%s': %s\n", argv[i], strerror(errno));
			err = 1;
		} else if (S_ISDIR(st.st_mode)) {
			err |= run_dir(argv[i], &count) ? 1 : 0;
		} else if (run_file(argv[i])) {
			err = 1;
		} else {
			count++;
		}
	}
	printf("replay: %s: %ld inputs, no finding\n", argv[0], count);
	return err;
}
