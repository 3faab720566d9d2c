/*
 * ctlsock - the control socket (see ctlsock.h).
 *
 * Trusts: nobody connecting until SO_PEERCRED says root or the daemon's
 * user; after that, still not the bytes: a request is one line of at
 * most CTLSOCK_LINE_MAX bytes, and answers are bounded (the flow listing
 * stops at CTLSOCK_FLOWS_MAX lines), so a client can never make the
 * daemon buffer without bound.  Writes never block: what the socket does
 * not take waits for EPOLLOUT.
 */
#define _GNU_SOURCE	/* struct ucred, accept4 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "ctlsock.h"
#include "log.h"
#include "num.h"

#define CTL_IDLE	60	/* seconds before an idle client is closed */

struct client {
	int		 fd;		/* -1: free slot */
	char		 in[CTLSOCK_LINE_MAX + 1];
	size_t		 inlen;
	char		*out;
	size_t		 outlen, outoff, outcap;
	uint64_t	 last;		/* seconds, last activity */
};

struct ctlsock {
	struct loop	*loop;
	int		 fd;
	int		 paused;	/* accept stopped: EMFILE or full */
	char		 path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	uid_t		 uid;
	struct accts	*accts;
	struct flows	*flows;
	uint64_t	 started;
	ctlsock_status_fn status_fn;
	void		*status_arg;
	struct recent	*recent;	/* for "top"; NULL: none */
	struct client	 c[CTLSOCK_CLIENTS];
};

static void	client_io(int, uint32_t, void *);

/* client_close - free the slot; accepting resumes if it was full */
static void
client_close(struct ctlsock *cs, struct client *c)
{
	loop_del(cs->loop, c->fd);
	close(c->fd);
	c->fd = -1;
	free(c->out);
	c->out = NULL;
	c->outlen = c->outoff = c->outcap = 0;
	c->inlen = 0;
	if (cs->paused && loop_mod(cs->loop, cs->fd, EPOLLIN) == 0)
		cs->paused = 0;
}

/* put - append formatted text to the client's answer; -1 when it would
 * pass the bound (the answer is then cut, never the daemon's memory) */
static int __attribute__((format(printf, 2, 3)))
put(struct client *c, const char *fmt, ...)
{
	va_list ap;
	size_t cap;
	char *n;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (len < 0)
		return -1;
	if (c->outlen + (size_t)len + 1 > c->outcap) {
		cap = c->outcap ? c->outcap : 4096;
		while (cap < c->outlen + (size_t)len + 1)
			cap *= 2;
		if (cap > (size_t)CTLSOCK_FLOWS_MAX * 256 ||
		    (n = realloc(c->out, cap)) == NULL)
			return -1;
		c->out = n;
		c->outcap = cap;
	}
	va_start(ap, fmt);
	vsnprintf(c->out + c->outlen, c->outcap - c->outlen, fmt, ap);
	va_end(ap);
	c->outlen += (size_t)len;
	return 0;
}

struct listing {
	struct ctlsock	*cs;
	struct client	*c;
	uint64_t	 now;		/* unix seconds */
	size_t		 shown, more;
};

static const char *verdict_names[] = { "redirect", "allow", "reject" };

/* list_flow - one line of the "flows" answer */
static int
list_flow(const struct flow *f, void *arg)
{
	struct listing *l = arg;
	char src[64], dst[64];
	struct acct *a;

	if (l->now >= f->expires)
		return 0;
	if (l->shown == CTLSOCK_FLOWS_MAX) {
		l->more++;
		return 0;
	}
	log_endpoint(src, sizeof(src), f->key.family, f->key.addr, f->key.port);
	log_endpoint(dst, sizeof(dst), f->key.family, f->dst, f->dport);
	a = acct_by_id(l->cs->accts, f->account);
	if (put(l->c, "src=%s dst=%s uid=%u account=%s verdict=%s age=%llu "
	    "ttl=%llu\n", src, dst, f->uid, a ? a->name : "-",
	    f->verdict < 3 ? verdict_names[f->verdict] : "?",
	    (unsigned long long)(l->now > f->seen ? l->now - f->seen : 0),
	    (unsigned long long)(f->expires - l->now)) == -1)
		l->more++;
	else
		l->shown++;
	return 0;
}

