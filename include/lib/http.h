/*
 * http - the bounded parser of an HTTP/1.x request head (the request line
 * and the header fields), for the daemon's metrics listener.  It takes
 * the bytes read so far and says: more is needed, or the head is complete
 * and well-formed, or which 4xx/5xx it deserves.  Nothing is copied but
 * the method and the path, both bounded; no body is ever read.
 */
#ifndef MAILGOV_HTTP_H
#define MAILGOV_HTTP_H

#include <stddef.h>

#define HTTP_HEAD_MAX	4096	/* request line and header fields */
#define HTTP_TARGET_MAX	256	/* the request target, with its query */
#define HTTP_FIELDS_MAX	32	/* header fields */

#define HTTP_MORE	0	/* not complete yet: read more */

struct http_req {
	char	 method[8];		/* "GET" or "HEAD" */
	char	 path[HTTP_TARGET_MAX];	/* the target without its query */
	int	 minor;			/* HTTP/1.<minor> */
	size_t	 len;			/* bytes of the head, blank line too */
};

/*
 * http_parse - look at the len bytes at buf (what the client sent so
 * far).  Returns HTTP_MORE, 200 when r holds a complete GET or HEAD
 * request, or the status to answer: 400 (malformed, HTTP/0.9, no Host in
 * HTTP/1.1, a body), 405 (another method), 414 (target too long), 431
 * (head larger than HTTP_HEAD_MAX or too many fields), 505 (not
 * HTTP/1.x).  A verdict other than HTTP_MORE never changes when more
 * bytes are added.
 */
int	http_parse(const char *buf, size_t len, struct http_req *r);

/* http_reason - "Not Found" for 404, ...; "Error" for a code it does not
 * know */
const char *http_reason(int status);

#endif
