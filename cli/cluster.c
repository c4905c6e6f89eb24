/* cli/cluster.c — cluster mode: the desired state in etcd, one key per object, written by guarded transactions. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <openssl/sha.h>
#include "cli/cli.h"
#include "cli/cluster.h"
#include "cli/jdoc.h"
#include "cli/schema.h"
#include "cli/state.h"
#include "maps/clock.h"

/*
 * A write (see docs/cluster.md):
 *  1. read every key under the prefix at one revision, and build the
 *     cluster's state from it with apply's rules (cluster_build);
 *  2. run the edit on a copy, through the very rules of a local edit
 *     (read_batch, apply's reader): same checks, same errors;
 *  3. write the route chunks the new state needs and etcd lacks (immutable,
 *     named by their content, referenced by nothing yet: harmless);
 *  4. one transaction, guarded by the guard key's mod revision as read:
 *     every changed object, each changed VPC's route manifest, the chunks
 *     nothing references any more, and the guard itself. If anybody wrote
 *     in between, the guard moved: read again, edit again, retry.
 * A chunk deleted by a concurrent writer's commit only hurts a writer that
 * read before that commit, and that writer's guard then fails: it retries.
 */

const char *cluster_url;
char cluster_prefix[128] = CLUSTER_PREFIX_DEFAULT;

#define CHUNK_MAX 1024   /* routes per chunk at most (~70 KiB of JSON) */
#define CHUNK_CUT_MASK 255 /* a chunk ends after a route whose key hash has these bits clear: ~256 routes */
#define PREWRITE_OPS 100
#define PREWRITE_BYTES (1024 * 1024)

enum cluster_key cluster_key_kind(const char *key, const char **name)
{
	size_t pl = strlen(cluster_prefix);
	const char *r;
	static const struct {
		const char *dir;
		enum cluster_key kind;
	} dirs[] = {
		{ "vpcs/", CK_VPC }, { "sgs/", CK_SG }, { "subnets/", CK_SUBNET }, { "nics/", CK_NIC },
		{ "hosts/", CK_HOST }, { "status/", CK_STATUS }, { "eips/", CK_EIP },
	};

	if (strncmp(key, cluster_prefix, pl))
		return CK_OTHER;
	r = key + pl;
	if (name)
		*name = r;
	if (!strcmp(r, "guard"))
		return CK_GUARD;
	if (!strncmp(r, "routes/", 7)) {
		const char *slash = strchr(r + 7, '/');
		if (slash && !strcmp(slash, "/manifest"))
			return CK_ROUTES;
		if (slash && !strncmp(slash, "/chunk/", 7))
			return CK_CHUNK;
		return CK_OTHER;
	}
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (!strncmp(r, dirs[i].dir, strlen(dirs[i].dir))) {
			if (name)
				*name = r + strlen(dirs[i].dir);
			return dirs[i].kind;
		}
	return CK_OTHER;
}

static int kv_cmp(const void *a, const void *b)
{
	return strcmp(((const struct etcd_kv *)a)->key, ((const struct etcd_kv *)b)->key);
}

const struct etcd_kv *cluster_find(const struct etcd_kv *kv, size_t n, const char *key)
{
	struct etcd_kv k = { .key = (char *)key };
	return bsearch(&k, kv, n, sizeof(*kv), kv_cmp);
}

/* ---- reading: kvs -> state ---- */

static const char *section_of(enum cluster_key k)
{
	switch (k) {
	case CK_VPC: return "vpcs";
	case CK_SG: return "security_groups";
	case CK_SUBNET: return "subnets";
	case CK_NIC: return "nics";
	case CK_EIP: return "eips";
	default: return "routes";
	}
}

static const struct jval *member(const struct jval *o, const char *key)
{
	if (o->type != J_OBJECT)
		return NULL;
	for (uint32_t i = 0; i < o->n; i++)
		if (!strcmp(o->items[i].key, key))
			return &o->items[i];
	return NULL;
}

/* A NIC as this host sees it: its own are local on their dev, others remote at their host's address. */
static int nic_for_host(struct cluster_view *v, struct txn_state *st, const struct jval *o)
{
	const struct jval *h = member(o, "host");
	struct jval items[16], obj;
	char ipbuf[16];
	uint32_t n = 0;
	__be32 ip;

	if (!h || h->type != J_STRING)
		return apply_object(st, "nics", o); /* no host: a plain remote NIC (or the rules refuse it) */
	if (o->n > 15)
		return fail("too many keys");
	bool own = !strcmp(h->s, v->host);
	if (own) {
		ip = 0;
	} else {
		ip = v->underlay ? v->underlay(v->arg, h->s) : 0;
		if (!ip && v->live) {
			/* its host's lease is gone (or not seen yet): keep the address it has here, if any */
			const struct jval *nip = member(o, "ip"), *vpc = member(o, "vpc");
			struct nic_key k;
			memset(&k, 0, sizeof(k));
			if (nip && vpc && nip->type == J_STRING && vpc->type == J_INT && inet_pton(AF_INET, nip->s, &k.ip) == 1) {
				k.vni = (__u32)vpc->i;
				const struct txn_nic *cur = table_get(&v->live->nics, &k);
				if (cur && (cur->v.flags & NIC_F_REMOTE))
					ip = cur->v.remote;
			}
		}
		if (!ip) {
			v->waiting++;
			return 0;
		}
	}
	for (uint32_t i = 0; i < o->n; i++) {
		if (!strcmp(o->items[i].key, "host") || (!own && !strcmp(o->items[i].key, "dev")))
			continue;
		items[n++] = o->items[i];
	}
	if (!own) {
		memset(&items[n], 0, sizeof(items[n]));
		items[n].key = "remote";
		items[n].type = J_STRING;
		items[n].s = inet_ntop(AF_INET, &ip, ipbuf, sizeof(ipbuf));
		n++;
	}
	memset(&obj, 0, sizeof(obj));
	obj.type = J_OBJECT;
	obj.items = items;
	obj.n = n;
	bool saved = state_cluster;
	state_cluster = false; /* a host's own state: devices are looked up */
	int err = apply_object(st, "nics", &obj);
	state_cluster = saved;
	return err;
}

/* An EIP on a host: its NIC may still wait for its own host to register (then the EIP waits too).
 * The host's own addresses are checked here, by the rules of a single host. */
