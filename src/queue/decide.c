/*
 * decide - the policy server's decision for one request (see decide.h).
 *
 * The order of the checks at END-OF-MESSAGE is the policy:
 *  1. a queue ID answered before gets that answer again, uncharged
 *     (Postfix asks again when an answer is late);
 *  2. a blocked account is rejected;
 *  3. on the queue instance, while some of the account's mail is on
 *     hold, new mail is held behind it (held mail leaves oldest first);
 *  4. the message is charged, all or nothing;
 *  5. else the account's mode: hold, defer or reject.  A hold on the
 *     queue instance past held_messages_max or held_bytes_max is a
 *     temporary error instead, so that an account cannot fill the spool.
 *
 * Trusts: nothing in the request: numbers go through num_u64 with bounds,
 * and a queue ID is used only when queueid_ok says so.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "budget.h"
#include "decide.h"
#include "num.h"
#include "queueid.h"

#define DECIDE_SIZE_MAX	(1ull << 40)	/* bytes: a message's size= */

#define EOM_KINDS ((1u << BK_MESSAGES) | (1u << BK_RECIPIENTS))

/* decide_req_fill - see decide.h */
void
decide_req_fill(struct decide_req *q, const struct pp_req *r)
{
	unsigned	i;
	const char	*n, *v;

	memset(q, 0, sizeof(*q));
	for (i = 0; i < r->n; i++) {
		n = r->attr[i].name;
		v = r->attr[i].value;
		switch (n[0]) {
		case 'c':
			if (strcmp(n, "client_address") == 0)
				q->caddr = v;
			else if (strcmp(n, "client_port") == 0)
				q->cport = v;
			break;
		case 'h':
			if (strcmp(n, "helo_name") == 0)
				q->helo = v;
			break;
		case 'i':
			if (strcmp(n, "instance") == 0)
				q->instance = v;
			break;
		case 'p':
			if (strcmp(n, "protocol_state") == 0)
				q->state = v;
			else if (strcmp(n, "policy_context") == 0)
				q->context = v;
			break;
		case 'q':
			if (strcmp(n, "queue_id") == 0)
				q->queue_id = v;
			break;
		case 'r':
			if (strcmp(n, "recipient_count") == 0)
				q->rcpt_count = v;
			break;
		case 's':
			if (strcmp(n, "sasl_username") == 0)
				q->sasl = v;
			else if (strcmp(n, "sender") == 0)
				q->sender = v;
			else if (strcmp(n, "size") == 0)
				q->size = v;
			else if (strcmp(n, "server_address") == 0)
				q->saddr = v;
			else if (strcmp(n, "server_port") == 0)
				q->sport = v;
			break;
		}
	}
}

/*
 * from_this_host - did the session come from this machine: a loopback
 * client, or one whose address is the server address it talked to.  Mail
 * from other hosts reaching the main instance is inbound, not submitted.
 */
