/* tests/unit/test_load.c — the datapath object passes the verifier of the running kernel. */
#include <stdio.h>
#include <bpf/bpf.h>
#include "suite.h"
#include "env.h"

static void nic_ingress_passes_the_verifier(void **state)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	assert_true(env.prog_fd > 0);
	assert_true(env.verified_insns > 0);
	assert_int_equal(bpf_obj_get_info_by_fd(env.prog_fd, &info, &len), 0);
	print_message("# nic_ingress: verifier processed %u insns; xlated %u bytes, jited %u bytes\n",
		      env.verified_insns, info.xlated_prog_len, info.jited_prog_len);
}

static const struct CMUnitTest load_tests[] = {
	cmocka_unit_test(nic_ingress_passes_the_verifier),
};

SUITE(load_suite, "load", load_tests)
