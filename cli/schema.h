/* cli/schema.h — the JSON schema of save and apply (docs/schema.md), one object at a time (cluster mode keeps one per etcd key). */
#ifndef VPCBPF_CLI_SCHEMA_H
#define VPCBPF_CLI_SCHEMA_H

#include "cli/json.h"
#include "cli/jdoc.h"
#include "maps/txn.h"

/* section: "vpcs", "security_groups", "subnets", "nics" or "routes" (the document's keys). */

/* One object of section into st, checked as apply checks it; 0, or 1 after printing the error. */
int apply_object(struct txn_state *st, const char *section, const struct jval *item);
/* One record of st's table for section, as save writes it, into w (an object). */
void save_object(struct jw *w, const struct txn_state *st, const char *section, const void *rec);
/* The same as compact text (malloc'ed; what cluster mode stores under the object's key), NULL if it cannot. */
char *save_object_text(const struct txn_state *st, const char *section, const void *rec);
/* The whole document of save into w (sorted, so equal states are equal bytes); 0, or 1 after printing an error. */
int save_document(struct jw *w, const struct txn_state *st);
/* save's output: the document on stdout (compact with -j, else pretty) and a newline; 0, or 1 after printing. */
int save_print(const struct txn_state *st);
/* apply's reading of a document (FILE or - for stdin) into want (empty before); 0, or 1 after printing. */
int apply_read(const char *path, struct txn_state *want);

#endif
