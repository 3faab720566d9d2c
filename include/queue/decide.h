/*
 * decide - the policy server's decision, apart from its I/O: which
 * account the main instance charges, and what to answer at RCPT and at
 * END-OF-MESSAGE, given the account, the request's attributes, the time
 * and whether the request came from the queue instance.
 *
 * It charges the account's budgets in memory (acct_charge*) and
 * remembers the queue instance's verdicts (verdicts.h), as govern does
 * for the kernel path.  What follows from the decision goes back to the
 * caller (policy.c), which does it: the counters to bump, the alert to
 * raise, the held row to note, and the answer.  Pure: no clock, no
 * socket, no store, no allocation.
 */
#ifndef MAILGOV_DECIDE_H
#define MAILGOV_DECIDE_H

#include <stddef.h>
#include <stdint.h>

#include "acct.h"
#include "pparse.h"
#include "verdicts.h"

/* the attributes the policy server reads; everything else is ignored.
 * Each points into the request's buffer, or is NULL when absent. */
struct decide_req {
	const char	*state, *context, *instance, *sasl, *sender;
	const char	*caddr, *cport, *saddr, *sport;
	const char	*rcpt_count, *size, *queue_id;
	const char	*helo;		/* mailgov-sendmail's carries its
					 * caller (origin.h): a claim */
};

/* decide_req_fill - one pass over a parsed request's attributes */
void	decide_req_fill(struct decide_req *, const struct pp_req *);

/*
 * decide_main_account - the main instance's account: the SASL user's;
 * else, for mail submitted from this host, the sender domain's, else the
 * default account.  NULL for unauthenticated mail from another host:
 * that is someone else's outbound mail arriving here, and nobody's
 * budget (or a forged sender could spend a customer's).
 */
struct acct *decide_main_account(struct accts *, const struct decide_req *);

enum decide_action {
	DECIDE_DUNNO = 0,	/* let it through */
	DECIDE_HOLD,		/* HOLD */
	DECIDE_DEFER,		/* a temporary refusal: 4.x.x */
	DECIDE_REJECT		/* REJECT 5.7.1 */
};

/* the counters to bump (acct_count_*) */
#define DECIDE_C_REFUSED	0x1	/* acct_count_refused */
#define DECIDE_C_HELD		0x2	/* acct_count_held, one */
#define DECIDE_C_MESSAGE	0x4	/* acct_count_message and _seen */

#define DECIDE_TEXT_MAX		496	/* an answer's text, with its NUL */

struct decision {
	enum decide_action action;
	int		 dep;		/* the answer waits for the group
					 * commit that carries the charge */
	unsigned	 count;		/* DECIDE_C_* */
	int		 note_held;	/* note it for release: a queue
					 * instance message put on hold */
	int		 owe;		/* an accepting answer to watch until
					 * it is delivered (queue instance) */
	uint32_t	 rcpts;		/* recipient_count, parsed */
	uint64_t	 size;		/* size, parsed */
	const char	*queue_id;	/* a valid queue_id of the queue
					 * instance, else NULL */
	/*
	 * The alert: the budget kinds checked (1 << kind).  With
	 * alert_action NULL they passed (alert_budget with nothing
	 * over); else the check ended over alert_kind, or in a refusal
	 * that is no budget's (alert_kind -1) named alert_event.
	 */
	unsigned	 checked;
	const char	*alert_action;	/* "hold", "defer", "reject", ... */
	const char	*alert_event;	/* the kind's name, or "blocked", ... */
	int		 alert_kind;
	size_t		 len;
	char		 text[DECIDE_TEXT_MAX];	/* after "action=" */
};

/* decide_may_hold - may a put one more message of size bytes on hold;
 * what it holds now in *msgs and *bytes (release_may_hold) */
typedef int (*decide_may_hold)(void *arg, const struct acct *,
	    uint64_t size, uint32_t *msgs, uint64_t *bytes);

/* decide_charge - charge a message of rcpts to a at now, all or
 * nothing, as acct_charge_message does (which is what NULL means); the
 * policy server's answer from the cluster's budgets (cluster.h) */
typedef enum budget_verdict (*decide_charge)(void *arg, struct acct *,
	    uint32_t rcpts, uint64_t now, enum budget_kind *which,
	    uint64_t *retry_at);

struct decide_env {
	struct verdicts	*verdicts;	/* the queue instance's EOMs */
	decide_may_hold	 may_hold;	/* NULL: always */
	void		*arg;
	decide_charge	 charge;	/* NULL: acct_charge_message */
	void		*charge_arg;
};

/*
 * decide_rcpt - the recipients-per-message cap at RCPT, for a
 * transaction of a that now has rcpts recipients, this one included:
 * DUNNO, or a 452 DEFER that counts as refused.
 */
void	decide_rcpt(struct acct *, uint32_t rcpts, uint64_t now,
	    struct decision *);

/*
 * decide_eom - END-OF-MESSAGE of a (NULL: nobody's, DUNNO) at now
 * (microseconds): charge the whole message, all or nothing, or hold,
 * defer or reject it by the account's mode.  queue: the request came
 * from the queue instance, where a queue ID answered before gets the
 * same answer again without a second charge.
 */
void	decide_eom(const struct decide_env *, struct acct *,
	    const struct decide_req *, int queue, uint64_t now,
	    struct decision *);

/*
 * decide_eom_charges - would decide_eom, asked now, charge a's budgets
 * for this message (rather than answer from a verdict already given, a
 * block, or held mail waiting)?  With shared budgets, the policy server
 * asks the cluster first, only then.  *rcpts: the recipients it would
 * charge.
 */
int	decide_eom_charges(const struct decide_env *, const struct acct *,
	    const struct decide_req *, int queue, uint32_t *rcpts);

#endif
