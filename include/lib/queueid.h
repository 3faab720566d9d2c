/*
 * queueid - Postfix queue IDs, the one validator every module uses.
 *
 * Short IDs are hexadecimal, long ones (enable_long_queue_ids) base 52
 * with a 'z' separator: both are alphanumeric.  Six to 31 characters:
 * no real ID is shorter, and 31 is what the store and the release
 * helper keep.  An ID that passes can never look like an option to
 * postsuper or postcat, nor carry a path.
 *
 * Trusts: nothing; a pure function.
 */
#ifndef MAILGOV_QUEUEID_H
#define MAILGOV_QUEUEID_H

#define QUEUEID_MIN	6
#define QUEUEID_MAX	31	/* characters, without the NUL */

/* queueid_ok - [0-9A-Za-z]{6,31}; 0 for NULL */
int	queueid_ok(const char *);

#endif
