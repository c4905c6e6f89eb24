/* tests/fuzz/cni_fuzz.c — libFuzzer target over the CNI plugin's stdin: the netconf, its IPAM ranges, prevResult, the error JSON. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cni/cni.h"

/*
 * Input: the bytes a runtime writes to the plugin's stdin. Invariants (abort on violation):
 *  - netconf_parse (as for CHECK, which reads the most) either accepts, with every field in its range, or
 *    records exactly the error it returns: 1 (version), 6 (not JSON, not an object) or 7 (a field);
 *  - the IPAM's ranges are read as at most MAX_RANGES subnets or refused with 7;
 *  - prevResult's first address, when there is one, has a prefix length 1..32;
 *  - whatever the message says (any bytes of the input quoted in it), the error goes out as one JSON
 *    object with cniVersion, code and msg in that order, the code the recorded one;
 *  - nothing leaks (LeakSanitizer), no tree outlives its input.
 */
#define MAX_RANGES 16

static FILE *report;
static int out_fd = -1; /* a temporary file standing in for stdout */

#define CHECK(cond, ...)                                                       \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(report, "cni_fuzz: invariant broken: " __VA_ARGS__); \
			fprintf(report, "\n");                                 \
			fflush(report);                                        \
			abort();                                               \
		}                                                              \
	} while (0)

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char path[] = "/tmp/cni_fuzz.XXXXXX";

	report = fdopen(dup(2), "w");
	out_fd = mkstemp(path);
	if (out_fd < 0 || !report)
		abort();
	unlink(path);
	return 0;
}

/* The error as the plugin prints it, read back and checked. */
static void check_error_json(int code)
{
	static char text[8192];
	int saved = dup(1);
	ssize_t n;

	fflush(stdout);
	if (ftruncate(out_fd, 0) || lseek(out_fd, 0, SEEK_SET) || dup2(out_fd, 1) < 0)
		abort();
	cni_print_error(NULL);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	n = pread(out_fd, text, sizeof(text) - 1, 0);
	CHECK(n > 1 && text[n - 1] == '\n', "the error is not one line");
	text[n] = '\0';
	char why[128];
	yajl_val o = json_parse(text, (size_t)n, why, sizeof(why));
	int64_t got;
	CHECK(o, "the error is not JSON (%s): %s", why, text);
	CHECK(json_len(o) == 3 && !strcmp(json_key_at(o, 0), "cniVersion") && !strcmp(json_key_at(o, 1), "code") &&
		      !strcmp(json_key_at(o, 2), "msg"),
	      "the error's members: %s", text);
	CHECK(!json_get_int(o, "code", &got) && got == code, "code %lld, recorded %d", (long long)got, code);
	CHECK(json_get_string(o, "msg") && *json_get_string(o, "msg"), "no message: %s", text);
	json_free(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cni_addr ranges[MAX_RANGES], a;
	struct netconf nc;
	char *raw = malloc(size + 1);
	int err, n;

	if (!raw)
		return 0;
	memcpy(raw, data, size);
	raw[size] = '\0'; /* as main reads stdin */
	memset(&nc, 0, sizeof(nc));
	cni_error_clear();
	err = netconf_parse(&nc, raw, size, "CHECK");
	CHECK(err == cni_error_code(), "returned %d, recorded %d", err, cni_error_code());
	if (err) {
		CHECK(err == CNI_ERR_VERSION || err == CNI_ERR_DECODE || err == CNI_ERR_CONFIG, "error %d", err);
		check_error_json(err);
		goto out;
	}
	CHECK(nc.cni_version && !strcmp(nc.cni_version, CNI_VERSION), "cniVersion");
	CHECK(nc.name && *nc.name, "name");
	CHECK(nc.vpc >= 1 && nc.vpc <= VNI_MAX, "vpc %u", nc.vpc);
	CHECK(nc.mtu == 0 || (nc.mtu >= 68 && nc.mtu <= 65535), "mtu %d", nc.mtu);
	CHECK(nc.apply_timeout_ms >= 1000 && nc.apply_timeout_ms <= 600000, "applyTimeout %d", nc.apply_timeout_ms);
	CHECK(nc.ipam_type && *nc.ipam_type && !strchr(nc.ipam_type, '/'), "ipam type");
	CHECK(YAJL_IS_OBJECT(nc.ipam) && YAJL_IS_OBJECT(nc.prev_result), "ipam, prevResult");
	CHECK(!nc.etcd == !nc.host && !(nc.etcd && nc.pin_dir), "cluster mode fields");
	err = netconf_ipam_subnets(&nc, ranges, MAX_RANGES, &n);
	CHECK(err == cni_error_code() && (err == 0 || err == CNI_ERR_CONFIG), "ipam ranges: error %d", err);
	CHECK(n >= 0 && n <= MAX_RANGES, "%d ranges", n);
	if (err)
		check_error_json(err);
	if (!result_addr(nc.prev_result, &a))
		CHECK(a.len >= 1 && a.len <= 32, "prevResult length %u", a.len);
out:
	json_free(nc.root);
	free(raw);
	return 0;
}
