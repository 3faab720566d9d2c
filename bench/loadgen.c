/*
 * loadgen - closed-loop load for Postfix policy servers.  N connections;
 * each sends one request shaped like Postfix 3.7's END-OF-MESSAGE (or
 * RCPT) request for one of U SASL users, waits for the whole answer
 * ("action=...\n\n"), and sends the next.  After a warm-up it measures
 * for a fixed time and prints requests per second and latency
 * percentiles.  Traffic goes only where -p/-u point (127.0.0.1 or a unix
 * socket).  It stops by itself.
 *
 * Usage: loadgen (-p PORT | -u PATH) [-c CONNS] [-w WARMUP_S] [-d SECS]
 *            [-n USERS] [-s rcpt|eom] [-x CONTEXT] [-v PER_USER]
 * -v runs a check instead: PER_USER messages for each user, one
 * connection, one at a time, then prints how many answers of each kind
 * came back (to prove a rate limit triggers).
 * Output (one line): conns=16 reqs=... rps=... p50_us=... p99_us=...
 * unanswered=N (connections that got no answer at all while measuring).
 */
#define _GNU_SOURCE
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define HIST_US		100000		/* 1 us buckets up to 100 ms */

struct lconn {
	int		fd;
	char		req[2048];
	size_t		reqlen, off;
	char		in[4096];
	size_t		inlen;
	uint64_t	t0;
	uint64_t	answered;	/* during the measurement */
	unsigned	seq;
};

static int		 port;
static const char	*upath;
static const char	*stage = "eom";
static const char	*context = "main";
static unsigned		 nusers = 1000;
static uint64_t		 hist[HIST_US + 1];
static uint64_t		 rng = 88172645463325252ULL;

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t
xorshift(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* dial - one connection to the server under test */
static int
dial(void)
{
	int fd, one = 1;

	if (upath != NULL) {
		struct sockaddr_un sun;

		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", upath);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (fd < 0 || connect(fd, (void *)&sun, sizeof(sun)) < 0) {
			perror("connect");
			exit(1);
		}
	} else {
		struct sockaddr_in sin;

		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_port = htons((uint16_t)port);
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0 || connect(fd, (void *)&sin, sizeof(sin)) < 0) {
			perror("connect");
			exit(1);
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	return fd;
}

/* build - a Postfix 3.7 style request for user u */
static size_t
build(char *buf, size_t len, unsigned u, unsigned seq)
{
	int eom = strcmp(stage, "eom") == 0;

	return (size_t)snprintf(buf, len,
	    "request=smtpd_access_policy\n"
	    "protocol_state=%s\n"
	    "protocol_name=ESMTP\n"
	    "client_address=127.0.0.1\n"
	    "client_name=localhost\n"
	    "client_port=%u\n"
	    "reverse_client_name=localhost\n"
	    "server_address=127.0.0.1\n"
	    "server_port=587\n"
	    "helo_name=client%u.example.net\n"
	    "sender=user%u@site%u.example\n"
	    "recipient=%s\n"
	    "recipient_count=%u\n"
	    "queue_id=%s\n"
	    "instance=%x.%x.%x.0\n"
	    "size=%u\n"
	    "etrn_domain=\n"
	    "stress=\n"
	    "sasl_method=PLAIN\n"
	    "sasl_username=user%u\n"
	    "sasl_sender=\n"
	    "ccert_subject=\n"
	    "ccert_issuer=\n"
	    "ccert_fingerprint=\n"
	    "ccert_pubkey_fingerprint=\n"
	    "encryption_protocol=TLSv1.3\n"
	    "encryption_cipher=TLS_AES_256_GCM_SHA384\n"
	    "encryption_keysize=256\n"
	    "policy_context=%s\n"
	    "\n",
	    eom ? "END-OF-MESSAGE" : "RCPT", 30000 + u % 30000, u, u, u,
	    eom ? "" : "rcpt@example.org", eom ? 1 : 0,
	    eom ? "4ZxQ1k2LmNz" : "", u, seq, 0xc0d5b, 1000 + seq % 5000, u,
	    context);
}

/* built once: formatting a request per send would measure snprintf */
static char	**reqs_by_user;
static size_t	 *len_by_user;

static void
next_req(struct lconn *c)
{
	unsigned u = (unsigned)(xorshift() % nusers);

	if (reqs_by_user == NULL) {
		unsigned i;

		reqs_by_user = calloc(nusers, sizeof(*reqs_by_user));
		len_by_user = calloc(nusers, sizeof(*len_by_user));
		for (i = 0; i < nusers; i++) {
			reqs_by_user[i] = malloc(2048);
			len_by_user[i] = build(reqs_by_user[i], 2048, i, i);
		}
	}
	memcpy(c->req, reqs_by_user[u], len_by_user[u]);
	c->reqlen = len_by_user[u];
	c->off = 0;
	c->inlen = 0;
}

/* send_req - the whole request (small: one write normally) */
static int
send_req(struct lconn *c)
{
	ssize_t n;

	while (c->off < c->reqlen) {
		n = send(c->fd, c->req + c->off, c->reqlen - c->off,
		    MSG_NOSIGNAL);
		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			return -1;
		}
		c->off += (size_t)n;
	}
	return 0;
}

