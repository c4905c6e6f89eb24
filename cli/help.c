/* cli/help.c — `vpcbpf help`, the object list of --help, and shell completion, all read from the object table. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/cli.h"
#include "cli/edit.h"
#include "cli/help.h"
#include "cli/objects.h"

#define MAX_TOKENS 512
#define MAX_DEFS 16

/* ---- an object's usage: its edits from cli/edit.c's tables, then its reads and prose ---- */

static void cat(char *out, size_t cap, const char *s)
{
	size_t o = strlen(out);
	snprintf(out + o, cap > o ? cap - o : 0, "%s", s);
}

/* "word META" of one row (a flag: the word alone). */
static void row_text(char *out, size_t cap, const struct edit_kw *k)
{
	cat(out, cap, k->word);
	if (k->value != EV_NONE && k->meta) {
		cat(out, cap, " ");
		cat(out, cap, k->meta);
	}
}

/*
 * The words of a verb after its name, as iproute2 writes them: the positional value's name, a required
 * keyword with its value, [an optional one], { alternatives | of one group } where the first of them stands.
 */
static void kws_text(char *out, size_t cap, const struct edit_kw *kws)
{
	for (const struct edit_kw *k = kws; k->slot != ES__COUNT; k++) {
		unsigned int g = EDIT_GROUP_OF(k);
		bool first = true;

		if (!k->word || k->value == EV_RULE) { /* the positional value; sg rule add's RULE words */
			cat(out, cap, " ");
			cat(out, cap, k->meta);
			continue;
		}
		if (!g) {
			cat(out, cap, k->flags & EK_REQUIRED ? " " : " [");
			row_text(out, cap, k);
			if (!(k->flags & EK_REQUIRED))
				cat(out, cap, "]");
			continue;
		}
		for (const struct edit_kw *j = kws; j < k && first; j++)
			first = !(j->word && EDIT_GROUP_OF(j) == g);
		if (!first)
			continue;
		cat(out, cap, " {");
		for (const struct edit_kw *j = k; j->slot != ES__COUNT; j++)
			if (j->word && EDIT_GROUP_OF(j) == g) {
				cat(out, cap, j == k ? " " : " | ");
				row_text(out, cap, j);
			}
		cat(out, cap, " }");
	}
}

const char *object_usage(const struct object *o)
{
	static struct {
		const struct object *o;
		char *text;
	} cache[32];
	char text[4096] = "", defs[1024] = "";
	const char *rest = o->usage;
	int lines = 0;
	size_t i;

	for (i = 0; i < sizeof(cache) / sizeof(cache[0]) && cache[i].o; i++)
		if (cache[i].o == o)
			return cache[i].text;
	/* verbs of one table in a row are one line: nic { add | replace } ... */
	for (const struct edit_verb *v = edit_verbs; v->object; v++) {
		const struct edit_verb *last = v;
		if (strcmp(v->object, o->name))
			continue;
		while (last[1].object && !strcmp(last[1].object, o->name) && last[1].kws == v->kws)
			last++;
		cat(text, sizeof(text), lines++ ? "\n       " : "");
		cat(text, sizeof(text), o->name);
		if (last == v) {
			cat(text, sizeof(text), " ");
			cat(text, sizeof(text), v->verb);
		} else {
			cat(text, sizeof(text), " {");
			for (const struct edit_verb *w = v; w <= last; w++) {
				cat(text, sizeof(text), w == v ? " " : " | ");
				cat(text, sizeof(text), w->verb);
			}
			cat(text, sizeof(text), " }");
		}
		kws_text(text, sizeof(text), v->kws);
		for (const struct edit_kw *k = v->kws; k->slot != ES__COUNT; k++)
			if (k->value == EV_RULE && !defs[0]) {
				cat(defs, sizeof(defs), "RULE :=");
				kws_text(defs, sizeof(defs), sg_rule_words);
			}
		v = last;
	}
	if (lines) {
		/* o->usage goes on with its reads (indented command lines), then definitions and prose */
		const char *p = rest;
		while (*p == ' ')
			p += strcspn(p, "\n") + (p[strcspn(p, "\n")] == '\n');
		cat(text, sizeof(text), "\n");
		strncat(text, rest, (size_t)(p - rest) < sizeof(text) - strlen(text) - 1 ? (size_t)(p - rest)
											  : sizeof(text) - strlen(text) - 1);
		if (defs[0]) {
			cat(text, sizeof(text), defs);
			cat(text, sizeof(text), "\n");
		}
		cat(text, sizeof(text), p);
		rest = text;
		/* a trailing newline when o->usage had only reads: none is printed after the last line */
		if (text[0] && text[strlen(text) - 1] == '\n')
			text[strlen(text) - 1] = '\0';
	}
	if (i < sizeof(cache) / sizeof(cache[0]) && (cache[i].text = strdup(rest))) {
		cache[i].o = o;
		return cache[i].text;
	}
	return o->usage;
}

