/*
 * report - what a notification says, pure text: the environment of
 * alert_command and the report mail of alert_mail.  No I/O here, so the
 * unit tests see exactly what a program or a mailbox gets.
 *
 * Everything in a struct report but the recipients may come from the web
 * user (an account name the store accepted, the alert's fields, a script
 * claim): it is cut and made printable ASCII here, wherever it goes, so no
 * CR or LF reaches a header, a body line or a variable.  The recipients
 * are the admin's and the store's, checked with addr_ok() on their way in
 * and again here.
 */
#ifndef MAILGOV_REPORT_H
#define MAILGOV_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "spawn.h"

#define REPORT_RCPTS	2		/* alert_mail and the contact */
#define REPORT_VALUE	512		/* bytes of one cleaned value */
#define REPORT_MAX	8192		/* bytes of a whole report mail */
#define REPORT_ENVLEN	(10 * (REPORT_VALUE + 32))

struct report {
	const char	*host;		/* this machine's name */
	const char	*account;
	const char	*event;		/* budget_over, blocked, ... */
	const char	*fields;	/* the alert's key=value fields */
	const char	*script;	/* who sent it, "" when unknown */
	int64_t		 when;		/* unix seconds */
	uint64_t	 held;		/* messages on hold now */
	uint64_t	 held_bytes;
	int64_t		 oldest;	/* unix seconds, 0: none */
	unsigned	 interval;	/* seconds between two reports */
	const char	*rcpt[REPORT_RCPTS];	/* NULL or "" unused */
};

/*
 * report_script - the script that sent it: the alert's script= field,
 * which script attribution puts there, cleaned into buf; "" when the
 * alert has none.  The one place MAILGOV_SCRIPT and the report's
 * "script:" line come from.
 */
char	*report_script(const char *fields, char *buf, size_t len);

/* report_clean - src cut to len - 1 bytes of printable ASCII; any other
 * byte becomes '?'.  Returns dst. */
char	*report_clean(char *dst, size_t len, const char *src);

/*
 * report_env - alert_command's variables (spawn's env) into env, their
 * text in buf: MAILGOV_EVENT, _ACCOUNT, _SCRIPT, _DETAIL, _HELD, _TIME,
 * _HOST, _RELEASE.  0, or -1 when buf is too small.
 */
int	report_env(const struct report *, char *env[SPAWN_ENV_MAX + 1],
	    char *buf, size_t len);

/*
 * report_mail - the whole message for sendmail -i (headers, a blank
 * line, the body) into buf; its length, or 0 when it has no valid
 * recipient or does not fit.
 */
size_t	report_mail(const struct report *, char *buf, size_t len);

/* report_rcpts - the valid, distinct recipients into out; their number */
size_t	report_rcpts(const struct report *, const char *out[REPORT_RCPTS]);

#endif
