/* tests/fuzz/pkt_fuzz.c — feeds truncated, mutated and random frames through nic_ingress and the underlay programs, checking every outcome (TAP). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "tests/unit/env.h"
#include "tests/unit/pktbuild.h"
#include "maps/store.h"
#include "pkt_check.h"
#include "pkt_mutate.h"
#include "pkt_underlay.h"
#include "pkt_veth.h"
#include "pkt_world.h"

#define TC_ACT_SHOT 2
#define TC_ACT_REDIRECT 7
#define SHOW_FAILURES 5 /* per test; the rest are only counted (and saved) */

static struct {
	uint64_t seed;
	double seconds;      /* budget of the random tests, shared equally */
	uint64_t iterations; /* cap of the random tests, shared equally; 0 = time only */
	const char *save_dir;
	int verbose;
} cfg = { .seed = 1, .seconds = 3 };

/* What one TAP test saw. */
struct tally {
	uint64_t frames, via_veth, refused, failures;
	uint64_t verdicts[2]; /* shot, redirect */
};

static struct counters now;             /* counters after the last frame */
static int veth_ready;
static uint64_t reasons_seen[DROP__MAX]; /* over the whole run */
static uint64_t kinds_seen[RK__COUNT];
static uint64_t ul_reasons_seen[DROP__MAX], ul_delivered, ul_passed, ul_xdp_dropped;
static uint64_t total_frames;
static int tap_n;

static double seconds_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void hexdump(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i += 32) {
		printf("#     %04zx ", i);
		for (size_t j = i; j < i + 32 && j < n; j++)
			printf("%02x", p[j]);
		printf("\n");
	}
}

static void save(const struct frame *f, const char *test, uint64_t iter)
{
	char path[512];
	FILE *out;

	if (!cfg.save_dir)
		return;
	mkdir(cfg.save_dir, 0755);
	snprintf(path, sizeof(path), "%s/pkt-seed%llu-%s-%llu.bin", cfg.save_dir, (unsigned long long)cfg.seed,
		 test, (unsigned long long)iter);
	for (char *c = path + strlen(cfg.save_dir) + 1; *c; c++)
		if (*c == ' ')
			*c = '_';
	out = fopen(path, "wb");
	if (!out)
		return;
	fputc(f->port, out);
	fwrite(f->data, 1, f->len, out);
	fclose(out);
	printf("#   saved as %s (replay: pkt_fuzz --replay FILE)\n", path);
}

/* Reads the counters into `now` until they differ from before (a frame sent through a veth). */
static int counters_wait(const struct counters *before)
{
	for (int i = 0; i < 1000; i++) {
		if (counters_read(&now) == 0 && memcmp(&now, before, sizeof(now)))
			return 0;
		usleep(1000);
	}
	return -1;
}

/* Runs one frame and checks it; returns 0, or -1 after reporting the failure. */
static int run_frame(const struct frame *f, struct tally *t, const char *test, const char *what, uint64_t iter)
{
	static uint8_t out[8192];
	struct counters before = now;
	struct outcome o = { .in = f, .out = out, .before = &before, .after = &now };
	char why[256];
	size_t out_len = sizeof(out);
	int verdict = -1, err, veth = 0;

	err = env_run(f->port, f->data, f->len, out, &out_len, &verdict);
	if (err == -EINVAL && veth_ready) {
		/* refused (too short for its network header): a VM can still send it, so send it like one */
		err = veth_send(f->port, f->data, f->len);
		if (err) {
			snprintf(why, sizeof(why), "cannot send through the veth: %s", strerror(-err));
			goto failed;
		}
		if (counters_wait(&before)) {
			snprintf(why, sizeof(why), "sent through the veth, no counter moved within a second");
			goto failed;
		}
		t->via_veth++;
		veth = 1;
		/* the verdict is not seen on this path: a drop must be counted, and nothing received */
		verdict = TC_ACT_SHOT;
		out_len = 0;
	} else if (err) {
		snprintf(why, sizeof(why), "BPF_PROG_TEST_RUN failed: %s", strerror(-err));
		goto failed;
	}
	t->frames++;
	total_frames++;
	if (!veth && counters_read(&now)) {
		snprintf(why, sizeof(why), "cannot read the counters");
		goto failed;
	}
	o.out_len = out_len;
	o.verdict = verdict;
	if (verdict == TC_ACT_SHOT)
		t->verdicts[0]++;
	else if (verdict == TC_ACT_REDIRECT)
		t->verdicts[1]++;
	if (check_outcome(&o, why, sizeof(why)))
		goto failed;
	if (o.reason >= 0)
		reasons_seen[o.reason]++;
	if (o.kind >= 0)
		kinds_seen[o.kind]++;
	return 0;

failed:
	if (++t->failures <= SHOW_FAILURES) {
		printf("# FAIL %s%s: %s\n", what, veth ? " (sent through the veth)" : "", why);
		printf("#   port %d, %zu bytes in, verdict %d, %zu bytes out; in:\n", f->port, f->len, verdict,
		       out_len);
		hexdump(f->data, f->len < 128 ? f->len : 128);
		if (verdict == TC_ACT_REDIRECT) {
			printf("#   out:\n");
			hexdump(out, out_len < 128 ? out_len : 128);
		}
		save(f, test, iter);
	}
	return -1;
}