static int
from_this_host(const struct decide_req *q)
{
	struct in6_addr	 a6;
	struct in_addr	 a4;

	if (q->caddr == NULL)
		return 0;
	if (q->saddr != NULL && strcmp(q->caddr, q->saddr) == 0)
		return 1;
	if (inet_pton(AF_INET, q->caddr, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, q->caddr, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6) ||
		    (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
	return 0;
}

/* decide_main_account - SASL user, sender domain, default, or nobody */
struct acct *
decide_main_account(struct accts *as, const struct decide_req *q)
{
	struct acct	*a = NULL;
	const char	*at;
	char		 dom[256];
	size_t		 i;

	if (q->sasl != NULL && q->sasl[0] != '\0')
		a = acct_by_sasl(as, q->sasl);
	else if (!from_this_host(q))
		return NULL;
	if (a == NULL && q->sender != NULL &&
	    (at = strrchr(q->sender, '@')) != NULL && at[1] != '\0' &&
	    strlen(at + 1) < sizeof(dom)) {
		for (i = 0; at[1 + i] != '\0'; i++)
			dom[i] = (char)tolower((unsigned char)at[1 + i]);
		dom[i] = '\0';
		a = acct_by_domain(as, dom);
	}
	if (a == NULL)
		a = acct_default(as);
	return a;
}

/* begin - nothing decided yet: the text is left alone until say() */
static void
begin(struct decision *d)
{
	d->action = DECIDE_DUNNO;
	d->dep = 0;
	d->count = 0;
	d->note_held = 0;
	d->owe = 0;
	d->rcpts = 0;
	d->size = 0;
	d->queue_id = NULL;
	d->checked = 0;
	d->alert_action = NULL;
	d->alert_event = NULL;
	d->alert_kind = -1;
	d->len = 0;
	d->text[0] = '\0';
}

/* say - the answer: its action, whether it waits for the group commit
 * (dep), and its text, cut to DECIDE_TEXT_MAX - 1 bytes */
static void
say(struct decision *d, enum decide_action act, int dep, const char *fmt,
    ...) __attribute__((format(printf, 4, 5)));

static void
say(struct decision *d, enum decide_action act, int dep, const char *fmt,
    ...)
{
	va_list	ap;
	int	n;

	d->action = act;
	d->dep = dep;
	va_start(ap, fmt);
	n = vsnprintf(d->text, sizeof(d->text), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(d->text))
		n = (int)sizeof(d->text) - 1;
	d->len = (size_t)n;
}

/* refuse_alert - the check of checked kinds ended over kind (-1: the
 * refusal named event), and the sender is told action */
static void
refuse_alert(struct decision *d, unsigned checked, int kind,
    const char *event, const char *action)
{
	d->checked = checked;
	d->alert_kind = kind;
	d->alert_event = event;
	d->alert_action = action;
}

/* decide_rcpt - the recipients-per-message cap */
void
decide_rcpt(struct acct *a, uint32_t rcpts, uint64_t now, struct decision *d)
{
	begin(d);
	d->rcpts = rcpts;
	if (acct_charge(a, BK_RCPT_MSG, rcpts, now, NULL) == BUDGET_OVER) {
		d->count = DECIDE_C_REFUSED;
		refuse_alert(d, 1u << BK_RCPT_MSG, BK_RCPT_MSG,
		    budget_kind_name(BK_RCPT_MSG), "refuse_rcpt");
		say(d, DECIDE_DEFER, 0, "452 4.5.3 Too many recipients "
		    "(mailgov: recipients_per_message %" PRIu64 " exceeded)",
		    a->lim[BK_RCPT_MSG]->w[0].limit);
		return;
	}
	say(d, DECIDE_DUNNO, 0, "DUNNO");
}

/*
 * hold - count a message answered HOLD and, on the queue instance (rcpts
 * > 0), note it for release: 1.  A hold on the main instance is not
 * released by mailgov: it stays for the admin.  On the queue instance an
 * account past held_messages_max or held_bytes_max gets a temporary error
 * instead: the client keeps the message and mail() returns false.  That
 * answer is said here: 0.
 */
static int
hold(const struct decide_env *env, struct acct *a, uint32_t rcpts,
    struct decision *d)
{
	uint64_t	bytes = 0;
	uint32_t	n = 0;

	if (rcpts > 0 && env->may_hold != NULL &&
	    !env->may_hold(env->arg, a, d->size, &n, &bytes)) {
		d->count |= DECIDE_C_REFUSED;
		refuse_alert(d, 0, -1, "hold_full", "defer");
		say(d, DECIDE_DEFER, 1, "DEFER_IF_PERMIT 4.7.1 mailgov: "
		    "account %s has too much mail on hold (%" PRIu32
		    " messages, %" PRIu64 " bytes); try again later", a->name,
		    n, bytes);
		return 0;
	}
	d->count |= DECIDE_C_HELD;
	/* rcpts > 0 only on the queue instance, where queue_id is set
	 * when valid */
	d->note_held = rcpts > 0 && d->queue_id != NULL;
	return 1;
}

/* decide_eom - charge the whole message, all or nothing, and say what
 * to do (the order is at the top of this file) */
void
decide_eom(const struct decide_env *env, struct acct *a,
    const struct decide_req *q, int queue, uint64_t now, struct decision *d)
{
	enum budget_kind which = BK_MESSAGES;
	uint64_t	 rcpts = 0, size = 0, retry_at = 0, secs;
	const char	*err, *kind;
	int		 mode;

	begin(d);
	if (a == NULL) {
		say(d, DECIDE_DUNNO, 0, "DUNNO");
		return;
	}
	if (q->rcpt_count == NULL ||
	    num_u64(q->rcpt_count, 0, UINT32_MAX, 0, &rcpts, &err) == -1)
		rcpts = 1;
	if (rcpts == 0)		/* END-OF-MESSAGE has at least one */
		rcpts = 1;
	/* Postfix's message_size_limit is far below the bound; anything
	 * above it did not come from Postfix and counts nothing */
	if (q->size == NULL ||
	    num_u64(q->size, 0, DECIDE_SIZE_MAX, 0, &size, &err) == -1)
		size = 0;
	d->rcpts = (uint32_t)rcpts;
	d->size = size;
	if (queue && q->queue_id != NULL && queueid_ok(q->queue_id))
		d->queue_id = q->queue_id;

	/* Postfix asks again when an answer is late: the same verdict,
	 * without a second charge or a second held row */
	switch (d->queue_id != NULL ? verdicts_find(env->verdicts,
	    d->queue_id, a->id) : VERDICT_NONE) {
	case VERDICT_CHARGED:
		say(d, DECIDE_DUNNO, 1, "DUNNO");
		d->owe = 1;
		return;
	case VERDICT_HELD:
		say(d, DECIDE_HOLD, 1, "HOLD mailgov: account %s: this message "
		    "is already on hold", a->name);
		return;
	case VERDICT_NONE:
		break;
	}

	if (a->blocked) {
		d->count = DECIDE_C_REFUSED;
		refuse_alert(d, 0, -1, "blocked", "reject");
		say(d, DECIDE_REJECT, 1, "REJECT 5.7.1 mailgov: account %s is "
		    "blocked", a->name);
		return;
	}
	mode = a->mode;
	if (mode == MODE_PATH)
		mode = queue ? MODE_HOLD : MODE_DEFER;
	/* held mail leaves oldest first: while some of this account's mail
	 * waits, new mail waits behind it instead of overtaking it */
	if (queue && mode == MODE_HOLD && a->n_held > 0) {
		if (hold(env, a, d->rcpts, d)) {
			verdicts_put(env->verdicts, d->queue_id, a->id,
			    VERDICT_HELD);
			say(d, DECIDE_HOLD, 1, "HOLD mailgov: account %s has "
			    "held mail waiting; this message follows it",
			    a->name);
		}
		return;
	}
	if ((env->charge != NULL ? env->charge(env->charge_arg, a, d->rcpts,
	    now, &which, &retry_at) : acct_charge_message(a, d->rcpts, now,
	    &which, &retry_at)) == BUDGET_OK) {
		d->count = DECIDE_C_MESSAGE;
		d->checked = EOM_KINDS;
		say(d, DECIDE_DUNNO, 1, "DUNNO");
		if (d->queue_id != NULL) {
			verdicts_put(env->verdicts, d->queue_id, a->id,
			    VERDICT_CHARGED);
			d->owe = 1;
		}
		return;
	}

	kind = budget_kind_name(which);
	switch (mode) {
	case MODE_HOLD:
		if (!hold(env, a, queue ? d->rcpts : 0, d))
			break;
		verdicts_put(env->verdicts, d->queue_id, a->id, VERDICT_HELD);
		refuse_alert(d, EOM_KINDS, (int)which, kind, "hold");
		say(d, DECIDE_HOLD, 1, "HOLD mailgov: account %s over %s",
		    a->name, kind);
		break;
	case MODE_DEFER:
		d->count = DECIDE_C_REFUSED;
		refuse_alert(d, EOM_KINDS, (int)which, kind, "defer");
		if (retry_at == UINT64_MAX) {
			say(d, DECIDE_DEFER, 1, "DEFER_IF_PERMIT 4.7.1 mailgov: "
			    "%s budget exceeded for account %s, message too "
			    "large for the budget", kind, a->name);
			break;
		}
		secs = retry_at > now ? (retry_at - now + 999999) / 1000000 : 1;
		say(d, DECIDE_DEFER, 1, "DEFER_IF_PERMIT 4.7.1 mailgov: %s "
		    "budget exceeded for account %s, retry after %" PRIu64
		    " s", kind, a->name, secs);
		break;
	default:
		d->count = DECIDE_C_REFUSED;
		refuse_alert(d, EOM_KINDS, (int)which, kind, "reject");
		say(d, DECIDE_REJECT, 1, "REJECT 5.7.1 mailgov: %s budget "
		    "exceeded for account %s", kind, a->name);
		break;
	}
}

/* decide_eom_charges - decide_eom's way to its charge, without deciding */
int
decide_eom_charges(const struct decide_env *env, const struct acct *a,
    const struct decide_req *q, int queue, uint32_t *rcpts)
{
	const char	*err, *qid = NULL;
	uint64_t	 n = 0;
	int		 mode;

	if (a == NULL)
		return 0;
	if (q->rcpt_count == NULL ||
	    num_u64(q->rcpt_count, 0, UINT32_MAX, 0, &n, &err) == -1 ||
	    n == 0)
		n = 1;
	*rcpts = (uint32_t)n;
	if (queue && q->queue_id != NULL && queueid_ok(q->queue_id))
		qid = q->queue_id;
	if (qid != NULL && verdicts_find(env->verdicts, qid, a->id) !=
	    VERDICT_NONE)
		return 0;
	if (a->blocked)
		return 0;
	mode = a->mode;
	if (mode == MODE_PATH)
		mode = queue ? MODE_HOLD : MODE_DEFER;
	if (queue && mode == MODE_HOLD && a->n_held > 0)
		return 0;
	return 1;
}
