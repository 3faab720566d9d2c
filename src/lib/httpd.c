/*
 * httpd - the minimal HTTP/1.1 server (see httpd.h).
 *
 * A connection goes READ (the head, at most HTTP_HEAD_MAX bytes) ->
 * WRITE (the whole response, as the socket takes it) -> DRAIN (our side
 * shut down; what the client still sends is read and dropped until it
 * closes, so that the kernel does not answer it with a reset that could
 * cut the response short) -> closed.  Every state ends at the deadline.
 * When every slot is taken, a new connection is closed at once: a flood
 * of idle connections costs HTTPD_CONNS slots, never the backlog or
 * memory.
 *
 * Trusts: nothing a client sends (http.h parses it); the resource
 * function for its body.
 */
#define _GNU_SOURCE		/* accept4 */
#include <sys/epoll.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "http.h"
#include "httpd.h"
#include "log.h"

#define HTTPD_BACKLOG	64
#define HTTPD_HDR_MAX	256	/* our own response head */

enum hstate { H_FREE = 0, H_READ, H_WRITE, H_DRAIN };

struct hconn {
	struct httpd	*h;
	int		 fd;
	enum hstate	 st;
	uint64_t	 born;		/* monotonic s */
	char		 in[HTTP_HEAD_MAX];
	size_t		 inlen;
	char		*out;
	size_t		 outlen, outoff;
};

struct httpd {
	struct loop	*loop;
	int		 fd;
	int		 paused;	/* accept stopped after EMFILE */
	unsigned	 deadline;
	char		 path[HTTP_TARGET_MAX];
	httpd_fn	 fn;
	void		*arg;
	struct hconn	 c[HTTPD_CONNS];
};

/* conn_close - free the slot */
static void
conn_close(struct hconn *c)
{
	loop_del(c->h->loop, c->fd);
	close(c->fd);
	free(c->out);
	c->out = NULL;
	c->outlen = c->outoff = c->inlen = 0;
	c->fd = -1;
	c->st = H_FREE;
}

/* respond - queue status, head and body (body NULL: a short text) */
static int
respond(struct hconn *c, int status, const char *ctype, const char *body,
    size_t blen, int head_only)
{
	char	 hdr[HTTPD_HDR_MAX], text[80];
	int	 n;

	if (body == NULL) {
		n = snprintf(text, sizeof(text), "%d %s\n", status,
		    http_reason(status));
		body = text;
		blen = (size_t)n;
		ctype = "text/plain; charset=utf-8";
	}
	n = snprintf(hdr, sizeof(hdr), "HTTP/1.1 %d %s\r\n"
	    "Content-Type: %s\r\nContent-Length: %zu\r\n%s"
	    "Connection: close\r\n\r\n", status, http_reason(status), ctype,
	    blen, status == 405 ? "Allow: GET, HEAD\r\n" : "");
	if (n < 0 || (size_t)n >= sizeof(hdr))
		return -1;
	if (head_only)
		blen = 0;
	if ((c->out = malloc((size_t)n + blen)) == NULL)
		return -1;
	memcpy(c->out, hdr, (size_t)n);
	memcpy(c->out + n, body, blen);
	c->outlen = (size_t)n + blen;
	c->outoff = 0;
	c->st = H_WRITE;
	return 0;
}

/* serve - the complete, well-formed request r */
static int
serve(struct hconn *c, const struct http_req *r)
{
	const char *ctype = NULL;
	char	*body;
	size_t	 len = 0;
	int	 rc;

	if (strcmp(r->path, c->h->path) != 0)
		return respond(c, 404, NULL, NULL, 0, 0);
	if ((body = c->h->fn(c->h->arg, &len, &ctype)) == NULL)
		return respond(c, 500, NULL, NULL, 0, 0);
	rc = respond(c, 200, ctype, body, len, strcmp(r->method, "HEAD") == 0);
	free(body);
	return rc;
}

/* conn_write - send what the socket takes; at the end shut our side */
static int
conn_write(struct hconn *c)
{
	ssize_t	 n;

	while (c->outoff < c->outlen) {
		n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return loop_mod(c->h->loop, c->fd, EPOLLOUT);
			return -1;
		}
		c->outoff += (size_t)n;
	}
	free(c->out);
	c->out = NULL;
	c->outlen = c->outoff = 0;
	(void)shutdown(c->fd, SHUT_WR);
	c->st = H_DRAIN;
	return loop_mod(c->h->loop, c->fd, EPOLLIN);
}