/* Runs one frame through the underlay programs and checks it; returns 0, or -1 after reporting. */
static int run_underlay(const struct frame *f, struct tally *t, const char *test, const char *what, uint64_t iter)
{
	struct ul_result res;
	char why[256];

	if (underlay_check(f, &now, &res, why, sizeof(why))) {
		if (++t->failures <= SHOW_FAILURES) {
			printf("# FAIL %s: %s\n", what, why);
			printf("#   %zu bytes, XDP verdict %d, tc verdict %d; in:\n", f->len, res.xdp, res.tc);
			hexdump(f->data, f->len < 128 ? f->len : 128);
			save(f, test, iter);
		}
		return -1;
	}
	t->frames++;
	total_frames++;
	t->refused += res.tc_refused;
	if (res.tc == 2)
		t->verdicts[0]++;
	else if (res.tc == 7)
		t->verdicts[1]++;
	if (res.reason >= 0)
		ul_reasons_seen[res.reason]++;
	ul_delivered += res.tc == 7;
	ul_passed += res.tc == 0;
	ul_xdp_dropped += res.xdp == 1;
	return 0;
}

static void fixture_frame(int i, struct frame *f)
{
	struct pb b;

	pb_init(&b);
	fixtures[i].build(&b);
	memcpy(f->data, b.data, b.len);
	f->len = b.len;
	f->port = fixtures[i].port;
}

static int tap_failed;

static void tap_result(const char *name, const struct tally *t, double secs)
{
	tap_failed += t->failures != 0;
	printf("%s %d - %s\n", t->failures ? "not ok" : "ok", ++tap_n, name);
	printf("#   %llu frames in %.2fs (%.0f/s): %llu shot, %llu redirected, %llu failed\n", (unsigned long long)t->frames,
	       secs, secs > 0 ? t->frames / secs : 0.0, (unsigned long long)t->verdicts[0],
	       (unsigned long long)t->verdicts[1], (unsigned long long)t->failures);
	if (t->via_veth)
		printf("#   %llu of them refused by BPF_PROG_TEST_RUN (too short for their network header), sent through "
		       "the veth instead\n", (unsigned long long)t->via_veth);
	if (t->refused)
		printf("#   %llu of them refused by BPF_PROG_TEST_RUN in tc (too short for their network header, so "
		       "no VXLAN): checked in XDP only\n", (unsigned long long)t->refused);
	fflush(stdout);
}

/* Every fixture whole, on every port, and cut at every length. */
static void test_fixtures(void)
{
	struct tally t = { 0 };
	double start = seconds_now();
	char what[128];

	for (int i = 0; i < fixture_count; i++) {
		struct frame f;

		fixture_frame(i, &f);
		for (int port = 0; port < ENV_PORTS; port++) {
			f.port = port;
			snprintf(what, sizeof(what), "fixture \"%s\" on port %d", fixtures[i].name, port);
			run_frame(&f, &t, "fixtures", what, 0);
		}
		fixture_frame(i, &f);
		for (size_t cut = FRAME_MIN; cut < f.len; cut++) {
			struct frame c = f;

			c.len = cut;
			snprintf(what, sizeof(what), "fixture \"%s\" cut to %zu bytes", fixtures[i].name, cut);
			run_frame(&c, &t, "fixtures", what, cut);
		}
	}
	tap_result("every fixture whole on every port, and truncated at every length", &t, seconds_now() - start);
}

/* One strategy for its share of the budget; the sequence depends only on the seed. */
static void test_strategy(enum strategy s)
{
	struct rng r = { cfg.seed * 0x100000001b3ULL + s };
	double start = seconds_now(), budget = cfg.seconds / (MUT__COUNT + 1);
	uint64_t cap = cfg.iterations ? (cfg.iterations + MUT__COUNT) / (MUT__COUNT + 1) : UINT64_MAX;
	struct tally t = { 0 };
	char what[160], name[96];

	for (uint64_t iter = 0; iter < cap; iter++) {
		struct frame f, other;
		int i = rng_below(&r, fixture_count), j = rng_below(&r, fixture_count);

		if ((iter & 63) == 0 && seconds_now() - start >= budget)
			break;
		fixture_frame(i, &f);
		fixture_frame(j, &other);
		mutate(&r, s, &f, &other);
		snprintf(what, sizeof(what), "%s of \"%s\", seed %llu iteration %llu", strategy_names[s],
			 fixtures[i].name, (unsigned long long)cfg.seed, (unsigned long long)iter);
		run_frame(&f, &t, strategy_names[s], what, iter);
	}
	snprintf(name, sizeof(name), "%s (seed %llu)", strategy_names[s], (unsigned long long)cfg.seed);
	tap_result(name, &t, seconds_now() - start);
}

