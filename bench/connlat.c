/*
 * connlat - TCP connection set-up latency, closed loop.  C threads each
 * open a connection to ADDR:PORT, time connect() until it returns
 * (established), read the server's first line (the SMTP banner), then
 * close with SO_LINGER 0 (a reset: no TIME_WAIT on either side, so the
 * ephemeral ports never run out) and start over, until N connections are
 * done or the time limit is reached.  Prints connections per second and
 * percentiles of both latencies.  Traffic goes only where -a/-p point.
 * It stops by itself.  Trusts nothing from the server beyond "220".
 *
 * Usage: connlat -a ADDR -p PORT [-c CONNS] [-n TOTAL] [-w WARMUP]
 *            [-t MAX_SECONDS] [-r RATE]
 * The first WARMUP connections (default 500) are made but not counted.
 * With -r each thread starts at most RATE connections a second, on a
 * fixed schedule (a probe of someone's latency, not a load).
 * Output (one line): conns=C n=N secs=S cps=R connect_p50_us=.. p99 ..
 * banner_p50_us=.. banner_p99_us=.. errors=E
 * errors: connections refused, reset, or whose first line was not 220.
 */
#define _GNU_SOURCE
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define HIST_US		1000000		/* 1 us buckets up to 1 s */

struct worker {
	pthread_t	th;
	uint32_t	*hconn, *hbanner;	/* HIST_US + 1 buckets each */
	uint64_t	done, errors;
};

static struct sockaddr_in	 dst;
static atomic_long		 ticket;	/* connections handed out */
static long			 total = 20000, warm = 500;
static double			 maxsecs = 60;
static double			 rate;		/* per thread; 0: closed loop */
static uint64_t			 t_start, t_measure;
static atomic_uint_fast64_t	 t_first;	/* first measured connect */

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* bucket - a latency in ns as a histogram index (us, capped) */
static size_t
bucket(uint64_t ns)
{
	uint64_t us = ns / 1000;

	return us > HIST_US ? HIST_US : (size_t)us;
}

