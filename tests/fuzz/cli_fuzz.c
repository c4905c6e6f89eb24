/* tests/fuzz/cli_fuzz.c — libFuzzer target over the CLI's word parsers, batch line splitting and command dispatch. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <bpf/libbpf.h>
#include <json-c/json.h>
#include <sanitizer/common_interface_defs.h>
#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/objects.h"
#include "cli/jdoc.h"
#include "cli/state.h"

/*
 * Input: byte 0 picks the target, byte 1 holds flags (JSON output), the
 * rest up to the first NUL is the text. Invariants (abort on violation):
 *  - a word a parser accepts prints back (prefix_str, ip_str, mac_str, %u)
 *    to text that parses to the same value, and the value is in range;
 *    IPv4 addresses, prefixes and MACs print back to the very same text
 *    (case aside): there is one way to write each;
 *  - split_words returns words inside the line, in order, without blanks
 *    unless quoted, and splitting the words joined again gives them back;
 *  - a batch file (continuations, comments, quotes, every object's grammar
 *    and the domain rules) read into an empty in-memory state either
 *    succeeds silently or fails with one line naming "file:line: ", and
 *    leaks nothing;
 *  - apply's JSON reader (jdoc on yajl, byte 0 'J': outside the modulo, so
 *    the corpus keeps its targets) refuses inside the text, or gives a tree
 *    at most 32 deep that json-c's strict reading agrees with (json-c's
 *    strict mode takes more: bytes that are not UTF-8, control bytes in
 *    strings, "-01", so its refusals are not compared);
 *  - a command of an object that only edits maps, run without a datapath,
 *    fails with exactly one line on stderr and, under -j, prints one JSON
 *    object {"error": "...", "code": 1 or 2} on stdout, the code being the
 *    exit status error_status holds; one that succeeds (help) prints
 *    nothing on stderr and, under -j, one JSON document.
 */
enum target { T_PREFIX, T_MAC, T_IP, T_VNI, T_U32, T_NAME, T_ON_OFF, T_WORDS, T_COMMAND, T_BATCH, T__COUNT };

#define F_JSON 0x1
#define NO_PIN_DIR "/nonexistent/vpcbpf-fuzz" /* commands must fail at the store, never reach a datapath */

static int out_fd = -1, err_fd = -1; /* temporary files standing in for stdout and stderr */

#define CHECK(cond, ...)                                                      \
	do {                                                                  \
		if (!(cond)) {                                                \
			fprintf(report, "cli_fuzz: invariant broken: " __VA_ARGS__); \
			fprintf(report, "\n");                                \
			fflush(report);                                       \
			abort();                                              \
		}                                                             \
	} while (0)

static FILE *report; /* the real stderr, kept for failures and sanitizer reports */

static int quiet_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int saved = dup(2);
	char out_path[] = "/tmp/vpcbpf-cli-fuzz-out.XXXXXX", err_path[] = "/tmp/vpcbpf-cli-fuzz-err.XXXXXX";

	report = fdopen(saved, "w");
	setvbuf(report, NULL, _IONBF, 0);
	__sanitizer_set_report_fd((void *)(long)saved);
	out_fd = mkstemp(out_path);
	err_fd = mkstemp(err_path);
	unlink(out_path);
	unlink(err_path);
	if (out_fd < 0 || err_fd < 0) {
		perror("cli_fuzz: mkstemp");
		exit(1);
	}
	/* what a command may touch stays private to this process when it can be */
	if (unshare(CLONE_NEWNS | CLONE_NEWNET) == 0)
		(void)0;
	libbpf_set_print(quiet_libbpf);
	objects_init(commands);
	snprintf(opts.pin_dir, sizeof(opts.pin_dir), "%s", NO_PIN_DIR);
	return 0;
}

/* Points fd (1 or 2) at an empty temporary file; returns the file. */
static void capture(int fd, int tmp)
{
	if (ftruncate(tmp, 0) || lseek(tmp, 0, SEEK_SET) < 0 || dup2(tmp, fd) < 0)
		abort();
}

