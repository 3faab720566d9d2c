/*
 * smtpc - a small, blocking, bounded SMTP client for mailgov-sendmail's
 * one transaction with the queue instance.  Every wait has a deadline
 * (per reply and overall), replies are parsed with a bounded line length
 * and line count, and nothing the server says is trusted to be printable.
 */
#ifndef MAILGOV_SMTPC_H
#define MAILGOV_SMTPC_H

#include <stddef.h>

#define SMTPC_LINE_MAX	1000	/* reply line, CRLF excluded (RFC 5321: 512) */
#define SMTPC_LINES_MAX	100	/* lines in one multi-line reply */

struct smtpc;

/* What went wrong, when a call returns -1. */
enum smtpc_err {
	SMTPC_EOK = 0,
	SMTPC_ECONNECT,		/* no connection (refused, unreachable) */
	SMTPC_ETIMEOUT,		/* a deadline passed */
	SMTPC_EIO,		/* the connection broke */
	SMTPC_EPROTO,		/* the reply is no SMTP reply */
	SMTPC_ELOCAL,		/* a local failure (memory, socket()) */
};

struct smtpc_reply {
	int	 code;		/* 200..599 */
	char	 text[512];	/* cleaned, lines joined by " / " */
};

/*
 * smtpc_open - connect to host:port (numeric or resolvable) within
 * connect_ms and read the greeting.  reply_ms bounds every later reply
 * and total_ms the whole exchange.  Returns NULL with *err and errbuf set.
 */
struct smtpc *smtpc_open(const char *host, const char *port, int reply_ms,
	    int total_ms, struct smtpc_reply *greeting, int *err,
	    char *errbuf, size_t errlen);

/*
 * smtpc_connect - a connected (non-blocking) socket to host:port, each
 * address given ms, or -1 with *err and errbuf set.  For a caller that
 * speaks for itself (mailgov-sendmail -bs relays the client's SMTP).
 */
int	smtpc_connect(const char *host, const char *port, int ms, int *err,
	    char *errbuf, size_t errlen);

/* smtpc_cmd - send one command line (no CRLF) and read its reply */
int	smtpc_cmd(struct smtpc *, struct smtpc_reply *, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/*
 * smtpc_ehlo_has - whether the last EHLO reply announced keyword (case
 * insensitive, e.g. "8BITMIME", "SMTPUTF8", "SIZE").
 */
int	smtpc_ehlo_has(const struct smtpc *, const char *keyword);

/*
 * smtpc_data - send the already dot-stuffed CRLF text, then ".", and read
 * the final reply.  The DATA command itself goes through smtpc_cmd.
 */
int	smtpc_data(struct smtpc *, const char *text, size_t len,
	    struct smtpc_reply *);

/* smtpc_error - the kind and text of the last failure */
int	smtpc_error(const struct smtpc *, const char **text);

void	smtpc_close(struct smtpc *);

#endif
