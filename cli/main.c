/* cli/main.c — vpcbpf's entry: global options (argp), the object table, batch files and the exit status. */
#include <argp.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/edit.h"
#include "cli/help.h"
#include "cli/man.h"
#include "cli/objects.h"
#include "cli/state.h"
#include "cli/advertise.h"
#include "cli/cluster.h"
#include "maps/clock.h"



/* The OBJECT list after the options is generated from the object table (cli/help.c), so it cannot drift. */
static const char doc[] =
	"vpcbpf -- a multi-tenant VPC data plane (eBPF on XDP and tc)\n\n"
	"Words may be shortened to any unambiguous prefix (vpcbpf r s = vpcbpf route show);\n"
	"an ambiguous one is refused with its candidates. No COMMAND means show."
	"\vPin dir: --pin-dir, else $" PIN_ENV ", else " DEFAULT_PIN_DIR ".";

enum { OPT_NETNS = 'n', OPT_ETCD = 0x100, OPT_ETCD_CA, OPT_ETCD_CERT, OPT_ETCD_KEY, OPT_COMPLETE, OPT_MAN };

static const struct argp_option options[] = {
	{ "json", 'j', NULL, 0, "Print JSON (errors too: {\"error\": ...})", 0 },
	{ "pretty", 'p', NULL, 0, "Indent JSON", 0 },
	{ "batch", 'b', "FILE", 0, "Read commands from FILE (- for stdin), one a line", 0 },
	{ "force", 'f', NULL, 0, "Go on where a command would refuse (e.g. delete what is referenced)", 0 },
	{ "pin-dir", 'd', "DIR", 0, "Where the maps are pinned (a bpffs)", 0 },
	{ "netns", OPT_NETNS, "NAME", 0, "Run in network namespace NAME (like ip -n)", 0 },
	{ "verbose", 'v', NULL, 0, "Say more, including libbpf's own messages", 0 },
	{ "etcd", OPT_ETCD, "URL", 0, "Cluster mode: edits, shows, --batch, apply and save go to etcd (also VPCBPF_ETCD)", 0 },
	{ "etcd-ca", OPT_ETCD_CA, "FILE", 0, "CA of etcd's TLS certificate (PEM; also VPCBPF_ETCD_CA)", 0 },
	{ "etcd-cert", OPT_ETCD_CERT, "FILE", 0, "Client certificate for etcd (PEM; also VPCBPF_ETCD_CERT)", 0 },
	{ "etcd-key", OPT_ETCD_KEY, "FILE", 0, "Its private key (PEM; also VPCBPF_ETCD_KEY)", 0 },
	{ "help", 'h', NULL, 0, "Print this help", -1 },
	{ "complete", OPT_COMPLETE, NULL, OPTION_HIDDEN, "Print the completions of the last word (bash completion)", 0 },
	{ "man", OPT_MAN, NULL, OPTION_HIDDEN, "Print the man page vpcbpf(8), or vpcbpf-OBJECT(8), in roff (make man)", 0 },
	{ "version", 'V', NULL, 0, "Print the version, git commit, libbpf and libxdp versions (JSON with -j)", -1 },
	{ 0 },
};

struct cmdline {
	int argc;
	char **argv;
	bool done;   /* help printed: nothing else to do */
	bool version; /* -V: printed once every option is read (-V -j prints JSON too) */
	bool complete; /* --complete -- WORDS...: the words are completed, not run */
	bool man;      /* --man [OBJECT]: a man page */
	bool failed; /* an error line has been printed */
};

/* Whether word is an option we know: --name (or a prefix of one, as getopt takes), or a cluster of our letters. */
static bool known_option(const char *word)
{
	if (word[0] != '-' || !word[1])
		return false;
	if (word[1] == '-') {
		size_t n = strcspn(word + 2, "=");
		for (const struct argp_option *o = options; o->name; o++)
			if (n && !strncmp(o->name, word + 2, n))
				return true;
		return false;
	}
	for (const char *c = word + 1; *c; c++) {
		const struct argp_option *o = options;
		while (o->name && o->key != *c)
			o++;
		if (!o->name)
			return false;
		if (o->arg)
			return true; /* the rest of the cluster is its value */
	}
	return true;
}

