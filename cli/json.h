/* cli/json.h — the project's one JSON layer on yajl: a writer (yajl_gen), small documents read into yajl trees, typed getters. */
#ifndef VPCBPF_CLI_JSON_H
#define VPCBPF_CLI_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

/*
 * Writing. A writer prints to a FILE (out != NULL) or into its own buffer
 * (out == NULL: jw_text / jw_take). The output is the bytes json-c printed
 * before (JSON_C_TO_STRING_PLAIN, or PRETTY|SPACED with NOSLASHESCAPE):
 * compact `{"a":1,"b":[]}`, or pretty with two spaces, "key": value, and an
 * empty object or array on two lines (`{` and the indented `}`, as json-c); '/' is not escaped, control characters are
 * \b \f \n \r \t or \u00xx (lower case), other bytes as they are; a string
 * that is not UTF-8 is refused. No newline after the document.
 *
 * The first failure (a string not UTF-8, a key expected, nesting deeper than
 * yajl's 128, no memory, a write error) is kept; every later call does
 * nothing; jw_finish returns -1 and jw_error says what it was. So a writer's
 * calls need no checks, only jw_finish's.
 */
#define JW_PRETTY 0x1
/* Bytes of a string that are not UTF-8 are written as U+FFFD instead of failing (what is shown, not saved). */
#define JW_LOSSY 0x2

struct jw {
	yajl_gen g;
	FILE *out;          /* NULL: into buf */
	char *buf;          /* the text so far, NUL-terminated */
	size_t len, cap;
	const char *err;    /* the first failure, or NULL */
	unsigned flags;
	int depth;          /* containers open */
	bool wrote;         /* something was printed */
	bool after_open;    /* the last thing printed opened a container (pretty: `{}`) */
	char pend[512];     /* pretty: white space held back until what follows it is known */
	size_t npend;
	bool pend_lost;     /* more white space than pend holds (never with 2-space indents < 128 deep) */
};

/* 0, or -1 (no memory: w->err says so, and the other calls do nothing). */
int jw_init(struct jw *w, FILE *out, unsigned flags);
/* Frees the writer (and its buffer unless taken). */
void jw_free(struct jw *w);

void jw_object(struct jw *w);     /* { */
void jw_object_end(struct jw *w); /* } */
void jw_array(struct jw *w);      /* [ */
void jw_array_end(struct jw *w);  /* ] */
void jw_key(struct jw *w, const char *key); /* an object member's name: its value comes next */
void jw_string(struct jw *w, const char *s); /* NULL writes null (json-c's new_string(NULL) did the same) */
void jw_string_len(struct jw *w, const char *s, size_t len);
void jw_int(struct jw *w, int64_t v);
void jw_uint(struct jw *w, uint64_t v);
void jw_bool(struct jw *w, bool v);
void jw_null(struct jw *w);
void jw_double(struct jw *w, double v); /* %.17g, ".0" added to whole numbers (as json-c); NaN/inf refused */
/* A parsed value (json_parse) written back: numbers as their text, the rest as above. NULL writes null. */
void jw_value(struct jw *w, yajl_val v);

/* key + value in one call */
void jw_kobject(struct jw *w, const char *key);
void jw_karray(struct jw *w, const char *key);
void jw_kstring(struct jw *w, const char *key, const char *s);
void jw_kint(struct jw *w, const char *key, int64_t v);
void jw_kuint(struct jw *w, const char *key, uint64_t v);
void jw_kbool(struct jw *w, const char *key, bool v);
void jw_knull(struct jw *w, const char *key);
void jw_kvalue(struct jw *w, const char *key, yajl_val v);

/* Marks the writer failed (a caller's own failure, e.g. no memory for what it was about to write). */
void jw_fail(struct jw *w, const char *why);
/* 0 when every call succeeded and the document is complete (and flushed to out); -1 else (jw_error). */
int jw_finish(struct jw *w);
/* The first failure in words ("a string is not UTF-8", ...), or NULL. */
const char *jw_error(const struct jw *w);
/* The buffered text (out == NULL), NUL-terminated; *len (when not NULL) its length. */
const char *jw_text(const struct jw *w, size_t *len);
/* The buffered text, now the caller's to free(); the writer keeps nothing. NULL when it failed. */
char *jw_take(struct jw *w, size_t *len);

/* One value as compact (or JW_PRETTY) text, malloc'ed; NULL when it cannot be written. */
char *json_dump(yajl_val v, unsigned flags);

/* Length of the UTF-8 character at s (RFC 3629: no overlong form, no surrogate, at most U+10FFFF) within
   len bytes, 0 when none starts there. */
size_t json_utf8_char(const unsigned char *s, size_t len);

/*
 * Why a string read from a document is refused, or NULL: a NUL character (it would cut the C
 * string) or not UTF-8 by RFC 3629 (yajl checks only the form, not overlong forms, surrogates or
 * code points past U+10FFFF). Every reader (json_parse, cli/jdoc.c) asks it, so nothing is read
 * that the writer could not write back.
 */
const char *json_string_refusal(const unsigned char *s, size_t len);

/*
 * Reading small documents (etcd's answers, netconf, IPAM results; apply's
 * large files go through cli/jdoc.h). text[0..len) need not be terminated.
 * The tree is yajl's (yajl_tree.h), freed with json_free. On error NULL, and
 * err (errlen bytes) says "LINE:COLUMN: yajl's message", e.g.
 * "1:9: parse error: object key and value must be separated by a colon (':')",
 * or "1:3: the JSON ends too early (unclosed object, array or string)".
 * Comments are refused, and anything after the value but white space.
 */
yajl_val json_parse(const char *text, size_t len, char *err, size_t errlen);
void json_free(yajl_val v);

/* Typed getters. A missing key, a value of another type, or obj not an object give NULL / false / -1. */
yajl_val json_get(yajl_val obj, const char *key);        /* any type */
const char *json_get_string(yajl_val obj, const char *key);
yajl_val json_get_object(yajl_val obj, const char *key);
yajl_val json_get_array(yajl_val obj, const char *key);
/* 0 with *out set; -1 when missing or not that type (an integer out of range is not an int64/uint64). */
int json_get_int(yajl_val obj, const char *key, int64_t *out);
int json_get_uint(yajl_val obj, const char *key, uint64_t *out);
int json_get_bool(yajl_val obj, const char *key, bool *out);

/* The value itself */
const char *json_string(yajl_val v);             /* NULL unless a string */
int json_int(yajl_val v, int64_t *out);          /* an integer (no fraction or exponent) in int64's range */
int json_uint(yajl_val v, uint64_t *out);        /* an integer in uint64's range */
int json_boolean(yajl_val v, bool *out);            /* true or false */
size_t json_len(yajl_val v);                     /* items of an array, members of an object, else 0 */
yajl_val json_at(yajl_val arr, size_t i);        /* an array's item i, or NULL */
const char *json_key_at(yajl_val obj, size_t i); /* an object's member i: its name (json_member_at: its value) */
yajl_val json_member_at(yajl_val obj, size_t i);
/* The name of v's type ("object", "array", "string", "number", "true", "false", "null"), for messages. */
const char *json_type_name(yajl_val v);

#endif
