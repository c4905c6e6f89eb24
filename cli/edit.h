/* cli/edit.h — each object's one grammar: a command's words become an edit, applied to a state through cli/state.c's rules. */
#ifndef VPCBPF_CLI_EDIT_H
#define VPCBPF_CLI_EDIT_H

#include <stdbool.h>
#include <net/if.h>
#include "maps/txn.h"
#include "maps/sg_table.h"

/*
 * One command's words (OBJECT VERB ARGS..., as on the command line, prefixes
 * allowed) parsed by the object's one grammar into an edit and applied to st
 * through the one rule set. 0, or 1 after printing the error via fail()
 * (err_context names batch line / JSON object). st unchanged on error.
 */
int edit_apply_words(struct txn_state *st, int argc, char **argv);
/* true when OBJECT VERB is an edit (add/del/replace/set/flush/rule ...), false for reads (show/get/...). */
bool edit_is_edit(int argc, char **argv);

/* The single command of an edit: loads what the edit needs (lazily), applies it, commits it. */
int edit_run(int argc, char **argv);

/* ---- the grammar as data (help and completion are generated from it) ---- */

/* What an edit does. */
enum edit_op {
	EDIT_VPC_ADD = 1,
	EDIT_VPC_DEL,
	EDIT_SUBNET_ADD,
	EDIT_SUBNET_DEL,
	EDIT_NIC_ADD,
	EDIT_NIC_REPLACE,
	EDIT_NIC_SET,
	EDIT_NIC_DEL,
	EDIT_ROUTE_ADD,
	EDIT_ROUTE_REPLACE,
	EDIT_ROUTE_DEL,
	EDIT_ROUTE_FLUSH,
	EDIT_SG_ADD,
	EDIT_SG_DEL,
	EDIT_SG_RULE_ADD,
	EDIT_SG_RULE_DEL,
	EDIT_EIP_ADD,
	EDIT_EIP_DEL,
	EDIT_SUBNET_SET,
	EDIT_VPC_SET,
};

/* Where a keyword's value goes in struct edit (also the bit of edit.have saying it was given). */
enum edit_slot {
	ES_VNI,          /* vpc VNI (the VPC's own VNI for vpc add/del) */
	ES_PREFIX,       /* CIDR of a subnet, PREFIX of a route */
	ES_IP,           /* a NIC's address */
	ES_NAME,         /* name NAME (vpc, subnet), the NAME of sg add */
	ES_GROUP,        /* the NAME of sg del / sg rule: an existing group's name, as typed */
	ES_GATEWAY,
	ES_MAC,
	ES_DEV,
	ES_REMOTE,
	ES_SG,           /* nic ... sg NAME|none */
	ES_SOURCE_CHECK,
	ES_VIA,          /* the next hops: one of via, blackhole, peer */
	ES_BLACKHOLE,
	ES_PEER,
	ES_ADVERTISE,
	ES_PRIORITY,
	ES_RULE,         /* sg rule add NAME RULE: the rest of the words */
	ES_CT_QUOTA,     /* nic ... ct-quota N|default */
	ES_HOST,         /* nic ... host NAME (cluster mode: the machine the NIC's dev is on) */
	ES_INTERNET,     /* route ... internet: a next hop (SNAT out of the external device, docs/nat.md) */
	ES_EIP,          /* eip add|del EIP: the elastic IP (its NIC: nic IP -> ES_IP, vpc VNI) */
	ES_DNS,          /* subnet ... dns IP[,IP]|none (DHCP option 6, cli/dhcp.c) */
	ES_DOMAIN,       /* subnet ... domain NAME|none (option 15) */
	ES_DHCP_ROUTES,  /* subnet ... routes PREFIX[,PREFIX...]|none (option 121) */
	ES_DHCP,         /* nic ... dhcp on|off */
	ES_TABLE,        /* vpc ... table N|default: the kernel table of its advertised routes */
	ES__COUNT
};

