/* cli/etcd.c — the etcd v3 JSON gateway spoken over libevent's evhttp: kv, txn, lease, watch; TLS via OpenSSL. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include "cli/etcd.h"

struct etcd_tls etcd_tls;

char *etcd_b64(const void *data, size_t len)
{
	char *out = malloc(4 * ((len + 2) / 3) + 1);
	if (out)
		EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	return out;
}

char *etcd_unb64(const char *s, size_t *len)
{
	size_t n = strlen(s), pad = 0;
	unsigned char *out;
	int got;

	if (n % 4)
		return NULL;
	out = malloc(n / 4 * 3 + 1);
	if (!out)
		return NULL;
	got = EVP_DecodeBlock(out, (const unsigned char *)s, (int)n);
	if (got < 0) {
		free(out);
		return NULL;
	}
	/* EVP_DecodeBlock counts the bytes of the '=' padding too */
	while (n && s[n - 1] == '=' && pad < 2) {
		pad++;
		n--;
	}
	*len = (size_t)got - pad;
	out[*len] = '\0';
	return (char *)out;
}

void etcd_prefix_end(const char *prefix, char *end, size_t cap)
{
	size_t n = strlen(prefix);
	snprintf(end, cap, "%s", prefix);
	/* the key after every key that starts with prefix: its last byte plus one */
	while (n > 0 && (unsigned char)end[n - 1] == 0xff)
		end[--n] = '\0';
	if (n > 0)
		end[n - 1]++;
}

static int seterr(struct etcd *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int seterr(struct etcd *e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->err, sizeof(e->err), fmt, ap);
	va_end(ap);
	return -1;
}

static int tls_init(struct etcd *e)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	unsigned long ssl_err;

	if (!ctx)
		return seterr(e, "TLS: cannot create a context");
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (etcd_tls.ca ? !SSL_CTX_load_verify_locations(ctx, etcd_tls.ca, NULL) : !SSL_CTX_set_default_verify_paths(ctx))
		goto bad;
	if (etcd_tls.cert && (!SSL_CTX_use_certificate_chain_file(ctx, etcd_tls.cert) ||
			      !SSL_CTX_use_PrivateKey_file(ctx, etcd_tls.key ? etcd_tls.key : etcd_tls.cert, SSL_FILETYPE_PEM) ||
			      !SSL_CTX_check_private_key(ctx)))
		goto bad;
	e->ssl_ctx = ctx;
	return 0;
bad:
	ssl_err = ERR_get_error();
	SSL_CTX_free(ctx);
	return seterr(e, "TLS: %s (CA %s, certificate %s)", ERR_reason_error_string(ssl_err) ?: "bad files",
		      etcd_tls.ca ?: "system", etcd_tls.cert ?: "none");
}

int etcd_open(struct etcd *e, const char *url)
{
	const char *p = url, *colon;
	size_t hlen;

	memset(e, 0, sizeof(*e));
	snprintf(e->url, sizeof(e->url), "%.*s", (int)strcspn(url, ","), url);
	e->timeout_s = 30; /* a 1 MiB transaction on a busy etcd takes seconds; a dead one is refused at once */
	e->port = 2379;
	if (!strncmp(p, "http://", 7)) {
		p += 7;
	} else if (!strncmp(p, "https://", 8)) {
		p += 8;
		e->tls = true;
	} else {
		return seterr(e, "etcd URL \"%s\" must start with http:// or https://", e->url);
	}
	hlen = strcspn(p, ":/,");
	if (!hlen || hlen >= sizeof(e->host))
		return seterr(e, "etcd URL \"%s\": no host", e->url);
	memcpy(e->host, p, hlen);
	e->host[hlen] = '\0';
	colon = p + hlen;
	if (*colon == ':') {
		char *endp;
		long port = strtol(colon + 1, &endp, 10);
		if (port < 1 || port > 65535 || (*endp && *endp != '/' && *endp != ','))
			return seterr(e, "etcd URL \"%s\": bad port", e->url);
		e->port = (int)port;
	}
	e->base = event_base_new();
	if (!e->base)
		return seterr(e, "out of memory");
	if (e->tls && tls_init(e)) {
		event_base_free(e->base);
		e->base = NULL;
		return -1;
	}
	return 0;
}