/* The word holding a bad option: argp is past it, or still on it when the bad letter was inside a cluster. */
static const char *bad_option(const struct argp_state *state)
{
	int last = state->next - 1;

	if (last >= 1 && last < state->argc && state->argv[last][0] == '-' && !known_option(state->argv[last]))
		return state->argv[last];
	if (state->next < state->argc && state->argv[state->next][0] == '-' && !known_option(state->argv[state->next]))
		return state->argv[state->next];
	/* a known option whose value is missing */
	return last >= 1 && last < state->argc ? state->argv[last] : "";
}

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	struct cmdline *cl = state->input;

	switch (key) {
	case 'j': opts.json = true; break;
	case 'p': opts.pretty = true; opts.json = true; break;
	case 'b': opts.batch = arg; break;
	case 'f': opts.force = true; break;
	case 'v': opts.verbose = true; break;
	case OPT_NETNS: opts.netns = arg; break;
	case OPT_ETCD: cluster_url = arg; break;
	case OPT_ETCD_CA: etcd_tls.ca = arg; break;
	case OPT_ETCD_CERT: etcd_tls.cert = arg; break;
	case OPT_ETCD_KEY: etcd_tls.key = arg; break;
	case OPT_MAN:
		cl->man = true;
		break;
	case OPT_COMPLETE:
		cl->complete = true;
		/* every word after "--" is the command line being typed, options included */
		cl->argc = state->argc - state->next;
		cl->argv = &state->argv[state->next];
		if (cl->argc && !strcmp(cl->argv[0], "--"))
			cl->argc--, cl->argv++;
		state->next = state->argc;
		break;
	case 'd':
		if (!*arg) {
			cl->failed = true;
			fail("empty pin dir in \"%s\"", bad_option(state));
			return EINVAL;
		}
		if (strlen(arg) >= sizeof(opts.pin_dir)) {
			cl->failed = true;
			fail("pin dir \"%s\" is too long", arg);
			return EINVAL;
		}
		snprintf(opts.pin_dir, sizeof(opts.pin_dir), "%s", arg);
		break;
	case 'h':
		/* argp_state_help is silent under ARGP_NO_ERRS */
		argp_help(state->root_argp, stdout, ARGP_HELP_STD_HELP, "vpcbpf");
		help_objects(stdout);
		cl->done = true;
		break;
	case 'V':
		cl->version = true;
		break;
	case ARGP_KEY_ERROR:
		/* ARGP_NO_ERRS: argp says nothing and exits nowhere; the one-line error rule holds for options too */
		if (!cl->failed)
			fail("unknown option or missing value in \"%s\" (try --help)", bad_option(state));
		cl->failed = true;
		break;
	case ARGP_KEY_ARG:
		/* The object word: everything from here on belongs to the command. */
		cl->argc = state->argc - state->next + 1;
		cl->argv = &state->argv[state->next - 1];
		state->next = state->argc;
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

/* libbpf speaks only with -v: its warnings (an existing clsact qdisc, say) are not the user's errors. */
static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (!opts.verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

int run_command(int argc, char **argv)
{
	const struct object *o;

	if (argc < 1)
		return fail("missing OBJECT (try --help)");
	if (!(o = object_lookup(argv[0])))
		return 1;
	if (argc < 2)
		return o->cmds[0].fn(0, argv + 1);
	if (matches(argv[1], "help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		print_usage(o);
		return 0;
	}
	if (o->no_verbs)
		return o->cmds[0].fn(argc - 1, argv + 1);
	/* Edits (add, del, ...) have one grammar and one set of rules, shared with --batch and apply. */
	if (edit_is_edit(argc, argv))
		return edit_run(argc, argv);
	bool ambiguous;
	const struct cmd *c = verb_lookup(o, argv[1], &ambiguous);
	if (c && c->fn)
		return c->fn(argc - 2, argv + 2);
	if (ambiguous)
		return 1;
	if (o->args_without_verb)
		return o->cmds[0].fn(argc - 1, argv + 1);
	return fail("%s: unknown command \"%s\" (try 'vpcbpf %s help')", o->name, argv[1], o->name);
}

static int join_netns(const char *name)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), strchr(name, '/') ? "%s" : "/var/run/netns/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail_env_errno(errno, "cannot open network namespace \"%s\"", name);
	if (setns(fd, CLONE_NEWNET)) {
		int err = errno;
		close(fd);
		return fail_env_errno(err, "cannot join network namespace \"%s\"", name);
	}
	close(fd);
	return 0;
}