static size_t captured(int tmp, char *buf, size_t cap)
{
	ssize_t n;

	if (lseek(tmp, 0, SEEK_SET) < 0)
		abort();
	n = read(tmp, buf, cap - 1);
	buf[n < 0 ? 0 : n] = '\0';
	return n < 0 ? 0 : (size_t)n;
}

static void quiet_begin(int *saved_out, int *saved_err)
{
	fflush(stdout);
	fflush(stderr);
	*saved_out = dup(1);
	*saved_err = dup(2);
	capture(1, out_fd);
	capture(2, err_fd);
}

static void quiet_end(int saved_out, int saved_err)
{
	fflush(stdout);
	fflush(stderr);
	dup2(saved_out, 1);
	dup2(saved_err, 2);
	close(saved_out);
	close(saved_err);
}

static void fuzz_prefix(const char *s)
{
	__be32 p, p2;
	__u8 l, l2;
	char buf[20];

	if (parse_prefix(s, &p, &l))
		return;
	CHECK(l <= 32, "prefix \"%s\" has length %u", s, l);
	CHECK((p & ~prefix_mask(l)) == 0, "prefix \"%s\" accepted with host bits", s);
	prefix_str(p, l, buf);
	CHECK(parse_prefix(buf, &p2, &l2) == 0 && p2 == p && l2 == l, "prefix \"%s\" prints as \"%s\", which does not parse back", s, buf);
	/* the address is written one way; the length in decimal digits (a bare address is a /32) */
	{
		const char *slash = strchr(s, '/'), *bslash = strchr(buf, '/');
		size_t alen = slash ? (size_t)(slash - s) : strlen(s);

		CHECK(alen == (size_t)(bslash - buf) && !strncmp(s, buf, alen), "prefix \"%s\" prints as \"%s\"", s, buf);
		CHECK(!slash || (slash[1] && strspn(slash + 1, "0123456789") == strlen(slash + 1)),
		      "prefix \"%s\" accepted with a length that is not decimal digits", s);
	}
}

static void fuzz_mac(const char *s)
{
	__u8 mac[6], mac2[6];
	char buf[18];

	if (parse_mac(s, mac))
		return;
	CHECK(!(mac[0] & 1), "MAC \"%s\" accepted as multicast", s);
	mac_str(mac, buf);
	CHECK(parse_mac(buf, mac2) == 0 && !memcmp(mac, mac2, 6), "MAC \"%s\" prints as \"%s\", which does not parse back", s, buf);
	CHECK(!strcasecmp(buf, s), "MAC \"%s\" accepted, but it is %s", s, buf);
}

static void fuzz_ip(const char *s)
{
	__be32 ip, ip2;
	char buf[16];

	if (parse_ip(s, &ip))
		return;
	CHECK(ip_str(ip, buf) && parse_ip(buf, &ip2) == 0 && ip2 == ip, "address \"%s\" does not print back", s);
	CHECK(!strcmp(buf, s), "address \"%s\" accepted, but it is %s", s, buf);
}

static void fuzz_vni(const char *s)
{
	__u32 vni, vni2;
	char buf[16];

	if (parse_vni(s, &vni))
		return;
	CHECK(vni >= VNI_MIN && vni <= VNI_MAX, "VNI \"%s\" accepted as %u", s, vni);
	/* decimal, or 0x hex, or 0 octal as iproute2 takes them; no blanks, no signs */
	CHECK(strspn(s, "0123456789abcdefABCDEFxX") == strlen(s) && s[0] >= '0' && s[0] <= '9',
	      "VNI \"%s\" accepted with characters that are no number", s);
	snprintf(buf, sizeof(buf), "%u", vni);
	CHECK(parse_vni(buf, &vni2) == 0 && vni2 == vni, "VNI \"%s\" prints as \"%s\", which does not parse back", s, buf);
}