void print_usage(const struct object *o)
{
	char *text;

	/* -j promises one JSON document for every command: {"usage": "..."} */
	if (asprintf(&text, "Usage: vpcbpf [OPTIONS] %s", object_usage(o)) < 0)
		return;
	pr_begin_obj();
	pr_str("usage", "%s\n", text);
	if (o->help)
		o->help();
	if (opts.json)
		pr_end_obj();
	free(text);
}

/* The first line of an object's usage, without the "vpcbpf [OPTIONS]" the help prints before it. */
static void first_line(const struct object *o, char *out, size_t cap)
{
	const char *u = object_usage(o);
	size_t n = strcspn(u, "\n");
	snprintf(out, cap, "%.*s", (int)(n < cap ? n : cap - 1), u);
}

void help_objects(FILE *f)
{
	char line[256];

	fprintf(f, "\nOBJECT := {");
	for (int i = 0; object_table()[i]; i++)
		fprintf(f, "%s %s%s%s%s", i ? " |" : "", object_table()[i]->name, object_table()[i]->alias ? " (" : "",
			object_table()[i]->alias ? object_table()[i]->alias : "", object_table()[i]->alias ? ")" : "");
	fprintf(f, " }\n\n");
	for (int i = 0; object_table()[i]; i++) {
		first_line(object_table()[i], line, sizeof(line));
		fprintf(f, "  %s\n", line);
	}
	fprintf(f, "\n'vpcbpf help OBJECT' (or 'vpcbpf OBJECT help') prints an object's whole grammar;\n"
		   "man vpcbpf, man vpcbpf-OBJECT; exit status: 0 ok, 1 refused input or state, 2 environment.\n");
}

/* vpcbpf help [OBJECT]: -j gives every object's usage, for the man pages and other tools. */
static int do_help(int argc, char **argv)
{
	const struct object *o;

	if (argc > 1)
		return unknown_word(argv[1]);
	if (argc == 1) {
		if (!(o = object_lookup(argv[0])))
			return 1;
		print_usage(o);
		return 0;
	}
	if (!opts.json) {
		printf("Usage: vpcbpf [OPTIONS] OBJECT [COMMAND [ARGS...]]\n");
		help_objects(stdout);
		return 0;
	}
	pr_begin_list();
	for (int i = 0; object_table()[i]; i++) {
		char *text = NULL;
		pr_begin_obj();
		pr_str("object", NULL, object_table()[i]->name);
		if (object_table()[i]->alias)
			pr_str("alias", NULL, object_table()[i]->alias);
		if (asprintf(&text, "vpcbpf [OPTIONS] %s", object_usage(object_table()[i])) >= 0)
			pr_str("usage", NULL, text);
		free(text);
		pr_end_obj();
	}
	pr_end_list();
	return 0;
}

static const struct cmd help_cmds[] = { { "help", do_help }, { 0 } };

const struct object obj_help = {
	.name = "help",
	.cmds = help_cmds,
	.no_verbs = true,
	.usage = "help [OBJECT]\n"
		 "The objects and the first line of each one's grammar; with OBJECT its whole grammar\n"
		 "(the same as 'vpcbpf OBJECT help'). -j: every object's grammar as JSON.",
};

/* ---- completion: candidates for the last word, from the usage text of the object table ---- */

/*
 * The usage text is BNF as iproute2 writes it: keywords in lower case, values
 * in upper case (defined by "NAME := ..." lines where they are not plain),
 * [ ] optional, { a | b } one of. A keyword followed by a lower-case value
 * set (xdp native|generic|off, proto { tcp | udp }) offers that set after it;
 * one followed by an upper-case value offers nothing there (a value is typed).
 */
struct grammar {
	char buf[4096];
	char *tok[MAX_TOKENS];
	int n;
};

static bool is_keyword(const char *t)
{
	if (!islower((unsigned char)t[0]))
		return false;
	for (const char *c = t; *c; c++)
		if (!islower((unsigned char)*c) && !isdigit((unsigned char)*c) && *c != '-')
			return false;
	return true;
}

static bool is_meta(const char *t)
{
	return isupper((unsigned char)t[0]);
}

