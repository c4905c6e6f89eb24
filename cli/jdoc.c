/* cli/jdoc.c — a strict JSON reader for apply: one pass over the text, values in one arena, strings decoded in place. */
#include <stdlib.h>
#include <string.h>
#include "cli/jdoc.h"

#define JDOC_MAX_DEPTH 32 /* json-c's default: deeper documents are refused the same way */
#define ARENA_BLOCK (1U << 20)

struct ablock {
	struct ablock *next;
	size_t _align;
	unsigned char data[];
};

struct parser {
	char *p, *end;
	struct jval *stack; /* the members/items of the open objects and arrays, innermost last */
	size_t sp, scap;
	struct ablock *blocks;
	size_t left; /* bytes free at the end of blocks->data */
	size_t used;
	int depth;
};

/* n values, contiguous, from the arena. */
static struct jval *arena_vals(struct parser *ps, size_t n)
{
	size_t bytes = n * sizeof(struct jval);

	if (bytes > ps->left) {
		size_t sz = bytes > ARENA_BLOCK ? bytes : ARENA_BLOCK;
		struct ablock *b = malloc(sizeof(*b) + sz);
		if (!b)
			return NULL;
		b->next = ps->blocks;
		ps->blocks = b;
		ps->left = sz;
		ps->used = 0;
	}
	struct jval *v = (struct jval *)(ps->blocks->data + ps->used);
	ps->used += bytes;
	ps->left -= bytes;
	return v;
}

static int push(struct parser *ps, const struct jval *v)
{
	if (ps->sp == ps->scap) {
		size_t cap = ps->scap ? ps->scap * 2 : 1024;
		struct jval *n = realloc(ps->stack, cap * sizeof(*n));
		if (!n)
			return -1;
		ps->stack = n;
		ps->scap = cap;
	}
	ps->stack[ps->sp++] = *v;
	return 0;
}

static void skip_ws(struct parser *ps)
{
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\n' || *ps->p == '\r' || *ps->p == '\t'))
		ps->p++;
}

static int hex4(const char *p, unsigned int *out)
{
	unsigned int v = 0;
	for (int i = 0; i < 4; i++) {
		char c = p[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned int)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned int)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned int)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

static char *put_utf8(char *d, unsigned int cp)
{
	if (cp < 0x80) {
		*d++ = (char)cp;
	} else if (cp < 0x800) {
		*d++ = (char)(0xc0 | (cp >> 6));
		*d++ = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		*d++ = (char)(0xe0 | (cp >> 12));
		*d++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*d++ = (char)(0x80 | (cp & 0x3f));
	} else {
		*d++ = (char)(0xf0 | (cp >> 18));
		*d++ = (char)(0x80 | ((cp >> 12) & 0x3f));
		*d++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*d++ = (char)(0x80 | (cp & 0x3f));
	}
	return d;
}

/* At the opening quote: decodes the string in place and NUL-terminates it (the decoded text is never longer). */
static const char *parse_string(struct parser *ps)
{
	char *s = ++ps->p, *d;

	/* most strings have no escape: find the closing quote and terminate there */
	while (ps->p < ps->end && *ps->p != '"' && *ps->p != '\\' && (unsigned char)*ps->p >= 0x20)
		ps->p++;
	d = ps->p;
	while (ps->p < ps->end) {
		unsigned char c = (unsigned char)*ps->p;
		if (c == '"') {
			*d = '\0';
			ps->p++;
			return s;
		}
		if (c < 0x20)
			return NULL;
		if (c != '\\') {
			*d++ = *ps->p++;
			continue;
		}
		if (ps->end - ps->p < 2)
			return NULL;
		switch (ps->p[1]) {
		case '"': *d++ = '"'; break;
		case '\\': *d++ = '\\'; break;
		case '/': *d++ = '/'; break;
		case 'b': *d++ = '\b'; break;
		case 'f': *d++ = '\f'; break;
		case 'n': *d++ = '\n'; break;
		case 'r': *d++ = '\r'; break;
		case 't': *d++ = '\t'; break;
		case 'u': {
			unsigned int cp, lo;
			if (ps->end - ps->p < 6 || hex4(ps->p + 2, &cp))
				return NULL;
			ps->p += 6;
			if (cp >= 0xd800 && cp < 0xdc00 && ps->end - ps->p >= 6 && ps->p[0] == '\\' && ps->p[1] == 'u' &&
			    !hex4(ps->p + 2, &lo) && lo >= 0xdc00 && lo < 0xe000) {
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				ps->p += 6;
			}
			d = put_utf8(d, cp);
			continue;
		}
		default:
			return NULL;
		}
		ps->p += 2;
	}
	return NULL;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* RFC 8259 numbers: an integer unless it has a fraction or an exponent. */
static int parse_number(struct parser *ps, struct jval *v)
{
	char *s = ps->p;
	bool neg = false, dbl = false, over = false;
	uint64_t x = 0;

	if (*ps->p == '-') {
		neg = true;
		ps->p++;
	}
	if (ps->p >= ps->end || !is_digit(*ps->p))
		return -1;
	if (*ps->p == '0') {
		ps->p++;
	} else {
		while (ps->p < ps->end && is_digit(*ps->p)) {
			unsigned int dgt = (unsigned int)(*ps->p++ - '0');
			if (x > (UINT64_MAX - dgt) / 10)
				over = true;
			else
				x = x * 10 + dgt;
		}
	}
	if (ps->p < ps->end && *ps->p == '.') {
		dbl = true;
		ps->p++;
		if (ps->p >= ps->end || !is_digit(*ps->p))
			return -1;
		while (ps->p < ps->end && is_digit(*ps->p))
			ps->p++;
	}
	if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
		dbl = true;
		ps->p++;
		if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-'))
			ps->p++;
		if (ps->p >= ps->end || !is_digit(*ps->p))
			return -1;
		while (ps->p < ps->end && is_digit(*ps->p))
			ps->p++;
	}
	if (dbl) {
		char tmp[64];
		size_t n = (size_t)(ps->p - s);
		if (n >= sizeof(tmp))
			n = sizeof(tmp) - 1; /* precision beyond this does not matter to any field */
		memcpy(tmp, s, n);
		tmp[n] = '\0';
		v->type = J_DOUBLE;
		v->d = strtod(tmp, NULL);
		return 0;
	}
	v->type = J_INT;
	if (neg)
		v->i = over || x > (uint64_t)INT64_MAX + 1 ? INT64_MIN : (int64_t)(0 - x);
	else
		v->i = over || x > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)x;
	return 0;
}

