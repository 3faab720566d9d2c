/*
 * mailer - a one-message SMTP session on the loop (see mailer.h).
 *
 * Trusts: nothing the server says beyond a reply code: a line is read
 * into a bounded buffer (a longer one is cut, never grown) and only its
 * first three digits and its fourth byte are looked at.  The recipients
 * are the caller's, checked with addr_ok() again before they are written.
 */
#include <sys/epoll.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "clock.h"
#include "log.h"
#include "mailer.h"

#define MAILER_LINE	512		/* bytes of a reply line kept */
#define MAILER_OUT	(3 * 8192)	/* the message, CRLF and stuffed */

enum state { M_GREET, M_EHLO, M_MAIL, M_RCPT, M_DATA, M_BODY };

struct mailer {
	struct loop	*loop;
	int		 fd;
	enum state	 state;
	size_t		 rcpt_i, nrcpt;
	char		 rcpt[MAILER_RCPTS][ADDR_MAX + 1];
	char		 line[MAILER_LINE];
	size_t		 linelen;
	char		*out;		/* what is still to be written */
	size_t		 outlen, outoff;
	char		*body;		/* the data, ready to write */
	size_t		 bodylen;
	uint64_t	 deadline;
	void		(*done)(void *, const char *);
	void		*arg;
};

/* finish - tell the caller once, close, free */
static void
finish(struct mailer *m, const char *why)
{
	void (*done)(void *, const char *) = m->done;
	void *arg = m->arg;

	mailer_abort(m);
	if (done != NULL)
		done(arg, why);
}

/* queue - the next bytes to write; the writable event sends them */
static int
queue(struct mailer *m, const char *s, size_t len)
{
	free(m->out);
	m->outoff = 0;
	m->outlen = len;
	if ((m->out = malloc(len)) == NULL)
		return -1;
	memcpy(m->out, s, len);
	return loop_mod(m->loop, m->fd, EPOLLIN | EPOLLOUT);
}

/* command - one command line: verb, argument, closing */
static int
command(struct mailer *m, const char *verb, const char *arg,
    const char *close_)
{
	char	 buf[ADDR_MAX + 32];
	int	 n;

	n = snprintf(buf, sizeof(buf), "%s%s%s\r\n", verb, arg, close_);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return -1;
	return queue(m, buf, (size_t)n);
}

/* stuff - msg with CRLF line ends and leading dots doubled, then "." */
static char *
stuff(const char *msg, size_t *len)
{
	size_t	 n = strlen(msg), i, o = 0;
	char	*b;

	if (n > MAILER_OUT / 3 || (b = malloc(n * 3 + 8)) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		if ((i == 0 || msg[i - 1] == '\n') && msg[i] == '.')
			b[o++] = '.';
		if (msg[i] == '\n')
			b[o++] = '\r';
		if (msg[i] != '\r')
			b[o++] = msg[i];
	}
	if (o > 0 && b[o - 1] != '\n') {
		b[o++] = '\r';
		b[o++] = '\n';
	}
	memcpy(b + o, ".\r\n", 3);
	*len = o + 3;
	return b;
}

/* reply - a whole reply with code; the next step, or finish */
static void
reply(struct mailer *m, int code)
{
	char	 why[MAILER_LINE + 64];
	int	 ok = 0;

	switch (m->state) {
	case M_GREET:
		ok = code == 220 && command(m, "EHLO ", "localhost", "") == 0;
		m->state = M_EHLO;
		break;
	case M_EHLO:
		ok = code == 250 && command(m, "MAIL FROM:<", "", ">") == 0;
		m->state = M_MAIL;
		break;
	case M_MAIL:
		ok = code == 250 &&
		    command(m, "RCPT TO:<", m->rcpt[0], ">") == 0;
		m->state = M_RCPT;
		m->rcpt_i = 1;
		break;
	case M_RCPT:
		if (code != 250 && code != 251)
			break;
		if (m->rcpt_i < m->nrcpt)
			ok = command(m, "RCPT TO:<", m->rcpt[m->rcpt_i++],
			    ">") == 0;
		else {
			ok = command(m, "DATA", "", "") == 0;
			m->state = M_DATA;
		}
		break;
	case M_DATA:
		ok = code == 354 && queue(m, m->body, m->bodylen) == 0;
		m->state = M_BODY;
		break;
	case M_BODY:
		if (code != 250)
			break;
		/* the message is the server's now; QUIT is a courtesy,
		 * written once without waiting */
		(void)!write(m->fd, "QUIT\r\n", 6);
		finish(m, NULL);
		return;
	}
	if (!ok) {
		snprintf(why, sizeof(why), "the server said: %s", m->line);
		finish(m, why);
	}
}

