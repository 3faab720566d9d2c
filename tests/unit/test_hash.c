/*
 * test_hash - the generic hash table: lookups through the caller's eq,
 * full collisions (one hash for many keys), deletion in the middle of a
 * cluster that wraps past the last slot, growth that keeps every entry's
 * fields, clearing, a walk that sees each entry once, and a long random
 * run checked against a plain array.  Hashes are made by hand (tag << 32)
 * where the test needs to know which slot an entry calls home: a table
 * for up to 12 entries has 16 slots, and the home is the tag's low 4
 * bits.
 */
#include <errno.h>
#include <stdlib.h>

#include "hash.h"
#include "t.h"

struct ent {
	HASH_ENTRY;
	uint32_t	val;
	uint64_t	key;
};

/* key_eq - the entry holds *key */
static int
key_eq(const void *ctx, const void *e, const void *key)
{
	(void)ctx;
	return ((const struct ent *)e)->key == *(const uint64_t *)key;
}

/* table - tab made for n entries, or the test stops */
static struct hash *
table(struct hash *tab, size_t n)
{
	if (hash_init(tab, sizeof(struct ent), n) == -1) {
		printf("not ok - hash_init(%zu): %s\n", n, strerror(errno));
		exit(1);
	}
	return tab;
}

/* find - the entry holding key under h, or NULL */
static struct ent *
find(struct hash *t, uint64_t h, uint64_t key)
{
	return hash_find(t, h, key_eq, NULL, &key);
}

/* val - the value stored for key under h, 0 when absent */
static uint32_t
val(struct hash *t, uint64_t h, uint64_t key)
{
	struct ent *e = find(t, h, key);

	return e != NULL ? e->val : 0;
}

/* put - a new entry key -> v under h; 0 or -1 */
static int
put(struct hash *t, uint64_t h, uint64_t key, uint32_t v)
{
	struct ent *e = hash_insert(t, h);

	if (e == NULL)
		return -1;
	if (e->val != 0 || e->key != 0)
		return -1;	/* a new entry must come zeroed */
	e->key = key;
	e->val = v;
	return 0;
}

/* del - take key out; 0 or -1 when it was not there */
static int
del(struct hash *t, uint64_t h, uint64_t key)
{
	struct ent *e = find(t, h, key);

	if (e == NULL)
		return -1;
	hash_remove(t, e);
	return 0;
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
	struct hash tab, *t = table(&tab, 8);

	struct hash bad;

	T_OK(hash_init(&bad, 3, 8) == -1 && errno == EINVAL,
	    "an entry too small for its tag is refused");
	T_EQ_U(hash_count(t), 0, "new table is empty");
	T_EQ_U(val(t, hash_u64(100), 100), 0, "absent key: not found");
	T_EQ_U(put(t, hash_u64(100), 100, 1), 0, "add 100 (new entry zeroed)");
	T_EQ_U(put(t, hash_u64(200), 200, 2), 0, "add 200");
	T_EQ_U(val(t, hash_u64(100), 100), 1, "100 found");
	T_EQ_U(val(t, hash_u64(200), 200), 2, "200 found");
	T_EQ_U(val(t, hash_u64(300), 300), 0, "300 not found");
	T_EQ_U(val(t, hash_u64(300), 100), 0,
	    "a key under another key's hash is not found");
	T_EQ_U(hash_count(t), 2, "two entries");
	T_EQ_U(del(t, hash_u64(100), 100), 0, "delete 100");
	T_EQ_U(val(t, hash_u64(100), 100), 0, "100 gone");
	T_EQ_U(val(t, hash_u64(200), 200), 2, "200 still there");
	T_EQ_U(hash_count(t), 1, "one entry");
	hash_clear(t);
	T_EQ_U(hash_count(t), 0, "cleared");
	T_EQ_U(val(t, hash_u64(200), 200), 0, "nothing after a clear");
	T_EQ_U(put(t, hash_u64(200), 200, 7), 0, "usable after a clear");
	T_EQ_U(val(t, hash_u64(200), 200), 7, "and found");
	/* a hash whose tag bits are 0, beside one whose tag is 1 */
	T_EQ_U(put(t, 5, 5, 50), 0, "add under a hash with no tag bits");
	T_EQ_U(put(t, (uint64_t)1 << 32, 6, 60), 0, "add under tag 1");
	T_OK(val(t, 5, 5) == 50 && val(t, (uint64_t)1 << 32, 6) == 60,
	    "both found");
	hash_fini(t);
	T_OK(tab.s == NULL && tab.n == 0, "released: all zero");
	hash_fini(t);
}

/* every key under the very same hash: eq alone tells them apart */
static void
test_full_collision(void)
{
	struct hash tab, *t = table(&tab, 12);
	uint64_t h = at(3, 77);
	uint32_t i, bad = 0;

	for (i = 1; i <= 12; i++)
		if (put(t, h, 1000 + i, i) != 0)
			bad++;
	T_EQ_U(bad, 0, "12 keys under one hash");
	for (i = 1; i <= 12; i++)
		if (val(t, h, 1000 + i) != i)
			bad++;
	T_EQ_U(bad, 0, "each found by its key");
	T_EQ_U(val(t, h, 999), 0, "an absent key under the same hash");
	/* delete from the middle of the cluster, then the front */
	T_EQ_U(del(t, h, 1006), 0, "delete the 6th");
	T_EQ_U(del(t, h, 1001), 0, "delete the 1st");
	for (i = 1; i <= 12; i++)
		if (val(t, h, 1000 + i) != (i == 1 || i == 6 ? 0 : i))
			bad++;
	T_EQ_U(bad, 0, "the others still found after two deletions");
	T_EQ_U(hash_count(t), 10, "ten left");
	hash_fini(t);
}