static int literal(struct parser *ps, const char *word, size_t n)
{
	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n))
		return -1;
	ps->p += n;
	return 0;
}

static int parse_value(struct parser *ps, struct jval *v);

/* At '{' or '[': the members or items, gathered on the stack, then moved to the arena as one run. */
static int parse_container(struct parser *ps, struct jval *v, bool object)
{
	char close = object ? '}' : ']';
	size_t base = ps->sp;

	if (++ps->depth > JDOC_MAX_DEPTH)
		return -1;
	ps->p++;
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == close) {
		ps->p++;
	} else {
		for (;;) {
			struct jval item;
			const char *key = NULL;
			skip_ws(ps);
			if (object) {
				if (ps->p >= ps->end || *ps->p != '"' || !(key = parse_string(ps)))
					return -1;
				skip_ws(ps);
				if (ps->p >= ps->end || *ps->p != ':')
					return -1;
				ps->p++;
			}
			if (parse_value(ps, &item))
				return -1;
			item.key = key;
			if (push(ps, &item))
				return -1;
			skip_ws(ps);
			if (ps->p < ps->end && *ps->p == ',') {
				ps->p++;
				continue;
			}
			if (ps->p < ps->end && *ps->p == close) {
				ps->p++;
				break;
			}
			return -1;
		}
	}
	v->type = object ? J_OBJECT : J_ARRAY;
	v->n = (uint32_t)(ps->sp - base);
	v->items = NULL;
	if (v->n) {
		if (!(v->items = arena_vals(ps, v->n)))
			return -1;
		memcpy(v->items, ps->stack + base, v->n * sizeof(*v->items));
	}
	ps->sp = base;
	ps->depth--;
	return 0;
}

static int parse_value(struct parser *ps, struct jval *v)
{
	memset(v, 0, sizeof(*v));
	skip_ws(ps);
	if (ps->p >= ps->end)
		return -1;
	switch (*ps->p) {
	case '{':
		return parse_container(ps, v, true);
	case '[':
		return parse_container(ps, v, false);
	case '"':
		v->type = J_STRING;
		return (v->s = parse_string(ps)) ? 0 : -1;
	case 't':
		v->type = J_BOOL;
		v->i = 1;
		return literal(ps, "true", 4);
	case 'f':
		v->type = J_BOOL;
		return literal(ps, "false", 5);
	case 'n':
		v->type = J_NULL;
		return literal(ps, "null", 4);
	default:
		return parse_number(ps, v);
	}
}

int jdoc_parse(char *text, size_t len, struct jdoc *doc, size_t *err_off)
{
	struct parser ps;
	int err;

	memset(&ps, 0, sizeof(ps));
	memset(doc, 0, sizeof(*doc));
	ps.p = text;
	ps.end = text + len;
	err = parse_value(&ps, &doc->root);
	if (!err) {
		skip_ws(&ps);
		err = ps.p < ps.end ? -1 : 0;
	}
	free(ps.stack);
	doc->arena = ps.blocks;
	if (err) {
		*err_off = (size_t)(ps.p - text);
		jdoc_free(doc);
		return -1;
	}
	return 0;
}

void jdoc_free(struct jdoc *doc)
{
	for (struct ablock *b = doc->arena, *next; b; b = next) {
		next = b->next;
		free(b);
	}
	memset(doc, 0, sizeof(*doc));
}