/* --- top ------------------------------------------------------------------ */

struct toprow {
	struct acct	*a;
	uint32_t	 rate;		/* messages in the last 60 s */
	uint64_t	 left;		/* messages the budget allows now */
	uint64_t	 held;		/* on hold now */
	struct recent_row r;
};

struct topwalk {
	struct ctlsock	*cs;
	struct toprow	*v;
	size_t		 n, cap;
	uint64_t	 now_s, now_us;
};

/*
 * top_script - the SCRIPT field of a top row.  mailgovd keeps no script
 * per account in memory (the policy server writes the counts to the
 * database once a second), so this is "-" and mailgovctl top fills the
 * column from the database.  A later mailgovd may answer here instead:
 * whatever it returns is cut and made printable (log_clean) before it
 * goes out, as the last field of the row.
 */
static const char *
top_script(const struct acct *a)
{
	(void)a;
	return "-";
}

/* top_left - messages a's budget allows now: the least over its
 * messages windows; UINT64_MAX when it has no limit */
static uint64_t
top_left(const struct acct *a, uint64_t now_us)
{
	const struct budget_limit *w;
	uint64_t left = UINT64_MAX, r;
	unsigned i, n;

	if (a->blocked)
		return 0;
	n = acct_windows(a, BK_MESSAGES, &w);
	for (i = 0; i < n; i++) {
		r = budget_remaining(&w[i], a->use.tat[BK_MESSAGES][i], now_us);
		if (r < left)
			left = r;
	}
	return left;
}

/* top_collect - recent_each's callback: one row per active account */
static void
top_collect(const struct recent_row *r, void *arg)
{
	struct topwalk *w = arg;
	struct toprow *t;
	struct acct *a;

	if ((a = acct_by_id(w->cs->accts, r->account)) == NULL ||
	    w->n == w->cap)
		return;
	t = &w->v[w->n++];
	t->a = a;
	t->r = *r;
	t->rate = recent_rate(r, w->now_s);
	t->left = top_left(a, w->now_us);
	t->held = a->n_held;
}

/* top_held - an account quiet for the hour with mail still on hold gets
 * a row too (its ring all zero), so that no held mail is out of sight */
static int
top_held(struct acct *a, void *arg)
{
	struct topwalk *w = arg;
	struct toprow *t;
	size_t cap;

	if (a->n_held == 0 ||
	    recent_active(w->cs->recent, a->id, w->now_s / 60))
		return 0;
	if (w->n == w->cap) {
		cap = w->cap < 64 ? 64 : w->cap * 2;
		if ((t = reallocarray(w->v, cap, sizeof(*t))) == NULL)
			return 1;	/* the rows so far */
		w->v = t;
		w->cap = cap;
	}
	t = &w->v[w->n++];
	memset(t, 0, sizeof(*t));
	t->a = a;
	t->r.account = a->id;
	t->left = top_left(a, w->now_us);
	t->held = a->n_held;
	return 0;
}

static char top_key;	/* qsort has no argument: the loop is one thread */

/* top_cmp - hottest first by top_key, then by name */
static int
top_cmp(const void *x, const void *y)
{
	const struct toprow *a = x, *b = y;
	uint64_t va, vb;

	switch (top_key) {
	case 'h':
		va = a->held, vb = b->held;
		break;
	case 'l':
		va = a->r.hour[RECENT_RELEASED], vb = b->r.hour[RECENT_RELEASED];
		break;
	case 'r':
		va = a->r.hour[RECENT_REFUSED], vb = b->r.hour[RECENT_REFUSED];
		break;
	case 'd':
		va = a->r.hour[RECENT_REDIRECTED];
		vb = b->r.hour[RECENT_REDIRECTED];
		break;
	case 'b':	/* least budget left first */
		va = b->left, vb = a->left;
		break;
	case 'a':
		va = vb = 0;
		break;
	default:	/* 'm': messages now, then in the hour */
		va = a->rate, vb = b->rate;
		if (va == vb)
			va = a->r.hour[RECENT_MESSAGE],
			vb = b->r.hour[RECENT_MESSAGE];
		break;
	}
	if (va != vb)
		return va > vb ? -1 : 1;
	return strcmp(a->a->name, b->a->name);
}

