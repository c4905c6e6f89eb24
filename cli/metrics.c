/* cli/metrics.c — the Prometheus text-format writer and the histogram (the server is cli/metrics_server.c). */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>
#include "cli/metrics.h"

const double metrics_duration_bounds[] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
};
const unsigned metrics_duration_nbounds = sizeof(metrics_duration_bounds) / sizeof(metrics_duration_bounds[0]);

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
