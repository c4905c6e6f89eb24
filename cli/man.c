/* cli/man.c — the man pages vpcbpf(8) and vpcbpf-OBJECT(8), written in roff from the object and option tables. */
#include <argp.h>
#include <stdio.h>
#include <string.h>
#include "cli/cli.h"
#include "cli/help.h"
#include "cli/objects.h"
#include "cli/man.h"

/* One line of text for roff: backslashes and dashes escaped, a leading dot or quote made literal. */
static void roff(FILE *f, const char *s, size_t len)
{
	if (len && (s[0] == '.' || s[0] == '\''))
		fputs("\\&", f);
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\\')
			fputs("\\e", f);
		else if (s[i] == '-')
			fputs("\\-", f);
		else
			fputc(s[i], f);
	}
	fputc('\n', f);
}

static void roff_str(FILE *f, const char *s)
{
	roff(f, s, strlen(s));
}

/* What each object is, for NAME lines; an object the table gains later still gets a page. */
static const char *summary(const char *name)
{
	static const struct { const char *name, *text; } known[] = {
		{ "dp", "load, upgrade, show and unload the datapath of this host" },
		{ "vpc", "VPCs: isolated address spaces, one VXLAN network identifier each" },
		{ "subnet", "subnets of a VPC (vxnets), with their gateway" },
		{ "nic", "network interfaces of VMs and containers in a VPC, local or on another host" },
		{ "route", "the route table of a VPC: next hops via an appliance, blackhole, peering, the internet" },
		{ "sg", "security groups: stateful filtering rules of NICs" },
		{ "stats", "drops by reason (host, VPC, NIC) and NIC traffic counters" },
		{ "save", "print the whole state of the host as JSON" },
		{ "apply", "make the state of the host equal to a JSON document, as one transaction" },
		{ "monitor", "stream the datapath's drop events" },
		{ "topology", "the network as a Graphviz graph or JSON" },
		{ "help", "the objects and their grammar" },
		{ "agent", "the node agent: this host's state from etcd (cluster mode)" },
		{ "metrics", "the datapath's counters as Prometheus metrics" },
		{ "eip", "elastic IPs: a public address 1:1 to a NIC, both ways" },
	};
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (!strcmp(known[i].name, name))
			return known[i].text;
	return "an object of vpcbpf(8)";
}

static void header(FILE *f, const char *title, const char *name, const char *what)
{
	fprintf(f, ".TH %s 8 \"\" \"vpcbpf %s\" \"System Administration\"\n.SH NAME\n", title, VPCBPF_VERSION);
	fprintf(f, "%s \\- ", name);
	roff_str(f, what);
}

static void exit_status(FILE *f)
{
	fputs(".SH EXIT STATUS\n"
	      ".TP\n.B 0\ndone (also when the state asked for already is, as in a second\n.BR \"dp down\" )\n"
	      ".TP\n.B 1\nrefused input or state, nothing changed: an invalid or ambiguous word, an object that\n"
	      "already exists or does not exist\n"
	      ".TP\n.B 2\nthe environment: no datapath loaded, no privileges, no bpffs, no such network namespace\n"
	      ".PP\nWith\n.BR \\-j ,\nan error is \\fB{\"error\": MESSAGE, \"code\": STATUS}\\fR on standard output.\n",
	      f);
}

/* vpcbpf-OBJECT(8): the object's grammar as the help prints it, split into synopsis and prose. */
static void object_page(FILE *f, const struct object *o)
{
	char title[64], name[64];
	const char *usage = object_usage(o), *p = usage;
	bool synopsis = true, in_def = false;

	snprintf(name, sizeof(name), "vpcbpf\\-%s", o->name);
	snprintf(title, sizeof(title), "VPCBPF-%s", o->name);
	for (char *c = title; *c; c++)
		*c = (char)(*c >= 'a' && *c <= 'z' ? *c - 32 : *c);
	header(f, title, name, summary(o->name));
	fputs(".SH SYNOPSIS\n.nf\n", f);
	while (*p) {
		size_t len = strcspn(p, "\n");
		bool indented = p[0] == ' ';
		const char *def = strstr(p, " := ");
		bool is_def = def && def < p + len && !indented;

		/* command lines: the first, and indented ones after it; then definitions (kept as typed) and prose */
		if (synopsis && p != usage && !indented) {
			fputs(".fi\n.SH DESCRIPTION\n", f);
			synopsis = false;
		}
		if (synopsis) {
			const char *s = p + strspn(p, " ");
			size_t olen = strlen(o->name);
			/* a command line starts with the object; an indented line that does not goes on the one before */
			fputs(p == usage || (!strncmp(s, o->name, olen) && (s[olen] == ' ' || s[olen] == '\n' || !s[olen]))
				      ? "vpcbpf [OPTIONS] " : "        ", f);
			roff(f, s, len - strspn(p, " "));
		} else if (is_def || (in_def && indented)) {
			if (!in_def)
				fputs(".PP\n.nf\n", f);
			in_def = true;
			roff(f, p, len);
		} else {
			if (in_def)
				fputs(".fi\n.PP\n", f);
			in_def = false;
			roff(f, p + strspn(p, " "), len - strspn(p, " "));
		}
		p += len + (p[len] == '\n');
	}
	if (synopsis || in_def)
		fputs(".fi\n", f);
	if (o->alias) {
		fputs(".PP\n", f);
		roff_str(f, o->alias);
		fputs("is another name for\n", f);
		fprintf(f, ".BR %s .\n", o->name);
	}
	fputs(".PP\nEvery word may be shortened to a prefix that no other word of its place shares;\n"
	      "no COMMAND means show, and list and ls are show.\n", f);
	if (!strcmp(o->name, "stats")) {
		fputs(".SH DROP REASONS\n", f);
		for (unsigned int r = 1; r < DROP__MAX; r++) {
			const char *m = drop_reason_meaning(r);
			fputs(".TP\n.B ", f);
			roff_str(f, drop_reason_name(r));
			roff_str(f, m ? m : "(not described yet)");
		}
	}
	exit_status(f);
	fputs(".SH SEE ALSO\n.BR vpcbpf (8)\n", f);
}

