/* cli/batch.c — vpcbpf --batch FILE: many commands, checked one by one against the state in memory, applied as one transaction. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/cli.h"
#include "cli/edit.h"
#include "cli/state.h"

/*
 * A batch never touches the maps line by line. Every line edits an in-memory
 * copy of the state through the one grammar and rule set (cli/edit.c), so line 7
 * sees what lines 1..6 did; the first failure names file:line and nothing is
 * applied. At the end the edited state is committed as one transaction (see
 * maps/txn.h): packets see the old tables or the new ones.
 */

int split_words(char *line, char **words, int max)
{
	int n = 0;
	char *p = line;

	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == '\r')
			p++;
		if (!*p)
			break;
		if (n == max)
			return -E2BIG;
		if (*p == '"') {
			words[n++] = ++p;
			while (*p && *p != '"')
				p++;
			if (!*p)
				return -EINVAL;
		} else {
			words[n++] = p;
			while (*p && *p != ' ' && *p != '\t' && *p != '\r')
				p++;
		}
		if (*p)
			*p++ = '\0';
	}
	return n;
}

/*
 * err_context = "NAME:LINE: ". Set for every line (a million for a large
 * batch), so the name is copied once and only the number is written each time.
 */
static void line_context(const char *name, int line)
{
	static const char *last;
	static size_t base;
	char digits[16];
	size_t n = 0;
	unsigned int u = line > 0 ? (unsigned int)line : 0;

	if (name != last || strncmp(err_context, name, base - 1)) { /* another file, or the context was cleared */
		snprintf(err_context, sizeof(err_context), "%s:", name);
		base = strlen(err_context);
		last = name;
	}
	do
		digits[n++] = (char)('0' + u % 10);
	while ((u /= 10));
	if (base + n + 3 > sizeof(err_context))
		return;
	for (size_t k = 0; k < n; k++)
		err_context[base + k] = digits[n - 1 - k];
	memcpy(err_context + base + n, ": ", 3);
}

/* Reads FILE: one command a line, '#' comments, '\' continues a line; edits *st line by line. */
/* A '#' starts a comment unless it sits inside double quotes (then it belongs to a word). */
static char *comment_start(char *s)
{
	bool quoted = false;

	for (; *s; s++) {
		if (*s == '"')
			quoted = !quoted;
		else if (*s == '#' && !quoted)
			return s;
	}
	return NULL;
}

int read_batch(FILE *f, const char *name, struct txn_state *st, unsigned int *ncmds)
{
	char *line = NULL, *cmd = NULL;
	size_t cap = 0, cmd_len = 0;
	int lineno = 0, start = 0, err = 0;

	while (!err && getline(&line, &cap, f) >= 0) {
		size_t n = strcspn(line, "\n");
		bool cont = n > 0 && line[n - 1] == '\\';

		lineno++;
		line[cont ? n - 1 : n] = '\0';
		if (!cmd_len)
			start = lineno;
		char *grown = realloc(cmd, cmd_len + strlen(line) + 2);
		if (!grown) {
			err = fail("out of memory");
			break;
		}
		cmd = grown;
		memcpy(cmd + cmd_len, line, strlen(line) + 1);
		cmd_len += strlen(line);
		cmd[cmd_len++] = ' ';
		cmd[cmd_len] = '\0';
		if (cont)
			continue;
		char *hash = comment_start(cmd);
		if (hash)
			*hash = '\0';
		char *words[256];
		int nw = split_words(cmd, words, 256);
		line_context(name, start);
		if (nw < 0)
			err = fail("bad quoting or too many words");
		else if (nw > 0) {
			err = edit_apply_words(st, nw, words);
			(*ncmds)++;
		}
		cmd_len = 0;
	}
	if (!err && cmd_len) { /* the file ended inside a continued line */
		snprintf(err_context, sizeof(err_context), "%s:%d: ", name, start);
		err = fail("the last line ends with '\\' but nothing follows");
	}
	if (!err && ferror(f))
		err = fail_errno(errno, "cannot read");
	err_context[0] = '\0';
	free(line);
	free(cmd);
	return err;
}

int run_batch(const char *path)
{
	const char *name = strcmp(path, "-") ? path : "<stdin>";
	struct txn_state cur, want;
	unsigned int ncmds = 0;
	struct store *s;
	FILE *f;
	int err;

	f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	if (!f)
		return fail_errno(errno, "cannot open batch file \"%s\"", path);
	if (!(s = store_get(true)) || state_load(s, &cur)) {
		if (f != stdin)
			fclose(f);
		return 1;
	}
	if (txn_state_copy(&want, &cur)) {
		txn_state_free(&cur);
		if (f != stdin)
			fclose(f);
		return fail("out of memory");
	}
	err = read_batch(f, name, &want, &ncmds);
	if (f != stdin)
		fclose(f);
	if (!err)
		err = state_commit(s, &cur, &want);
	txn_state_free(&cur);
	txn_state_free(&want);
	if (!err && opts.verbose)
		fprintf(stderr, "vpcbpf: %s: %u command(s) applied as one transaction\n", name, ncmds);
	return err;
}