void etcd_close(struct etcd *e)
{
	if (e->ssl_ctx)
		SSL_CTX_free(e->ssl_ctx);
	if (e->base)
		event_base_free(e->base);
	e->ssl_ctx = NULL;
	e->base = NULL;
}

/* A connection to etcd on base: TCP, or TLS with etcd's name (or IP) checked against its certificate. */
static struct evhttp_connection *conn_new(struct etcd *e, struct event_base *base)
{
	struct bufferevent *bev;
	struct evhttp_connection *c;

	if (e->tls) {
		SSL *ssl = SSL_new(e->ssl_ctx);
		struct in6_addr a;
		if (!ssl)
			return NULL;
		if (inet_pton(AF_INET, e->host, &a) == 1 || inet_pton(AF_INET6, e->host, &a) == 1) {
			X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), e->host);
		} else {
			SSL_set_tlsext_host_name(ssl, e->host);
			SSL_set1_host(ssl, e->host);
		}
		bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
						     BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
		if (bev)
			bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	} else {
		bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	}
	if (!bev)
		return NULL;
	c = evhttp_connection_base_bufferevent_new(base, NULL, bev, e->host, (unsigned short)e->port);
	if (!c) {
		bufferevent_free(bev);
		return NULL;
	}
	evhttp_connection_set_retries(c, 0);
	return c;
}

static struct evhttp_request *request_new(struct etcd *e, void (*cb)(struct evhttp_request *, void *), void *arg,
					  const char *body, size_t len)
{
	struct evhttp_request *req = evhttp_request_new(cb, arg);
	struct evkeyvalq *h;
	char host[220];

	if (!req)
		return NULL;
	h = evhttp_request_get_output_headers(req);
	snprintf(host, sizeof(host), "%s:%d", e->host, e->port);
	evhttp_add_header(h, "Host", host);
	evhttp_add_header(h, "Content-Type", "application/json");
	evbuffer_add(evhttp_request_get_output_buffer(req), body, len);
	return req;
}

struct call {
	struct event_base *base;
	bool done;
	int code;
	enum evhttp_request_error error;
	bool have_error;
	struct evbuffer *body;
};

static void call_error(enum evhttp_request_error err, void *arg)
{
	struct call *c = arg;
	c->error = err;
	c->have_error = true;
}

static void call_done(struct evhttp_request *req, void *arg)
{
	struct call *c = arg;
	c->done = true;
	if (req) {
		c->code = evhttp_request_get_response_code(req);
		evbuffer_add_buffer(c->body, evhttp_request_get_input_buffer(req));
	}
	event_base_loopbreak(c->base);
}

static const char *request_error_name(enum evhttp_request_error err)
{
	switch (err) {
	case EVREQ_HTTP_TIMEOUT: return "timed out";
	case EVREQ_HTTP_EOF: return "connection closed";
	case EVREQ_HTTP_INVALID_HEADER: return "bad answer";
	case EVREQ_HTTP_BUFFER_ERROR: return "cannot connect";
	default: return "request failed";
	}
}

