/*
 * hash - open addressing, linear probing, backward-shift deletion (see
 * hash.h for why).
 *
 * A slot is { ref, tag }: ref 0 is an empty slot, tag the hash's high 32
 * bits.  A slot's home is tag & mask, so the table never needs a key or
 * a callback to move an entry: growth re-places entries by their tags,
 * and deletion knows each follower's home from its tag.  The tag's bits
 * above the mask still tell most keys of one home apart, and 32 bits
 * limit the table to 2^32 slots, far above any cache here.
 *
 * Trusts: its callers (hash.h); nothing here comes from outside.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"

#define HASH_MIN	16		/* slots of the smallest table */
#define HASH_MAX	(1UL << 31)	/* slots of the largest */

struct slot {
	uint32_t	ref;		/* 0: empty */
	uint32_t	tag;		/* high bits of the hash */
};

struct hash {
	struct slot	*s;
	size_t		 mask;		/* slots - 1 */
	size_t		 n;		/* entries */
};

/* hash_u64 - splitmix64's finalizer: every input bit moves every output
 * bit, so dense keys (UIDs, account ids) spread */
uint64_t
hash_u64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

/* hash_str - FNV-1a, then the mixer: FNV's high bits, which pick the
 * slot, are its weakest */
uint64_t
hash_str(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 0x100000001b3ULL;
	return hash_u64(h);
}

/* slots_for - the power of two that holds n entries at most 3/4 full;
 * 0 when none fits */
static size_t
slots_for(size_t n)
{
	size_t want, slots;

	if (n > HASH_MAX / 4 * 3)
		return 0;
	want = n + (n + 2) / 3;		/* >= n * 4/3 */
	for (slots = HASH_MIN; slots < want; slots <<= 1)
		;
	return slots;
}

/* hash_new - an empty table for n entries; its pages are only backed
 * once written, so a large table costs what it holds */
struct hash *
hash_new(size_t n)
{
	struct hash *t;
	size_t slots;

	if ((slots = slots_for(n)) == 0) {
		errno = ENOSPC;
		return NULL;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	if ((t->s = calloc(slots, sizeof(*t->s))) == NULL) {
		free(t);
		return NULL;
	}
	t->mask = slots - 1;
	return t;
}

/* hash_free - release the index (the objects are the caller's) */
void
hash_free(struct hash *t)
{
	if (t == NULL)
		return;
	free(t->s);
	free(t);
}

/* hash_clear - every slot empty */
void
hash_clear(struct hash *t)
{
	memset(t->s, 0, (t->mask + 1) * sizeof(*t->s));
	t->n = 0;
}

/* hash_count - entries stored */
size_t
hash_count(const struct hash *t)
{
	return t->n;
}

/* hash_find - walk h's cluster; eq only where the tag matches */
uint32_t
hash_find(const struct hash *t, uint64_t h, hash_eq eq, const void *ctx,
    const void *key)
{
	uint32_t tag = (uint32_t)(h >> 32);
	size_t i = tag & t->mask;

	for (; t->s[i].ref != 0; i = (i + 1) & t->mask)
		if (t->s[i].tag == tag && eq(ctx, t->s[i].ref, key))
			return t->s[i].ref;
	return 0;
}

/* place - ref into the first empty slot from tag's home */
static void
place(struct slot *s, size_t mask, uint32_t tag, uint32_t ref)
{
	size_t i;

	for (i = tag & mask; s[i].ref != 0; i = (i + 1) & mask)
		;
	s[i].ref = ref;
	s[i].tag = tag;
}

/* grow - twice the slots, every entry re-placed by its tag */
static int
grow(struct hash *t)
{
	struct slot *s;
	size_t slots = (t->mask + 1) * 2, i;

	if (slots > HASH_MAX) {
		errno = ENOSPC;
		return -1;
	}
	if ((s = calloc(slots, sizeof(*s))) == NULL)
		return -1;
	for (i = 0; i <= t->mask; i++)
		if (t->s[i].ref != 0)
			place(s, slots - 1, t->s[i].tag, t->s[i].ref);
	free(t->s);
	t->s = s;
	t->mask = slots - 1;
	return 0;
}

/* hash_add - store ref under h, growing past 3/4 full */
int
hash_add(struct hash *t, uint64_t h, uint32_t ref)
{
	if (ref == 0) {
		errno = EINVAL;
		return -1;
	}
	if ((t->n + 1) * 4 > (t->mask + 1) * 3 && grow(t) == -1)
		return -1;
	place(t->s, t->mask, (uint32_t)(h >> 32), ref);
	t->n++;
	return 0;
}

/* locate - the slot of ref under h, or -1 */
static long
locate(const struct hash *t, uint64_t h, uint32_t ref)
{
	size_t i = (uint32_t)(h >> 32) & t->mask;

	for (; t->s[i].ref != 0; i = (i + 1) & t->mask)
		if (t->s[i].ref == ref)
			return (long)i;
	return -1;
}

/* hash_del - empty ref's slot and shift the rest of its cluster back */
int
hash_del(struct hash *t, uint64_t h, uint32_t ref)
{
	size_t i, j, home;
	long at;

	if ((at = locate(t, h, ref)) < 0) {
		errno = ENOENT;
		return -1;
	}
	for (i = j = (size_t)at;;) {
		j = (j + 1) & t->mask;
		if (t->s[j].ref == 0)
			break;
		home = t->s[j].tag & t->mask;
		/* j stays unless moving it back to i keeps it at or after
		 * its home: its home must not lie in (i, j] */
		if (i <= j ? (i < home && home <= j) :
		    (i < home || home <= j))
			continue;
		t->s[i] = t->s[j];
		i = j;
	}
	t->s[i].ref = 0;
	t->n--;
	return 0;
}

/* hash_move - repoint ref from to to, in place */
int
hash_move(struct hash *t, uint64_t h, uint32_t from, uint32_t to)
{
	long at;

	if (to == 0 || (at = locate(t, h, from)) < 0) {
		errno = to == 0 ? EINVAL : ENOENT;
		return -1;
	}
	t->s[at].ref = to;
	return 0;
}

/* hash_next - the next occupied slot's ref, in slot order */
uint32_t
hash_next(const struct hash *t, size_t *pos)
{
	while (*pos <= t->mask) {
		if (t->s[*pos].ref != 0)
			return t->s[(*pos)++].ref;
		(*pos)++;
	}
	return 0;
}
