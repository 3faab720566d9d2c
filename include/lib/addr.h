/*
 * addr - the one validator of a notification address: the admin's
 * alert_mail and an account's contact.  Deliberately narrower than RFC
 * 5321: one address, local@domain (or a bare local name where allowed),
 * the local part of letters, digits and . _ + - = starting with a letter
 * or digit, the domain of LDH labels, at most ADDR_MAX bytes.  So an
 * address can never carry a CR, LF, comma, space, quote or angle bracket
 * into a header, nor start with '-' on a command line.
 */
#ifndef MAILGOV_ADDR_H
#define MAILGOV_ADDR_H

#define ADDR_MAX	254	/* bytes, RFC 5321's path limit less <> */

/* addr_ok - 1 if s is such an address; a bare local name only when
 * local_ok.  *why says what is wrong otherwise (may be NULL). */
int	addr_ok(const char *s, int local_ok, const char **why);

#endif
