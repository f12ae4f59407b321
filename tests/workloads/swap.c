// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * swap: the same addresses meaning something else, for the caches.
 * Built twice, non-PIE (SWAP_SIDE a and b: swap_a, swap_b): the same
 * code at the same addresses, only the names differ.
 *
 *   swap_a dl LIBA LIBB  dlopen LIBA, block 300 ms in its
 *                        swaplib_block_a, dlclose it, dlopen LIBB (a
 *                        different file, mapped where LIBA was), block
 *                        300 ms in swaplib_block_b; prints
 *                        "dl a|b BASE FN" before each block
 *   swap_a late LIBA LIBB  as dl, but blocks in LIBA, prints "late a
 *                        BASE", waits for a second line on stdin, then
 *                        blocks in it again, dlcloses it and dlopens
 *                        LIBB at once (no pause: a tracer stopped
 *                        meanwhile reads the second block after the
 *                        swap), blocks in LIBB and keeps it
 *   swap_a exec NEXT     block 300 ms in swap_block_a, then exec NEXT
 *                        (swap_b) "last": 300 ms in swap_block_b at the
 *                        same address; prints "exec a|b FN" before each
 *
 * Prints "ready PID TID" first, then waits for a line on stdin; 150 ms
 * (below the tests' threshold) between the steps, for the tracer to
 * name the first block before the addresses change; "done" at the end,
 * then exits on end of file on stdin (its maps stay readable).
 */
#include <dlfcn.h>
#include <link.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "wl.h"

#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)
#define STR2(a) #a
#define STR(a) STR2(a)
#define BLOCK CAT(swap_block_, SWAP_SIDE)

__attribute__((noinline)) void BLOCK(void)
{
	sleep_ms(300);
	__asm__ volatile("" ::: "memory"); /* not a tail call */
}

static int done(void)
{
	char line[16];

	printf("done\n");
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin))
		;
	return 0;
}

enum lib_mode { LIB_ONCE, LIB_LATE, LIB_KEEP };

static int one_lib(const char *path, const char *side, enum lib_mode mode)
{
	void *(*fn)(void);
	struct link_map *lm;
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);

	if (!h || dlinfo(h, RTLD_DI_LINKMAP, &lm)) {
		fprintf(stderr, "swap: dlopen %s: %s\n", path, dlerror());
		return -1;
	}
	fn = (void *(*)(void))dlsym(h, "swap_lib_block");
	if (!fn) {
		fprintf(stderr, "swap: %s: no swap_lib_block\n", path);
		return -1;
	}
	printf("dl %s %#lx\n", side, (unsigned long)lm->l_addr);
	fflush(stdout);
	fn();
	if (mode == LIB_KEEP)
		return 0;
	if (mode == LIB_LATE) {
		char line[16];

		printf("late %s %#lx\n", side, (unsigned long)lm->l_addr);
		fflush(stdout);
		if (!fgets(line, sizeof(line), stdin))
			return -1;
		fn();
	} else {
		sleep_ms(150);
	}
	dlclose(h);
	return 0;
}

int main(int argc, char **argv)
{
	char line[16];

	if (argc == 2 && !strcmp(argv[1], "last")) {
		printf("exec %s %p\n", STR(SWAP_SIDE), (void *)BLOCK);
		fflush(stdout);
		BLOCK();
		return done();
	}
	if (argc < 3) {
		fprintf(stderr, "usage: swap dl|late LIBA LIBB | swap exec NEXT\n");
		return 2;
	}
	printf("ready %d %ld\n", getpid(), (long)syscall(SYS_gettid));
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		return 1;
	if ((!strcmp(argv[1], "dl") || !strcmp(argv[1], "late")) && argc == 4) {
		bool late = !strcmp(argv[1], "late");

		if (one_lib(argv[2], "a", late ? LIB_LATE : LIB_ONCE) ||
		    one_lib(argv[3], "b", late ? LIB_KEEP : LIB_ONCE))
			return 1;
		return done();
	}
	if (!strcmp(argv[1], "exec")) {
		printf("exec %s %p\n", STR(SWAP_SIDE), (void *)BLOCK);
		fflush(stdout);
		BLOCK();
		sleep_ms(150);
		execl(argv[2], argv[2], "last", (char *)NULL);
		perror("swap: exec");
		return 1;
	}
	return 2;
}
