/*
 * flow - the kernel path's flow table, keyed by the client's (source
 * address, source port).
 *
 * Layout: the flows themselves sit in one dense array (max entries, no
 * holes: a deletion moves the last flow into the hole), and a hash index
 * (hash.h: 8-byte slots, at most 3/4 full) maps a key to its dense
 * position + 1.  1M flows cost 72 MB of flows and 16 MB of index.
 * Expiry walks the dense array with a cursor, a bounded amount per call.
 *
 * Per-UID share: a second dense array counts each UID's flows (uid,
 * count), indexed the same way; a count that drops to zero leaves, the
 * last count moving into its place.  A flow for a UID that already holds
 * flow_uid_max is refused, so one UID binding every address of 127/8
 * cannot take the whole table.  Its pages are only touched for the UIDs
 * that hold flows.
 *
 * Everything is allocated by flow_new() and sized for max, so the indexes
 * never grow: nothing is allocated after.  Pure apart from one getrandom()
 * for the hash seed: source ports are chosen by the web users we govern,
 * so the hash must not be predictable.
 *
 * Trusts its callers (keys come from parsed packets and the policy
 * server's already-validated addresses).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>

#include "flow.h"
#include "hash.h"

struct ucount {
	uint32_t	uid;
	uint32_t	n;		/* flows of uid, > 0 */
};

struct flows {
	struct flow	*f;		/* dense, n used of max */
	size_t		 n, max;
	struct hash	*idx;		/* key -> position in f + 1 */
	struct ucount	*uc;		/* dense, nuc used of max */
	size_t		 nuc;
	struct hash	*uidx;		/* uid -> position in uc + 1 */
	size_t		 uid_max;	/* flows one UID may hold */
	size_t		 cursor;	/* flow_expire's position */
	uint64_t	 seed;
	uint64_t	 full_until;	/* no flow expires before: a reclaim
					 * until then would find nothing */
};

/* key_hash - seeded hash of a normalized key */
static uint64_t
key_hash(const struct flows *t, const struct flow_key *k)
{
	uint64_t a, b, h;

	memcpy(&a, k->addr, 8);
	memcpy(&b, k->addr + 8, 8);
	h = hash_u64(t->seed ^ ((uint64_t)k->family << 16 | k->port));
	h = hash_u64(h ^ a);
	h = hash_u64(h ^ b);
	return h;
}

/* key_norm - copy k with unused address bytes zeroed, so keys compare
 * with memcmp whatever the caller left there */
static void
key_norm(struct flow_key *dst, const struct flow_key *k)
{
	memset(dst, 0, sizeof(*dst));
	dst->family = k->family;
	dst->port = k->port;
	memcpy(dst->addr, k->addr, k->family == AF_INET ? 4 : 16);
}

/* key_eq - normalized keys are equal */
static int
key_eq(const struct flow_key *a, const struct flow_key *b)
{
	return a->family == b->family && a->port == b->port &&
	    memcmp(a->addr, b->addr, 16) == 0;
}

/* flow_eq - the index's callback: flow ref - 1 has key k */
static int
flow_eq(const void *ctx, uint32_t ref, const void *k)
{
	const struct flows *t = ctx;

	return key_eq(&t->f[ref - 1].key, k);
}

/* flow_new - preallocate room for max flows */
struct flows *
flow_new(size_t max)
{
	struct flows *t;

	if (max == 0 || max > UINT32_MAX / 2)
		return NULL;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->f = calloc(max, sizeof(*t->f));
	t->uc = calloc(max, sizeof(*t->uc));
	t->idx = hash_new(max);
	t->uidx = hash_new(max);
	if (t->f == NULL || t->uc == NULL || t->idx == NULL ||
	    t->uidx == NULL) {
		flow_free(t);
		return NULL;
	}
	t->max = max;
	t->uid_max = flow_uid_default(max);
	if (getrandom(&t->seed, sizeof(t->seed), GRND_NONBLOCK) !=
	    sizeof(t->seed))
		t->seed = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)t;
	return t;
}

/* flow_free - release the table */
void
flow_free(struct flows *t)
{
	if (t == NULL)
		return;
	free(t->f);
	free(t->uc);
	hash_free(t->idx);
	hash_free(t->uidx);
	free(t);
}

