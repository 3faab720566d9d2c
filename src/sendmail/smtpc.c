/*
 * smtpc - the SMTP client half of mailgov-sendmail.  One socket, one
 * transaction, lockstep commands (no PIPELINING: the queue is local and a
 * submission has few recipients).  Trusts the server for nothing: reply
 * lines are bounded, a reply has a bounded number of lines, all of them
 * must carry the same code, and every read and write has a deadline.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "smtpc.h"

struct smtpc {
	int	 fd;
	int	 reply_ms;
	uint64_t deadline;		/* monotonic ms: end of the exchange */
	char	 buf[4096];		/* read buffer */
	size_t	 off, fill;
	char	 ehlo[2048];		/* EHLO keywords, " KW1 KW2 ... " */
	int	 err;
	char	 errtext[256];
};

/* fail - record why the exchange failed; returns -1 */
static int __attribute__((format(printf, 3, 4)))
fail(struct smtpc *c, int err, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(c->errtext, sizeof(c->errtext), fmt, ap);
	va_end(ap);
	c->err = err;
	return -1;
}

/* wait_fd - poll for events until the reply or overall deadline */
static int
wait_fd(struct smtpc *c, short events)
{
	uint64_t until = clock_mono_ms() + (uint64_t)c->reply_ms, now, left;
	struct pollfd pfd;
	int	 n;

	if (until > c->deadline)
		until = c->deadline;
	for (;;) {
		if ((now = clock_mono_ms()) >= until)
			return fail(c, SMTPC_ETIMEOUT, "timed out");
		left = until - now;
		pfd.fd = c->fd;
		pfd.events = events;
		pfd.revents = 0;
		n = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return fail(c, SMTPC_ELOCAL, "poll: %s",
			    strerror(errno));
	}
}

/* send_all - write len bytes, each wait bounded by the deadlines */
static int
send_all(struct smtpc *c, const char *p, size_t len)
{
	ssize_t	 n;

	while (len > 0) {
		if (wait_fd(c, POLLOUT) == -1)
			return -1;
		n = send(c->fd, p, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return fail(c, SMTPC_EIO, "write: %s",
			    strerror(errno));
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* read_line - one CRLF (or LF) terminated line, at most SMTPC_LINE_MAX */
static int
read_line(struct smtpc *c, char *line, size_t *len)
{
	size_t	 n = 0;
	ssize_t	 r;

	for (;;) {
		while (c->off < c->fill) {
			char	 ch = c->buf[c->off++];

			if (ch == '\n') {
				if (n > 0 && line[n - 1] == '\r')
					n--;
				line[n] = '\0';
				*len = n;
				return 0;
			}
			if (n >= SMTPC_LINE_MAX + 1)
				return fail(c, SMTPC_EPROTO,
				    "reply line longer than %d bytes",
				    SMTPC_LINE_MAX);
			line[n++] = ch;
		}
		if (wait_fd(c, POLLIN) == -1)
			return -1;
		r = recv(c->fd, c->buf, sizeof(c->buf), 0);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r < 0)
			return fail(c, SMTPC_EIO, "read: %s", strerror(errno));
		if (r == 0)
			return fail(c, SMTPC_EIO, "connection closed");
		c->off = 0;
		c->fill = (size_t)r;
	}
}

/* read_reply - one (multi-line) reply; keeps EHLO keywords when asked */
static int
read_reply(struct smtpc *c, struct smtpc_reply *rp, int is_ehlo)
{
	char	 line[SMTPC_LINE_MAX + 2], clean[256];
	size_t	 len = 0, tlen = 0, elen = 0;
	int	 nlines, code = 0, this;

	rp->code = 0;
	rp->text[0] = '\0';
	if (is_ehlo)
		c->ehlo[0] = '\0';
	for (nlines = 0; nlines < SMTPC_LINES_MAX; nlines++) {
		if (read_line(c, line, &len) == -1)
			return -1;
		if (len < 3 || line[0] < '2' || line[0] > '5' ||
		    line[1] < '0' || line[1] > '9' ||
		    line[2] < '0' || line[2] > '9' ||
		    (len > 3 && line[3] != ' ' && line[3] != '-'))
			return fail(c, SMTPC_EPROTO, "malformed reply: %s",
			    log_clean(clean, sizeof(clean), line, len));
		this = (line[0] - '0') * 100 + (line[1] - '0') * 10 +
		    (line[2] - '0');
		if (code != 0 && this != code)
			return fail(c, SMTPC_EPROTO, "reply codes %d and %d "
			    "mixed in one reply", code, this);
		code = this;
		/* the text: the whole first line, then " / " + later texts */
		log_clean(clean, sizeof(clean), nlines == 0 ? line : line + 4,
		    nlines == 0 ? len : (len > 4 ? len - 4 : 0));
		if (tlen + strlen(clean) + 4 < sizeof(rp->text)) {
			tlen += (size_t)snprintf(rp->text + tlen,
			    sizeof(rp->text) - tlen, "%s%s",
			    nlines ? " / " : "", clean);
		}
		if (is_ehlo && nlines > 0 && len > 4) {
			/* keyword: up to the first blank */
			size_t	 k;

			for (k = 4; k < len && line[k] != ' '; k++)
				;
			if (elen + (k - 4) + 3 < sizeof(c->ehlo)) {
				c->ehlo[elen++] = ' ';
				memcpy(c->ehlo + elen, line + 4, k - 4);
				elen += k - 4;
				c->ehlo[elen] = ' ';
				c->ehlo[elen + 1] = '\0';
			}
		}
		if (len == 3 || line[3] == ' ') {
			rp->code = code;
			return 0;
		}
	}
	return fail(c, SMTPC_EPROTO, "reply of more than %d lines",
	    SMTPC_LINES_MAX);
}

/* connect_one - non-blocking connect with a deadline */
static int
connect_one(const struct addrinfo *ai, int ms, int *saved)
{
	struct pollfd pfd;
	socklen_t sl = sizeof(*saved);
	int	 fd, n;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, ai->ai_protocol);
	if (fd == -1) {
		*saved = errno;
		return -1;
	}
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return fd;
	if (errno != EINPROGRESS) {
		*saved = errno;
		close(fd);
		return -1;
	}
	pfd.fd = fd;
	pfd.events = POLLOUT;
	do {
		n = poll(&pfd, 1, ms);
	} while (n < 0 && errno == EINTR);
	if (n == 0) {
		*saved = ETIMEDOUT;
		close(fd);
		return -1;
	}
	if (n < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, saved, &sl) == -1 ||
	    *saved != 0) {
		if (n < 0)
			*saved = errno;
		close(fd);
		return -1;
	}
	return fd;
}

