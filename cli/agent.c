/* cli/agent.c — vpcbpf agent: makes this host's datapath equal to the cluster's desired state in etcd. */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <event2/event.h>
#include "cli/json.h"
#include "cli/cli.h"
#include "cli/cluster.h"
#include "cli/dp.h"
#include "cli/metrics.h"
#include "cli/metrics_server.h"
#include "cli/state.h"
#include "maps/clock.h"

/*
 * The loop (libevent, one thread):
 *   start: dp up (an upgrade when the datapath runs), a lease, hosts/NAME
 *          under it, then list: every key under the prefix at revision R,
 *          kept in memory (the mirror), applied, then a watch from R+1.
 *   watch: each response (whole revisions) updates the mirror and arms
 *          the sync timer; a burst of responses becomes one sync.
 *   sync:  the host's state derived from the mirror (own NICs local, the
 *          others remote at their host's address), committed through the
 *          transaction layer (one swap), status/NAME written.
 *   lost:  a watch that ends (etcd down, compaction) is replaced by a new
 *          list after a backoff (0.2 s doubling to 5 s); the datapath keeps
 *          its last state meanwhile. The keep-alive finds a dead etcd and a
 *          lease that expired (then the host registers again).
 */

struct agent {
	const char *name, *dev;
	char local[16];
	__be32 underlay_ip;
	__be32 external_ip;       /* 0 without an external device: registered so writers refuse it as an EIP */
	struct event_base *base;
	struct etcd etcd; /* unary calls: their own event base */
	int ttl;
	int64_t lease;
	struct etcd_kvs mirror;   /* every key under the prefix, sorted */
	int64_t revision;         /* of the mirror */
	int64_t applied;          /* revision last applied */
	struct etcd_watch *watch;
	struct event *sync_ev, *keepalive_ev, *relist_ev, *sigterm_ev, *sigint_ev;
	double backoff;
	bool connected, synced, stopping;
	bool dirty; /* the mirror changed since the last sync */
	unsigned long bad_total, syncs, sync_failures;
	unsigned int bad, waiting;
	double dirty_since;       /* when the oldest change not applied yet was seen */
	const char *metrics_addr; /* metrics [ADDR:]PORT */
	struct metrics_server *metrics;
	struct metrics_histogram sync_hist; /* derive + commit, seconds */
};

