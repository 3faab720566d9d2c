/*
 * mark - the header that ties a message on the queue instance to its
 * account, so that mail Postfix held while mailgovd could not answer
 * (killed in the middle of a transaction) is adopted by the account that
 * sent it, not by the default account.
 *
 * The policy server has Postfix prepend it at the first accepted
 * recipient: "X-Mailgov-Account: NAME QUEUE_ID MAC", where MAC is
 * SipHash-2-4-128 of "QUEUE_ID NAME" under a 128-bit key kept in a file
 * next to the database (mode 0600).  The queue ID binds the mark to the
 * one queue file it was made for: a web user who copies a mark it saw
 * (a copy of its own mail, or another site's sent to it) into its own
 * headers gains nothing, because its message has another queue ID.  The
 * queue instance removes the header on its way out (smtp_header_checks).
 *
 * Trusts: nothing in a header; only a MAC made with the key.
 */
#ifndef MAILGOV_MARK_H
#define MAILGOV_MARK_H

#include <stddef.h>
#include <stdint.h>

#define MARK_HEADER	"X-Mailgov-Account"
#define MARK_KEYLEN	16
#define MARK_VALUE_MAX	128	/* NAME(63) QUEUE_ID(31) MAC(32), spaces */

/* mark_siphash128 - SipHash-2-4 with a 128-bit tag (out: 16 bytes) */
void	mark_siphash128(const uint8_t key[MARK_KEYLEN], const void *msg,
	    size_t len, uint8_t out[16]);
/*
 * mark_key_load - read the key at path; create it (0600, random) when
 * there is none.  0, or -1 with err filled.
 */
int	mark_key_load(const char *path, uint8_t key[MARK_KEYLEN], char *err,
	    size_t errlen);
/* mark_make - the header's value for account name and queue_id; -1 when
 * either does not fit */
int	mark_make(const uint8_t key[MARK_KEYLEN], const char *queue_id,
	    const char *name, char *out, size_t outlen);
/*
 * mark_check - is value (a header's value, as Postfix stored it) a mark
 * made with key for queue_id?  The account's name goes to name; 0, or -1
 * for anything else.
 */
int	mark_check(const uint8_t key[MARK_KEYLEN], const char *queue_id,
	    const char *value, char *name, size_t namelen);

#endif
