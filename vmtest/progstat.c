/* vmtest/progstat.c — loads BPF objects into the running kernel and prints each program's verifier stats, or the verifier's reason when one does not load. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

/* BPF_LOG_STATS: the verifier's one-paragraph summary ("processed N insns ...") without the full trace. */
#define LOG_STATS 4
#define LOG_SIZE (1 << 20)
#define FAIL_LOG_SIZE (64 << 20)

static int quiet_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

/* The number after "processed " in the stats log, or -1. */
static long processed_insns(const char *log)
{
	const char *p = strstr(log, "processed ");

	return p ? strtol(p + strlen("processed "), NULL, 10) : -1;
}

static const char *base(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

/* Prints the last LINES lines of LOG, each prefixed so the host can find them in the console. */
static void print_tail(const char *obj, const char *log, int lines)
{
	const char *p = log + strlen(log);

	while (p > log && lines >= 0) {
		p--;
		if (*p == '\n')
			lines--;
	}
	for (const char *line = p; *line;) {
		const char *nl = strchr(line, '\n');
		int len = nl ? (int)(nl - line) : (int)strlen(line);

		if (len)
			printf("vmtest-verifier: %s: %.*s\n", obj, len, line);
		line += len + (nl ? 1 : 0);
	}
}

/* Reloads OBJ with the full verifier trace to show why it was rejected. */
static void explain_failure(const char *path, const char *pin_root)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = pin_root);
	struct bpf_object *obj = bpf_object__open_file(path, &opts);
	struct bpf_program *prog;
	char *log = calloc(1, FAIL_LOG_SIZE);

	if (!obj || !log) {
		free(log);
		bpf_object__close(obj);
		return;
	}
	bpf_object__for_each_program(prog, obj) {
		bpf_program__set_log_buf(prog, log, FAIL_LOG_SIZE);
		bpf_program__set_log_level(prog, 1 | LOG_STATS);
	}
	if (bpf_object__load(obj))
		print_tail(base(path), log, 40);
	bpf_object__unpin_maps(obj, NULL);
	bpf_object__close(obj);
	free(log);
}

static int report(const char *path, const char *pin_root)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = pin_root);
	struct bpf_object *obj;
	struct bpf_program *prog;
	int n = 0, i = 0, err;
	char **logs;

	obj = bpf_object__open_file(path, &opts);
	if (!obj) {
		printf("vmtest-prog: %s: FAILED to open: %s\n", base(path), strerror(errno));
		return 1;
	}
	bpf_object__for_each_program(prog, obj)
		n++;
	logs = calloc(n ? n : 1, sizeof(*logs));
	bpf_object__for_each_program(prog, obj) {
		logs[i] = calloc(1, LOG_SIZE);
		if (logs[i]) {
			bpf_program__set_log_buf(prog, logs[i], LOG_SIZE);
			bpf_program__set_log_level(prog, LOG_STATS);
		}
		i++;
	}
	err = bpf_object__load(obj);
	if (err) {
		printf("vmtest-prog: %s: FAILED to load: %s\n", base(path), strerror(-err));
		bpf_object__close(obj);
		explain_failure(path, pin_root);
	} else {
		i = 0;
		bpf_object__for_each_program(prog, obj) {
			struct bpf_prog_info info = {};
			__u32 len = sizeof(info);
			int fd = bpf_program__fd(prog);

			if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len)) {
				printf("vmtest-prog: %s %s: not loaded\n", base(path), bpf_program__name(prog));
			} else {
				printf("vmtest-prog: %s %s: type %s, verified_insns %u, processed %ld insns, xlated %u insns, jited %u bytes\n",
				       base(path), bpf_program__name(prog),
				       libbpf_bpf_prog_type_str(bpf_program__type(prog)) ?: "?",
				       info.verified_insns, logs[i] ? processed_insns(logs[i]) : -1L,
				       info.xlated_prog_len / 8, info.jited_prog_len);
			}
			i++;
		}
		bpf_object__unpin_maps(obj, NULL);
		bpf_object__close(obj);
	}
	for (i = 0; i < n; i++)
		free(logs[i]);
	free(logs);
	return err ? 1 : 0;
}

int main(int argc, char **argv)
{
	char pin_root[64];
	int failed = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: progstat OBJECT.bpf.o...\n");
		return 2;
	}
	libbpf_set_print(quiet_print);
	/* maps pinned by name go to a private dir, never next to another run's */
	snprintf(pin_root, sizeof(pin_root), "/sys/fs/bpf/vmtest-progstat-%d", (int)getpid());
	if (mkdir(pin_root, 0700) && errno != EEXIST) {
		fprintf(stderr, "progstat: cannot create %s: %s (is bpffs mounted?)\n", pin_root, strerror(errno));
		return 1;
	}
	for (int i = 1; i < argc; i++)
		failed |= report(argv[i], pin_root);
	rmdir(pin_root);
	return failed;
}
