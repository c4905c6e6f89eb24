/* cli/json.c — the project's one JSON layer on yajl: the writer around yajl_gen, the small-document reader, the getters. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_parse.h>
#include "cli/json.h"

#define JSON_MAX_DEPTH 64 /* small documents: netconf, prevResult, etcd answers nest a few levels */

/* ---------------------------------------------------------------- writer */

static void fail_w(struct jw *w, const char *why)
{
	if (!w->err)
		w->err = why;
}

static void put(struct jw *w, const char *s, size_t n)
{
	if (w->err || !n)
		return;
	w->wrote = true;
	if (w->out) {
		if (fwrite(s, 1, n, w->out) != n)
			fail_w(w, "cannot write the output");
		return;
	}
	if (w->len + n + 1 > w->cap) {
		size_t cap = w->cap ? w->cap : 4096;
		while (cap < w->len + n + 1)
			cap *= 2;
		char *b = realloc(w->buf, cap);
		if (!b) {
			fail_w(w, "out of memory");
			return;
		}
		w->buf = b;
		w->cap = cap;
	}
	memcpy(w->buf + w->len, s, n);
	w->len += n;
	w->buf[w->len] = '\0';
}

static bool all_space(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\n')
			return false;
	return true;
}

/*
 * yajl's print callback. Two differences from json-c's bytes are undone
 * here: yajl writes a control character as \u00XX in upper case (json-c:
 * lower case; yajl prints each escape as its own chunk, and a string's own
 * text never starts a chunk with a backslash, which it escapes), and when
 * beautifying it puts two line breaks inside an empty object or array and
 * one after the document (json-c: one, and none). So in pretty mode white
 * space waits until the next chunk shows whether it belongs.
 */
static void on_print(void *ctx, const char *s, size_t n)
{
	struct jw *w = ctx;
	char esc[6];

	if (n == 6 && !memcmp(s, "\\u00", 4)) {
		memcpy(esc, s, 6);
		for (int i = 4; i < 6; i++)
			if (esc[i] >= 'A' && esc[i] <= 'F')
				esc[i] = (char)(esc[i] - 'A' + 'a');
		s = esc;
	}
	if (!(w->flags & JW_PRETTY)) {
		put(w, s, n);
		return;
	}
	if (all_space(s, n)) {
		if (w->npend + n <= sizeof(w->pend)) {
			memcpy(w->pend + w->npend, s, n);
			w->npend += n;
		} else {
			w->pend_lost = true;
		}
		return;
	}
	if (w->npend || w->pend_lost) {
		/* an empty container: yajl's "{\n\n  }" is json-c's "{\n  }" */
		size_t skip = w->after_open && n == 1 && (*s == '}' || *s == ']') && w->pend[0] == '\n';
		if (w->pend_lost)
			fail_w(w, "nested too deep");
		put(w, w->pend + skip, w->npend - skip);
		w->npend = 0;
		w->pend_lost = false;
	}
	put(w, s, n);
	w->after_open = n == 1 && (*s == '{' || *s == '[');
}

int jw_init(struct jw *w, FILE *out, unsigned flags)
{
	memset(w, 0, sizeof(*w));
	w->out = out;
	w->flags = flags;
	w->g = yajl_gen_alloc(NULL);
	if (!w->g) {
		w->err = "out of memory";
		return -1;
	}
	yajl_gen_config(w->g, yajl_gen_print_callback, on_print, w);
	yajl_gen_config(w->g, yajl_gen_validate_utf8, 1);
	yajl_gen_config(w->g, yajl_gen_escape_solidus, 0); /* json-c with NOSLASHESCAPE: "10.0.0.0/8" stays readable */
	if (flags & JW_PRETTY) {
		yajl_gen_config(w->g, yajl_gen_beautify, 1);
		yajl_gen_config(w->g, yajl_gen_indent_string, "  ");
	}
	return 0;
}

void jw_free(struct jw *w)
{
	if (w->g)
		yajl_gen_free(w->g);
	free(w->buf);
	memset(w, 0, sizeof(*w));
}

static void check(struct jw *w, yajl_gen_status st)
{
	switch (st) {
	case yajl_gen_status_ok:
		return;
	case yajl_gen_keys_must_be_strings:
		fail_w(w, "an object member has no key");
		return;
	case yajl_max_depth_exceeded:
		fail_w(w, "nested too deep");
		return;
	case yajl_gen_generation_complete:
		fail_w(w, "a value after the document's end");
		return;
	case yajl_gen_invalid_number:
		fail_w(w, "a number that is not finite");
		return;
	case yajl_gen_invalid_string:
		fail_w(w, "a string is not UTF-8");
		return;
	default:
		fail_w(w, "yajl_gen failed");
	}
}