static int eip_for_host(struct cluster_view *v, struct txn_state *st, const struct jval *o)
{
	const struct jval *nip = member(o, "nic"), *vpc = member(o, "vpc");
	struct nic_key k;

	memset(&k, 0, sizeof(k));
	if (v->waiting && nip && vpc && nip->type == J_STRING && vpc->type == J_INT && inet_pton(AF_INET, nip->s, &k.ip) == 1) {
		k.vni = (__u32)vpc->i;
		if (!table_get(&st->nics, &k)) {
			v->waiting++;
			return 0;
		}
	}
	/* this host's own rules: an EIP that is its underlay or external address is refused here (named, skipped) */
	bool saved = state_cluster;
	state_cluster = false;
	int err = apply_object(st, "eips", o);
	state_cluster = saved;
	return err;
}

/* Parses a value (copied: jdoc writes into its text). */
static int parse_value(const struct etcd_kv *kv, char **buf, struct jdoc *doc)
{
	size_t off;

	*buf = malloc(kv->value_len + 1);
	if (!*buf)
		return fail("out of memory");
	memcpy(*buf, kv->value, kv->value_len + 1);
	if (jdoc_parse(*buf, kv->value_len, doc, &off)) {
		free(*buf);
		*buf = NULL;
		return fail("malformed JSON at byte %zu", off);
	}
	return 0;
}

static int build_routes(const struct etcd_kv *kv, size_t n, const struct jval *m, struct cluster_view *v,
			struct txn_state *st, const char *key)
{
	const struct jval *vpc = member(m, "vpc"), *chunks = member(m, "chunks");
	char ck[512];

	if (!vpc || vpc->type != J_INT || !chunks || chunks->type != J_ARRAY)
		return fail("a route manifest has \"vpc\" (a VNI) and \"chunks\" (an array)");
	for (uint32_t i = 0; i < chunks->n; i++) {
		const struct etcd_kv *c;
		struct jdoc doc;
		char *buf;
		if (chunks->items[i].type != J_STRING)
			return fail("\"chunks\"[%u] is not a string", i);
		snprintf(ck, sizeof(ck), "%sroutes/%lld/chunk/%s", cluster_prefix, (long long)vpc->i, chunks->items[i].s);
		if (!(c = cluster_find(kv, n, ck))) {
			fail("route chunk %s is missing", ck);
			v->bad++;
			continue;
		}
		snprintf(err_context, sizeof(err_context), "etcd %s: ", ck);
		if (parse_value(c, &buf, &doc)) {
			v->bad++;
			continue;
		}
		if (doc.root.type != J_ARRAY) {
			fail("a route chunk is an array of routes");
			v->bad++;
		}
		for (uint32_t j = 0; doc.root.type == J_ARRAY && j < doc.root.n; j++) {
			const struct jval *rv = member(&doc.root.items[j], "vpc");
			if (!rv || rv->type != J_INT || rv->i != vpc->i) {
				fail("route %u of the chunk is not of VPC %lld", j, (long long)vpc->i);
				v->bad++;
			} else if (apply_object(st, "routes", &doc.root.items[j])) {
				v->bad++;
			}
		}
		jdoc_free(&doc);
		free(buf);
		snprintf(err_context, sizeof(err_context), "etcd %s: ", key);
	}
	return 0;
}

int cluster_build(const struct etcd_kv *kv, size_t n, struct cluster_view *v, struct txn_state *st)
{
	static const enum cluster_key order[] = { CK_VPC, CK_SG, CK_SUBNET, CK_NIC, CK_ROUTES, CK_EIP };
	bool saved = state_cluster;

	v->bad = v->waiting = 0;
	state_cluster = true;
	for (size_t o = 0; o < sizeof(order) / sizeof(order[0]); o++) {
		for (size_t i = 0; i < n; i++) {
			struct jdoc doc;
			char *buf;
			int err;
			if (cluster_key_kind(kv[i].key, NULL) != order[o])
				continue;
			snprintf(err_context, sizeof(err_context), "etcd %s: ", kv[i].key);
			if (parse_value(&kv[i], &buf, &doc)) {
				v->bad++;
				continue;
			}
			if (order[o] == CK_ROUTES)
				err = build_routes(kv, n, &doc.root, v, st, kv[i].key);
			else if (order[o] == CK_NIC && v->host)
				err = nic_for_host(v, st, &doc.root);
			else if (order[o] == CK_EIP && v->host)
				err = eip_for_host(v, st, &doc.root);
			else
				err = apply_object(st, section_of(order[o]), &doc.root);
			v->bad += err != 0;
			jdoc_free(&doc);
			free(buf);
		}
	}
	err_context[0] = '\0';
	state_cluster = saved;
	return 0;
}

/* ---- writing: state -> keys ---- */

struct kvpair {
	char *key;
	char *value;
};

struct kvlist {
	struct kvpair *p;
	size_t n, cap;
};

static int kvl_add(struct kvlist *l, char *key, char *value)
{
	if (!key || !value)
		goto oom;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		struct kvpair *g = realloc(l->p, cap * sizeof(*g));
		if (!g)
			goto oom;
		l->p = g;
		l->cap = cap;
	}
	l->p[l->n].key = key;
	l->p[l->n++].value = value;
	return 0;
oom:
	free(key);
	free(value);
	return fail("out of memory");
}

static void kvl_free(struct kvlist *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->p[i].key);
		free(l->p[i].value);
	}
	free(l->p);
	memset(l, 0, sizeof(*l));
}

static int pair_cmp(const void *a, const void *b)
{
	return strcmp(((const struct kvpair *)a)->key, ((const struct kvpair *)b)->key);
}

static char *keyf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *keyf(const char *fmt, ...)
{
	char rel[256], *out;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	return asprintf(&out, "%s%s", cluster_prefix, rel) < 0 ? NULL : out;
}

/* One VPC's routes as JSON lines, sorted. */
struct vpc_routes {
	__u32 vni;
	char **line;
	struct txn_route_key *k;
	size_t n;
};

struct state_keys {
	struct kvlist objs;     /* every object but routes, sorted by key */
	struct vpc_routes *vr;  /* by VNI, ascending */
	size_t nvr;
};

