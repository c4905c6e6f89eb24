/* cli/metrics_server.c — the /metrics + /healthz server on evhttp: the datapath's families, then the caller's. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include "cli/cli.h"
#include "cli/metrics.h"
#include "cli/metrics_datapath.h"
#include "cli/metrics_server.h"
#include "maps/clock.h"

/*
 * Why libevent's evhttp and not a few lines of socket code: the agent's
 * event loop is libevent already (its etcd client, timers and signals), a
 * scraper gets HTTP/1.1 keep-alive, HEAD, timeouts and pipelining right, and
 * Debian ships it with static archives for our -static link.
 */

#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8" /* Prometheus text exposition format */
#define REQUEST_TIMEOUT_S 10
#define MAX_HEADERS_SIZE 8192

struct metrics_server {
	struct evhttp *http;
	char pin_dir[PATH_MAX];
	const struct metrics_hooks *hooks;
	void *ctx;
	char address[64];
	struct metrics_histogram read_seconds; /* how long reading the datapath's maps takes per scrape */
};

/* A scrape of a host with the largest tables walks 262144 NICs: from 100 us up to seconds. */
static const double read_bounds[] = {
	0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};

static void reply(struct evhttp_request *req, int code, const char *reason, struct evbuffer *body,
		  const char *content_type)
{
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", content_type);
	evhttp_send_reply(req, code, reason, body);
}

/* evhttp answers a method it was not allowed with 501; a method we know but do not serve is a 405. */
static bool get_or_head(struct evhttp_request *req)
{
	enum evhttp_cmd_type t = evhttp_request_get_command(req);

	if (t == EVHTTP_REQ_GET || t == EVHTTP_REQ_HEAD)
		return true;
	evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD");
	evhttp_send_error(req, 405, "Method Not Allowed");
	return false;
}

static void on_metrics(struct evhttp_request *req, void *arg)
{
	struct metrics_server *m = arg;
	struct metrics_out o;
	double t0;

	if (!get_or_head(req))
		return;
	if (!(o.buf = evbuffer_new())) {
		evhttp_send_error(req, HTTP_INTERNAL, "out of memory");
		return;
	}
	metrics_family(&o, "vpcbpf_build_info", METRICS_GAUGE, "Always 1; the version of vpcbpf serving these metrics");
	metrics_u64(&o, "vpcbpf_build_info", 1, "version", VPCBPF_VERSION, NULL);
	t0 = clock_ms();
	metrics_write_datapath(&o, m->pin_dir);
	metrics_histogram_observe(&m->read_seconds, (clock_ms() - t0) / 1e3);
	metrics_histogram_write(&o, "vpcbpf_metrics_read_duration_seconds",
				"Time to read the datapath's maps for one scrape", &m->read_seconds);
	if (m->hooks && m->hooks->write)
		m->hooks->write(&o, m->ctx);
	reply(req, HTTP_OK, "OK", o.buf, CONTENT_TYPE);
	evbuffer_free(o.buf);
}

static void on_healthz(struct evhttp_request *req, void *arg)
{
	struct metrics_server *m = arg;
	struct evbuffer *b;
	const char *why = NULL;
	bool ok;

	if (!get_or_head(req))
		return;
	if (!(b = evbuffer_new())) {
		evhttp_send_error(req, HTTP_INTERNAL, "out of memory");
		return;
	}
	if (!metrics_datapath_up(m->pin_dir)) {
		ok = false;
		why = "the datapath is not loaded";
	} else if (m->hooks && m->hooks->synced) {
		ok = m->hooks->synced(m->ctx, &why);
		if (!ok && !why)
			why = "not synced yet";
	} else {
		ok = true;
	}
	evbuffer_add_printf(b, "%s\n", ok ? "ok" : why);
	reply(req, ok ? HTTP_OK : HTTP_SERVUNAVAIL, ok ? "OK" : "Service Unavailable", b, "text/plain; charset=utf-8");
	evbuffer_free(b);
}

static void on_other(struct evhttp_request *req, void *arg)
{
	struct evbuffer *b = evbuffer_new();

	if (!b) {
		evhttp_send_error(req, HTTP_NOTFOUND, NULL);
		return;
	}
	evbuffer_add_printf(b, "vpcbpf serves /metrics (Prometheus text format) and /healthz\n");
	reply(req, HTTP_NOTFOUND, "Not Found", b, "text/plain; charset=utf-8");
	evbuffer_free(b);
}

