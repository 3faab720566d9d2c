/*
 * test_budget - the GCRA engine, as tables of steps on an injected clock:
 * spending a window at once, one unit back every T, burst, the clock going
 * backwards, zero and unlimited limits, and values at UINT64_MAX.  Then a
 * property sweep: budget_remaining, budget_peek and retry_at agree with
 * budget_charge on many odd limits and times.
 */
#include <stdint.h>
#include <stdio.h>

#include "budget.h"
#include "t.h"

#define S	((uint64_t)1000000)		/* one second in microseconds */
#define MAX	UINT64_MAX
#define OK	BUDGET_OK
#define OVER	BUDGET_OVER

struct step {
	char		 op;	/* c charge, p peek, r remaining, f refund */
	uint64_t	 now, cost;
	int		 verdict;	/* c, p */
	uint64_t	 retry;		/* c, p when OVER */
	uint64_t	 remaining;	/* r */
	uint64_t	 tat;		/* the state after the step */
};

#define C(now, cost, v, retry, tat)	{ 'c', now, cost, v, retry, 0, tat }
#define P(now, cost, v, retry, tat)	{ 'p', now, cost, v, retry, 0, tat }
#define R(now, rem, tat)		{ 'r', now, 0, 0, 0, rem, tat }
#define F(cost, tat)			{ 'f', 0, cost, 0, 0, 0, tat }

struct scenario {
	const char	*name;
	struct budget_limit l;
	uint64_t	 tat0;
	const struct step *steps;
	size_t		 n;
};

#define STEPS(...) (const struct step[]){ __VA_ARGS__ }, \
	sizeof((const struct step[]){ __VA_ARGS__ }) / sizeof(struct step)