static void state_keys_free(struct state_keys *sk)
{
	kvl_free(&sk->objs);
	for (size_t i = 0; i < sk->nvr; i++) {
		for (size_t j = 0; j < sk->vr[i].n; j++)
			free(sk->vr[i].line[j]);
		free(sk->vr[i].line);
		free(sk->vr[i].k);
	}
	free(sk->vr);
	memset(sk, 0, sizeof(*sk));
}

static int state_keys(const struct txn_state *st, struct state_keys *sk)
{
	char b[20];
	size_t n;
	void **rows;

	memset(sk, 0, sizeof(*sk));
	for (const struct txn_vpc *v = NULL; (v = table_next(&st->vpcs, v));)
		if (kvl_add(&sk->objs, keyf("vpcs/%u", v->vni), save_object_text(st, "vpcs", v)))
			return 1;
	for (const struct txn_sg *g = NULL; (g = table_next(&st->sgs, g));)
		if (kvl_add(&sk->objs, keyf("sgs/%.*s", NAME_LEN, g->name), save_object_text(st, "security_groups", g)))
			return 1;
	for (const struct txn_subnet *s = NULL; (s = table_next(&st->subnets, s));)
		if (kvl_add(&sk->objs, keyf("subnets/%u/%s", s->k.vni, prefix_str(s->k.prefix, s->k.len, b)),
			    save_object_text(st, "subnets", s)))
			return 1;
	for (const struct txn_nic *x = NULL; (x = table_next(&st->nics, x));)
		if (kvl_add(&sk->objs, keyf("nics/%u/%s", x->k.vni, ip_str(x->k.ip, b)), save_object_text(st, "nics", x)))
			return 1;
	for (const struct txn_eip *x = NULL; (x = table_next(&st->eips, x));)
		if (kvl_add(&sk->objs, keyf("eips/%s", ip_str(x->eip, b)), save_object_text(st, "eips", x)))
			return 1;
	qsort(sk->objs.p, sk->objs.n, sizeof(*sk->objs.p), pair_cmp);

	rows = table_sorted(&st->routes, row_cmp_route, &n);
	if (!rows && n)
		return fail("out of memory");
	for (size_t i = 0; i < n;) {
		const struct txn_route *r = rows[i];
		size_t j = i;
		while (j < n && ((const struct txn_route *)rows[j])->k.vni == r->k.vni)
			j++;
		struct vpc_routes *g = realloc(sk->vr, (sk->nvr + 1) * sizeof(*g));
		if (!g)
			goto oom;
		sk->vr = g;
		g = &sk->vr[sk->nvr++];
		g->vni = r->k.vni;
		g->n = j - i;
		g->line = calloc(g->n, sizeof(char *));
		g->k = calloc(g->n, sizeof(*g->k));
		if (!g->line || !g->k)
			goto oom;
		for (size_t x = 0; x < g->n; x++) {
			const struct txn_route *rx = rows[i + x];
			g->k[x] = rx->k;
			if (!(g->line[x] = save_object_text(st, "routes", rx)))
				goto oom;
		}
		i = j;
	}
	free(rows);
	return 0;
oom:
	free(rows);
	return fail("out of memory");
}

static const struct vpc_routes *find_vr(const struct state_keys *sk, __u32 vni)
{
	for (size_t i = 0; i < sk->nvr; i++)
		if (sk->vr[i].vni == vni)
			return &sk->vr[i];
	return NULL;
}

static bool same_routes(const struct vpc_routes *a, const struct vpc_routes *b)
{
	if (!a || !b)
		return !a && !b;
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->line[i], b->line[i]))
			return false;
	return true;
}

struct chunk {
	char hash[33];
	char *text;
	size_t len;
};

/* Content-defined cuts: an edit changes the chunk it falls in, not every chunk after it. */
static bool cut_after(const struct txn_route_key *k)
{
	__u32 h = 2166136261u;
	const __u8 *p = (const __u8 *)k;
	for (size_t i = 0; i < 9; i++)
		h = (h ^ p[i]) * 16777619u;
	return (h & CHUNK_CUT_MASK) == 0;
}

static int make_chunks(const struct vpc_routes *vr, struct chunk **out, size_t *nout)
{
	struct chunk *c = NULL;
	size_t nc = 0;

	for (size_t i = 0; i < vr->n;) {
		size_t j = i, len = 2;
		while (j < vr->n) {
			len += strlen(vr->line[j]) + 1;
			j++;
			if (j - i >= CHUNK_MAX || cut_after(&vr->k[j - 1]))
				break;
		}
		struct chunk *g = realloc(c, (nc + 1) * sizeof(*c));
		if (!g)
			goto oom;
		c = g;
		char *t = malloc(len + 1), *p = t;
		if (!t)
			goto oom;
		*p++ = '[';
		for (size_t x = i; x < j; x++) {
			size_t l = strlen(vr->line[x]);
			if (x > i)
				*p++ = ',';
			memcpy(p, vr->line[x], l);
			p += l;
		}
		*p++ = ']';
		*p = '\0';
		unsigned char md[SHA256_DIGEST_LENGTH];
		SHA256((unsigned char *)t, (size_t)(p - t), md);
		for (int b = 0; b < 16; b++)
			snprintf(c[nc].hash + 2 * b, 3, "%02x", md[b]);
		c[nc].text = t;
		c[nc].len = (size_t)(p - t);
		nc++;
		i = j;
	}
	*out = c;
	*nout = nc;
	return 0;
oom:
	for (size_t i = 0; i < nc; i++)
		free(c[i].text);
	free(c);
	return fail("out of memory");
}

