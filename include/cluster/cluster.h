/*
 * cluster - one budget per account across many web nodes, kept in Redis
 * (budget_store = redis; docs/cluster.md).  Every message's charge goes
 * to Redis as one EVALSHA of a GCRA script that checks and charges all
 * its windows atomically on the server's clock; the charges of one loop
 * turn go out pipelined (redis.h).  While Redis is unavailable each node
 * charges a local share, limit / cluster_nodes, and owes what it charged
 * (backlog.h: in the accounts' usage rows, durable with the charge) so
 * the shared count catches up when Redis is back, after a restart too.
 */
#ifndef MAILGOV_CLUSTER_H
#define MAILGOV_CLUSTER_H

#include <stddef.h>
#include <stdint.h>

#include "acct.h"
#include "budget.h"
#include "config.h"
#include "loop.h"
#include "windows.h"

struct cluster;

enum cluster_answer {
	CLUSTER_OK = 0,		/* charged in Redis */
	CLUSTER_OVER,		/* refused: which, retry_at */
	CLUSTER_UNAVAILABLE,	/* no answer: charge the local share */
	CLUSTER_BLOCKED,	/* blocked on some node (mailgovctl block) */
};

/* cluster_cb - the answer to cluster_charge; retry_at is on the local
 * wall clock (microseconds), UINT64_MAX for never */
typedef void (*cluster_cb)(void *arg, enum cluster_answer,
	    enum budget_kind which, uint64_t retry_at);

/* where cluster_release_ok charged a release */
enum cluster_paid {
	CLUSTER_PAID_REDIS = 1,	/* Redis granted it */
	CLUSTER_PAID_SHARE,	/* the local share, Redis being away */
};

/* cluster_new - connect to cfg->redis in the background; NULL with a
 * logged reason when the address cannot be used */
struct cluster *cluster_new(struct loop *, const struct config *);
void	cluster_free(struct cluster *);
/* cluster_set_accts - the accounts whose debts the catch-up writes
 * (those left by a restart included); without them nothing catches up */
void	cluster_set_accts(struct cluster *, struct accts *);
/* cluster_ready - Redis answers and the script is loaded */
int	cluster_ready(const struct cluster *);

/*
 * cluster_charge - charge a message of rcpts recipients to a in Redis,
 * all windows or none; cb runs on a later loop turn.  -1 when Redis is
 * not ready now (cb is not called): use cluster_charge_local.
 */
int	cluster_charge(struct cluster *, const struct acct *, uint32_t rcpts,
	    cluster_cb, void *arg);

/*
 * cluster_charge_local - the fallback: the same charge against this
 * node's share of each window (limit / cluster_nodes, at least 1), in a's
 * local state; owed, when allowed, in a's usage row for the catch-up.
 */
enum budget_verdict cluster_charge_local(struct cluster *, struct acct *,
	    uint32_t rcpts, uint64_t now, enum budget_kind *which,
	    uint64_t *retry_at);

/*
 * cluster_release_ok - may held mail of a, a message of rcpts, leave
 * now?  1 when Redis granted that charge earlier (it is used up); else
 * 0, with Redis asked in the background (one question per account at a
 * time) and kick(arg) called when it said yes.  Redis unavailable: the
 * local share decides, as cluster_charge_local.  *paid says which.
 */
int	cluster_release_ok(struct cluster *, struct acct *, uint32_t rcpts,
	    uint64_t now, uint64_t *retry_at, enum cluster_paid *paid);
/*
 * cluster_refund - a release that cluster_release_ok allowed did not
 * happen: give its charge back where paid says it was made.  In Redis
 * only while Redis answers (else it stays charged there: the account
 * pays once too often, nothing leaves unpaid); in the local share
 * together with its debt.
 */
void	cluster_refund(struct cluster *, struct acct *, uint32_t rcpts,
	    enum cluster_paid paid);
void	cluster_on_grant(struct cluster *, void (*kick)(void *), void *arg);

#endif
