/*
 * flow - the kernel path's flow table, keyed by the client's (source
 * address, source port).
 *
 * Layout: the flows themselves sit in one dense array (max entries, no
 * holes: a deletion moves the last flow into the hole), and a hash table
 * (hash.h: 8-byte entries of tag and position, at most 3/4 full) maps a
 * key to its dense position.  1M flows cost 72 MB of flows and 16 MB of
 * index.  Expiry walks the dense array with a cursor, a bounded amount
 * per call.
 *
 * Per-UID share: a second table, as large, counts each UID's flows (uid,
 * count; the entry goes when the count drops to zero).  A flow for a UID
 * that already holds flow_uid_max is refused, so one UID binding every
 * address of 127/8 cannot take the whole table.  Its pages are only
 * touched for the UIDs that hold flows.
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

/* fent - where a key's flow is */
struct fent {
	HASH_ENTRY;
	uint32_t	pos;		/* in f */
};

/* uent - a UID's count of flows */
struct uent {
	HASH_ENTRY;
	uint32_t	uid;
	uint32_t	n;		/* > 0 */
};

struct flows {
	struct flow	*f;		/* dense, n used of max */
	size_t		 n, max;
	struct hash	 idx;		/* of struct fent */
	struct hash	 uidx;		/* of struct uent */
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

/* flow_eq - the entry's flow has key k */
static int
flow_eq(const void *ctx, const void *e, const void *k)
{
	const struct flows *t = ctx;

	return key_eq(&t->f[((const struct fent *)e)->pos].key, k);
}

/* pos_eq - the entry points at position *pos */
static int
pos_eq(const void *ctx, const void *e, const void *pos)
{
	(void)ctx;
	return ((const struct fent *)e)->pos == *(const uint32_t *)pos;
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
	if ((t->f = calloc(max, sizeof(*t->f))) == NULL ||
	    hash_init(&t->idx, sizeof(struct fent), max) == -1 ||
	    hash_init(&t->uidx, sizeof(struct uent), max) == -1) {
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
	hash_fini(&t->idx);
	hash_fini(&t->uidx);
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

/* uid_eq - the entry counts uid's flows */
static int
uid_eq(const void *ctx, const void *e, const void *uid)
{
	(void)ctx;
	return ((const struct uent *)e)->uid == *(const uint32_t *)uid;
}

/* uc_find - uid's count, or NULL */
static struct uent *
uc_find(const struct flows *t, uint32_t uid)
{
	return hash_find(&t->uidx, uid_hash(t, uid), uid_eq, NULL, &uid);
}

/* flow_uid_count - flows held by uid */
size_t
flow_uid_count(const struct flows *t, uint32_t uid)
{
	const struct uent *c = uc_find(t, uid);

	return c ? c->n : 0;
}

/* uc_inc - one more flow for uid (never more UIDs than flows, so the
 * table never grows) */
static void
uc_inc(struct flows *t, uint32_t uid)
{
	struct uent *c = uc_find(t, uid);

	if (c == NULL) {
		if ((c = hash_insert(&t->uidx, uid_hash(t, uid))) == NULL)
			abort();	/* sized for max UIDs: a bug */
		c->uid = uid;
	}
	c->n++;
}

/* uc_dec - one flow fewer for uid; the last one takes its count out */
static void
uc_dec(struct flows *t, uint32_t uid)
{
	struct uent *c = uc_find(t, uid);

	if (c == NULL)
		abort();	/* a flow nobody counted: a bug */
	if (--c->n == 0)
		hash_remove(&t->uidx, c);
}

/* find - the entry of key k (normalized) hashed to h, or NULL */
static struct fent *
find(const struct flows *t, const struct flow_key *k, uint64_t h)
{
	return hash_find(&t->idx, h, flow_eq, t, k);
}

/* entry_at - the entry of the flow at pos */
static struct fent *
entry_at(const struct flows *t, uint32_t pos)
{
	struct fent *e;

	e = hash_find(&t->idx, key_hash(t, &t->f[pos].key), pos_eq, NULL, &pos);
	if (e == NULL)
		abort();	/* the index lost a flow: a bug */
	return e;
}

/* remove_at - delete the flow of entry e, keeping the array dense */
static void
remove_at(struct flows *t, struct fent *e)
{
	uint32_t pos = e->pos, last = (uint32_t)t->n - 1;

	uc_dec(t, t->f[pos].uid);
	hash_remove(&t->idx, e);
	if (pos != last) {
		/* The last flow moves into the hole: repoint its entry. */
		entry_at(t, last)->pos = pos;
		t->f[pos] = t->f[last];
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
	struct fent *e;
	uint64_t h;

	key_norm(&k, &f->key);
	h = key_hash(t, &k);
	if ((e = find(t, &k, h)) != NULL) {
		old = &t->f[e->pos];
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
	if ((e = hash_insert(&t->idx, h)) == NULL)
		abort();	/* sized for max flows: a bug */
	e->pos = (uint32_t)t->n;
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
	struct fent *e;

	key_norm(&k, key);
	if ((e = find(t, &k, key_hash(t, &k))) == NULL)
		return NULL;
	f = &t->f[e->pos];
	return now < f->expires ? f : NULL;
}

/* flow_del - forget the flow for key; -1 if there was none */
int
flow_del(struct flows *t, const struct flow_key *key)
{
	struct flow_key k;
	struct fent *e;

	key_norm(&k, key);
	if ((e = find(t, &k, key_hash(t, &k))) == NULL)
		return -1;
	remove_at(t, e);
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
			remove_at(t, entry_at(t, (uint32_t)t->cursor));
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
