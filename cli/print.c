/* cli/print.c — the one print path: each call either prints text or adds a JSON field (json-c). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <json-c/json.h>
#include "cli/cli.h"

#define MAX_DEPTH 8

static json_object *stack[MAX_DEPTH];
static int depth;
static json_object *root;
static bool printed;

static void push(json_object *o, const char *key)
{
	if (depth == 0) {
		if (!root)
			root = o;
	} else if (json_object_is_type(stack[depth - 1], json_type_array)) {
		json_object_array_add(stack[depth - 1], o);
	} else {
		json_object_object_add(stack[depth - 1], key ? key : "", o);
	}
	if (depth < MAX_DEPTH)
		stack[depth++] = o;
}

static void add(const char *key, json_object *v)
{
	if (depth && json_object_is_type(stack[depth - 1], json_type_object))
		json_object_object_add(stack[depth - 1], key, v);
	else
		json_object_put(v);
}

void pr_begin_list(void)
{
	if (opts.json)
		push(json_object_new_array(), NULL);
}

void pr_end_list(void)
{
	if (opts.json && depth)
		depth--;
}

void pr_begin_obj(void)
{
	if (opts.json)
		push(json_object_new_object(), NULL);
}

void pr_end_obj(void)
{
	if (opts.json) {
		if (depth)
			depth--;
	} else {
		putchar('\n');
	}
}

void pr_begin_nested(const char *key)
{
	if (opts.json)
		push(json_object_new_object(), key);
}

void pr_end_nested(void)
{
	if (opts.json && depth)
		depth--;
}

void pr_begin_array(const char *key)
{
	if (opts.json)
		push(json_object_new_array(), key);
}

void pr_end_array(void)
{
	if (opts.json && depth)
		depth--;
}

void pr_str(const char *key, const char *text_fmt, const char *value)
{
	if (opts.json)
		add(key, json_object_new_string(value));
	else if (text_fmt)
		printf(text_fmt, value);
}

void pr_u64(const char *key, const char *text_fmt, uint64_t value)
{
	if (opts.json)
		add(key, json_object_new_uint64(value));
	else if (text_fmt)
		printf(text_fmt, (unsigned long long)value);
}

void pr_bool(const char *key, const char *text_if_true, bool value)
{
	if (opts.json)
		add(key, json_object_new_boolean(value));
	else if (value && text_if_true)
		fputs(text_if_true, stdout);
}

void pr_on_off(const char *key, const char *text_fmt, bool value)
{
	if (opts.json)
		add(key, json_object_new_boolean(value));
	else if (text_fmt)
		printf(text_fmt, value ? "on" : "off");
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
	if (opts.json && !root) {
		root = json_object_new_object();
	}
}

void pr_flush(void)
{
	if (opts.json && root && !printed) {
		int flags = opts.pretty ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED : JSON_C_TO_STRING_PLAIN;
		puts(json_object_to_json_string_ext(root, flags | JSON_C_TO_STRING_NOSLASHESCAPE));
	}
	if (root)
		json_object_put(root);
	root = NULL;
	depth = 0;
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
	if (root)
		json_object_put(root);
	root = json_object_new_object();
	depth = 0;
	json_object_object_add(root, "error", json_object_new_string(msg));
	json_object_object_add(root, "code", json_object_new_int(code));
}
