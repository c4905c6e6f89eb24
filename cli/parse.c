/* cli/parse.c — words to values (VNI, IP, prefix, MAC, numbers) and the one-line error rule. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include "cli/cli.h"

char err_context[PATH_MAX + 32];
char fail_last[1024];
int error_status;

/* Control characters of a bad word become \xNN, so that an error stays one line and no terminal escape. */
static void escape_controls(const char *in, char *out, size_t cap)
{
	size_t o = 0;

	for (; *in && o + 5 <= cap; in++) {
		unsigned char c = (unsigned char)*in;
		if (c < 0x20 || c == 0x7f)
			o += snprintf(out + o, cap - o, "\\x%02x", c);
		else
			out[o++] = (char)c;
	}
	out[o < cap ? o : cap - 1] = '\0';
}

static int vfail(int status, const char *suffix, const char *fmt, va_list ap)
{
	char raw[1024], msg[1024];
	int n = vsnprintf(raw, sizeof(raw), fmt, ap);
	if (suffix && n >= 0 && (size_t)n < sizeof(raw))
		snprintf(raw + n, sizeof(raw) - n, ": %s", suffix);
	escape_controls(raw, msg, sizeof(msg));
	snprintf(fail_last, sizeof(fail_last), "%s", msg);
	fprintf(stderr, "vpcbpf: %s%s\n", err_context, msg);
	error_status = status;
	if (opts.json) {
		char full[sizeof(msg) + sizeof(err_context)];
		snprintf(full, sizeof(full), "%s%s", err_context, msg);
		pr_error(full, status);
	}
	return 1;
}

/* A system call refused for want of privileges or kernel support is the environment's fault, not the input's. */
static int errno_status(int err)
{
	err = err < 0 ? -err : err;
	return err == EPERM || err == EACCES || err == ENOSYS || err == EOPNOTSUPP ? EXIT_ENV : EXIT_REFUSED;
}

int fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfail(EXIT_REFUSED, NULL, fmt, ap);
	va_end(ap);
	return 1;
}

int fail_errno(int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfail(errno_status(err), strerror(err < 0 ? -err : err), fmt, ap);
	va_end(ap);
	return 1;
}

int fail_env(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfail(EXIT_ENV, NULL, fmt, ap);
	va_end(ap);
	return 1;
}

int fail_env_errno(int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfail(EXIT_ENV, strerror(err < 0 ? -err : err), fmt, ap);
	va_end(ap);
	return 1;
}

bool matches(const char *word, const char *keyword)
{
	size_t n = strlen(word);
	return n > 0 && n <= strlen(keyword) && strncmp(word, keyword, n) == 0;
}

int keyword_find(const char *word, const char *const *kws, int n, unsigned long exact_only, const char *where)
{
	char names[256] = "";
	int found = -1, count = 0;

	for (int i = 0; i < n; i++)
		if (!strcmp(word, kws[i]))
			return i;
	/* a prefix names a keyword only when it names no other: first match would be a guess ("v": vpc or via?) */
	for (int i = 0; i < n; i++) {
		if (!matches(word, kws[i]))
			continue;
		snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s", count++ ? ", " : "", kws[i]);
		found = i;
	}
	if (count > 1)
		return fail("%s%sambiguous keyword \"%s\": %s", where ? where : "", where ? ": " : "", word, names), -2;
	if (count == 1 && !((exact_only >> found) & 1UL))
		return found;
	return -1;
}

int unknown_word(const char *word)
{
	return fail("unknown keyword \"%s\" (try --help)", word);
}

const char *next_value(int *argc, char ***argv, const char *kw)
{
	if (*argc < 2) {
		fail("missing value after \"%s\"", kw);
		return NULL;
	}
	(*argc)--;
	(*argv)++;
	return **argv;
}

int parse_u32(const char *s, const char *what, __u32 *v, __u32 min, __u32 max)
{
	char *end;
	unsigned long long x;

	errno = 0;
	/* a digit first: strtoull would also skip blanks and take a sign */
	if (!s || !isdigit((unsigned char)*s))
		return fail("invalid %s \"%s\"", what, s ? s : "");
	/* base 0 would read "010" as octal 8: a VNI typed with a leading zero must not become another VPC */
	if (s[0] == '0' && isdigit((unsigned char)s[1]))
		return fail("invalid %s \"%s\": no leading zeros (decimal, or 0x for hex)", what, s);
	x = strtoull(s, &end, 0);
	if (errno || *end || x < min || x > max)
		return fail("invalid %s \"%s\" (expected %u..%u)", what, s, min, max);
	*v = (__u32)x;
	return 0;
}