static bool manifest_has(const struct etcd_kvs *kvs, __u32 vni, const char *hash)
{
	char key[512];
	const struct etcd_kv *m;
	snprintf(key, sizeof(key), "%sroutes/%u/manifest", cluster_prefix, vni);
	if (!(m = cluster_find(kvs->kv, kvs->n, key)))
		return false;
	char quoted[40];
	snprintf(quoted, sizeof(quoted), "\"%s\"", hash);
	return strstr(m->value, quoted) != NULL;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct commit_stats {
	size_t puts, dels, chunks_written, bytes;
};

/*
 * Writes want over what kvs (read at one revision) holds, cur being its state. 0 done (*rev), 1 after an
 * error, 2 on a conflict (somebody wrote since the read: read again).
 */
static int commit_state(struct etcd *e, const struct etcd_kvs *kvs, const struct txn_state *cur,
			const struct txn_state *want, int64_t *rev, struct commit_stats *cs)
{
	struct state_keys ok, nk;
	struct etcd_txn t;
	char **refs = NULL, **written = NULL;
	size_t nrefs = 0, nwritten = 0;
	int err = 1;
	char guard[256];
	const struct etcd_kv *g;

	memset(cs, 0, sizeof(*cs));
	etcd_txn_init(&t);
	if (state_keys(cur, &ok) || state_keys(want, &nk)) {
		etcd_txn_free(&t);
		return 1;
	}
	snprintf(guard, sizeof(guard), "%sguard", cluster_prefix);
	g = cluster_find(kvs->kv, kvs->n, guard);
	etcd_txn_cmp_mod(&t, guard, g ? g->mod_revision : 0);

	/* objects: the difference only */
	for (size_t i = 0, j = 0; i < ok.objs.n || j < nk.objs.n;) {
		int c = i == ok.objs.n ? 1 : j == nk.objs.n ? -1 : strcmp(ok.objs.p[i].key, nk.objs.p[j].key);
		if (c < 0) {
			etcd_txn_del(&t, ok.objs.p[i++].key);
			cs->dels++;
		} else if (c > 0 || strcmp(ok.objs.p[i].value, nk.objs.p[j].value)) {
			etcd_txn_put(&t, nk.objs.p[j].key, nk.objs.p[j].value, strlen(nk.objs.p[j].value), 0);
			cs->puts++;
			i += c == 0;
			j++;
		} else {
			i++;
			j++;
		}
	}

	/* routes: every VPC whose table changed gets new chunks and a new manifest */
	__u32 *vnis = malloc((ok.nvr + nk.nvr + 1) * sizeof(__u32));
	size_t nv = 0;
	if (!vnis)
		goto oom;
	for (size_t i = 0; i < ok.nvr; i++)
		vnis[nv++] = ok.vr[i].vni;
	for (size_t i = 0; i < nk.nvr; i++)
		if (!find_vr(&ok, nk.vr[i].vni))
			vnis[nv++] = nk.vr[i].vni;
	struct etcd_txn pre;
	etcd_txn_init(&pre);
	for (size_t v = 0; v < nv; v++) {
		const struct vpc_routes *a = find_vr(&ok, vnis[v]), *b = find_vr(&nk, vnis[v]);
		char mkey[300];
		snprintf(mkey, sizeof(mkey), "%sroutes/%u/manifest", cluster_prefix, vnis[v]);
		if (same_routes(a, b)) {
			/* unchanged: its manifest's chunks stay referenced */
			const struct etcd_kv *m = cluster_find(kvs->kv, kvs->n, mkey);
			yajl_val mo = m ? json_parse(m->value, m->value_len, NULL, 0) : NULL, arr;
			if ((arr = json_get_array(mo, "chunks"))) {
				size_t nc = json_len(arr);
				char **gr = realloc(refs, (nrefs + nc + 1) * sizeof(char *));
				if (!gr) {
					json_free(mo);
					goto oom_pre;
				}
				refs = gr;
				for (size_t c = 0; c < nc; c++) {
					const char *hash = json_string(json_at(arr, c));
					if (hash && (refs[nrefs] = keyf("routes/%u/chunk/%s", vnis[v], hash)))
						nrefs++;
				}
			}
			json_free(mo);
			continue;
		}
		if (!b) {
			etcd_txn_del(&t, mkey);
			cs->dels++;
			continue;
		}
		struct chunk *ch = NULL;
		size_t nch = 0;
		if (make_chunks(b, &ch, &nch))
			goto fail_pre;
		struct jw man;
		jw_init(&man, NULL, 0);
		jw_object(&man);
		jw_kint(&man, "vpc", vnis[v]);
		jw_kint(&man, "routes", (int64_t)b->n);
		jw_karray(&man, "chunks");
		for (size_t c = 0; c < nch; c++) {
			char *ckey = keyf("routes/%u/chunk/%s", vnis[v], ch[c].hash);
			jw_string(&man, ch[c].hash);
			char **gr = realloc(refs, (nrefs + 1) * sizeof(char *));
			if (gr)
				refs = gr;
			if (!gr || !ckey) {
				free(ckey);
				jw_free(&man);
				for (size_t x = 0; x < nch; x++)
					free(ch[x].text);
				free(ch);
				goto oom_pre;
			}
			refs[nrefs++] = ckey;
			/* a chunk the live manifest already names exists: only new ones are written */
			if (!manifest_has(kvs, vnis[v], ch[c].hash)) {
				if (pre.nops && (pre.nops >= PREWRITE_OPS || pre.bytes + 4 * ch[c].len / 3 > PREWRITE_BYTES)) {
					bool okc;
					if (etcd_txn_commit(e, &pre, &okc, NULL)) {
						fail("%s", e->err);
						jw_free(&man);
						goto fail_pre;
					}
					etcd_txn_free(&pre);
					etcd_txn_init(&pre);
				}
				etcd_txn_put(&pre, ckey, ch[c].text, ch[c].len, 0);
				cs->chunks_written++;
				cs->bytes += ch[c].len;
				char **gw = realloc(written, (nwritten + 1) * sizeof(char *));
				if (gw) {
					written = gw;
					written[nwritten++] = strdup(ckey);
				}
			}
		}
		for (size_t x = 0; x < nch; x++)
			free(ch[x].text);
		free(ch);
		jw_array_end(&man);
		jw_object_end(&man);
		char *mtext = jw_finish(&man) ? NULL : jw_take(&man, NULL);
		jw_free(&man);
		if (!mtext)
			goto oom_pre;
		etcd_txn_put(&t, mkey, mtext, strlen(mtext), 0);
		cs->puts++;
		cs->bytes += strlen(mtext);
		free(mtext);
	}
	if (pre.nops) {
		bool okc;
		if (etcd_txn_commit(e, &pre, &okc, NULL)) {
			fail("%s", e->err);
			goto fail_pre;
		}
	}
	etcd_txn_free(&pre);

	size_t changes = t.nops;
	if (changes + 1 > CLUSTER_MAX_TXN_OPS) {
		fail("this transaction changes %zu objects; etcd takes at most %d operations in one transaction "
		     "(--max-txn-ops): split it (routes do not count: a VPC's table travels in chunks, see docs/cluster.md)",
		     changes, CLUSTER_MAX_TXN_OPS);
		goto out;
	}
	/* chunks nothing references any more go in the same transaction, as far as room allows */
	qsort(refs, nrefs, sizeof(char *), cmp_str);
	qsort(written, nwritten, sizeof(char *), cmp_str);
	for (size_t i = 0; i < kvs->n && t.nops + 1 < CLUSTER_MAX_TXN_OPS; i++) {
		char *k = kvs->kv[i].key;
		if (cluster_key_kind(k, NULL) != CK_CHUNK)
			continue;
		if ((nrefs && bsearch(&k, refs, nrefs, sizeof(char *), cmp_str)) ||
		    (nwritten && bsearch(&k, written, nwritten, sizeof(char *), cmp_str)))
			continue;
		etcd_txn_del(&t, k);
		cs->dels++;
	}
	if (!changes) {
		*rev = kvs->revision;
		err = 0;
		goto out;
	}
	char gval[96];
	snprintf(gval, sizeof(gval), "{\"read\":%lld}", (long long)kvs->revision);
	etcd_txn_put(&t, guard, gval, strlen(gval), 0);
	if (t.bytes > CLUSTER_MAX_REQUEST - 64 * 1024) {
		fail("this transaction is %zu bytes; etcd takes at most %d per request (--max-request-bytes): split it",
		     t.bytes, CLUSTER_MAX_REQUEST);
		goto out;
	}
	bool succeeded;
	if (etcd_txn_commit(e, &t, &succeeded, rev)) {
		fail("%s", e->err);
		goto out;
	}
	err = succeeded ? 0 : 2;
	goto out;
oom_pre:
	fail("out of memory");
fail_pre:
	etcd_txn_free(&pre);
	goto out;
oom:
	fail("out of memory");
out:
	free(vnis);
	for (size_t i = 0; i < nrefs; i++)
		free(refs[i]);
	free(refs);
	for (size_t i = 0; i < nwritten; i++)
		free(written[i]);
	free(written);
	etcd_txn_free(&t);
	state_keys_free(&ok);
	state_keys_free(&nk);
	return err;
}

/* ---- the write loop ---- */

int cluster_open(struct etcd *e, const char *url)
{
	const char *p = getenv("VPCBPF_ETCD_PREFIX");
	if (p && *p) {
		size_t n = strlen(p);
		if (n + 2 > sizeof(cluster_prefix) || p[0] != '/')
			return fail("VPCBPF_ETCD_PREFIX \"%s\" must start with / and be shorter than %zu", p,
				    sizeof(cluster_prefix) - 1);
		snprintf(cluster_prefix, sizeof(cluster_prefix), "%s%s", p, p[n - 1] == '/' ? "" : "/");
	}
	if (!etcd_tls.ca)
		etcd_tls.ca = getenv("VPCBPF_ETCD_CA");
	if (!etcd_tls.cert)
		etcd_tls.cert = getenv("VPCBPF_ETCD_CERT");
	if (!etcd_tls.key)
		etcd_tls.key = getenv("VPCBPF_ETCD_KEY");
	if (etcd_open(e, url))
		return fail("%s", e->err);
	return 0;
}

/* Everything under the prefix at one revision, and the cluster's state it describes. */
static int cluster_load(struct etcd *e, struct etcd_kvs *kvs, struct txn_state *st, bool quiet)
{
	char end[sizeof(cluster_prefix)];
	struct cluster_view v = { 0 };
	bool json = opts.json;

	etcd_prefix_end(cluster_prefix, end, sizeof(end));
	if (etcd_range(e, cluster_prefix, end, kvs))
		return fail("%s", e->err);
	txn_state_init(st);
	/* a bad value someone put there is named and skipped (a writer does not touch it), not this command's error */
	opts.json = false;
	if (quiet) {
		fflush(stderr);
	}
	cluster_build(kvs->kv, kvs->n, &v, st);
	opts.json = json;
	return 0;
}

typedef int (*edit_fn)(struct txn_state *st, void *arg);

/* A writer knows no host of its own: an EIP it adds must not be any registered host's underlay or
 * external address (hosts/NAME), or the host would answer for its own address on a VM's behalf. */
static int eips_clear_of_hosts(const struct etcd_kvs *kvs, const struct txn_state *cur, const struct txn_state *want)
{
	char b1[16];

	for (const struct txn_eip *e = NULL; (e = table_next(&want->eips, e));) {
		if (table_get(&cur->eips, &e->eip))
			continue; /* kept, not added by this edit */
		for (size_t i = 0; i < kvs->n; i++) {
			const char *name;
			yajl_val o;
			bool own = false;

			if (cluster_key_kind(kvs->kv[i].key, &name) != CK_HOST)
				continue;
			if (!(o = json_parse(kvs->kv[i].value, kvs->kv[i].value_len, NULL, 0)))
				continue;
			for (int k = 0; k < 2; k++) {
				const char *f = json_get_string(o, k ? "external" : "underlay");
				__be32 ip;
				if (f && inet_pton(AF_INET, f, &ip) == 1 && ip == e->eip)
					own = true;
			}
			json_free(o);
			if (own)
				return fail("elastic IP %s is host %s's own address", ip_str(e->eip, b1), name);
		}
	}
	return 0;
}

static int cluster_edit(const char *url, edit_fn fn, void *arg, int64_t *revision)
{
	struct etcd e;
	int err = 1;

	if (cluster_open(&e, url))
		return 1;
	state_cluster = true;
	for (int attempt = 0; attempt < 50; attempt++) {
		struct etcd_kvs kvs;
		struct txn_state cur, want;
		struct commit_stats cs;
		int64_t rev = 0;
		double t0 = clock_s();

		if (cluster_load(&e, &kvs, &cur, attempt > 0))
			break;
		if (txn_state_copy(&want, &cur)) {
			err = fail("out of memory");
		} else {
			err = fn(&want, arg);
			if (!err)
				err = eips_clear_of_hosts(&kvs, &cur, &want);
			if (!err)
				err = commit_state(&e, &kvs, &cur, &want, &rev, &cs);
			txn_state_free(&want);
		}
		txn_state_free(&cur);
		etcd_kvs_free(&kvs);
		if (err == 2) {
			/* somebody committed since our read: read again, edit again (backoff with jitter) */
			usleep((useconds_t)(1000 * (5 + rand() % (10 * (attempt + 1)))));
			continue;
		}
		if (!err && opts.verbose) {
			struct timespec wall;
			clock_gettime(CLOCK_REALTIME, &wall);
			fprintf(stderr, "vpcbpf: etcd: revision %lld: %zu put, %zu deleted, %zu route chunk(s) written "
				"(%zu bytes), %.1f ms, attempt %d, committed at %lld ms\n", (long long)rev, cs.puts, cs.dels,
				cs.chunks_written, cs.bytes, (clock_s() - t0) * 1e3, attempt + 1,
				(long long)wall.tv_sec * 1000 + wall.tv_nsec / 1000000);
		}
		if (!err && revision)
			*revision = rev;
		break;
	}
	if (err == 2)
		err = fail("etcd: too many concurrent writers, gave up after 50 attempts");
	state_cluster = false;
	etcd_close(&e);
	return err;
}

/* The words as one batch line (quoted where needed), read by the same grammar and rules as --batch. */
static int edit_words(struct txn_state *st, void *arg)
{
	char **argv = ((char ***)arg)[0];
	int argc = (int)(long)((char ***)arg)[1];
	size_t len = 2;
	unsigned int n = 0;
	char *line, *p;
	FILE *f;
	int err;

	for (int i = 0; i < argc; i++) {
		if (strchr(argv[i], '"') || strchr(argv[i], '\n') || strchr(argv[i], '#'))
			return fail("invalid word \"%s\"", argv[i]);
		len += strlen(argv[i]) + 3;
	}
	p = line = malloc(len);
	if (!line)
		return fail("out of memory");
	for (int i = 0; i < argc; i++)
		p += sprintf(p, strpbrk(argv[i], " \t") || !*argv[i] ? "\"%s\" " : "%s ", argv[i]);
	*p = '\0';
	f = fmemopen(line, strlen(line), "r");
	if (!f) {
		free(line);
		return fail_errno(errno, "fmemopen");
	}
	char saved[sizeof(err_context)];
	memcpy(saved, err_context, sizeof(saved));
	err = read_batch(f, "", st, &n);
	fclose(f);
	free(line);
	return err;
}

int cluster_edit_words(const char *etcd_url, int argc, char **argv, int64_t *revision)
{
	void *arg[2] = { argv, (void *)(long)argc };
	return cluster_edit(etcd_url, edit_words, arg, revision);
}

struct batch_arg {
	char *text;
	size_t len;
	const char *name;
	unsigned int ncmds;
};

static int edit_batch(struct txn_state *st, void *arg)
{
	struct batch_arg *b = arg;
	FILE *f = fmemopen(b->text, b->len ? b->len : 1, "r");
	int err;

	if (!f)
		return fail_errno(errno, "fmemopen");
	b->ncmds = 0;
	err = read_batch(f, b->name, st, &b->ncmds);
	fclose(f);
	return err;
}

static int cluster_batch(const char *path)
{
	struct batch_arg b = { .name = strcmp(path, "-") ? path : "<stdin>" };
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	size_t cap = 0;
	int64_t rev = 0;
	int err;

	if (!f)
		return fail_errno(errno, "cannot open batch file \"%s\"", path);
	/* read once: a retry after a conflict runs the same lines on the newer state */
	FILE *m = open_memstream(&b.text, &cap);
	char buf[65536];
	size_t r;
	while (m && (r = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, r, m);
	if (f != stdin)
		fclose(f);
	if (!m)
		return fail("out of memory");
	fclose(m);
	b.len = strlen(b.text);
	err = cluster_edit(cluster_url, edit_batch, &b, &rev);
	free(b.text);
	if (!err && opts.verbose)
		fprintf(stderr, "vpcbpf: %s: %u command(s) committed to etcd as one transaction\n", b.name, b.ncmds);
	if (!err && opts.json) {
		pr_begin_obj();
		pr_u64("revision", NULL, (uint64_t)rev);
		pr_end_obj();
	}
	return err;
}

static int edit_apply(struct txn_state *st, void *arg)
{
	txn_state_free(st);
	return txn_state_copy(st, arg) ? fail("out of memory") : 0;
}

static int cluster_apply(int argc, char **argv)
{
	struct txn_state want;
	int64_t rev = 0;
	int err;

	if (argc < 1)
		return fail("apply: missing FILE (or - for stdin)");
	if (argc > 1)
		return unknown_word(argv[1]);
	txn_state_init(&want);
	state_cluster = true;
	err = apply_read(argv[0], &want);
	state_cluster = false;
	if (!err)
		err = cluster_edit(cluster_url, edit_apply, &want, &rev);
	txn_state_free(&want);
	return err;
}

/* ---- reads ---- */

/* A row of a read: members in order, a later one of the same name taking the earlier's place (as a json-c object did). */
#define ROW_MAX 32
struct row {
	size_t n;
	const char *key[ROW_MAX];
	yajl_val val[ROW_MAX]; /* a parsed value, or NULL for str */
	const char *str[ROW_MAX];
};

static void row_set(struct row *r, const char *key, yajl_val v, const char *str)
{
	size_t i = 0;

	while (i < r->n && strcmp(r->key[i], key))
		i++;
	if (i == ROW_MAX)
		return;
	if (i == r->n)
		r->n++;
	r->key[i] = key;
	r->val[i] = v;
	r->str[i] = str;
}

/* The rows as a JSON array (pretty with -p), on stdout. */
static int print_rows(const struct row *rows, size_t n)
{
	struct jw w;

	jw_init(&w, stdout, opts.pretty ? JW_PRETTY : 0);
	jw_array(&w);
	for (size_t i = 0; i < n; i++) {
		jw_object(&w);
		for (size_t m = 0; m < rows[i].n; m++) {
			if (rows[i].val[m])
				jw_kvalue(&w, rows[i].key[m], rows[i].val[m]);
			else
				jw_kstring(&w, rows[i].key[m], rows[i].str[m]);
		}
		jw_object_end(&w);
	}
	jw_array_end(&w);
	int err = jw_finish(&w) ? fail("cannot print: %s", jw_error(&w)) : 0;
	jw_free(&w);
	fputc('\n', stdout);
	pr_printed();
	return err;
}

/* A value in text: a string as it is, a number as written, true/false/null, an object as compact JSON. */
static void print_text_val(yajl_val v)
{
	const char *s = json_string(v);
	char *d;

	if (s)
		fputs(s, stdout);
	else if (v && v->type == yajl_t_number)
		fputs(v->u.number.r, stdout);
	else if ((d = json_dump(v, 0))) {
		fputs(d, stdout);
		free(d);
	}
}

/* Text: each object on one line as "key value" pairs (rules of a group on lines of their own). */
static void print_text_obj(yajl_val o, const char *indent)
{
	for (size_t m = 0; m < json_len(o); m++) {
		yajl_val val = json_member_at(o, m);
		if (val && val->type == yajl_t_array) {
			for (size_t i = 0; i < json_len(val); i++) {
				printf("\n%s  ", indent);
				print_text_obj(json_at(val, i), "  ");
			}
			continue;
		}
		printf("%s ", json_key_at(o, m));
		print_text_val(val);
		putchar(' ');
	}
}

static void print_text_rows(const struct row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t m = 0; m < rows[i].n; m++) {
			if (rows[i].val[m] && rows[i].val[m]->type == yajl_t_array) {
				for (size_t k = 0; k < json_len(rows[i].val[m]); k++) {
					printf("\n  ");
					print_text_obj(json_at(rows[i].val[m], k), "  ");
				}
				continue;
			}
			printf("%s ", rows[i].key[m]);
			if (rows[i].val[m])
				print_text_val(rows[i].val[m]);
			else
				fputs(rows[i].str[m], stdout);
			putchar(' ');
		}
		printf("\n");
	}
	pr_printed();
}

