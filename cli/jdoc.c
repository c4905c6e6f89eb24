/* cli/jdoc.c — apply's JSON reader: yajl's event parser checks the text, the values go into one arena. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_parse.h>
#include "cli/jdoc.h"
#include "cli/json.h"

#define JDOC_MAX_DEPTH 32 /* json-c's default: deeper documents are refused the same way */
#define ARENA_BLOCK (1U << 20)

struct ablock {
	struct ablock *next;
	size_t _align;
	unsigned char data[];
};

/* An object or array still open: where its members start on the stack, and its own name in its parent. */
struct frame {
	size_t base;
	const char *key;
	uint8_t type;
};

struct builder {
	char *text, *end; /* the document */
	yajl_handle h;
	bool finishing;  /* in yajl_complete_parse: its offsets are not into the text */
	bool done;       /* the document's value is complete */
	size_t root_end; /* just past it */
	struct jval *root;
	struct jval *stack; /* the members/items of the open objects and arrays, innermost last */
	size_t sp, scap;
	struct frame open[JDOC_MAX_DEPTH];
	int depth;
	const char *key; /* the name yajl just gave, for the next value */
	struct ablock *blocks;
	size_t left; /* bytes free at the end of blocks->data */
	size_t used;
	const char *why; /* a refusal of ours (depth, memory), else yajl's */
};

/* bytes from the arena, 8-byte aligned (values and strings share it). */
static void *arena_alloc(struct builder *b, size_t bytes)
{
	bytes = (bytes + 7) & ~(size_t)7;
	if (bytes > b->left) {
		size_t sz = bytes > ARENA_BLOCK ? bytes : ARENA_BLOCK;
		struct ablock *blk = malloc(sizeof(*blk) + sz);
		if (!blk)
			return NULL;
		blk->next = b->blocks;
		b->blocks = blk;
		b->left = sz;
		b->used = 0;
	}
	void *p = b->blocks->data + b->used;
	b->used += bytes;
	b->left -= bytes;
	return p;
}

/*
 * A string without escapes comes as a pointer into the text: its closing
 * quote, which yajl has read already, becomes its NUL. One yajl decoded
 * (escapes) is in yajl's own buffer: the arena keeps a terminated copy.
 */
static const char *take_str(struct builder *b, const unsigned char *s, size_t len)
{
	const char *p = (const char *)s;

	if (p >= b->text && p < b->end && (size_t)(b->end - p) > len && p[len] == '"') {
		b->text[p + len - b->text] = '\0';
		return p;
	}
	char *d = arena_alloc(b, len + 1);
	if (!d)
		return NULL;
	memcpy(d, s, len);
	d[len] = '\0';
	return d;
}

/* A finished value goes into the innermost open container, or is the document. */
static inline int add(struct builder *b, struct jval *v, const char *key)
{
	v->key = key;
	if (!b->depth) {
		*b->root = *v;
		b->root_end = b->finishing ? (size_t)(b->end - b->text) : yajl_get_bytes_consumed(b->h);
		b->done = true;
		return 1;
	}
	if (b->sp == b->scap) {
		size_t cap = b->scap ? b->scap * 2 : 1024;
		struct jval *n = realloc(b->stack, cap * sizeof(*n));
		if (!n)
			return 0;
		b->stack = n;
		b->scap = cap;
	}
	b->stack[b->sp++] = *v;
	return 1;
}

static int add_scalar(struct builder *b, struct jval *v)
{
	const char *key = b->key;

	if (b->depth == JDOC_MAX_DEPTH) { /* json-c counted the value inside the deepest container too */
		b->why = "nested more than 32 deep";
		return 0;
	}
	b->key = NULL;
	return add(b, v, key);
}

static int on_null(void *ctx)
{
	struct jval v = { .type = J_NULL };
	return add_scalar(ctx, &v);
}

static int on_boolean(void *ctx, int val)
{
	struct jval v = { .type = J_BOOL, .i = !!val };
	return add_scalar(ctx, &v);
}

/* yajl checked the grammar; an integer unless it has a fraction or an exponent, clamped to int64 like json-c. */
static int on_number(void *ctx, const char *s, size_t len)
{
	struct jval v = { .type = J_INT };
	bool neg = *s == '-', over = false;
	uint64_t x = 0;

	for (size_t i = neg; i < len; i++) {
		unsigned int dgt = (unsigned int)(s[i] - '0');
		if (dgt > 9) { /* '.', 'e' or 'E' */
			char tmp[64];
			size_t n = len < sizeof(tmp) ? len : sizeof(tmp) - 1; /* precision beyond this does not matter to any field */
			memcpy(tmp, s, n);
			tmp[n] = '\0';
			v.type = J_DOUBLE;
			v.d = strtod(tmp, NULL);
			return add_scalar(ctx, &v);
		}
		if (x > (UINT64_MAX - dgt) / 10)
			over = true;
		else
			x = x * 10 + dgt;
	}
	if (neg)
		v.i = over || x > (uint64_t)INT64_MAX + 1 ? INT64_MIN : (int64_t)(0 - x);
	else
		v.i = over || x > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)x;
	return add_scalar(ctx, &v);
}

static int on_string(void *ctx, const unsigned char *s, size_t len)
{
	struct builder *b = ctx;
	struct jval v = { .type = J_STRING };
	if ((b->why = json_string_refusal(s, len)))
		return 0;
	return (v.s = take_str(ctx, s, len)) && add_scalar(ctx, &v);
}

