/* cli/print.c — the one print path: each call either prints text or adds a JSON field (cli/json.h's writer). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "cli/cli.h"
#include "cli/json.h"

/*
 * The JSON document is written as the calls come, into a buffer printed by
 * pr_flush: an error (pr_error) still replaces whatever the command had
 * built. The rules are the ones the json-c tree had: a scalar goes into an
 * object (dropped at the top or in an array), a container in an array takes
 * no key, and a second document at the top is dropped.
 */
#define MAX_DEPTH 32

static struct jw w;
static bool started;          /* w holds a document (begun, or pr_error's) */
static bool in_array[MAX_DEPTH];
static int depth;
static int dropped;           /* depth inside a container that is not written (a second document) */
static bool printed;

static void begin_doc(void)
{
	jw_init(&w, NULL, (opts.pretty ? JW_PRETTY : 0) | JW_LOSSY);
	started = true;
	depth = dropped = 0;
}

static void push(bool array, const char *key)
{
	if (dropped || (depth == 0 && started) || depth == MAX_DEPTH) {
		dropped++;
		return;
	}
	if (depth == 0)
		begin_doc();
	else if (!in_array[depth - 1])
		jw_key(&w, key ? key : "");
	if (array)
		jw_array(&w);
	else
		jw_object(&w);
	in_array[depth++] = array;
}

static void pop(void)
{
	if (dropped) {
		dropped--;
		return;
	}
	if (!depth)
		return;
	if (in_array[--depth])
		jw_array_end(&w);
	else
		jw_object_end(&w);
}

/* A member of the innermost object, if there is one */
static bool member(const char *key)
{
	if (dropped || !depth || in_array[depth - 1])
		return false;
	jw_key(&w, key);
	return true;
}

void pr_begin_list(void)
{
	if (opts.json)
		push(true, NULL);
}

void pr_end_list(void)
{
	if (opts.json)
		pop();
}

void pr_begin_obj(void)
{
	if (opts.json)
		push(false, NULL);
}

void pr_end_obj(void)
{
	if (opts.json)
		pop();
	else
		putchar('\n');
}

void pr_begin_nested(const char *key)
{
	if (opts.json)
		push(false, key);
}

void pr_end_nested(void)
{
	if (opts.json)
		pop();
}

void pr_begin_array(const char *key)
{
	if (opts.json)
		push(true, key);
}

void pr_end_array(void)
{
	if (opts.json)
		pop();
}

void pr_str(const char *key, const char *text_fmt, const char *value)
{
	if (opts.json) {
		if (member(key))
			jw_string(&w, value);
	} else if (text_fmt) {
		printf(text_fmt, value);
	}
}

void pr_u64(const char *key, const char *text_fmt, uint64_t value)
{
	if (opts.json) {
		if (member(key))
			jw_uint(&w, value);
	} else if (text_fmt) {
		printf(text_fmt, (unsigned long long)value);
	}
}

void pr_bool(const char *key, const char *text_if_true, bool value)
{
	if (opts.json) {
		if (member(key))
			jw_bool(&w, value);
	} else if (value && text_if_true) {
		fputs(text_if_true, stdout);
	}
}

void pr_on_off(const char *key, const char *text_fmt, bool value)
{
	if (opts.json) {
		if (member(key))
			jw_bool(&w, value);
	} else if (text_fmt) {
		printf(text_fmt, value ? "on" : "off");
	}
}

void pr_text(const char *fmt, ...)
{
	va_list ap;
	if (opts.json)
		return;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
}

void pr_done(void)
{
	if (opts.json && !started) {
		begin_doc();
		jw_object(&w);
		jw_object_end(&w);
	}
}

void pr_flush(void)
{
	if (started) {
		/* containers a command left open are closed, as the tree printed them */
		dropped = 0;
		while (depth)
			pop();
		if (jw_finish(&w))
			fprintf(stderr, "vpcbpf: cannot print the JSON output: %s\n", jw_error(&w));
		else if (!printed)
			puts(jw_text(&w, NULL));
		jw_free(&w);
	}
	started = false;
	depth = dropped = 0;
	printed = false;
	fflush(stdout);
}

/* The command printed its own JSON document (save): nothing more at exit. */
void pr_printed(void)
{
	printed = true;
}

/* An error replaces whatever the command had built: {"error": "...", "code": exit status} */
void pr_error(const char *msg, int code)
{
	if (!opts.json)
		return;
	if (started)
		jw_free(&w);
	begin_doc();
	jw_object(&w);
	jw_kstring(&w, "error", msg);
	jw_kint(&w, "code", code);
	jw_object_end(&w);
}
