/*
 * verdicts - the queue instance's recent END-OF-MESSAGE verdicts, by
 * Postfix queue ID.
 *
 * Postfix asks a policy server again, on a new connection, when an answer
 * does not come in time, and then applies default_action (HOLD on the
 * queue instance).  A message must be charged once whatever happens: a
 * repeated request gets the verdict already given, and an accepting
 * answer that was never delivered turns the message into a held one
 * without a second charge.
 *
 * A fixed table, direct-mapped: a newer queue ID takes an older one's
 * slot.  Retries come within seconds, so losing an old entry costs
 * nothing.  Pure: no I/O, no clock.
 *
 * Trusts: the caller validates queue IDs (queueid_ok).
 */
#ifndef MAILGOV_VERDICTS_H
#define MAILGOV_VERDICTS_H

#include <stddef.h>
#include <stdint.h>

enum verdict {
	VERDICT_NONE = 0,	/* not seen (or forgotten) */
	VERDICT_CHARGED,	/* accepted and charged */
	VERDICT_HELD		/* on hold, with a held row */
};

struct verdicts;

/* verdicts_new - a table of about slots entries (a power of two is
 * used); NULL when out of memory */
struct verdicts	*verdicts_new(size_t slots);
void		 verdicts_free(struct verdicts *);
/* verdicts_find - what account was told about queue_id */
enum verdict	 verdicts_find(const struct verdicts *, const char *queue_id,
		    int64_t account);
/* verdicts_put - remember (or change) the verdict for queue_id; an ID
 * longer than Postfix's (31 bytes) is not remembered */
void		 verdicts_put(struct verdicts *, const char *queue_id,
		    int64_t account, enum verdict);

#endif