/* flow_uid_default - a UID's share of a table of max flows */
size_t
flow_uid_default(size_t max)
{
	size_t n = max / FLOW_UID_SHARE;

	if (n < FLOW_UID_MIN)
		n = FLOW_UID_MIN;
	return n < max ? n : max;
}

/* flow_set_uid_max - the most flows one UID may hold; 0: the default */
void
flow_set_uid_max(struct flows *t, size_t n)
{
	t->uid_max = n == 0 ? flow_uid_default(t->max) : n < t->max ? n :
	    t->max;
}

/* flow_uid_max - the share in force */
size_t
flow_uid_max(const struct flows *t)
{
	return t->uid_max;
}

/* uid_hash - where uid's count is indexed */
static uint64_t
uid_hash(const struct flows *t, uint32_t uid)
{
	return hash_u64(t->seed ^ ((uint64_t)uid << 1 | 1));
}

/* uc_eq - the index's callback: count ref - 1 is uid's */
static int
uc_eq(const void *ctx, uint32_t ref, const void *uid)
{
	const struct flows *t = ctx;

	return t->uc[ref - 1].uid == *(const uint32_t *)uid;
}

/* uc_find - uid's count, or NULL */
static struct ucount *
uc_find(const struct flows *t, uint32_t uid)
{
	uint32_t r = hash_find(t->uidx, uid_hash(t, uid), uc_eq, t, &uid);

	return r ? &t->uc[r - 1] : NULL;
}

/* flow_uid_count - flows held by uid */
size_t
flow_uid_count(const struct flows *t, uint32_t uid)
{
	const struct ucount *c = uc_find(t, uid);

	return c ? c->n : 0;
}

/* uc_inc - one more flow for uid (never more UIDs than flows, so the
 * index has room) */
static void
uc_inc(struct flows *t, uint32_t uid)
{
	struct ucount *c = uc_find(t, uid);

	if (c != NULL) {
		c->n++;
		return;
	}
	if (hash_add(t->uidx, uid_hash(t, uid), (uint32_t)t->nuc + 1) == -1)
		abort();	/* sized for max UIDs: a bug */
	t->uc[t->nuc].uid = uid;
	t->uc[t->nuc].n = 1;
	t->nuc++;
}

/* uc_dec - one flow fewer for uid; the last one takes its count out and
 * the last count moves into its place */
static void
uc_dec(struct flows *t, uint32_t uid)
{
	struct ucount *c = uc_find(t, uid);
	uint32_t ref, last;

	if (c == NULL)
		abort();	/* a flow nobody counted: a bug */
	if (--c->n > 0)
		return;
	ref = (uint32_t)(c - t->uc) + 1;
	last = (uint32_t)t->nuc--;
	if (hash_del(t->uidx, uid_hash(t, uid), ref) == -1 ||
	    (ref != last && hash_move(t->uidx,
	    uid_hash(t, t->uc[last - 1].uid), last, ref) == -1))
		abort();	/* the index lost a count: a bug */
	*c = t->uc[last - 1];
}

/* find - the ref (position + 1) of key k (normalized) hashed to h, or 0 */
static uint32_t
find(const struct flows *t, const struct flow_key *k, uint64_t h)
{
	return hash_find(t->idx, h, flow_eq, t, k);
}

/* remove_at - delete flow ref, hashed to h, keeping the array dense */
static void
remove_at(struct flows *t, uint32_t ref, uint64_t h)
{
	uint32_t last = (uint32_t)t->n;

	uc_dec(t, t->f[ref - 1].uid);
	if (hash_del(t->idx, h, ref) == -1)
		abort();	/* the index lost a flow: a bug */
	if (ref != last) {
		/* The last flow moves into the hole: repoint its slot. */
		if (hash_move(t->idx, key_hash(t, &t->f[last - 1].key), last,
		    ref) == -1)
			abort();
		t->f[ref - 1] = t->f[last - 1];
	}
	t->n--;
}

/* reclaim - drop every expired flow; remember when the next expires */
static size_t
reclaim(struct flows *t, uint64_t now)
{
	uint64_t next = UINT64_MAX;
	size_t dropped, i;

	dropped = flow_expire(t, now, SIZE_MAX);
	for (i = 0; i < t->n; i++)
		if (t->f[i].expires < next)
			next = t->f[i].expires;
	t->full_until = next;
	return dropped;
}

