/*
 * mailgov-sendmail - a sendmail-compatible submitter for PHP's
 * sendmail_path.  Reads one message on stdin, checks and converts it
 * (msg.c), and hands it over SMTP (smtpc.c) to the Postfix queue instance,
 * which attributes it to the calling web UID by the socket's owner.
 *
 * Runs as the unprivileged caller and trusts nothing it is given: not the
 * arguments, not stdin, not the environment (MAILGOV_SENDMAIL_* only
 * choose where to connect, which the caller could do anyway), and not the
 * server's replies.  Exit codes follow sysexits(3) as sendmail's do.
 *
 * With -bs (SMTP on stdin/stdout, what Symfony Mailer and Laravel use by
 * default) it does not speak SMTP itself: it connects to the same queue
 * instance and copies bytes both ways, so the queue's own smtpd talks to
 * the client and attributes the connection to the caller exactly as in
 * the normal mode.  Only the queue's last reply line is looked at, to
 * choose the exit status.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "log.h"
#include "msg.h"
#include "num.h"
#include "origin.h"
#include "smtpc.h"

#define DEFAULT_HOST	"127.0.0.1"
#define DEFAULT_PORT	"2525"
#define REPLY_MS	(30 * 1000)
#define TOTAL_MS	(300 * 1000)
/*
 * -bs: the longest time with no byte either way.  Postfix's smtpd_timeout
 * (300 s by default) already bounds an idle client on the queue instance;
 * a shorter limit here would cut long-lived clients (a mail worker between
 * jobs) that the server itself would still serve.
 */
#define IDLE_MS		(300 * 1000)
#define RELAY_BUF	16384		/* -bs: bytes buffered each way */

struct opts {
	int	 extract;		/* -t */
	int	 ignore_dots;		/* -i, -oi */
	int	 verbose;		/* -v */
	int	 dashdash;		/* "--" ended the options */
	int	 have_sender;		/* -f or -r given */
	int	 smtp;			/* -bs: SMTP on stdin/stdout */
	char	 sender[MSG_ADDR_MAX + 1];
	const char *full_name;		/* -F */
	const char *host, *port;
	size_t	 max_size;
	/* the greeting name: who called us (origin.h), a claim that the
	 * policy server keeps beside the kernel's answer to who sent */
	char	 helo[ORIGIN_HELO_MAX + 1];
};

/* usage - the one-screen summary; to stdout for --help, else stderr */
static void
usage(FILE *fp)
{
	fprintf(fp, "usage: mailgov-sendmail [-t] [-i] [-oi] [-f sender] "
	    "[-F full-name] [-v] [--] [recipient ...]\n"
	    "       mailgov-sendmail -bs [-i]\n"
	    "The message is read from stdin and submitted by SMTP to "
	    "the mailgov queue\n(MAILGOV_SENDMAIL_HOST, default " DEFAULT_HOST
	    ", MAILGOV_SENDMAIL_PORT, default " DEFAULT_PORT ").\n"
	    "With -bs, stdin and stdout carry an SMTP conversation with "
	    "that queue.\n");
}

/* bad_usage - report a command-line error and exit EX_USAGE */
static void __attribute__((noreturn, format(printf, 1, 2)))
bad_usage(const char *fmt, ...)
{
	char	 msg[512];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warnx("%s", msg);
	exit(EX_USAGE);
}

/* option_o - the sendmail -oX options: -oi matters, the rest do not */
static void
option_o(struct opts *o, const char *v)
{
	char	 clean[64];

	if (strcmp(v, "i") == 0)
		o->ignore_dots = 1;
	/* delivery mode (-odb/-odi/...), error mode (-oem/-oee/...), me-too */
	else if (v[0] == 'd' || v[0] == 'e' || strcmp(v, "m") == 0)
		;
	else
		log_info("ignoring option -o%s",
		    log_clean(clean, sizeof(clean), v, strlen(v)));
}

