/*
 * pparse - the Postfix policy request parser, pure and bounded.  It reads
 * name=value lines ended by "\n" from a caller's buffer until the empty
 * line that ends a request, and cuts the lines in place (the '=' and the
 * '\n' become NUL) so names and values are C strings inside that buffer.
 *
 * Trusts nothing in the buffer.  Every limit below is checked before the
 * byte that would break it is accepted, so a client can never make the
 * caller buffer more than PP_REQ_MAX bytes, and a long line is never cut
 * into two attributes.  Parsing is resumable: feed more bytes and call
 * again; bytes already scanned are not scanned twice.
 */
#ifndef MAILGOV_PPARSE_H
#define MAILGOV_PPARSE_H

#include <stddef.h>

#define PP_LINE_MAX	2048	/* bytes in one line, without its "\n" */
#define PP_REQ_MAX	16384	/* bytes in one request, every "\n" counted */
#define PP_ATTR_MAX	128	/* name=value lines in one request */

enum pp_status {
	PP_DONE = 0,		/* a whole request: req->len bytes used */
	PP_MORE,		/* need more bytes */
	PP_ERR_LINE,		/* a line longer than PP_LINE_MAX */
	PP_ERR_SIZE,		/* a request longer than PP_REQ_MAX */
	PP_ERR_ATTRS,		/* more than PP_ATTR_MAX attributes */
	PP_ERR_NUL,		/* a NUL byte */
	PP_ERR_SYNTAX,		/* a line without '=' or with an empty name */
	PP_ERR_REQUEST,		/* no request=smtpd_access_policy */
};

struct pp_attr {
	const char	*name;		/* NUL-terminated, inside the buffer */
	const char	*value;		/* NUL-terminated, may be "" */
};

struct pp_req {
	/* parser state: zero it (pp_init) before a new request */
	size_t		pos;		/* bytes scanned so far */
	size_t		line;		/* where the current line starts */
	int		has_request;
	/* result */
	unsigned	n;
	struct pp_attr	attr[PP_ATTR_MAX];
	size_t		len;		/* bytes of the request, on PP_DONE */
};

/* pp_init - ready req for a new request at the start of the buffer */
void	pp_init(struct pp_req *);

/*
 * pp_parse - scan buf[0..len) for one request.  buf must be the same
 * buffer (with the same first bytes) on every call for one request; the
 * caller may only append.  On PP_DONE the request is req->len bytes long
 * and attributes point into buf; call pp_init before the next one.
 */
enum pp_status pp_parse(struct pp_req *, char *buf, size_t len);

/* pp_get - the value of the first attribute called name, or NULL */
const char *pp_get(const struct pp_req *, const char *name);

/* pp_strerror - a short phrase for a status, for the log */
const char *pp_strerror(enum pp_status);

#endif
