/* cli/cli.h — what the vpcbpf command files share: options, the command tables, parsing and printing. */
#ifndef VPCBPF_CLI_H
#define VPCBPF_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/types.h>
#include "maps/store.h"
#include "maps/route_table.h"

struct options {
	bool json;
	bool pretty;
	bool force;
	bool verbose;
	const char *batch;
	const char *netns;
	char pin_dir[PATH_MAX];
};
extern struct options opts;

/* A command gets the words after its verb; it returns 0, or non-zero after printing an error.
 * fn is NULL for an edit verb: cli/edit.c parses and applies it (its table gives the verb's place for prefixes). */
typedef int (*cmd_fn)(int argc, char **argv);
struct cmd {
	const char *name;
	cmd_fn fn;
};

struct object {
	const char *name;
	const char *alias;
	const struct cmd *cmds; /* NULL-terminated; the first is the default when no verb is given */
	const char *usage;
	void (*help)(void);     /* more after the usage in 'OBJECT help' (stats: the drop reasons); may be NULL */
	bool args_without_verb; /* words that are no verb go to the default command */
	bool no_verbs;          /* one command: every word is its argument (save, apply) */
};

extern const struct object obj_dp, obj_vpc, obj_subnet, obj_nic, obj_route, obj_stats;
extern const struct object obj_save, obj_apply;
extern const struct object obj_sg, obj_monitor, obj_topology;
extern const struct object obj_agent;
extern const struct object obj_metrics;
extern const struct object obj_help;
extern const struct object obj_eip;

/* -V: version, commit, libbpf and libxdp versions (text or JSON; cli/version.c). */
void print_version(void);


/* Dispatches one command line (object verb args...). */
int run_command(int argc, char **argv);
/* --batch FILE: the file's commands as one transaction (cli/batch.c). */
int run_batch(const char *path);
/* Splits a batch line into words in place (cli/batch.c): blanks separate, double quotes group.
 * Returns the number of words, -E2BIG beyond max, -EINVAL for an unclosed quote. */
int split_words(char *line, char **words, int max);

/* ---- errors: one line naming the bad word; the exit status says whose fault (docs/cli.md) ---- */
enum {
	EXIT_REFUSED = 1, /* refused input or state: invalid, already exists, does not exist, in use */
	EXIT_ENV = 2,     /* the environment: no datapath, no privileges, no bpffs, no such netns */
};
/* Each prints the one line (and {"error", "code"} under -j), sets error_status and returns 1. */
int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* status 2 when err says privileges or kernel support are missing (EPERM, EACCES, ENOSYS, EOPNOTSUPP), else 1 */
int fail_errno(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int fail_env(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int fail_env_errno(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
extern int error_status; /* EXIT_* of the last error printed */
/* Context prefixed to error messages in batch mode ("file:line: "). */
extern char err_context[PATH_MAX + 32];
/* The last message fail() printed, without context (the CNI plugin returns it in its error JSON). */
extern char fail_last[1024];

/* ---- parsing: keywords before values, unambiguous prefixes ---- */
bool matches(const char *word, const char *keyword); /* word is a non-empty prefix of keyword */
/*
 * The keyword of kws[0..n) that word names: the one equal to it, else the only one it is a prefix of
 * (bit i of exact_only: kws[i] only when typed whole, but still a candidate). -1 when none; -2 after
 * fail() when several share the prefix: "WHERE: ambiguous keyword \"v\": vpc, via".
 */
int keyword_find(const char *word, const char *const *kws, int n, unsigned long exact_only, const char *where);
int parse_vni(const char *s, __u32 *vni);
int parse_ip(const char *s, __be32 *ip);
int parse_prefix(const char *s, __be32 *prefix, __u8 *len);
int parse_mac(const char *s, __u8 mac[6]);
int parse_u32(const char *s, const char *what, __u32 *v, __u32 min, __u32 max);
int parse_name(const char *s, const char *what, char out[NAME_LEN]);
int parse_on_off(const char *s, const char *what, bool *v);
/* ct-quota N (1..MAX_CONNTRACK) or `default` (0: the host's, for a NIC; CT_NIC_QUOTA_DEFAULT, for a host) */
int parse_ct_quota(const char *s, __u32 *v);
/* The value after keyword kw, or NULL after printing "missing value after kw". */
const char *next_value(int *argc, char ***argv, const char *kw);
int unknown_word(const char *word);
/* "vpc VNI" as a required keyword pair, parsed from anywhere in the words. */

const char *ip_str(__be32 ip, char buf[16]);
const char *prefix_str(__be32 prefix, __u8 len, char buf[20]);
const char *mac_str(const __u8 mac[6], char buf[18]);

/* Prints a NIC's fields (nic show, route get). */
void nic_print(const struct nic_key *k, const struct nic *n);

/* Security groups by name (cli/sg.c): the id, or 1 after "does not exist"; a name for an id. */
int sg_lookup(struct store *s, const char *name, __u32 *id);
const char *sg_name(struct store *s, __u32 id, char buf[NAME_LEN]);

/* ---- the store, opened once per process ---- */
struct store *store_get(bool lock);
/* The same, for a caller that already holds the pin dir's lock on lock_fd (dp up). */
struct store *store_get_locked(int lock_fd);
/* The store, when this run opened it and holds its lock (it edited something); else NULL. */
struct store *store_locked(void);
void store_release(void);

/* ---- printing: one call prints the text form or adds the JSON field ---- */
void pr_begin_list(void);              /* JSON: [ */
void pr_end_list(void);                /* JSON: ] */
void pr_begin_obj(void);
void pr_end_obj(void);                 /* text: newline */
void pr_begin_nested(const char *key); /* JSON: "key": { ; text: nothing */
void pr_end_nested(void);
void pr_begin_array(const char *key);  /* JSON: "key": [ ; text: nothing */
void pr_end_array(void);
void pr_str(const char *key, const char *text_fmt, const char *value);
void pr_u64(const char *key, const char *text_fmt, uint64_t value);
void pr_bool(const char *key, const char *text_if_true, bool value);
void pr_on_off(const char *key, const char *text_fmt, bool value); /* JSON boolean; text "on"/"off" in text_fmt */
void pr_text(const char *fmt, ...) __attribute__((format(printf, 1, 2))); /* text only */
void pr_done(void);                    /* a command with nothing to show: JSON {} */
void pr_flush(void);                   /* prints what the command built (JSON) */
void pr_error(const char *msg, int code); /* JSON: {"error": msg, "code": code} replaces the output */
void pr_printed(void);                 /* the command wrote its own document (save) */

#endif
