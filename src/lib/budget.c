/*
 * budget - GCRA, the generic cell rate algorithm, as redis-cell uses it.
 * Pure arithmetic on the caller's clock (microseconds): no I/O, no time().
 * Nothing here trusts its inputs to be sane: limits, costs and times may
 * be anything up to UINT64_MAX, so every sum and product saturates, and
 * no subtraction can wrap.
 *
 * Emission interval T = period_us / limit, in whole microseconds and at
 * least 1: a limit above period_us (more than one unit per microsecond)
 * is treated as one unit per microsecond.  The division truncates, so a
 * unit may come back up to 1 us early (7/1h refills one unit every
 * 514285714 us, not 514285714.29: a negligible excess).
 *
 * A clock that goes backwards never grants anything: the state is only the
 * theoretical arrival time, which an earlier "now" cannot move back, and
 * an earlier "now" only makes "new_tat - tau > now" easier to fail.  Near
 * UINT64_MAX, a charge whose tat would not fit is refused for good rather
 * than saturated, for the same reason.
 *
 * Trusts: nothing; a pure function of its arguments.
 */
#include <stddef.h>
#include <stdint.h>

#include "budget.h"

/* sat_mul - a * b, or UINT64_MAX */
static uint64_t
sat_mul(uint64_t a, uint64_t b)
{
	uint64_t r;

	return __builtin_mul_overflow(a, b, &r) ? UINT64_MAX : r;
}

/* sat_sub - a - b, or 0 */
static uint64_t
sat_sub(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

/* emission - T, the time one unit takes to come back; never 0 */
static uint64_t
emission(const struct budget_limit *l)
{
	uint64_t t = l->period_us / l->limit;	/* limit != 0 here */

	return t ? t : 1;
}

/* burst_of - units allowed at once; 0 in the limit means "limit" */
static uint64_t
burst_of(const struct budget_limit *l)
{
	return l->burst ? l->burst : l->limit;
}

/* gcra - the one decision; *new_tat is the state after an allowed charge */
static enum budget_verdict
gcra(const struct budget_limit *l, uint64_t tat, uint64_t now, uint64_t cost,
    uint64_t *new_tat, uint64_t *retry_at)
{
	uint64_t burst, t, tau, inc, base, debt, next;

	*new_tat = tat;
	if (l->limit == BUDGET_UNLIMITED)
		return BUDGET_OK;
	burst = burst_of(l);
	if (l->limit == 0 || cost > burst)
		goto never;
	t = emission(l);
	tau = sat_mul(t, burst);
	/*
	 * A charge that would push tat past the end of the clock is refused
	 * for good: saturating tat instead would forget the debt and let
	 * every later charge through.
	 */
	if (__builtin_mul_overflow(t, cost, &inc))
		goto never;
	base = tat > now ? tat : now;
	if (__builtin_add_overflow(base, inc, &next))
		goto never;
	/* "next - tau > now" refuses; as debt + inc > tau nothing can wrap */
	debt = base - now;
	if (debt <= tau && inc <= tau - debt) {
		*new_tat = next;
		return BUDGET_OK;
	}
	/*
	 * Over, so tat > now, and the charge passes once now reaches
	 * next - tau = tat + inc - tau: inc <= tau because cost <= burst, so
	 * that is at most tat, and it is after now.
	 */
	if (retry_at != NULL)
		*retry_at = next - tau;
	return BUDGET_OVER;
never:
	if (retry_at != NULL)
		*retry_at = UINT64_MAX;
	return BUDGET_OVER;
}

/* budget_charge - spend cost units, or say when they will be available */
enum budget_verdict
budget_charge(const struct budget_limit *l, uint64_t *tat, uint64_t now,
    uint64_t cost, uint64_t *retry_at)
{
	enum budget_verdict v;
	uint64_t next;

	v = gcra(l, *tat, now, cost, &next, retry_at);
	if (v == BUDGET_OK)
		*tat = next;
	return v;
}

/* budget_peek - budget_charge's answer, leaving the state alone */
enum budget_verdict
budget_peek(const struct budget_limit *l, uint64_t tat, uint64_t now,
    uint64_t cost, uint64_t *retry_at)
{
	uint64_t next;

	return gcra(l, tat, now, cost, &next, retry_at);
}

/* budget_remaining - the largest cost budget_charge would allow at now */
uint64_t
budget_remaining(const struct budget_limit *l, uint64_t tat, uint64_t now)
{
	uint64_t burst, t, tau, base, debt, units, room;

	if (l->limit == BUDGET_UNLIMITED)
		return UINT64_MAX;
	if (l->limit == 0)
		return 0;
	burst = burst_of(l);
	t = emission(l);
	tau = sat_mul(t, burst);
	base = tat > now ? tat : now;
	debt = base - now;
	units = debt <= tau ? (tau - debt) / t : 0;
	/* and no further than the end of the clock, as in gcra() */
	room = (UINT64_MAX - base) / t;
	if (units > room)
		units = room;
	return units < burst ? units : burst;
}

/* budget_refund - give back cost units: move tat back, never below 0 */
void
budget_refund(const struct budget_limit *l, uint64_t *tat, uint64_t cost)
{
	if (l->limit == BUDGET_UNLIMITED || l->limit == 0)
		return;
	*tat = sat_sub(*tat, sat_mul(emission(l), cost));
}
