/*
 * hash - open addressing, linear probing, backward-shift deletion over
 * entries stored in the slots (see hash.h for why).
 *
 * Every entry begins with its tag, the hash's high 32 bits (0 is kept for
 * an empty slot: a hash whose bits are 0 gets 1; hash_tag).  A slot's
 * home is tag & mask, so the table never needs a key or a callback to
 * move an entry: growth re-places entries by their tags, and deletion
 * knows each follower's home from its tag.  The tag's bits above the
 * mask still tell most keys of one home apart; the home needs no more
 * than the tag's 32 bits, and the table stops at 2^31 slots, far above
 * any cache here.  Empty slots are all zero, so a new entry comes
 * zeroed.  The lookup is inline, in hash.h.
 *
 * Trusts: its callers (hash.h); nothing here comes from outside.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"

#define HASH_MIN	16		/* slots of the smallest table */
#define HASH_MAX	(1UL << 31)	/* slots of the largest */

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

/* hash_init - an empty table for n entries; its pages are only backed
 * once written, so a large table costs what it holds */
int
hash_init(struct hash *t, size_t entsize, size_t n)
{
	size_t slots;

	memset(t, 0, sizeof(*t));
	if (entsize < sizeof(uint32_t) || entsize % sizeof(uint32_t) != 0) {
		errno = EINVAL;
		return -1;
	}
	if ((slots = slots_for(n)) == 0) {
		errno = ENOSPC;
		return -1;
	}
	if ((t->s = calloc(slots, entsize)) == NULL)
		return -1;
	t->esize = entsize;
	t->mask = slots - 1;
	return 0;
}

/* hash_fini - release the entries (the caller holds the table) */
void
hash_fini(struct hash *t)
{
	free(t->s);
	memset(t, 0, sizeof(*t));
}

/* hash_clear - every slot empty */
void
hash_clear(struct hash *t)
{
	memset(t->s, 0, (t->mask + 1) * t->esize);
	t->n = 0;
}

/* hash_count - entries stored */
size_t
hash_count(const struct hash *t)
{
	return t->n;
}

/* place - the first empty slot from tag's home in slots s, tagged */
static char *
place(char *s, size_t esize, size_t mask, uint32_t tag)
{
	size_t i;

	for (i = tag & mask; hash_tag_at(s + i * esize) != 0;
	    i = (i + 1) & mask)
		;
	memcpy(s + i * esize, &tag, sizeof(tag));
	return s + i * esize;
}

/* grow - twice the slots, every entry re-placed by its tag */
static int
grow(struct hash *t)
{
	size_t slots = (t->mask + 1) * 2, i;
	char *s, *e;

	if (slots > HASH_MAX) {
		errno = ENOSPC;
		return -1;
	}
	if ((s = calloc(slots, t->esize)) == NULL)
		return -1;
	for (i = 0; i <= t->mask; i++) {
		e = t->s + i * t->esize;
		if (hash_tag_at(e) != 0)
			memcpy(place(s, t->esize, slots - 1, hash_tag_at(e)), e,
			    t->esize);
	}
	free(t->s);
	t->s = s;
	t->mask = slots - 1;
	return 0;
}

/* hash_insert - a zeroed entry under h, growing past 3/4 full */
void *
hash_insert(struct hash *t, uint64_t h)
{
	if ((t->n + 1) * 4 > (t->mask + 1) * 3 && grow(t) == -1)
		return NULL;
	t->n++;
	return place(t->s, t->esize, t->mask, hash_tag(h));
}

/* hash_remove - empty entry's slot and shift the rest of its cluster
 * back */
void
hash_remove(struct hash *t, void *entry)
{
	size_t i = (size_t)((char *)entry - t->s) / t->esize, j, home;
	uint32_t tag;

	for (j = i;;) {
		j = (j + 1) & t->mask;
		if ((tag = hash_tag_at(t->s + j * t->esize)) == 0)
			break;
		home = tag & t->mask;
		/* j stays unless moving it back to i keeps it at or after
		 * its home: its home must not lie in (i, j] */
		if (i <= j ? (i < home && home <= j) :
		    (i < home || home <= j))
			continue;
		memcpy(t->s + i * t->esize, t->s + j * t->esize, t->esize);
		i = j;
	}
	memset(t->s + i * t->esize, 0, t->esize);
	t->n--;
}

/* hash_next - the next occupied slot's entry, in slot order */
void *
hash_next(const struct hash *t, size_t *pos)
{
	char *e;

	while (*pos <= t->mask) {
		e = t->s + (*pos)++ * t->esize;
		if (hash_tag_at(e) != 0)
			return e;
	}
	return NULL;
}
