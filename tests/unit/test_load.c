/* tests/unit/test_load.c — the datapath object passes the verifier of the running kernel. */
#include <stdio.h>
#include "suite.h"
#include "env.h"

static void nic_ingress_passes_the_verifier(void **state)
{
	assert_true(env.prog_fd > 0);
	assert_true(env.verified_insns > 0);
	print_message("# nic_ingress: verifier processed %u insns\n", env.verified_insns);
}

static const struct CMUnitTest load_tests[] = {
	cmocka_unit_test(nic_ingress_passes_the_verifier),
};

SUITE(load_suite, "load", load_tests)