/* yajl_gen stays in its error state after a failure: nothing more is tried. */
#define GEN(w, call)                         \
	do {                                 \
		if (!(w)->err && (w)->g)     \
			check((w), (call));  \
	} while (0)

void jw_object(struct jw *w)
{
	GEN(w, yajl_gen_map_open(w->g));
	w->depth++;
}

void jw_object_end(struct jw *w)
{
	if (!w->depth)
		fail_w(w, "a close without an open");
	GEN(w, yajl_gen_map_close(w->g));
	if (w->depth)
		w->depth--;
}

void jw_array(struct jw *w)
{
	GEN(w, yajl_gen_array_open(w->g));
	w->depth++;
}

void jw_array_end(struct jw *w)
{
	if (!w->depth)
		fail_w(w, "a close without an open");
	GEN(w, yajl_gen_array_close(w->g));
	if (w->depth)
		w->depth--;
}

size_t json_utf8_char(const unsigned char *s, size_t len)
{
	unsigned char c = s[0];
	size_t n = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;

	if (!n || len < n)
		return 0;
	for (size_t k = 1; k < n; k++)
		if ((s[k] & 0xc0) != 0x80)
			return 0;
	if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f) || /* overlong, surrogates */
	    (c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] > 0x8f))    /* overlong, > U+10FFFF */
		return 0;
	return n;
}

/* RFC 3629 UTF-8, which yajl_gen_validate_utf8 does not check (it checks only the form). */
static bool utf8_ok(const unsigned char *s, size_t len)
{
	for (size_t i = 0, n; i < len; i += n)
		if (!(n = json_utf8_char(s + i, len - i)))
			return false;
	return true;
}