/* vpcbpf(8): options from the argp table, objects from the object table, each pointing to its page. */
static void main_page(FILE *f, const struct argp_option *options)
{
	header(f, "VPCBPF", "vpcbpf", "a multi-tenant VPC data plane (eBPF on XDP and tc)");
	fputs(".SH SYNOPSIS\n.B vpcbpf\n[\n.I OPTIONS\n]\n.I OBJECT\n[\n.I COMMAND\n[\n.IR ARGS ...\n]]\n"
	      ".SH DESCRIPTION\n"
	      ".B vpcbpf\nloads CO\\-RE eBPF programs on XDP and tc hooks that forward the traffic of virtual\n"
	      "machines and containers inside their VPC (virtual private cloud): VXLAN between hosts,\n"
	      "a longest\\-prefix route table per VPC and stateful security groups. It pins its maps under\n"
	      "the pin dir and edits VPCs, subnets, NICs and routes atomically.\n"
	      ".PP\nWords may be shortened to any prefix that no other word of their place shares\n"
	      "(\\fBvpcbpf r s\\fR is \\fBvpcbpf route show\\fR); an ambiguous prefix is refused with its\n"
	      "candidates. No COMMAND means show.\n"
	      ".SH OPTIONS\n", f);
	for (const struct argp_option *o = options; o->name || o->key; o++) {
		if (o->flags & OPTION_HIDDEN || !o->name)
			continue;
		fputs(".TP\n", f);
		if (o->key > ' ' && o->key < 127)
			fprintf(f, ".BR \\-%c \", \" \\-\\-%s", o->key, o->name);
		else
			fprintf(f, ".B \\-\\-%s", o->name);
		fprintf(f, o->arg ? " \" \\fI%s\\fR\"\n" : "\n", o->arg ? o->arg : "");
		roff_str(f, o->doc);
	}
	fputs(".SH OBJECTS\n", f);
	for (int i = 0; object_table()[i]; i++) {
		fputs(".TP\n.B ", f);
		roff_str(f, object_table()[i]->name);
		roff_str(f, summary(object_table()[i]->name));
		fprintf(f, "(\\fBvpcbpf\\-%s\\fR(8))\n", object_table()[i]->name);
	}
	exit_status(f);
	fputs(".SH ENVIRONMENT\n.TP\n.B VPCBPF_PIN_DIR\nthe pin dir when\n.B \\-\\-pin\\-dir\nis not given\n"
	      ".SH FILES\n.TP\n.I " DEFAULT_PIN_DIR "\n"
	      "the default pin dir, on a bpffs;\n.B dp up\nmounts one where none is, never over files, and\n"
	      ".B dp down\nunmounts what it mounted\n"
	      ".SH SEE ALSO\n", f);
	for (int i = 0; object_table()[i]; i++)
		fprintf(f, ".BR vpcbpf\\-%s (8),\n", object_table()[i]->name);
	fputs(".BR ip (8),\n.BR bpftool (8)\n", f);
}

int man_page(const struct argp_option *options, int argc, char **argv)
{
	const struct object *o;

	if (argc == 0) {
		main_page(stdout, options);
		return 0;
	}
	if (argc > 1)
		return unknown_word(argv[1]);
	if (!(o = object_lookup(argv[0])))
		return 1;
	object_page(stdout, o);
	return 0;
}
