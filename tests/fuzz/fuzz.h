/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * What the fuzz targets share. Each tests/fuzz/fuzz_NAME.c is one
 * LLVMFuzzerTestOneInput over the parser it is named after, linked with
 * libblockwatch.a: with libFuzzer (make fuzz), or with replay.c, which
 * runs it once on every file it is given (make fuzz-replay). A broken
 * invariant is a finding like a sanitizer report: FUZZ_CHECK aborts.
 */
#ifndef BW_FUZZ_H
#define BW_FUZZ_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_CHECK(cond)                                                                   \
	do {                                                                               \
		if (!(cond)) {                                                             \
			fprintf(stderr, "%s:%d: fuzz invariant broken: %s\n", __FILE__,    \
				__LINE__, #cond);                                          \
			abort();                                                           \
		}                                                                          \
	} while (0)

/* The input as a file to read lines from, as the parser reads /proc;
 * NULL only when out of memory. */
static inline FILE *fuzz_file(const uint8_t *data, size_t size)
{
	if (!size)
		return fopen("/dev/null", "re");
	return fmemopen((void *)data, size, "r");
}

/* The input as a C string (up to its first NUL), malloc'ed. */
static inline char *fuzz_str(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s) {
		memcpy(s, data, size);
		s[size] = 0;
	}
	return s;
}

/* A private copy of exactly @size bytes, so that a read past them is
 * one ASan sees (libFuzzer's own buffer is that too; replay's is not
 * always). */
static inline uint8_t *fuzz_copy(const uint8_t *data, size_t size)
{
	uint8_t *p = malloc(size ? size : 1);

	if (p)
		memcpy(p, data, size);
	return p;
}

static inline int fuzz_write_all(int fd, const uint8_t *data, size_t size)
{
	while (size) {
		ssize_t n = write(fd, data, size);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		data += n;
		size -= (size_t)n;
	}
	return 0;
}

/* The input as an anonymous file (a memfd) at offset 0, or -1. */
static inline int fuzz_memfd(const uint8_t *data, size_t size)
{
	int fd = memfd_create("bw-fuzz", MFD_CLOEXEC);

	if (fd < 0)
		return -1;
	if (fuzz_write_all(fd, data, size) || lseek(fd, 0, SEEK_SET)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Reading every byte of a string the code under test returned, so that
 * ASan sees one that is not terminated inside its buffer. */
static inline size_t fuzz_touch(const char *s)
{
	return s ? strlen(s) : 0;
}

#endif
