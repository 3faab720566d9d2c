/*
 * hash - the one hash table every cache uses (flows, accounts, live
 * counts, alerts, group-commit batches) and the one mixer behind it.
 *
 * The table is an index, not a container: it maps a 64-bit hash to a
 * 32-bit reference the caller chose (a "ref", never 0; in practice a
 * position + 1 in the caller's own array), and a callback tells whether
 * the object behind a ref holds the key looked for.  Why this shape:
 *   - the caller keeps its objects where its other walks want them: the
 *     flows dense in one array (expiry walks it with a cursor), accounts
 *     in a vector whose pointers outlive a reload;
 *   - open addressing with linear probing over 8-byte slots (ref and 32
 *     bits of the hash): a probe reads neighbouring slots of one or two
 *     cache lines, where a chained table chases a pointer per entry, and
 *     1M flows cost 16 MB of index with no allocation per entry;
 *   - the 32 stored bits decide both the slot's home and, on lookup,
 *     whether the object is worth touching: the callback runs about once
 *     per lookup, and growing or deleting never needs a key again;
 *   - deletion shifts the cluster back instead of leaving tombstones, so
 *     probe chains stay short however long the daemon runs;
 *   - at most 3/4 full; a table made with hash_new(n) allocates nothing
 *     more until it holds more than n entries (the kernel path sizes its
 *     tables at start-up and never allocates after).
 * The same ref may be stored under several hashes (never twice under the
 * same one), so one object can sit in several tables.
 *
 * Trusts: callers to pass well-mixed hashes (hash_u64, hash_str), seeded
 * when an outsider chooses the keys, and to keep refs and objects in
 * step.  Pure: no I/O, no clock.
 */
#ifndef MAILGOV_HASH_H
#define MAILGOV_HASH_H

#include <stddef.h>
#include <stdint.h>

struct hash;

/* hash_eq - does the object behind ref hold key; ctx is the caller's */
typedef int	(*hash_eq)(const void *ctx, uint32_t ref, const void *key);

/* hash_u64 - mix 64 bits (splitmix64's finalizer); chain calls to hash
 * wider keys, with a seed in the first when keys come from outside */
uint64_t hash_u64(uint64_t);
/* hash_str - hash a NUL-terminated string */
uint64_t hash_str(const char *);

/* hash_new - an empty table with room for n entries before it grows;
 * NULL when out of memory */
struct hash *hash_new(size_t n);
void	hash_free(struct hash *);
/* hash_clear - forget every entry, keeping the memory */
void	hash_clear(struct hash *);
size_t	hash_count(const struct hash *);
/* hash_find - the ref stored under h whose object eq says holds key; 0
 * when none does */
uint32_t hash_find(const struct hash *, uint64_t h, hash_eq,
	    const void *ctx, const void *key);
/* hash_add - store ref (not 0) under h; the caller knows it is not there
 * yet.  -1 when the table must grow and cannot (ENOMEM), or is as large
 * as it can be (ENOSPC). */
int	hash_add(struct hash *, uint64_t h, uint32_t ref);
/* hash_del - remove ref stored under h; -1 (ENOENT) when it is not */
int	hash_del(struct hash *, uint64_t h, uint32_t ref);
/* hash_move - ref from, stored under h, becomes to (its object moved in
 * the caller's array); -1 (ENOENT) when from is not there */
int	hash_move(struct hash *, uint64_t h, uint32_t from, uint32_t to);
/* hash_next - walk: the next ref after *pos (start at 0), or 0 at the
 * end; the table must not change during a walk */
uint32_t hash_next(const struct hash *, size_t *pos);

#endif