static void fuzz_u32(const char *s, const uint8_t *range, size_t n)
{
	__u32 min = 0, max = UINT32_MAX, v;

	if (n >= 8) {
		memcpy(&min, range, 4);
		memcpy(&max, range + 4, 4);
	}
	if (parse_u32(s, "number", &v, min, max))
		return;
	CHECK(v >= min && v <= max, "\"%s\" accepted as %u outside %u..%u", s, v, min, max);
}

static void fuzz_name(const char *s)
{
	char name[NAME_LEN];
	size_t n;

	memset(name, 'x', sizeof(name));
	if (parse_name(s, "name", name))
		return;
	n = strnlen(name, sizeof(name));
	CHECK(n > 0 && n < NAME_LEN && !strcmp(name, s), "name \"%s\" stored as something else", s);
	CHECK(strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") == n,
	      "name \"%s\" accepted with a character outside [A-Za-z0-9._-]", s);
}

static void fuzz_on_off(const char *s)
{
	bool v;

	if (parse_on_off(s, "switch", &v))
		return;
	CHECK(!strcmp(s, v ? "on" : "off"), "\"%s\" accepted as %s", s, v ? "on" : "off");
}

#define MAX_WORDS 256

static void fuzz_words(const char *s, int max)
{
	size_t len = strlen(s);
	char *line = malloc(len + 1), *again;
	char *words[MAX_WORDS], *words2[MAX_WORDS];
	bool rejoinable = true;
	int n, n2;
	size_t pos = 0;

	memcpy(line, s, len + 1);
	n = split_words(line, words, max);
	if (n < 0) {
		CHECK(n == -E2BIG || n == -EINVAL, "split_words returned %d", n);
		free(line);
		return;
	}
	CHECK(n <= max, "split_words gave %d words, max %d", n, max);
	for (int i = 0; i < n; i++) {
		size_t off = (size_t)(words[i] - line), wl;
		bool quoted = off > 0 && s[off - 1] == '"';

		CHECK(words[i] >= line && off <= len, "word %d outside the line", i);
		CHECK(off >= pos, "word %d overlaps the one before", i);
		wl = strlen(words[i]);
		CHECK(off + wl <= len, "word %d runs past the line", i);
		CHECK(!memcmp(words[i], s + off, wl), "word %d is not the text of the line", i);
		if (!quoted)
			CHECK(wl > 0 && !strpbrk(words[i], " \t\r"), "unquoted word %d \"%s\" is empty or has a blank", i, words[i]);
		if (wl == 0 || strpbrk(words[i], " \t\r\""))
			rejoinable = false;
		pos = off + wl;
	}
	if (rejoinable) {
		size_t total = 1;

		for (int i = 0; i < n; i++)
			total += strlen(words[i]) + 1;
		again = calloc(1, total);
		for (int i = 0; i < n; i++) {
			strcat(again, words[i]);
			strcat(again, " ");
		}
		n2 = split_words(again, words2, max);
		CHECK(n2 == n, "words joined again split into %d words, not %d", n2, n);
		for (int i = 0; i < n; i++)
			CHECK(!strcmp(words[i], words2[i]), "word %d changed when split again", i);
		free(again);
	}
	free(line);
}

/* Objects whose commands only parse and then edit or read the maps: safe to run without a datapath. */
static const char *const map_objects[] = { "vpc", "subnet", "vxnet", "nic", "route", "v", "s", "n", "r", "sg" };

