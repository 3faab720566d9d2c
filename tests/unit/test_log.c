/*
 * test_log - the rate limit of log lines: a burst of lines at once, then
 * one more as each share of the period passes, kinds kept apart by their
 * own state, and a clock that goes back granting nothing.
 */
#include "log.h"
#include "t.h"

static void
test_rate(void)
{
	uint64_t tat = 0, other = 0, now = 1000000;
	int i, n;

	for (i = 0, n = 0; i < 10; i++)
		n += log_rate_ok(&tat, now, 3, 3000);
	T_EQ_U(n, 3, "3 lines per 3000: 3 at once, then none");
	T_OK(log_rate_ok(&other, now, 3, 3000),
	    "another kind has its own state");
	T_OK(!log_rate_ok(&tat, now + 999, 3, 3000),
	    "none before a third of the period");
	T_OK(log_rate_ok(&tat, now + 1000, 3, 3000),
	    "one more after a third of the period");
	T_OK(!log_rate_ok(&tat, now + 1000, 3, 3000), "and only one");
	T_OK(!log_rate_ok(&tat, now - 5000, 3, 3000),
	    "a clock gone back grants nothing");
	for (i = 0, n = 0; i < 10; i++)
		n += log_rate_ok(&tat, now + 100000, 3, 3000);
	T_EQ_U(n, 3, "after a quiet spell, the burst again, no more");
}

static void
test_one_a_minute(void)
{
	uint64_t tat = 0;

	T_OK(log_rate_ok(&tat, 5, 1, 60000), "the first line");
	T_OK(!log_rate_ok(&tat, 59999, 1, 60000), "none within the minute");
	T_OK(log_rate_ok(&tat, 60005, 1, 60000), "one a minute later");
	T_OK(!log_rate_ok(&tat, 60006, 0, 60000), "0 lines: none ever");
}

int
main(void)
{
	test_rate();
	test_one_a_minute();
	return t_done();
}
