/* tests/unit/suite.h — lets each test file register its cmocka group, so adding a file needs no edit elsewhere. */
#ifndef VPCBPF_TEST_SUITE_H
#define VPCBPF_TEST_SUITE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

struct suite {
	const char *name;
	const struct CMUnitTest *tests;
	size_t count;
	struct suite *next;
};

void suite_register(struct suite *s);

/* Per-test setup/teardown go in the tests (cmocka_unit_test_setup_teardown). */
#define SUITE(var, name_, tests_)                                                      \
	static struct suite var = { name_, tests_, sizeof(tests_) / sizeof(tests_[0]),  \
				    NULL };                                            \
	__attribute__((constructor)) static void var##_register(void)                  \
	{                                                                              \
		suite_register(&var);                                                  \
	}

#endif