/* option_b - the sendmail -bX modes: -bm (deliver) and -bs (SMTP) */
static void
option_b(struct opts *o, const char *v)
{
	char	 clean[64];

	/* as in sendmail, the last -b option wins */
	if (strcmp(v, "m") == 0) {
		o->smtp = 0;
		return;
	}
	if (strcmp(v, "s") == 0) {
		o->smtp = 1;
		return;
	}
	log_clean(clean, sizeof(clean), v, strlen(v));
	bad_usage("mode -b%s is not supported: only message submission "
	    "(-bm) and SMTP on standard input (-bs) are", clean);
}

/* parse_args - sendmail's options, clustered or not; returns argv index */
static int
parse_args(struct opts *o, int argc, char **argv)
{
	char	 clean[64];
	int	 i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		size_t	 k;

		if (strcmp(a, "--") == 0) {
			o->dashdash = 1;
			return i + 1;
		}
		if (strcmp(a, "--help") == 0) {
			usage(stdout);
			exit(EX_OK);
		}
		if (a[0] != '-' || a[1] == '\0')
			return i;
		for (k = 1; a[k] != '\0'; k++) {
			char	 c = a[k];
			const char *v;

			switch (c) {
			case 't': o->extract = 1; continue;
			case 'i': o->ignore_dots = 1; continue;
			case 'v': o->verbose = 1; continue;
			/* no aliasing, me-too, initial submission: no-ops */
			case 'm': case 'n': case 'U': case 'G': case 'c':
			case 's':
				continue;
			case 'I':
				bad_usage("-I (newaliases) is not supported");
			case 'q':
				bad_usage("queue runs (-q) are not supported: "
				    "the mailgov queue is Postfix's");
			case 'f': case 'r': case 'F': case 'o': case 'O':
			case 'b': case 'N': case 'R': case 'V': case 'B':
			case 'h': case 'L': case 'C': case 'X': case 'd':
			case 'A':
				break;
			default:
				bad_usage("unknown option -%s",
				    log_clean(clean, sizeof(clean), &a[k], 1));
			}
			/* options with a value: "-fuser" or "-f user" */
			if (a[k + 1] != '\0')
				v = &a[k + 1];
			else if (i + 1 < argc)
				v = argv[++i];
			else
				bad_usage("option -%c needs a value", c);
			switch (c) {
			case 'f': case 'r':
				if (msg_sender(v, o->sender,
				    sizeof(o->sender)) == -1)
					bad_usage("bad sender address: %s",
					    log_clean(clean, sizeof(clean), v,
					    strlen(v)));
				o->have_sender = 1;
				break;
			case 'F':
				o->full_name = v;
				break;
			case 'o':
				option_o(o, v);
				break;
			case 'b':
				option_b(o, v);
				break;
			case 'N': case 'R': case 'V': case 'O': case 'C':
			case 'X': case 'd':
				log_info("ignoring option -%c %s", c,
				    log_clean(clean, sizeof(clean), v,
				    strlen(v)));
				break;
			default:		/* -B, -h, -L, -A: nothing to do */
				break;
			}
			break;			/* the value ended this word */
		}
	}
	return i;
}

/* env_config - where the queue is and how big a message may be */
static void
env_config(struct opts *o)
{
	const char *v, *err;
	uint64_t n;

	o->host = DEFAULT_HOST;
	o->port = DEFAULT_PORT;
	o->max_size = MSG_SIZE_DEFAULT;
	if ((v = getenv("MAILGOV_SENDMAIL_HOST")) != NULL && *v != '\0') {
		if (strlen(v) > 255 || strpbrk(v, " \t\r\n") != NULL) {
			log_warnx("MAILGOV_SENDMAIL_HOST: not a host name");
			exit(EX_CONFIG);
		}
		o->host = v;
	}
	if ((v = getenv("MAILGOV_SENDMAIL_PORT")) != NULL && *v != '\0') {
		if (num_u64(v, 1, 65535, 0, &n, &err) == -1) {
			log_warnx("MAILGOV_SENDMAIL_PORT: %s", err);
			exit(EX_CONFIG);
		}
		o->port = v;
	}
	if ((v = getenv("MAILGOV_SENDMAIL_MAX")) != NULL && *v != '\0') {
		if (num_u64(v, 1, 1UL << 30, 0, &n, &err) == -1) {
			log_warnx("MAILGOV_SENDMAIL_MAX: %s", err);
			exit(EX_CONFIG);
		}
		o->max_size = (size_t)n;
	}
}

