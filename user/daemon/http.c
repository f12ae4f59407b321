// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * libmicrohttpd, not a server of our own: HTTP/1.1 parsing, keep-alive,
 * timeouts and connection limits are what it is made for, and a
 * hand-written parser facing any client on the network is the code this
 * project least wants to own. Debian's libmicrohttpd12.
 *
 * Loaded (dlopen) only when --metrics serves: Debian builds it with
 * GnuTLS, and loading it brings GnuTLS, p11-kit, nettle, gmp and their
 * initialisation, ~2.3 MB resident, into every run that serves nothing.
 */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "base/log.h"
#include "daemon/http.h"
#include "report/prom.h"

#define MAX_CONNECTIONS 64
#define MAX_PER_ADDRESS 8
#define IDLE_TIMEOUT_S 10
#define CONNECTION_MEMORY (16 << 10)

#define MHD_SONAME "libmicrohttpd.so.12"

/* The libmicrohttpd calls made, from the library loaded for the server. */
static struct {
	void *so;
	struct MHD_Daemon *(*start_daemon)(unsigned int, uint16_t, MHD_AcceptPolicyCallback,
					   void *, MHD_AccessHandlerCallback, void *, ...);
	void (*stop_daemon)(struct MHD_Daemon *);
	struct MHD_Response *(*create_response_from_buffer)(size_t, void *,
							    enum MHD_ResponseMemoryMode);
	enum MHD_Result (*add_response_header)(struct MHD_Response *, const char *, const char *);
	enum MHD_Result (*queue_response)(struct MHD_Connection *, unsigned int,
					  struct MHD_Response *);
	void (*destroy_response)(struct MHD_Response *);
	const char *(*lookup_connection_value)(struct MHD_Connection *, enum MHD_ValueKind,
					       const char *);
} mhd;

static int mhd_load(void)
{
	if (mhd.so)
		return 0;
	mhd.so = dlopen(MHD_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!mhd.so) {
		bw_err("%s", dlerror());
		return -ENOENT;
	}
	*(void **)&mhd.start_daemon = dlsym(mhd.so, "MHD_start_daemon");
	*(void **)&mhd.stop_daemon = dlsym(mhd.so, "MHD_stop_daemon");
	*(void **)&mhd.create_response_from_buffer =
		dlsym(mhd.so, "MHD_create_response_from_buffer");
	*(void **)&mhd.add_response_header = dlsym(mhd.so, "MHD_add_response_header");
	*(void **)&mhd.queue_response = dlsym(mhd.so, "MHD_queue_response");
	*(void **)&mhd.destroy_response = dlsym(mhd.so, "MHD_destroy_response");
	*(void **)&mhd.lookup_connection_value = dlsym(mhd.so, "MHD_lookup_connection_value");
	if (!mhd.start_daemon || !mhd.stop_daemon || !mhd.create_response_from_buffer ||
	    !mhd.add_response_header || !mhd.queue_response || !mhd.destroy_response ||
	    !mhd.lookup_connection_value) {
		bw_err("%s: a function is missing", MHD_SONAME);
		dlclose(mhd.so);
		mhd.so = NULL;
		return -ENOENT;
	}
	return 0;
}

static void mhd_unload(void)
{
	if (mhd.so)
		dlclose(mhd.so);
	memset(&mhd, 0, sizeof(mhd));
}

struct bw_http {
	struct MHD_Daemon *d;
	int fd;
	pthread_mutex_t lock; /* the published texts */
	char *text, *om;
	size_t len, omlen;
	unsigned long long scrapes;
};

/* "[::1]:9464", "0.0.0.0:9464", ":9464" (every IPv4 address), "9464". */
static int split_spec(const char *spec, char *host, size_t hlen, const char **port)
{
	const char *colon;
	size_t n;

	if (spec[0] == '[') {
		const char *end = strchr(spec, ']');

		if (!end || end[1] != ':')
			return -EINVAL;
		n = (size_t)(end - spec - 1);
		spec++;
		colon = end + 1;
	} else if ((colon = strrchr(spec, ':'))) {
		if (strchr(spec, ':') != colon)
			return -EINVAL; /* an IPv6 address needs its brackets */
		n = (size_t)(colon - spec);
	} else {
		snprintf(host, hlen, "127.0.0.1");
		*port = spec;
		return 0;
	}
	if (n >= hlen)
		return -EINVAL;
	memcpy(host, spec, n);
	host[n] = 0;
	if (!n)
		snprintf(host, hlen, "0.0.0.0");
	*port = colon + 1;
	return 0;
}

static bool valid_port(const char *p)
{
	unsigned long v;
	char *end;

	if (!*p || strspn(p, "0123456789") != strlen(p) || strlen(p) > 5)
		return false;
	v = strtoul(p, &end, 10);
	return v <= 65535;
}

