/*
 * windows - which rate windows a message charges (see windows.h).  Pure.
 *
 * Trusts: the limits it is given (resolved from the configuration and
 * the store, both checked there).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "budget.h"
#include "config.h"
#include "windows.h"

/* cluster_windows - see windows.h: every messages window (one per
 * message), every recipients window (one per recipient) */
size_t
cluster_windows(const struct budget *messages, const struct budget *recipients,
    uint64_t msgs, uint64_t rcpts, struct cluster_window *w, size_t max)
{
	const struct budget *b[2] = { messages, recipients };
	const int	 kinds[2] = { BK_MESSAGES, BK_RECIPIENTS };
	size_t		 n = 0;
	unsigned	 i, k;

	for (k = 0; k < 2; k++) {
		if (b[k] == NULL)
			continue;
		for (i = 0; i < b[k]->n && i < BUDGET_WINDOWS_MAX && n < max;
		    i++) {
			const struct budget_limit *l = &b[k]->w[i];

			if (l->limit == BUDGET_UNLIMITED)
				continue;
			w[n].kind = kinds[k];
			w[n].win = i;
			snprintf(w[n].id, sizeof(w[n].id), "%s:%" PRIu64,
			    budget_kind_name(kinds[k]), l->period_us / 1000000);
			w[n].lim = *l;
			w[n].cost = k == 0 ? msgs : rcpts;
			n++;
		}
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

/* cluster_state_tat - see windows.h */
int
cluster_state_tat(const char *val, size_t len, const char *id, uint64_t *tat)
{
	size_t	 idlen = strlen(id), i = 0, start, eq;
	uint64_t v;
	int	 found = 0;

	while (i < len) {
		start = i;
		eq = 0;
		for (; i < len && val[i] != ' '; i++)
			if (val[i] == '=' && eq == 0)
				eq = i;
		/* ID=DIGITS, with a non-empty ID */
		if (eq <= start || eq + 1 == i)
			return -1;
		v = 0;
		for (size_t d = eq + 1; d < i; d++) {
			if (val[d] < '0' || val[d] > '9' ||
			    v > (UINT64_MAX - (uint64_t)(val[d] - '0')) / 10)
				return -1;
			v = v * 10 + (uint64_t)(val[d] - '0');
		}
		if (eq - start == idlen && memcmp(val + start, id, idlen) == 0) {
			*tat = v;
			found = 1;
		}
		if (i < len)
			i++;		/* the space */
		if (i == len && val[len - 1] == ' ')
			return -1;
	}
	return found ? 0 : 1;
}