/* smtpc_connect - see smtpc.h */
int
smtpc_connect(const char *host, const char *port, int ms, int *err,
    char *errbuf, size_t errlen)
{
	struct addrinfo hints, *res = NULL, *ai;
	int	 fd = -1, gai, saved = ECONNREFUSED;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if ((gai = getaddrinfo(host, port, &hints, &res)) != 0) {
		*err = SMTPC_ECONNECT;
		snprintf(errbuf, errlen, "%s", gai_strerror(gai));
		return -1;
	}
	for (ai = res; ai != NULL && fd == -1; ai = ai->ai_next)
		fd = connect_one(ai, ms, &saved);
	freeaddrinfo(res);
	if (fd == -1) {
		*err = SMTPC_ECONNECT;
		snprintf(errbuf, errlen, "%s", strerror(saved));
	}
	return fd;
}

/* smtpc_open - see smtpc.h */
struct smtpc *
smtpc_open(const char *host, const char *port, int reply_ms, int total_ms,
    struct smtpc_reply *greeting, int *err, char *errbuf, size_t errlen)
{
	struct smtpc *c;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		*err = SMTPC_ELOCAL;
		snprintf(errbuf, errlen, "out of memory");
		return NULL;
	}
	/* a negative bound passes at once, as it always did */
	c->reply_ms = reply_ms > 0 ? reply_ms : 0;
	c->deadline = clock_mono_ms() + (uint64_t)(total_ms > 0 ? total_ms : 0);
	if ((c->fd = smtpc_connect(host, port, reply_ms, err, errbuf,
	    errlen)) == -1) {
		free(c);
		return NULL;
	}
	if (read_reply(c, greeting, 0) == -1) {
		*err = c->err;
		snprintf(errbuf, errlen, "%s", c->errtext);
		smtpc_close(c);
		return NULL;
	}
	return c;
}

/* smtpc_cmd - see smtpc.h */
int
smtpc_cmd(struct smtpc *c, struct smtpc_reply *rp, const char *fmt, ...)
{
	/* the longest is EHLO with the caller's origin (1500 bytes), still
	 * within Postfix's 2048-byte line_length_limit */
	char	 line[1600];
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line) - 2 ||
	    strpbrk(line, "\r\n") != NULL)
		panic("smtpc_cmd: unsafe command line");	/* caller's bug */
	log_debug(">>> %s", line);
	memcpy(line + n, "\r\n", 2);
	if (send_all(c, line, (size_t)n + 2) == -1)
		return -1;
	if (read_reply(c, rp, strncasecmp(line, "EHLO", 4) == 0) == -1)
		return -1;
	log_debug("<<< %s", rp->text);
	return 0;
}

/* smtpc_ehlo_has - see smtpc.h */
int
smtpc_ehlo_has(const struct smtpc *c, const char *kw)
{
	char	 want[64];
	const char *p;
	size_t	 n;

	if (snprintf(want, sizeof(want), " %s ", kw) >= (int)sizeof(want))
		return 0;
	n = strlen(want);
	for (p = c->ehlo; *p != '\0'; p++)
		if (strncasecmp(p, want, n) == 0)
			return 1;
	return 0;
}

/* smtpc_data - see smtpc.h */
int
smtpc_data(struct smtpc *c, const char *text, size_t len,
    struct smtpc_reply *rp)
{
	if (send_all(c, text, len) == -1 || send_all(c, ".\r\n", 3) == -1)
		return -1;
	if (read_reply(c, rp, 0) == -1)
		return -1;
	log_debug("<<< %s", rp->text);
	return 0;
}

/* smtpc_error - see smtpc.h */
int
smtpc_error(const struct smtpc *c, const char **text)
{
	*text = c->errtext;
	return c->err;
}

/* smtpc_close - close the socket and free the handle */
void
smtpc_close(struct smtpc *c)
{
	if (c == NULL)
		return;
	if (c->fd != -1)
		close(c->fd);
	free(c);
}
