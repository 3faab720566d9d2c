/*
 * test_flow - the flow table: insert, lookup, replace, expiry, deletion
 * with backward shift (lookups still work after deleting from the middle
 * of a probe cluster), a full table, each UID's share of it, and 1M
 * flows.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "flow.h"
#include "t.h"

/* mk - a flow from 10.x.y.z:port, expiring at exp */
static struct flow
mk(uint32_t ip, uint16_t port, uint64_t exp)
{
	struct flow f;

	memset(&f, 0, sizeof(f));
	f.key.family = AF_INET;
	ip = htonl(ip);
	memcpy(f.key.addr, &ip, 4);
	f.key.port = port;
	f.uid = port;
	f.account = (int64_t)ip;
	f.expires = exp;
	f.dport = 25;
	return f;
}

/* present - how many of flows [0, n) made by mk(base + i) are found */
static size_t
present(struct flows *t, uint32_t base, size_t n, uint64_t now)
{
	struct flow f, *g;
	size_t i, found = 0;

	for (i = 0; i < n; i++) {
		f = mk(base + (uint32_t)i, (uint16_t)(1000 + i % 50000), 0);
		g = flow_get(t, &f.key, now);
		if (g != NULL && g->uid == f.uid)
			found++;
	}
	return found;
}

static void
test_basic(void)
{
	struct flows *t = flow_new(100);
	struct flow f = mk(0x0a000001, 40000, 100), *g;
	struct flow_key k;

	T_OK(t != NULL, "flow_new(100)");
	T_EQ_U(flow_put(t, &f, 10), 0, "put");
	T_EQ_U(flow_count(t), 1, "count after put");
	g = flow_get(t, &f.key, 10);
	T_OK(g != NULL && g->uid == 40000, "get finds the flow");
	T_OK(flow_get(t, &f.key, 100) == NULL, "get at expiry: gone");

	/* replace keeps the count */
	f.uid = 7;
	T_EQ_U(flow_put(t, &f, 10), 0, "replace");
	T_EQ_U(flow_count(t), 1, "count after replace");
	g = flow_get(t, &f.key, 10);
	T_OK(g != NULL && g->uid == 7, "replace updated the flow");

	/* garbage past the IPv4 bytes does not change the key */
	memset(f.key.addr + 4, 0xaa, 12);
	T_OK(flow_get(t, &f.key, 10) != NULL, "key normalized");

	T_EQ_U(flow_key_from(&k, "10.0.0.1", 40000), 0, "key_from v4");
	T_OK(flow_get(t, &k, 10) != NULL, "key_from finds the flow");
	T_EQ_U(flow_key_from(&k, "::ffff:10.0.0.1", 40000), 0,
	    "key_from v4-mapped");
	T_OK(flow_get(t, &k, 10) != NULL, "v4-mapped finds the v4 flow");
	T_EQ_U(flow_key_from(&k, "2001:db8::1", 25), 0, "key_from v6");
	T_EQ_U(k.family, AF_INET6, "v6 family");
	T_OK(flow_key_from(&k, "nonsense", 25) == -1, "key_from rejects");
	T_OK(flow_get(t, &k, 10) == NULL, "v6 key absent");

	T_EQ_U(flow_del(t, &f.key), 0, "del");
	T_OK(flow_del(t, &f.key) == -1, "del twice fails");
	T_EQ_U(flow_count(t), 0, "count after del");
	T_OK(flow_new(0) == NULL, "flow_new(0) refused");
	flow_free(t);
}

/* Deleting from inside a probe cluster must keep the rest findable. */
static void
test_backward_shift(void)
{
	struct flows *t = flow_new(3000);
	struct flow f;
	size_t i, ok = 1;

	for (i = 0; i < 3000; i++) {
		f = mk(0x0a000000 + (uint32_t)i, (uint16_t)(1000 + i), 1000);
		if (flow_put(t, &f, 1) != 0)
			ok = 0;
	}
	T_OK(ok, "3000 puts into a 3000 table");
	T_EQ_U(present(t, 0x0a000000, 3000, 1), 3000, "all found");
	/* delete every third flow */
	for (i = 0; i < 3000; i += 3) {
		f = mk(0x0a000000 + (uint32_t)i, (uint16_t)(1000 + i), 0);
		if (flow_del(t, &f.key) != 0)
			ok = 0;
	}
	T_OK(ok, "deletes succeed");
	T_EQ_U(flow_count(t), 2000, "count after deletes");
	ok = 1;
	for (i = 0; i < 3000; i++) {
		f = mk(0x0a000000 + (uint32_t)i, (uint16_t)(1000 + i), 0);
		if ((flow_get(t, &f.key, 1) != NULL) != (i % 3 != 0))
			ok = 0;
	}
	T_OK(ok, "survivors found, deleted ones gone");
	flow_free(t);
}