/* dot_line - whether [p, p+n) is a line "." (bare CRs do not count) */
static int
dot_line(const char *p, size_t n)
{
	size_t	 i, dots = 0;

	for (i = 0; i < n; i++) {
		if (p[i] == '.')
			dots++;
		else if (p[i] != '\r')
			return 0;
	}
	return dots == 1;
}

/*
 * read_input - stdin up to limit bytes.  Without -i, stop after a lone
 * "." line as sendmail does (a caller may keep the pipe open and wait).
 * *more says that input was left unread at the limit.
 */
static char *
read_input(size_t limit, int dot_ends, size_t *len, int *more)
{
	size_t	 cap = 65536, fill = 0, line = 0, scan = 0;
	char	*buf, *nb;
	ssize_t	 n;

	*more = 0;
	if (cap > limit)
		cap = limit;		/* so fill <= cap <= limit throughout */
	if ((buf = malloc(cap)) == NULL)
		goto nomem;
	for (;;) {
		if (fill == limit) {
			*more = 1;
			break;
		}
		if (fill == cap) {
			cap = cap * 2 > limit ? limit : cap * 2;
			if ((nb = realloc(buf, cap)) == NULL)
				goto nomem;
			buf = nb;
		}
		n = read(STDIN_FILENO, buf + fill, cap - fill);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			log_warn("read standard input");
			exit(EX_IOERR);
		}
		if (n == 0)
			break;
		fill += (size_t)n;
		for (; dot_ends && scan < fill; scan++) {
			if (buf[scan] != '\n')
				continue;
			if (dot_line(buf + line, scan - line)) {
				*len = scan + 1;
				return buf;
			}
			line = scan + 1;
		}
	}
	*len = fill;
	return buf;
nomem:
	log_warnx("out of memory reading the message");
	exit(EX_OSERR);
}

/* The SMTP connection and what it is talking to, for messages. */
struct conn {
	struct smtpc	*c;
	char		 where[300];	/* "queue at HOST:PORT" */
};

/* open_exit - no connection to the queue: say why, exit accordingly */
static void __attribute__((noreturn))
open_exit(const char *where, int err, const char *text)
{
	/* The refusal may be mailgovd's own (a blocked account, or one
	 * over its connection budget): the site owner reading this error
	 * should know where to look. */
	log_warnx("%s unavailable: %s%s", where, text,
	    err == SMTPC_ECONNECT ? " (the queue instance is down, "
	    "or mailgov refused this account's connection: see the "
	    "mail log)" : "");
	exit(err == SMTPC_EPROTO ? EX_PROTOCOL : err == SMTPC_ELOCAL ?
	    EX_OSERR : EX_TEMPFAIL);
}

/* conn_exit - after an smtpc failure: say why, exit accordingly */
static void __attribute__((noreturn))
conn_exit(struct conn *s, const char *doing)
{
	const char *text;
	int	 err = smtpc_error(s->c, &text);

	log_warnx("%s unavailable: %s: %s", s->where, doing, text);
	smtpc_close(s->c);
	exit(err == SMTPC_EPROTO ? EX_PROTOCOL : err == SMTPC_ELOCAL ?
	    EX_OSERR : EX_TEMPFAIL);
}

/* reply_exit - after a refusal: QUIT politely, say why, exit with ex */
static void __attribute__((noreturn))
reply_exit(struct conn *s, const struct smtpc_reply *rp, int ex,
    const char *what)
{
	struct smtpc_reply q;

	/* rp->text starts with the code: "451 4.3.0 Error: ..." */
	/* The queue answered: say what it refused and why, not that it
	 * was unavailable */
	if (ex == EX_TEMPFAIL)
		log_warnx("%s deferred %s, nothing sent: %s", s->where, what,
		    rp->text);
	else
		log_warnx("%s refused %s: %s", s->where, what, rp->text);
	(void)smtpc_cmd(s->c, &q, "QUIT");
	smtpc_close(s->c);
	exit(ex);
}