/* conn_read - take what came; answer once the head is judged */
static int
conn_read(struct hconn *c)
{
	struct http_req r;
	char	 sink[512];
	ssize_t	 n;
	int	 v;

	if (c->st == H_DRAIN) {
		n = recv(c->fd, sink, sizeof(sink), MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		return n > 0 ? 0 : -1;
	}
	n = recv(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen,
	    MSG_DONTWAIT);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	if (n == 0)
		return -1;	/* gone before its request was complete */
	c->inlen += (size_t)n;
	if ((v = http_parse(c->in, c->inlen, &r)) == HTTP_MORE)
		return 0;
	if ((v == 200 ? serve(c, &r) : respond(c, v, NULL, NULL, 0, 0)) ==
	    -1)
		return -1;
	return conn_write(c);
}

/* on_conn - a client's socket is ready */
static void
on_conn(int fd, uint32_t events, void *arg)
{
	struct hconn *c = arg;
	int	 rc = 0;

	(void)fd;
	if (c->st == H_WRITE && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
		rc = conn_write(c);
	else if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
		rc = conn_read(c);
	if (rc == -1)
		conn_close(c);
}

/* on_accept - take every pending connection; those beyond the slots are
 * closed at once */
static void
on_accept(int fd, uint32_t events, void *arg)
{
	struct httpd *h = arg;
	struct hconn *c;
	size_t	 i;
	int	 cfd;

	(void)events;
	for (;;) {
		cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd == -1) {
			if (errno == EMFILE || errno == ENFILE) {
				log_warn("metrics: accept");
				if (loop_mod(h->loop, fd, 0) == 0)
					h->paused = 1;
			}
			return;
		}
		for (c = NULL, i = 0; i < HTTPD_CONNS && c == NULL; i++)
			if (h->c[i].st == H_FREE)
				c = &h->c[i];
		if (c == NULL || loop_add(h->loop, cfd, EPOLLIN, on_conn, c) ==
		    -1) {
			close(cfd);
			continue;
		}
		c->fd = cfd;
		c->st = H_READ;
		c->inlen = 0;
		c->born = clock_mono_s();
	}
}

/* listen_on - a non-blocking listener on the numeric address spec */
static int
listen_on(const char *spec, char *err, size_t errlen)
{
	struct addrinfo	 hints, *res = NULL;
	char		 host[HTTP_TARGET_MAX];
	char		*colon, *port;
	int		 fd = -1, one = 1, rc;

	if (snprintf(host, sizeof(host), "%s", spec) >= (int)sizeof(host) ||
	    (colon = strrchr(host, ':')) == NULL) {
		snprintf(err, errlen, "%s: expected address:port", spec);
		return -1;
	}
	*colon = '\0';
	port = colon + 1;
	if (host[0] == '[' && colon > host + 1 && colon[-1] == ']') {
		colon[-1] = '\0';
		memmove(host, host + 1, strlen(host + 1) + 1);
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		snprintf(err, errlen, "%s: %s", spec, gai_strerror(rc));
		return -1;
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1)
		goto fail;
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (res->ai_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
		    sizeof(one));
	if (bind(fd, res->ai_addr, res->ai_addrlen) == -1 ||
	    listen(fd, HTTPD_BACKLOG) == -1)
		goto fail;
	freeaddrinfo(res);
	return fd;
fail:
	snprintf(err, errlen, "%s: %s", spec, strerror(errno));
	if (fd != -1)
		close(fd);
	freeaddrinfo(res);
	return -1;
}

/* httpd_new - bind and serve */
struct httpd *
httpd_new(struct loop *l, const char *addr, const char *path,
    unsigned deadline, httpd_fn fn, void *arg, char *err, size_t errlen)
{
	struct httpd *h;
	size_t	 i;

	if ((h = calloc(1, sizeof(*h))) == NULL) {
		snprintf(err, errlen, "%s", strerror(errno));
		return NULL;
	}
	h->loop = l;
	h->deadline = deadline ? deadline : HTTPD_DEADLINE;
	h->fn = fn;
	h->arg = arg;
	snprintf(h->path, sizeof(h->path), "%s", path);
	for (i = 0; i < HTTPD_CONNS; i++) {
		h->c[i].h = h;
		h->c[i].fd = -1;
	}
	if ((h->fd = listen_on(addr, err, errlen)) == -1) {
		free(h);
		return NULL;
	}
	if (loop_add(l, h->fd, EPOLLIN, on_accept, h) == -1) {
		snprintf(err, errlen, "%s: %s", addr, strerror(errno));
		close(h->fd);
		free(h);
		return NULL;
	}
	return h;
}

/* httpd_tick - the deadline; a request that never came gets a 408 if
 * the socket takes it at once */
void
httpd_tick(struct httpd *h)
{
	uint64_t now = clock_mono_s();
	struct hconn *c;
	size_t	 i;

	for (i = 0; i < HTTPD_CONNS; i++) {
		c = &h->c[i];
		if (c->st == H_FREE || now - c->born < h->deadline)
			continue;
		if (c->st == H_READ && respond(c, 408, NULL, NULL, 0, 0) == 0)
			(void)send(c->fd, c->out, c->outlen,
			    MSG_NOSIGNAL | MSG_DONTWAIT);
		conn_close(c);
	}
	if (h->paused && loop_mod(h->loop, h->fd, EPOLLIN) == 0)
		h->paused = 0;
}

/* httpd_free - close every connection and the listener */
void
httpd_free(struct httpd *h)
{
	size_t	 i;

	if (h == NULL)
		return;
	for (i = 0; i < HTTPD_CONNS; i++)
		if (h->c[i].st != H_FREE)
			conn_close(&h->c[i]);
	loop_del(h->loop, h->fd);
	close(h->fd);
	free(h);
}
