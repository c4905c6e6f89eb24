/* maps/txn_plan.c — the planner: the journal steps that turn the loaded state into the wanted one, and the tables built aside. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "maps/txn_plan.h"
#include "maps/prefix.h"

void txn_plan_init(struct txn_plan *p)
{
	memset(p, 0, sizeof(*p));
}

void txn_plan_free(struct txn_plan *p)
{
	free(p->ops);
	memset(p, 0, sizeof(*p));
}

int txn_plan_op(struct txn_plan *p, const struct txn_op *op)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 64;
		struct txn_op *n = realloc(p->ops, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		p->ops = n;
		p->cap = cap;
	}
	p->ops[p->n++] = *op;
	return 0;
}

struct txn_op mkop(enum txn_op_kind kind)
{
	struct txn_op op;
	memset(&op, 0, sizeof(op));
	op.kind = (__u8)kind;
	return op;
}

int txn_plan_put(struct txn_plan *p, enum store_map m, const void *key, size_t ksz, const void *val, size_t vsz)
{
	struct txn_op op = mkop(TXN_OP_PUT);
	if (ksz > sizeof(op.key) || vsz > sizeof(op.value))
		return -E2BIG;
	op.map = (__u8)m;
	op.key_size = (__u8)ksz;
	op.value_size = (__u8)vsz;
	memcpy(op.key, key, ksz);
	memcpy(op.value, val, vsz);
	return txn_plan_op(p, &op);
}

int txn_plan_del(struct txn_plan *p, enum store_map m, const void *key, size_t ksz)
{
	struct txn_op op = mkop(TXN_OP_DEL);
	if (ksz > sizeof(op.key))
		return -E2BIG;
	op.map = (__u8)m;
	op.key_size = (__u8)ksz;
	memcpy(op.key, key, ksz);
	return txn_plan_op(p, &op);
}

/* After the record that pointed at it is gone: its fib region waits for a grace period (maps/fib.c). */
static int plan_fib_release(struct txn_plan *p, const struct vpc *v)
{
	struct txn_op op = mkop(TXN_OP_FIB_RELEASE);
	__u32 region[2] = { v->fib_base, v->fib_lines };

	if (!v->fib_base)
		return 0;
	memcpy(op.key, region, sizeof(region));
	op.key_size = sizeof(region);
	return txn_plan_op(p, &op);
}

/* Words of a fib line, each stored atomically (a patched table's direct entry, its header). */
static int plan_fib_write(struct txn_plan *p, __u32 line, __u32 first, __u32 n, const __u32 *words)
{
	struct txn_op op = mkop(TXN_OP_FIB_WRITE);
	__u32 at[3] = { line, first, n };

	memcpy(op.key, at, sizeof(at));
	op.key_size = sizeof(at);
	memcpy(op.value, words, n * sizeof(*words));
	op.value_size = (__u8)(n * sizeof(*words));
	return txn_plan_op(p, &op);
}

static int plan_ifindex_op(struct txn_plan *p, enum txn_op_kind kind, __u32 ifindex)
{
	struct txn_op op = mkop(kind);
	op.ifindex = ifindex;
	return txn_plan_op(p, &op);
}

void commit_plan_free(struct commit_plan *cp)
{
	free(cp->builds);
	txn_plan_free(&cp->p);
	memset(cp, 0, sizeof(*cp));
}

/* A local NIC's binding (ifindex -> NIC, program attached) goes once no wanted NIC uses the device. */
static int plan_unbind(struct txn_plan *p, const struct txn_state *want, const struct table *bound, __u32 ifindex)
{
	if (table_get(bound, &ifindex))
		return 0;
	if (plan_ifindex_op(p, TXN_OP_DETACH, ifindex))
		return -ENOMEM;
	return txn_plan_del(p, SM_IFINDEX_NICS, &ifindex, sizeof(ifindex));
}

static bool subnet_has_dhcp(const struct txn_subnet *sn)
{
	static const struct subnet_dhcp none;

	return memcmp(&sn->dhcp, &none, sizeof(none)) != 0;
}