static __be32 host_registered(const struct etcd_kvs *kvs, const char *host)
{
	char key[512];
	const struct etcd_kv *h;
	__be32 ip = 0;
	snprintf(key, sizeof(key), "%shosts/%s", cluster_prefix, host);
	if ((h = cluster_find(kvs->kv, kvs->n, key))) {
		yajl_val o = json_parse(h->value, h->value_len, NULL, 0);
		const char *u = json_get_string(o, "underlay");
		if (u)
			inet_pton(AF_INET, u, &ip);
		json_free(o);
	}
	return ip;
}

static int cluster_show(const char *section, int argc, char **argv)
{
	struct etcd e;
	struct etcd_kvs kvs;
	struct txn_state st;
	__u32 vni = 0;
	bool have_vni = false;
	const char *name = NULL;
	int err = 0;

	for (; argc > 0; argc--, argv++) {
		const char *val;
		if (strcmp(section, "security_groups") && matches(*argv, "vpc")) {
			if (!(val = next_value(&argc, &argv, "vpc")) || parse_vni(val, &vni))
				return 1;
			have_vni = true;
		} else if (!strcmp(section, "vpcs") && !have_vni && !parse_u32(*argv, "VNI", &vni, VNI_MIN, VNI_MAX)) {
			have_vni = true;
		} else if (!strcmp(section, "security_groups") && !name) {
			name = *argv;
		} else {
			return unknown_word(*argv);
		}
	}
	if (cluster_open(&e, cluster_url))
		return 1;
	if (cluster_load(&e, &kvs, &st, false)) {
		etcd_close(&e);
		return 1;
	}
	/* the objects as save writes them, read back to be filtered */
	struct jw w;
	struct row *rows = NULL;
	size_t n = 0;
	yajl_val doc = NULL, arr;
	char jerr[160];

	jw_init(&w, NULL, 0);
	err = save_document(&w, &st);
	if (!err && jw_finish(&w))
		err = fail("%s", jw_error(&w));
	if (!err && !(doc = json_parse(jw_text(&w, NULL), w.len, jerr, sizeof(jerr))))
		err = fail("%s", jerr);
	jw_free(&w);
	arr = json_get_array(doc, section);
	if (!err && (!arr && strcmp(section, "eips")))
		err = 1;
	if (!err && !(rows = calloc(json_len(arr) + 1, sizeof(*rows))))
		err = fail("out of memory");
	for (size_t i = 0; !err && i < json_len(arr); i++) {
		yajl_val o = json_at(arr, i);
		const char *x = json_get_string(o, "name"), *host = json_get_string(o, "host");
		int64_t num;
		if (have_vni && !json_get_int(o, !strcmp(section, "vpcs") ? "vni" : "vpc", &num) && (__u32)num != vni)
			continue;
		if (name && x && strcmp(x, name))
			continue;
		struct row *r = &rows[n++];
		for (size_t m = 0; m < json_len(o); m++)
			row_set(r, json_key_at(o, m), json_member_at(o, m), NULL);
		if (!strcmp(section, "nics") && json_get(o, "host"))
			/* whether the host it lives on is up: its agent's lease holds hosts/NAME */
			row_set(r, "host_state", NULL, host && host_registered(&kvs, host) ? "up" : "down");
	}
	if (!err) {
		if (opts.json)
			err = print_rows(rows, n);
		else
			print_text_rows(rows, n);
	}
	free(rows);
	json_free(doc);
	txn_state_free(&st);
	etcd_kvs_free(&kvs);
	etcd_close(&e);
	return err;
}

