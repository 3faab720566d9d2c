/*
 * peek - mailgovctl's look at the cluster-wide budgets in Redis: one
 * short blocking connection (redis_timeout for connecting and for each
 * reply); it reads them, and deletes them for a reset.  Not for mailgovd, whose loop must never block
 * (redis.h is its connection).
 */
#ifndef MAILGOV_PEEK_H
#define MAILGOV_PEEK_H

#include <stddef.h>
#include <stdint.h>

#include "budget.h"
#include "config.h"

struct peek;

/* peek_open - connect and authenticate; NULL with a one-line reason in
 * err */
struct peek *peek_open(const struct config *, char *err, size_t errlen);
void	peek_close(struct peek *);
/*
 * peek_remaining - what the account called name, with the budgets in
 * force lim[kind], may still spend, cluster-wide, on Redis's clock:
 * rem[kind][window] for every window it shares, UINT64_MAX for the
 * others.  0, or -1 with the reason in err.
 */
int	peek_remaining(struct peek *, const char *name,
	    const struct budget *const lim[BK_COUNT],
	    uint64_t rem[BK_COUNT][BUDGET_WINDOWS_MAX], char *err,
	    size_t errlen);

/* peek_reset - delete the shared state of account name (every node sees
 * a full budget at once); 0, or -1 with the reason in err */
int	peek_reset(struct peek *, const char *name, char *err, size_t errlen);

/* peek_block - mark account name blocked (on) or not for every node: the
 * shared charge refuses a blocked account's mail at once.  0, or -1 with
 * the reason in err */
int	peek_block(struct peek *, const char *name, int on, char *err,
	    size_t errlen);

#endif