/* submit - one SMTP transaction; exits with the outcome */
static void __attribute__((noreturn))
submit(const struct opts *o, const struct msg *m)
{
	struct conn s;
	struct smtpc_reply rp;
	char	 ebuf[256], params[128], **refused = NULL;
	char	 rtext[512];
	size_t	 i, accepted = 0, nref = 0;
	int	 err, helo = 0;

	snprintf(s.where, sizeof(s.where), "queue at %s:%s", o->host,
	    o->port);
	s.c = smtpc_open(o->host, o->port, REPLY_MS, TOTAL_MS, &rp, &err,
	    ebuf, sizeof(ebuf));
	if (s.c == NULL)
		open_exit(s.where, err, ebuf);
	if (rp.code / 100 != 2)
		reply_exit(&s, &rp, rp.code / 100 == 4 ? EX_TEMPFAIL :
		    EX_UNAVAILABLE, "the connection");
	if (smtpc_cmd(s.c, &rp, "EHLO %s", o->helo) == -1)
		conn_exit(&s, "EHLO");
	if (rp.code / 100 == 5) {	/* no ESMTP: plain HELO */
		helo = 1;
		if (smtpc_cmd(s.c, &rp, "HELO %s", o->helo) == -1)
			conn_exit(&s, "HELO");
	}
	if (rp.code / 100 != 2)
		reply_exit(&s, &rp, rp.code / 100 == 4 ? EX_TEMPFAIL :
		    EX_UNAVAILABLE, "HELO");

	params[0] = '\0';
	if (!helo && smtpc_ehlo_has(s.c, "SIZE"))
		snprintf(params + strlen(params), sizeof(params) -
		    strlen(params), " SIZE=%zu", m->len);
	if (!helo && m->eightbit && smtpc_ehlo_has(s.c, "8BITMIME"))
		snprintf(params + strlen(params), sizeof(params) -
		    strlen(params), " BODY=8BITMIME");
	if (smtpc_cmd(s.c, &rp, "MAIL FROM:<%s>%s", o->sender, params) == -1)
		conn_exit(&s, "MAIL FROM");
	if (rp.code / 100 != 2) {
		snprintf(rtext, sizeof(rtext), "sender <%s>", o->sender);
		reply_exit(&s, &rp, rp.code / 100 == 4 ? EX_TEMPFAIL :
		    EX_UNAVAILABLE, rtext);
	}

	if ((refused = calloc(m->nrcpt, sizeof(*refused))) == NULL) {
		log_warnx("out of memory");
		exit(EX_OSERR);
	}
	for (i = 0; i < m->nrcpt; i++) {
		if (smtpc_cmd(s.c, &rp, "RCPT TO:<%s>", m->rcpt[i]) == -1)
			conn_exit(&s, "RCPT TO");
		if (rp.code / 100 == 2) {
			accepted++;
		} else if (rp.code / 100 == 4) {
			/*
			 * There is no local queue to retry one recipient
			 * later.  Abort the whole transaction so that the
			 * caller's retry reaches everyone exactly once.
			 */
			snprintf(rtext, sizeof(rtext), "recipient <%s>",
			    m->rcpt[i]);
			reply_exit(&s, &rp, EX_TEMPFAIL, rtext);
		} else {
			log_warnx("%s refused recipient <%s>: %s", s.where,
			    m->rcpt[i], rp.text);
			refused[nref++] = m->rcpt[i];
		}
	}
	if (accepted == 0) {
		log_warnx("no recipient accepted, message not sent");
		(void)smtpc_cmd(s.c, &rp, "QUIT");
		smtpc_close(s.c);
		exit(EX_NOUSER);
	}

	if (smtpc_cmd(s.c, &rp, "DATA") == -1)
		conn_exit(&s, "DATA");
	if (rp.code / 100 != 3)
		reply_exit(&s, &rp, rp.code / 100 == 4 ? EX_TEMPFAIL :
		    rp.code / 100 == 5 ? EX_UNAVAILABLE : EX_PROTOCOL,
		    "DATA");
	if (smtpc_data(s.c, m->data, m->len, &rp) == -1)
		conn_exit(&s, "end of data");
	if (rp.code / 100 != 2)
		reply_exit(&s, &rp, rp.code / 100 == 4 ? EX_TEMPFAIL :
		    rp.code / 100 == 5 ? EX_UNAVAILABLE : EX_PROTOCOL,
		    "the message");
	log_debug("message accepted: %s", rp.text);
	(void)smtpc_cmd(s.c, &rp, "QUIT");
	smtpc_close(s.c);
	if (nref > 0) {
		/* sendmail's way: deliver to the good, report the bad */
		log_warnx("message sent to %zu of %zu recipients; %zu "
		    "refused", accepted, m->nrcpt, nref);
		exit(EX_NOUSER);
	}
	exit(EX_OK);
}

