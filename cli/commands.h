/* cli/commands.h — the table of every object the command line knows (cli/commands.c). */
#ifndef VPCBPF_CLI_COMMANDS_H
#define VPCBPF_CLI_COMMANDS_H

#include "cli/cli.h"

/* NULL-terminated, in the order --help lists them; entry points give it to objects_init (cli/objects.h). */
extern const struct object *const commands[];

#endif
