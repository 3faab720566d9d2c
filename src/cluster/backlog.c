/*
 * backlog - the charges a node owes the shared count (see backlog.h).
 *
 * The debt is kept per window slot of the shared kinds (owed[kind][win],
 * the slot of the account's budget at the time of the charge), not per
 * charge: the catch-up writes the sum, so its size does not grow with
 * the outage.  A sum above a window's burst is written as the burst: a
 * full window is all the shared count can remember, and older charges
 * in it would have refilled by now anyway.
 *
 * Written twice rather than lost: the debt is paid in memory when Redis
 * acknowledged the write, and reaches the disk with a later group
 * commit.  A crash in between writes it again after the restart, so the
 * shared count may over-count (the account waits longer), never
 * under-count.
 *
 * Trusts: the accounts and their budgets (checked where they are loaded);
 * owed amounts read from the database are whatever the store range-checked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acct.h"
#include "backlog.h"
#include "budget.h"
#include "log.h"
#include "store.h"
#include "windows.h"

struct backlog {
	size_t		 in_flight;
	size_t		 round;		/* accounts a round sends at most */
	int		 full;		/* this round stopped at round */
	int		 failed;	/* a write of this round was not */
};

/* slot - the owed counter of window w in u; NULL for a kind not shared */
static uint64_t *
slot(struct store_usage *u, const struct cluster_window *w)
{
	if (w->kind < 0 || w->kind >= STORE_OWED_KINDS ||
	    w->win >= BUDGET_WINDOWS_MAX)
		return NULL;
	return &u->owed[w->kind][w->win];
}

/* backlog_owe - see backlog.h */
void
backlog_owe(struct store_usage *u, const struct cluster_window *w, size_t n)
{
	uint64_t *o;
	size_t	 i;

	for (i = 0; i < n; i++) {
		if ((o = slot(u, &w[i])) == NULL)
			continue;
		*o = *o + w[i].cost < *o ? UINT64_MAX : *o + w[i].cost;
	}
}

/* backlog_owes - see backlog.h */
int
backlog_owes(const struct store_usage *u)
{
	int	 k, i;

	for (k = 0; k < STORE_OWED_KINDS; k++)
		for (i = 0; i < BUDGET_WINDOWS_MAX; i++)
			if (u->owed[k][i] != 0)
				return 1;
	return 0;
}

/* backlog_windows - see backlog.h */
size_t
backlog_windows(const struct budget *messages, const struct budget *recipients,
    const struct store_usage *u, struct cluster_window *w, uint64_t *pay,
    size_t max)
{
	struct cluster_window all[CLUSTER_WINDOWS_MAX];
	size_t	 n, i, out = 0;
	uint64_t owed, burst;

	n = cluster_windows(messages, recipients, 1, 1, all,
	    CLUSTER_WINDOWS_MAX);
	for (i = 0; i < n && out < max; i++) {
		if (all[i].kind < 0 || all[i].kind >= STORE_OWED_KINDS ||
		    all[i].win >= BUDGET_WINDOWS_MAX)
			continue;
		if ((owed = u->owed[all[i].kind][all[i].win]) == 0)
			continue;
		burst = all[i].lim.burst ? all[i].lim.burst : all[i].lim.limit;
		if (burst == 0)		/* a zero limit: nothing to catch up */
			continue;
		w[out] = all[i];
		w[out].cost = owed < burst ? owed : burst;
		pay[out++] = owed;
	}
	return out;
}

/* backlog_paid - see backlog.h */
void
backlog_paid(struct store_usage *u, const struct cluster_window *w,
    const uint64_t *pay, size_t n)
{
	uint64_t *o;
	size_t	 i;

	for (i = 0; i < n; i++)
		if ((o = slot(u, &w[i])) != NULL)
			*o = pay[i] < *o ? *o - pay[i] : 0;
}

struct backlog *
backlog_new(size_t round)
{
	struct backlog *b;

	if ((b = calloc(1, sizeof(*b))) == NULL) {
		log_warn("cluster: backlog");
		return NULL;
	}
	b->round = round ? round : 1;
	return b;
}

void
backlog_free(struct backlog *b)
{
	free(b);
}

size_t
backlog_in_flight(const struct backlog *b)
{
	return b->in_flight;
}

/* one walk of backlog_catch_up */
struct walk {
	struct backlog	*b;
	int		(*send)(void *, struct backlog_due *);
	void		*arg;
	size_t		 sent;
};

/* each_owing - acct_each's callback: send one account's catch-up */
static int
each_owing(struct acct *a, void *arg)
{
	struct walk	*wk = arg;
	struct backlog_due *d;

	if (!backlog_owes(&a->use))
		return 0;
	if (wk->sent == wk->b->round) {
		wk->b->full = 1;	/* the rest: the next round */
		return 1;
	}
	if ((d = calloc(1, sizeof(*d))) == NULL) {
		log_warn("cluster: catch-up");
		return 1;
	}
	d->nw = backlog_windows(a->lim[BK_MESSAGES], a->lim[BK_RECIPIENTS],
	    &a->use, d->w, d->pay, CLUSTER_WINDOWS_MAX);
	if (d->nw == 0) {
		/* its windows went unlimited or away since: nothing the
		 * shared count could take; the debt waits (backlog.h) */
		free(d);
		return 0;
	}
	snprintf(d->name, sizeof(d->name), "%s", a->name);
	d->epoch = a->use.epoch;
	if (wk->send(wk->arg, d) == -1) {
		free(d);
		return 1;
	}
	wk->b->in_flight++;
	wk->sent++;
	return 0;
}

/*
 * backlog_catch_up - see backlog.h.  A round starts only when the one
 * before has been answered.  A full round that was all written starts
 * the next at once (backlog_done); what a round could not write, and
 * what was charged locally meanwhile, wait for the next time the script
 * is loaded (a reconnection, a NOSCRIPT).  Each round walks the accounts
 * from the start: those paid owe nothing and are passed over.
 */
size_t
backlog_catch_up(struct backlog *b, struct accts *as,
    int (*send)(void *, struct backlog_due *), void *arg)
{
	struct walk wk = { b, send, arg, 0 };

	if (as == NULL || b->in_flight > 0)
		return 0;
	b->full = b->failed = 0;
	(void)acct_each(as, each_owing, &wk);
	return wk.sent;
}

/* backlog_done - see backlog.h */
int
backlog_done(struct backlog *b, struct accts *as, struct backlog_due *d,
    int ok)
{
	struct acct *a;

	if (b->in_flight > 0)
		b->in_flight--;
	if (!ok)
		b->failed = 1;
	/* deleted since: nothing owes; reset since: the reset emptied the
	 * shared windows and the debt with them */
	if (ok && as != NULL && (a = acct_by_name(as, d->name)) != NULL &&
	    a->use.epoch == d->epoch) {
		backlog_paid(&a->use, d->w, d->pay, d->nw);
		acct_touch(a);
	}
	free(d);
	return b->in_flight == 0 && b->full && !b->failed;
}