static int
count_cb(const struct flow *f, void *arg)
{
	(void)f;
	(*(size_t *)arg)++;
	return 0;
}

static void
test_expire_and_full(void)
{
	struct flows *t = flow_new(10);
	struct flow f;
	size_t i, n = 0;

	for (i = 0; i < 10; i++) {
		f = mk(0x0a000000 + (uint32_t)i, 5000, i < 5 ? 50 : 500);
		flow_put(t, &f, 1);
	}
	f = mk(0x0b000000, 5000, 500);
	T_OK(flow_put(t, &f, 10) == -1, "full table, nothing expired: -1");
	T_OK(flow_put(t, &f, 20) == -1, "still full before next expiry");
	T_EQ_U(flow_put(t, &f, 60), 0, "full table reclaims expired");
	T_EQ_U(flow_count(t), 6, "five reclaimed, one added");
	flow_each(t, count_cb, &n);
	T_EQ_U(n, 6, "flow_each visits every flow");
	T_EQ_U(flow_expire(t, 1000, 2), 2, "expire honours its budget");
	T_EQ_U(flow_expire(t, 1000, 100), 4, "expire drops the rest");
	T_EQ_U(flow_count(t), 0, "empty after expiry");
	T_EQ_U(flow_expire(t, 1000, 100), 0, "expire on empty");
	flow_free(t);
}

/* uid_flow - a flow of uid from 127.x.y.z:port, i picking x.y.z and port
 * as an attacker binding every loopback address would */
static struct flow
uid_flow(uint32_t uid, uint32_t i, uint64_t exp)
{
	struct flow f = mk(0x7f000000 + (i >> 8 & 0xffffff),
	    (uint16_t)(1024 + (i & 0xff)), exp);

	f.uid = uid;
	return f;
}

static void
test_share_defaults(void)
{
	struct flows *t = flow_new(1024);

	T_EQ_U(flow_uid_default(1048576), 16384, "1M flows: 1/64 each");
	T_EQ_U(flow_uid_default(1024), 64, "1024 flows: at least 64");
	T_EQ_U(flow_uid_default(10), 10, "10 flows: no more than the table");
	T_EQ_U(flow_uid_max(t), 64, "flow_new takes the default");
	flow_set_uid_max(t, 100);
	T_EQ_U(flow_uid_max(t), 100, "set");
	flow_set_uid_max(t, 5000);
	T_EQ_U(flow_uid_max(t), 1024, "set: no more than the table");
	flow_set_uid_max(t, 0);
	T_EQ_U(flow_uid_max(t), 64, "0: back to the default");
	flow_free(t);
}

/* One web user binds thousands of 127.x.y.z addresses and ports: it gets
 * its share, and another UID's flow still goes in and is found. */
static void
test_share_attack(void)
{
	struct flows *t = flow_new(1024);
	struct flow f, *g;
	uint32_t i;
	size_t stored = 0, quota = 0;

	for (i = 0; i < 20000; i++) {
		f = uid_flow(64001, i, 1000);
		if (flow_put(t, &f, 1) == 0)
			stored++;
		else if (errno == EDQUOT)
			quota++;
	}
	T_EQ_U(stored, 64, "the attacker stores its share");
	T_EQ_U(quota, 20000 - 64, "every other put: EDQUOT");
	T_EQ_U(flow_uid_count(t, 64001), 64, "its count");
	T_EQ_U(flow_count(t), 64, "the table holds its share only");
	f = mk(0xc0000201, 40000, 1000);
	f.uid = 64002;
	T_EQ_U(flow_put(t, &f, 1), 0, "the victim's flow goes in");
	g = flow_get(t, &f.key, 1);
	T_OK(g != NULL && g->uid == 64002, "and is found with its UID");
	T_EQ_U(flow_uid_count(t, 64002), 1, "victim's count");
	T_EQ_U(flow_uid_count(t, 64003), 0, "a UID with no flow");
	flow_free(t);
}