/* The text is exactly one JSON document (and a newline): what -j promises for every command. */
static json_object *one_json_document(const char *text)
{
	struct json_tokener *tok = json_tokener_new();
	size_t len = strlen(text);
	json_object *o;

	while (len && text[len - 1] == '\n')
		len--;
	o = json_tokener_parse_ex(tok, text, (int)len);
	if (o && (json_tokener_get_error(tok) != json_tokener_success || (size_t)tok->char_offset != len)) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

static void fuzz_command(const char *s, uint8_t flags)
{
	static char out[1 << 16], err[1 << 16];
	size_t len = strlen(s);
	char *line = malloc(len + 1);
	char *argv[MAX_WORDS + 1];
	int n, ret, saved_out, saved_err, lines = 0;

	memcpy(line, s, len + 1);
	n = split_words(line, argv + 1, MAX_WORDS);
	if (n < 0) {
		free(line);
		return;
	}
	argv[0] = (char *)map_objects[(flags >> 1) % (sizeof(map_objects) / sizeof(map_objects[0]))];
	opts.json = flags & F_JSON;
	quiet_begin(&saved_out, &saved_err);
	ret = run_command(n + 1, argv);
	if (!ret)
		pr_done();
	pr_flush();
	store_release();
	quiet_end(saved_out, saved_err);
	captured(out_fd, out, sizeof(out));
	captured(err_fd, err, sizeof(err));
	for (char *c = err; *c; c++)
		lines += *c == '\n';
	if (ret) {
		CHECK(ret == 1, "command returned %d", ret);
		CHECK(lines == 1, "a failing command wrote %d lines on stderr:\n%s", lines, err);
		if (opts.json) {
			json_object *o = one_json_document(out);

			json_object *code = NULL;

			CHECK(o && json_object_is_type(o, json_type_object) && json_object_object_length(o) == 2 &&
				      json_object_object_get_ex(o, "error", NULL) && json_object_object_get_ex(o, "code", &code) &&
				      json_object_is_type(code, json_type_int) && json_object_get_int(code) == error_status &&
				      (error_status == EXIT_REFUSED || error_status == EXIT_ENV),
			      "-j error output is not {\"error\": ..., \"code\": %d}: %s", error_status, out);
			json_object_put(o);
		} else {
			CHECK(out[0] == '\0', "a failing command printed on stdout: %s", out);
		}
	} else {
		CHECK(lines == 0, "a succeeding command wrote on stderr: %s", err);
		if (opts.json) {
			json_object *o = one_json_document(out);

			CHECK(o, "-j output of a succeeding command is not one JSON document: %s", out);
			json_object_put(o);
		}
	}
	opts.json = false;
	free(line);
}

static void fuzz_batch(const uint8_t *text, size_t size)
{
	static char err[1 << 16];
	struct txn_state st;
	unsigned int ncmds = 0;
	int saved_out, saved_err, ret, lines = 0;
	FILE *f = fmemopen((void *)text, size, "r");

	if (!f)
		return;
	txn_state_init(&st);
	quiet_begin(&saved_out, &saved_err);
	ret = read_batch(f, "fuzz", &st, &ncmds);
	quiet_end(saved_out, saved_err);
	fclose(f);
	txn_state_free(&st);
	captured(err_fd, err, sizeof(err));
	for (char *c = err; *c; c++)
		lines += *c == '\n';
	CHECK(ret == 0 || ret == 1, "read_batch returned %d", ret);
	CHECK(ret ? lines == 1 && !strncmp(err, "vpcbpf: fuzz:", 13) : lines == 0,
	      "read_batch returned %d with %d lines on stderr: %s", ret, lines, err);
	CHECK(err_context[0] == '\0', "read_batch left an error context behind");
}

/* jdoc's value v against json-c's: same type, ints, strings, members (json-c keeps a duplicate key's last value). */
static void json_same(const struct jval *v, json_object *jc, int depth)
{
	static const enum json_type want[] = { [J_NULL] = json_type_null, [J_BOOL] = json_type_boolean,
		[J_INT] = json_type_int, [J_DOUBLE] = json_type_double, [J_STRING] = json_type_string,
		[J_ARRAY] = json_type_array, [J_OBJECT] = json_type_object };

	CHECK(v->type <= J_OBJECT && depth <= 32, "jdoc gave type %u at depth %d", v->type, depth);
	CHECK(json_object_get_type(jc) == want[v->type], "jdoc read a %u where json-c read a %d", v->type, json_object_get_type(jc));
	if (v->type == J_BOOL || v->type == J_INT)
		CHECK(v->i == json_object_get_int64(jc), "jdoc read %lld, json-c %lld", (long long)v->i, (long long)json_object_get_int64(jc));
	/* json-c writes a lone UTF-16 surrogate (\ud800) as U+FFFD, yajl as '?' or the surrogate's own 3 bytes */
	if (v->type == J_STRING && !strstr(json_object_get_string(jc), "\xef\xbf\xbd"))
		CHECK(!strcmp(v->s, json_object_get_string(jc)), "jdoc read \"%s\", json-c \"%s\"", v->s, json_object_get_string(jc));
	for (uint32_t i = 0; v->type == J_ARRAY && i < v->n; i++)
		json_same(&v->items[i], json_object_array_get_idx(jc, i), depth + 1);
	CHECK(v->type != J_ARRAY || v->n == json_object_array_length(jc), "array lengths differ");
	for (uint32_t i = 0, last = 1; v->type == J_OBJECT && i < v->n; i++, last = 1) {
		json_object *m;
		for (uint32_t j = i + 1; j < v->n; j++)
			last = last && strcmp(v->items[i].key, v->items[j].key);
		CHECK(json_object_object_get_ex(jc, v->items[i].key, &m), "json-c has no member \"%s\"", v->items[i].key);
		if (last)
			json_same(&v->items[i], m, depth + 1);
	}
}

/* apply's JSON reader: refuses inside the text, or reads what json-c's strict reading reads. */
static void fuzz_json(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), *copy = malloc(size + 1);
	struct jdoc doc;
	size_t off;

	memcpy(text, data, size);
	text[size] = '\0';
	memcpy(copy, text, size + 1);
	json_tokener *tok = json_tokener_new_ex(JSON_TOKENER_DEFAULT_DEPTH);
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	json_object *jc = json_tokener_parse_ex(tok, copy, (int)size + 1); /* the NUL ends a number at the end */
	size_t end = json_tokener_get_parse_end(tok);
	while (end < size && strchr(" \t\n\r", copy[end]) && copy[end])
		end++;
	bool took = json_tokener_get_error(tok) == json_tokener_success && end >= size; /* jc is NULL for null */
	if (jdoc_parse(text, size, &doc, &off)) {
		CHECK(off <= size, "jdoc refused at %zu of %zu bytes", off, size);
	} else {
		CHECK(took, "jdoc took \"%.200s\", json-c refused it: %s", copy, json_tokener_error_desc(json_tokener_get_error(tok)));
		json_same(&doc.root, jc, 1);
		jdoc_free(&doc);
	}
	json_object_put(jc);
	json_tokener_free(tok);
	free(text);
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;
	size_t len;

	if (size < 2)
		return 0;
	if (data[0] == 'J') {
		fuzz_json(data + 2, size - 2);
		return 0;
	}
	if (data[0] % T__COUNT == T_BATCH) {
		/* the whole rest, NULs and newlines included: it is a file */
		fuzz_batch(data + 2, size - 2);
		return 0;
	}
	len = strnlen((const char *)data + 2, size - 2);
	s = malloc(len + 1);
	memcpy(s, data + 2, len);
	s[len] = '\0';
	/* parse errors go to the captured stderr: a million of them are no use to anyone */
	if (data[0] % T__COUNT != T_COMMAND) {
		int saved_out, saved_err;

		quiet_begin(&saved_out, &saved_err);
		switch (data[0] % T__COUNT) {
		case T_PREFIX: fuzz_prefix(s); break;
		case T_MAC: fuzz_mac(s); break;
		case T_IP: fuzz_ip(s); break;
		case T_VNI: fuzz_vni(s); break;
		case T_U32: fuzz_u32(s, data + 2 + len + (len + 2 < size), size - 2 - len - (len + 2 < size)); break;
		case T_NAME: fuzz_name(s); break;
		case T_ON_OFF: fuzz_on_off(s); break;
		case T_WORDS: fuzz_words(s, 1 + data[1] % MAX_WORDS); break;
		}
		pr_flush();
		quiet_end(saved_out, saved_err);
	} else {
		fuzz_command(s, data[1]);
	}
	free(s);
	return 0;
}
