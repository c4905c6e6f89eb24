/* cli/version.c — vpcbpf -V: the version, the commit it was built from and the libraries linked into it. */
#include <stdio.h>
#include "cli/cli.h"
#include "version.h" /* build/version.h, written by make: VPCBPF_COMMIT, VPCBPF_LIBBPF_VERSION, VPCBPF_LIBXDP_VERSION */

void print_version(void)
{
	/* both libraries are linked statically: the versions they were built with are the ones that run */
	pr_begin_obj();
	pr_str("version", "vpcbpf %s", VPCBPF_VERSION);
	pr_str("commit", " (commit %s", VPCBPF_COMMIT);
	pr_str("libbpf", ", libbpf %s", VPCBPF_LIBBPF_VERSION);
	pr_str("libxdp", ", libxdp %s)", VPCBPF_LIBXDP_VERSION);
	pr_end_obj();
}