int etcd_call(struct etcd *e, const char *path, const char *body, yajl_val *resp)
{
	struct call c = { .base = e->base };
	struct evhttp_connection *conn;
	struct evhttp_request *req;
	yajl_val o = NULL;
	char jerr[160];
	int err = -1;

	*resp = NULL;
	e->unreachable = false;
	if (!body) {
		seterr(e, "out of memory");
		return -1;
	}
	c.body = evbuffer_new();
	conn = conn_new(e, e->base);
	if (!c.body || !conn) {
		seterr(e, "out of memory");
		goto out;
	}
	evhttp_connection_set_timeout(conn, e->timeout_s);
	req = request_new(e, call_done, &c, body, strlen(body));
	if (!req) {
		seterr(e, "out of memory");
		goto out;
	}
	evhttp_request_set_error_cb(req, call_error);
	if (evhttp_make_request(conn, req, EVHTTP_REQ_POST, path)) {
		seterr(e, "etcd %s: cannot send the request", e->url);
		goto out;
	}
	while (!c.done && event_base_loop(e->base, EVLOOP_ONCE) >= 0)
		;
	if (!c.code) {
		struct bufferevent *bev = evhttp_connection_get_bufferevent(conn);
		unsigned long ssl_err = e->tls && bev ? bufferevent_get_openssl_error(bev) : 0;
		SSL *ssl = e->tls && bev ? bufferevent_openssl_get_ssl(bev) : NULL;
		long verify = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
		e->unreachable = true;
		if (verify != X509_V_OK)
			seterr(e, "etcd %s: TLS: certificate verify failed: %s", e->url, X509_verify_cert_error_string(verify));
		else if (ssl_err)
			seterr(e, "etcd %s: TLS: %s", e->url, ERR_reason_error_string(ssl_err) ?: "handshake failed");
		else
			seterr(e, "etcd %s: %s", e->url, c.have_error ? request_error_name(c.error) : "no answer");
		ERR_clear_error();
		goto out;
	}
	size_t len = evbuffer_get_length(c.body);
	if (!len) {
		seterr(e, "etcd %s%s: HTTP %d, empty answer", e->url, path, c.code);
		goto out;
	}
	/* NUL-terminated for the message below (json_parse reads len bytes only) */
	if (evbuffer_add(c.body, "", 1)) {
		seterr(e, "out of memory");
		goto out;
	}
	const char *text = (const char *)evbuffer_pullup(c.body, -1);
	o = json_parse(text, len, jerr, sizeof(jerr));
	if (!o) {
		seterr(e, "etcd %s%s: HTTP %d, answer is not JSON (%zu bytes: %.80s)", e->url, path, c.code, len, text);
		goto out;
	}
	if (c.code != 200) {
		const char *msg = json_get_string(o, "message");
		if (!msg)
			msg = json_get_string(o, "error");
		seterr(e, "etcd %s%s: HTTP %d: %s", e->url, path, c.code, msg ? msg : "?");
		json_free(o);
		goto out;
	}
	*resp = o;
	err = 0;
out:
	if (conn)
		evhttp_connection_free(conn);
	if (c.body)
		evbuffer_free(c.body);
	return err;
}

/* key + bytes as etcd's gateway takes them: base64 */
static void kb64(struct jw *w, const char *key, const void *data, size_t len)
{
	char *s = etcd_b64(data, len);
	if (!s)
		jw_fail(w, "out of memory");
	jw_kstring(w, key, s ? s : "");
	free(s);
}

/* A request's text, or NULL when it could not be written (etcd_call then says "out of memory"). */
static char *request_text(struct jw *w)
{
	char *s = jw_finish(w) ? NULL : jw_take(w, NULL);
	jw_free(w);
	return s;
}

/* etcd's gateway writes int64 fields as strings ("revision": "42"); a number is taken too. 0 when missing. */
static int64_t get_i64(yajl_val o, const char *key)
{
	yajl_val v = json_get(o, key);
	const char *s = json_string(v);
	int64_t x = 0;

	if (s) {
		char *end;
		long long n = strtoll(s, &end, 10);
		return *s && !*end ? n : 0;
	}
	return json_int(v, &x) ? 0 : x;
}

static int64_t header_revision(yajl_val o)
{
	return get_i64(json_get(o, "header"), "revision");
}

/* A kv object of etcd's answer into kv (strings allocated). */
static int kv_take(yajl_val o, struct etcd_kv *kv)
{
	const char *k = json_get_string(o, "key"), *v = json_get_string(o, "value");
	size_t klen;

	memset(kv, 0, sizeof(*kv));
	if (!k)
		return -1;
	kv->key = etcd_unb64(k, &klen);
	kv->value = v ? etcd_unb64(v, &kv->value_len) : strdup("");
	kv->mod_revision = get_i64(o, "mod_revision");
	kv->create_revision = get_i64(o, "create_revision");
	kv->lease = get_i64(o, "lease");
	if (!kv->key || !kv->value) {
		free(kv->key);
		free(kv->value);
		return -1;
	}
	return 0;
}

