/*
 * flow - the kernel path's flow table, keyed by the client's (source
 * address, source port).
 *
 * Layout: the flows themselves sit in one dense array (max entries, no
 * holes: a deletion moves the last flow into the hole), and an index of
 * power-of-two slots >= max * 4/3 (load factor <= 3/4) maps a key to its
 * dense position by open addressing with linear probing.  A slot is 8
 * bytes (position + 32 hash bits, so most probes never touch the flow),
 * so 1M flows cost 72 MB of flows and 16 MB of slots.  Deletion uses
 * backward shift, so there are no tombstones and probe chains stay short
 * however long the daemon runs.  Expiry walks the dense array with a
 * cursor, a bounded amount per call.
 *
 * Per-UID share: a second index, of the same size, counts each UID's
 * flows (uid, count; backward-shift deletion when the count drops to
 * zero).  A flow for a UID that already holds flow_uid_max is refused, so
 * one UID binding every address of 127/8 cannot take the whole table.
 * Its pages are only touched for the UIDs that hold flows.
 *
 * Everything is allocated by flow_new(); nothing after.  Pure apart from
 * one getrandom() for the hash seed: source ports are chosen by the web
 * users we govern, so the hash must not be predictable.
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

struct slot {
	uint32_t	pos;		/* dense index + 1; 0 = empty */
	uint32_t	hash;		/* high bits of the key's hash */
};

struct ucount {
	uint32_t	uid;
	uint32_t	n;		/* flows of uid; 0 = empty slot */
};

struct flows {
	struct flow	*f;		/* dense, n used of max */
	size_t		 n, max;
	struct slot	*slot;
	size_t		 mask;		/* number of slots - 1 */
	struct ucount	*uc;		/* as many slots as slot[] */
	size_t		 uid_max;	/* flows one UID may hold */
	size_t		 cursor;	/* flow_expire's position */
	uint64_t	 seed;
	uint64_t	 full_until;	/* no flow expires before: a reclaim
					 * until then would find nothing */
};

/* mix - a 64-bit finalizer (splitmix64) */
static uint64_t
mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

