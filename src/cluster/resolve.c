/*
 * resolve - name lookups off the loop (see resolve.h).
 *
 * Why a thread and not getaddrinfo_a: getaddrinfo_a runs the same
 * getaddrinfo on a thread glibc keeps, and tells the caller through a
 * signal or yet another thread; a thread of our own with a socket back
 * to the loop is as short and fits the epoll loop directly.  A lookup
 * cannot be interrupted (getaddrinfo has no deadline of its own beyond
 * resolv.conf's timeout and attempts): a cancelled one is left to finish,
 * its answer sent into a socket nobody reads any more.  The job is shared
 * by the thread and the loop and freed by whichever lets go last.
 *
 * Trusts: the configuration (host and port).  Not DNS: only the first
 * address of a stream socket is taken, copied with its length checked.
 */
#include <sys/epoll.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "loop.h"
#include "resolve.h"

#define HOST_MAX	256
#define PORT_MAX	8
#define LOOKUPS_MAX	8	/* threads still waiting for DNS, cancelled
				 * ones included: a resolver that hangs
				 * does not pile them up */

static int	lookups;	/* atomic: threads running */

/* what the thread and the loop share */
struct job {
	char			 host[HOST_MAX];
	char			 port[PORT_MAX];
	int			 wfd;		/* the thread's end */
	int			 refs;		/* atomic: 2, then 1, then 0 */
	int			 gai;		/* getaddrinfo's answer */
	struct sockaddr_storage	 addr;
	socklen_t		 alen;
};

struct lookup {
	struct loop	*loop;
	int		 rfd;		/* the loop's end */
	struct job	*j;
	resolve_cb	 cb;
	void		*arg;
};

/* job_put - one side lets go; the last frees */
static void
job_put(struct job *j)
{
	if (__atomic_sub_fetch(&j->refs, 1, __ATOMIC_ACQ_REL) == 0)
		free(j);
}

/* worker - the lookup, then one byte to wake the loop */
static void *
worker(void *arg)
{
	struct job	*j = arg;
	struct addrinfo	 hints, *res = NULL;
	char		 one = 1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	j->gai = getaddrinfo(j->host, j->port, &hints, &res);
	if (j->gai == 0) {
		if (res == NULL || res->ai_addrlen > sizeof(j->addr))
			j->gai = EAI_FAIL;
		else {
			memcpy(&j->addr, res->ai_addr, res->ai_addrlen);
			j->alen = res->ai_addrlen;
		}
	}
	if (res != NULL)
		freeaddrinfo(res);
	/* the job is written before the loop hears of it */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	/* a cancelled lookup: nobody reads, and no SIGPIPE either */
	(void)send(j->wfd, &one, 1, MSG_NOSIGNAL | MSG_DONTWAIT);
	close(j->wfd);
	job_put(j);
	__atomic_sub_fetch(&lookups, 1, __ATOMIC_ACQ_REL);
	return NULL;
}

/* finish - stop watching; the job is the loop's to let go */
static void
finish(struct lookup *lk)
{
	loop_del(lk->loop, lk->rfd);
	close(lk->rfd);
	job_put(lk->j);
	free(lk);
}

/* on_answer - the thread is done: hand its answer over */
static void
on_answer(int fd, uint32_t events, void *arg)
{
	struct lookup	*lk = arg;
	struct job	*j = lk->j;
	struct sockaddr_storage addr;
	resolve_cb	 cb = lk->cb;
	void		*cbarg = lk->arg;
	socklen_t	 alen = 0;
	char		 c, err[128];
	int		 ok;

	(void)events;
	if (recv(fd, &c, 1, MSG_DONTWAIT) == -1 &&
	    (errno == EAGAIN || errno == EINTR))
		return;
	/* the byte was sent after the job was written: read it now */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	ok = j->gai == 0;
	if (ok) {
		addr = j->addr;
		alen = j->alen;
	} else
		snprintf(err, sizeof(err), "cannot resolve the name: %s",
		    gai_strerror(j->gai));
	finish(lk);
	cb(cbarg, ok, ok ? &addr : NULL, alen, ok ? NULL : err);
}

/* resolve_start - see resolve.h */
struct lookup *
resolve_start(struct loop *loop, const char *host, const char *port,
    resolve_cb cb, void *arg)
{
	struct lookup	*lk = NULL;
	struct job	*j = NULL;
	pthread_attr_t	 attr;
	pthread_t	 t;
	sigset_t	 all, old;
	int		 sv[2] = { -1, -1 }, e;

	if (strlen(host) >= HOST_MAX || strlen(port) >= PORT_MAX) {
		log_warnx("resolve: %s: name too long", host);
		return NULL;
	}
	if (__atomic_load_n(&lookups, __ATOMIC_ACQUIRE) >= LOOKUPS_MAX) {
		static uint64_t tat;	/* a line a minute at most */

		if (log_rate_ok(&tat, clock_mono_ms(), 1, 60000))
			log_warnx("resolve: %s: %d lookups still waiting for "
			    "DNS; no new one until they end", host,
			    LOOKUPS_MAX);
		return NULL;
	}
	if ((lk = calloc(1, sizeof(*lk))) == NULL ||
	    (j = calloc(1, sizeof(*j))) == NULL ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
		log_warn("resolve");
		goto fail;
	}
	snprintf(j->host, sizeof(j->host), "%s", host);
	snprintf(j->port, sizeof(j->port), "%s", port);
	j->wfd = sv[1];
	j->refs = 2;
	lk->loop = loop;
	lk->rfd = sv[0];
	lk->j = j;
	lk->cb = cb;
	lk->arg = arg;
	if (loop_add(loop, sv[0], EPOLLIN, on_answer, lk) == -1) {
		log_warn("resolve: watch");
		goto fail;
	}
	/* the thread takes no signal: the loop's signalfd gets them all */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	__atomic_add_fetch(&lookups, 1, __ATOMIC_ACQ_REL);
	e = pthread_create(&t, &attr, worker, j);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e != 0) {
		__atomic_sub_fetch(&lookups, 1, __ATOMIC_ACQ_REL);
		errno = e;
		log_warn("resolve: thread");
		loop_del(loop, sv[0]);
		goto fail;
	}
	return lk;
fail:
	if (sv[0] != -1)
		close(sv[0]);
	if (sv[1] != -1)
		close(sv[1]);
	free(j);
	free(lk);
	return NULL;
}

/* resolve_cancel - see resolve.h */
void
resolve_cancel(struct lookup *lk)
{
	if (lk != NULL)
		finish(lk);
}

/* resolve_numeric - see resolve.h */
int
resolve_numeric(const char *host, const char *port,
    struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	char	*end;
	long	 p;

	errno = 0;
	p = strtol(port, &end, 10);
	if (errno != 0 || end == port || *end != '\0' || p < 1 || p > 65535)
		return -1;
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)p);
		*len = sizeof(*in);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)p);
		*len = sizeof(*in6);
		return 0;
	}
	return -1;
}

/* resolve_format - see resolve.h */
void
resolve_format(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
	char	 a[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET &&
	    inet_ntop(AF_INET, &in->sin_addr, a, sizeof(a)) != NULL)
		snprintf(buf, len, "%s:%u", a, (unsigned)ntohs(in->sin_port));
	else if (ss->ss_family == AF_INET6 &&
	    inet_ntop(AF_INET6, &in6->sin6_addr, a, sizeof(a)) != NULL)
		snprintf(buf, len, "[%s]:%u", a,
		    (unsigned)ntohs(in6->sin6_port));
	else
		snprintf(buf, len, "(address family %d)", ss->ss_family);
}