/* queue_connect - a socket to the queue, or exit as the normal mode does */
static int
queue_connect(const struct opts *o, const char *where)
{
	char	 ebuf[256];
	int	 fd, err;

	if ((fd = smtpc_connect(o->host, o->port, REPLY_MS, &err, ebuf,
	    sizeof(ebuf))) == -1)
		open_exit(where, err, ebuf);
	return fd;
}

/* Bytes on their way in one direction: the pending ones are [start, end). */
struct relaybuf {
	char	 data[RELAY_BUF];
	size_t	 start, end;
	unsigned long long total;
};

/*
 * The start of the queue's last line: all -bs looks at, to tell an
 * orderly end (221 to QUIT) from the queue giving up on the client.
 */
struct lastline {
	char	 text[128];
	size_t	 len;
	int	 done;			/* the line ended with LF */
};

/* lastline_add - follow the lines in n bytes received from the queue */
static void
lastline_add(struct lastline *l, const char *p, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		if (l->done) {
			l->len = 0;
			l->done = 0;
		}
		if (p[i] == '\n')
			l->done = 1;
		else if (p[i] != '\r' && l->len < sizeof(l->text))
			l->text[l->len++] = p[i];
	}
}

/* relaybuf_room - free space at the end, reclaiming what was sent */
static size_t
relaybuf_room(struct relaybuf *b)
{
	if (b->start == b->end)
		b->start = b->end = 0;
	else if (b->start > 0 && b->end == sizeof(b->data)) {
		memmove(b->data, b->data + b->start, b->end - b->start);
		b->end -= b->start;
		b->start = 0;
	}
	return sizeof(b->data) - b->end;
}

/*
 * smtp_relay - -bs: copy stdin to the queue and the queue to stdout
 * until the queue closes; exits with the outcome.  stdin and stdout are
 * left blocking (their flags are shared with the caller): poll() says when
 * a read will not block, and a write of at most PIPE_BUF bytes into a pipe
 * poll() calls writable does not block either.
 */
