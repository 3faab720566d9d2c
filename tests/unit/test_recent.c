/*
 * test_recent - top's minute rings: counts land in the current minute
 * and move back as minutes pass, an hour of silence gives the ring back,
 * the cap holds (and counts who was left out), buckets saturate, and the
 * rate estimate blends the previous minute.
 */
#include <stdlib.h>

#include "recent.h"
#include "t.h"

static void
test_minutes(void)
{
	struct recent *rc = recent_new(8);
	struct recent_row r;

	T_OK(rc != NULL, "recent_new");
	T_OK(recent_get(rc, 1, 100, &r) == -1, "no ring before activity");
	recent_add(rc, 1, RECENT_MESSAGE, 3, 100);
	recent_add(rc, 1, RECENT_HELD, 1, 100);
	recent_add(rc, 1, RECENT_MESSAGE, 2, 102);
	T_OK(recent_get(rc, 1, 102, &r) == 0, "a ring after activity");
	T_EQ_U(r.minute[RECENT_MESSAGE][0], 2, "this minute");
	T_EQ_U(r.minute[RECENT_MESSAGE][1], 0, "a minute ago: nothing");
	T_EQ_U(r.minute[RECENT_MESSAGE][2], 3, "two minutes ago");
	T_EQ_U(r.hour[RECENT_MESSAGE], 5, "the hour's messages");
	T_EQ_U(r.hour[RECENT_HELD], 1, "the hour's held");
	T_OK(recent_get(rc, 1, 159, &r) == 0, "57 minutes later");
	T_EQ_U(r.minute[RECENT_MESSAGE][59], 3, "59 minutes ago, still there");
	T_OK(recent_get(rc, 1, 160, &r) == 0, "an hour later");
	T_EQ_U(r.hour[RECENT_MESSAGE], 2, "the oldest minute has gone");
	T_EQ_U(recent_count(rc), 1, "one ring");
	recent_tick(rc, 161);
	T_EQ_U(recent_count(rc), 1, "activity 59 minutes ago: kept");
	recent_tick(rc, 162);
	T_EQ_U(recent_count(rc), 0, "an hour idle: given back");
	T_OK(recent_get(rc, 1, 200, &r) == -1, "no ring any more");
	recent_free(rc);
}

static void
count_row(const struct recent_row *r, void *arg)
{
	(void)r;
	(*(int *)arg)++;
}

static void
test_cap_and_saturation(void)
{
	struct recent *rc = recent_new(2);
	struct recent_row r;
	int n = 0;

	recent_add(rc, 1, RECENT_REFUSED, 1, 5);
	recent_add(rc, 2, RECENT_REFUSED, 1, 5);
	recent_add(rc, 3, RECENT_REFUSED, 1, 5);
	T_EQ_U(recent_count(rc), 2, "at most the cap");
	T_EQ_U(recent_untracked(rc), 1, "the third is counted as left out");
	recent_each(rc, 5, count_row, &n);
	T_EQ_U(n, 2, "each walks the two");
	recent_add(rc, 1, RECENT_REDIRECTED, 60000, 5);
	recent_add(rc, 1, RECENT_REDIRECTED, 60000, 5);
	recent_get(rc, 1, 5, &r);
	T_EQ_U(r.minute[RECENT_REDIRECTED][0], 65535, "a bucket saturates");
	recent_tick(rc, 65);
	recent_add(rc, 3, RECENT_MESSAGE, 1, 65);
	T_OK(recent_get(rc, 3, 65, &r) == 0, "a ring given back is reused");
	recent_free(rc);
}

static void
test_rate(void)
{
	struct recent_row r;

	memset(&r, 0, sizeof(r));
	r.minute[RECENT_MESSAGE][0] = 10;
	r.minute[RECENT_MESSAGE][1] = 60;
	T_EQ_U(recent_rate(&r, 600), 70, "start of a minute: all of the last");
	T_EQ_U(recent_rate(&r, 630), 40, "half way: half of the last");
	T_EQ_U(recent_rate(&r, 659), 11, "end of a minute: almost only this");
}

int
main(void)
{
	test_minutes();
	test_cap_and_saturation();
	test_rate();
	return t_done();
}
