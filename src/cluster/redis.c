/*
 * redis - mailgovd's connection to Redis (see redis.h).
 *
 * Why a socket of our own with hiredis's reader rather than hiredis's
 * async API: the 0.14 async API (Debian 12) has no timeout for a reply,
 * resolves host names with a blocking getaddrinfo on every connect, and
 * builds reply objects of any size the server announces.  Here a host
 * name is resolved again before every connection attempt, off the loop
 * (resolve.h), so that a failover that moves the name is followed; a
 * numeric address is used as it is.  Every command, the lookup and the
 * connection attempt have a deadline, the reader's buffer and every
 * reply object are
 * bounded (REPLY_MAXLEN, REPLY_MAXELEM, REDIS_IN_MAX), and the
 * writes are ours to batch: one write per loop turn.  The bounded reply
 * objects are reply.c's.
 *
 * Trusts: the configuration.  Not the server's replies: a reply of a
 * type the caller does not expect is the caller's to refuse, and one
 * beyond the bounds breaks the connection, as does any protocol error.
 */
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "clock.h"
#include "config.h"
#include "log.h"
#include "loop.h"
#include "redis.h"
#include "reply.h"
#include "resolve.h"

#define REDIS_PENDING_MAX	16384	/* commands in flight */
#define REDIS_OUT_MAX		(4u << 20)	/* queued command bytes */
#define REDIS_IN_MAX		(REPLY_MAXLEN * 2)	/* unparsed */
#define REDIS_BACKOFF_MIN	100	/* ms: first retry */
#define REDIS_BACKOFF_MAX	5000	/* ms: retries settle here */

enum rstate { R_DOWN, R_RESOLVING, R_CONNECTING, R_AUTH, R_UP };

struct pending {
	redis_cb	 cb;
	void		*arg;
	uint64_t	 at;		/* monotonic ms it was queued */
};

struct redis {
	struct loop		*loop;
	const struct config	*cfg;
	struct sockaddr_storage	 addr;
	socklen_t		 alen;
	char			 host[CONFIG_PATHLEN];	/* "": addr is fixed */
	char			 port[8];
	struct lookup		*lk;		/* R_RESOLVING */
	char			 name[CONFIG_PATHLEN];
	int			 fd;
	int			 tfd;		/* timerfd: deadlines, retries */
	enum rstate		 state;
	uint64_t		 since;		/* ms: state entered */
	uint64_t		 backoff;	/* ms: the next retry's wait */
	uint64_t		 retry_at;	/* ms: when R_DOWN ends */
	redisReader		*rd;
	char			*out;
	size_t			 outlen, sent;
	struct pending		*pend;		/* a ring */
	size_t			 phead, pn;
	uint32_t		 events;
	redis_state_cb		 on_state;
	void			*arg;
	int			 told_down;	/* "unavailable" was logged */
	char			 last_err[160];	/* logged once per change */
};

static void	on_sock(int, uint32_t, void *);

/* --- the link ----------------------------------------------------------- */

/* arm - wake at the next deadline: a reply's, the connection's, a retry */
static void
arm(struct redis *r)
{
	struct itimerspec its;
	uint64_t now = clock_mono_ms(), at = 0;

	if (r->state == R_DOWN)
		at = r->retry_at;
	else if (r->state != R_UP)
		at = r->since + r->cfg->redis_timeout_ms;
	if (r->pn > 0) {
		uint64_t t = r->pend[r->phead].at + r->cfg->redis_timeout_ms;

		if (at == 0 || t < at)
			at = t;
	}
	memset(&its, 0, sizeof(its));
	if (at != 0) {
		uint64_t d = at > now ? at - now : 1;

		its.it_value.tv_sec = (time_t)(d / 1000);
		its.it_value.tv_nsec = (long)(d % 1000) * 1000000;
	}
	(void)timerfd_settime(r->tfd, 0, &its, NULL);
}