static const struct scenario scenarios[] = {
	{ "10/10s: spend the window, one back every T", { 10, 10 * S, 0 }, 0,
	  STEPS(
	    C(1000, 10, OK, 0, 10 * S + 1000),
	    C(1000, 1, OVER, 1 * S + 1000, 10 * S + 1000),
	    R(1000, 0, 10 * S + 1000),
	    P(1 * S + 999, 1, OVER, 1 * S + 1000, 10 * S + 1000),
	    P(1 * S + 1000, 1, OK, 0, 10 * S + 1000),
	    C(1 * S + 1000, 1, OK, 0, 11 * S + 1000),
	    R(1 * S + 1000, 0, 11 * S + 1000),
	    R(6 * S + 999, 4, 11 * S + 1000),
	    R(6 * S + 1000, 5, 11 * S + 1000),
	    C(6 * S + 1000, 6, OVER, 7 * S + 1000, 11 * S + 1000),
	    C(6 * S + 1000, 5, OK, 0, 16 * S + 1000),
	    R(100 * S, 10, 16 * S + 1000),
	    C(100 * S, 11, OVER, MAX, 16 * S + 1000),
	    C(100 * S, 10, OK, 0, 110 * S),
	    F(3, 107 * S),
	    R(100 * S, 3, 107 * S),
	    C(100 * S, 0, OK, 0, 107 * S),
	    F(100, 7 * S),
	    R(100 * S, 10, 7 * S),
	  ) },
	{ "1/1h: one message an hour", { 1, 3600 * S, 0 }, 0,
	  STEPS(
	    C(5 * S, 1, OK, 0, 3605 * S),
	    C(5 * S, 1, OVER, 3605 * S, 3605 * S),
	    C(3604 * S, 1, OVER, 3605 * S, 3605 * S),
	    C(3605 * S, 1, OK, 0, 7205 * S),
	  ) },
	{ "clock backwards after a charge grants nothing", { 10, 10 * S, 0 },
	  0,
	  STEPS(
	    C(50 * S, 10, OK, 0, 60 * S),
	    C(0, 1, OVER, 51 * S, 60 * S),
	    R(0, 0, 60 * S),
	    R(40 * S, 0, 60 * S),
	    C(40 * S, 0, OVER, 50 * S, 60 * S),
	    C(51 * S, 1, OK, 0, 61 * S),
	    C(200 * S, 0, OK, 0, 200 * S),
	    C(150 * S, 1, OVER, 191 * S, 200 * S),
	    R(150 * S, 0, 200 * S),
	    R(195 * S, 5, 200 * S),
	    C(195 * S, 5, OK, 0, 205 * S),
	    C(195 * S, 1, OVER, 196 * S, 205 * S),
	  ) },
	{ "clock backwards on an idle budget: still only the burst",
	  { 10, 10 * S, 0 }, 0,
	  STEPS(
	    R(100 * S, 10, 0),
	    R(5, 10, 0),
	    C(5, 10, OK, 0, 10 * S + 5),
	    C(5, 1, OVER, 1 * S + 5, 10 * S + 5),
	    R(0, 0, 10 * S + 5),
	  ) },
	{ "limit 0 refuses everything, for ever", { 0, 10 * S, 0 }, 0,
	  STEPS(
	    C(0, 1, OVER, MAX, 0),
	    C(0, 0, OVER, MAX, 0),
	    C(MAX, 1, OVER, MAX, 0),
	    P(5, 1, OVER, MAX, 0),
	    R(0, 0, 0),
	    R(MAX, 0, 0),
	    F(5, 0),
	  ) },
	{ "limit 0 with burst set still refuses", { 0, 10 * S, 5 }, 0,
	  STEPS(
	    C(0, 1, OVER, MAX, 0),
	    R(0, 0, 0),
	  ) },
	{ "unlimited never refuses and never moves tat",
	  { BUDGET_UNLIMITED, 3600 * S, 0 }, 777,
	  STEPS(
	    C(0, MAX, OK, 0, 777),
	    C(MAX, MAX, OK, 0, 777),
	    C(5, 1, OK, 0, 777),
	    P(5, MAX, OK, 0, 777),
	    R(0, MAX, 777),
	    F(MAX, 777),
	  ) },
	{ "burst 1: one at a time at limit 10/10s", { 10, 10 * S, 1 }, 0,
	  STEPS(
	    C(0, 1, OK, 0, 1 * S),
	    C(0, 1, OVER, 1 * S, 1 * S),
	    C(0, 2, OVER, MAX, 1 * S),
	    R(0, 0, 1 * S),
	    R(99 * S, 1, 1 * S),
	    C(1 * S, 1, OK, 0, 2 * S),
	  ) },
	{ "burst above limit: 1/1s with burst 5", { 1, 1 * S, 5 }, 0,
	  STEPS(
	    R(0, 5, 0),
	    C(0, 5, OK, 0, 5 * S),
	    C(0, 1, OVER, 1 * S, 5 * S),
	    C(0, 6, OVER, MAX, 5 * S),
	    R(3 * S, 3, 5 * S),
	  ) },
	{ "cost above burst never passes", { 10, 10 * S, 0 }, 0,
	  STEPS(
	    C(0, 11, OVER, MAX, 0),
	    C(0, MAX, OVER, MAX, 0),
	    P(MAX, 11, OVER, MAX, 0),
	  ) },
	{ "limit above period_us: T clamps to 1 us", { 1000000000, 1 * S, 0 },
	  0,
	  STEPS(
	    C(0, 1000000000, OK, 0, 1000000000),
	    C(0, 1, OVER, 1, 1000000000),
	    R(500, 500, 1000000000),
	    C(500, 501, OVER, 501, 1000000000),
	    C(500, 500, OK, 0, 1000000500),
	  ) },
	{ "period 0 is treated as T = 1 us", { 5, 0, 0 }, 0,
	  STEPS(
	    C(10, 5, OK, 0, 15),
	    C(10, 1, OVER, 11, 15),
	    R(13, 3, 15),
	  ) },
	{ "huge limit and period", { MAX - 1, MAX, 0 }, 0,
	  STEPS(
	    C(0, MAX - 1, OK, 0, MAX - 1),
	    C(0, 1, OVER, 1, MAX - 1),
	    C(1, 1, OK, 0, MAX),
	    /* tat cannot go past the end of the clock: refused for good */
	    C(2, 1, OVER, MAX, MAX),
	    R(2, 0, MAX),
	    C(2, 0, OK, 0, MAX),
	  ) },
	{ "times near UINT64_MAX", { 10, 10 * S, 0 }, 0,
	  STEPS(
	    R(MAX, 0, 0),
	    C(MAX, 1, OVER, MAX, 0),
	    C(MAX, 0, OK, 0, MAX),
	    C(MAX - 5 * S, 1, OVER, MAX, MAX),
	  ) },
	{ "times near UINT64_MAX, room for five", { 10, 10 * S, 0 }, 0,
	  STEPS(
	    R(MAX - 5 * S, 5, 0),
	    C(MAX - 5 * S, 6, OVER, MAX, 0),
	    C(MAX - 5 * S, 5, OK, 0, MAX),
	    C(MAX - 5 * S, 1, OVER, MAX, MAX),
	    R(MAX - 5 * S, 0, MAX),
	    F(2, MAX - 2 * S),
	    R(MAX - 5 * S, 2, MAX - 2 * S),
	  ) },
	{ "T * cost past UINT64_MAX with a huge burst", { 1, 1ULL << 63, MAX },
	  0,
	  STEPS(
	    C(0, 2, OVER, MAX, 0),
	    C(0, 1, OK, 0, 1ULL << 63),
	    C(0, 1, OVER, MAX, 1ULL << 63),
	    F(MAX, 0),
	  ) },
	{ "refund saturates at 0", { 10, 10 * S, 0 }, 5 * S,
	  STEPS(
	    F(2, 3 * S),
	    F(100, 0),
	    F(MAX, 0),
	    R(0, 10, 0),
	  ) },
	{ "a huge tat from a broken clock: refused, not wrapped", { 10, 10 * S, 0 },
	  MAX - 1,
	  STEPS(
	    C(0, 1, OVER, MAX, MAX - 1),
	    R(0, 0, MAX - 1),
	  ) },
};

