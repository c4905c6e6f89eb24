/* tests/unit/main.c — runs every registered unit test as one TAP plan inside one private test environment. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "suite.h"
#include "env.h"

static struct suite *suites;

void suite_register(struct suite *s)
{
	struct suite **tail = &suites;

	while (*tail)
		tail = &(*tail)->next;
	*tail = s;
}

int main(int argc, char **argv)
{
	const char *only = argc > 1 ? argv[1] : NULL;
	struct CMUnitTest *all;
	size_t n = 0, cap = 0;
	int failed;

	for (struct suite *s = suites; s; s = s->next)
		cap += s->count;
	all = calloc(cap ? cap : 1, sizeof(*all));
	if (!all)
		return 1;
	/* one group: one TAP plan for tests/run to count */
	for (struct suite *s = suites; s; s = s->next) {
		if (only && strcmp(only, s->name))
			continue;
		for (size_t i = 0; i < s->count; i++)
			all[n++] = s->tests[i];
	}

	if (env_setup()) {
		fprintf(stderr, "unit tests: cannot set up the test environment (root and bpffs needed)\n");
		env_teardown();
		return 1;
	}
	failed = _cmocka_run_group_tests("unit", all, n, NULL, NULL);
	env_teardown();
	free(all);
	return failed ? 1 : 0;
}