/* one - one connection; 0, or -1 on any failure.  *c, *b: latencies */
static int
one(uint64_t *c, uint64_t *b)
{
	struct linger lg = { 1, 0 };
	char buf[512];
	size_t have = 0;
	uint64_t t0;
	ssize_t r;
	int fd, ok = -1;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	t0 = now_ns();
	if (connect(fd, (struct sockaddr *)&dst, sizeof(dst)) == -1)
		goto out;
	*c = now_ns() - t0;
	/* the whole first line: the banner may come in pieces */
	while (have < sizeof(buf)) {
		r = read(fd, buf + have, sizeof(buf) - have);
		if (r <= 0)
			goto out;
		have += (size_t)r;
		if (memchr(buf, '\n', have) != NULL)
			break;
	}
	*b = now_ns() - t0;
	if (have >= 4 && memcmp(buf, "220", 3) == 0)
		ok = 0;
out:
	(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
	return ok;
}

/* run - a worker's closed loop */
static void *
run(void *arg)
{
	struct worker *w = arg;
	uint64_t c = 0, b = 0, lim = (uint64_t)(maxsecs * 1e9), next, k = 0;
	struct timespec ts;
	long t;

	while ((t = atomic_fetch_add(&ticket, 1)) < warm + total) {
		if (now_ns() - t_start > lim)
			break;
		if (rate > 0) {
			next = t_start + (uint64_t)((double)k++ * 1e9 / rate);
			if (next > now_ns()) {
				ts.tv_sec = (time_t)(next / 1000000000u);
				ts.tv_nsec = (long)(next % 1000000000u);
				clock_nanosleep(CLOCK_MONOTONIC,
				    TIMER_ABSTIME, &ts, NULL);
			}
		}
		if (t == warm) {
			uint64_t zero = 0;

			(void)atomic_compare_exchange_strong(&t_first, &zero,
			    now_ns());
		}
		if (one(&c, &b) == -1) {
			if (t >= warm)
				w->errors++;
			continue;
		}
		if (t < warm)
			continue;
		w->hconn[bucket(c)]++;
		w->hbanner[bucket(b)]++;
		w->done++;
	}
	return NULL;
}

/* pct - the q-th quantile of a merged histogram, in us */
static unsigned
pct(const uint64_t *h, uint64_t n, double q)
{
	uint64_t want = (uint64_t)(q * (double)n), seen = 0;
	size_t i;

	if (want == 0)
		want = 1;
	for (i = 0; i <= HIST_US; i++) {
		seen += h[i];
		if (seen >= want)
			return (unsigned)i;
	}
	return HIST_US;
}

int
main(int argc, char **argv)
{
	struct worker *w;
	uint64_t *hc, *hb, n = 0, errs = 0, t_end;
	const char *addr = "127.0.0.1";
	unsigned nthr = 1, i;
	size_t k;
	double secs;
	int ch, port = 2525;

	while ((ch = getopt(argc, argv, "a:p:c:n:w:t:r:")) != -1) {
		switch (ch) {
		case 'a': addr = optarg; break;
		case 'p': port = atoi(optarg); break;
		case 'c': nthr = (unsigned)atoi(optarg); break;
		case 'n': total = atol(optarg); break;
		case 'w': warm = atol(optarg); break;
		case 't': maxsecs = atof(optarg); break;
		case 'r': rate = atof(optarg); break;
		default:
			fprintf(stderr, "usage: connlat -a ADDR -p PORT [-c "
			    "CONNS] [-n TOTAL] [-w WARMUP] [-t SECS] "
			    "[-r RATE]\n");
			return 2;
		}
	}
	memset(&dst, 0, sizeof(dst));
	dst.sin_family = AF_INET;
	dst.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, addr, &dst.sin_addr) != 1 || port < 1 ||
	    port > 65535 || nthr < 1 || nthr > 256 || total < 1 || warm < 0) {
		fprintf(stderr, "connlat: bad arguments\n");
		return 2;
	}
	if ((w = calloc(nthr, sizeof(*w))) == NULL ||
	    (hc = calloc(HIST_US + 1, sizeof(*hc))) == NULL ||
	    (hb = calloc(HIST_US + 1, sizeof(*hb))) == NULL) {
		fprintf(stderr, "connlat: out of memory\n");
		return 1;
	}
	t_start = now_ns();
	for (i = 0; i < nthr; i++) {
		w[i].hconn = calloc(HIST_US + 1, sizeof(uint32_t));
		w[i].hbanner = calloc(HIST_US + 1, sizeof(uint32_t));
		if (w[i].hconn == NULL || w[i].hbanner == NULL ||
		    pthread_create(&w[i].th, NULL, run, &w[i]) != 0) {
			fprintf(stderr, "connlat: cannot start a worker\n");
			return 1;
		}
	}
	for (i = 0; i < nthr; i++)
		pthread_join(w[i].th, NULL);
	t_end = now_ns();
	t_measure = atomic_load(&t_first);
	for (i = 0; i < nthr; i++) {
		for (k = 0; k <= HIST_US; k++) {
			hc[k] += w[i].hconn[k];
			hb[k] += w[i].hbanner[k];
		}
		n += w[i].done;
		errs += w[i].errors;
	}
	secs = t_measure ? (double)(t_end - t_measure) / 1e9 : 0;
	printf("conns=%u n=%llu secs=%.2f cps=%.0f connect_p50_us=%u "
	    "connect_p99_us=%u banner_p50_us=%u banner_p99_us=%u errors=%llu\n",
	    nthr, (unsigned long long)n, secs, secs > 0 ? (double)n / secs : 0,
	    pct(hc, n, 0.50), pct(hc, n, 0.99), pct(hb, n, 0.50),
	    pct(hb, n, 0.99), (unsigned long long)errs);
	return n > 0 ? 0 : 1;
}