/* Splits text into tokens: brackets and bars are tokens of their own. */
static void tokenize(struct grammar *g, const char *text)
{
	size_t o = 0;

	g->n = 0;
	for (const char *c = text; *c && g->n < MAX_TOKENS && o + 4 < sizeof(g->buf); c++) {
		if (isspace((unsigned char)*c))
			continue;
		g->tok[g->n++] = g->buf + o;
		if (strchr("[]{}", *c) || (*c == '|' && (isspace((unsigned char)c[1]) || !c[1]))) {
			g->buf[o++] = *c;
		} else {
			while (*c && !isspace((unsigned char)*c) && !strchr("[]{}", *c) && o + 2 < sizeof(g->buf))
				g->buf[o++] = *c++;
			c--;
		}
		g->buf[o++] = '\0';
	}
}

/* Appends src to dst without its parenthesized prose ("(via IP: a NIC of the VPC)"). */
static void append_bnf(char *dst, size_t cap, const char *src)
{
	size_t o = strlen(dst);
	int depth = 0;

	if (o + 1 < cap)
		dst[o++] = ' ';
	for (; *src && o + 1 < cap; src++) {
		if (*src == '(')
			depth++;
		else if (*src == ')' && depth)
			depth--;
		else if (!depth)
			dst[o++] = *src;
	}
	dst[o] = '\0';
}

/*
 * The grammar of an object's commands as one BNF text: the first usage line
 * and every indented line that starts with the object's name, with their
 * indented continuations, and the values defined by "NAME := ..." lines
 * (and their continuations) put in place. Prose lines are left out.
 */
static void command_text(const struct object *o, char *out, size_t cap)
{
	char defs[MAX_DEFS][512], names[MAX_DEFS][32], line[512];
	const char *p = object_usage(o);
	int ndefs = 0, in = 0; /* 1: in a command, 2: in a definition */
	bool first = true;
	size_t olen = strlen(o->name);

	out[0] = '\0';
	while (*p) {
		size_t len = strcspn(p, "\n");
		const char *s, *def;

		snprintf(line, sizeof(line), "%.*s", (int)(len < sizeof(line) ? len : sizeof(line) - 1), p);
		p += len + (p[len] == '\n');
		s = line + strspn(line, " ");
		def = strstr(s, " := ");
		if (def && is_meta(s) && s == line && ndefs < MAX_DEFS) {
			snprintf(names[ndefs], sizeof(names[0]), "%.*s", (int)(def - s), s);
			defs[ndefs][0] = '\0';
			append_bnf(defs[ndefs], sizeof(defs[0]), def + 4);
			/* a definition in BNF; one in prose ("CIDR := ADDR/LEN with no host bits set, ...") is not expanded */
			if (strpbrk(defs[ndefs], ",;"))
				snprintf(defs[ndefs], sizeof(defs[0]), "%s", names[ndefs]);
			ndefs++;
			in = 2;
		} else if ((first || s != line) && !strncmp(s, o->name, olen) && (s[olen] == ' ' || !s[olen])) {
			size_t u = strlen(out);
			if (!first && u + 1 < cap) /* one command a line */
				out[u++] = '\n', out[u] = '\0';
			append_bnf(out, cap, s + olen);
			in = 1;
		} else if (s != line && in == 1) {
			append_bnf(out, cap, s);
		} else if (s != line && in == 2) {
			append_bnf(defs[ndefs - 1], sizeof(defs[0]), s);
		} else {
			in = 0;
		}
		first = false;
	}
	/* ROUTE := PREFIX vpc VNI NEXTHOP ...: two passes for a definition inside a definition, line by line */
	for (int pass = 0; pass < 2; pass++) {
		static struct grammar g;
		static char tmp[4096], one[1024];
		const char *q = out;

		tmp[0] = '\0';
		while (*q) {
			size_t len = strcspn(q, "\n");
			snprintf(one, sizeof(one), "%.*s", (int)(len < sizeof(one) ? len : sizeof(one) - 1), q);
			q += len + (q[len] == '\n');
			tokenize(&g, one);
			for (int i = 0; i < g.n; i++) {
				const char *rep = g.tok[i];
				for (int d = 0; d < ndefs; d++)
					if (!strcmp(g.tok[i], names[d]))
						rep = defs[d];
				append_bnf(tmp, sizeof(tmp), rep);
			}
			if (*q && strlen(tmp) + 1 < sizeof(tmp))
				strcat(tmp, "\n");
		}
		snprintf(out, cap, "%s", tmp);
	}
}

struct candidates {
	const char *word[MAX_TOKENS];
	int n;
};

