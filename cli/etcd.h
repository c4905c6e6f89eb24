/* cli/etcd.h — an etcd v3 client over its HTTP/JSON gateway, on libevent (evhttp), with TLS through OpenSSL. */
#ifndef VPCBPF_CLI_ETCD_H
#define VPCBPF_CLI_ETCD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "cli/json.h"

struct event_base;

/*
 * Why libevent: Debian ships no static libcurl, and the binary is linked
 * -static; libevent-dev ships libevent.a and libevent_openssl.a, and its
 * evhttp gives in one library the HTTP client (with chunked streaming for
 * the watch), the timers (lease keep-alive, backoff) and the signals the
 * agent's event loop needs, and the HTTP server of /metrics.
 *
 * Unary calls (range, put, txn, lease) are synchronous: each runs its own
 * event base until the answer is in, so a caller never re-enters the
 * agent's loop. The watch is a stream on the caller's base.
 */

/* TLS material, from --etcd-ca/--etcd-cert/--etcd-key or VPCBPF_ETCD_CA/_CERT/_KEY. */
struct etcd_tls {
	const char *ca;   /* PEM file of the CA that signed etcd's certificate (else the system's) */
	const char *cert; /* client certificate (PEM), for etcd's --client-cert-auth */
	const char *key;  /* its private key */
};
extern struct etcd_tls etcd_tls;

struct etcd {
	char url[256];
	char host[200];
	int port;
	bool tls;
	int timeout_s;           /* per unary call (30 s; the agent's keep-alive uses less) */
	struct event_base *base; /* of the unary calls */
	void *ssl_ctx;           /* SSL_CTX * */
	char err[256];           /* the last failure, one line */
	bool unreachable;        /* the last failure was a connection that did not answer */
};

/* One key-value as etcd returns it (key and value decoded from base64; value NUL-terminated). */
struct etcd_kv {
	char *key;
	char *value;
	size_t value_len;
	int64_t mod_revision;
	int64_t create_revision;
	int64_t lease;
};

struct etcd_kvs {
	struct etcd_kv *kv;
	size_t n, cap;
	int64_t revision; /* the store's revision the range was read at */
};

/* http://HOST:PORT or https://HOST:PORT (a comma list: the first is used). 0, or -1 with e->err set. */
int etcd_open(struct etcd *e, const char *url);
void etcd_close(struct etcd *e);

/* POSTs a JSON request (body: its text) to PATH (/v3/kv/range...); *resp is the answer (json_free it). 0 or -1 (e->err). */
int etcd_call(struct etcd *e, const char *path, const char *body, yajl_val *resp);

/* Every key in [key, range_end) (range_end NULL: key alone; "" for prefix: see etcd_prefix_end). */
int etcd_range(struct etcd *e, const char *key, const char *range_end, struct etcd_kvs *out);
void etcd_kvs_free(struct etcd_kvs *kvs);
/* The end of the range of keys that start with prefix. */
void etcd_prefix_end(const char *prefix, char *end, size_t cap);

/* A transaction being built: compares, then the operations done when they all hold. */
struct etcd_txn {
	struct jw compare, success; /* the items of the two arrays, comma-separated (written in buffers) */
	size_t nops;   /* operations in success */
	size_t bytes;  /* encoded size so far (etcd refuses a request over 1.5 MiB) */
};
void etcd_txn_init(struct etcd_txn *t);
void etcd_txn_free(struct etcd_txn *t);
/* key's mod_revision must equal rev (0: the key must not exist). */
void etcd_txn_cmp_mod(struct etcd_txn *t, const char *key, int64_t rev);
void etcd_txn_put(struct etcd_txn *t, const char *key, const char *value, size_t len, int64_t lease);
void etcd_txn_del(struct etcd_txn *t, const char *key);
/* Commits: 0 with *ok = whether the compares held and *rev the revision after; -1 on error (e->err). */
int etcd_txn_commit(struct etcd *e, struct etcd_txn *t, bool *ok, int64_t *rev);

int etcd_put(struct etcd *e, const char *key, const char *value, int64_t lease, int64_t *rev);
int etcd_lease_grant(struct etcd *e, int ttl, int64_t *id);
/* 0 with *ttl the lease's remaining time (0 or less: the lease is gone); -1 on error. */
int etcd_lease_keepalive(struct etcd *e, int64_t id, int64_t *ttl);
int etcd_lease_revoke(struct etcd *e, int64_t id);

/* A watch on [key, range_end) from start_rev, streamed on base. */
struct etcd_watch;
struct etcd_watch_event {
	bool del; /* a delete, else a put */
	struct etcd_kv kv;
};
struct etcd_watch_cb {
	/* One response: its events (all of whole revisions), or none for a progress notice. */
	void (*events)(void *arg, int64_t revision, const struct etcd_watch_event *ev, size_t n);
	/* The stream ended (connection lost, canceled, compacted: compact_revision > 0). */
	void (*ended)(void *arg, int64_t compact_revision, const char *why);
	void *arg;
};
struct etcd_watch *etcd_watch_start(struct etcd *e, struct event_base *base, const char *key,
				    const char *range_end, int64_t start_rev, const struct etcd_watch_cb *cb);
/* Stops and frees (not from inside its callbacks: defer it). */
void etcd_watch_stop(struct etcd_watch *w);

/* base64 (etcd's JSON gateway carries keys and values as bytes). Returns a malloc'ed NUL-terminated string. */
char *etcd_b64(const void *data, size_t len);
char *etcd_unb64(const char *s, size_t *len);

#endif