/*
 * A command that ran long on a terminal ends with one line on stderr saying what finished and how long
 * it took (its transaction drew progress bars meanwhile: cli/state.c). Not on a pipe: scripts get the
 * output alone. VPCBPF_SUMMARY_MS moves the threshold (default 1000 ms).
 */
static void summary_line(int argc, char **argv, double start_ms)
{
	const char *env = getenv("VPCBPF_SUMMARY_MS");
	double ms = clock_ms() - start_ms;
	char what[256] = "";

	if (!isatty(STDERR_FILENO))
		return;
	if (ms < (env && *env ? atof(env) : 1000.0))
		return;
	for (int i = 0; i < argc && strlen(what) < sizeof(what) - 64; i++)
		snprintf(what + strlen(what), sizeof(what) - strlen(what), "%s%.48s", i ? " " : "", argv[i]);
	fprintf(stderr, "vpcbpf: %s: done in %.2f s\n", what, ms / 1e3);
}

int main(int argc, char **argv)
{
	struct argp argp = { options, parse_opt, "OBJECT [COMMAND [ARGS...]]", doc, NULL, NULL, NULL };
	struct cmdline cl = { 0 };
	const char *env = getenv(PIN_ENV);
	int err;

	objects_init(commands);
	snprintf(opts.pin_dir, sizeof(opts.pin_dir), "%s", env && *env ? env : DEFAULT_PIN_DIR);
	/* ARGP_NO_HELP: -h and -V are ours; argp's own would list --help and --version twice */
	if (argp_parse(&argp, argc, argv, ARGP_IN_ORDER | ARGP_NO_ERRS | ARGP_NO_HELP, NULL, &cl) || cl.failed) {
		if (!cl.failed)
			fail("bad options (try --help)");
		pr_flush();
		return 1;
	}
	if (cl.done)
		return 0;
	if (cl.complete)
		return help_complete(cl.argc, cl.argv);
	if (cl.man) {
		err = man_page(options, cl.argc, cl.argv);
		pr_flush();
		return err ? error_status : 0;
	}
	if (cl.version) {
		print_version();
		pr_flush();
		return 0;
	}
	if (!cluster_url && getenv("VPCBPF_ETCD") && *getenv("VPCBPF_ETCD"))
		cluster_url = getenv("VPCBPF_ETCD");
	libbpf_set_print(libbpf_print);
	if (opts.netns && join_netns(opts.netns)) {
		err = 1;
	} else if (cluster_url && cluster_command(cl.argc, cl.argv)) {
		err = cluster_run(cl.argc, cl.argv);
	} else if (opts.batch) {
		err = cl.argc ? fail("--batch takes commands from the file, not the command line") : run_batch(opts.batch);
	} else if (!cl.argc) {
		argp_help(&argp, stdout, ARGP_HELP_STD_HELP, "vpcbpf");
		help_objects(stdout);
		err = 0;
	} else {
		double start = clock_ms();
		err = run_command(cl.argc, cl.argv);
		if (!err)
			summary_line(cl.argc, cl.argv, start);
	}
	/* an edit (it took the lock) that no commit already followed into the kernel's advertised routes */
	if (!err && store_locked() && !advertise_settled())
		err = advertise_reconcile(store_locked());
	if (!err)
		pr_done();
	pr_flush();
	store_release();
	return err ? (error_status ? error_status : EXIT_REFUSED) : 0;
}

/* The store's open or lock failed with err: say why in the words of what to do; exit status 2. */
