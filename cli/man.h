/* cli/man.h — the man pages, written from the object table like help (cli/man.c). */
#ifndef VPCBPF_CLI_MAN_H
#define VPCBPF_CLI_MAN_H

/* vpcbpf --man [OBJECT]: the roff of vpcbpf(8), or of vpcbpf-OBJECT(8). */
struct argp_option;
int man_page(const struct argp_option *options, int argc, char **argv);

#endif
