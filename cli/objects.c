/* cli/objects.c — the prefix rules that find an object or a verb from a typed word, in the table the entry point gives. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/objects.h"

/*
 * The table (cli/commands.c) holds every object, and through them every
 * command file; the edits' grammar (cli/edit.c) and help need these rules
 * from inside some of those files. So the entry point hands the table over
 * (objects_init) instead of this file naming it: nothing here depends back
 * on the commands.
 */
static const struct object *const *table;

void objects_init(const struct object *const *all)
{
	table = all;
}

const struct object *const *object_table(void)
{
	if (!table) { /* an entry point that forgot objects_init: say so rather than "unknown object" */
		fprintf(stderr, "vpcbpf: internal error: no object table (objects_init)\n");
		abort();
	}
	return table;
}

/* The object word names, or NULL; *n: how many match as a prefix, their names in names. */
static const struct object *match_object(const char *word, int *n, char *names, size_t cap)
{
	const struct object *const *objects = object_table();
	const struct object *found = NULL;

	*n = 0;
	for (int i = 0; objects[i]; i++)
		if (!strcmp(word, objects[i]->name) || (objects[i]->alias && !strcmp(word, objects[i]->alias))) {
			*n = 1;
			return objects[i];
		}
	for (int i = 0; objects[i]; i++)
		if (matches(word, objects[i]->name) || (objects[i]->alias && matches(word, objects[i]->alias))) {
			found = objects[i];
			snprintf(names + strlen(names), cap - strlen(names), "%s%s", (*n)++ ? ", " : "", objects[i]->name);
		}
	return *n == 1 ? found : NULL;
}

const struct object *object_find(const char *word)
{
	char names[256] = "";
	int n;

	return match_object(word, &n, names, sizeof(names));
}

const struct object *object_lookup(const char *word)
{
	char names[256] = "";
	int n;
	const struct object *o = match_object(word, &n, names, sizeof(names));

	if (!o && n > 1)
		fail("ambiguous object \"%s\": %s", word, names);
	else if (!o)
		fail("unknown object \"%s\" (try --help)", word);
	return o;
}

/* del and delete are one command: the same function, or (edits, no function) one name the other's prefix. */
static bool same_cmd(const struct cmd *a, const struct cmd *b)
{
	if (a->fn || b->fn)
		return a->fn == b->fn;
	return !strcmp(a->name, "del") ? !strcmp(b->name, "delete") : !strcmp(a->name, "delete") && !strcmp(b->name, "del");
}

static const struct cmd *match_cmd(const struct object *o, const char *word, int *n, char *names, size_t cap)
{
	const struct cmd *found = NULL;

	*n = 0;
	if (!strcmp(word, "ls") || (strlen(word) >= 2 && matches(word, "list")))
		word = "show";
	for (const struct cmd *c = o->cmds; c->name; c++)
		if (!strcmp(word, c->name)) {
			*n = 1;
			return c;
		}
	for (const struct cmd *c = o->cmds; c->name; c++)
		if (matches(word, c->name) && !(found && same_cmd(found, c))) {
			found = c;
			snprintf(names + strlen(names), cap - strlen(names), "%s%s", (*n)++ ? ", " : "", c->name);
		}
	return *n == 1 ? found : NULL;
}

const struct cmd *object_cmd(const struct object *o, const char *word)
{
	char names[256] = "";
	int n;

	return match_cmd(o, word, &n, names, sizeof(names));
}

const struct cmd *verb_lookup(const struct object *o, const char *word, bool *ambiguous)
{
	char names[256] = "";
	int n;
	const struct cmd *c = match_cmd(o, word, &n, names, sizeof(names));

	*ambiguous = n > 1;
	if (*ambiguous)
		fail("%s: ambiguous command \"%s\": %s", o->name, word, names);
	return c;
}