static void kv_free(struct etcd_kv *kv)
{
	free(kv->key);
	free(kv->value);
}

int etcd_range(struct etcd *e, const char *key, const char *range_end, struct etcd_kvs *out)
{
	struct jw w;
	yajl_val resp, kvs;

	memset(out, 0, sizeof(*out));
	jw_init(&w, NULL, 0);
	jw_object(&w);
	kb64(&w, "key", key, strlen(key));
	if (range_end)
		kb64(&w, "range_end", range_end, strlen(range_end));
	jw_object_end(&w);
	char *body = request_text(&w);
	int err = etcd_call(e, "/v3/kv/range", body, &resp);
	free(body);
	if (err)
		return -1;
	out->revision = header_revision(resp);
	if ((kvs = json_get_array(resp, "kvs"))) {
		size_t n = json_len(kvs);
		out->kv = calloc(n ? n : 1, sizeof(*out->kv));
		if (!out->kv) {
			json_free(resp);
			return seterr(e, "out of memory");
		}
		out->cap = n;
		for (size_t i = 0; i < n; i++)
			if (!kv_take(json_at(kvs, i), &out->kv[out->n]))
				out->n++;
	}
	json_free(resp);
	return 0;
}

void etcd_kvs_free(struct etcd_kvs *kvs)
{
	for (size_t i = 0; i < kvs->n; i++)
		kv_free(&kvs->kv[i]);
	free(kvs->kv);
	memset(kvs, 0, sizeof(*kvs));
}

/* compare and success are arrays left open: etcd_txn_commit reads their text so far and closes it itself */
void etcd_txn_init(struct etcd_txn *t)
{
	jw_init(&t->compare, NULL, 0);
	jw_init(&t->success, NULL, 0);
	jw_array(&t->compare);
	jw_array(&t->success);
	t->nops = 0;
	t->bytes = 64;
}

void etcd_txn_free(struct etcd_txn *t)
{
	jw_free(&t->compare);
	jw_free(&t->success);
}

void etcd_txn_cmp_mod(struct etcd_txn *t, const char *key, int64_t rev)
{
	struct jw *w = &t->compare;
	jw_object(w);
	kb64(w, "key", key, strlen(key));
	jw_kstring(w, "target", "MOD");
	jw_kstring(w, "result", "EQUAL");
	jw_kint(w, "mod_revision", rev);
	jw_object_end(w);
	t->bytes += 4 * strlen(key) / 3 + 80;
}

void etcd_txn_put(struct etcd_txn *t, const char *key, const char *value, size_t len, int64_t lease)
{
	struct jw *w = &t->success;
	jw_object(w);
	jw_kobject(w, "request_put");
	kb64(w, "key", key, strlen(key));
	kb64(w, "value", value, len);
	if (lease)
		jw_kint(w, "lease", lease);
	jw_object_end(w);
	jw_object_end(w);
	t->nops++;
	t->bytes += 4 * (strlen(key) + len) / 3 + 64;
}

void etcd_txn_del(struct etcd_txn *t, const char *key)
{
	struct jw *w = &t->success;
	jw_object(w);
	jw_kobject(w, "request_delete_range");
	kb64(w, "key", key, strlen(key));
	jw_object_end(w);
	jw_object_end(w);
	t->nops++;
	t->bytes += 4 * strlen(key) / 3 + 64;
}

