/* tests/unit/test_json.c — cli/json.c: the writer's bytes (compact, pretty, escapes), refusals, int64/uint64 extremes, trees and parse errors. */
#include <stdlib.h>
#include <string.h>
#include "suite.h"
#include "cli/json.h"

/* what w wrote into its buffer, after jw_finish succeeded */
static void expect_text(struct jw *w, const char *want)
{
	assert_int_equal(jw_finish(w), 0);
	assert_null(jw_error(w));
	assert_string_equal(jw_text(w, NULL), want);
	jw_free(w);
}

/* a document with every kind of value, nested and empty containers */
static void write_sample(struct jw *w)
{
	jw_object(w);
	jw_kstring(w, "name", "web");
	jw_kint(w, "vni", 100);
	jw_kobject(w, "empty");
	jw_object_end(w);
	jw_karray(w, "none");
	jw_array_end(w);
	jw_karray(w, "items");
	jw_int(w, -1);
	jw_object(w);
	jw_kbool(w, "on", true);
	jw_knull(w, "gone");
	jw_object_end(w);
	jw_array(w);
	jw_array_end(w);
	jw_double(w, 1.5);
	jw_double(w, 2);
	jw_array_end(w);
	jw_object_end(w);
}

static void test_compact(void **state)
{
	struct jw w;

	assert_int_equal(jw_init(&w, NULL, 0), 0);
	write_sample(&w);
	expect_text(&w, "{\"name\":\"web\",\"vni\":100,\"empty\":{},\"none\":[],"
			"\"items\":[-1,{\"on\":true,\"gone\":null},[],1.5,2.0]}");
}

/* json-c's PRETTY|SPACED bytes: two spaces, "key": value, empty containers on two lines, no final newline */
static void test_pretty(void **state)
{
	struct jw w;

	assert_int_equal(jw_init(&w, NULL, JW_PRETTY), 0);
	write_sample(&w);
	expect_text(&w, "{\n"
			"  \"name\": \"web\",\n"
			"  \"vni\": 100,\n"
			"  \"empty\": {\n"
			"  },\n"
			"  \"none\": [\n"
			"  ],\n"
			"  \"items\": [\n"
			"    -1,\n"
			"    {\n"
			"      \"on\": true,\n"
			"      \"gone\": null\n"
			"    },\n"
			"    [\n"
			"    ],\n"
			"    1.5,\n"
			"    2.0\n"
			"  ]\n"
			"}");

	/* an empty document, as pr_done's {} */
	assert_int_equal(jw_init(&w, NULL, JW_PRETTY), 0);
	jw_object(&w);
	jw_object_end(&w);
	expect_text(&w, "{\n}");
	/* a string of white space stays what it is */
	assert_int_equal(jw_init(&w, NULL, JW_PRETTY), 0);
	jw_array(&w);
	jw_string(&w, "  ");
	jw_string(&w, "\n");
	jw_array_end(&w);
	expect_text(&w, "[\n  \"  \",\n  \"\\n\"\n]");
}

