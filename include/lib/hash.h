/*
 * hash - the one hash table every cache uses (flows, per-UID and
 * per-account counts, the account index, alerts, group-commit batches)
 * and the one mixer behind it.
 *
 * Open addressing with linear probing over fixed-size entries that sit in
 * the slot array itself; the caller chooses the entry (its key, or where
 * to find it, and its value) and says through a callback whether an entry
 * holds the key looked for.  Why this shape:
 *   - a lookup reads neighbouring slots of one or two cache lines and,
 *     for a small key (a UID, an account id, a string in an arena), finds
 *     key and value in the same line: a chained table chases a pointer
 *     per entry, and an index that only points into the caller's array
 *     adds a dependent miss to every lookup;
 *   - an entry whose object is large (a 72-byte flow, kept dense for the
 *     expiry cursor) holds the object's position instead, and the slot
 *     stays 8 bytes: 1M flows cost 16 MB of index;
 *   - each entry begins with 32 bits of its hash (the tag), which the
 *     table owns: a probe only calls back where the tag matches, and the
 *     tag gives the home slot, so growing or deleting never needs a key;
 *   - deletion shifts the cluster back instead of leaving tombstones, so
 *     probe chains stay short however long the daemon runs;
 *   - at most 3/4 full; a table made for n entries allocates nothing more
 *     until it holds more than n (the kernel path sizes its tables at
 *     start-up and never allocates after);
 *   - the lookup and the mixer are inline, so that the caller's eq
 *     inlines into them, and a table sits inside its owner's struct: a
 *     call, an indirect call or one more pointer per lookup costs as much
 *     as the probe itself on a table that fits in the cache (a UID among
 *     100k accounts).
 * Entries move when the table grows or an entry is removed: a pointer to
 * one is good until the next hash_insert, hash_remove or hash_clear.
 *
 * Trusts: callers to pass well-mixed hashes (hash_u64, hash_str), seeded
 * when an outsider chooses the keys, and to leave the tag alone.  Pure:
 * no I/O, no clock.
 */
#ifndef MAILGOV_HASH_H
#define MAILGOV_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* HASH_ENTRY - the first member of every entry: the table's tag */
#define HASH_ENTRY	uint32_t hash_tag

/* struct hash - its fields are hash.c's: they are here only so that a
 * table can sit in its owner's struct and hash_find can inline */
struct hash {
	char		*s;		/* mask + 1 entries of esize bytes */
	size_t		 esize;
	size_t		 mask;		/* slots - 1 */
	size_t		 n;		/* entries */
};

/* hash_eq - does entry hold key; ctx is the caller's */
typedef int	(*hash_eq)(const void *ctx, const void *entry, const void *key);

/* hash_u64 - mix 64 bits (splitmix64's finalizer: every input bit moves
 * every output bit, so dense keys spread); chain calls to hash wider
 * keys, with a seed in the first when keys come from outside */
static inline uint64_t
hash_u64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

/* hash_str - hash a NUL-terminated string */
uint64_t hash_str(const char *);

/* hash_tag - the tag stored for hash h: its high 32 bits, 0 kept for an
 * empty slot */
static inline uint32_t
hash_tag(uint64_t h)
{
	uint32_t tag = (uint32_t)(h >> 32);

	return tag != 0 ? tag : 1;
}

/* hash_tag_at - the tag of the entry at e (0: empty slot) */
static inline uint32_t
hash_tag_at(const char *e)
{
	uint32_t tag;

	memcpy(&tag, e, sizeof(tag));
	return tag;
}

/* hash_init - an empty table of entries of size entsize (a struct that
 * begins with HASH_ENTRY), with room for n of them before it grows; -1
 * when out of memory.  Every other call wants an initialized table. */
int	hash_init(struct hash *, size_t entsize, size_t n);
/* hash_fini - release the entries; the table is all zero again (and a
 * table that is all zero may be released) */
void	hash_fini(struct hash *);
/* hash_clear - forget every entry, keeping the memory */
void	hash_clear(struct hash *);
size_t	hash_count(const struct hash *);
/* hash_find - the entry under hash h that eq says holds key, or NULL;
 * eq is only called where the tag matches */
static inline void *
hash_find(const struct hash *t, uint64_t h, hash_eq eq, const void *ctx,
    const void *key)
{
	uint32_t tag = hash_tag(h), et;
	size_t i = tag & t->mask;
	char *e;

	for (;; i = (i + 1) & t->mask) {
		e = t->s + i * t->esize;
		if ((et = hash_tag_at(e)) == 0)
			return NULL;
		if (et == tag && eq(ctx, e, key))
			return e;
	}
}
/* hash_insert - a new entry under h, zeroed but for its tag, for the
 * caller to fill; the caller knows the key is not there yet.  NULL when
 * the table must grow and cannot (ENOMEM), or is as large as it can be
 * (ENOSPC). */
void	*hash_insert(struct hash *, uint64_t h);
/* hash_remove - take out entry (from hash_find, hash_insert or
 * hash_next, with no change to the table since) */
void	hash_remove(struct hash *, void *entry);
/* hash_next - walk: the next entry after *pos (start at 0), or NULL at
 * the end; the table must not change during a walk */
void	*hash_next(const struct hash *, size_t *pos);

#endif
