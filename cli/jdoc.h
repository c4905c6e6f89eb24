/* cli/jdoc.h — a strict JSON reader for apply: yajl's event parser, values and strings in one arena. */
#ifndef VPCBPF_CLI_JDOC_H
#define VPCBPF_CLI_JDOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A document of a million routes is a few million values: json-c gives each
 * its own allocation and each object its own hash table, which cost more than
 * everything else apply does. Here yajl (an event parser: no tree of its
 * own) checks the text, and a value is 24 bytes in an arena, an object's
 * members and an array's items are one contiguous run, and strings point
 * into the text (NUL-terminated in place; one with escapes is yajl's decoded
 * copy, kept in the arena).
 */
enum jtype { J_NULL, J_BOOL, J_INT, J_DOUBLE, J_STRING, J_ARRAY, J_OBJECT };

struct jval {
	const char *key; /* the member's name, when this value is an object member */
	union {
		int64_t i;          /* J_INT (clamped to int64 like json-c), J_BOOL (0 or 1) */
		double d;           /* J_DOUBLE */
		const char *s;      /* J_STRING */
		struct jval *items; /* J_ARRAY, J_OBJECT: n values (members carry their key) */
	};
	uint32_t n;
	uint8_t type; /* enum jtype */
};

struct jdoc {
	struct jval root;
	void *arena; /* chain of blocks */
	/* why jdoc_parse refused the text: yajl's words ("lexical error: ...", "parse error: ..."),
	 * JDOC_TOO_EARLY, JDOC_TRAILING or "nested more than 32 deep" */
	char err[128];
};
#define JDOC_TOO_EARLY "the JSON ends too early (unclosed object, array or string)"
#define JDOC_TRAILING "unexpected text after the JSON document"

/*
 * Parses text[0..len) (modified: closing quotes become NULs) as one JSON
 * value, strictly (RFC 8259, UTF-8 checked, nesting at most 32 deep, nothing
 * after it but white space).
 * 0, or -1 with *err_off at (or just past) the first byte it could not accept
 * (at len when the text ends too early) and doc->err saying why.
 */
int jdoc_parse(char *text, size_t len, struct jdoc *doc, size_t *err_off);
void jdoc_free(struct jdoc *doc);

#endif