/* fail_all - every command in flight gets NULL, in order */
static void
fail_all(struct redis *r)
{
	struct pending p;

	while (r->pn > 0) {
		p = r->pend[r->phead];
		r->phead = (r->phead + 1) % REDIS_PENDING_MAX;
		r->pn--;
		if (p.cb != NULL)
			p.cb(p.arg, NULL);
	}
}

/*
 * drop - the link is broken: say why (once per distinct reason), fail
 * what is in flight, and retry after a back-off that doubles up to
 * REDIS_BACKOFF_MAX.  The callers above hear "down" once per outage.
 */
static void
drop(struct redis *r, const char *why)
{
	int was_up = r->state == R_UP;

	resolve_cancel(r->lk);
	r->lk = NULL;
	if (r->fd != -1) {
		loop_del(r->loop, r->fd);
		close(r->fd);
		r->fd = -1;
	}
	if (r->rd != NULL) {
		redisReaderFree(r->rd);
		r->rd = NULL;
	}
	r->outlen = r->sent = 0;
	r->state = R_DOWN;
	r->since = clock_mono_ms();
	r->retry_at = r->since + r->backoff;
	r->backoff = r->backoff * 2 > REDIS_BACKOFF_MAX ? REDIS_BACKOFF_MAX :
	    r->backoff * 2;
	if (strcmp(why, r->last_err) != 0) {
		log_warnx("redis %s: %s; retrying every %u s at most", r->name,
		    why, REDIS_BACKOFF_MAX / 1000);
		snprintf(r->last_err, sizeof(r->last_err), "%s", why);
	}
	fail_all(r);
	if (was_up || !r->told_down) {
		r->told_down = 1;
		if (r->on_state != NULL)
			r->on_state(r->arg, 0);
	}
	arm(r);
}

/* watch - EPOLLIN always; EPOLLOUT while connecting or bytes wait */
static void
watch(struct redis *r)
{
	uint32_t ev = EPOLLIN;

	if (r->state == R_CONNECTING || r->sent < r->outlen)
		ev |= EPOLLOUT;
	if (ev != r->events && r->fd != -1) {
		if (loop_mod(r->loop, r->fd, ev) == 0)
			r->events = ev;
	}
}

/* enqueue_raw - put a formatted command on the output and remember cb;
 * -1 if full */
static int
enqueue_raw(struct redis *r, redis_cb cb, void *arg, const char *cmd,
    size_t n)
{
	if (r->pn == REDIS_PENDING_MAX || r->outlen + n > REDIS_OUT_MAX)
		return -1;
	memcpy(r->out + r->outlen, cmd, n);
	r->outlen += n;
	r->pend[(r->phead + r->pn) % REDIS_PENDING_MAX] =
	    (struct pending){ cb, arg, clock_mono_ms() };
	if (++r->pn == 1)
		arm(r);
	return 0;
}

/* enqueue - format argv onto the output and remember cb; -1 if full */
static int
enqueue(struct redis *r, redis_cb cb, void *arg, int argc, const char **argv,
    const size_t *argvlen)
{
	char	*cmd = NULL;
	int	 n, rc;

	n = redisFormatCommandArgv(&cmd, argc, argv, argvlen);
	if (n <= 0 || cmd == NULL)
		return -1;
	rc = enqueue_raw(r, cb, arg, cmd, (size_t)n);
	redisFreeCommand(cmd);
	return rc;
}

