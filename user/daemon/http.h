/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#ifndef BW_HTTP_H
#define BW_HTTP_H

#include <stddef.h>

/*
 * /metrics over HTTP: libmicrohttpd on a thread of its own, serving the
 * rendering last published. Tracing never waits for a client: a scrape
 * copies the published text under a lock held for that copy only, and
 * whatever a client does (holds a connection open, sends a huge request,
 * opens a thousand) is bounded by the server's limits — connections (64,
 * 8 per address), a 10 s idle timeout, 16 KiB of memory per connection.
 */
struct bw_http;

/* Bind and listen on @spec, "[ADDR:]PORT" (numeric; IPv6 as [ADDR];
 * no ADDR: 127.0.0.1; PORT 0: any free port): the socket in *@fd, its
 * address for people in @where. 0, -EINVAL (a bad spec) or -errno. */
int bw_http_listen(const char *spec, int *fd, char *where, size_t len);
/* Serve @fd (taken over, closed by bw_http_stop) on a new thread, which
 * inherits the caller's signal mask: block signals before. 0 or -errno. */
int bw_http_start(int fd, struct bw_http **out);
/* The rendering to serve from now on, in both formats (malloc'ed; taken
 * over). */
void bw_http_publish(struct bw_http *h, char *text, size_t len, char *om, size_t omlen);
/* Scrapes served since start. */
unsigned long long bw_http_scrapes(struct bw_http *h);
/* Stop the thread, close every connection and the socket (NULL: no-op). */
void bw_http_stop(struct bw_http *h);

#endif