/* run - play one scenario's steps, naming each check after it */
static void
run(const struct scenario *sc)
{
	uint64_t tat = sc->tat0, retry, rem;
	size_t	 i;
	int	 v;
	char	 name[160];

	for (i = 0; i < sc->n; i++) {
		const struct step *st = &sc->steps[i];

		retry = 4242;
		switch (st->op) {
		case 'c':
		case 'p':
			v = st->op == 'c' ?
			    budget_charge(&sc->l, &tat, st->now, st->cost,
			    &retry) :
			    budget_peek(&sc->l, tat, st->now, st->cost,
			    &retry);
			snprintf(name, sizeof(name), "%s: step %zu %s verdict",
			    sc->name, i + 1, st->op == 'c' ? "charge" : "peek");
			T_EQ_U(v, st->verdict, name);
			if (st->verdict == OVER) {
				snprintf(name, sizeof(name),
				    "%s: step %zu retry_at", sc->name, i + 1);
				T_EQ_U(retry, st->retry, name);
			}
			break;
		case 'r':
			rem = budget_remaining(&sc->l, tat, st->now);
			snprintf(name, sizeof(name), "%s: step %zu remaining",
			    sc->name, i + 1);
			T_EQ_U(rem, st->remaining, name);
			break;
		case 'f':
			budget_refund(&sc->l, &tat, st->cost);
			break;
		}
		snprintf(name, sizeof(name), "%s: step %zu tat", sc->name,
		    i + 1);
		T_EQ_U(tat, st->tat, name);
	}
}

/* rnd - a fixed xorshift, so failures repeat */
static uint64_t
rnd(void)
{
	static uint64_t x = 0x9e3779b97f4a7c15ULL;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return x;
}

/* pick - a value that is often at an edge */
static uint64_t
pick(void)
{
	static const uint64_t edges[] = {
		0, 1, 2, 10, 60 * S, 3600 * S, 86400 * S, MAX / 2, MAX - 1,
		MAX,
	};
	uint64_t r = rnd();

	switch (r % 4) {
	case 0:
		return edges[(r >> 8) % (sizeof(edges) / sizeof(edges[0]))];
	case 1:
		return (r >> 8) % 1000;
	case 2:
		return (r >> 8) % (1000 * 86400 * S);
	default:
		return rnd();
	}
}