static int cmp_sg_rule(const void *a, const void *b)
{
	const struct txn_sg_rule *x = *(const struct txn_sg_rule *const *)a, *y = *(const struct txn_sg_rule *const *)b;
	if (x->k.sg_id != y->k.sg_id)
		return x->k.sg_id < y->k.sg_id ? -1 : 1;
	return x->k.priority < y->k.priority ? -1 : x->k.priority > y->k.priority;
}

/* The rules of group id in st, by priority, as one array (caller frees). */
static struct txn_sg_rule **sg_rules_of(const struct txn_state *st, __u32 id, size_t *n)
{
	size_t all, k = 0;
	struct txn_sg_rule **v = (struct txn_sg_rule **)table_sorted(&st->sg_rules, cmp_sg_rule, &all);
	if (!v)
		return NULL;
	for (size_t i = 0; i < all; i++)
		if (v[i]->k.sg_id == id)
			v[k++] = v[i];
	*n = k;
	return v;
}

static bool same_sg_rules(const struct txn_state *a, const struct txn_state *b, __u32 id)
{
	size_t na = 0, nb = 0;
	struct txn_sg_rule **ra = sg_rules_of(a, id, &na), **rb = sg_rules_of(b, id, &nb);
	bool same = ra && rb && na == nb;
	for (size_t i = 0; same && i < na; i++)
		same = ra[i]->k.priority == rb[i]->k.priority && !memcmp(&ra[i]->r, &rb[i]->r, sizeof(struct sg_rule));
	free(ra);
	free(rb);
	return same;
}

static bool sg_has_rules(const struct txn_state *st, __u32 id)
{
	for (const struct txn_sg_rule *r = NULL; (r = table_next(&st->sg_rules, r));)
		if (r->k.sg_id == id)
			return true;
	return false;
}

/* A group's whole rule set, swapped in by one commit step (maps/sg_table.c builds it aside). */
static int plan_sg_rules(struct txn_plan *p, const struct txn_state *want, __u32 id)
{
	size_t n = 0;
	struct txn_sg_rule **r = sg_rules_of(want, id, &n);
	struct txn_op op;
	int err = r ? 0 : -ENOMEM;

	for (size_t i = 0; i < n && !err; i++) {
		op = mkop(TXN_OP_SG_RULE);
		op.vni = id;
		op.ifindex = r[i]->k.priority;
		memcpy(op.value, &r[i]->r, sizeof(struct sg_rule));
		op.value_size = sizeof(struct sg_rule);
		err = txn_plan_op(p, &op);
	}
	free(r);
	if (!err) {
		op = mkop(TXN_OP_SG_COMMIT);
		op.vni = id;
		err = txn_plan_op(p, &op);
	}
	return err;
}

/* The live routes of rec's fib region with put (sorted) put in and del (sorted) taken out: the VPC's new table. */
static int merge_live(const struct table_io *io, const struct vpc *rec, const struct vgroup *put, const struct vgroup *del,
		      struct vgroup *out)
{
	struct route *live;
	size_t n, np = put ? put->n : 0, nd = del ? del->n : 0, i = 0, j = 0, d = 0;
	int err = io->routes(io->ctx, rec, &live, &n);

	memset(out, 0, sizeof(*out));
	if (err)
		return err;
	out->r = malloc((n + np + 1) * sizeof(*out->r));
	if (!out->r) {
		free(live);
		return -ENOMEM;
	}
	while (i < n || j < np) {
		int c = i == n ? 1 : j == np ? -1 : route_order(&live[i], &put->r[j]);
		const struct route *r = c >= 0 ? &put->r[j] : &live[i]; /* equal keys: the new route */
		while (c < 0 && d < nd && route_order(&del->r[d], r) < 0)
			d++;
		if (c < 0 && d < nd && route_order(&del->r[d], r) == 0) {
			i++; /* taken out */
			continue;
		}
		out->r[out->n++] = *r;
		if (c <= 0)
			i++;
		if (c >= 0)
			j++;
	}
	free(live);
	return 0;
}