/* on_read - reply lines; a final one ("250 ", not "250-") acts */
static void
on_read(struct mailer *m)
{
	char	 buf[1024], clean[MAILER_LINE];
	ssize_t	 n, i;
	int	 code;

	if ((n = read(m->fd, buf, sizeof(buf))) == -1) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		finish(m, strerror(errno));
		return;
	}
	if (n == 0) {
		finish(m, "the server closed the connection");
		return;
	}
	for (i = 0; i < n; i++) {
		if (buf[i] != '\n') {
			if (m->linelen < sizeof(m->line) - 1)
				m->line[m->linelen++] = buf[i];
			continue;
		}
		m->line[m->linelen] = '\0';
		if (m->linelen > 0 && m->line[m->linelen - 1] == '\r')
			m->line[--m->linelen] = '\0';
		m->linelen = 0;
		if (strlen(m->line) < 3 || m->line[0] < '1' ||
		    m->line[0] > '5') {
			finish(m, "a reply that is not SMTP");
			return;
		}
		if (m->line[3] == '-')
			continue;
		code = (m->line[0] - '0') * 100 + (m->line[1] - '0') * 10 +
		    (m->line[2] - '0');
		log_clean(clean, sizeof(clean), m->line, strlen(m->line));
		snprintf(m->line, sizeof(m->line), "%s", clean);
		reply(m, code);
		return;		/* one reply per command: the rest is junk */
	}
}

/* on_write - send what is queued; then wait for the reply only */
static void
on_write(struct mailer *m)
{
	ssize_t	 n;

	while (m->outoff < m->outlen) {
		n = write(m->fd, m->out + m->outoff, m->outlen - m->outoff);
		if (n == -1) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			finish(m, strerror(errno));
			return;
		}
		m->outoff += (size_t)n;
	}
	(void)loop_mod(m->loop, m->fd, EPOLLIN);
}

/* on_event - the loop's handler */
static void
on_event(int fd, uint32_t events, void *arg)
{
	struct mailer *m = arg;
	int	 err = 0;
	socklen_t len = sizeof(err);

	(void)fd;
	if (events & (EPOLLERR | EPOLLHUP) && !(events & EPOLLIN)) {
		(void)getsockopt(m->fd, SOL_SOCKET, SO_ERROR, &err, &len);
		finish(m, err ? strerror(err) : "connection lost");
		return;
	}
	if (events & EPOLLOUT) {
		on_write(m);
		return;		/* m may be gone; the next event reads */
	}
	if (events & EPOLLIN)
		on_read(m);
}

/* mailer_start - see mailer.h */
struct mailer *
mailer_start(struct loop *loop, uint16_t port, const char *const *rcpt,
    size_t n, const char *msg, unsigned timeout_ms,
    void (*done)(void *, const char *), void *arg)
{
	struct sockaddr_in sin;
	struct mailer *m;
	size_t	 i;

	if (n == 0 || n > MAILER_RCPTS)
		return NULL;
	if ((m = calloc(1, sizeof(*m))) == NULL) {
		log_warn("mailer");
		return NULL;
	}
	m->fd = -1;
	m->loop = loop;
	for (i = 0; i < n; i++) {
		if (!addr_ok(rcpt[i], 1, NULL)) {
			log_warnx("mailer: a bad recipient");
			free(m);
			return NULL;
		}
		snprintf(m->rcpt[i], sizeof(m->rcpt[i]), "%s", rcpt[i]);
	}
	m->nrcpt = n;
	if ((m->body = stuff(msg, &m->bodylen)) == NULL) {
		log_warnx("mailer: the message is too large");
		free(m);
		return NULL;
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((m->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1 ||
	    (connect(m->fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 &&
	    errno != EINPROGRESS) ||
	    loop_add(loop, m->fd, EPOLLIN, on_event, m) == -1) {
		log_warn("mailer: 127.0.0.1:%u", (unsigned)port);
		if (m->fd != -1)
			close(m->fd);
		free(m->body);
		free(m);
		return NULL;
	}
	m->state = M_GREET;
	m->deadline = clock_mono_ms() + timeout_ms;
	m->done = done;
	m->arg = arg;
	return m;
}

/* mailer_tick - see mailer.h */
void
mailer_tick(struct mailer *m, uint64_t now_ms)
{
	if (m != NULL && now_ms >= m->deadline)
		finish(m, "timed out");
}

/* mailer_abort - see mailer.h */
void
mailer_abort(struct mailer *m)
{
	if (m == NULL)
		return;
	if (m->fd != -1) {
		loop_del(m->loop, m->fd);
		close(m->fd);
	}
	free(m->out);
	free(m->body);
	free(m);
}