/* flush - write what is queued; -1 when the link broke (dropped) */
static int
flush(struct redis *r)
{
	ssize_t n;

	while (r->sent < r->outlen) {
		n = send(r->fd, r->out + r->sent, r->outlen - r->sent,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			r->sent += (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		drop(r, "connection lost while writing");
		return -1;
	}
	if (r->sent == r->outlen)
		r->sent = r->outlen = 0;
	watch(r);
	return 0;
}

/* on_turn - the loop turn is over: everything queued goes out at once */
static void
on_turn(void *arg)
{
	struct redis *r = arg;

	if (r->fd != -1 && r->state != R_CONNECTING && r->sent < r->outlen)
		(void)flush(r);
}

/* on_auth - AUTH's answer: up, or one clear line and a retry later */
static void
on_auth(void *arg, const struct redisReply *rep)
{
	struct redis *r = arg;
	char	 why[160], text[96];

	if (rep == NULL)
		return;		/* dropped already */
	if (rep->type != REDIS_REPLY_STATUS) {
		if (rep->type == REDIS_REPLY_ERROR)
			log_clean(text, sizeof(text), rep->str, rep->len);
		else
			snprintf(text, sizeof(text), "unexpected reply");
		snprintf(why, sizeof(why), "authentication failed (%s)", text);
		drop(r, why);
		return;
	}
	r->state = R_UP;
	r->since = clock_mono_ms();
	r->backoff = REDIS_BACKOFF_MIN;
	if (r->last_err[0] != '\0' || r->told_down)
		log_info("redis %s: connected", r->name);
	r->last_err[0] = '\0';
	r->told_down = 0;
	arm(r);
	if (r->on_state != NULL)
		r->on_state(r->arg, 1);
}

/* connected - the socket is up: AUTH if configured, else up at once */
static void
connected(struct redis *r)
{
	const char *argv[3];
	size_t	 len[3];
	int	 n = 0;

	r->state = R_AUTH;
	r->since = clock_mono_ms();
	if ((r->rd = redisReaderCreateWithFunctions(&reply_bounded)) ==
	    NULL) {
		drop(r, "out of memory");
		return;
	}
	/* keep the reader's buffer from being kept large after a burst */
	r->rd->maxbuf = REDIS_IN_MAX;
	if (r->cfg->redis_password[0] == '\0') {
		/* PING proves it is Redis and that no AUTH is needed */
		argv[n++] = "PING";
	} else {
		argv[n++] = "AUTH";
		if (r->cfg->redis_user[0] != '\0')
			argv[n++] = r->cfg->redis_user;
		argv[n++] = r->cfg->redis_password;
	}
	for (int i = 0; i < n; i++)
		len[i] = strlen(argv[i]);
	if (enqueue(r, on_auth, r, n, argv, len) == -1) {
		drop(r, "out of memory");
		return;
	}
	(void)flush(r);
}

static void	dial(struct redis *);

/* on_resolved - the name's address now: connect to it */
static void
on_resolved(void *arg, int ok, const struct sockaddr_storage *ss,
    socklen_t len, const char *err)
{
	struct redis *r = arg;
	char	 was[80], now[80];

	r->lk = NULL;
	if (!ok) {
		drop(r, err);
		return;
	}
	if (r->alen != 0 && (r->alen != len || memcmp(&r->addr, ss, len))) {
		resolve_format(&r->addr, was, sizeof(was));
		resolve_format(ss, now, sizeof(now));
		log_info("redis %s: now at %s (was %s)", r->name, now, was);
	}
	memcpy(&r->addr, ss, len);
	r->alen = len;
	dial(r);
}

/* start - a connection attempt: a host name is looked up first, on
 * every attempt, without blocking the loop */
static void
start(struct redis *r)
{
	if (r->host[0] == '\0') {
		dial(r);
		return;
	}
	r->state = R_RESOLVING;
	r->since = clock_mono_ms();
	if ((r->lk = resolve_start(r->loop, r->host, r->port, on_resolved,
	    r)) == NULL) {
		drop(r, "cannot start a name lookup");
		return;
	}
	arm(r);
}

/* dial - a non-blocking connect to the resolved address */
static void
dial(struct redis *r)
{
	int	 fd, one = 1;

	fd = socket(r->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1) {
		drop(r, "cannot open a socket");
		return;
	}
	if (r->addr.ss_family != AF_UNIX)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
	r->fd = fd;
	r->state = R_CONNECTING;
	r->since = clock_mono_ms();
	r->events = EPOLLOUT;
	if (loop_add(r->loop, fd, EPOLLOUT, on_sock, r) == -1) {
		drop(r, "cannot watch the socket");
		return;
	}
	if (connect(fd, (struct sockaddr *)&r->addr, r->alen) == 0) {
		connected(r);
		return;
	}
	if (errno != EINPROGRESS && errno != EAGAIN) {
		char why[96];

		snprintf(why, sizeof(why), "connect: %s", strerror(errno));
		drop(r, why);
		return;
	}
	arm(r);
}

/* readable - feed the reader; hand each complete reply to its command */
static void
readable(struct redis *r)
{
	char	 buf[16384];
	void	*rep;
	ssize_t	 n;
	struct pending p;

	for (;;) {
		n = recv(r->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			drop(r, n == 0 ? "connection closed by the server" :
			    "connection lost while reading");
			return;
		}
		if (redisReaderFeed(r->rd, buf, (size_t)n) != REDIS_OK) {
			drop(r, "protocol error");
			return;
		}
		for (;;) {
			rep = NULL;
			if (redisReaderGetReply(r->rd, &rep) != REDIS_OK) {
				drop(r, "malformed or oversized reply");
				return;
			}
			if (rep == NULL)
				break;
			if (r->pn == 0) {
				freeReplyObject(rep);
				drop(r, "a reply nobody asked for");
				return;
			}
			p = r->pend[r->phead];
			r->phead = (r->phead + 1) % REDIS_PENDING_MAX;
			r->pn--;
			p.cb(p.arg, rep);
			freeReplyObject(rep);
			if (r->fd == -1)
				return;		/* a callback broke the link */
		}
		/* a reply still incomplete past the bound is an attack or a
		 * bug; either way nothing here waits for it */
		if (r->rd->len - r->rd->pos > REDIS_IN_MAX) {
			drop(r, "reply too large");
			return;
		}
		if ((size_t)n < sizeof(buf))
			break;
	}
	arm(r);
}

/* on_sock - the socket is readable, writable or broken */
static void
on_sock(int fd, uint32_t events, void *arg)
{
	struct redis *r = arg;
	int	 err = 0;
	socklen_t len = sizeof(err);

	(void)fd;
	if (r->state == R_CONNECTING) {
		if (getsockopt(r->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
			err = errno;
		if (err != 0) {
			char why[96];

			snprintf(why, sizeof(why), "connect: %s",
			    strerror(err));
			drop(r, why);
			return;
		}
		connected(r);
		return;
	}
	if ((events & EPOLLOUT) && flush(r) == -1)
		return;
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		readable(r);
}

/* on_timer - a deadline passed, or a retry is due */
static void
on_timer(int fd, uint32_t events, void *arg)
{
	struct redis *r = arg;
	uint64_t exp, now = clock_mono_ms();

	(void)events;
	while (read(fd, &exp, sizeof(exp)) == -1 && errno == EINTR)
		;
	switch (r->state) {
	case R_DOWN:
		if (now >= r->retry_at)
			start(r);
		else
			arm(r);
		return;
	case R_RESOLVING:
	case R_CONNECTING:
	case R_AUTH:
		if (now >= r->since + r->cfg->redis_timeout_ms) {
			drop(r, r->state == R_RESOLVING ?
			    "timed out resolving the name" :
			    r->state == R_CONNECTING ?
			    "timed out connecting" : "timed out authenticating");
			return;
		}
		break;
	case R_UP:
		break;
	}
	if (r->pn > 0 && now >= r->pend[r->phead].at +
	    r->cfg->redis_timeout_ms) {
		drop(r, "timed out waiting for a reply");
		return;
	}
	arm(r);
}

/* parse - cfg->redis: a unix socket or a numeric address, used as it
 * is, or a host name, looked up before every connection attempt */
static int
parse(struct redis *r, const char *spec)
{
	char	 host[CONFIG_PATHLEN];
	const char *port;
	size_t	 n;

	if (strncmp(spec, "unix:", 5) == 0) {
		struct sockaddr_un *un = (struct sockaddr_un *)&r->addr;

		if (strlen(spec + 5) >= sizeof(un->sun_path)) {
			log_warnx("redis %s: socket path too long", spec);
			return -1;
		}
		un->sun_family = AF_UNIX;
		strcpy(un->sun_path, spec + 5);
		r->alen = sizeof(*un);
		return 0;
	}
	if (spec[0] == '[') {
		port = strstr(spec, "]:");
		if (port == NULL || port == spec + 1)
			goto bad;
		n = (size_t)(port - spec - 1);
		memcpy(host, spec + 1, n);
		port += 2;
	} else {
		port = strrchr(spec, ':');
		if (port == NULL || port == spec)
			goto bad;
		n = (size_t)(port - spec);
		memcpy(host, spec, n);
		port++;
	}
	host[n] = '\0';
	if (strlen(port) == 0 || strlen(port) >= sizeof(r->port) ||
	    strspn(port, "0123456789") != strlen(port))
		goto bad;
	if (resolve_numeric(host, port, &r->addr, &r->alen) == 0)
		return 0;
	if (spec[0] == '[')	/* brackets hold an IPv6 address, not a name */
		goto bad;
	snprintf(r->host, sizeof(r->host), "%s", host);
	snprintf(r->port, sizeof(r->port), "%s", port);
	return 0;
bad:
	log_warnx("redis %s: not HOST:PORT, [IPV6]:PORT or unix:PATH", spec);
	return -1;
}

/* redis_new - see redis.h */
struct redis *
redis_new(struct loop *loop, const struct config *cfg, redis_state_cb cb,
    void *arg)
{
	struct redis *r;

	if ((r = calloc(1, sizeof(*r))) == NULL) {
		log_warn("redis");
		return NULL;
	}
	r->loop = loop;
	r->cfg = cfg;
	r->fd = -1;
	r->tfd = -1;
	r->on_state = cb;
	r->arg = arg;
	r->backoff = REDIS_BACKOFF_MIN;
	snprintf(r->name, sizeof(r->name), "%s", cfg->redis);
	if (parse(r, cfg->redis) == -1)
		goto fail;
	if ((r->out = malloc(REDIS_OUT_MAX)) == NULL ||
	    (r->pend = calloc(REDIS_PENDING_MAX, sizeof(*r->pend))) == NULL) {
		log_warn("redis");
		goto fail;
	}
	r->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (r->tfd == -1 || loop_add(loop, r->tfd, EPOLLIN, on_timer, r) ==
	    -1 || loop_on_turn(loop, on_turn, r) == -1) {
		log_warn("redis: timer");
		goto fail;
	}
	/* the first attempt from the loop, not from here: a connect that
	 * fails at once (a missing socket, a refused port) calls on_state
	 * back, and the caller does not have its handle yet */
	r->state = R_DOWN;
	r->retry_at = clock_mono_ms();
	arm(r);
	return r;
fail:
	if (r->tfd != -1) {
		loop_del(loop, r->tfd);
		close(r->tfd);
	}
	free(r->out);
	free(r->pend);
	free(r);
	return NULL;
}

/* redis_free - close; commands in flight are dropped without a call */
void
redis_free(struct redis *r)
{
	if (r == NULL)
		return;
	resolve_cancel(r->lk);
	loop_off_turn(r->loop, on_turn, r);
	if (r->fd != -1) {
		loop_del(r->loop, r->fd);
		close(r->fd);
	}
	if (r->tfd != -1) {
		loop_del(r->loop, r->tfd);
		close(r->tfd);
	}
	if (r->rd != NULL)
		redisReaderFree(r->rd);
	free(r->out);
	free(r->pend);
	free(r);
}

int
redis_up(const struct redis *r)
{
	return r->state == R_UP;
}

/* redis_command - see redis.h */
int
redis_command(struct redis *r, redis_cb cb, void *arg, int argc,
    const char **argv, const size_t *argvlen)
{
	if (r->state != R_UP)
		return -1;
	return enqueue(r, cb, arg, argc, argv, argvlen);
}

/* redis_command_raw - see redis.h */
int
redis_command_raw(struct redis *r, redis_cb cb, void *arg, const char *cmd,
    size_t len)
{
	if (r->state != R_UP)
		return -1;
	return enqueue_raw(r, cb, arg, cmd, len);
}

const char *
redis_name(const struct redis *r)
{
	return r->name;
}

size_t
redis_in_flight(const struct redis *r)
{
	return r->pn;
}