/*
 * sweep - on random edges: remaining is exactly the largest cost that
 * passes, retry_at is exactly the first time a refused charge passes, and
 * a charge never leaves more to spend than before (nothing is granted).
 */
static void
sweep(void)
{
	unsigned i, bad_rem = 0, bad_retry = 0, bad_grant = 0, bad_peek = 0;
	uint64_t tat, now, cost, rem, retry, retry2, tat2, burst;
	struct budget_limit l;
	int	 v, v2;

	for (i = 0; i < 200000; i++) {
		l.limit = pick();
		l.period_us = pick();
		l.burst = rnd() % 3 ? 0 : pick();
		tat = pick();
		now = pick();
		cost = rnd() % 2 ? pick() : rnd() % 20;
		burst = l.burst ? l.burst : l.limit;

		rem = budget_remaining(&l, tat, now);
		if (l.limit != BUDGET_UNLIMITED && l.limit != 0) {
			if (rem > burst ||
			    (rem > 0 && budget_peek(&l, tat, now, rem, NULL)
			    != OK) ||
			    (rem < burst && budget_peek(&l, tat, now, rem + 1,
			    NULL) != OVER))
				bad_rem++;
		}

		v = budget_peek(&l, tat, now, cost, &retry);
		tat2 = tat;
		v2 = budget_charge(&l, &tat2, now, cost, &retry2);
		if (v != v2 || (v == OVER && (retry != retry2 || tat2 != tat)))
			bad_peek++;
		if (v == OVER && retry != MAX) {
			if (retry <= now ||
			    budget_peek(&l, tat, retry, cost, NULL) != OK ||
			    budget_peek(&l, tat, retry - 1, cost, NULL) != OVER)
				bad_retry++;
		}
		if (v == OK && l.limit != BUDGET_UNLIMITED) {
			/* after spending cost, at most rem - cost is left */
			if (budget_remaining(&l, tat2, now) > rem - cost ||
			    tat2 < tat)
				bad_grant++;
		}
	}
	T_EQ_U(bad_rem, 0, "sweep: remaining is the largest cost that passes");
	T_EQ_U(bad_peek, 0, "sweep: peek answers as charge does");
	T_EQ_U(bad_retry, 0, "sweep: retry_at is the first time it passes");
	T_EQ_U(bad_grant, 0, "sweep: a charge never leaves more to spend");
}

/*
 * steady - charging one unit whenever possible for three windows never
 * gets more than burst + (elapsed / T) units, at whatever step the clock
 * moves, even when it jitters backwards.
 */
static void
steady(void)
{
	static const struct {
		struct budget_limit l;
		uint64_t step, back;
	} cases[] = {
		{ { 100, 3600 * S, 0 }, 7 * S, 0 },
		{ { 100, 3600 * S, 0 }, 7 * S, 5 * S },
		{ { 30, 60 * S, 0 }, 333333, 0 },
		{ { 7, 3600 * S, 0 }, 3 * S, 2 * S },
		{ { 10, 10 * S, 3 }, 100000, 50000 },
	};
	size_t	 i;
	char	 name[128];

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct budget_limit *l = &cases[i].l;
		uint64_t tat = 0, now = 1000 * S, start = now, got = 0, t, b;
		uint64_t end = start + 3 * l->period_us, hi = now, k = 0;

		while (now < end) {
			if (budget_charge(l, &tat, now, 1, NULL) == OK)
				got++;
			/* every third step, go back a little */
			if (cases[i].back && ++k % 3 == 0 && now > cases[i].back)
				now -= cases[i].back;
			else
				now += cases[i].step;
			if (now > hi)
				hi = now;
		}
		t = l->period_us / l->limit;
		b = l->burst ? l->burst : l->limit;
		snprintf(name, sizeof(name), "steady %zu: %" PRIu64
		    " units in 3 windows of %" PRIu64 "/%" PRIu64 "s", i, got,
		    l->limit, l->period_us / S);
		T_OK(got <= b + (hi - start) / t + 1 && got >= 3 * l->limit
		    - l->limit / 2, "%s", name);
	}
}

int
main(void)
{
	size_t	 i;

	for (i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
		run(&scenarios[i]);
	sweep();
	steady();
	return t_done();
}
