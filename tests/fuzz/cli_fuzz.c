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
#include <sanitizer/common_interface_defs.h>
#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/objects.h"
#include "cli/jdoc.h"
#include "cli/json.h"
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
 *    the corpus keeps its targets) refuses inside the text with a reason,
 *    or gives a tree at most 32 deep equal to the small-document reader's
 *    (cli/json.c: its own tree and number handling on the same yajl lexer);
 *    both refuse the same texts, but for nesting (32 deep for jdoc, 64 for
 *    json_parse); and what json_parse read, the writer (json_dump) writes
 *    to a text that reads back to the same bytes again;
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
static yajl_val one_json_document(const char *text)
{
	size_t len = strlen(text);

	while (len && text[len - 1] == '\n')
		len--;
	return json_parse(text, len, NULL, 0);
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
			yajl_val o = one_json_document(out);
			int64_t code = -1;

			CHECK(o && o->type == yajl_t_object && json_len(o) == 2 && json_get_string(o, "error") &&
				      !json_get_int(o, "code", &code) && code == error_status &&
				      (error_status == EXIT_REFUSED || error_status == EXIT_ENV),
			      "-j error output is not {\"error\": ..., \"code\": %d}: %s", error_status, out);
			json_free(o);
		} else {
			CHECK(out[0] == '\0', "a failing command printed on stdout: %s", out);
		}
	} else {
		CHECK(lines == 0, "a succeeding command wrote on stderr: %s", err);
		if (opts.json) {
			yajl_val o = one_json_document(out);

			CHECK(o, "-j output of a succeeding command is not one JSON document: %s", out);
			json_free(o);
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

/* jdoc's value v against json_parse's: same type, integers (jdoc clamps to int64), strings, members (the last of equal keys). */
static void json_same(const struct jval *v, yajl_val y, int depth)
{
	CHECK(v->type <= J_OBJECT && depth <= 32, "jdoc gave type %u at depth %d", v->type, depth);
	CHECK(y, "json_parse has no value where jdoc has a %u", v->type);
	switch (v->type) {
	case J_NULL:
		CHECK(y->type == yajl_t_null, "jdoc read null, json_parse a %s", json_type_name(y));
		break;
	case J_BOOL:
		CHECK(y->type == (v->i ? yajl_t_true : yajl_t_false), "jdoc read %s, json_parse a %s",
		      v->i ? "true" : "false", json_type_name(y));
		break;
	case J_INT: {
		int64_t i;
		CHECK(y->type == yajl_t_number && !strpbrk(y->u.number.r, ".eE"), "jdoc read an integer, json_parse %s",
		      y->type == yajl_t_number ? y->u.number.r : json_type_name(y));
		if (json_int(y, &i))
			CHECK(v->i == (y->u.number.r[0] == '-' ? INT64_MIN : INT64_MAX), "jdoc clamped %s to %lld",
			      y->u.number.r, (long long)v->i);
		else
			CHECK(v->i == i, "jdoc read %lld, json_parse %lld", (long long)v->i, (long long)i);
		break;
	}
	case J_DOUBLE:
		CHECK(y->type == yajl_t_number && strpbrk(y->u.number.r, ".eE"), "jdoc read a double, json_parse a %s",
		      json_type_name(y));
		break;
	case J_STRING:
		CHECK(json_string(y) && !strcmp(v->s, json_string(y)), "jdoc read \"%s\", json_parse %s", v->s,
		      json_string(y) ? json_string(y) : json_type_name(y));
		break;
	case J_ARRAY:
		CHECK(y->type == yajl_t_array && v->n == json_len(y), "jdoc read an array of %u, json_parse a %s of %zu",
		      v->n, json_type_name(y), json_len(y));
		for (uint32_t i = 0; i < v->n; i++)
			json_same(&v->items[i], json_at(y, i), depth + 1);
		break;
	case J_OBJECT:
		CHECK(y->type == yajl_t_object && v->n == json_len(y), "jdoc read an object of %u, json_parse a %s of %zu",
		      v->n, json_type_name(y), json_len(y));
		for (uint32_t i = 0, last = 1; i < v->n; i++, last = 1) {
			for (uint32_t j = i + 1; j < v->n; j++)
				last = last && strcmp(v->items[i].key, v->items[j].key);
			CHECK(json_get(y, v->items[i].key), "json_parse has no member \"%s\"", v->items[i].key);
			if (last)
				json_same(&v->items[i], json_get(y, v->items[i].key), depth + 1);
		}
		break;
	}
}

/* apply's JSON reader against the small-document reader, and the writer over what they read. */
static void fuzz_json(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), *copy = malloc(size + 1);
	char err[200];
	struct jdoc doc;
	size_t off;

	memcpy(text, data, size);
	text[size] = '\0';
	memcpy(copy, text, size + 1);
	yajl_val y = json_parse(copy, size, err, sizeof(err));
	CHECK(y || err[0], "json_parse refused \"%.200s\" without a word", copy);
	if (jdoc_parse(text, size, &doc, &off)) {
		CHECK(off <= size && doc.err[0], "jdoc refused at %zu of %zu bytes (%s)", off, size, doc.err);
		CHECK(!y || !strcmp(doc.err, "nested more than 32 deep"), "jdoc refused \"%.200s\" (%s), json_parse took it",
		      copy, doc.err);
	} else {
		CHECK(y, "jdoc took \"%.200s\", json_parse refused it: %s", copy, err);
		json_same(&doc.root, y, 1);
		jdoc_free(&doc);
	}
	/* written, read back and written again: the same bytes (a string that is not strict UTF-8 is refused) */
	char *d1 = y ? json_dump(y, 0) : NULL;
	if (d1) {
		yajl_val y2 = json_parse(d1, strlen(d1), err, sizeof(err));
		CHECK(y2, "json_dump wrote \"%.200s\", which json_parse refuses: %s", d1, err);
		char *d2 = json_dump(y2, (uint8_t)size & 1 ? JW_PRETTY : 0);
		yajl_val y3 = d2 ? json_parse(d2, strlen(d2), err, sizeof(err)) : NULL;
		char *d3 = y3 ? json_dump(y3, 0) : NULL;
		CHECK(d3 && !strcmp(d1, d3), "written twice, \"%.200s\" became \"%.200s\"", d1, d3 ? d3 : "(refused)");
		free(d2);
		free(d3);
		json_free(y2);
		json_free(y3);
	}
	free(d1);
	json_free(y);
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
