/*
 * test_resolve - the Redis host's lookup off the loop: numeric addresses
 * need none (and bad ports are refused), addresses print as log lines
 * want them, a name from the hosts file comes back through the loop, and
 * a cancelled lookup never calls back (its thread finishes on its own).
 * (tests/e2e/test_cluster_restart.sh moves a name between two servers.)
 */
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"
#include "resolve.h"
#include "t.h"

struct numeric_case {
	const char	*host, *port;
	int		 rc, family;
	const char	*shown;
};

static const struct numeric_case numerics[] = {
	{ "127.0.0.1", "6379", 0, AF_INET, "127.0.0.1:6379" },
	{ "192.0.2.30", "16379", 0, AF_INET, "192.0.2.30:16379" },
	{ "::1", "6379", 0, AF_INET6, "[::1]:6379" },
	{ "2001:db8::5", "1", 0, AF_INET6, "[2001:db8::5]:1" },
	{ "redis.example.net", "6379", -1, 0, NULL },
	{ "1.2.3", "6379", -1, 0, NULL },
	{ "127.0.0.1", "0", -1, 0, NULL },
	{ "127.0.0.1", "65536", -1, 0, NULL },
	{ "127.0.0.1", "63x9", -1, 0, NULL },
	{ "127.0.0.1", "", -1, 0, NULL },
	{ "", "6379", -1, 0, NULL },
};

static void
test_numeric(void)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char	 buf[80];
	size_t	 i;

	for (i = 0; i < sizeof(numerics) / sizeof(numerics[0]); i++) {
		const struct numeric_case *c = &numerics[i];
		int rc = resolve_numeric(c->host, c->port, &ss, &len);

		T_EQ_U(rc, c->rc, c->host);
		if (rc != 0 || c->rc != 0)
			continue;
		T_EQ_U(ss.ss_family, c->family, "its family");
		resolve_format(&ss, buf, sizeof(buf));
		T_EQ_S(buf, c->shown, "as a log line shows it");
	}
}

static struct loop *L;
static int called, got_ok;
static char got[80];

static void
on_done(void *arg, int ok, const struct sockaddr_storage *ss, socklen_t len,
    const char *err)
{
	(void)arg;
	(void)len;
	called++;
	got_ok = ok;
	if (ok)
		resolve_format(ss, got, sizeof(got));
	else
		snprintf(got, sizeof(got), "%s", err);
	loop_stop(L);
}

static void
on_deadline(int fd, uint32_t ev, void *arg)
{
	uint64_t x;

	(void)ev;
	(void)arg;
	while (read(fd, &x, sizeof(x)) == -1 && errno == EINTR)
		;
	loop_stop(L);
}

/* run - the loop until a callback stops it or ms pass */
static void
run(int tfd, unsigned ms)
{
	struct itimerspec its;

	memset(&its, 0, sizeof(its));
	its.it_value.tv_sec = ms / 1000;
	its.it_value.tv_nsec = (long)(ms % 1000) * 1000000;
	timerfd_settime(tfd, 0, &its, NULL);
	loop_run(L);
}

static void
test_lookup_through_the_loop(int tfd)
{
	struct lookup *lk;

	called = 0;
	lk = resolve_start(L, "localhost", "6379", on_done, NULL);
	T_OK(lk != NULL, "a lookup started");
	T_EQ_U(called, 0, "never answered from inside resolve_start");
	run(tfd, 5000);
	T_EQ_U(called, 1, "answered once, through the loop");
	T_OK(got_ok && (strcmp(got, "127.0.0.1:6379") == 0 ||
	    strcmp(got, "[::1]:6379") == 0), "localhost: %s", got);
}

static void
test_cancelled_lookup_never_calls_back(int tfd)
{
	struct lookup *lk;
	int	 i;

	called = 0;
	for (i = 0; i < 20; i++) {
		lk = resolve_start(L, "localhost", "6379", on_done, NULL);
		resolve_cancel(lk);
	}
	run(tfd, 500);
	T_EQ_U(called, 0, "20 cancelled lookups: no call back");
	resolve_cancel(NULL);
	T_OK(1, "cancelling nothing is harmless");
}

int
main(void)
{
	int	 tfd;

	log_init("test_resolve", 1, 0);
	test_numeric();
	L = loop_new();
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
	loop_add(L, tfd, EPOLLIN, on_deadline, NULL);
	test_lookup_through_the_loop(tfd);
	test_cancelled_lookup_never_calls_back(tfd);
	loop_free(L);
	return t_done();
}
