/* cli/schema.h — the JSON schema of save and apply (docs/schema.md), one object at a time (cluster mode keeps one per etcd key). */
#ifndef VPCBPF_CLI_SCHEMA_H
#define VPCBPF_CLI_SCHEMA_H

#include <json-c/json.h>
#include "cli/jdoc.h"
#include "maps/txn.h"

/* section: "vpcs", "security_groups", "subnets", "nics" or "routes" (the document's keys). */

/* One object of section into st, checked as apply checks it; 0, or 1 after printing the error. */
int apply_object(struct txn_state *st, const char *section, const struct jval *item);
/* One record of st's table for section as save writes it (a new json object). */
json_object *save_object(const struct txn_state *st, const char *section, const void *rec);
/* The whole document of save (sorted, so equal states are equal bytes); NULL after printing an error. */
json_object *save_document(const struct txn_state *st);
/* apply's reading of a document (FILE or - for stdin) into want (empty before); 0, or 1 after printing. */
int apply_read(const char *path, struct txn_state *want);

#endif