int bw_http_listen(const char *spec, int *fd, char *where, size_t len)
{
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE,
	}, *ai;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[64], shown[INET6_ADDRSTRLEN], serv[8];
	const char *port;
	int one = 1, s, err;

	if (split_spec(spec, host, sizeof(host), &port) || !valid_port(port))
		return -EINVAL;
	if (getaddrinfo(host, port, &hints, &ai))
		return -EINVAL;
	s = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0) {
		err = -errno;
		freeaddrinfo(ai);
		return err;
	}
	/* a restart right after a crash: the old connections' TIME_WAIT must
	 * not keep the port */
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ai->ai_family == AF_INET6)
		setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	err = bind(s, ai->ai_addr, ai->ai_addrlen) || listen(s, MAX_CONNECTIONS) ? -errno : 0;
	freeaddrinfo(ai);
	if (!err && getsockname(s, (struct sockaddr *)&ss, &sl))
		err = -errno;
	if (err) {
		close(s);
		return err;
	}
	getnameinfo((struct sockaddr *)&ss, sl, shown, sizeof(shown), serv, sizeof(serv),
		    NI_NUMERICHOST | NI_NUMERICSERV);
	snprintf(where, len, ss.ss_family == AF_INET6 ? "http://[%s]:%s/metrics" :
		 "http://%s:%s/metrics", shown, serv);
	*fd = s;
	return 0;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned int status, const char *type,
			     const char *body, size_t len)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = mhd.create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	mhd.add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		mhd.add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = mhd.queue_response(c, status, r);
	mhd.destroy_response(r);
	return ret;
}

static enum MHD_Result serve_metrics(struct bw_http *h, struct MHD_Connection *c)
{
	const char *accept = mhd.lookup_connection_value(c, MHD_HEADER_KIND, "Accept");
	bool om = accept && strstr(accept, "application/openmetrics-text");
	enum MHD_Result ret;

	pthread_mutex_lock(&h->lock);
	h->scrapes++;
	if (om && h->om)
		ret = reply(c, MHD_HTTP_OK, BW_OM_CONTENT_TYPE, h->om, h->omlen);
	else if (h->text)
		ret = reply(c, MHD_HTTP_OK, BW_PROM_CONTENT_TYPE, h->text, h->len);
	else
		ret = reply(c, MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain", "starting\n", 9);
	pthread_mutex_unlock(&h->lock);
	return ret;
}

/* Every request is answered at its first call, before any body is read:
 * MHD then discards the body and closes the connection. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size,
				  void **req_cls)
{
	static const char index[] = "<html><body><a href=\"/metrics\">/metrics</a></body></html>\n";
	static const char not_found[] = "not found: blockwatch serves /metrics\n";
	static const char not_allowed[] = "method not allowed\n";

	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	(void)req_cls;
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", not_allowed,
			     sizeof(not_allowed) - 1);
	if (!strcmp(url, "/metrics"))
		return serve_metrics(cls, c);
	if (!strcmp(url, "/"))
		return reply(c, MHD_HTTP_OK, "text/html", index, sizeof(index) - 1);
	return reply(c, MHD_HTTP_NOT_FOUND, "text/plain", not_found, sizeof(not_found) - 1);
}

static void on_log(void *cls, const char *fmt, va_list ap)
{
	char line[256];

	(void)cls;
	vsnprintf(line, sizeof(line), fmt, ap);
	line[strcspn(line, "\n")] = 0;
	bw_dbg("metrics server: %s", line);
}

int bw_http_start(int fd, struct bw_http **out)
{
	struct bw_http *h = calloc(1, sizeof(*h));

	int err = mhd_load();

	if (err || !h) {
		free(h);
		close(fd);
		return err ? err : -ENOMEM;
	}
	pthread_mutex_init(&h->lock, NULL);
	h->fd = fd;
	h->d = mhd.start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG,
				0, NULL, NULL, on_request, h, MHD_OPTION_LISTEN_SOCKET, fd,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned int)MAX_CONNECTIONS,
				MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)MAX_PER_ADDRESS,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)IDLE_TIMEOUT_S,
				MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY,
				MHD_OPTION_EXTERNAL_LOGGER, on_log, NULL, MHD_OPTION_END);
	if (!h->d) {
		err = errno ? -errno : -EIO;
		mhd_unload();
		close(fd);
		pthread_mutex_destroy(&h->lock);
		free(h);
		return err;
	}
	*out = h;
	return 0;
}

void bw_http_publish(struct bw_http *h, char *text, size_t len, char *om, size_t omlen)
{
	char *old, *oldom;

	pthread_mutex_lock(&h->lock);
	old = h->text;
	oldom = h->om;
	h->text = text;
	h->len = len;
	h->om = om;
	h->omlen = omlen;
	pthread_mutex_unlock(&h->lock);
	free(old);
	free(oldom);
}

unsigned long long bw_http_scrapes(struct bw_http *h)
{
	unsigned long long n;

	pthread_mutex_lock(&h->lock);
	n = h->scrapes;
	pthread_mutex_unlock(&h->lock);
	return n;
}

void bw_http_stop(struct bw_http *h)
{
	if (!h)
		return;
	mhd.stop_daemon(h->d);
	close(h->fd); /* MHD does not close a socket it was given */
	pthread_mutex_destroy(&h->lock);
	free(h->text);
	free(h->om);
	free(h);
	mhd_unload();
}