/*
 * top - "top [LIMIT [KEY]]": the LIMIT (1..CTLSOCK_TOP_MAX, default 100)
 * accounts active in the last hour or holding mail, sorted by KEY (m h l r d b a, as
 * mailgovctl top's keys), one "row" line each; -1 on a bad request
 */
static int
top(struct ctlsock *cs, struct client *c, const char *args)
{
	struct topwalk w;
	struct toprow *t;
	char spark[RECENT_MINUTES * 6 + 1], left[24], script[256];
	uint64_t limit = 100;
	size_t i, j, off;
	const char *e;
	char key = 'm', *end;

	while (*args == ' ')
		args++;
	if (*args != '\0') {
		end = strchr(args, ' ');
		if (end != NULL)
			*end++ = '\0';
		if (num_u64(args, 1, CTLSOCK_TOP_MAX, 0, &limit, &e) == -1)
			return -1;
		if (end != NULL) {
			if (strlen(end) != 1 || strchr("mhlrdba", *end) == NULL)
				return -1;
			key = *end;
		}
	}
	memset(&w, 0, sizeof(w));
	w.cs = cs;
	w.now_s = clock_mono_s();
	w.now_us = clock_now_us();
	w.cap = recent_count(cs->recent);
	if (w.cap > 0 && (w.v = calloc(w.cap, sizeof(*w.v))) == NULL) {
		put(c, "error=out of memory\n");
		return 0;
	}
	recent_each(cs->recent, w.now_s / 60, top_collect, &w);
	if (cs->recent != NULL)
		(void)acct_each(cs->accts, top_held, &w);
	top_key = key;
	if (w.n > 1)
		qsort(w.v, w.n, sizeof(*w.v), top_cmp);
	put(c, "version=1\naccounts=%zu\nuntracked=%llu\nsort=%c\n",
	    w.n, (unsigned long long)recent_untracked(cs->recent), key);
	for (i = 0; i < w.n && i < limit; i++) {
		t = &w.v[i];
		for (j = 0, off = 0; j < RECENT_MINUTES; j++)
			off += (size_t)snprintf(spark + off, sizeof(spark) - off,
			    "%s%u", j ? "," : "",
			    t->r.minute[RECENT_MESSAGE][j]);
		if (t->left == UINT64_MAX)
			snprintf(left, sizeof(left), "unlimited");
		else
			snprintf(left, sizeof(left), "%llu",
			    (unsigned long long)t->left);
		log_clean(script, sizeof(script), top_script(t->a),
		    strlen(top_script(t->a)));
		/* script= last: the rest of the line, spaces and all */
		if (put(c, "row account=%s rate=%u left=%s "
		    "blocked=%d held=%llu messages=%llu released=%llu "
		    "refused=%llu redirected=%llu spark=%s script=%s\n",
		    t->a->name, t->rate, left, t->a->blocked,
		    (unsigned long long)t->held,
		    (unsigned long long)t->r.hour[RECENT_MESSAGE],
		    (unsigned long long)t->r.hour[RECENT_RELEASED],
		    (unsigned long long)t->r.hour[RECENT_REFUSED],
		    (unsigned long long)t->r.hour[RECENT_REDIRECTED],
		    spark, script) == -1)
			break;
	}
	free(w.v);
	return 0;
}

