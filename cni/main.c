/* cni/main.c — vpcbpf-cni's entry: the CNI_* variables and stdin in, a result or a CNI error JSON out. */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <bpf/libbpf.h>
#include "cli/commands.h"
#include "cli/objects.h"
#include "cni/cni.h"

/* stdin, NUL-terminated; at most CNI_NETCONF_MAX + 1 bytes, so that netconf_parse can say it is too large. */
static char *read_stdin(size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	ssize_t r;

	while (buf && n <= CNI_NETCONF_MAX) {
		if (n + 1 >= cap) {
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				return NULL;
			}
			buf = nb;
			cap *= 2;
		}
		r = read(0, buf + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	if (buf)
		buf[n] = '\0';
	*len = n;
	return buf;
}

/* Open fds other than maps: the map layer keeps a few map fds (journal, security-group tables) for the process. */
static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	char path[64], target[64];
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		ssize_t len;
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		len = readlink(path, target, sizeof(target) - 1);
		target[len > 0 ? len : 0] = '\0';
		n += strcmp(target, "anon_inode:bpf-map") != 0;
	}
	closedir(d);
	return n;
}

static int version(void)
{
	struct jw w;

	jw_init(&w, NULL, 0);
	jw_object(&w);
	jw_kstring(&w, "cniVersion", CNI_VERSION);
	jw_karray(&w, "supportedVersions");
	jw_string(&w, CNI_VERSION);
	jw_array_end(&w);
	jw_object_end(&w);
	return cni_print_json(&w) ? cni_fail(CNI_ERR_IO, "cannot write the result") : 0;
}

/* A required CNI_* variable, or NULL after recording code 4 naming it. */
static const char *need_env(const char *name)
{
	const char *v = getenv(name);

	if (!v || !*v) {
		cni_fail(CNI_ERR_ENV, "%s is not set", name);
		return NULL;
	}
	return v;
}

/* libbpf speaks only when asked: stdout belongs to the result. */
static int libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return getenv("VPCBPF_CNI_DEBUG") ? vfprintf(stderr, fmt, ap) : 0;
}

int main(int argc, char **argv)
{
	struct cni_call c;
	struct netconf nc;
	char *raw = NULL;
	size_t len = 0;
	int fds_at_start = count_fds(), err = 0;

	memset(&c, 0, sizeof(c));
	memset(&nc, 0, sizeof(nc));
	libbpf_set_print(libbpf_quiet);
	objects_init(commands); /* cluster mode parses its edit's words with the command line's grammar */
	if (argc > 1 && (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V"))) {
		printf("vpcbpf-cni " VPCBPF_VERSION " (CNI " CNI_VERSION ")\n");
		return 0;
	}
	c.command = getenv("CNI_COMMAND");
	if (!c.command || !*c.command) {
		fprintf(stderr, "vpcbpf-cni: a CNI plugin (spec " CNI_VERSION "): run by a container runtime with "
				"CNI_COMMAND and the network configuration on stdin (docs/cni.md)\n");
		cni_fail(CNI_ERR_ENV, "CNI_COMMAND is not set");
		goto out;
	}
	raw = read_stdin(&len);
	if (!raw) {
		cni_fail(CNI_ERR_IO, "cannot read the network configuration from stdin");
		goto out;
	}
	if (!strcmp(c.command, "VERSION")) {
		/* the config may be empty or only {"cniVersion": ...} */
		err = version();
		goto out;
	}
	if (strcmp(c.command, "ADD") && strcmp(c.command, "DEL") && strcmp(c.command, "CHECK")) {
		cni_fail(CNI_ERR_ENV, "CNI_COMMAND \"%s\" is not ADD, DEL, CHECK or VERSION", c.command);
		goto out;
	}
	if (!(c.container_id = need_env("CNI_CONTAINERID")) || !(c.ifname = need_env("CNI_IFNAME")))
		goto out;
	c.netns = getenv("CNI_NETNS");
	c.path = getenv("CNI_PATH");
	/* DEL may come without a netns (it is gone); ADD and CHECK need one, and every command the IPAM's path */
	if (strcmp(c.command, "DEL") && !need_env("CNI_NETNS"))
		goto out;
	if (!need_env("CNI_PATH"))
		goto out;
	if (strlen(c.ifname) >= IF_NAMESIZE || strchr(c.ifname, '/') || !strcmp(c.ifname, ".") ||
	    !strcmp(c.ifname, "..")) {
		cni_fail(CNI_ERR_ENV, "CNI_IFNAME \"%s\" is not a valid interface name", c.ifname);
		goto out;
	}
	/* they are written into the result, and JSON is UTF-8 */
	const char *bad = !cni_utf8(c.container_id) ? "CNI_CONTAINERID"
			  : !cni_utf8(c.ifname)       ? "CNI_IFNAME"
			  : c.netns && !cni_utf8(c.netns) ? "CNI_NETNS"
							  : NULL;
	if (bad) {
		cni_fail(CNI_ERR_ENV, "%s is not UTF-8", bad);
		goto out;
	}
	cni_names(&c);
	if (netconf_parse(&nc, raw, len, c.command))
		goto out;
	if (!strcmp(c.command, "ADD"))
		err = cmd_add(&c, &nc);
	else if (!strcmp(c.command, "DEL"))
		err = cmd_del(&c, &nc);
	else
		err = cmd_check(&c, &nc);
out:
	dp_close();
	if (!err)
		err = cni_error_code();
	if (err) {
		if (!cni_error_code())
			cni_fail(CNI_ERR_IO, "failed without a message (a bug: please report)");
		cni_print_error(nc.cni_version); /* a string of nc.root: freed after */
	}
	json_free(nc.root);
	free(raw);
	/* Every fd the plugin opened itself is closed by now: the leak test looks for this line. */
	int fds_now = count_fds();
	if (fds_at_start >= 0 && fds_now > fds_at_start) {
		fprintf(stderr, "vpcbpf-cni: %d file descriptor(s) left open\n", fds_now - fds_at_start);
	}
	fflush(stdout);
	return err ? 1 : 0;
}
