/*
 * test_hash - the generic hash table: lookups through the caller's eq,
 * full collisions (one hash for many keys), deletion in the middle of a
 * cluster that wraps past the last slot, growth, moves, clearing, a walk
 * that sees each entry once, and a long random run checked against a
 * plain array.  Hashes are made by hand (tag << 32) where the test needs
 * to know which slot an entry calls home: a table for up to 12 entries
 * has 16 slots, and the home is the tag's low 4 bits.
 */
#include <errno.h>
#include <stdlib.h>

#include "hash.h"
#include "t.h"

#define NOBJ	4096

/* objects live in the test's array; ref = position + 1 */
static uint64_t	keys[NOBJ + 1];

/* key_eq - the object behind ref holds *key */
static int
key_eq(const void *ctx, uint32_t ref, const void *key)
{
	const uint64_t *k = ctx;

	return k[ref] == *(const uint64_t *)key;
}

/* find - the ref holding key under h, or 0 */
static uint32_t
find(struct hash *t, uint64_t h, uint64_t key)
{
	return hash_find(t, h, key_eq, keys, &key);
}

/* at - a hash whose home in a 16-slot table is slot home */
static uint64_t
at(uint32_t home, uint32_t high)
{
	return (uint64_t)(high << 4 | home) << 32;
}

static void
test_basic(void)
{
	struct hash *t = hash_new(8);
	uint32_t r;

	T_OK(t != NULL, "hash_new");
	T_EQ_U(hash_count(t), 0, "new table is empty");
	keys[1] = 100;
	keys[2] = 200;
	T_EQ_U(find(t, hash_u64(100), 100), 0, "absent key: 0");
	T_EQ_U(hash_add(t, hash_u64(100), 1), 0, "add 100");
	T_EQ_U(hash_add(t, hash_u64(200), 2), 0, "add 200");
	T_EQ_U(find(t, hash_u64(100), 100), 1, "100 found");
	T_EQ_U(find(t, hash_u64(200), 200), 2, "200 found");
	T_EQ_U(find(t, hash_u64(300), 300), 0, "300 not found");
	T_EQ_U(hash_count(t), 2, "two entries");
	T_OK(hash_add(t, 5, 0) == -1 && errno == EINVAL, "ref 0 refused");
	T_OK(hash_del(t, hash_u64(300), 3) == -1 && errno == ENOENT,
	    "deleting what is not there: ENOENT");
	T_OK(hash_del(t, hash_u64(100), 2) == -1,
	    "a ref under another key's hash is not deleted");
	T_EQ_U(hash_del(t, hash_u64(100), 1), 0, "delete 100");
	T_EQ_U(find(t, hash_u64(100), 100), 0, "100 gone");
	T_EQ_U(find(t, hash_u64(200), 200), 2, "200 still there");
	/* the object moves from position 2 to position 7 */
	keys[7] = 200;
	T_EQ_U(hash_move(t, hash_u64(200), 2, 7), 0, "move 2 -> 7");
	keys[2] = 0;
	r = find(t, hash_u64(200), 200);
	T_EQ_U(r, 7, "found at its new ref");
	T_OK(hash_move(t, hash_u64(200), 2, 8) == -1, "moving a stale ref");
	hash_clear(t);
	T_EQ_U(hash_count(t), 0, "cleared");
	T_EQ_U(find(t, hash_u64(200), 200), 0, "nothing after a clear");
	T_EQ_U(hash_add(t, hash_u64(200), 7), 0, "usable after a clear");
	T_EQ_U(find(t, hash_u64(200), 200), 7, "and found");
	hash_free(t);
	hash_free(NULL);
}

/* every key under the very same hash: eq alone tells them apart */
static void
test_full_collision(void)
{
	struct hash *t = hash_new(12);
	uint64_t h = at(3, 77);
	uint32_t i, bad = 0;

	for (i = 1; i <= 12; i++) {
		keys[i] = 1000 + i;
		if (hash_add(t, h, i) != 0)
			bad++;
	}
	T_EQ_U(bad, 0, "12 keys under one hash");
	for (i = 1; i <= 12; i++)
		if (find(t, h, 1000 + i) != i)
			bad++;
	T_EQ_U(bad, 0, "each found by its key");
	T_EQ_U(find(t, h, 999), 0, "an absent key under the same hash");
	/* delete from the middle of the cluster, then the front */
	T_EQ_U(hash_del(t, h, 6), 0, "delete the 6th");
	T_EQ_U(hash_del(t, h, 1), 0, "delete the 1st");
	for (i = 1; i <= 12; i++)
		if (find(t, h, 1000 + i) != (i == 1 || i == 6 ? 0 : i))
			bad++;
	T_EQ_U(bad, 0, "the others still found after two deletions");
	T_EQ_U(hash_count(t), 10, "ten left");
	hash_free(t);
}

/*
 * A cluster that wraps: entries whose homes are 14 and 15 run into slots
 * 0.. where entries of home 0 and 1 live.  Deleting near the end must
 * pull back only what may move: an entry never ends up before its home.
 */