static const struct txn_eip *eip_of_nic(const struct txn_state *st, const struct nic_key *k)
{
	for (const struct txn_eip *e = NULL; (e = table_next(&st->eips, e));)
		if (!memcmp(&e->nic, k, sizeof(*k)))
			return e;
	return NULL;
}

/* eips[EIP] -> NIC and nic_eips[NIC] -> EIP, both written or both removed; a NIC's old EIP goes with its mapping. */
static int plan_eips(struct txn_plan *p, const struct txn_state *cur, const struct txn_state *want)
{
	for (const struct txn_eip *we = NULL; (we = table_next(&want->eips, we));) {
		const struct txn_eip *ce = table_get(&cur->eips, &we->eip);
		if (ce && !memcmp(&ce->nic, &we->nic, sizeof(we->nic)))
			continue;
		if (txn_plan_put(p, SM_NIC_EIPS, &we->nic, sizeof(we->nic), &we->eip, sizeof(we->eip)) ||
		    txn_plan_put(p, SM_EIPS, &we->eip, sizeof(we->eip), &we->nic, sizeof(we->nic)))
			return -ENOMEM;
	}
	for (const struct txn_eip *ce = NULL; (ce = table_next(&cur->eips, ce));) {
		const struct txn_eip *we = table_get(&want->eips, &ce->eip);
		if (we && !memcmp(&ce->nic, &we->nic, sizeof(we->nic)))
			continue;
		if (!we && txn_plan_del(p, SM_EIPS, &ce->eip, sizeof(ce->eip)))
			return -ENOMEM;
		if (!eip_of_nic(want, &ce->nic) && txn_plan_del(p, SM_NIC_EIPS, &ce->nic, sizeof(ce->nic)))
			return -ENOMEM;
	}
	return 0;
}

/*
 * The counter slot of every NIC of want (struct nic.stats_slot): the one it has in cur, or for a
 * new NIC the lowest one that no NIC of cur holds, not even one that goes in this plan (its
 * packets may still count there until the barrier). A slot is zeroed before its record is put.
 */
static int plan_nic_slots(const struct table_io *io, const struct txn_state *cur, const struct txn_state *want,
			  struct table *slots)
{
	__u64 *used = calloc(NIC_SLOTS / 64, sizeof(__u64));
	bool new_nics = false;
	__u32 next = 1;
	int err = 0;

	if (!used)
		return -ENOMEM;
	used[0] = 1; /* slot 0: no NIC's */
	for (const struct txn_nic *n = NULL; !new_nics && (n = table_next(&want->nics, n));)
		new_nics = !table_get(&cur->nics, &n->k);
	/* the maps' NICs are read only for a new NIC (a single route edit reads none) */
	if (new_nics && cur->nics_partial && io->nic_slots && (err = io->nic_slots(io->ctx, used)))
		goto out;
	for (const struct txn_nic *n = NULL; (n = table_next(&cur->nics, n));)
		if (n->v.stats_slot < NIC_SLOTS)
			used[n->v.stats_slot / 64] |= 1ULL << (n->v.stats_slot % 64);
	for (const struct txn_nic *n = NULL; (n = table_next(&want->nics, n));) {
		const struct txn_nic *c = table_get(&cur->nics, &n->k);
		struct { struct nic_key k; __u32 slot; } rec = { n->k, c ? c->v.stats_slot : 0 };

		if (!c) {
			while (next < NIC_SLOTS && (used[next / 64] >> (next % 64)) & 1)
				next++;
			if (next >= NIC_SLOTS) {
				err = -ENOBUFS;
				goto out;
			}
			used[next / 64] |= 1ULL << (next % 64);
			rec.slot = next;
		}
		if (!table_put(slots, &rec)) {
			err = -ENOMEM;
			goto out;
		}
	}
out:
	free(used);
	return err;
}

/* The order (see txn.h): additions, swaps, barrier, removals. */
int plan_commit(const struct table_io *io, const struct txn_state *cur, const struct txn_state *want,
		struct commit_plan *cp)
{
	struct table gcur, gwant, bound, slots;
	struct txn_plan *p = &cp->p;
	int err;