/* Deleting, expiring and replacing give the share back. */
static void
test_share_returns(void)
{
	struct flows *t = flow_new(1024);
	struct flow f;
	uint32_t i;

	for (i = 0; i < 64; i++) {
		f = uid_flow(7, i, i < 10 ? 50 : 1000);
		T_OK(flow_put(t, &f, 1) == 0, "put %u", i);
	}
	f = uid_flow(7, 64, 1000);
	T_OK(flow_put(t, &f, 1) == -1 && errno == EDQUOT, "65th: EDQUOT");
	f = uid_flow(7, 3, 0);
	T_EQ_U(flow_del(t, &f.key), 0, "del one");
	T_EQ_U(flow_uid_count(t, 7), 63, "count after del");
	f = uid_flow(7, 64, 1000);
	T_EQ_U(flow_put(t, &f, 1), 0, "the freed place is used");
	f = uid_flow(7, 65, 1000);
	T_OK(flow_put(t, &f, 1) == -1, "at the share again");
	/* nine of its flows expired at 50: a put at 60 reclaims them */
	T_EQ_U(flow_put(t, &f, 60), 0, "expired flows give their places back");
	T_EQ_U(flow_uid_count(t, 7), 64 - 9 + 1, "count after the reclaim");
	T_EQ_U(flow_expire(t, 2000, 1000), 56, "expire all");
	T_EQ_U(flow_uid_count(t, 7), 0, "count after expiry");

	/* a key re-bound by another UID moves the flow to that UID */
	f = uid_flow(8, 1, 1000);
	T_EQ_U(flow_put(t, &f, 1), 0, "uid 8");
	f.uid = 9;
	T_EQ_U(flow_put(t, &f, 1), 0, "same key, uid 9");
	T_EQ_U(flow_uid_count(t, 8), 0, "uid 8 lost it");
	T_EQ_U(flow_uid_count(t, 9), 1, "uid 9 has it");
	/* ... unless that UID is at its share */
	flow_set_uid_max(t, 1);
	f = uid_flow(10, 2, 1000);
	T_EQ_U(flow_put(t, &f, 1), 0, "uid 10");
	f = uid_flow(10, 1, 1000);
	T_OK(flow_put(t, &f, 1) == -1 && errno == EDQUOT,
	    "uid 10 at its share cannot take uid 9's key");
	T_EQ_U(flow_get(t, &f.key, 1)->uid, 9, "uid 9 keeps it");
	flow_free(t);
}

/* The per-UID counts stay exact through many inserts and deletions of
 * many UIDs (backward shift in the UID index too). */
static void
test_share_counts(void)
{
	enum { N = 3000, U = 97 };
	struct flows *t = flow_new(N);
	size_t want[U], i, bad = 0;
	struct flow f;

	memset(want, 0, sizeof(want));
	flow_set_uid_max(t, N);
	for (i = 0; i < N; i++) {
		f = uid_flow((uint32_t)(i % U) * 1000003u, (uint32_t)i, 1000);
		if (flow_put(t, &f, 1) == 0)
			want[i % U]++;
	}
	for (i = 0; i < N; i += 2) {
		f = uid_flow((uint32_t)(i % U) * 1000003u, (uint32_t)i, 1000);
		if (flow_del(t, &f.key) == 0)
			want[i % U]--;
	}
	for (i = 0; i < U; i++)
		if (flow_uid_count(t, (uint32_t)i * 1000003u) != want[i])
			bad++;
	T_EQ_U(bad, 0, "every UID's count right after deletions");
	T_EQ_U(flow_expire(t, 5000, N), N / 2, "expire the rest");
	for (i = 0, bad = 0; i < U; i++)
		if (flow_uid_count(t, (uint32_t)i * 1000003u) != 0)
			bad++;
	T_EQ_U(bad, 0, "every count back to 0");
	flow_free(t);
}

static double
secs(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
test_million(void)
{
	const size_t N = 1000000;
	struct flows *t = flow_new(N);
	struct flow f;
	double t0, t1, t2;
	size_t i, fails = 0;

	T_OK(t != NULL, "flow_new(1M)");
	if (t == NULL)
		return;
	t0 = secs();
	for (i = 0; i < N; i++) {
		f = mk(0x0a000000 + (uint32_t)i, (uint16_t)(1000 + i % 50000),
		    1000);
		if (flow_put(t, &f, 1) != 0)
			fails++;
	}
	t1 = secs();
	T_EQ_U(fails, 0, "1M puts");
	T_EQ_U(present(t, 0x0a000000, N, 1), N, "1M lookups");
	t2 = secs();
	printf("# 1M inserts %.3f s, 1M lookups %.3f s\n", t1 - t0, t2 - t1);
	f = mk(0x0c000000, 1, 1000);
	T_OK(flow_put(t, &f, 1) == -1, "1M+1th refused");
	T_EQ_U(flow_expire(t, 2000, N), N, "1M expired");
	flow_free(t);
}

int
main(void)
{
	test_basic();
	test_backward_shift();
	test_expire_and_full();
	test_share_defaults();
	test_share_attack();
	test_share_returns();
	test_share_counts();
	test_million();
	return t_done();
}