/* quotes, backslash, control characters (\u00xx lower case, as json-c), '/' as is, UTF-8 as is */
static void test_escapes(void **state)
{
	struct jw w;

	assert_int_equal(jw_init(&w, NULL, 0), 0);
	jw_array(&w);
	jw_string(&w, "a\"b\\c/d");
	jw_string(&w, "\b\f\n\r\t\x01\x1f\x7f");
	jw_string(&w, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	jw_string_len(&w, "nul\0in", 6);
	jw_array_end(&w);
	expect_text(&w, "[\"a\\\"b\\\\c/d\",\"\\b\\f\\n\\r\\t\\u0001\\u001f\x7f\","
			"\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\",\"nul\\u0000in\"]");

	/* a key is escaped the same way */
	assert_int_equal(jw_init(&w, NULL, 0), 0);
	jw_object(&w);
	jw_kstring(&w, "k\"\x02", "v");
	jw_object_end(&w);
	expect_text(&w, "{\"k\\\"\\u0002\":\"v\"}");
}

/* bytes that are not UTF-8 fail the writer, and everything after is ignored */
static void test_invalid_utf8(void **state)
{
	/* a stray byte, a cut sequence, an overlong '/', a surrogate, past U+10FFFF, a continuation byte missing */
	const char *bad[] = { "\xff", "a\xc3", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x82x" };
	struct jw w;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(jw_init(&w, NULL, 0), 0);
		jw_object(&w);
		jw_kstring(&w, "name", bad[i]);
		jw_kint(&w, "after", 1);
		jw_object_end(&w);
		assert_int_equal(jw_finish(&w), -1);
		assert_string_equal(jw_error(&w), "a string is not UTF-8");
		assert_null(jw_take(&w, NULL));
		jw_free(&w);
	}
	/* in a key too */
	assert_int_equal(jw_init(&w, NULL, 0), 0);
	jw_object(&w);
	jw_kint(&w, "\xfe", 1);
	jw_object_end(&w);
	assert_int_equal(jw_finish(&w), -1);
	jw_free(&w);
}

/* misuse is an error, not a silent half document */
static void test_misuse(void **state)
{
	struct jw w;

	assert_int_equal(jw_init(&w, NULL, 0), 0); /* never closed */
	jw_object(&w);
	jw_kint(&w, "a", 1);
	assert_int_equal(jw_finish(&w), -1);
	assert_string_equal(jw_error(&w), "the document is not closed");
	jw_free(&w);

	assert_int_equal(jw_init(&w, NULL, 0), 0); /* a value where a key belongs */
	jw_object(&w);
	jw_int(&w, 1);
	jw_object_end(&w);
	assert_int_equal(jw_finish(&w), -1);
	assert_string_equal(jw_error(&w), "an object member has no key");
	jw_free(&w);

	assert_int_equal(jw_init(&w, NULL, 0), 0); /* two documents */
	jw_int(&w, 1);
	jw_int(&w, 2);
	assert_int_equal(jw_finish(&w), -1);
	jw_free(&w);

	assert_int_equal(jw_init(&w, NULL, 0), 0); /* nothing */
	assert_int_equal(jw_finish(&w), -1);
	assert_string_equal(jw_error(&w), "nothing was written");
	jw_free(&w);

	assert_int_equal(jw_init(&w, NULL, 0), 0);
	jw_array(&w);
	jw_double(&w, 1.0 / 0.0);
	jw_array_end(&w);
	assert_int_equal(jw_finish(&w), -1);
	assert_string_equal(jw_error(&w), "a number that is not finite");
	jw_free(&w);
}

static void test_int_extremes(void **state)
{
	struct jw w;
	char err[160];
	int64_t i;
	uint64_t u;

	assert_int_equal(jw_init(&w, NULL, 0), 0);
	jw_array(&w);
	jw_int(&w, INT64_MIN);
	jw_int(&w, INT64_MAX);
	jw_uint(&w, 0);
	jw_uint(&w, UINT64_MAX);
	jw_array_end(&w);
	assert_int_equal(jw_finish(&w), 0);
	assert_string_equal(jw_text(&w, NULL),
			    "[-9223372036854775808,9223372036854775807,0,18446744073709551615]");

	yajl_val v = json_parse(jw_text(&w, NULL), w.len, err, sizeof(err));
	assert_non_null(v);
	assert_int_equal(json_len(v), 4);
	assert_int_equal(json_int(json_at(v, 0), &i), 0);
	assert_true(i == INT64_MIN);
	assert_int_equal(json_int(json_at(v, 1), &i), 0);
	assert_true(i == INT64_MAX);
	assert_int_equal(json_uint(json_at(v, 3), &u), 0);
	assert_true(u == UINT64_MAX);
	/* out of range for the type asked: refused, not clamped or wrapped */
	assert_int_equal(json_int(json_at(v, 3), &i), -1);
	assert_int_equal(json_uint(json_at(v, 0), &u), -1);
	json_free(v);
	jw_free(&w);

	const char *t = "[18446744073709551616, -9223372036854775809, 1.0, 1e3, \"7\"]";
	v = json_parse(t, strlen(t), err, sizeof(err));
	assert_non_null(v);
	for (size_t k = 0; k < json_len(v); k++) {
		assert_int_equal(json_int(json_at(v, k), &i), -1);
		assert_int_equal(json_uint(json_at(v, k), &u), -1);
	}
	/* a number the reader cannot hold is written back as its text */
	char *d = json_dump(v, 0);
	assert_string_equal(d, "[18446744073709551616,-9223372036854775809,1.0,1e3,\"7\"]");
	free(d);
	json_free(v);
}

/* a tree read and written back is the same document (the CNI plugin passes prevResult through) */
static void test_round_trip(void **state)
{
	const char *compact = "{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"eth0\",\"mac\":\"02:00:00:00:00:01\","
			      "\"sandbox\":\"/var/run/netns/x\"}],\"ips\":[{\"address\":\"10.0.0.2/24\",\"gateway\":\"10.0.0.1\","
			      "\"interface\":0}],\"dns\":{},\"routes\":[],\"n\":null,\"t\":true,\"f\":false,\"d\":-0.25,"
			      "\"big\":18446744073709551615,\"s\":\"caf\xc3\xa9 \\\"q\\\" \\u0001\"}";
	char err[160];
	yajl_val v = json_parse(compact, strlen(compact), err, sizeof(err));

	assert_non_null(v);
	char *d = json_dump(v, 0);
	assert_string_equal(d, compact);
	/* pretty and read back: the same tree again */
	char *p = json_dump(v, JW_PRETTY);
	assert_non_null(p);
	yajl_val v2 = json_parse(p, strlen(p), err, sizeof(err));
	assert_non_null(v2);
	char *d2 = json_dump(v2, 0);
	assert_string_equal(d2, compact);

	/* the getters on it */
	assert_string_equal(json_get_string(v, "cniVersion"), "1.0.0");
	assert_null(json_get_string(v, "ips"));         /* not a string */
	assert_null(json_get_string(v, "missing"));
	assert_non_null(json_get_array(v, "ips"));
	assert_null(json_get_object(v, "ips"));
	assert_non_null(json_get_object(v, "dns"));
	yajl_val ip = json_at(json_get_array(v, "ips"), 0);
	int64_t i;
	bool b;
	assert_int_equal(json_get_int(ip, "interface", &i), 0);
	assert_int_equal(i, 0);
	assert_int_equal(json_get_int(ip, "address", &i), -1);
	assert_int_equal(json_get_bool(v, "t", &b), 0);
	assert_true(b);
	assert_int_equal(json_get_bool(v, "f", &b), 0);
	assert_false(b);
	assert_int_equal(json_get_bool(v, "n", &b), -1);
	assert_null(json_at(json_get_array(v, "ips"), 1));
	assert_string_equal(json_key_at(v, 0), "cniVersion");
	assert_string_equal(json_type_name(json_member_at(v, 1)), "array");
	assert_string_equal(json_type_name(json_get(v, "n")), "null");
	assert_null(json_get(json_get(v, "cniVersion"), "x")); /* not an object */

	free(d);
	free(p);
	free(d2);
	json_free(v);
	json_free(v2);
}

/* where and why a document is refused */
static void test_parse_errors(void **state)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{ "", "1:1: the document is empty" },
		{ " \n ", "2:2: the document is empty" },
		{ "{\"a\" 1}", "1:6: parse error: object key and value must be separated by a colon (':')" },
		{ "{\"a\": 1,\n \"b\": [1,\n}", "3:1: parse error: unallowed token at this point in JSON text" },
		{ "{\"a\":1", "1:7: the JSON ends too early (unclosed object, array or string)" },
		{ "[\"abc", "1:6: the JSON ends too early (unclosed object, array or string)" },
		{ "[1,2] x", "1:7: parse error: trailing garbage" },
		{ "{} tru", "1:4: unexpected text after the JSON document" },
		{ "/* c */ 1", "1:1: lexical error: probable comment found in input text, comments are not enabled" },
		{ "[\"\xff\"]", "1:3: lexical error: invalid bytes in UTF8 string" },
		{ "[\"a\x01\"]", "1:3: lexical error: invalid character inside string" }, /* yajl points into the string */
		{ "[1,\f2]", "1:4: lexical error: invalid char in json text" },
		{ "[01]", "1:3: parse error: after array element, I expect ',' or ']'" },
	};
	char err[200];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		yajl_val v = json_parse(cases[i].text, strlen(cases[i].text), err, sizeof(err));
		if (v || strcmp(err, cases[i].want))
			fail_msg("case %zu %s: got %s, want %s", i, v ? "parsed" : "refused", err, cases[i].want);
	}

	/* what the writer would refuse is refused by the reader: overlong forms, surrogates, past
	   U+10FFFF, a NUL inside a string (it would cut the C string), in values and in keys */
	static const char *const unwritable[] = {
		"{\"a\":\"\xed\xa0\x80\"}", "[\"\xc0\xaf\"]", "[\"\xf4\x90\x80\x80\"]",
		"{\"\xed\xbf\xbf\":1}", "[\"x\\u0000y\"]", "{\"k\\u0000\":1}",
	};
	for (size_t i = 0; i < sizeof(unwritable) / sizeof(unwritable[0]); i++) {
		yajl_val v = json_parse(unwritable[i], strlen(unwritable[i]), err, sizeof(err));
		if (v || !strstr(err, i < 4 ? "not UTF-8" : "NUL")) /* ours or yajl's own UTF-8 refusal */
			if (v || !strstr(err, "UTF8"))
				fail_msg("unwritable %zu %s: %s", i, v ? "parsed" : "refused", v ? "" : err);
		json_free(v);
	}

	/* nesting is bounded */
	char deep[200];
	memset(deep, '[', 100);
	memset(deep + 100, ']', 100);
	assert_null(json_parse(deep, sizeof(deep), err, sizeof(err)));
	assert_non_null(strstr(err, "nested too deep"));

	/* the text need not be terminated: only len bytes are read */
	const char *t = "{\"a\":1}garbage";
	yajl_val v = json_parse(t, 7, err, sizeof(err));
	assert_non_null(v);
	json_free(v);
	/* a bare scalar is a document */
	v = json_parse("42 ", 3, err, sizeof(err));
	assert_non_null(v);
	int64_t i;
	assert_int_equal(json_int(v, &i), 0);
	assert_int_equal(i, 42);
	json_free(v);
	/* duplicate keys: the last wins, as json-c did */
	t = "{\"a\":1,\"a\":2}";
	v = json_parse(t, strlen(t), err, sizeof(err));
	assert_int_equal(json_get_int(v, "a", &i), 0);
	assert_int_equal(i, 2);
	json_free(v);
}