/* command - answer one request line */
static void
command(struct ctlsock *cs, struct client *c, const char *line)
{
	struct listing l;
	char extra[1024];

	if (strcmp(line, "status") == 0) {
		put(c, "version=%d\naccounts=%zu\nflows=%zu\nuptime=%llu\n",
		    CTLSOCK_VERSION, acct_count(cs->accts),
		    flow_count(cs->flows),
		    (unsigned long long)(clock_mono_s() - cs->started));
		if (cs->status_fn != NULL) {
			extra[0] = '\0';
			cs->status_fn(extra, sizeof(extra), cs->status_arg);
			put(c, "%s", extra);
		}
	} else if (strcmp(line, "flows") == 0) {
		memset(&l, 0, sizeof(l));
		l.cs = cs;
		l.c = c;
		l.now = (uint64_t)time(NULL);
		flow_each(cs->flows, list_flow, &l);
		if (l.more > 0)
			put(c, "more=%zu\n", l.more);
	} else if (strncmp(line, "top", 3) == 0 &&
	    (line[3] == '\0' || line[3] == ' ')) {
		snprintf(extra, sizeof(extra), "%s", line + 3);
		if (top(cs, c, extra) == -1)
			put(c, "error=usage: top [1-%d [m|h|l|r|d|b|a]]\n",
			    CTLSOCK_TOP_MAX);
	} else
		put(c, "error=unknown command\n");
	put(c, "\n");
}

/* client_write - send what the socket takes; 0 when all sent */
static int
client_write(struct client *c)
{
	ssize_t n;

	while (c->outoff < c->outlen) {
		n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 1;
			return -1;
		}
		c->outoff += (size_t)n;
	}
	c->outoff = c->outlen = 0;
	return 0;
}

/* client_read - take bytes, answer each complete line */
static int
client_read(struct ctlsock *cs, struct client *c)
{
	char *nl;
	ssize_t n;
	size_t used;

	n = recv(c->fd, c->in + c->inlen, CTLSOCK_LINE_MAX - c->inlen,
	    MSG_DONTWAIT);
	if (n == 0)
		return -1;
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	c->inlen += (size_t)n;
	c->in[c->inlen] = '\0';
	while ((nl = memchr(c->in, '\n', c->inlen)) != NULL) {
		*nl = '\0';
		if (strlen(c->in) != (size_t)(nl - c->in))
			return -1;		/* a NUL inside the line */
		if (nl > c->in && nl[-1] == '\r')
			nl[-1] = '\0';
		/* Answers queue up; one pipelined burst stays bounded
		 * because the line buffer is. */
		command(cs, c, c->in);
		used = (size_t)(nl - c->in) + 1;
		memmove(c->in, nl + 1, c->inlen - used);
		c->inlen -= used;
		c->in[c->inlen] = '\0';
	}
	if (c->inlen == CTLSOCK_LINE_MAX)
		return -1;			/* a line too long */
	return 0;
}

/* client_io - readable or writable */
static void
client_io(int fd, uint32_t events, void *arg)
{
	struct ctlsock *cs = arg;
	struct client *c = NULL;
	size_t i;
	int w;

	for (i = 0; i < CTLSOCK_CLIENTS; i++)
		if (cs->c[i].fd == fd)
			c = &cs->c[i];
	if (c == NULL)
		return;
	c->last = clock_mono_s();
	if ((events & (EPOLLERR | EPOLLHUP)) && !(events & EPOLLIN)) {
		client_close(cs, c);
		return;
	}
	if ((events & EPOLLIN) && client_read(cs, c) == -1) {
		client_close(cs, c);
		return;
	}
	if ((w = client_write(c)) == -1) {
		client_close(cs, c);
		return;
	}
	/* Stop reading while an answer waits: no unbounded queueing. */
	(void)loop_mod(cs->loop, fd, w ? EPOLLOUT : EPOLLIN);
}

/* on_accept - one new client, if it is root or our user */
static void
on_accept(int fd, uint32_t events, void *arg)
{
	struct ctlsock *cs = arg;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct client *c = NULL;
	size_t i;
	int cfd;

	(void)events;
	if ((cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) ==
	    -1) {
		if (errno == EMFILE || errno == ENFILE) {
			/* Stop accepting for a moment rather than spin;
			 * ctlsock_tick() resumes. */
			log_warn("control socket: accept");
			if (loop_mod(cs->loop, fd, 0) == 0)
				cs->paused = 1;
		}
		return;
	}
	if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1) {
		log_warn("control socket: SO_PEERCRED: refused");
		close(cfd);
		return;
	}
	if (cred.uid != 0 && cred.uid != cs->uid) {
		log_warnx("control socket: refused pid %d uid %u",
		    (int)cred.pid, (unsigned)cred.uid);
		close(cfd);
		return;
	}
	for (i = 0; i < CTLSOCK_CLIENTS && c == NULL; i++)
		if (cs->c[i].fd == -1)
			c = &cs->c[i];
	if (c == NULL || loop_add(cs->loop, cfd, EPOLLIN, client_io, cs) ==
	    -1) {
		close(cfd);
		return;
	}
	c->fd = cfd;
	c->inlen = 0;
	c->last = clock_mono_s();
}

