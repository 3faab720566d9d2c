/*
 * windows - the rate windows one charge touches: the message budgets of
 * an account as a list of (limit, period, burst, cost), one Redis key
 * each (cluster.h).  Pure, so that mailgovctl can name the same keys.
 */
#ifndef MAILGOV_WINDOWS_H
#define MAILGOV_WINDOWS_H

#include <stddef.h>
#include <stdint.h>

#include "budget.h"
#include "config.h"

#define CLUSTER_WINDOWS_MAX	8	/* windows one charge may touch */
#define CLUSTER_BLOCKED_ID	"blocked"	/* cluster_key: the block */
#define CLUSTER_STATE_ID	"tat"	/* cluster_key: every window's TAT */

/* one rate window a charge touches: Redis keeps one key for each */
struct cluster_window {
	int		 kind;		/* enum budget_kind, for the answer */
	unsigned	 win;		/* the kind's window: its local tat */
	char		 id[32];	/* key suffix: "KIND:PERIOD_S" */
	struct budget_limit lim;	/* burst 0 means limit */
	uint64_t	 cost;
};

/*
 * cluster_windows - the rate windows a charge of msgs messages carrying
 * rcpts recipients touches, given the account's budgets in force for
 * messages and for recipients (acct_windows, ctl_budget_of), unlimited
 * ones left out; how many were written (at most max).  The one place
 * that knows which budgets a message spends.
 */
size_t	cluster_windows(const struct budget *messages,
	    const struct budget *recipients, uint64_t msgs, uint64_t rcpts,
	    struct cluster_window *w, size_t max);

/* cluster_key - the Redis key id (CLUSTER_STATE_ID, CLUSTER_BLOCKED_ID)
 * of account name under prefix: PREFIX "b:{" NAME "}:" ID; -1 when it
 * does not fit in len */
int	cluster_key(char *buf, size_t len, const char *prefix,
	    const char *name, const char *id);

/*
 * cluster_state_tat - the TAT of window id in the value of an account's
 * state key ("ID=TAT ID=TAT ..."): 0 and *tat, 1 when id is not there
 * (a full budget), -1 when the value is not such a list.
 */
int	cluster_state_tat(const char *val, size_t len, const char *id,
	    uint64_t *tat);

#endif