/* a writer on a FILE, and one on a buffer handed over with jw_take */
static void test_outputs(void **state)
{
	char *mem = NULL;
	size_t memlen = 0;
	FILE *f = open_memstream(&mem, &memlen);
	struct jw w;

	assert_non_null(f);
	assert_int_equal(jw_init(&w, f, JW_PRETTY), 0);
	jw_object(&w);
	jw_kstring(&w, "prefix", "10.0.0.0/8");
	jw_object_end(&w);
	assert_int_equal(jw_finish(&w), 0);
	jw_free(&w);
	fclose(f);
	assert_string_equal(mem, "{\n  \"prefix\": \"10.0.0.0/8\"\n}");
	free(mem);

	size_t n;
	assert_int_equal(jw_init(&w, NULL, 0), 0);
	jw_array(&w);
	jw_uint(&w, 7);
	jw_array_end(&w);
	assert_int_equal(jw_finish(&w), 0);
	char *s = jw_take(&w, &n);
	jw_free(&w);
	assert_string_equal(s, "[7]");
	assert_int_equal(n, 3);
	free(s);
}

static const struct CMUnitTest json_tests[] = {
	cmocka_unit_test(test_compact),
	cmocka_unit_test(test_pretty),
	cmocka_unit_test(test_escapes),
	cmocka_unit_test(test_invalid_utf8),
	cmocka_unit_test(test_misuse),
	cmocka_unit_test(test_int_extremes),
	cmocka_unit_test(test_round_trip),
	cmocka_unit_test(test_parse_errors),
	cmocka_unit_test(test_outputs),
};

SUITE(json_suite, "json", json_tests)