/* check - -v: PER_USER messages per user, sequential, count the answers */
static int
check(unsigned per_user)
{
	struct lconn	c;
	unsigned	u, k;
	uint64_t	dunno = 0, other = 0;
	char		first_other[256] = "";

	memset(&c, 0, sizeof(c));
	c.fd = dial();
	for (u = 0; u < nusers; u++)
		for (k = 0; k < per_user; k++) {
			c.reqlen = build(c.req, sizeof(c.req), u, ++c.seq);
			c.off = 0;
			c.inlen = 0;
			if (send_req(&c) < 0)
				return 1;
			for (;;) {
				ssize_t n = recv(c.fd, c.in + c.inlen,
				    sizeof(c.in) - 1 - c.inlen, 0);

				if (n <= 0) {
					fprintf(stderr, "connection lost\n");
					return 1;
				}
				c.inlen += (size_t)n;
				c.in[c.inlen] = '\0';
				if (strstr(c.in, "\n\n") != NULL)
					break;
			}
			if (strncmp(c.in, "action=DUNNO\n", 13) == 0 ||
			    strncmp(c.in, "action=dunno\n", 13) == 0)
				dunno++;
			else {
				other++;
				if (!first_other[0])
					snprintf(first_other,
					    sizeof(first_other), "%.*s",
					    (int)strcspn(c.in, "\n"), c.in);
			}
		}
	printf("requests=%u dunno=%llu other=%llu first_other=\"%s\"\n",
	    nusers * per_user, (unsigned long long)dunno,
	    (unsigned long long)other, first_other);
	return 0;
}

int
main(int argc, char **argv)
{
	struct epoll_event	 ev, evs[256];
	struct lconn		*cs;
	unsigned		 nconns = 16, i, per_user = 0;
	double			 warm = 2, dur = 10;
	uint64_t		 t_start, t_measure, t_end, t, reqs = 0, sum;
	uint64_t		 p50 = 0, p99 = 0, p999 = 0, unanswered = 0;
	int			 ep, n, k, ch, measuring = 0;

	while ((ch = getopt(argc, argv, "p:u:c:w:d:n:s:x:v:")) != -1) {
		switch (ch) {
		case 'p': port = atoi(optarg); break;
		case 'u': upath = optarg; break;
		case 'c': nconns = (unsigned)atoi(optarg); break;
		case 'w': warm = atof(optarg); break;
		case 'd': dur = atof(optarg); break;
		case 'n': nusers = (unsigned)atoi(optarg); break;
		case 's': stage = optarg; break;
		case 'x': context = optarg; break;
		case 'v': per_user = (unsigned)atoi(optarg); break;
		default:
			fprintf(stderr, "usage: loadgen (-p PORT|-u PATH) "
			    "[-c N] [-w S] [-d S] [-n USERS] [-s eom|rcpt] "
			    "[-x main|queue] [-v PER_USER]\n");
			return 2;
		}
	}
	if ((port == 0 && upath == NULL) || nconns == 0 || nusers == 0)
		return 2;
	if (per_user > 0)
		return check(per_user);

	cs = calloc(nconns, sizeof(*cs));
	ep = epoll_create1(0);
	/* every connection is open before the clock starts */
	for (i = 0; i < nconns; i++) {
		cs[i].fd = dial();
		ev.events = EPOLLIN;
		ev.data.ptr = &cs[i];
		epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev);
	}
	t_start = now_ns();
	t_measure = t_start + (uint64_t)(warm * 1e9);
	t_end = t_measure + (uint64_t)(dur * 1e9);
	for (i = 0; i < nconns; i++) {
		next_req(&cs[i]);
		cs[i].t0 = now_ns();
		if (send_req(&cs[i]) < 0) {
			perror("send");
			return 1;
		}
	}
	for (;;) {
		n = epoll_wait(ep, evs, 256, 100);
		t = now_ns();
		if (!measuring && t >= t_measure)
			measuring = 1;
		if (t >= t_end)
			break;
		for (k = 0; k < n; k++) {
			struct lconn *c = evs[k].data.ptr;
			ssize_t r;

			r = recv(c->fd, c->in + c->inlen,
			    sizeof(c->in) - 1 - c->inlen, 0);
			if (r <= 0) {
				if (r < 0 && errno == EINTR)
					continue;
				fprintf(stderr, "server closed a connection\n");
				return 1;
			}
			c->inlen += (size_t)r;
			c->in[c->inlen] = '\0';
			if (c->inlen < 2 || memcmp(c->in + c->inlen - 2,
			    "\n\n", 2) != 0)
				continue;	/* answer not complete */
			if (measuring && c->t0 >= t_measure) {
				uint64_t us = (t - c->t0) / 1000;

				hist[us > HIST_US ? HIST_US : us]++;
				reqs++;
				c->answered++;
			}
			next_req(c);
			c->t0 = now_ns();
			if (send_req(c) < 0) {
				perror("send");
				return 1;
			}
		}
	}
	for (i = 0, sum = 0; i <= HIST_US; i++) {
		sum += hist[i];
		if (!p50 && sum * 2 >= reqs)
			p50 = i;
		if (!p99 && sum * 100 >= reqs * 99)
			p99 = i;
		if (!p999 && sum * 1000 >= reqs * 999)
			p999 = i;
	}
	for (i = 0; i < nconns; i++)
		if (cs[i].answered == 0)
			unanswered++;
	printf("conns=%u reqs=%llu rps=%.0f p50_us=%llu p99_us=%llu "
	    "p999_us=%llu unanswered=%llu\n", nconns,
	    (unsigned long long)reqs, (double)reqs / dur,
	    (unsigned long long)p50, (unsigned long long)p99,
	    (unsigned long long)p999, (unsigned long long)unanswered);
	return 0;
}
