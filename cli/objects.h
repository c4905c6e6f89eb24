/* cli/objects.h — how a typed word finds an object (vpc, subnet, nic, ...) or a verb in the table of objects. */
#ifndef VPCBPF_CLI_OBJECTS_H
#define VPCBPF_CLI_OBJECTS_H

#include <stdbool.h>
#include "cli/cli.h"

/* The entry point's table (cli/commands.c), NULL-terminated, before any lookup (main, the CNI plugin, the fuzzer). */
void objects_init(const struct object *const *all);
/* That table, in the order --help lists it. */
const struct object *const *object_table(void);
/*
 * The object a word names: the exact name or alias, else the one object it is a prefix of; NULL after
 * fail() when none, or when several match ("ambiguous", listing them).
 */
const struct object *object_lookup(const char *word);
/* object_lookup without a word: NULL when none or several match. */
const struct object *object_find(const char *word);
/*
 * The command of o a word names: exact, else the one it is a prefix of (del and delete are one);
 * list and ls are show (iproute2). verb_lookup prints and sets *ambiguous when several match,
 * object_cmd says nothing.
 */
const struct cmd *object_cmd(const struct object *o, const char *word);
const struct cmd *verb_lookup(const struct object *o, const char *word, bool *ambiguous);

#endif