static int cluster_save(int argc, char **argv)
{
	struct etcd e;
	struct etcd_kvs kvs;
	struct txn_state st;
	int err;

	if (argc > 0)
		return unknown_word(argv[0]);
	if (cluster_open(&e, cluster_url))
		return 1;
	if (cluster_load(&e, &kvs, &st, false)) {
		etcd_close(&e);
		return 1;
	}
	err = save_print(&st);
	txn_state_free(&st);
	etcd_kvs_free(&kvs);
	etcd_close(&e);
	return err;
}

/* host show: every host that registered or reported, its lease state and the revision it applied. */
static int cluster_hosts(int argc, char **argv)
{
	struct etcd e;
	struct etcd_kvs kvs;
	char key[300], end[300];
	struct row *rows = NULL;
	yajl_val *vals = NULL;
	size_t nrows = 0, nvals = 0;
	int err = 0;

	if (argc > 0 && (matches(argv[0], "show") || matches(argv[0], "list"))) {
		argc--;
		argv++;
	}
	if (argc > 0)
		return unknown_word(argv[0]);
	if (cluster_open(&e, cluster_url))
		return 1;
	snprintf(key, sizeof(key), "%s", cluster_prefix);
	etcd_prefix_end(key, end, sizeof(end));
	if (etcd_range(&e, key, end, &kvs)) {
		etcd_close(&e);
		return fail("%s", e.err);
	}
	for (size_t i = 0; i < kvs.n; i++) {
		const char *name;
		enum cluster_key k = cluster_key_kind(kvs.kv[i].key, &name);
		if (k != CK_HOST && k != CK_STATUS)
			continue;
		/* one row per name: from hosts/NAME, or status/NAME alone when the lease is gone */
		snprintf(key, sizeof(key), "%shosts/%s", cluster_prefix, name);
		if (k == CK_STATUS && cluster_find(kvs.kv, kvs.n, key))
			continue;
		struct row *r = realloc(rows, (nrows + 1) * sizeof(*r));
		yajl_val *vs = realloc(vals, (nvals + 2) * sizeof(*vs));
		if (r)
			rows = r;
		if (vs)
			vals = vs;
		if (!r || !vs) {
			err = fail("out of memory");
			break;
		}
		r = &rows[nrows++];
		memset(r, 0, sizeof(*r));
		row_set(r, "host", NULL, name);
		row_set(r, "state", NULL, k == CK_HOST ? "up" : "down");
		yajl_val v;
		if (k == CK_HOST && (v = json_parse(kvs.kv[i].value, kvs.kv[i].value_len, NULL, 0))) {
			vals[nvals++] = v;
			for (size_t m = 0; m < json_len(v); m++)
				row_set(r, json_key_at(v, m), json_member_at(v, m), NULL);
		}
		snprintf(key, sizeof(key), "%sstatus/%s", cluster_prefix, name);
		const struct etcd_kv *s = cluster_find(kvs.kv, kvs.n, key);
		if (s && (v = json_parse(s->value, s->value_len, NULL, 0))) {
			vals[nvals++] = v;
			for (size_t m = 0; m < json_len(v); m++)
				row_set(r, json_key_at(v, m), json_member_at(v, m), NULL);
		}
	}
	if (!err) {
		if (opts.json)
			err = print_rows(rows, nrows);
		else
			print_text_rows(rows, nrows);
	}
	free(rows);
	for (size_t i = 0; i < nvals; i++)
		json_free(vals[i]);
	free(vals);
	etcd_kvs_free(&kvs);
	etcd_close(&e);
	return err;
}

