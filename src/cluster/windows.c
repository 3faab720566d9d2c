/*
 * windows - which rate windows a message charges (see windows.h).  Pure.
 *
 * Trusts: the limits it is given (resolved from the configuration and
 * the store, both checked there).
 */
#include <inttypes.h>
#include <stdio.h>

#include "budget.h"
#include "config.h"
#include "windows.h"

/* cluster_windows - see windows.h: messages/hour, messages/day (one per
 * message), recipients/day (one per recipient) */
size_t
cluster_windows(const struct budget_limit lim[BK_COUNT], uint64_t msgs,
    uint64_t rcpts, struct cluster_window *w, size_t max)
{
	static const enum budget_kind kinds[] = {
	    BK_MSG_HOUR, BK_MSG_DAY, BK_RCPT_DAY };
	size_t	 i, n = 0;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]) && n < max; i++) {
		const struct budget_limit *l = &lim[kinds[i]];

		if (l->limit == BUDGET_UNLIMITED)
			continue;
		w[n].kind = (int)kinds[i];
		snprintf(w[n].id, sizeof(w[n].id), "%s:%" PRIu64,
		    budget_kind_name(kinds[i]), l->period_us / 1000000);
		w[n].lim = *l;
		w[n].cost = kinds[i] == BK_RCPT_DAY ? rcpts : msgs;
		n++;
	}
	return n;
}


/* cluster_key - see windows.h */
int
cluster_key(char *buf, size_t len, const char *prefix, const char *name,
    const char *id)
{
	int	 n;

	n = snprintf(buf, len, "%sb:{%s}:%s", prefix, name, id);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}