static void
test_wrap(void)
{
	struct hash *t = hash_new(12);
	static const uint32_t home[] = { 14, 14, 15, 0, 15, 1, 0, 14 };
	uint32_t i, n = sizeof(home) / sizeof(home[0]), bad, del;

	for (del = 1; del <= n; del++) {
		hash_clear(t);
		for (i = 1; i <= n; i++) {
			keys[i] = 500 + i;
			(void)hash_add(t, at(home[i - 1], i), i);
		}
		if (hash_del(t, at(home[del - 1], del), del) != 0) {
			T_OK(0, "wrap: delete %u failed", del);
			continue;
		}
		for (i = 1, bad = 0; i <= n; i++)
			if (find(t, at(home[i - 1], i), 500 + i) !=
			    (i == del ? 0 : i))
				bad++;
		T_OK(bad == 0, "wrapped cluster, entry %u deleted: %u of "
		    "the others lost", del, bad);
	}
	hash_free(t);
}

/* hash_new(0) still works, and a table grows past what it was made for */
static void
test_growth(void)
{
	struct hash *t = hash_new(0);
	uint32_t i, bad = 0;

	for (i = 1; i <= NOBJ; i++) {
		keys[i] = (uint64_t)i * 7919;
		if (hash_add(t, hash_u64(keys[i]), i) != 0)
			bad++;
	}
	T_EQ_U(bad, 0, "4096 adds into a table made for none");
	T_EQ_U(hash_count(t), NOBJ, "count after growing");
	for (i = 1; i <= NOBJ; i++)
		if (find(t, hash_u64(keys[i]), keys[i]) != i)
			bad++;
	T_EQ_U(bad, 0, "every key found after growing");
	for (i = 1; i <= NOBJ; i += 2)
		if (hash_del(t, hash_u64(keys[i]), i) != 0)
			bad++;
	for (i = 1; i <= NOBJ; i++)
		if (find(t, hash_u64(keys[i]), keys[i]) != (i % 2 ? 0 : i))
			bad++;
	T_EQ_U(bad, 0, "half deleted: the other half still found");
	hash_free(t);
}

/* a walk visits every stored ref exactly once */
static void
test_walk(void)
{
	struct hash *t = hash_new(0);
	static unsigned char seen[NOBJ + 1];
	uint32_t i, r, twice = 0, wrong = 0, n = 0;
	size_t pos = 0;

	memset(seen, 0, sizeof(seen));
	for (i = 1; i <= 1000; i++) {
		keys[i] = i;
		(void)hash_add(t, hash_u64(i), i);
	}
	for (i = 1; i <= 1000; i += 3)
		(void)hash_del(t, hash_u64(i), i);
	while ((r = hash_next(t, &pos)) != 0) {
		n++;
		if (r > 1000 || (r - 1) % 3 == 0)
			wrong++;
		else if (seen[r]++)
			twice++;
	}
	T_EQ_U(n, hash_count(t), "the walk sees hash_count entries");
	T_EQ_U(wrong, 0, "no deleted or unknown ref walked");
	T_EQ_U(twice, 0, "no ref walked twice");
	T_EQ_U(hash_next(t, &pos), 0, "the end stays the end");
	hash_clear(t);
	pos = 0;
	T_EQ_U(hash_next(t, &pos), 0, "an empty table walks nothing");
	hash_free(t);
}

/*
 * A long random run against a plain array: adds, deletions and moves of
 * keys drawn from a small range with only 64 distinct hashes, so that
 * clusters are long, collide and wrap.
 */
static void
test_random(void)
{
	struct hash *t = hash_new(16);
	static uint32_t ref_of[512];	/* key -> ref, 0 absent */
	uint64_t rng = 0x853c49e6748fea9bULL, k;
	uint32_t n = 0, r, last, step, bad = 0;

	memset(ref_of, 0, sizeof(ref_of));
#define KH(k)	((hash_u64((k) % 64) & 0xffffffff00000000ULL) | (k))
	for (step = 0; step < 200000 && bad == 0; step++) {
		rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
		k = (rng >> 33) % 512;
		r = find(t, KH(k), k);
		if (r != ref_of[k]) {
			bad++;
			break;
		}
		if (r == 0 && n < NOBJ) {
			keys[++n] = k;
			if (hash_add(t, KH(k), n) != 0)
				bad++;
			ref_of[k] = n;
		} else if (r != 0) {
			/* delete, keeping the array dense as flow.c does */
			if (hash_del(t, KH(k), r) != 0)
				bad++;
			ref_of[k] = 0;
			last = n--;
			if (r != last) {
				if (hash_move(t, KH(keys[last]), last, r) != 0)
					bad++;
				keys[r] = keys[last];
				ref_of[keys[r]] = r;
			}
		}
		if (hash_count(t) != n)
			bad++;
	}
#undef KH
	T_OK(bad == 0, "200000 random operations agree with an array "
	    "(stopped at step %u)", step);
	hash_free(t);
}

/* dense keys (UIDs) land on many different homes */
static void
test_mix(void)
{
	static unsigned char home[1024];
	uint32_t i, used = 0;

	memset(home, 0, sizeof(home));
	for (i = 0; i < 1024; i++)
		home[(hash_u64(i) >> 32) & 1023] = 1;
	for (i = 0; i < 1024; i++)
		used += home[i];
	T_OK(used > 600, "1024 dense keys use %u of 1024 homes (want > "
	    "600, as random would: ~647)", used);
	T_OK(hash_str("user1") != hash_str("user2") &&
	    hash_str("") != hash_str("a"), "strings hash apart");
}

int
main(void)
{
	test_basic();
	test_full_collision();
	test_wrap();
	test_growth();
	test_walk();
	test_random();
	test_mix();
	return t_done();
}