static int on_key(void *ctx, const unsigned char *s, size_t len)
{
	struct builder *b = ctx;
	if ((b->why = json_string_refusal(s, len)))
		return 0;
	return (b->key = take_str(b, s, len)) != NULL;
}

static int open_container(struct builder *b, uint8_t type)
{
	if (b->depth == JDOC_MAX_DEPTH) {
		b->why = "nested more than 32 deep";
		return 0;
	}
	b->open[b->depth++] = (struct frame){ .base = b->sp, .key = b->key, .type = type };
	b->key = NULL;
	return 1;
}

/* The members or items, gathered on the stack, move to the arena as one run. */
static int close_container(void *ctx)
{
	struct builder *b = ctx;
	struct frame *f = &b->open[--b->depth];
	struct jval v = { .type = f->type, .n = (uint32_t)(b->sp - f->base) };

	if (v.n) {
		if (!(v.items = arena_alloc(b, v.n * sizeof(*v.items))))
			return 0;
		memcpy(v.items, b->stack + f->base, v.n * sizeof(*v.items));
	}
	b->sp = f->base;
	return add(b, &v, f->key);
}

static int on_start_map(void *ctx)
{
	return open_container(ctx, J_OBJECT);
}

static int on_start_array(void *ctx)
{
	return open_container(ctx, J_ARRAY);
}

static const yajl_callbacks callbacks = {
	.yajl_null = on_null,
	.yajl_boolean = on_boolean,
	.yajl_number = on_number, /* the raw text: yajl's own integers fail above int64 */
	.yajl_string = on_string,
	.yajl_start_map = on_start_map,
	.yajl_map_key = on_key,
	.yajl_end_map = close_container,
	.yajl_start_array = on_start_array,
	.yajl_end_array = close_container,
};

int jdoc_parse(char *text, size_t len, struct jdoc *doc, size_t *err_off)
{
	struct builder b;
	yajl_handle h;
	int err = -1;

	memset(&b, 0, sizeof(b));
	memset(doc, 0, sizeof(*doc));
	b.text = text;
	b.end = text + len;
	b.root = &doc->root;
	*err_off = 0;
	h = b.h = yajl_alloc(&callbacks, NULL, &b);
	if (!h) {
		snprintf(doc->err, sizeof(doc->err), "out of memory");
		return -1;
	}
	/* RFC 8259 and nothing else: these are yajl's defaults, said out loud */
	yajl_config(h, yajl_allow_comments, 0);
	yajl_config(h, yajl_dont_validate_strings, 0);
	yajl_config(h, yajl_allow_trailing_garbage, 0);
	yajl_config(h, yajl_allow_multiple_values, 0);
	yajl_config(h, yajl_allow_partial_values, 0);
	/*
	 * yajl takes \v and \f for white space; JSON has them nowhere (inside a
	 * string they must be escaped): yajl reads up to the first, which is
	 * refused if yajl found nothing wrong before it.
	 */
	const char *ff = memchr(text, '\f', len), *vt = memchr(text, '\v', ff ? (size_t)(ff - text) : len);
	size_t upto = vt ? (size_t)(vt - text) : ff ? (size_t)(ff - text) : len;

	const char *why = NULL;
	unsigned char *ymsg = NULL;

	if (yajl_parse(h, (const unsigned char *)text, upto) != yajl_status_ok) {
		/* yajl stops just past the byte or token it refused: step back onto it */
		size_t used = yajl_get_bytes_consumed(h);
		*err_off = used ? used - 1 : 0;
		why = b.why ? b.why : (const char *)(ymsg = yajl_get_error(h, 0, (const unsigned char *)text, upto));
	} else if (upto < len) {
		*err_off = upto;
		why = "lexical error: invalid char in json text"; /* yajl's words for a byte JSON has nowhere */
	} else {
		b.finishing = true;
		if (yajl_complete_parse(h) == yajl_status_ok) {
			err = 0;
		} else {
			*err_off = len; /* it ended too early: the error is at the end */
			why = b.why ? b.why : JDOC_TOO_EARLY;
		}
		/*
		 * yajl takes an unfinished token after the value ("{} tru", "{} 1") for
		 * one the next call would finish, even in its last call: what follows
		 * the value must be white space.
		 */
		if (b.done) {
			size_t i = b.root_end;
			while (i < len && (text[i] == ' ' || text[i] == '\n' || text[i] == '\r' || text[i] == '\t'))
				i++;
			if (i < len) {
				*err_off = i;
				err = -1;
				why = JDOC_TRAILING;
			}
		}
	}
	char msg[sizeof(doc->err)];
	snprintf(msg, sizeof(msg), "%s", why ? why : "invalid JSON");
	for (size_t n = strlen(msg); n && (msg[n - 1] == '\n' || msg[n - 1] == ' ' || msg[n - 1] == '.');)
		msg[--n] = '\0';
	if (ymsg)
		yajl_free_error(h, ymsg);
	yajl_free(h);
	free(b.stack);
	doc->arena = b.blocks;
	if (err) {
		jdoc_free(doc);
		memcpy(doc->err, msg, sizeof(msg));
		return -1;
	}
	return 0;
}

void jdoc_free(struct jdoc *doc)
{
	for (struct ablock *blk = doc->arena, *next; blk; blk = next) {
		next = blk->next;
		free(blk);
	}
	memset(doc, 0, sizeof(*doc));
}
