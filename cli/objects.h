/* cli/objects.h — the table of objects (vpc, subnet, nic, ...) and how a typed word finds one of them or a verb. */
#ifndef VPCBPF_CLI_OBJECTS_H
#define VPCBPF_CLI_OBJECTS_H

#include <stdbool.h>
#include "cli/cli.h"

/* object_lookup (cli/cli.h) without a word: NULL when none or several match. */
const struct object *object_find(const char *word);
/*
 * The command of o a word names: exact, else the one it is a prefix of (del and delete are one);
 * list and ls are show (iproute2). verb_lookup prints and sets *ambiguous when several match,
 * object_cmd says nothing.
 */
const struct cmd *object_cmd(const struct object *o, const char *word);
const struct cmd *verb_lookup(const struct object *o, const char *word, bool *ambiguous);

#endif
