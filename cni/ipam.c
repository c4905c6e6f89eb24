/* cni/ipam.c — the chained IPAM plugin, executed as the CNI spec says: found in CNI_PATH, same env, same stdin. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "cni/cni.h"

/* The first dir of CNI_PATH holding an executable named type. */
static int find_plugin(const char *path, const char *type, char *out, size_t len)
{
	const char *p = path;

	while (p && *p) {
		const char *end = strchr(p, ':');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		if (n && snprintf(out, len, "%.*s/%s", (int)n, p, type) < (int)len && access(out, X_OK) == 0)
			return 0;
		p = end ? end + 1 : NULL;
	}
	return -ENOENT;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t w = write(fd, buf, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

/* The IPAM's stdout, NUL-terminated; *too_big after more than CNI_NETCONF_MAX bytes (the rest is not read: the
 * pipe closes under the plugin). */
static char *read_all(int fd, bool *too_big)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);

	*too_big = false;
	while (buf) {
		if (n > CNI_NETCONF_MAX) {
			*too_big = true;
			break;
		}
		if (n + 1 >= cap) {
			char *nb = realloc(buf, cap * 2);
			if (!nb)
				break;
			buf = nb;
			cap *= 2;
		}
		ssize_t r = read(fd, buf + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	if (buf)
		buf[n] = '\0';
	return buf;
}

/* The IPAM failed: its error JSON becomes ours (code and message as it said them). */
static int ipam_error(const char *type, const char *command, const char *out, int status)
{
	yajl_val o = out && *out ? json_parse(out, strlen(out), NULL, 0) : NULL;
	const char *m = json_get_string(o, "msg");
	char msg[1024];
	int64_t code = CNI_ERR_IO;

	if (json_get_int(o, "code", &code) || code <= 0 || code > INT_MAX)
		code = CNI_ERR_IO;
	snprintf(msg, sizeof(msg), "ipam %s %s: %s", type, command,
		 m                  ? m
		 : WIFEXITED(status) ? "failed without an error message"
				     : "killed by a signal");
	cni_fail_json((int)code, msg, json_get_string(o, "details"));
	json_free(o);
	return (int)code;
}

int ipam_exec(const struct cni_call *c, const struct netconf *nc, const char *command, yajl_val *result)
{
	char exe[PATH_MAX], *out;
	int in[2], outp[2], status, err;
	bool too_big;
	pid_t pid;

	if (result)
		*result = NULL;
	if (find_plugin(c->path, nc->ipam_type, exe, sizeof(exe)))
		return cni_fail(CNI_ERR_CONFIG, "ipam plugin \"%s\" not found in CNI_PATH (%s)", nc->ipam_type, c->path);
	if (pipe2(in, O_CLOEXEC))
		return cni_fail(CNI_ERR_IO, "pipe: %s", strerror(errno));
	if (pipe2(outp, O_CLOEXEC)) {
		close(in[0]);
		close(in[1]);
		return cni_fail(CNI_ERR_IO, "pipe: %s", strerror(errno));
	}
	pid = fork();
	if (pid < 0) {
		err = errno;
		close(in[0]);
		close(in[1]);
		close(outp[0]);
		close(outp[1]);
		return cni_fail(CNI_ERR_IO, "fork: %s", strerror(err));
	}
	if (pid == 0) {
		/* stdin: the config; stdout: the result; stderr stays ours (the runtime's log) */
		if (dup2(in[0], 0) < 0 || dup2(outp[1], 1) < 0)
			_exit(127);
		setenv("CNI_COMMAND", command, 1);
		execl(exe, nc->ipam_type, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(outp[1]);
	/* a plugin that exits without reading its stdin must not kill us */
	signal(SIGPIPE, SIG_IGN);
	err = write_all(in[1], nc->raw, nc->raw_len);
	close(in[1]);
	out = read_all(outp[0], &too_big);
	close(outp[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!out) {
		return cni_fail(CNI_ERR_IO, "out of memory");
	}
	if (too_big) {
		free(out);
		return cni_fail(CNI_ERR_DECODE, "ipam %s %s wrote more than %d MiB", nc->ipam_type, command,
				CNI_NETCONF_MAX >> 20);
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		int code = ipam_error(nc->ipam_type, command, out, status);
		free(out);
		return code;
	}
	if (err) {
		free(out);
		return cni_fail(CNI_ERR_IO, "cannot write the config to ipam %s: %s", nc->ipam_type, strerror(-err));
	}
	if (result && !strcmp(command, "ADD")) {
		char why[256];
		*result = json_parse(out, strlen(out), why, sizeof(why));
		if (!YAJL_IS_OBJECT(*result)) {
			if (*result)
				snprintf(why, sizeof(why), "%s, not an object", json_type_name(*result));
			json_free(*result);
			*result = NULL;
			free(out);
			return cni_fail(CNI_ERR_DECODE, "ipam %s returned no JSON result: %s", nc->ipam_type, why);
		}
	}
	free(out);
	return 0;
}

int result_addr(yajl_val result, struct cni_addr *a)
{
	yajl_val ips = json_get(result, "ips"), ip, v;

	memset(a, 0, sizeof(*a));
	if (!YAJL_IS_ARRAY(ips))
		return -ENOENT;
	for (size_t i = 0; i < ips->u.array.len; i++) {
		char buf[64], *slash, *end;
		ip = ips->u.array.values[i];
		v = json_get(ip, "address");
		if (!YAJL_IS_STRING(v))
			continue;
		snprintf(buf, sizeof(buf), "%s", v->u.string);
		if (!(slash = strchr(buf, '/')))
			continue;
		*slash = '\0';
		if (inet_pton(AF_INET, buf, &a->ip) != 1)
			continue;
		long len = strtol(slash + 1, &end, 10);
		if (*end || len < 1 || len > 32)
			continue;
		a->len = (__u8)len;
		v = json_get(ip, "gateway");
		if (YAJL_IS_STRING(v))
			inet_pton(AF_INET, v->u.string, &a->gateway);
		return 0;
	}
	return -ENOENT;
}
