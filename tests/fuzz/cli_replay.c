/* tests/fuzz/cli_replay.c — replays a corpus through the CLI fuzz target without libFuzzer, as TAP (for make check). */
#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sanitizer/common_interface_defs.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *current; /* the input being replayed, named when it breaks something */
static int report_fd = 2;   /* the real stderr: the target points fd 2 elsewhere while it runs */

static void name_the_input(void)
{
	static const char msg[] = "cli_replay: the input that failed: ";

	if (!current)
		return;
	(void)!write(report_fd, msg, sizeof(msg) - 1);
	(void)!write(report_fd, current, strlen(current));
	(void)!write(report_fd, "\n", 1);
}

static void on_abort(int sig)
{
	name_the_input();
	signal(sig, SIG_DFL);
	raise(sig);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Replays every file of dir in name order; returns how many were replayed, -1 when dir cannot be read. */
static int replay_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0;
	static uint8_t buf[1 << 20];

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap)
			names = realloc(names, (cap = cap ? 2 * cap : 256) * sizeof(*names));
		if (asprintf(&names[n], "%s/%s", dir, e->d_name) < 0)
			abort();
		n++;
	}
	closedir(d);
	qsort(names, n, sizeof(*names), by_name);
	for (size_t i = 0; i < n; i++) {
		FILE *f = fopen(names[i], "rb");
		size_t len;

		if (!f)
			continue;
		len = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		current = names[i];
		LLVMFuzzerTestOneInput(buf, len);
		free(names[i]);
	}
	current = NULL;
	free(names);
	return (int)n;
}

int main(int argc, char **argv)
{
	FILE *tap = fdopen(dup(1), "w"); /* the target points stdout elsewhere while it runs */
	int failed = 0;

	setvbuf(tap, NULL, _IOLBF, 0);
	report_fd = dup(2);
	signal(SIGABRT, on_abort);
	__sanitizer_set_death_callback(name_the_input);
	LLVMFuzzerInitialize(&argc, &argv);
	fprintf(tap, "1..%d\n", argc - 1);
	for (int i = 1; i < argc; i++) {
		int n = replay_dir(argv[i]);

		if (n <= 0) {
			fprintf(tap, "not ok %d - %s: no corpus to replay\n", i, argv[i]);
			failed++;
		} else {
			fprintf(tap, "ok %d - %d inputs of %s keep every parser invariant\n", i, n, argv[i]);
		}
	}
	return failed ? 1 : 0;
}