int parse_vni(const char *s, __u32 *vni)
{
	return parse_u32(s, "VNI", vni, VNI_MIN, VNI_MAX);
}

int parse_ip(const char *s, __be32 *ip)
{
	struct in_addr a;
	if (!s || inet_pton(AF_INET, s, &a) != 1)
		return fail("invalid IPv4 address \"%s\"", s ? s : "");
	*ip = a.s_addr;
	return 0;
}

/* PREFIX is ADDR/LEN with no host bits set (as `ip route` insists); a bare ADDR is a /32. */
int parse_prefix(const char *s, __be32 *prefix, __u8 *len)
{
	char addr[32];
	const char *slash = strchr(s, '/');
	__u32 l = 32;
	struct in_addr a;

	size_t alen = slash ? (size_t)(slash - s) : strlen(s);

	if (strlen(s) >= sizeof(addr))
		return fail("invalid prefix \"%s\"", s);
	memcpy(addr, s, alen); /* not snprintf: apply parses a million of these */
	addr[alen] = '\0';
	if (inet_pton(AF_INET, addr, &a) != 1)
		return fail("invalid prefix \"%s\": bad address", s);
	if (slash) {
		char *end;
		errno = 0;
		unsigned long x = strtoul(slash + 1, &end, 10);
		/* digits only: strtoul would also skip blanks and take a sign */
		if (!slash[1] || strspn(slash + 1, "0123456789") != strlen(slash + 1) || *end || errno || x > 32)
			return fail("invalid prefix \"%s\": length must be 0..32", s);
		l = (__u32)x;
	}
	if (a.s_addr & ~prefix_mask(l))
		return fail("invalid prefix \"%s\": host bits set (did you mean %s?)", s,
			    prefix_str(a.s_addr & prefix_mask(l), (__u8)l, (char[20]){0}));
	*prefix = a.s_addr;
	*len = (__u8)l;
	return 0;
}

/* Exactly xx:xx:xx:xx:xx:xx: sscanf's %x alone would also take a blank, a sign or "0x" in a byte. */
static bool mac_format_ok(const char *s)
{
	if (strlen(s) != 17)
		return false;
	for (int i = 0; i < 17; i++)
		if (i % 3 == 2 ? s[i] != ':' : !isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

int parse_mac(const char *s, __u8 mac[6])
{
	unsigned int b[6];
	char extra;
	if (!s || !mac_format_ok(s) || sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &extra) != 6 ||
	    strlen(s) != 17)
		return fail("invalid MAC address \"%s\" (expected xx:xx:xx:xx:xx:xx)", s ? s : "");
	for (int i = 0; i < 6; i++)
		mac[i] = (__u8)b[i];
	if (mac[0] & 1)
		return fail("invalid MAC address \"%s\": multicast/broadcast, a NIC needs a unicast MAC", s);
	if (!(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]))
		return fail("invalid MAC address \"%s\": all zero", s);
	return 0;
}

int parse_name(const char *s, const char *what, char out[NAME_LEN])
{
	size_t n = strlen(s);
	if (n == 0 || n >= NAME_LEN)
		return fail("invalid %s \"%s\": 1..%d characters", what, s, NAME_LEN - 1);
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
		      c == '_' || c == '.'))
			return fail("invalid %s \"%s\": use letters, digits, '-', '_' and '.'", what, s);
	}
	memset(out, 0, NAME_LEN);
	memcpy(out, s, n);
	return 0;
}

int parse_ct_quota(const char *s, __u32 *v)
{
	if (!strcmp(s, "default")) {
		*v = 0;
		return 0;
	}
	return parse_u32(s, "ct-quota", v, 1, MAX_CONNTRACK);
}

int parse_on_off(const char *s, const char *what, bool *v)
{
	if (!strcmp(s, "on"))
		*v = true;
	else if (!strcmp(s, "off"))
		*v = false;
	else
		return fail("invalid %s \"%s\" (expected on or off)", what, s);
	return 0;
}

const char *ip_str(__be32 ip, char buf[16])
{
	return inet_ntop(AF_INET, &ip, buf, 16);
}

const char *prefix_str(__be32 prefix, __u8 len, char buf[20])
{
	char a[16];
	snprintf(buf, 20, "%s/%u", ip_str(prefix, a), len);
	return buf;
}

const char *mac_str(const __u8 mac[6], char buf[18])
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
	return buf;
}