/* ctlsock_new - bind and serve the control socket */
struct ctlsock *
ctlsock_new(struct loop *l, const char *path, uid_t uid, gid_t gid,
    struct accts *accts, struct flows *flows, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	struct ctlsock *cs;
	struct stat sb;
	size_t i;
	int bound = 0, probe, saved;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "control socket %s: path too long", path);
		return NULL;
	}
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if ((cs = calloc(1, sizeof(*cs))) == NULL) {
		snprintf(err, errlen, "control socket: %s", strerror(errno));
		return NULL;
	}
	cs->loop = l;
	cs->uid = uid;
	cs->accts = accts;
	cs->flows = flows;
	cs->started = clock_mono_s();
	snprintf(cs->path, sizeof(cs->path), "%s", path);
	for (i = 0; i < CTLSOCK_CLIENTS; i++)
		cs->c[i].fd = -1;
	cs->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (cs->fd == -1)
		goto fail;
	/*
	 * A socket left by a dead daemon is replaced; one a live daemon
	 * still answers on is not taken from it, and nothing that is not
	 * a socket is ever removed.
	 */
	if (lstat(path, &sb) == 0 && S_ISSOCK(sb.st_mode)) {
		probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe != -1 && connect(probe, (struct sockaddr *)&sun,
		    sizeof(sun)) == 0) {
			close(probe);
			snprintf(err, errlen, "control socket %s: in use by "
			    "a running mailgovd", path);
			close(cs->fd);
			free(cs);
			return NULL;
		}
		if (probe != -1)
			close(probe);
		(void)unlink(path);
	}
	if (bind(cs->fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		goto fail;
	bound = 1;
	if (chmod(path, 0660) == -1 || chown(path, uid, gid) == -1 ||
	    listen(cs->fd, 16) == -1 ||
	    loop_add(l, cs->fd, EPOLLIN, on_accept, cs) == -1)
		goto fail;
	return cs;
fail:
	saved = errno;
	snprintf(err, errlen, "control socket %s: %s", path, strerror(saved));
	if (bound)
		(void)unlink(path);	/* nobody will ever answer on it */
	if (cs->fd != -1)
		close(cs->fd);
	free(cs);
	return NULL;
}

/* ctlsock_set_status - the daemon's extra status lines */
void
ctlsock_set_status(struct ctlsock *cs, ctlsock_status_fn fn, void *arg)
{
	cs->status_fn = fn;
	cs->status_arg = arg;
}

/* ctlsock_set_recent - the minute rings "top" reads */
void
ctlsock_set_recent(struct ctlsock *cs, struct recent *r)
{
	cs->recent = r;
}

/* ctlsock_tick - close idle clients; resume accepting after EMFILE */
void
ctlsock_tick(struct ctlsock *cs, uint64_t now)
{
	uint64_t m = clock_mono_s();
	size_t i;

	(void)now;
	for (i = 0; i < CTLSOCK_CLIENTS; i++)
		if (cs->c[i].fd != -1 && m - cs->c[i].last > CTL_IDLE)
			client_close(cs, &cs->c[i]);
	if (cs->paused && loop_mod(cs->loop, cs->fd, EPOLLIN) == 0)
		cs->paused = 0;
}

/* ctlsock_free - close every client and the listener */
void
ctlsock_free(struct ctlsock *cs)
{
	size_t i;

	if (cs == NULL)
		return;
	for (i = 0; i < CTLSOCK_CLIENTS; i++)
		if (cs->c[i].fd != -1)
			client_close(cs, &cs->c[i]);
	loop_del(cs->loop, cs->fd);
	close(cs->fd);
	(void)unlink(cs->path);
	free(cs);
}