static void add(struct candidates *c, const char *w)
{
	for (int i = 0; i < c->n; i++)
		if (!strcmp(c->word[i], w))
			return;
	if (c->n < MAX_TOKENS)
		c->word[c->n++] = w;
}

/* "on|off", "NAME|none": alternatives written without blanks, a value. */
static bool is_value_set(const char *t)
{
	return strchr(t, '|') && t[1];
}

/* A keyword as typed on the command line: lower case, no alternatives. */
static bool plain_keyword(const char *t)
{
	return is_keyword(t) && !is_value_set(t);
}

/* Where each token sits: the "{" of its innermost braces (-1: none), and whether those braces hold a
 * keyword's values ("proto { tcp | udp }") rather than alternative keywords ("{ via IP | blackhole }"). */
struct layout {
	int group[MAX_TOKENS];
	int branch[MAX_TOKENS]; /* which "|" alternative of its group */
	bool value[MAX_TOKENS];
};

static void lay_out(const struct grammar *g, struct layout *l)
{
	int stack[32], branch[32], depth = 0;

	for (int i = 0; i < g->n; i++) {
		const char *t = g->tok[i];
		l->group[i] = depth ? stack[depth - 1] : -1;
		l->branch[i] = depth ? branch[depth - 1] : 0;
		l->value[i] = false;
		if (!strcmp(t, "{") && depth < 32) {
			branch[depth] = 0;
			stack[depth++] = i;
		} else if (!strcmp(t, "}") && depth) {
			depth--;
		} else if (!strcmp(t, "|") && depth) {
			branch[depth - 1]++;
		}
		if (l->group[i] >= 0) {
			int open = l->group[i];
			l->value[i] = open > 0 && plain_keyword(g->tok[open - 1]);
		}
	}
}

/* The values a keyword takes, into c: a value set in braces or with bars; *typed when it takes a typed value. */
static bool keyword_values(const struct grammar *g, const char *kw, struct candidates *c, bool *typed)
{
	static char split[2048];
	size_t o = 0;
	bool found = false;

	*typed = false;
	for (int i = 0; i + 1 < g->n; i++) {
		const char *next = g->tok[i + 1];
		if (strcmp(g->tok[i], kw))
			continue;
		if (!strcmp(next, "{")) {
			for (int j = i + 2; j < g->n && strcmp(g->tok[j], "}"); j++)
				if (plain_keyword(g->tok[j]))
					add(c, g->tok[j]);
			found = true;
		} else if (is_value_set(next) || is_meta(next)) {
			for (const char *q = next; *q && o + 1 < sizeof(split);) {
				size_t l = strcspn(q, "|");
				char *w = split + o;
				snprintf(w, sizeof(split) - o, "%.*s", (int)l, q);
				o += strlen(w) + 1;
				if (plain_keyword(w))
					add(c, w);
				else
					*typed = true;
				q += l + (q[l] == '|');
			}
			found = true;
		}
	}
	return found;
}

/*
 * Keeps the command lines that hold every keyword typed so far (of those the grammar knows): after
 * "route add" only the add line, after "sg rule add" only that one. Lines are joined for tokenize.
 */
static void select_lines(char *text, int argc, char **argv)
{
	static char keep[4096], line[1024];
	static struct grammar all, g;
	const char *q = text;

	keep[0] = '\0';
	tokenize(&all, text);
	while (*q) {
		size_t len = strcspn(q, "\n");
		bool ok = true;

		snprintf(line, sizeof(line), "%.*s", (int)(len < sizeof(line) ? len : sizeof(line) - 1), q);
		q += len + (q[len] == '\n');
		tokenize(&g, line);
		for (int a = 0; a < argc - 1 && ok; a++) {
			bool known = false, here = false;
			for (int i = 0; i < all.n; i++)
				known |= plain_keyword(argv[a]) && !strcmp(all.tok[i], argv[a]);
			for (int i = 0; i < g.n; i++)
				here |= !strcmp(g.tok[i], argv[a]);
			ok = !known || here;
		}
		if (ok && strlen(keep) + strlen(line) + 2 < sizeof(keep)) {
			strcat(keep, " ");
			strcat(keep, line);
		}
	}
	strcpy(text, keep);
}

