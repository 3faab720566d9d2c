/*
 * budget - the rate engine: GCRA (generic cell rate algorithm) per window,
 * as redis-cell does it.  Pure: no I/O, no clock; the caller passes "now"
 * in microseconds, so a test can run a day in a microsecond.
 *
 * A limit is "limit units per period, with burst": emission interval
 * T = period/limit, tolerance tau = T*burst.  A charge of cost units at
 * time now computes new_tat = max(tat, now) + T*cost and is refused when
 * new_tat - tau > now.  With burst == limit the whole window may be spent
 * at once, then one unit comes back every T.  All arithmetic saturates.
 *
 * T is period_us / limit truncated to whole microseconds and at least 1
 * (a limit above period_us gets one unit per microsecond).  A charge whose
 * tat would pass UINT64_MAX is refused with retry UINT64_MAX rather than
 * saturated, so that no debt is ever forgotten.
 */
#ifndef MAILGOV_BUDGET_H
#define MAILGOV_BUDGET_H

#include <stdint.h>

#define BUDGET_UNLIMITED UINT64_MAX	/* as a limit: never refuses */

struct budget_limit {
	uint64_t	limit;		/* units per period; 0 refuses all */
	uint64_t	period_us;	/* window length, > 0 */
	uint64_t	burst;		/* units allowed at once; 0 means limit */
};

enum budget_verdict {
	BUDGET_OK = 0,
	BUDGET_OVER = 1,
};

/*
 * budget_charge - spend cost units at time now, or say when they will be
 * available.  *tat is the state (theoretical arrival time, 0 for fresh);
 * it is only advanced when the charge is allowed.  On BUDGET_OVER,
 * *retry_at (if not NULL) is the earliest time the same charge could pass,
 * or UINT64_MAX when it never can (cost above burst, or a zero limit).
 */
enum budget_verdict budget_charge(const struct budget_limit *, uint64_t *tat,
	    uint64_t now, uint64_t cost, uint64_t *retry_at);

/* budget_peek - the same question as budget_charge, without spending */
enum budget_verdict budget_peek(const struct budget_limit *, uint64_t tat,
	    uint64_t now, uint64_t cost, uint64_t *retry_at);

/* budget_remaining - units that could be spent at time now */
uint64_t budget_remaining(const struct budget_limit *, uint64_t tat,
	    uint64_t now);

/* budget_refund - give back cost units charged earlier (saturating) */
void	budget_refund(const struct budget_limit *, uint64_t *tat,
	    uint64_t cost);

#endif
