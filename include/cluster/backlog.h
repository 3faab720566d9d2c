/*
 * backlog - what this node charged to its local share while Redis was
 * away, and still owes the shared count (docs/cluster.md, "When Redis is
 * not there").
 *
 * The amounts live in each account's usage row (store_usage.owed), not
 * here: the group commit that makes a fallback charge durable before its
 * answer makes the debt durable in the same record, and a mailgovd that
 * restarts finds it in the database.  When Redis is back, each account
 * that owes is written there once ("force": charged without checking),
 * and what Redis acknowledged is taken off, to be written by a later
 * group commit.
 *
 * The owe/windows/paid functions are pure; the set of catch-ups in flight
 * is the only state of its own.
 */
#ifndef MAILGOV_BACKLOG_H
#define MAILGOV_BACKLOG_H

#include <stddef.h>
#include <stdint.h>

#include "acct.h"
#include "budget.h"
#include "store.h"
#include "windows.h"

/* backlog_owe - a local charge of windows w[0..n) is owed until written
 * (saturating; windows of a kind that is not shared are ignored) */
void	backlog_owe(struct store_usage *, const struct cluster_window *w,
	    size_t n);
/* backlog_owes - does u owe Redis anything */
int	backlog_owes(const struct store_usage *);
/*
 * backlog_windows - the catch-up of an account whose budgets in force are
 * messages and recipients and whose debt is in u: each window it owes
 * with cost the amount owed, but at most the window's burst (a window
 * cannot hold more, and the script's "force" leaves a larger cost out
 * altogether), and in pay[i] the debt that write settles (all of it);
 * how many were written, at most max.  A window that no
 * longer exists (budgets changed since) is not written: its debt stays
 * until a reset or until the window comes back.
 */
size_t	backlog_windows(const struct budget *messages,
	    const struct budget *recipients, const struct store_usage *u,
	    struct cluster_window *w, uint64_t *pay, size_t max);
/* backlog_paid - Redis took w[0..n): take pay[i] off each one's debt
 * (what was charged locally since stays owed) */
void	backlog_paid(struct store_usage *, const struct cluster_window *w,
	    const uint64_t *pay, size_t n);

/* --- the catch-ups in flight --------------------------------------------- */

struct backlog;

/* one account's catch-up, sent and not yet answered */
struct backlog_due {
	char			 name[STORE_NAMELEN];
	int64_t			 epoch;		/* a reset since: not paid */
	struct cluster_window	 w[CLUSTER_WINDOWS_MAX];
	uint64_t		 pay[CLUSTER_WINDOWS_MAX];
	size_t			 nw;
};

/* backlog_new - catch-ups go out in rounds of at most round accounts
 * (the connection's output and the memory of one round stay bounded) */
struct backlog *backlog_new(size_t round);
/* backlog_free - the dues in flight are forgotten: nothing is paid */
void	backlog_free(struct backlog *);
/*
 * backlog_catch_up - one round: for each account of as that owes (at
 * most round of them), send(arg, due); send returns 0 when the charge
 * went out (backlog_done then follows), -1 to stop here (the rest waits
 * for the next call).  Nothing while a round is in flight.  The accounts
 * sent.
 */
size_t	backlog_catch_up(struct backlog *, struct accts *as,
	    int (*send)(void *arg, struct backlog_due *), void *arg);
/*
 * backlog_done - Redis answered due (ok: written), or never will: when
 * written, the account (found again by name in as) pays what due
 * carried and is marked for the next group commit.  due is freed.  1
 * when that ended a full round with every write acknowledged: call
 * backlog_catch_up for the next one (a failed round waits for the next
 * time Redis is back, so a broken server is not asked again and again).
 */
int	backlog_done(struct backlog *, struct accts *as,
	    struct backlog_due *, int ok);
/* backlog_in_flight - catch-ups sent and not answered */
size_t	backlog_in_flight(const struct backlog *);

#endif