static void keyword_candidates(const struct object *o, int argc, char **argv, struct candidates *c)
{
	static struct grammar g;
	static struct layout l;
	static char text[4096];
	struct candidates values = { 0 };
	bool typed;

	command_text(o, text, sizeof(text));
	select_lines(text, argc, argv);
	tokenize(&g, text);
	lay_out(&g, &l);
	/* after a keyword that takes a value: its values (none when a value is typed, as a VNI) */
	bool prev_is_verb = false;
	if (argc == 2)
		for (const struct cmd *cmd = o->cmds; cmd->name && !o->no_verbs; cmd++)
			prev_is_verb |= !strcmp(cmd->name, argv[0]); /* "route get ADDR": ADDR is no value of a keyword */
	if (argc >= 2 && !prev_is_verb && plain_keyword(argv[argc - 2]) &&
	    keyword_values(&g, argv[argc - 2], &values, &typed)) {
		bool is_kw = false;
		for (int i = 0; i < g.n; i++)
			is_kw |= !strcmp(g.tok[i], argv[argc - 2]) && !l.value[i];
		if (is_kw) {
			for (int i = 0; i < values.n; i++)
				add(c, values.word[i]);
			if (!strcmp(argv[argc - 2], "reason")) /* monitor reason REASON: the drop reasons */
				for (unsigned int r = 1; r < DROP__MAX; r++)
					add(c, drop_reason_name(r));
			return;
		}
	}
	/*
	 * Else the keywords not typed yet, and not an alternative of one typed ({ add | replace }, { via IP |
	 * blackhole }); a keyword that follows the verb in its own line (sg rule add) only on that line.
	 */
	for (int i = 0; i < g.n; i++) {
		bool skip = !plain_keyword(g.tok[i]) || l.value[i] || !strcmp(g.tok[i], o->name);
		/* "xdp native|generic|off" tokenizes as one value token: nothing to do; "port N[-M]": the same */
		for (int a = 0; a < argc - 1 && !skip; a++) {
			bool in_group = false, in_branch = false;
			if (!strcmp(argv[a], g.tok[i]))
				skip = true;
			/* a typed word in another branch of the same braces, and not in this one: an alternative */
			for (int j = 0; j < g.n && l.group[i] >= 0; j++)
				if (l.group[j] == l.group[i] && !strcmp(g.tok[j], argv[a])) {
					in_group = true;
					in_branch |= l.branch[j] == l.branch[i];
				}
			skip |= in_group && !in_branch;
		}
		if (!skip)
			add(c, g.tok[i]);
	}
}

int help_complete(int argc, char **argv)
{
	static const char *const all_options[] = { "--json", "--pretty", "--batch", "--force", "--pin-dir", "--netns",
						   "--verbose", "--version", "--help", NULL };
	struct candidates c = { 0 };
	const char *cur = argc ? argv[argc - 1] : "";
	const struct object *o = NULL;
	int i = 0;

	/* options before the object; those that take a value skip it */
	while (i < argc - 1 && argv[i][0] == '-') {
		if (strchr("bdn", argv[i][1]) && !argv[i][2])
			i++;
		else if (!strcmp(argv[i], "--batch") || !strcmp(argv[i], "--pin-dir") || !strcmp(argv[i], "--netns"))
			i++;
		i++;
	}
	if (cur[0] == '-' && i == argc - 1) {
		for (int k = 0; all_options[k]; k++)
			add(&c, all_options[k]);
	} else if (i >= argc - 1) {
		for (int k = 0; object_table()[k]; k++) {
			add(&c, object_table()[k]->name);
			if (object_table()[k]->alias)
				add(&c, object_table()[k]->alias);
		}
		add(&c, "help");
	} else {
		for (int k = 0; object_table()[k] && !o; k++)
			if (!strcmp(argv[i], object_table()[k]->name) || (object_table()[k]->alias && !strcmp(argv[i], object_table()[k]->alias)))
				o = object_table()[k];
		if (o == &obj_help) {
			if (i == argc - 2)
				for (int k = 0; object_table()[k]; k++)
					add(&c, object_table()[k]->name);
		} else if (o && i == argc - 2 && !o->no_verbs) {
			/* the verb, from the command table */
			for (const struct cmd *cmd = o->cmds; cmd->name; cmd++) {
				add(&c, cmd->name);
				if (!strcmp(cmd->name, "show")) {
					add(&c, "list");
					add(&c, "ls");
				}
			}
			add(&c, "help");
			if (o->args_without_verb)
				keyword_candidates(o, argc - i - 1, argv + i + 1, &c);
		} else if (o) {
			/* words of a line that are verbs (sg rule add) count as typed keywords */
			keyword_candidates(o, argc - i - 1, argv + i + 1, &c);
		}
	}
	for (int k = 0; k < c.n; k++)
		if (!strncmp(c.word[k], cur, strlen(cur)))
			printf("%s\n", c.word[k]);
	return 0;
}