int cluster_wait_applied(const char *etcd_url, const char *host, int64_t revision, int timeout_ms)
{
	struct etcd e;
	char key[512];
	double deadline = clock_s() + timeout_ms / 1e3;
	int err = -ETIMEDOUT;

	if (cluster_open(&e, etcd_url))
		return -EINVAL;
	snprintf(key, sizeof(key), "%sstatus/%s", cluster_prefix, host);
	do {
		struct etcd_kvs kvs;
		if (!etcd_range(&e, key, NULL, &kvs)) {
			yajl_val o = kvs.n ? json_parse(kvs.kv[0].value, kvs.kv[0].value_len, NULL, 0) : NULL;
			int64_t applied = 0;
			if (json_get_int(o, "revision", &applied))
				applied = 0;
			json_free(o);
			etcd_kvs_free(&kvs);
			if (applied >= revision) {
				err = 0;
				break;
			}
		}
		usleep(20000);
	} while (clock_s() < deadline);
	etcd_close(&e);
	return err;
}

/* ---- the command line in cluster mode ---- */

static bool is_edit(int argc, char **argv)
{
	static const char *const edits[] = { "add", "del", "delete", "replace", "set", "flush", NULL };
	if (argc < 2)
		return false;
	if (matches(argv[1], "rule"))
		return argc < 3 || !(matches(argv[2], "show") || matches(argv[2], "list"));
	for (int i = 0; edits[i]; i++)
		if (matches(argv[1], edits[i]))
			return true;
	return false;
}