static void __attribute__((noreturn))
smtp_relay(const struct opts *o)
{
	static struct relaybuf up, down;	/* client->queue, queue->client */
	struct lastline last;
	struct pollfd pfd[3];
	char	 where[300], clean[160];
	const char *lost = NULL;		/* what failed on the socket */
	int	 s, n, lost_errno = 0, in_open = 1, q_open = 1, shut = 0;
	int	 client_eof = 0;
	size_t	 len;
	ssize_t	 r;

	/* a socket that landed on fd 0 or 1 would be relayed to itself */
	if (fcntl(STDIN_FILENO, F_GETFD) == -1 ||
	    fcntl(STDOUT_FILENO, F_GETFD) == -1) {
		log_warnx("-bs needs standard input and output open");
		exit(EX_IOERR);
	}
	snprintf(where, sizeof(where), "queue at %s:%s", o->host, o->port);
	memset(&last, 0, sizeof(last));
	s = queue_connect(o, where);
	log_debug("relaying SMTP between standard input/output and %s",
	    where);

	for (;;) {
		/* the queue has closed: hand over its last words and stop */
		if (!q_open && down.start == down.end)
			break;
		/* the client is done: say so, and keep reading the replies */
		if (!in_open && up.start == up.end && !shut) {
			(void)shutdown(s, SHUT_WR);
			shut = 1;
		}

		pfd[0].fd = STDIN_FILENO;
		pfd[0].events = in_open && q_open && relaybuf_room(&up) > 0 ?
		    POLLIN : 0;
		pfd[1].fd = s;
		pfd[1].events = (q_open && relaybuf_room(&down) > 0 ?
		    POLLIN : 0) | (!shut && up.start < up.end ? POLLOUT : 0);
		pfd[2].fd = STDOUT_FILENO;
		pfd[2].events = down.start < down.end ? POLLOUT : 0;
		/* an fd with nothing to wait for must not report POLLHUP */
		for (n = 0; n < 3; n++)
			if (pfd[n].events == 0)
				pfd[n].fd = -1;

		n = poll(pfd, 3, IDLE_MS);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			log_warn("poll");
			exit(EX_OSERR);
		}
		if (n == 0) {
			log_warnx("%s: nothing sent or received for %d "
			    "seconds, giving up", where, IDLE_MS / 1000);
			exit(EX_TEMPFAIL);
		}

		if (pfd[0].revents != 0) {
			r = read(STDIN_FILENO, up.data + up.end,
			    sizeof(up.data) - up.end);
			if (r < 0 && errno != EINTR && errno != EAGAIN) {
				log_warn("read standard input");
				exit(EX_IOERR);
			}
			if (r == 0) {
				in_open = 0;
				client_eof = 1;
			}
			if (r > 0) {
				up.end += (size_t)r;
				up.total += (unsigned long long)r;
			}
		}

		if (pfd[1].revents != 0 && (pfd[1].events & POLLOUT) &&
		    up.start < up.end) {
			r = send(s, up.data + up.start, up.end - up.start,
			    MSG_NOSIGNAL);
			if (r < 0 && errno != EINTR && errno != EAGAIN) {
				/*
				 * The queue stopped listening.  Drop what
				 * the client still sends, but pass on what
				 * the queue said before it went.
				 */
				lost = "write";
				lost_errno = errno;
				up.start = up.end = 0;
				in_open = 0;
				shut = 1;
			} else if (r > 0)
				up.start += (size_t)r;
		}
		if (pfd[1].revents != 0 && (pfd[1].events & POLLIN)) {
			r = recv(s, down.data + down.end,
			    sizeof(down.data) - down.end, 0);
			if (r < 0 && errno != EINTR && errno != EAGAIN) {
				if (lost == NULL) {
					lost = "read";
					lost_errno = errno;
				}
				q_open = 0;
			} else if (r == 0)
				q_open = 0;
			else if (r > 0) {
				lastline_add(&last, down.data + down.end,
				    (size_t)r);
				down.end += (size_t)r;
				down.total += (unsigned long long)r;
			}
		}

		if (pfd[2].revents != 0) {
			len = down.end - down.start;
			if (len > PIPE_BUF)
				len = PIPE_BUF;
			r = write(STDOUT_FILENO, down.data + down.start, len);
			if (r < 0 && errno != EINTR && errno != EAGAIN) {
				log_warn("write standard output");
				exit(EX_IOERR);
			}
			if (r > 0)
				down.start += (size_t)r;
		}
	}
	close(s);
	log_debug("%s closed the connection: %llu bytes sent, %llu received",
	    where, up.total, down.total);
	/* an orderly end: the 221 to QUIT, or the client's end of input */
	if ((last.done && last.len >= 3 && memcmp(last.text, "221", 3) == 0)
	    || (client_eof && lost == NULL))
		exit(EX_OK);
	if (lost != NULL)
		log_warnx("%s unavailable: %s: %s", where, lost,
		    strerror(lost_errno));
	else
		log_warnx("%s unavailable: connection closed during the SMTP "
		    "conversation%s%s", where, last.len > 0 ? "; last reply: " :
		    "", log_clean(clean, sizeof(clean), last.text, last.len));
	exit(EX_TEMPFAIL);
}