int etcd_txn_commit(struct etcd *e, struct etcd_txn *t, bool *ok, int64_t *rev)
{
	size_t nc, ns;
	const char *c = jw_text(&t->compare, &nc), *s = jw_text(&t->success, &ns);
	yajl_val resp;
	bool succeeded = false;

	if (jw_error(&t->compare) || jw_error(&t->success))
		return seterr(e, "etcd transaction: %s", jw_error(&t->compare) ?: jw_error(&t->success));
	/* {"compare":[...],"success":[...]} around the two arrays' items */
	char *body = malloc(nc + ns + 32);
	if (body)
		sprintf(body, "{\"compare\":%s],\"success\":%s]}", c, s);
	int err = etcd_call(e, "/v3/kv/txn", body, &resp);
	free(body);
	if (err)
		return -1;
	*ok = !json_get_bool(resp, "succeeded", &succeeded) && succeeded;
	if (rev)
		*rev = header_revision(resp);
	json_free(resp);
	return 0;
}

int etcd_put(struct etcd *e, const char *key, const char *value, int64_t lease, int64_t *rev)
{
	struct jw w;
	yajl_val resp;

	jw_init(&w, NULL, 0);
	jw_object(&w);
	kb64(&w, "key", key, strlen(key));
	kb64(&w, "value", value, strlen(value));
	if (lease)
		jw_kint(&w, "lease", lease);
	jw_object_end(&w);
	char *body = request_text(&w);
	int err = etcd_call(e, "/v3/kv/put", body, &resp);
	free(body);
	if (err)
		return -1;
	if (rev)
		*rev = header_revision(resp);
	json_free(resp);
	return 0;
}

/* {"NAME": n} */
static char *one_int(const char *name, int64_t n)
{
	struct jw w;

	jw_init(&w, NULL, 0);
	jw_object(&w);
	jw_kint(&w, name, n);
	jw_object_end(&w);
	return request_text(&w);
}

int etcd_lease_grant(struct etcd *e, int ttl, int64_t *id)
{
	yajl_val resp;
	char *body = one_int("TTL", ttl);
	int err = etcd_call(e, "/v3/lease/grant", body, &resp);

	free(body);
	if (err)
		return -1;
	*id = get_i64(resp, "ID");
	json_free(resp);
	return *id ? 0 : seterr(e, "etcd %s: lease grant gave no lease", e->url);
}

int etcd_lease_keepalive(struct etcd *e, int64_t id, int64_t *ttl)
{
	yajl_val resp;
	char *body = one_int("ID", id);
	int err = etcd_call(e, "/v3/lease/keepalive", body, &resp);

	free(body);
	if (err)
		return -1;
	/* a stream of answers: {"result": {...}} (one, since we sent one request) */
	*ttl = get_i64(json_get(resp, "result"), "TTL");
	json_free(resp);
	return 0;
}

int etcd_lease_revoke(struct etcd *e, int64_t id)
{
	yajl_val resp;
	char *body = one_int("ID", id);
	int err = etcd_call(e, "/v3/lease/revoke", body, &resp);

	free(body);
	if (!err)
		json_free(resp);
	return err;
}

/* ---- watch: one long POST whose answer is a stream of JSON lines ---- */
struct etcd_watch {
	struct etcd *e;
	struct evhttp_connection *conn;
	struct etcd_watch_cb cb;
	struct evbuffer *pending; /* bytes of a line not complete yet */
	bool ended;
};

static void watch_end(struct etcd_watch *w, int64_t compact, const char *why)
{
	if (w->ended)
		return;
	w->ended = true;
	w->cb.ended(w->cb.arg, compact, why);
}

