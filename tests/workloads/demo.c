// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * demo: a small fake "service" for `make demo`, with threads that block
 * the way real services do.
 *
 *   demo [SECONDS]      run for SECONDS (default 10), then exit 0
 *
 *   db-writer    holds db_lock for 300 ms every second
 *   db-reader    takes db_lock in a loop: waits up to 300 ms (futex)
 *   queue-prod   pushes a job every 700 ms
 *   queue-worker waits for jobs on a condvar (futex)
 *   net-feeder   writes to a socket every 500 ms
 *   event-loop   epoll_wait on that socket (epoll)
 *   log-feeder   writes a log line to a pipe every 1.2 s
 *   log-reader   read() on the pipe (read)
 *   janitor      nanosleep 250 ms in a loop (sleep)
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static atomic_bool stop;
static pthread_mutex_t db_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t queue_cv = PTHREAD_COND_INITIALIZER;
static unsigned int queue_len;
static int sock[2] = { -1, -1 };
static int logpipe[2] = { -1, -1 };
static int epfd = -1;

static void fail(const char *what)
{
	fprintf(stderr, "demo: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static void name_self(const char *name)
{
	pthread_setname_np(pthread_self(), name);
}

__attribute__((noinline)) static void db_commit(void)
{
	pthread_mutex_lock(&db_lock);
	sleep_ms(300);
	pthread_mutex_unlock(&db_lock);
	__asm__ __volatile__("" ::: "memory");
}

static void *db_writer(void *arg)
{
	(void)arg;
	name_self("db-writer");
	while (!atomic_load(&stop)) {
		db_commit();
		sleep_ms(700);
	}
	return NULL;
}

__attribute__((noinline)) static void db_query(void)
{
	pthread_mutex_lock(&db_lock);
	__asm__ __volatile__("" ::: "memory");
	pthread_mutex_unlock(&db_lock);
}

static void *db_reader(void *arg)
{
	(void)arg;
	name_self("db-reader");
	while (!atomic_load(&stop)) {
		db_query();
		sleep_ms(20);
	}
	return NULL;
}

__attribute__((noinline)) static bool queue_pop(void)
{
	bool got = false;

	pthread_mutex_lock(&queue_lock);
	while (!queue_len && !atomic_load(&stop)) {
		pthread_cond_wait(&queue_cv, &queue_lock);
		__asm__ __volatile__("" ::: "memory");
	}
	if (queue_len) {
		queue_len--;
		got = true;
	}
	pthread_mutex_unlock(&queue_lock);
	return got;
}

static void queue_push(void)
{
	pthread_mutex_lock(&queue_lock);
	queue_len++;
	pthread_cond_signal(&queue_cv);
	pthread_mutex_unlock(&queue_lock);
}

static void *queue_worker(void *arg)
{
	(void)arg;
	name_self("queue-worker");
	while (queue_pop())
		;
	return NULL;
}

static void *queue_prod(void *arg)
{
	(void)arg;
	name_self("queue-prod");
	while (!atomic_load(&stop)) {
		sleep_ms(700);
		queue_push();
	}
	return NULL;
}

__attribute__((noinline)) static int event_loop_poll(void)
{
	struct epoll_event ev;
	int n;

	n = epoll_wait(epfd, &ev, 1, -1);
	__asm__ __volatile__("" ::: "memory");
	return n;
}

static void *event_loop(void *arg)
{
	char buf[64];

	(void)arg;
	name_self("event-loop");
	while (!atomic_load(&stop)) {
		if (event_loop_poll() > 0 && read(sock[0], buf, sizeof(buf)) <= 0)
			break;
	}
	return NULL;
}

static void *net_feeder(void *arg)
{
	(void)arg;
	name_self("net-feeder");
	while (!atomic_load(&stop)) {
		sleep_ms(500);
		if (write(sock[1], "req", 3) != 3)
			fail("write socket");
	}
	return NULL;
}

__attribute__((noinline)) static ssize_t log_read(char *buf, size_t len)
{
	ssize_t n = read(logpipe[0], buf, len);

	__asm__ __volatile__("" ::: "memory");
	return n;
}

static void *log_reader(void *arg)
{
	char buf[256];

	(void)arg;
	name_self("log-reader");
	while (log_read(buf, sizeof(buf)) > 0)
		;
	return NULL;
}

static void *log_feeder(void *arg)
{
	static const char line[] = "GET /health 200\n";

	(void)arg;
	name_self("log-feeder");
	while (!atomic_load(&stop)) {
		sleep_ms(1200);
		if (write(logpipe[1], line, sizeof(line) - 1) < 0)
			fail("write pipe");
	}
	return NULL;
}

__attribute__((noinline)) static void janitor_nap(void)
{
	sleep_ms(250);
	__asm__ __volatile__("" ::: "memory");
}

static void *janitor(void *arg)
{
	(void)arg;
	name_self("janitor");
	while (!atomic_load(&stop))
		janitor_nap();
	return NULL;
}

int main(int argc, char **argv)
{
	static void *(*const fns[])(void *) = {
		db_writer,  db_reader,	queue_prod, queue_worker, net_feeder,
		event_loop, log_feeder, log_reader, janitor,
	};
	enum { NFNS = sizeof(fns) / sizeof(fns[0]) };
	struct epoll_event ev = { .events = EPOLLIN };
	pthread_t threads[NFNS];
	unsigned long secs = 10;
	char *end;
	size_t i;
	int err;

	if (argc > 2) {
		fprintf(stderr, "demo: usage: demo [SECONDS]\n");
		return 1;
	}
	if (argc == 2) {
		errno = 0;
		secs = strtoul(argv[1], &end, 10);
		if (errno || *end || end == argv[1] || argv[1][0] == '-' ||
		    secs > 86400) {
			fprintf(stderr, "demo: invalid duration '%s'\n", argv[1]);
			return 1;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sock))
		fail("socketpair");
	if (pipe2(logpipe, O_CLOEXEC))
		fail("pipe");
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		fail("epoll_create1");
	ev.data.fd = sock[0];
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, sock[0], &ev))
		fail("epoll_ctl");

	for (i = 0; i < NFNS; i++) {
		err = pthread_create(&threads[i], NULL, fns[i], NULL);
		if (err) {
			errno = err;
			fail("pthread_create");
		}
	}
	printf("demo: pid %d running for %lu s\n", (int)getpid(), secs);
	fflush(stdout);
	sleep_ms((unsigned int)(secs * 1000));

	/* Wake every blocked thread so that each sees the stop flag. */
	atomic_store(&stop, true);
	pthread_mutex_lock(&queue_lock);
	pthread_cond_broadcast(&queue_cv);
	pthread_mutex_unlock(&queue_lock);
	if (write(sock[1], "x", 1) != 1)
		fail("write socket");
	for (i = 0; i < NFNS; i++) {
		if (fns[i] == log_feeder) {
			pthread_join(threads[i], NULL);
			close(logpipe[1]);
		}
	}
	for (i = 0; i < NFNS; i++) {
		if (fns[i] != log_feeder)
			pthread_join(threads[i], NULL);
	}
	return 0;
}