/* key_hash - seeded hash of a normalized key */
static uint64_t
key_hash(const struct flows *t, const struct flow_key *k)
{
	uint64_t a, b, h;

	memcpy(&a, k->addr, 8);
	memcpy(&b, k->addr + 8, 8);
	h = mix(t->seed ^ ((uint64_t)k->family << 16 | k->port));
	h = mix(h ^ a);
	h = mix(h ^ b);
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

/* flow_new - preallocate room for max flows */
struct flows *
flow_new(size_t max)
{
	struct flows *t;
	size_t nslots, want;

	if (max == 0 || max > UINT32_MAX / 2)
		return NULL;
	want = max + (max + 2) / 3;	/* >= max * 4/3 */
	for (nslots = 16; nslots < want; nslots <<= 1)
		;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->f = calloc(max, sizeof(*t->f));
	t->slot = calloc(nslots, sizeof(*t->slot));
	t->uc = calloc(nslots, sizeof(*t->uc));
	if (t->f == NULL || t->slot == NULL || t->uc == NULL) {
		flow_free(t);
		return NULL;
	}
	t->max = max;
	t->mask = nslots - 1;
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
	free(t->slot);
	free(t->uc);
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

/* uc_home - where uid's count starts probing */
static size_t
uc_home(const struct flows *t, uint32_t uid)
{
	return mix(t->seed ^ ((uint64_t)uid << 1 | 1)) & t->mask;
}

/* uc_find - the slot of uid's count, or the empty slot where it goes */
static size_t
uc_find(const struct flows *t, uint32_t uid)
{
	size_t i;

	for (i = uc_home(t, uid); t->uc[i].n != 0 && t->uc[i].uid != uid;
	    i = (i + 1) & t->mask)
		;
	return i;
}

/* flow_uid_count - flows held by uid */
size_t
flow_uid_count(const struct flows *t, uint32_t uid)
{
	return t->uc[uc_find(t, uid)].n;
}

/* uc_inc - one more flow for uid (never more UIDs than flows, so the
 * index has room) */
static void
uc_inc(struct flows *t, uint32_t uid)
{
	size_t i = uc_find(t, uid);

	t->uc[i].uid = uid;
	t->uc[i].n++;
}

/* uc_dec - one flow fewer for uid; the last one empties its slot and
 * shifts the rest of the cluster back, as slot_remove does */
static void
uc_dec(struct flows *t, uint32_t uid)
{
	size_t i = uc_find(t, uid), j, home;

	if (t->uc[i].n == 0)
		abort();	/* a flow nobody counted: a bug */
	if (--t->uc[i].n > 0)
		return;
	for (j = i;;) {
		j = (j + 1) & t->mask;
		if (t->uc[j].n == 0)
			return;
		home = uc_home(t, t->uc[j].uid);
		if (i <= j ? (i < home && home <= j) :
		    (i < home || home <= j))
			continue;
		t->uc[i] = t->uc[j];
		t->uc[j].n = 0;
		i = j;
	}
}

/* find - the slot holding key k (normalized), or -1 */
static long
find(const struct flows *t, const struct flow_key *k, uint64_t h)
{
	size_t i = h & t->mask;
	uint32_t tag = (uint32_t)(h >> 32);
	const struct slot *s;

	for (;;) {
		s = &t->slot[i];
		if (s->pos == 0)
			return -1;
		if (s->hash == tag && key_eq(&t->f[s->pos - 1].key, k))
			return (long)i;
		i = (i + 1) & t->mask;
	}
}

/* slot_remove - empty slot i and shift the rest of its cluster back */
static void
slot_remove(struct flows *t, size_t i)
{
	size_t j = i, home;

	for (;;) {
		t->slot[i].pos = 0;
		for (;;) {
			j = (j + 1) & t->mask;
			if (t->slot[j].pos == 0)
				return;
			home = key_hash(t, &t->f[t->slot[j].pos - 1].key) &
			    t->mask;
			/* Move j back to i unless its home lies in (i, j]. */
			if (i <= j ? (i < home && home <= j) :
			    (i < home || home <= j))
				continue;
			break;
		}
		t->slot[i] = t->slot[j];
		i = j;
	}
}

/* remove_at - delete the flow in slot i, keeping the array dense */
static void
remove_at(struct flows *t, size_t i)
{
	size_t pos = t->slot[i].pos - 1, last = t->n - 1;
	long s;

	uc_dec(t, t->f[pos].uid);
	slot_remove(t, i);
	if (pos != last) {
		/* The last flow moves into the hole: repoint its slot. */
		s = find(t, &t->f[last].key, key_hash(t, &t->f[last].key));
		if (s < 0)
			abort();	/* the index lost a flow: a bug */
		t->f[pos] = t->f[last];
		t->slot[s].pos = (uint32_t)pos + 1;
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
	size_t i;
	long s;

	key_norm(&k, &f->key);
	h = key_hash(t, &k);
	if ((s = find(t, &k, h)) >= 0) {
		old = &t->f[t->slot[s].pos - 1];
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
	for (i = h & t->mask; t->slot[i].pos != 0; i = (i + 1) & t->mask)
		;
	t->f[t->n] = *f;
	t->f[t->n].key = k;
	t->n++;
	t->slot[i].pos = (uint32_t)t->n;
	t->slot[i].hash = (uint32_t)(h >> 32);
	uc_inc(t, f->uid);
	return 0;
}

/* flow_get - the live flow for key, or NULL */
struct flow *
flow_get(struct flows *t, const struct flow_key *key, uint64_t now)
{
	struct flow_key k;
	struct flow *f;
	long s;

	key_norm(&k, key);
	if ((s = find(t, &k, key_hash(t, &k))) < 0)
		return NULL;
	f = &t->f[t->slot[s].pos - 1];
	return now < f->expires ? f : NULL;
}

/* flow_del - forget the flow for key; -1 if there was none */
int
flow_del(struct flows *t, const struct flow_key *key)
{
	struct flow_key k;
	long s;

	key_norm(&k, key);
	if ((s = find(t, &k, key_hash(t, &k))) < 0)
		return -1;
	remove_at(t, (size_t)s);
	return 0;
}

/* flow_expire - drop up to budget expired flows, examining at most the
 * whole table once, starting where the last call stopped */
size_t
flow_expire(struct flows *t, uint64_t now, size_t budget)
{
	size_t dropped = 0, seen = 0, total = t->n;
	long s;

	while (dropped < budget && seen < total && t->n > 0) {
		if (t->cursor >= t->n)
			t->cursor = 0;
		if (now >= t->f[t->cursor].expires) {
			s = find(t, &t->f[t->cursor].key,
			    key_hash(t, &t->f[t->cursor].key));
			if (s < 0)
				abort();	/* the index lost a flow */
			/* The last flow moves here; look at it next. */
			remove_at(t, (size_t)s);
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