/* How the word after a keyword is read. */
enum edit_value {
	EV_NONE,     /* a flag: the keyword alone */
	EV_VNI,
	EV_IP,
	EV_PREFIX,
	EV_MAC,
	EV_NAME,     /* checked by parse_name (what: the kind of name) */
	EV_WORD,     /* taken as typed */
	EV_DEV,      /* an interface name (IF_NAMESIZE) */
	EV_ON_OFF,
	EV_PRIORITY, /* 1..SG_PRIORITY_MAX */
	EV_RULE,     /* RULE words, to the end */
	EV_CT_QUOTA, /* N or default */
	EV_DHCP_OPTION, /* a subnet's DHCP option as text, or none (cli/dhcp.c) */
	EV_TABLE,    /* a kernel routing table, or default */
};

#define EK_EXACT 1U    /* only when typed whole (a prefix of several keywords is refused anyway: keyword_find) */
#define EK_REQUIRED 2U /* the command fails without it */
#define EK_NEXTHOP 4U  /* one of the route's next hops: at most one */
/* Rows with the same G (1..14) are alternatives: help shows them as { a | b } where the first stands
 * (the verb's check says how many may be given). EK_NEXTHOP rows are one such group of their own. */
#define EK_ONE_OF(g) ((unsigned int)(g) << 8)
#define EDIT_GROUP_OF(k) ((k)->flags & EK_NEXTHOP ? 15U : ((k)->flags >> 8) & 15U)

/* A keyword of a verb: KEYWORD VALUE, or the positional value when word is NULL (always the first word). */
struct edit_kw {
	const char *word;
	enum edit_value value;
	enum edit_slot slot;
	unsigned int flags;
	const char *meta; /* the value's name in usage: VNI, IP, NAME|none ... */
	const char *what; /* EV_NAME: "VPC name" ...; EV_ON_OFF: the keyword */
};

struct edit;
/* Checks between keywords after all are read (e.g. "dev or remote"): 0, or 1 after fail(). */
typedef int (*edit_check_fn)(const struct edit *e);

struct edit_verb {
	const char *object; /* canonical names, as in errors: "nic" */
	const char *verb;   /* "add"; "rule add" for sg's two-word verbs */
	enum edit_op op;
	const struct edit_kw *kws; /* ends with { .slot = ES__COUNT } */
	edit_check_fn check;
};

/* Every edit verb of every object, ending with { 0 }. */
extern const struct edit_verb edit_verbs[];

/* An edit: what one command line (or one JSON object of apply) asks. */
struct edit {
	const struct edit_verb *verb;
	unsigned int have; /* 1U << enum edit_slot for each value given */
	__u32 vni, peer_vni, priority, ct_quota;
	__be32 prefix, ip, gateway, remote, via, eip;
	__u8 len;
	__u8 mac[6];
	bool source_check, advertise;
	char name[NAME_LEN];
	const char *group;   /* ES_GROUP: as typed (points into the words) */
	char sg[NAME_LEN];   /* ES_SG: "" for none */
	char dev[IF_NAMESIZE];
	char host[TXN_HOST_LEN];
	struct sg_rule_entry rule;
	struct subnet_dhcp dhcp; /* ES_DNS, ES_DOMAIN, ES_DHCP_ROUTES */
	bool dhcp_off;           /* ES_DHCP */
	__u32 table;             /* ES_TABLE: 0 for default */
};

#define EDIT_HAS(e, slot) (((e)->have >> (slot)) & 1U)

/* The verb OBJECT VERB [SUBVERB] names (prefixes allowed), or NULL; *nwords: how many words it took. */
const struct edit_verb *edit_find(int argc, char **argv, int *nwords);
/* The verb of an edit (apply builds edits from JSON objects). */
const struct edit_verb *edit_verb_of(enum edit_op op);
/* The words after the verb into *e: 0, or 1 after fail(). */
int edit_parse(const struct edit_verb *v, int argc, char **argv, struct edit *e);
/* *e through the rules (cli/state.c) onto st: 0, or 1 after fail(); st unchanged on error. */
int edit_apply(struct txn_state *st, const struct edit *e);

/* RULE := { ingress | egress } proto PROTO [port N[-M]] [cidr PREFIX] { allow | deny } [priority N] */
int sg_parse_rule(int argc, char **argv, struct sg_rule_entry *e);
/* RULE's words (sg_parse_rule reads them; help prints "RULE := ..." from them), ending with { .slot = ES__COUNT }. */
extern const struct edit_kw sg_rule_words[];

#endif