static void logf_(struct agent *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(struct agent *a, const char *fmt, ...)
{
	char ts[32];
	struct timespec now;
	struct tm tm;
	va_list ap;

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ld agent %s: ", ts, now.tv_nsec / 1000000, a->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void arm(struct event *ev, double seconds)
{
	struct timeval tv = { (time_t)seconds, (suseconds_t)((seconds - (time_t)seconds) * 1e6) };
	event_add(ev, &tv);
}

/* ---- the mirror ---- */

static void mirror_set(struct etcd_kvs *m, const struct etcd_kv *kv, bool del)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(m->kv[mid].key, kv->key);
		if (c == 0) {
			free(m->kv[mid].key);
			free(m->kv[mid].value);
			if (del) {
				memmove(&m->kv[mid], &m->kv[mid + 1], (m->n - mid - 1) * sizeof(*m->kv));
				m->n--;
			} else {
				m->kv[mid] = *kv;
				m->kv[mid].key = strdup(kv->key);
				m->kv[mid].value = strdup(kv->value);
			}
			return;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (del)
		return;
	if (m->n == m->cap) {
		size_t cap = m->cap ? 2 * m->cap : 256;
		struct etcd_kv *g = realloc(m->kv, cap * sizeof(*g));
		if (!g)
			return;
		m->kv = g;
		m->cap = cap;
	}
	memmove(&m->kv[lo + 1], &m->kv[lo], (m->n - lo) * sizeof(*m->kv));
	m->kv[lo] = *kv;
	m->kv[lo].key = strdup(kv->key);
	m->kv[lo].value = strdup(kv->value);
	m->n++;
}

/* ---- deriving and applying this host's state ---- */

static __be32 host_underlay(void *arg, const char *host)
{
	struct agent *a = arg;
	char key[512];
	const struct etcd_kv *h;
	__be32 ip = 0;

	snprintf(key, sizeof(key), "%shosts/%s", cluster_prefix, host);
	if (!(h = cluster_find(a->mirror.kv, a->mirror.n, key)))
		return 0;
	yajl_val o = json_parse(h->value, h->value_len, NULL, 0);
	const char *u = json_get_string(o, "underlay");
	if (u && inet_pton(AF_INET, u, &ip) != 1)
		ip = 0;
	json_free(o);
	return ip;
}

/* One line per changed object: what the operator reads to follow a change through the fleet. */
static void log_changes(struct agent *a, const struct txn_state *cur, const struct txn_state *want)
{
	char b1[20], b2[20];

	for (const struct txn_vpc *v = NULL; (v = table_next(&want->vpcs, v));)
		if (!table_get(&cur->vpcs, &v->vni))
			logf_(a, "revision %lld: vpc %u added", (long long)a->revision, v->vni);
	for (const struct txn_vpc *v = NULL; (v = table_next(&cur->vpcs, v));)
		if (!table_get(&want->vpcs, &v->vni))
			logf_(a, "revision %lld: vpc %u deleted", (long long)a->revision, v->vni);
	for (const struct txn_subnet *s = NULL; (s = table_next(&want->subnets, s));)
		if (!table_get(&cur->subnets, &s->k))
			logf_(a, "revision %lld: subnet %s vpc %u added", (long long)a->revision,
			      prefix_str(s->k.prefix, s->k.len, b1), s->k.vni);
	for (const struct txn_subnet *s = NULL; (s = table_next(&cur->subnets, s));)
		if (!table_get(&want->subnets, &s->k))
			logf_(a, "revision %lld: subnet %s vpc %u deleted", (long long)a->revision,
			      prefix_str(s->k.prefix, s->k.len, b1), s->k.vni);
	for (const struct txn_nic *n = NULL; (n = table_next(&want->nics, n));) {
		const struct txn_nic *c = table_get(&cur->nics, &n->k);
		bool moved = c && ((c->v.flags & NIC_F_LOCAL) != (n->v.flags & NIC_F_LOCAL) || c->v.remote != n->v.remote ||
				   c->v.ifindex != n->v.ifindex);
		struct nic cv = c ? c->v : n->v, wv = n->v;
		cv.stats_slot = wv.stats_slot = 0; /* not configuration: the planner gives it */
		if (!c || moved || memcmp(&cv, &wv, sizeof(wv)))
			logf_(a, "revision %lld: nic %s vpc %u %s %s%s", (long long)a->revision, ip_str(n->k.ip, b1), n->k.vni,
			      n->v.flags & NIC_F_LOCAL ? "dev" : "remote",
			      n->v.flags & NIC_F_LOCAL ? n->dev : ip_str(n->v.remote, b2),
			      !c ? " added" : moved ? " moved" : " changed");
	}
	for (const struct txn_nic *n = NULL; (n = table_next(&cur->nics, n));)
		if (!table_get(&want->nics, &n->k))
			logf_(a, "revision %lld: nic %s vpc %u deleted", (long long)a->revision, ip_str(n->k.ip, b1), n->k.vni);
	for (const struct txn_sg *g = NULL; (g = table_next(&want->sgs, g));)
		if (!table_get(&cur->sgs, &g->id))
			logf_(a, "revision %lld: sg %.*s added", (long long)a->revision, NAME_LEN, g->name);
	for (const struct txn_sg *g = NULL; (g = table_next(&cur->sgs, g));)
		if (!table_get(&want->sgs, &g->id))
			logf_(a, "revision %lld: sg %.*s deleted", (long long)a->revision, NAME_LEN, g->name);
	/* routes: one line per VPC whose table changed (a batch may change a million) */
	for (const struct txn_vpc *v = NULL; (v = table_next(&want->vpcs, v));) {
		size_t added = 0, removed = 0, changed = 0;
		for (const struct txn_route *r = NULL; (r = table_next(&want->routes, r));) {
			if (r->k.vni != v->vni)
				continue;
			const struct txn_route *c = table_get(&cur->routes, &r->k);
			added += !c;
			changed += c && memcmp(&c->r, &r->r, sizeof(r->r));
		}
		for (const struct txn_route *r = NULL; (r = table_next(&cur->routes, r));)
			removed += r->k.vni == v->vni && !table_get(&want->routes, &r->k);
		if (added || removed || changed)
			logf_(a, "revision %lld: routes of vpc %u: %zu added, %zu deleted, %zu changed", (long long)a->revision,
			      v->vni, added, removed, changed);
	}
}

static void write_status(struct agent *a)
{
	char key[512];
	struct jw w;

	snprintf(key, sizeof(key), "%sstatus/%s", cluster_prefix, a->name);
	jw_init(&w, NULL, 0);
	jw_object(&w);
	jw_kint(&w, "revision", a->applied);
	jw_kint(&w, "time", (int64_t)time(NULL));
	jw_kuint(&w, "errors", a->bad);
	jw_kuint(&w, "waiting", a->waiting);
	jw_kuint(&w, "errors_total", a->bad_total);
	jw_object_end(&w);
	if (jw_finish(&w))
		logf_(a, "cannot write %s: %s", key, jw_error(&w));
	else if (etcd_put(&a->etcd, key, jw_text(&w, NULL), 0, NULL))
		logf_(a, "cannot write %s: %s", key, a->etcd.err);
	jw_free(&w);
}

static int sync_now(struct agent *a)
{
	struct txn_state cur, want;
	struct cluster_view v = { .host = a->name, .underlay = host_underlay, .arg = a };
	struct store *s;
	double t0 = clock_s();
	int err;

	if (!(s = store_get(true)))
		return 1;
	if (state_load(s, &cur)) {
		store_release();
		return 1;
	}
	v.live = &cur;
	a->dirty = false;
	txn_state_init(&want);
	cluster_build(a->mirror.kv, a->mirror.n, &v, &want);
	err = state_commit(s, &cur, &want);
	metrics_histogram_observe(&a->sync_hist, clock_s() - t0);
	if (!err) {
		log_changes(a, &cur, &want);
		a->applied = a->revision;
		a->syncs++;
		if (a->bad != v.bad || a->waiting != v.waiting || v.bad)
			logf_(a, "revision %lld: %u value(s) refused, %u nic(s) waiting for their host", (long long)a->revision,
			      v.bad, v.waiting);
		a->bad = v.bad;
		a->waiting = v.waiting;
		a->bad_total += v.bad;
	} else {
		logf_(a, "revision %lld: the commit failed; the datapath keeps its last state", (long long)a->revision);
		a->sync_failures++;
		if (!a->dirty)
			a->dirty_since = t0;
		a->dirty = true;
		arm(a->sync_ev, 1);
	}
	txn_state_free(&cur);
	txn_state_free(&want);
	store_release(); /* the pin dir's lock is held only while committing: local readers and writers go on */
	if (!err) {
		if (opts.verbose)
			logf_(a, "revision %lld applied in %.1f ms", (long long)a->revision, (clock_s() - t0) * 1e3);
		write_status(a);
		if (!a->synced)
			logf_(a, "synced at revision %lld", (long long)a->applied);
		a->synced = true;
	}
	return err;
}

static void on_sync(evutil_socket_t fd, short what, void *arg)
{
	struct agent *a = arg;
	if (a->dirty || !a->synced)
		sync_now(a);
}

/* ---- list and watch ---- */

static void watch_events(void *arg, int64_t revision, const struct etcd_watch_event *ev, size_t n)
{
	struct agent *a = arg;

	bool relevant = false;

	for (size_t i = 0; i < n; i++) {
		enum cluster_key k = cluster_key_kind(ev[i].kv.key, NULL);
		mirror_set(&a->mirror, &ev[i].kv, ev[i].del);
		/*
		 * The hosts' status reports and the writers' guard change nothing here (else agents would echo
		 * each other); route chunks only matter once a manifest names them, and it comes after them.
		 */
		relevant |= k != CK_STATUS && k != CK_GUARD && k != CK_OTHER && k != CK_CHUNK;
	}
	if (revision > a->revision)
		a->revision = revision;
	a->backoff = 0;
	/* coalesce a burst: the sync runs once, shortly after the first response of it */
	if (relevant) {
		if (!a->dirty)
			a->dirty_since = clock_s();
		a->dirty = true;
		if (!evtimer_pending(a->sync_ev, NULL))
			arm(a->sync_ev, 0.005);
	}
}

static void watch_ended(void *arg, int64_t compact, const char *why)
{
	struct agent *a = arg;

	if (a->stopping)
		return;
	if (compact)
		logf_(a, "watch: revision %lld compacted away: listing again", (long long)compact);
	else
		logf_(a, "watch: %s: listing again in %.1f s", why, a->backoff ? a->backoff : 0.2);
	a->connected = !!compact;
	arm(a->relist_ev, compact ? 0 : (a->backoff ? a->backoff : 0.2));
	a->backoff = a->backoff ? (a->backoff * 2 > 5 ? 5 : a->backoff * 2) : 0.4;
}

static int register_host(struct agent *a)
{
	char key[512], ip[16], eip[16];
	struct jw w;

	if (etcd_lease_grant(&a->etcd, a->ttl, &a->lease))
		return -1;
	snprintf(key, sizeof(key), "%shosts/%s", cluster_prefix, a->name);
	jw_init(&w, NULL, 0);
	jw_object(&w);
	jw_kstring(&w, "underlay", inet_ntop(AF_INET, &a->underlay_ip, ip, sizeof(ip)));
	jw_kstring(&w, "dev", a->dev);
	if (a->external_ip)
		jw_kstring(&w, "external", inet_ntop(AF_INET, &a->external_ip, eip, sizeof(eip)));
	jw_object_end(&w);
	if (jw_finish(&w)) {
		snprintf(a->etcd.err, sizeof(a->etcd.err), "%s: %s", key, jw_error(&w));
		jw_free(&w);
		return -1;
	}
	int err = etcd_put(&a->etcd, key, jw_text(&w, NULL), a->lease, NULL);
	jw_free(&w);
	if (err)
		return -1;
	logf_(a, "registered %s (underlay %s) under lease %llx, ttl %d s", key, ip, (unsigned long long)a->lease, a->ttl);
	return 0;
}

static void on_relist(evutil_socket_t fd, short what, void *arg)
{
	struct agent *a = arg;
	char end[sizeof(cluster_prefix)];
	struct etcd_kvs kvs;
	static const struct etcd_watch_cb cb = { watch_events, watch_ended, NULL };
	struct etcd_watch_cb wcb = cb;

	if (a->watch) {
		etcd_watch_stop(a->watch);
		a->watch = NULL;
	}
	if (!a->lease && register_host(a)) {
		logf_(a, "etcd: %s: retrying in %.1f s", a->etcd.err, a->backoff ? a->backoff : 0.2);
		goto retry;
	}
	etcd_prefix_end(cluster_prefix, end, sizeof(end));
	if (etcd_range(&a->etcd, cluster_prefix, end, &kvs)) {
		logf_(a, "etcd: %s: retrying in %.1f s", a->etcd.err, a->backoff ? a->backoff : 0.2);
		goto retry;
	}
	etcd_kvs_free(&a->mirror);
	a->mirror = kvs;
	a->revision = kvs.revision;
	if (!a->connected)
		logf_(a, "etcd: listed %zu keys at revision %lld", kvs.n, (long long)kvs.revision);
	a->connected = true;
	wcb.arg = a;
	a->watch = etcd_watch_start(&a->etcd, a->base, cluster_prefix, end, a->revision + 1, &wcb);
	if (!a->watch) {
		logf_(a, "etcd: cannot start the watch");
		goto retry;
	}
	a->backoff = 0;
	sync_now(a);
	return;
retry:
	a->connected = false;
	arm(a->relist_ev, a->backoff ? a->backoff : 0.2);
	a->backoff = a->backoff ? (a->backoff * 2 > 5 ? 5 : a->backoff * 2) : 0.4;
}

static void on_keepalive(evutil_socket_t fd, short what, void *arg)
{
	struct agent *a = arg;
	int64_t ttl = 0;

	arm(a->keepalive_ev, a->ttl / 3.0);
	if (!a->lease)
		return; /* the relist registers again */
	/* a keep-alive that waits longer than the lease lives is no keep-alive */
	a->etcd.timeout_s = a->ttl / 3 > 1 ? a->ttl / 3 : 1;
	int kerr = etcd_lease_keepalive(&a->etcd, a->lease, &ttl);
	a->etcd.timeout_s = 30;
	if (kerr && !a->etcd.unreachable) {
		ttl = 0; /* etcd answered, with an error: the lease is not known any more */
	} else if (a->etcd.unreachable) {
		if (a->connected)
			logf_(a, "etcd: keep-alive: %s", a->etcd.err);
		if (a->connected && a->watch) {
			/* etcd is gone but the watch's connection may not know yet */
			etcd_watch_stop(a->watch);
			a->watch = NULL;
			arm(a->relist_ev, 0.2);
		}
		a->connected = false;
		return;
	}
	if (ttl <= 0) {
		logf_(a, "lease %llx expired: registering again", (unsigned long long)a->lease);
		a->lease = 0;
		if (register_host(a))
			logf_(a, "etcd: %s", a->etcd.err);
	}
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct agent *a = arg;
	logf_(a, "signal %d: stopping (the datapath keeps forwarding)", (int)sig);
	a->stopping = true;
	event_base_loopbreak(a->base);
}

/* ---- metrics: the agent's families after the datapath's (docs/metrics.md, docs/cluster.md) ---- */

static void agent_metrics(struct metrics_out *o, void *ctx)
{
	struct agent *a = ctx;
	char key[512];

	metrics_family(o, "vpcbpf_agent_applied_revision", METRICS_GAUGE, "The etcd revision this host has applied.");
	metrics_u64(o, "vpcbpf_agent_applied_revision", (uint64_t)a->applied, NULL);
	metrics_family(o, "vpcbpf_agent_seen_revision", METRICS_GAUGE, "The newest etcd revision the agent has listed or watched.");
	metrics_u64(o, "vpcbpf_agent_seen_revision", (uint64_t)a->revision, NULL);
	metrics_family(o, "vpcbpf_agent_sync_lag_seconds", METRICS_GAUGE,
		       "Age of the oldest change seen in etcd and not applied yet; 0 when in sync.");
	metrics_double(o, "vpcbpf_agent_sync_lag_seconds", a->dirty ? clock_s() - a->dirty_since : 0.0, NULL);
	metrics_family(o, "vpcbpf_agent_synced", METRICS_GAUGE, "1 once the agent has applied a full listing of etcd.");
	metrics_u64(o, "vpcbpf_agent_synced", a->synced, NULL);
	metrics_family(o, "vpcbpf_agent_etcd_connected", METRICS_GAUGE,
		       "1 while the agent lists and watches etcd, 0 while it retries (the datapath keeps its last state).");
	metrics_u64(o, "vpcbpf_agent_etcd_connected", a->connected, NULL);
	metrics_family(o, "vpcbpf_agent_syncs_total", METRICS_COUNTER, "Changes applied through the transaction layer.");
	metrics_u64(o, "vpcbpf_agent_syncs_total", a->syncs, NULL);
	metrics_family(o, "vpcbpf_agent_sync_failures_total", METRICS_COUNTER, "Commits that failed (retried).");
	metrics_u64(o, "vpcbpf_agent_sync_failures_total", a->sync_failures, NULL);
	metrics_family(o, "vpcbpf_agent_values_refused", METRICS_GAUGE,
		       "Values in etcd this host refused at the last sync (malformed, unknown VPC, missing dev...).");
	metrics_u64(o, "vpcbpf_agent_values_refused", a->bad, NULL);
	metrics_family(o, "vpcbpf_agent_values_refused_total", METRICS_COUNTER, "Values refused, summed over syncs.");
	metrics_u64(o, "vpcbpf_agent_values_refused_total", a->bad_total, NULL);
	metrics_family(o, "vpcbpf_agent_nics_waiting", METRICS_GAUGE, "NICs whose host has never registered (not applied).");
	metrics_u64(o, "vpcbpf_agent_nics_waiting", a->waiting, NULL);
	/* every host a NIC or a status report names: 1 while its lease holds hosts/NAME */
	metrics_family(o, "vpcbpf_cluster_host_up", METRICS_GAUGE,
		       "1 while the host's agent holds hosts/NAME under its lease, 0 when it expired (its NICs stay).");
	for (size_t i = 0; i < a->mirror.n; i++) {
		const char *name;
		if (cluster_key_kind(a->mirror.kv[i].key, &name) != CK_STATUS)
			continue;
		snprintf(key, sizeof(key), "%shosts/%s", cluster_prefix, name);
		metrics_u64(o, "vpcbpf_cluster_host_up", cluster_find(a->mirror.kv, a->mirror.n, key) != NULL, "host", name, NULL);
	}
	metrics_histogram_write(o, "vpcbpf_agent_sync_duration_seconds",
				"Time of one sync: this host's state derived from etcd and committed as one transaction.",
				&a->sync_hist);
}

static bool agent_synced(void *ctx, const char **why)
{
	struct agent *a = ctx;
	if (!a->synced)
		*why = "not synced with etcd yet";
	return a->synced;
}

static const struct metrics_hooks agent_hooks = { agent_metrics, agent_synced };

/* ---- the command ---- */

#define AGENT_DP_WORDS 14 /* dp up's words: at most 7 keywords with their values */

static int parse_agent(struct agent *a, int argc, char **argv, char **dp_argv, int *dp_argc)
{
	int n = 0;

	/* the chain below takes the first match: a prefix of two (l: local or lease) is refused first */
	static const char *const agent_kws[] = { "host", "dev", "local", "xdp", "external", "nat-ports", "lease", "metrics" };

	for (; argc > 0; argc--, argv++) {
		const char *val;
		if (n > AGENT_DP_WORDS - 2) /* a keyword repeated over and over */
			return fail("agent: too many words");
		if (keyword_find(*argv, agent_kws, sizeof(agent_kws) / sizeof(agent_kws[0]), 0, "agent") == -2)
			return 1;
		if (!strcmp(*argv, "--etcd")) {
			if (!(val = next_value(&argc, &argv, "--etcd")))
				return 1;
			cluster_url = val;
		} else if (matches(*argv, "host")) {
			if (!(val = next_value(&argc, &argv, "host")))
				return 1;
			if (!*val || strlen(val) >= TXN_HOST_LEN || strchr(val, '/'))
				return fail("invalid host name \"%s\"", val);
			a->name = val;
		} else if (matches(*argv, "dev")) {
			if (!(a->dev = next_value(&argc, &argv, "dev")))
				return 1;
			dp_argv[n++] = "dev";
			dp_argv[n++] = (char *)a->dev;
		} else if (matches(*argv, "local")) {
			__be32 ip;
			if (!(val = next_value(&argc, &argv, "local")) || parse_ip(val, &ip))
				return 1;
			dp_argv[n++] = "local";
			dp_argv[n++] = (char *)val;
		} else if (matches(*argv, "xdp")) {
			if (!(val = next_value(&argc, &argv, "xdp")))
				return 1;
			dp_argv[n++] = "xdp";
			dp_argv[n++] = (char *)val;
		} else if (matches(*argv, "external") || matches(*argv, "nat-ports")) {
			/* the internet (docs/nat.md): dp up's own words, checked there */
			const char *kw = matches(*argv, "external") ? "external" : "nat-ports";
			if (!(val = next_value(&argc, &argv, kw)))
				return 1;
			dp_argv[n++] = (char *)kw;
			dp_argv[n++] = (char *)val;
		} else if (matches(*argv, "lease")) {
			__u32 ttl;
			if (!(val = next_value(&argc, &argv, "lease")) || parse_u32(val, "lease TTL", &ttl, 2, 3600))
				return 1;
			a->ttl = (int)ttl;
		} else if (matches(*argv, "metrics")) {
			if (!(a->metrics_addr = next_value(&argc, &argv, "metrics")))
				return 1;
		} else {
			return unknown_word(*argv);
		}
	}
	*dp_argc = n;
	if (!cluster_url)
		return fail("agent: missing \"--etcd URL\" (or VPCBPF_ETCD)");
	if (!a->name)
		return fail("agent: missing \"host NAME\"");
	if (!a->dev)
		return fail("agent: missing \"dev UNDERLAY_DEV\"");
	return 0;
}

static int do_agent(int argc, char **argv)
{
	struct agent a;
	char *dp_argv[AGENT_DP_WORDS];
	int dp_argc = 0, err = 1;
	struct store *s;
	struct host h;

	memset(&a, 0, sizeof(a));
	a.ttl = 10;
	metrics_histogram_init(&a.sync_hist, metrics_duration_bounds, metrics_duration_nbounds);
	if (parse_agent(&a, argc, argv, dp_argv, &dp_argc))
		return 1;
	/* the datapath: loaded, or upgraded in place with its maps (no packet lost) */
	if (dp_up(dp_argc, dp_argv))
		return 1;
	store_release();
	if (!(s = store_get(false)) || store_host(s, &h)) {
		store_release();
		return fail("agent: cannot read the host's underlay after dp up");
	}
	a.underlay_ip = h.underlay_ip;
	{
		struct nat_host nh;
		__u32 zero = 0;
		if (!bpf_map_lookup_elem(s->fd[SM_NAT_HOST], &zero, &nh) && nh.ext_ifindex)
			a.external_ip = nh.ext_ip;
	}
	store_release();
	if (cluster_open(&a.etcd, cluster_url))
		return 1;
	a.base = event_base_new();
	if (!a.base)
		goto out;
	a.sync_ev = evtimer_new(a.base, on_sync, &a);
	a.relist_ev = evtimer_new(a.base, on_relist, &a);
	a.keepalive_ev = evtimer_new(a.base, on_keepalive, &a);
	a.sigterm_ev = evsignal_new(a.base, SIGTERM, on_signal, &a);
	a.sigint_ev = evsignal_new(a.base, SIGINT, on_signal, &a);
	if (!a.sync_ev || !a.relist_ev || !a.keepalive_ev || !a.sigterm_ev || !a.sigint_ev)
		goto out;
	if (a.metrics_addr) {
		a.metrics = metrics_start(a.base, a.metrics_addr, opts.pin_dir, &agent_hooks, &a);
		if (!a.metrics) {
			err = 1;
			goto out_quiet;
		}
		logf_(&a, "metrics on http://%s/metrics", metrics_address(a.metrics));
	}
	event_add(a.sigterm_ev, NULL);
	event_add(a.sigint_ev, NULL);
	signal(SIGPIPE, SIG_IGN);
	logf_(&a, "starting: etcd %s, prefix %s, dev %s", a.etcd.url, cluster_prefix, a.dev);
	arm(a.relist_ev, 0);
	arm(a.keepalive_ev, a.ttl / 3.0);
	event_base_dispatch(a.base);
	err = 0;
	if (a.lease && !etcd_lease_revoke(&a.etcd, a.lease))
		logf_(&a, "lease revoked: hosts/%s removed", a.name);
out:
	if (err)
		fail("agent: out of memory");
out_quiet:
	if (a.metrics)
		metrics_stop(a.metrics);
	if (a.watch)
		etcd_watch_stop(a.watch);
	if (a.sync_ev)
		event_free(a.sync_ev);
	if (a.relist_ev)
		event_free(a.relist_ev);
	if (a.keepalive_ev)
		event_free(a.keepalive_ev);
	if (a.sigterm_ev)
		event_free(a.sigterm_ev);
	if (a.sigint_ev)
		event_free(a.sigint_ev);
	if (a.base)
		event_base_free(a.base);
	etcd_kvs_free(&a.mirror);
	etcd_close(&a.etcd);
	if (err)
		return 1;
	pr_printed();
	return 0;
}

static const struct cmd cmds[] = { { "agent", do_agent }, { 0 } };

const struct object obj_agent = {
	.name = "agent",
	.cmds = cmds,
	.no_verbs = true,
	.usage = "agent --etcd URL host NAME dev UNDERLAY_DEV [local IP] [xdp MODE] [external DEV] [nat-ports LO-HI]\n"
		 "       [lease SECONDS] [metrics [ADDR:]PORT]\n"
		 "Runs in the foreground: loads the datapath (or upgrades it), registers hosts/NAME under a lease,\n"
		 "and keeps this host equal to the desired state in etcd (docs/cluster.md). SIGTERM stops it;\n"
		 "the datapath keeps forwarding with the last state.",
};
