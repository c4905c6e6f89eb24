/* cli/metrics.c — the Prometheus text-format writer, the histogram, and the /metrics + /healthz server on evhttp. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
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

/*
 * Why libevent's evhttp and not a few lines of socket code: the agent's
 * event loop is libevent already (its etcd client, timers and signals), a
 * scraper gets HTTP/1.1 keep-alive, HEAD, timeouts and pipelining right, and
 * Debian ships it with static archives for our -static link.
 */

#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8" /* Prometheus text exposition format */
#define REQUEST_TIMEOUT_S 10
#define MAX_HEADERS_SIZE 8192

struct metrics_out {
	struct evbuffer *buf;
};

struct metrics_server {
	struct evhttp *http;
	char pin_dir[PATH_MAX];
	const struct metrics_hooks *hooks;
	void *ctx;
	char address[64];
	struct metrics_histogram read_seconds; /* how long reading the datapath's maps takes per scrape */
};

const double metrics_duration_bounds[] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
};
const unsigned metrics_duration_nbounds = sizeof(metrics_duration_bounds) / sizeof(metrics_duration_bounds[0]);

/* A scrape of a host with the largest tables walks 262144 NICs: from 100 us up to seconds. */
static const double read_bounds[] = {
	0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};

/* ---- the text format ---- */

static const char *type_name(enum metrics_type t)
{
	switch (t) {
	case METRICS_COUNTER: return "counter";
	case METRICS_GAUGE: return "gauge";
	case METRICS_HISTOGRAM: return "histogram";
	}
	return "untyped";
}

void metrics_family(struct metrics_out *o, const char *name, enum metrics_type type, const char *help)
{
	/* HELP text escapes only \ and newline (a quote is fine there) */
	evbuffer_add_printf(o->buf, "# HELP %s ", name);
	for (const char *c = help; *c; c++) {
		if (*c == '\\')
			evbuffer_add(o->buf, "\\\\", 2);
		else if (*c == '\n')
			evbuffer_add(o->buf, "\\n", 2);
		else
			evbuffer_add(o->buf, c, 1);
	}
	evbuffer_add_printf(o->buf, "\n# TYPE %s %s\n", name, type_name(type));
}

static void add_label_value(struct evbuffer *b, const char *v)
{
	const char *run = v;

	for (const char *c = v;; c++) {
		if (*c && *c != '\\' && *c != '"' && *c != '\n')
			continue;
		evbuffer_add(b, run, (size_t)(c - run));
		if (!*c)
			break;
		evbuffer_add(b, *c == '\\' ? "\\\\" : *c == '"' ? "\\\"" : "\\n", 2);
		run = c + 1;
	}
}

static void add_labels(struct evbuffer *b, va_list ap)
{
	const char *name = va_arg(ap, const char *);
	bool first = true;

	if (!name)
		return;
	for (; name; name = va_arg(ap, const char *)) {
		const char *value = va_arg(ap, const char *);
		evbuffer_add_printf(b, "%s%s=\"", first ? "{" : ",", name);
		add_label_value(b, value ? value : "");
		evbuffer_add(b, "\"", 1);
		first = false;
	}
	evbuffer_add(b, "}", 1);
}

/* Go's float syntax as Prometheus reads it: +Inf, -Inf, NaN, else the shortest %g that reads back. */
static void add_double(struct evbuffer *b, double v)
{
	char s[32];

	if (isnan(v))
		snprintf(s, sizeof(s), "NaN");
	else if (isinf(v))
		snprintf(s, sizeof(s), "%sInf", v > 0 ? "+" : "-");
	else {
		snprintf(s, sizeof(s), "%.15g", v);
		if (strtod(s, NULL) != v)
			snprintf(s, sizeof(s), "%.17g", v);
	}
	evbuffer_add(b, s, strlen(s));
}

void metrics_u64(struct metrics_out *o, const char *name, uint64_t v, ...)
{
	va_list ap;

	evbuffer_add(o->buf, name, strlen(name));
	va_start(ap, v);
	add_labels(o->buf, ap);
	va_end(ap);
	evbuffer_add_printf(o->buf, " %llu\n", (unsigned long long)v);
}

void metrics_double(struct metrics_out *o, const char *name, double v, ...)
{
	va_list ap;

	evbuffer_add(o->buf, name, strlen(name));
	va_start(ap, v);
	add_labels(o->buf, ap);
	va_end(ap);
	evbuffer_add(o->buf, " ", 1);
	add_double(o->buf, v);
	evbuffer_add(o->buf, "\n", 1);
}

/* ---- histogram ---- */

int metrics_histogram_init(struct metrics_histogram *h, const double *bounds, unsigned n)
{
	memset(h, 0, sizeof(*h));
	if (n > METRICS_MAX_BUCKETS)
		return -EINVAL;
	for (unsigned i = 0; i < n; i++)
		if (!isfinite(bounds[i]) || (i && bounds[i] <= bounds[i - 1]))
			return -EINVAL;
	memcpy(h->bounds, bounds, n * sizeof(*bounds));
	h->nbounds = n;
	return 0;
}

void metrics_histogram_observe(struct metrics_histogram *h, double v)
{
	unsigned i = 0;

	if (isnan(v))
		return; /* would poison _sum for good */
	while (i < h->nbounds && v > h->bounds[i]) /* le: a value equal to a bound is in that bucket */
		i++;
	h->counts[i]++;
	h->count++;
	h->sum += v;
}

void metrics_histogram_write(struct metrics_out *o, const char *name, const char *help,
			     const struct metrics_histogram *h)
{
	char bucket[128], le[32];
	uint64_t cumulative = 0;

	metrics_family(o, name, METRICS_HISTOGRAM, help);
	snprintf(bucket, sizeof(bucket), "%s_bucket", name);
	for (unsigned i = 0; i <= h->nbounds; i++) {
		cumulative += h->counts[i];
		if (i < h->nbounds)
			snprintf(le, sizeof(le), "%.15g", h->bounds[i]);
		else
			snprintf(le, sizeof(le), "+Inf");
		metrics_u64(o, bucket, cumulative, "le", le, NULL);
	}
	snprintf(bucket, sizeof(bucket), "%s_sum", name);
	metrics_double(o, bucket, h->sum, NULL);
	snprintf(bucket, sizeof(bucket), "%s_count", name);
	metrics_u64(o, bucket, h->count, NULL);
}

/* ---- the server ---- */

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

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
	t0 = now_seconds();
	metrics_write_datapath(&o, m->pin_dir);
	metrics_histogram_observe(&m->read_seconds, now_seconds() - t0);
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
