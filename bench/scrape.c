/*
 * scrape - what Prometheus does to mailgovd's metrics_listen, for the
 * policy benchmark: GET /metrics on 127.0.0.1:PORT every INTERVAL ms,
 * from one long-lived process.  A shell loop around curl would also
 * measure a fork and an exec per scrape, which a real Prometheus does
 * not cost the machine.  Prints, when killed (TERM), the scrapes made,
 * the failures, the bytes of the last body and the slowest scrape.
 *
 * Usage: scrape -p PORT [-i INTERVAL_MS].  Runs until killed.
 */
#define _GNU_SOURCE
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void
on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static long long
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* one_scrape - the whole answer's size, -1 on any failure */
static long
one_scrape(int port)
{
	static const char req[] = "GET /metrics HTTP/1.1\r\n"
	    "Host: 127.0.0.1\r\nConnection: close\r\n\r\n";
	struct sockaddr_in sin;
	char	 buf[65536];
	long	 total = 0;
	ssize_t	 n;
	int	 fd, ok = 0;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return -1;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    write(fd, req, sizeof(req) - 1) != (ssize_t)sizeof(req) - 1) {
		close(fd);
		return -1;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (total == 0)
			ok = n >= 12 && memcmp(buf + 9, "200", 3) == 0;
		total += n;
	}
	close(fd);
	return n == 0 && total > 0 && ok ? total : -1;
}

int
main(int argc, char **argv)
{
	long long t0, worst = 0;
	long	 size = 0, n, made = 0, failed = 0;
	int	 port = 0, interval = 1000, ch;

	while ((ch = getopt(argc, argv, "p:i:")) != -1) {
		if (ch == 'p')
			port = atoi(optarg);
		else if (ch == 'i')
			interval = atoi(optarg);
		else
			port = 0;
	}
	if (port <= 0 || interval <= 0) {
		fprintf(stderr, "usage: scrape -p PORT [-i INTERVAL_MS]\n");
		return 2;
	}
	signal(SIGTERM, on_term);
	while (!stop) {
		t0 = now_us();
		if ((n = one_scrape(port)) < 0)
			failed++;
		else
			size = n;
		made++;
		if (now_us() - t0 > worst)
			worst = now_us() - t0;
		usleep((useconds_t)interval * 1000);
	}
	printf("scrapes=%ld failed=%ld bytes=%ld slowest_us=%lld\n", made,
	    failed, size, worst);
	return failed > 0;
}