bool cluster_command(int argc, char **argv)
{
	static const char *const objs[] = { "vpc", "subnet", "vxnet", "nic", "route", "sg", "eip", "save", "apply", NULL };
	if (opts.batch || argc < 1)
		return true;
	if (strlen(argv[0]) >= 2 && matches(argv[0], "host"))
		return true;
	for (int i = 0; objs[i]; i++)
		if (matches(argv[0], objs[i]))
			return true;
	return false;
}

int cluster_run(int argc, char **argv)
{
	static const struct {
		const char *object, *alias, *section;
	} reads[] = {
		{ "vpc", NULL, "vpcs" }, { "subnet", "vxnet", "subnets" }, { "nic", NULL, "nics" },
		{ "route", NULL, "routes" }, { "sg", NULL, "security_groups" }, { "eip", NULL, "eips" },
	};

	if (opts.batch)
		return argc ? fail("--batch takes commands from the file, not the command line") : cluster_batch(opts.batch);
	if (argc < 1)
		return fail("missing OBJECT (try --help)");
	if (matches(argv[0], "apply"))
		return cluster_apply(argc - 1, argv + 1);
	if (matches(argv[0], "save"))
		return cluster_save(argc - 1, argv + 1);
	if (matches(argv[0], "host") && strlen(argv[0]) >= 2)
		return cluster_hosts(argc - 1, argv + 1);
	if (is_edit(argc, argv)) {
		int64_t rev = 0;
		int err = cluster_edit_words(cluster_url, argc, argv, &rev);
		if (!err && opts.json) {
			pr_begin_obj();
			pr_u64("revision", NULL, (uint64_t)rev);
			pr_end_obj();
		}
		return err;
	}
	for (size_t i = 0; i < sizeof(reads) / sizeof(reads[0]); i++) {
		if (!matches(argv[0], reads[i].object) && !(reads[i].alias && matches(argv[0], reads[i].alias)))
			continue;
		if (argc >= 2 && (matches(argv[1], "show") || matches(argv[1], "list")))
			return cluster_show(reads[i].section, argc - 2, argv + 2);
		if (argc == 1 || (!strcmp(reads[i].section, "vpcs") && argc == 2))
			return cluster_show(reads[i].section, argc - 1, argv + 1);
		if (matches(argv[1], "get"))
			return fail("route get asks a host's datapath: run it on that host, without --etcd");
		return fail("%s: unknown command \"%s\" (try 'vpcbpf %s help')", reads[i].object, argv[1], reads[i].object);
	}
	return fail("\"%s\" does not work against etcd (cluster mode takes vpc, subnet, nic, route, sg and eip edits and "
		    "shows, host show, --batch, apply and save)", argv[0]);
}
