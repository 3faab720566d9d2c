/*
 * test_live - each account's count of live connections: a census resets
 * every count, admissions add to it, the table grows past its first size,
 * and a census on demand is allowed only every LIVE_RECOUNT_US.
 */
#include <stdlib.h>

#include "live.h"
#include "t.h"

static void
test_counts(void)
{
	struct live *l = live_new();

	T_OK(l != NULL, "live_new");
	T_EQ_U(live_get(l, 1), 0, "an account never seen: 0");
	T_EQ_U(live_census_at(l), 0, "no census yet");
	T_OK(live_recount_due(l, 5), "a first census is always due");
	live_census(l, 1000000);
	live_add(l, 1, 1);
	live_add(l, 1, 1);
	live_add(l, -5, 3);
	T_EQ_U(live_get(l, 1), 2, "two for account 1");
	T_EQ_U(live_get(l, -5), 3, "three for account -5");
	T_EQ_U(live_get(l, 2), 0, "none for account 2");
	/* a connection admitted after the census */
	live_add(l, 2, 1);
	T_EQ_U(live_get(l, 2), 1, "an admission counts until the next census");
	live_census(l, 2000000);
	T_EQ_U(live_get(l, 1), 0, "a census starts from 0");
	T_EQ_U(live_get(l, 2), 0, "admissions included");
	T_EQ_U(live_census_at(l), 2000000, "census time");
	live_free(l);
}

static void
test_recount_due(void)
{
	struct live *l = live_new();

	live_census(l, 10000000);
	T_OK(!live_recount_due(l, 10000000), "not at once");
	T_OK(!live_recount_due(l, 10000000 + LIVE_RECOUNT_US - 1),
	    "not before LIVE_RECOUNT_US");
	T_OK(live_recount_due(l, 10000000 + LIVE_RECOUNT_US), "then due");
	T_OK(live_recount_due(l, 9000000), "a clock that went back: due");
	live_free(l);
}

static void
test_many(void)
{
	struct live *l = live_new();
	int64_t i;
	size_t bad = 0;

	live_census(l, 1);
	for (i = 0; i < 100000; i++)
		live_add(l, i * 7919, (uint32_t)(i % 5) + 1);
	for (i = 0; i < 100000; i++)
		if (live_get(l, i * 7919) != (uint64_t)(i % 5) + 1)
			bad++;
	T_EQ_U(bad, 0, "100k accounts, every count right after growing");
	T_EQ_U(live_get(l, 7), 0, "an account not added");
	live_census(l, 2);
	for (i = 0, bad = 0; i < 100000; i++)
		if (live_get(l, i * 7919) != 0)
			bad++;
	T_EQ_U(bad, 0, "all 0 after a census");
	live_add(l, 3, UINT32_MAX);
	live_add(l, 3, 5);
	T_EQ_U(live_get(l, 3), UINT32_MAX, "a count saturates");
	live_free(l);
}

int
main(void)
{
	test_counts();
	test_recount_due();
	test_many();
	return t_done();
}