/*
 * A cluster that wraps: entries whose homes are 14 and 15 run into slots
 * 0.. where entries of home 0 and 1 live.  Deleting near the end must
 * pull back only what may move: an entry never ends up before its home.
 */
static void
test_wrap(void)
{
	struct hash tab, *t = table(&tab, 12);
	static const uint32_t home[] = { 14, 14, 15, 0, 15, 1, 0, 14 };
	uint32_t i, n = sizeof(home) / sizeof(home[0]), bad, d;

	for (d = 1; d <= n; d++) {
		hash_clear(t);
		for (i = 1; i <= n; i++)
			(void)put(t, at(home[i - 1], i), 500 + i, i);
		if (del(t, at(home[d - 1], d), 500 + d) != 0) {
			T_OK(0, "wrap: delete %u failed", d);
			continue;
		}
		for (i = 1, bad = 0; i <= n; i++)
			if (val(t, at(home[i - 1], i), 500 + i) !=
			    (i == d ? 0 : i))
				bad++;
		T_OK(bad == 0, "wrapped cluster, entry %u deleted: %u of "
		    "the others lost", d, bad);
	}
	hash_fini(t);
}

/* a table made for none grows, and every entry keeps its fields */
static void
test_growth(void)
{
	struct hash tab, *t = table(&tab, 0);
	uint32_t i, bad = 0;
	uint64_t k;

	for (i = 1; i <= 4096; i++) {
		k = (uint64_t)i * 7919;
		if (put(t, hash_u64(k), k, i) != 0)
			bad++;
	}
	T_EQ_U(bad, 0, "4096 adds into a table made for none");
	T_EQ_U(hash_count(t), 4096, "count after growing");
	for (i = 1; i <= 4096; i++) {
		k = (uint64_t)i * 7919;
		if (val(t, hash_u64(k), k) != i)
			bad++;
	}
	T_EQ_U(bad, 0, "every key found with its value after growing");
	for (i = 1; i <= 4096; i += 2) {
		k = (uint64_t)i * 7919;
		if (del(t, hash_u64(k), k) != 0)
			bad++;
	}
	for (i = 1; i <= 4096; i++) {
		k = (uint64_t)i * 7919;
		if (val(t, hash_u64(k), k) != (i % 2 ? 0 : i))
			bad++;
	}
	T_EQ_U(bad, 0, "half deleted: the other half still found");
	hash_fini(t);
}

/* a walk visits every stored entry exactly once */
static void
test_walk(void)
{
	struct hash tab, *t = table(&tab, 0);
	static unsigned char seen[1001];
	uint32_t i, twice = 0, wrong = 0, n = 0;
	struct ent *e;
	size_t pos = 0;

	memset(seen, 0, sizeof(seen));
	for (i = 1; i <= 1000; i++)
		(void)put(t, hash_u64(i), i, i);
	for (i = 1; i <= 1000; i += 3)
		(void)del(t, hash_u64(i), i);
	while ((e = hash_next(t, &pos)) != NULL) {
		n++;
		if (e->key > 1000 || (e->key - 1) % 3 == 0 || e->val != e->key)
			wrong++;
		else if (seen[e->key]++)
			twice++;
	}
	T_EQ_U(n, hash_count(t), "the walk sees hash_count entries");
	T_EQ_U(n, 666, "and that is 1000 less the 334 deleted");
	T_EQ_U(wrong, 0, "no deleted, unknown or garbled entry walked");
	T_EQ_U(twice, 0, "no entry walked twice");
	T_OK(hash_next(t, &pos) == NULL, "the end stays the end");
	hash_clear(t);
	pos = 0;
	T_OK(hash_next(t, &pos) == NULL, "an empty table walks nothing");
	hash_fini(t);
}

/*
 * A long random run against a plain array: adds and deletions of keys
 * drawn from a small range with only 64 distinct hashes, so that clusters
 * are long, collide and wrap.
 */
static void
test_random(void)
{
	struct hash tab, *t = table(&tab, 16);
	static uint32_t model[512];	/* key -> value, 0 absent */
	uint64_t rng = 0x853c49e6748fea9bULL, k;
	uint32_t n = 0, step, bad = 0, v;

	memset(model, 0, sizeof(model));
#define KH(k)	((hash_u64((k) % 64) & 0xffffffff00000000ULL) | (k))
	for (step = 0; step < 200000 && bad == 0; step++) {
		rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
		k = (rng >> 33) % 512;
		if ((v = val(t, KH(k), k)) != model[k]) {
			bad++;
			break;
		}
		if (v == 0) {
			if (put(t, KH(k), k, (uint32_t)step + 1) != 0)
				bad++;
			model[k] = step + 1;
			n++;
		} else {
			if (del(t, KH(k), k) != 0)
				bad++;
			model[k] = 0;
			n--;
		}
		if (hash_count(t) != n)
			bad++;
	}
#undef KH
	T_OK(bad == 0, "200000 random operations agree with an array "
	    "(stopped at step %u)", step);
	hash_fini(t);
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