/* Every underlay fixture whole and cut at every length, then mutants, outer and inner. */
static void test_underlay(void)
{
	struct rng r = { cfg.seed * 0x100000001b3ULL + 977 };
	double start = seconds_now(), budget = cfg.seconds / (MUT__COUNT + 1);
	uint64_t cap = cfg.iterations ? (cfg.iterations + MUT__COUNT) / (MUT__COUNT + 1) : UINT64_MAX;
	struct tally t = { 0 };
	char what[160], name[96];

	for (int i = 0; i < underlay_fixture_count; i++) {
		struct frame f;
		const char *fname = underlay_fixture(i, &f);

		for (size_t cut = FRAME_MIN; cut <= f.len; cut++) {
			struct frame c = f;

			c.len = cut;
			snprintf(what, sizeof(what), "underlay fixture \"%s\" cut to %zu bytes", fname, cut);
			run_underlay(&c, &t, "underlay fixtures", what, cut);
		}
	}
	tap_result("underlay: every fixture whole and truncated at every length", &t, seconds_now() - start);

	memset(&t, 0, sizeof(t));
	start = seconds_now();
	for (uint64_t iter = 0; iter < cap; iter++) {
		struct frame f, other;
		int i = rng_below(&r, underlay_fixture_count), j = rng_below(&r, underlay_fixture_count);
		enum strategy s = rng_below(&r, MUT__COUNT);
		const char *fname;

		if ((iter & 63) == 0 && seconds_now() - start >= budget)
			break;
		fname = underlay_fixture(i, &f);
		underlay_fixture(j, &other);
		underlay_mutate(&r, s, &f, &other);
		snprintf(what, sizeof(what), "underlay %s of \"%s\", seed %llu iteration %llu", strategy_names[s], fname,
			 (unsigned long long)cfg.seed, (unsigned long long)iter);
		run_underlay(&f, &t, "underlay", what, iter);
	}
	snprintf(name, sizeof(name), "underlay: mutated VXLAN and other underlay frames (seed %llu)",
		 (unsigned long long)cfg.seed);
	tap_result(name, &t, seconds_now() - start);
}

static void test_underlay_reach(void)
{
	static const int want[] = { DROP_UNKNOWN_VNI, DROP_NOT_LOCAL, DROP_NO_NIC, DROP_VXLAN_MALFORMED,
				    DROP_UNSUPPORTED, DROP_MALFORMED };
	int missing = 0;

	printf("#   underlay: %llu delivered, %llu passed to the host, %llu dropped in XDP; tc drops by reason:",
	       (unsigned long long)ul_delivered, (unsigned long long)ul_passed, (unsigned long long)ul_xdp_dropped);
	for (int r = 1; r < DROP__MAX; r++)
		if (ul_reasons_seen[r])
			printf(" %s=%llu", drop_reason_name(r), (unsigned long long)ul_reasons_seen[r]);
	printf("\n");
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		if (!ul_reasons_seen[want[i]]) {
			printf("# underlay never reached drop reason %s\n", drop_reason_name(want[i]));
			missing++;
		}
	}
	missing += !ul_delivered || !ul_passed || !ul_xdp_dropped;
	printf("%s %d - the underlay frames were delivered, passed, dropped in XDP, and reached every drop reason\n",
	       missing ? "not ok" : "ok", ++tap_n);
	tap_failed += missing != 0;
}

