/* cli/help.h — help and completion generated from the object table (cli/help.c). */
#ifndef VPCBPF_CLI_HELP_H
#define VPCBPF_CLI_HELP_H

#include <stdio.h>
#include "cli/cli.h"

/*
 * An object's whole grammar as help, man and completion print it: its edits written from cli/edit.c's
 * tables (the parser's own rows, so the two cannot drift), then o->usage (its reads and prose).
 */
const char *object_usage(const struct object *o);
/* 'OBJECT help': the object's grammar (text, or {"usage": ...} under -j). */
void print_usage(const struct object *o);
/* The OBJECT list and each object's first grammar line, for --help and 'vpcbpf help'. */
void help_objects(FILE *f);
/* vpcbpf --complete -- WORDS...: the candidates for the last word (maybe ""), one a line. */
int help_complete(int argc, char **argv);

#endif