	memset(cp, 0, sizeof(*cp));
	table_init(&slots, sizeof(struct nic_key), sizeof(struct nic_key) + sizeof(__u32));
	if ((err = plan_nic_slots(io, cur, want, &slots))) {
		table_free(&slots);
		return err;
	}
	err = -ENOMEM;
	if (group_routes(cur, &gcur)) {
		table_free(&slots);
		return -ENOMEM;
	}
	if (group_routes(want, &gwant)) {
		groups_free(&gcur);
		table_free(&slots);
		return -ENOMEM;
	}
	table_init(&bound, sizeof(__u32), sizeof(__u32));
	for (const struct txn_nic *n = NULL; (n = table_next(&want->nics, n));)
		if ((n->v.flags & NIC_F_LOCAL) && !table_put(&bound, &n->v.ifindex))
			goto out;
	cp->builds = calloc(want->vpcs.live + 1, sizeof(*cp->builds));
	if (!cp->builds)
		goto out;

	/* The route tables to build aside, and the vpc records that will swap them in. */
	for (const struct txn_vpc *wv = NULL; (wv = table_next(&want->vpcs, wv));) {
		const struct txn_vpc *cv = table_get(&cur->vpcs, &wv->vni);
		const struct vgroup *cg = table_get(&gcur, &wv->vni), *wg = table_get(&gwant, &wv->vni);
		struct build *b = &cp->builds[cp->nbuilds];
		bool partial = cv && !txn_routes_known(want, wv->vni, NULL, 0);
		struct table pput, pdel;
		struct vgroup merged;
		struct fib_patch patch;
		bool table_changed, patched = false;
		int e = 0;

		memset(&merged, 0, sizeof(merged));
		if (partial) {
			if (partial_changes(cur, want, wv->vni, &pput, &pdel)) {
				groups_free(&pput);
				groups_free(&pdel);
				goto out;
			}
			table_changed = pput.live || pdel.live;
			/* only what the command changed is known: the new table is the live one with it merged in */
			if (table_changed) {
				/* one chunk of the live table rebuilt in place, when it can be; else the whole table */
				const struct vgroup *put = table_get(&pput, &wv->vni), *del = table_get(&pdel, &wv->vni);
				e = io->patch ? io->patch(io->ctx, &cv->rec, put, del, &patch) : -EAGAIN;
				patched = !e;
				if (e == -EAGAIN)
					e = merge_live(io, &cv->rec, put, del, &merged);
			}
			groups_free(&pput);
			groups_free(&pdel);
			if (e) {
				err = e;
				goto out;
			}
		} else {
			table_changed = !cv || !same_routes(cg, wg);
		}

		memset(b, 0, sizeof(*b));
		b->vni = wv->vni;
		if (cv)
			b->rec = cv->rec;
		memcpy(b->rec.name, wv->rec.name, NAME_LEN);
		b->rec.advertise_table = wv->rec.advertise_table;
		b->is_new = !cv;
		b->swap = cv && (table_changed || memcmp(cv->rec.name, wv->rec.name, NAME_LEN) ||
				 cv->rec.advertise_table != wv->rec.advertise_table);
		if (!b->is_new && !b->swap)
			continue;
		cp->nbuilds++;
		if (!table_changed) /* a rename or another advertise table: the same table under the new record */
			continue;
		if (patched) { /* the same region, one chunk more: published by two word writes before the record */
			b->patched = true;
			b->patch = patch;
			b->rec.route_count = patch.route_count;
			b->rec.fib_root = patch.root;
			b->rec.fib_depth = patch.depth;
			continue;
		}
		/* the datapath, show and save follow the record: nothing reads the new table before it is swapped in */
		e = partial ? io->install(io->ctx, merged.r, merged.n, &b->rec)
			    : io->install(io->ctx, wg ? wg->r : NULL, wg ? wg->n : 0, &b->rec);
		free(merged.r);
		if (e) {
			err = e; /* -ENOSPC: the fib arena is full */
			goto out;
		}
	}