/* flow_put - insert or replace the flow for f->key */
int
flow_put(struct flows *t, const struct flow *f, uint64_t now)
{
	struct flow_key k;
	struct flow *old;
	uint64_t h;
	uint32_t r;

	key_norm(&k, &f->key);
	h = key_hash(t, &k);
	if ((r = find(t, &k, h)) != 0) {
		old = &t->f[r - 1];
		if (old->uid != f->uid) {
			if (flow_uid_count(t, f->uid) >= t->uid_max) {
				errno = EDQUOT;
				return -1;
			}
			uc_dec(t, old->uid);
			uc_inc(t, f->uid);
		}
		*old = *f;
		old->key = k;
		if (f->expires < t->full_until)
			t->full_until = f->expires;
		return 0;
	}
	if (t->n == t->max || flow_uid_count(t, f->uid) >= t->uid_max) {
		/* A full scan at most once per expiry: a flood of SYNs
		 * into a full table, or from a UID at its share, must not
		 * scan it per packet. */
		if (now >= t->full_until)
			(void)reclaim(t, now);
		if (flow_uid_count(t, f->uid) >= t->uid_max) {
			errno = EDQUOT;
			return -1;
		}
		if (t->n == t->max) {
			errno = ENOSPC;
			return -1;
		}
	}
	if (f->expires < t->full_until)
		t->full_until = f->expires;
	if (hash_add(t->idx, h, (uint32_t)t->n + 1) == -1)
		abort();	/* sized for max flows: a bug */
	t->f[t->n] = *f;
	t->f[t->n].key = k;
	t->n++;
	uc_inc(t, f->uid);
	return 0;
}

/* flow_get - the live flow for key, or NULL */
struct flow *
flow_get(struct flows *t, const struct flow_key *key, uint64_t now)
{
	struct flow_key k;
	struct flow *f;
	uint32_t r;

	key_norm(&k, key);
	if ((r = find(t, &k, key_hash(t, &k))) == 0)
		return NULL;
	f = &t->f[r - 1];
	return now < f->expires ? f : NULL;
}

/* flow_del - forget the flow for key; -1 if there was none */
int
flow_del(struct flows *t, const struct flow_key *key)
{
	struct flow_key k;
	uint64_t h;
	uint32_t r;

	key_norm(&k, key);
	h = key_hash(t, &k);
	if ((r = find(t, &k, h)) == 0)
		return -1;
	remove_at(t, r, h);
	return 0;
}

/* flow_expire - drop up to budget expired flows, examining at most the
 * whole table once, starting where the last call stopped */
size_t
flow_expire(struct flows *t, uint64_t now, size_t budget)
{
	size_t dropped = 0, seen = 0, total = t->n;

	while (dropped < budget && seen < total && t->n > 0) {
		if (t->cursor >= t->n)
			t->cursor = 0;
		if (now >= t->f[t->cursor].expires) {
			/* The last flow moves here; look at it next. */
			remove_at(t, (uint32_t)t->cursor + 1,
			    key_hash(t, &t->f[t->cursor].key));
			dropped++;
		} else
			t->cursor++;
		seen++;
	}
	return dropped;
}

/* flow_count - flows stored, expired ones not yet reclaimed included */
size_t
flow_count(const struct flows *t)
{
	return t->n;
}

/* flow_key_from - a key from a numeric address ("192.0.2.1", "::1");
 * an IPv4-mapped IPv6 address becomes the IPv4 key it stands for */
int
flow_key_from(struct flow_key *k, const char *addr, uint16_t port)
{
	static const uint8_t v4mapped[12] =
	    { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	memset(k, 0, sizeof(*k));
	k->port = port;
	if (inet_pton(AF_INET, addr, k->addr) == 1) {
		k->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, addr, k->addr) == 1) {
		k->family = AF_INET6;
		if (memcmp(k->addr, v4mapped, 12) == 0) {
			memmove(k->addr, k->addr + 12, 4);
			memset(k->addr + 4, 0, 12);
			k->family = AF_INET;
		}
		return 0;
	}
	return -1;
}

/* flow_each - visit every stored flow */
int
flow_each(struct flows *t, int (*fn)(const struct flow *, void *), void *arg)
{
	size_t i;
	int r;

	for (i = 0; i < t->n; i++)
		if ((r = fn(&t->f[i], arg)) != 0)
			return r;
	return 0;
}