static void watch_line(struct etcd_watch *w, const char *line)
{
	yajl_val o = json_parse(line, strlen(line), NULL, 0), r, evs;
	struct etcd_watch_event *ev = NULL;
	size_t n = 0;
	bool x;

	if (!o) {
		watch_end(w, 0, "the watch stream is not JSON");
		return;
	}
	if (!(r = json_get(o, "result"))) {
		yajl_val m = json_get(o, "error");
		char *mt = m ? json_dump(m, 0) : NULL;
		char why[200];
		snprintf(why, sizeof(why), "watch error: %s", mt ? mt : line);
		free(mt);
		watch_end(w, 0, why);
		json_free(o);
		return;
	}
	if (get_i64(r, "compact_revision") > 0) {
		watch_end(w, get_i64(r, "compact_revision"), "compacted");
		json_free(o);
		return;
	}
	if (!json_get_bool(r, "canceled", &x) && x) {
		watch_end(w, 0, "canceled by etcd");
		json_free(o);
		return;
	}
	if ((evs = json_get_array(r, "events"))) {
		size_t cnt = json_len(evs);
		ev = calloc(cnt ? cnt : 1, sizeof(*ev));
		for (size_t i = 0; ev && i < cnt; i++) {
			yajl_val e = json_at(evs, i), kv = json_get(e, "kv");
			const char *t = json_get_string(e, "type");
			if (!kv || kv_take(kv, &ev[n].kv))
				continue;
			ev[n].del = t && !strcmp(t, "DELETE");
			n++;
		}
	}
	if (!json_get(r, "created") || n)
		w->cb.events(w->cb.arg, header_revision(r), ev, n);
	for (size_t i = 0; i < n; i++)
		kv_free(&ev[i].kv);
	free(ev);
	json_free(o);
}

static void watch_chunk(struct evhttp_request *req, void *arg)
{
	struct etcd_watch *w = arg;
	char *line;
	size_t len;

	evbuffer_add_buffer(w->pending, evhttp_request_get_input_buffer(req));
	while (!w->ended && (line = evbuffer_readln(w->pending, &len, EVBUFFER_EOL_LF))) {
		if (len)
			watch_line(w, line);
		free(line);
	}
}

static void watch_done(struct evhttp_request *req, void *arg)
{
	struct etcd_watch *w = arg;
	char why[64];

	if (req && evhttp_request_get_response_code(req) && evhttp_request_get_response_code(req) != 200)
		snprintf(why, sizeof(why), "watch refused: HTTP %d", evhttp_request_get_response_code(req));
	else
		snprintf(why, sizeof(why), "connection to etcd lost");
	watch_end(w, 0, why);
}

struct etcd_watch *etcd_watch_start(struct etcd *e, struct event_base *base, const char *key,
				    const char *range_end, int64_t start_rev, const struct etcd_watch_cb *cb)
{
	struct etcd_watch *w = calloc(1, sizeof(*w));
	struct evhttp_request *r;
	struct jw jw;
	char *body;

	jw_init(&jw, NULL, 0);
	jw_object(&jw);
	jw_kobject(&jw, "create_request");
	kb64(&jw, "key", key, strlen(key));
	if (range_end)
		kb64(&jw, "range_end", range_end, strlen(range_end));
	if (start_rev)
		jw_kint(&jw, "start_revision", start_rev);
	jw_kbool(&jw, "progress_notify", true);
	jw_object_end(&jw);
	jw_object_end(&jw);
	body = request_text(&jw);
	if (!body || !w || !(w->pending = evbuffer_new()) || !(w->conn = conn_new(e, base)))
		goto fail;
	w->e = e;
	w->cb = *cb;
	evhttp_connection_set_timeout(w->conn, 86400); /* evhttp's default would end a quiet watch after 50 s */
	/* no timeout: a quiet watch is fine; a dead etcd is found by the lease keep-alive and TCP keep-alive */
	r = request_new(e, watch_done, w, body, strlen(body));
	if (!r)
		goto fail;
	evhttp_request_set_chunked_cb(r, watch_chunk);
	if (evhttp_make_request(w->conn, r, EVHTTP_REQ_POST, "/v3/watch"))
		goto fail;
	free(body);
	return w;
fail:
	free(body);
	if (w) {
		if (w->conn)
			evhttp_connection_free(w->conn);
		if (w->pending)
			evbuffer_free(w->pending);
		free(w);
	}
	return NULL;
}

void etcd_watch_stop(struct etcd_watch *w)
{
	if (!w)
		return;
	evhttp_connection_free(w->conn);
	evbuffer_free(w->pending);
	free(w);
}