/* "[ADDR:]PORT" -> a socket address; 0, or 1 after one error line naming the bad part. */
static int parse_addr_port(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[64] = "";
	const char *port = s, *colon;
	unsigned long p;
	char *end;

	memset(ss, 0, sizeof(*ss));
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (!close || close[1] != ':' || (size_t)(close - s - 1) >= sizeof(host))
			return fail("metrics: bad address \"%s\" (want [IPV6]:PORT)", s);
		memcpy(host, s + 1, (size_t)(close - s - 1));
		port = close + 2;
	} else if ((colon = strrchr(s, ':'))) {
		if (strchr(s, ':') != colon)
			return fail("metrics: bad address \"%s\" (an IPv6 address goes in brackets: [ADDR]:PORT)", s);
		if ((size_t)(colon - s) >= sizeof(host))
			return fail("metrics: bad address \"%s\"", s);
		memcpy(host, s, (size_t)(colon - s));
		port = colon + 1;
	}
	errno = 0;
	p = strtoul(port, &end, 10);
	if (!*port || *end || port[0] < '0' || port[0] > '9' || errno || p > 65535)
		return fail("metrics: bad port \"%s\" in \"%s\" (want 0-65535; 0 picks a free one)", port, s);
	if (s[0] == '[') {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
		if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
			return fail("metrics: bad IPv6 address \"%s\" in \"%s\"", host, s);
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)p);
		*len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;
		/* no address: every address, as exporters do (Prometheus scrapes the node's address) */
		if (host[0] && inet_pton(AF_INET, host, &a->sin_addr) != 1)
			return fail("metrics: bad IPv4 address \"%s\" in \"%s\" (want a numeric address)", host, s);
		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)p);
		*len = sizeof(*a);
	}
	return 0;
}

static void format_address(const struct sockaddr_storage *ss, char *out, size_t n)
{
	char a[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
		inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
		snprintf(out, n, "[%s]:%u", a, ntohs(s6->sin6_port));
	} else {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
		snprintf(out, n, "%s:%u", a, ntohs(s4->sin_port));
	}
}

/* Our own socket, not evhttp_bind_socket: it resolves with getaddrinfo (NSS, absent in a static binary)
 * and its errors do not say why. */
static int listen_socket(const char *addr_port, char *bound, size_t bound_len)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1;

	if (parse_addr_port(addr_port, &ss, &len))
		return -1;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fail_errno(errno, "metrics: cannot open a socket for %s", addr_port);
		return -1;
	}
	/* a restarted agent must get its port back while old connections sit in TIME_WAIT */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 64)) {
		int err = errno;
		close(fd);
		fail_errno(err, "metrics: cannot listen on %s", addr_port);
		return -1;
	}
	len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
		format_address(&ss, bound, bound_len);
	else
		snprintf(bound, bound_len, "%s", addr_port);
	return fd;
}

struct metrics_server *metrics_start(struct event_base *base, const char *addr_port, const char *pin_dir,
				     const struct metrics_hooks *hooks, void *ctx)
{
	struct metrics_server *m = calloc(1, sizeof(*m));
	int fd;

	if (!m) {
		fail("metrics: out of memory");
		return NULL;
	}
	snprintf(m->pin_dir, sizeof(m->pin_dir), "%s", pin_dir);
	m->hooks = hooks;
	m->ctx = ctx;
	metrics_histogram_init(&m->read_seconds, read_bounds, sizeof(read_bounds) / sizeof(read_bounds[0]));
	if ((fd = listen_socket(addr_port, m->address, sizeof(m->address))) < 0) {
		free(m);
		return NULL;
	}
	if (!(m->http = evhttp_new(base)) || !evhttp_accept_socket_with_handle(m->http, fd)) {
		if (m->http)
			evhttp_free(m->http);
		close(fd);
		free(m);
		fail("metrics: cannot start the HTTP server on %s", addr_port);
		return NULL;
	}
	signal(SIGPIPE, SIG_IGN);
	evhttp_set_allowed_methods(m->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
					    EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
	evhttp_set_timeout(m->http, REQUEST_TIMEOUT_S);
	evhttp_set_max_headers_size(m->http, MAX_HEADERS_SIZE);
	evhttp_set_max_body_size(m->http, 1024); /* GET and HEAD carry none */
	evhttp_set_cb(m->http, "/metrics", on_metrics, m);
	evhttp_set_cb(m->http, "/healthz", on_healthz, m);
	evhttp_set_gencb(m->http, on_other, m);
	return m;
}

void metrics_stop(struct metrics_server *m)
{
	if (!m)
		return;
	evhttp_free(m->http); /* closes the listening socket and every connection */
	free(m);
}

const char *metrics_address(const struct metrics_server *m)
{
	return m->address;
}