/* The fixtures reach every decision the datapath makes locally; the mutants must not lose that. */
static void test_reach(void)
{
	static const int want[] = { DROP_MALFORMED, DROP_UNSUPPORTED, DROP_UNKNOWN_PORT, DROP_SPOOF_MAC,
				    DROP_SPOOF_IP, DROP_NO_ROUTE, DROP_NO_NIC, DROP_BLACKHOLE,
				    DROP_TTL_EXCEEDED, DROP_NEXTHOP_UNKNOWN, DROP_PEER_UNKNOWN,
				    DROP_FRAG_NEEDED, DROP_UNDERLAY_UNREACHABLE, DROP_SG_EGRESS,
				    DROP_SG_INGRESS, DROP_IP_CHECKSUM };
	int missing = 0;

	printf("#   redirects by kind:");
	for (int k = 0; k < RK__COUNT; k++)
		printf(" %s=%llu", redirect_kind_names[k], (unsigned long long)kinds_seen[k]);
	printf("\n");
	for (int k = 0; k < RK__COUNT; k++) {
		if (!kinds_seen[k]) {
			printf("# never produced a redirect of kind %s\n", redirect_kind_names[k]);
			missing++;
		}
	}
	printf("#   drops by reason over %llu frames:", (unsigned long long)total_frames);
	for (int r = 1; r < DROP__MAX; r++)
		if (reasons_seen[r])
			printf(" %s=%llu", drop_reason_name(r), (unsigned long long)reasons_seen[r]);
	printf("\n");
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		if (!reasons_seen[want[i]]) {
			printf("# never reached drop reason %s\n", drop_reason_name(want[i]));
			missing++;
		}
	}
	printf("%s %d - the frames reached every kind of redirect and every drop reason of nic_ingress\n",
	       missing ? "not ok" : "ok", ++tap_n);
	tap_failed += missing != 0;
}

static int replay(int argc, char **argv)
{
	int failed = 0;

	for (int i = 0; i < argc; i++) {
		struct tally t = { 0 };
		struct frame f;
		FILE *in = fopen(argv[i], "rb");
		int port;

		if (!in) {
			printf("not ok %d - %s: %s\n", ++tap_n, argv[i], strerror(errno));
			failed++;
			continue;
		}
		port = fgetc(in);
		f.len = fread(f.data, 1, sizeof(f.data), in);
		fclose(in);
		f.port = port < 0 || port >= ENV_PORTS ? 0 : port;
		run_frame(&f, &t, "replay", argv[i], 0);
		printf("%s %d - replay %s\n", t.failures ? "not ok" : "ok", ++tap_n, argv[i]);
		failed += t.failures != 0;
	}
	return failed;
}

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [--seed N] [--seconds S] [--iterations N] [--save DIR] [--replay FILE...]\n"
		"Fuzzes nic_ingress and the underlay programs with BPF_PROG_TEST_RUN in a private netns\n"
		"and bpffs; prints TAP.\n"
		"The random tests share --seconds (default 3) and stop early at --iterations.\n"
		"Failing frames are saved under --save DIR as a port byte and the frame.\n",
		prog);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "seed", required_argument, NULL, 's' },   { "seconds", required_argument, NULL, 't' },
		{ "iterations", required_argument, NULL, 'n' }, { "save", required_argument, NULL, 'o' },
		{ "replay", no_argument, NULL, 'r' },       { "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int do_replay = 0, opt, failed = 0;

	while ((opt = getopt_long(argc, argv, "s:t:n:o:rh", longopts, NULL)) != -1) {
		switch (opt) {
		case 's': cfg.seed = strtoull(optarg, NULL, 0); break;
		case 't': cfg.seconds = atof(optarg); break;
		case 'n': cfg.iterations = strtoull(optarg, NULL, 0); break;
		case 'o': cfg.save_dir = optarg; break;
		case 'r': do_replay = 1; break;
		default: usage(argv[0]); return opt == 'h' ? 0 : 2;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (geteuid() != 0) {
		printf("1..1\nok 1 # skip packet fuzzing needs root (netns, bpffs, BPF_PROG_TEST_RUN)\n");
		return 0;
	}
	if (env_setup() || world_build() || counters_read(&now)) {
		printf("1..1\nnot ok 1 - cannot set up the fuzzing environment (netns, bpffs, nic.bpf.o, topology)\n");
		env_teardown();
		return 1;
	}
	veth_ready = veth_setup() == 0 && counters_read(&now) == 0;
	if (!veth_ready)
		printf("# cannot attach nic_ingress to the test veths: frames BPF_PROG_TEST_RUN refuses will fail\n");
	if (do_replay) {
		printf("1..%d\n", argc - optind);
		failed = replay(argc - optind, argv + optind);
		env_teardown();
		return failed ? 1 : 0;
	}
	if (underlay_setup()) {
		printf("1..1\nnot ok 1 - cannot load underlay.bpf.o against the test maps\n");
		env_teardown();
		return 1;
	}
	printf("1..%d\n", 5 + MUT__COUNT);
	printf("# nic_ingress packet fuzzing: seed %llu, %.1fs for the random tests%s\n", (unsigned long long)cfg.seed,
	       cfg.seconds, cfg.iterations ? " (or the iteration cap)" : "");
	test_fixtures();
	for (int s = 0; s < MUT__COUNT; s++)
		test_strategy(s);
	test_reach();
	test_underlay();
	test_underlay_reach();
	underlay_teardown();
	env_teardown();
	return tap_failed ? 1 : 0;
}