/* s with each byte that is not part of a UTF-8 character replaced by U+FFFD (malloc'ed). */
static char *utf8_fixed(const char *s, size_t len, size_t *out_len)
{
	char *d = malloc(3 * len + 1);
	size_t o = 0;

	if (!d)
		return NULL;
	for (size_t i = 0; i < len;) {
		size_t n = json_utf8_char((const unsigned char *)s + i, len - i);
		if (!n) {
			memcpy(d + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
			continue;
		}
		memcpy(d + o, s + i, n);
		o += n;
		i += n;
	}
	d[o] = '\0';
	*out_len = o;
	return d;
}

void jw_string_len(struct jw *w, const char *s, size_t len)
{
	if (!utf8_ok((const unsigned char *)s, len)) {
		if (!(w->flags & JW_LOSSY)) {
			fail_w(w, "a string is not UTF-8");
			return;
		}
		size_t n;
		char *fixed = utf8_fixed(s, len, &n);
		if (!fixed) {
			fail_w(w, "out of memory");
			return;
		}
		GEN(w, yajl_gen_string(w->g, (const unsigned char *)fixed, n));
		free(fixed);
		return;
	}
	GEN(w, yajl_gen_string(w->g, (const unsigned char *)s, len));
}

void jw_key(struct jw *w, const char *key)
{
	if (!key)
		fail_w(w, "an object member has no key");
	else
		jw_string_len(w, key, strlen(key));
}

void jw_string(struct jw *w, const char *s)
{
	if (s)
		jw_string_len(w, s, strlen(s));
	else
		jw_null(w);
}

static void number(struct jw *w, const char *text)
{
	GEN(w, yajl_gen_number(w->g, text, strlen(text)));
}

void jw_int(struct jw *w, int64_t v)
{
	char t[24];
	snprintf(t, sizeof(t), "%" PRId64, v);
	number(w, t);
}

void jw_uint(struct jw *w, uint64_t v)
{
	char t[24];
	snprintf(t, sizeof(t), "%" PRIu64, v);
	number(w, t);
}

void jw_bool(struct jw *w, bool v)
{
	GEN(w, yajl_gen_bool(w->g, v));
}

void jw_null(struct jw *w)
{
	GEN(w, yajl_gen_null(w->g));
}

void jw_double(struct jw *w, double v)
{
	char t[40];

	if (!isfinite(v)) {
		fail_w(w, "a number that is not finite");
		return;
	}
	snprintf(t, sizeof(t), "%.17g", v);
	if (!strpbrk(t, ".eE"))
		strcat(t, ".0");
	number(w, t);
}

void jw_value(struct jw *w, yajl_val v)
{
	if (!v) {
		jw_null(w);
		return;
	}
	switch (v->type) {
	case yajl_t_string:
		jw_string(w, v->u.string);
		break;
	case yajl_t_number:
		number(w, v->u.number.r);
		break;
	case yajl_t_object:
		jw_object(w);
		for (size_t i = 0; i < v->u.object.len && !w->err; i++) {
			jw_key(w, v->u.object.keys[i]);
			jw_value(w, v->u.object.values[i]);
		}
		jw_object_end(w);
		break;
	case yajl_t_array:
		jw_array(w);
		for (size_t i = 0; i < v->u.array.len && !w->err; i++)
			jw_value(w, v->u.array.values[i]);
		jw_array_end(w);
		break;
	case yajl_t_true:
		jw_bool(w, true);
		break;
	case yajl_t_false:
		jw_bool(w, false);
		break;
	default:
		jw_null(w);
	}
}

void jw_kobject(struct jw *w, const char *key)
{
	jw_key(w, key);
	jw_object(w);
}

void jw_karray(struct jw *w, const char *key)
{
	jw_key(w, key);
	jw_array(w);
}

void jw_kstring(struct jw *w, const char *key, const char *s)
{
	jw_key(w, key);
	jw_string(w, s);
}

void jw_kint(struct jw *w, const char *key, int64_t v)
{
	jw_key(w, key);
	jw_int(w, v);
}

void jw_kuint(struct jw *w, const char *key, uint64_t v)
{
	jw_key(w, key);
	jw_uint(w, v);
}

void jw_kbool(struct jw *w, const char *key, bool v)
{
	jw_key(w, key);
	jw_bool(w, v);
}

void jw_knull(struct jw *w, const char *key)
{
	jw_key(w, key);
	jw_null(w);
}

void jw_kvalue(struct jw *w, const char *key, yajl_val v)
{
	jw_key(w, key);
	jw_value(w, v);
}

void jw_fail(struct jw *w, const char *why)
{
	fail_w(w, why);
}

int jw_finish(struct jw *w)
{
	if (!w->err && w->depth)
		fail_w(w, "the document is not closed");
	/* the held white space is the line break yajl adds after the document: dropped */
	w->npend = 0;
	if (!w->err && w->out && fflush(w->out))
		fail_w(w, "cannot write the output");
	if (!w->err && !w->wrote)
		fail_w(w, "nothing was written");
	return w->err ? -1 : 0;
}

const char *jw_error(const struct jw *w)
{
	return w->err;
}

const char *jw_text(const struct jw *w, size_t *len)
{
	if (len)
		*len = w->len;
	return w->buf ? w->buf : "";
}

char *jw_take(struct jw *w, size_t *len)
{
	char *b = w->err ? NULL : w->buf;

	if (len)
		*len = b ? w->len : 0;
	if (b)
		w->buf = NULL;
	w->len = w->cap = 0;
	return b;
}

char *json_dump(yajl_val v, unsigned flags)
{
	struct jw w;
	char *s = NULL;

	if (jw_init(&w, NULL, flags))
		return NULL;
	jw_value(&w, v);
	if (!jw_finish(&w))
		s = jw_take(&w, NULL);
	jw_free(&w);
	return s;
}

/* ---------------------------------------------------------------- reader */

/* An object or array still open: its value, and its members so far. */
struct frame {
	yajl_val v;
	size_t cap;
	char *key; /* this container's own name in its parent (the parent's pending key) */
};

struct tree {
	yajl_handle h;
	struct frame open[JSON_MAX_DEPTH];
	int depth;
	char *key; /* the name yajl just gave, for the next value */
	yajl_val root;
	bool done;
	bool finishing; /* in yajl_complete_parse: its byte counts are not into the text */
	size_t len;
	size_t root_end;
	const char *why; /* our own refusal (depth, memory), else yajl's */
};

static yajl_val new_val(yajl_type t)
{
	yajl_val v = calloc(1, sizeof(*v));
	if (v)
		v->type = t;
	return v;
}

/* A finished value goes into the innermost open container, or is the document. */
static int attach(struct tree *t, yajl_val v)
{
	if (!v) {
		t->why = "out of memory";
		return 0;
	}
	if (!t->depth) {
		t->root = v;
		t->done = true;
		t->root_end = t->finishing ? t->len : yajl_get_bytes_consumed(t->h);
		return 1;
	}
	struct frame *f = &t->open[t->depth - 1];
	yajl_val c = f->v;
	size_t n = c->type == yajl_t_object ? c->u.object.len : c->u.array.len;
	if (n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 8;
		if (c->type == yajl_t_object) {
			const char **k = realloc(c->u.object.keys, cap * sizeof(*k));
			if (k)
				c->u.object.keys = k;
			yajl_val *vs = k ? realloc(c->u.object.values, cap * sizeof(*vs)) : NULL;
			if (vs)
				c->u.object.values = vs;
			if (!k || !vs)
				goto oom;
		} else {
			yajl_val *vs = realloc(c->u.array.values, cap * sizeof(*vs));
			if (!vs)
				goto oom;
			c->u.array.values = vs;
		}
		f->cap = cap;
	}
	if (c->type == yajl_t_object) {
		c->u.object.keys[n] = t->key;
		c->u.object.values[n] = v;
		c->u.object.len++;
		t->key = NULL;
	} else {
		c->u.array.values[n] = v;
		c->u.array.len++;
	}
	return 1;
oom:
	json_free(v);
	t->why = "out of memory";
	return 0;
}

static int on_null(void *ctx)
{
	return attach(ctx, new_val(yajl_t_null));
}

static int on_boolean(void *ctx, int b)
{
	return attach(ctx, new_val(b ? yajl_t_true : yajl_t_false));
}

/* An integer's text (no fraction, no exponent) in int64's range: yajl's own parse refuses INT64_MIN. */
static bool text_int64(const char *r, int64_t *out)
{
	char *end;
	if (strpbrk(r, ".eE"))
		return false;
	errno = 0;
	long long x = strtoll(r, &end, 10);
	if (errno || *end || end == r)
		return false;
	*out = x;
	return true;
}

static bool text_uint64(const char *r, uint64_t *out)
{
	char *end;
	if (*r == '-' || strpbrk(r, ".eE"))
		return false;
	errno = 0;
	unsigned long long x = strtoull(r, &end, 10);
	if (errno || *end || end == r)
		return false;
	*out = x;
	return true;
}

static int on_number(void *ctx, const char *s, size_t len)
{
	yajl_val v = new_val(yajl_t_number);
	char *end;

	if (!v || !(v->u.number.r = malloc(len + 1))) {
		free(v);
		return attach(ctx, NULL);
	}
	memcpy(v->u.number.r, s, len);
	v->u.number.r[len] = '\0';
	int64_t i;
	if (text_int64(v->u.number.r, &i)) {
		v->u.number.i = i;
		v->u.number.flags |= YAJL_NUMBER_INT_VALID;
	}
	errno = 0;
	v->u.number.d = strtod(v->u.number.r, &end);
	if (!errno && !*end)
		v->u.number.flags |= YAJL_NUMBER_DOUBLE_VALID;
	return attach(ctx, v);
}

const char *json_string_refusal(const unsigned char *s, size_t len)
{
	if (memchr(s, 0, len))
		return "a string holds a NUL character";
	if (!utf8_ok(s, len))
		return "a string is not UTF-8 (RFC 3629)";
	return NULL;
}

static int string_ok(struct tree *t, const unsigned char *s, size_t len)
{
	return !(t->why = json_string_refusal(s, len));
}

static int on_string(void *ctx, const unsigned char *s, size_t len)
{
	if (!string_ok(ctx, s, len))
		return 0;
	yajl_val v = new_val(yajl_t_string);

	if (v && !(v->u.string = strndup((const char *)s, len))) {
		free(v);
		v = NULL;
	}
	return attach(ctx, v);
}

static int on_key(void *ctx, const unsigned char *s, size_t len)
{
	struct tree *t = ctx;

	if (!string_ok(t, s, len))
		return 0;
	free(t->key);
	if (!(t->key = strndup((const char *)s, len))) {
		t->why = "out of memory";
		return 0;
	}
	return 1;
}

static int open_container(struct tree *t, yajl_type type)
{
	if (t->depth == JSON_MAX_DEPTH) {
		t->why = "nested too deep";
		return 0;
	}
	yajl_val v = new_val(type);
	if (!v) {
		t->why = "out of memory";
		return 0;
	}
	t->open[t->depth++] = (struct frame){ .v = v, .key = t->key };
	t->key = NULL;
	return 1;
}

static int close_container(void *ctx)
{
	struct tree *t = ctx;
	struct frame *f = &t->open[--t->depth];

	t->key = f->key; /* its name in the parent */
	return attach(t, f->v);
}

static int on_start_map(void *ctx)
{
	return open_container(ctx, yajl_t_object);
}

static int on_start_array(void *ctx)
{
	return open_container(ctx, yajl_t_array);
}

static const yajl_callbacks tree_callbacks = {
	.yajl_null = on_null,
	.yajl_boolean = on_boolean,
	.yajl_number = on_number, /* the raw text: int64, uint64 and doubles are the reader's choice */
	.yajl_string = on_string,
	.yajl_start_map = on_start_map,
	.yajl_map_key = on_key,
	.yajl_end_map = close_container,
	.yajl_start_array = on_start_array,
	.yajl_end_array = close_container,
};

static void where(const char *text, size_t off, int *line, int *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off; i++) {
		if (text[i] == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

static void say(char *err, size_t errlen, const char *text, size_t off, const char *msg)
{
	int line, col;

	if (!err || !errlen)
		return;
	where(text, off, &line, &col);
	snprintf(err, errlen, "%d:%d: %s", line, col, msg);
}

/* yajl's own words for its refusal, on one line */
static void say_yajl(char *err, size_t errlen, yajl_handle h, const char *text, size_t len, size_t off)
{
	unsigned char *m = yajl_get_error(h, 0, (const unsigned char *)text, len);
	char msg[160];

	snprintf(msg, sizeof(msg), "%s", m ? (const char *)m : "invalid JSON");
	if (m)
		yajl_free_error(h, m);
	size_t n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' ' || msg[n - 1] == '.'))
		msg[--n] = '\0';
	say(err, errlen, text, off, msg);
}

yajl_val json_parse(const char *text, size_t len, char *err, size_t errlen)
{
	struct tree t;
	const char *early = "the JSON ends too early (unclosed object, array or string)";

	memset(&t, 0, sizeof(t));
	if (err && errlen)
		err[0] = '\0';
	size_t first = 0;
	while (first < len && (text[first] == ' ' || text[first] == '\n' || text[first] == '\t' || text[first] == '\r'))
		first++;
	if (first == len) {
		say(err, errlen, text, len, "the document is empty");
		return NULL;
	}
	t.h = yajl_alloc(&tree_callbacks, NULL, &t);
	if (!t.h) {
		say(err, errlen, text, 0, "out of memory");
		return NULL;
	}
	/* RFC 8259 and nothing else (yajl_tree_parse would allow comments) */
	yajl_config(t.h, yajl_allow_comments, 0);
	yajl_config(t.h, yajl_dont_validate_strings, 0);
	yajl_config(t.h, yajl_allow_trailing_garbage, 0);
	yajl_config(t.h, yajl_allow_multiple_values, 0);
	yajl_config(t.h, yajl_allow_partial_values, 0);
	/* yajl takes \v and \f for white space, JSON nowhere: yajl reads up to the first (as cli/jdoc.c) */
	const char *ff = memchr(text, '\f', len), *vt = memchr(text, '\v', ff ? (size_t)(ff - text) : len);
	size_t upto = vt ? (size_t)(vt - text) : ff ? (size_t)(ff - text) : len;
	bool ok = false;

	if (yajl_parse(t.h, (const unsigned char *)text, upto) != yajl_status_ok) {
		size_t used = yajl_get_bytes_consumed(t.h); /* just past the byte or token refused */
		if (t.why)
			say(err, errlen, text, used ? used - 1 : 0, t.why);
		else
			say_yajl(err, errlen, t.h, text, upto, used ? used - 1 : 0);
	} else if (upto < len) {
		say(err, errlen, text, upto, "lexical error: invalid char in json text");
	} else if ((t.finishing = true, t.len = len, yajl_complete_parse(t.h) != yajl_status_ok) && !t.done) {
		say(err, errlen, text, len, t.why ? t.why : early);
	} else if (!t.done) {
		say(err, errlen, text, len, early);
	} else {
		/* an unfinished token after the value ("{} tru") passes yajl's last call */
		size_t i = t.root_end;
		while (i < len && (text[i] == ' ' || text[i] == '\n' || text[i] == '\r' || text[i] == '\t'))
			i++;
		if (i < len)
			say(err, errlen, text, i, "unexpected text after the JSON document");
		else
			ok = true;
	}
	yajl_free(t.h);
	if (ok)
		return t.root;
	/* what was built of a refused document */
	free(t.key);
	while (t.depth) {
		struct frame *f = &t.open[--t.depth];
		free(f->key);
		json_free(f->v);
	}
	if (!t.done)
		return NULL;
	json_free(t.root);
	return NULL;
}

void json_free(yajl_val v)
{
	if (!v)
		return;
	switch (v->type) {
	case yajl_t_string:
		free(v->u.string);
		break;
	case yajl_t_number:
		free(v->u.number.r);
		break;
	case yajl_t_object:
		for (size_t i = 0; i < v->u.object.len; i++) {
			free((char *)v->u.object.keys[i]);
			json_free(v->u.object.values[i]);
		}
		free(v->u.object.keys);
		free(v->u.object.values);
		break;
	case yajl_t_array:
		for (size_t i = 0; i < v->u.array.len; i++)
			json_free(v->u.array.values[i]);
		free(v->u.array.values);
		break;
	default:
		break;
	}
	free(v);
}

/* ---------------------------------------------------------------- getters */

yajl_val json_get(yajl_val obj, const char *key)
{
	if (!obj || obj->type != yajl_t_object || !key)
		return NULL;
	/* the last of equal keys wins, as in json-c */
	for (size_t i = obj->u.object.len; i-- > 0;)
		if (!strcmp(obj->u.object.keys[i], key))
			return obj->u.object.values[i];
	return NULL;
}

const char *json_get_string(yajl_val obj, const char *key)
{
	return json_string(json_get(obj, key));
}

yajl_val json_get_object(yajl_val obj, const char *key)
{
	yajl_val v = json_get(obj, key);
	return v && v->type == yajl_t_object ? v : NULL;
}

yajl_val json_get_array(yajl_val obj, const char *key)
{
	yajl_val v = json_get(obj, key);
	return v && v->type == yajl_t_array ? v : NULL;
}

int json_get_int(yajl_val obj, const char *key, int64_t *out)
{
	return json_int(json_get(obj, key), out);
}

int json_get_uint(yajl_val obj, const char *key, uint64_t *out)
{
	return json_uint(json_get(obj, key), out);
}

int json_get_bool(yajl_val obj, const char *key, bool *out)
{
	return json_boolean(json_get(obj, key), out);
}

const char *json_string(yajl_val v)
{
	return v && v->type == yajl_t_string ? v->u.string : NULL;
}

int json_int(yajl_val v, int64_t *out)
{
	int64_t x;
	if (!v || v->type != yajl_t_number || !text_int64(v->u.number.r, &x))
		return -1;
	*out = x;
	return 0;
}

int json_uint(yajl_val v, uint64_t *out)
{
	uint64_t x;
	if (!v || v->type != yajl_t_number || !text_uint64(v->u.number.r, &x))
		return -1;
	*out = x;
	return 0;
}

int json_boolean(yajl_val v, bool *out)
{
	if (!v || (v->type != yajl_t_true && v->type != yajl_t_false))
		return -1;
	*out = v->type == yajl_t_true;
	return 0;
}

size_t json_len(yajl_val v)
{
	if (!v)
		return 0;
	if (v->type == yajl_t_array)
		return v->u.array.len;
	if (v->type == yajl_t_object)
		return v->u.object.len;
	return 0;
}

yajl_val json_at(yajl_val arr, size_t i)
{
	return arr && arr->type == yajl_t_array && i < arr->u.array.len ? arr->u.array.values[i] : NULL;
}

const char *json_key_at(yajl_val obj, size_t i)
{
	return obj && obj->type == yajl_t_object && i < obj->u.object.len ? obj->u.object.keys[i] : NULL;
}

yajl_val json_member_at(yajl_val obj, size_t i)
{
	return obj && obj->type == yajl_t_object && i < obj->u.object.len ? obj->u.object.values[i] : NULL;
}

const char *json_type_name(yajl_val v)
{
	if (!v)
		return "missing";
	switch (v->type) {
	case yajl_t_string:
		return "string";
	case yajl_t_number:
		return "number";
	case yajl_t_object:
		return "object";
	case yajl_t_array:
		return "array";
	case yajl_t_true:
		return "true";
	case yajl_t_false:
		return "false";
	case yajl_t_null:
		return "null";
	default:
		return "unknown";
	}
}