	/* 1. new VPCs: their tables are complete before the record makes them reachable */
	for (size_t i = 0; i < cp->nbuilds; i++)
		if (cp->builds[i].is_new &&
		    txn_plan_put(p, SM_VPCS, &cp->builds[i].vni, sizeof(__u32), &cp->builds[i].rec, sizeof(struct vpc)))
			goto out;
	/* 1b. security groups, new, or with other rules: whole rule sets, before NICs refer to them */
	for (const struct txn_sg *wg = NULL; (wg = table_next(&want->sgs, wg));) {
		const struct txn_sg *cg = table_get(&cur->sgs, &wg->id);
		if (!cg) {
			struct sg rec;
			memset(&rec, 0, sizeof(rec));
			memcpy(rec.name, wg->name, NAME_LEN);
			if (txn_plan_put(p, SM_SGS, &wg->id, sizeof(__u32), &rec, sizeof(rec)))
				goto out;
		}
		/* a new group starts with no rules: a commit only if it gets some */
		if (!same_sg_rules(cg ? cur : want, want, wg->id) || (!cg && sg_has_rules(want, wg->id)))
			if (plan_sg_rules(p, want, wg->id))
				goto out;
	}
	/* 2. subnets, new or changed */
	for (const struct txn_subnet *ws = NULL; (ws = table_next(&want->subnets, ws));) {
		const struct txn_subnet *cs = table_get(&cur->subnets, &ws->k);
		if ((!cs || memcmp(&cs->v, &ws->v, sizeof(ws->v))) &&
		    txn_plan_put(p, SM_SUBNETS, &ws->k, sizeof(ws->k), &ws->v, sizeof(ws->v)))
			goto out;
		/* its DHCP options: an entry only while it has some */
		bool had = cs && subnet_has_dhcp(cs), has = subnet_has_dhcp(ws);
		if (has && (!had || memcmp(&cs->dhcp, &ws->dhcp, sizeof(ws->dhcp))) &&
		    txn_plan_put(p, SM_SUBNET_DHCP, &ws->k, sizeof(ws->k), &ws->dhcp, sizeof(ws->dhcp)))
			goto out;
		if (had && !has && txn_plan_del(p, SM_SUBNET_DHCP, &ws->k, sizeof(ws->k)))
			goto out;
	}
	/* 3. NICs, new or changed: counters and binding before the record that points the datapath at them */
	for (const struct txn_nic *wn = NULL; (wn = table_next(&want->nics, wn));) {
		const struct txn_nic *cn = table_get(&cur->nics, &wn->k);
		const __u32 *slot = (const __u32 *)((const char *)table_get(&slots, &wn->k) + sizeof(wn->k));
		bool wl = wn->v.flags & NIC_F_LOCAL, cl = cn && (cn->v.flags & NIC_F_LOCAL);
		struct nic v = wn->v;
		struct txn_op op;

		v.stats_slot = *slot;
		if (cn && !memcmp(&cn->v, &v, sizeof(v)))
			continue;
		if (!cn) {
			op = mkop(TXN_OP_STATS_NEW);
			memcpy(op.key, &wn->k, sizeof(wn->k));
			op.key_size = sizeof(wn->k);
			memcpy(op.value, slot, sizeof(*slot));
			op.value_size = sizeof(*slot);
			if (txn_plan_op(p, &op))
				goto out;
		}
		if (wl && !(cl && cn->v.ifindex == wn->v.ifindex)) {
			if (txn_plan_put(p, SM_IFINDEX_NICS, &wn->v.ifindex, sizeof(__u32), &wn->k, sizeof(wn->k)) ||
			    plan_ifindex_op(p, TXN_OP_ATTACH, wn->v.ifindex))
				goto out;
		}
		if (txn_plan_put(p, SM_NICS, &wn->k, sizeof(wn->k), &v, sizeof(v)))
			goto out;
		if (cl && !(wl && cn->v.ifindex == wn->v.ifindex) && plan_unbind(p, want, &bound, cn->v.ifindex))
			goto out;
	}
	/* 3b. elastic IPs: both directions of a new or moved EIP, then those that go (before their NICs) */
	if (plan_eips(p, cur, want))
		goto out;
	/* 4. one record update per VPC swaps its table (or renames it); a table patched in place: its chunk first */
	for (size_t i = 0; i < cp->nbuilds; i++) {
		const struct build *b = &cp->builds[i];
		if (b->patched && ((b->patch.entry_line &&
				    plan_fib_write(p, b->patch.entry_line, b->patch.entry_word, 1, &b->patch.entry)) ||
				   plan_fib_write(p, b->patch.header_line, 0, FIB_LINE_WORDS, (const __u32 *)&b->patch.hdr)))
			goto out;
		if (b->swap && txn_plan_put(p, SM_VPCS, &b->vni, sizeof(__u32), &b->rec, sizeof(struct vpc)))
			goto out;
	}
	/* 5. no packet still uses an old table or record past this point (dropped below when nothing follows) */
	size_t barrier = p->n;
	{
		struct txn_op op = mkop(TXN_OP_BARRIER);
		if (txn_plan_op(p, &op))
			goto out;
	}
	/* 6. NICs that go: stop what they send, forget where they live, then their counters */
	for (const struct txn_nic *cn = NULL; (cn = table_next(&cur->nics, cn));) {
		if (table_get(&want->nics, &cn->k))
			continue;
		if ((cn->v.flags & NIC_F_LOCAL) && plan_unbind(p, want, &bound, cn->v.ifindex))
			goto out;
		if (txn_plan_del(p, SM_NICS, &cn->k, sizeof(cn->k)) ||
		    txn_plan_del(p, SM_NIC_STATS, &cn->k, sizeof(cn->k)))
			goto out;
	}
	/* 7. subnets that go (their connected routes left with the swap) */
	for (const struct txn_subnet *cs = NULL; (cs = table_next(&cur->subnets, cs));)
		if (!table_get(&want->subnets, &cs->k) &&
		    ((subnet_has_dhcp(cs) && txn_plan_del(p, SM_SUBNET_DHCP, &cs->k, sizeof(cs->k))) ||
		     txn_plan_del(p, SM_SUBNETS, &cs->k, sizeof(cs->k))))
			goto out;
	/* 8. VPCs that go: the record first, then its table's lines wait out a grace period */
	for (const struct txn_vpc *cv = NULL; (cv = table_next(&cur->vpcs, cv));)
		if (!table_get(&want->vpcs, &cv->vni) &&
		    (txn_plan_del(p, SM_VPCS, &cv->vni, sizeof(__u32)) || plan_fib_release(p, &cv->rec)))
			goto out;
	/* 8b. security groups that go, once no NIC refers to them */
	for (const struct txn_sg *cg = NULL; (cg = table_next(&cur->sgs, cg));) {
		struct txn_op op = mkop(TXN_OP_SG_PURGE);
		op.vni = cg->id;
		if (table_get(&want->sgs, &cg->id))
			continue;
		if (txn_plan_del(p, SM_SGS, &cg->id, sizeof(__u32)) || txn_plan_op(p, &op))
			goto out;
	}
	/*
	 * A single command's edit (a state loaded in part) with nothing to
	 * remove does not wait for a grace period: the fib region it swapped out
	 * waits in quarantine for a later one (fib_install waits itself when the
	 * quarantine runs out). A whole-state commit waits, which frees the
	 * quarantine for the next. A plan with nothing before the barrier and
	 * nothing after it changes nothing: it is dropped too, so that applying
	 * the state that is there writes nothing, not even the journal.
	 */
	if (p->n == barrier + 1 && (want->routes_partial || barrier == 0))
		p->n--;
	err = 0;
out:
	groups_free(&gcur);
	groups_free(&gwant);
	table_free(&bound);
	table_free(&slots);
	if (err)
		commit_plan_free(cp);
	return err;
}