/* login_sender - the invoking user's login name, unqualified */
static void
login_sender(struct opts *o)
{
	struct passwd *pw;

	errno = 0;
	if ((pw = getpwuid(getuid())) == NULL || pw->pw_name == NULL ||
	    msg_sender(pw->pw_name, o->sender, sizeof(o->sender)) == -1 ||
	    o->sender[0] == '\0') {
		log_warnx("no usable login name for uid %lu; give a sender "
		    "with -f", (unsigned long)getuid());
		exit(EX_OSERR);
	}
}

/* main - options, the message, then one SMTP transaction (or -bs) */
int
main(int argc, char **argv)
{
	struct opts o;
	struct msg_opts mo;
	struct msg m;
	struct origin origin;
	char	*in, clean[64];
	size_t	 len;
	int	 first, i, rc, more;

	memset(&o, 0, sizeof(o));
	/*
	 * The caller first, before anything can change it: once we are
	 * running, PHP waits for us (through popen's shell), so its cwd
	 * and command line are those of the mail() call.  A caller gone already (we were orphaned)
	 * leaves only what PHP's header says.
	 */
	(void)origin_caller("/proc", getppid(), &origin);
	log_init("mailgov-sendmail", 1, 0);
	signal(SIGPIPE, SIG_IGN);
	first = parse_args(&o, argc, argv);
	if (o.verbose)
		log_init("mailgov-sendmail", 1, 1);
	/* -bs: the client gives sender and recipients in SMTP */
	if (o.smtp && o.extract)
		bad_usage("-bs (SMTP on standard input) cannot be combined "
		    "with -t");
	if (o.smtp && first < argc)
		bad_usage("-bs (SMTP on standard input) takes no recipient "
		    "arguments: %s", log_clean(clean, sizeof(clean),
		    argv[first], strlen(argv[first])));
	env_config(&o);
	if (o.smtp)
		smtp_relay(&o);
	if (!o.have_sender)
		login_sender(&o);

	msg_init(&m);
	for (i = first; i < argc; i++) {
		/* "-f x" after a recipient is a misplaced option */
		if (argv[i][0] == '-' && !o.dashdash)
			bad_usage("options must come before recipients: %s",
			    log_clean(clean, sizeof(clean), argv[i],
			    strlen(argv[i])));
		rc = msg_add_list(&m, argv[i], strlen(argv[i]), "argument");
		if (rc == MSG_ENOMEM) {
			log_warnx("%s", m.err);
			exit(EX_OSERR);
		}
		if (rc != MSG_OK)
			bad_usage("%s", m.err);
	}
	if (!o.extract && m.nrcpt == 0)
		bad_usage("no recipients");

	/* a lone "." may follow max_size bytes: read that far, no further */
	in = read_input(o.max_size + 3, !o.ignore_dots, &len, &more);
	memset(&mo, 0, sizeof(mo));
	mo.max_size = o.max_size;
	mo.dot_ends = !o.ignore_dots;
	mo.extract = o.extract;
	mo.truncated = more;
	mo.full_name = o.full_name;
	mo.sender = o.sender;
	(void)origin_php_script(in, len, origin.script,
	    sizeof(origin.script));
	origin_helo(&origin, o.helo, sizeof(o.helo));
	rc = msg_parse(&m, in, len, &mo);
	free(in);
	if (rc != MSG_OK) {
		log_warnx("%s", m.err);
		msg_free(&m);
		exit(rc == MSG_ENOMEM ? EX_OSERR : EX_DATAERR);
	}
	if (m.nrcpt == 0) {
		msg_free(&m);
		bad_usage("no recipients");
	}
	submit(&o, &m);
}
