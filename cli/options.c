/* cli/options.c — the global options of one run (set by cli/main.c from the command line, read everywhere). */
#include "cli/cli.h"

struct options opts;
