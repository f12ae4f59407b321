// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * jit: a thread blocked in "JIT-compiled" code, for the end-to-end test
 * of /tmp/perf-PID.map symbols.
 *
 *   jit [fifo | hostile]
 *
 * main maps an anonymous page, writes x86-64 machine code into it and
 * makes it executable: jit_sleeper(seconds), which sets up a frame
 * pointer (push rbp; mov rbp,rsp), calls nanosleep() with the `syscall`
 * instruction on a timespec on its stack, and returns (mov rsp,rbp;
 * pop rbp; ret). It has no ELF symbol, no CFI and no module; main
 * describes it in /tmp/perf-PID.map as perf does ("START SIZE name",
 * hex without 0x): "ADDR SIZE jit_sleeper". A thread named "jit-sleeper"
 * calls it from jit_caller() (noinline) in a loop, an hour at a time.
 * Once /proc/self/task/TID/{stat,syscall} shows the thread asleep (S) in
 * nanosleep(), main prints "ready PID TID ADDR SIZE" (ADDR and SIZE in
 * hex with 0x) and reads stdin; at end of file it removes the map file
 * and exits 0. Errors: one line on stderr, exit 1 (the map file removed).
 *
 * fifo: /tmp/perf-PID.map is a FIFO that nobody ever opens for writing,
 * as any user can make it: blockwatch must neither wait on it nor name
 * the code.
 *
 * hostile: the names are a terminal's commands, as any process may choose
 * them: the process (main thread) is HOSTILE_COMM, the sleeper thread
 * HOSTILE_THREAD, the code in the map HOSTILE_SYM (escapes, CR LF, bytes
 * that are not UTF-8); blockwatch must print them escaped.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "wl.h"

#define BLOCK_WAIT_TIMEOUT_MS 10000
#define SLEEP_S 3600

typedef long (*jit_fn)(long seconds);

#define HOSTILE_COMM "\x1b]0;pwned\x07\r\n\xff"
#define HOSTILE_THREAD "jit\x1b[2J\r\xfe"
#define HOSTILE_SYM "jit_\x1b]0;map\x07\rforged \xff" /* no LF: the map is lines */

static char map_path[64];
static bool hostile;
static atomic_int sleeper_tid;
static jit_fn sleeper;

static void jit_die(const char *fmt, ...)
{
	va_list ap;

	if (map_path[0])
		unlink(map_path);
	fputs("jit: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/*
 * jit_sleeper(long seconds):
 *   push rbp                     55
 *   mov  rbp, rsp                48 89 e5
 *   sub  rsp, 16                 48 83 ec 10
 *   mov  [rsp], rdi              48 89 3c 24         tv_sec = seconds
 *   mov  qword [rsp+8], 0        48 c7 44 24 08 00 00 00 00
 *   mov  eax, SYS_nanosleep      b8 23 00 00 00
 *   mov  rdi, rsp                48 89 e7
 *   xor  esi, esi                31 f6               rem = NULL
 *   syscall                      0f 05
 *   mov  rsp, rbp                48 89 ec
 *   pop  rbp                     5d
 *   ret                          c3
 */
static const unsigned char code[] = {
	0x55,
	0x48, 0x89, 0xe5,
	0x48, 0x83, 0xec, 0x10,
	0x48, 0x89, 0x3c, 0x24,
	0x48, 0xc7, 0x44, 0x24, 0x08, 0x00, 0x00, 0x00, 0x00,
	0xb8, SYS_nanosleep, 0x00, 0x00, 0x00,
	0x48, 0x89, 0xe7,
	0x31, 0xf6,
	0x0f, 0x05,
	0x48, 0x89, 0xec,
	0x5d,
	0xc3,
};

__attribute__((noinline)) long jit_caller(long seconds)
{
	long r = sleeper(seconds);

	__asm__ __volatile__("" ::: "memory");
	return r;
}

static void *sleeper_thread(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), hostile ? HOSTILE_THREAD : "jit-sleeper");
	atomic_store(&sleeper_tid, (int)syscall(SYS_gettid));
	for (;;)
		jit_caller(SLEEP_S);
	return NULL;
}

static bool blocked(pid_t tid)
{
	unsigned long arg0;
	long nr;

	return task_asleep(tid, "S", &nr, &arg0) && nr == SYS_nanosleep;
}

static void write_map(const char *path)
{
	FILE *f = fopen(path, "w");

	if (!f)
		jit_die("create '%s': %s", path, strerror(errno));
	fprintf(f, "%lx %zx %s\n", (unsigned long)(uintptr_t)sleeper, sizeof(code),
		hostile ? HOSTILE_SYM : "jit_sleeper");
	if (fclose(f))
		jit_die("write '%s': %s", path, strerror(errno));
}

int main(int argc, char **argv)
{
	struct timespec ms1 = { 0, 1000000 };
	unsigned long long deadline;
	pthread_t thread;
	char line[64];
	bool fifo;
	void *page;
	int err;

	if (argc > 2 || (argc == 2 && strcmp(argv[1], "fifo") && strcmp(argv[1], "hostile")))
		jit_die("usage: jit [fifo | hostile]");
	fifo = argc == 2 && !strcmp(argv[1], "fifo");
	hostile = argc == 2 && !strcmp(argv[1], "hostile");
	if (hostile && prctl(PR_SET_NAME, HOSTILE_COMM))
		jit_die("prctl PR_SET_NAME: %s", strerror(errno));

	page = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED)
		jit_die("mmap: %s", strerror(errno));
	/* not at the start of the page: a symbol lookup must use the map */
	memcpy((char *)page + 64, code, sizeof(code));
	if (mprotect(page, 4096, PROT_READ | PROT_EXEC))
		jit_die("mprotect: %s", strerror(errno));
	sleeper = (jit_fn)((char *)page + 64);

	snprintf(map_path, sizeof(map_path), "/tmp/perf-%d.map", (int)getpid());
	if (fifo) {
		unlink(map_path);
		if (mkfifo(map_path, 0666))
			jit_die("mkfifo '%s': %s", map_path, strerror(errno));
	} else {
		write_map(map_path);
	}

	err = pthread_create(&thread, NULL, sleeper_thread, NULL);
	if (err)
		jit_die("pthread_create: %s", strerror(err));
	deadline = now_ms() + BLOCK_WAIT_TIMEOUT_MS;
	while (!atomic_load(&sleeper_tid) || !blocked(atomic_load(&sleeper_tid))) {
		if (now_ms() > deadline)
			jit_die("the JIT sleeper did not block");
		nanosleep(&ms1, NULL);
	}
	printf("ready %d %d %#lx %#zx\n", (int)getpid(),
	       atomic_load(&sleeper_tid), (unsigned long)(uintptr_t)sleeper,
	       sizeof(code));
	fflush(stdout);

	while (fgets(line, sizeof(line), stdin))
		;
	unlink(map_path);
	return 0;
}
