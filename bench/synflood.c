/*
 * synflood - a web user flooding the kernel path with connection
 * attempts, for bench/kernel.sh.  For SECS seconds it keeps PENDING
 * non-blocking connects to ADDR:PORT in flight: as soon as one is refused
 * or made, another starts (a made one is reset at once, so nothing is
 * held).  With -s each attempt binds its own source address in 127/8, as
 * an attacker filling a table keyed by address would.  It stops after
 * SECS or MAX attempts, whichever comes first, and prints what it did.
 * Traffic goes only where -a/-p point; use a loopback or lab address.
 *
 * Usage: synflood -a ADDR -p PORT [-P PENDING] [-t SECS] [-m MAX] [-s]
 * Output (one line): attempts=N refused=N made=N timedout=N secs=S
 */
#define _GNU_SOURCE
#include <sys/epoll.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PENDING_MAX	4096

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* start - one non-blocking connect, registered for its outcome; the fd,
 * or -1 */
static int
start(int ep, const struct sockaddr_in *dst, int spread, uint64_t i)
{
	struct epoll_event ev;
	struct sockaddr_in src;
	int fd, one = 1;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1)
		return -1;
	if (spread) {
		memset(&src, 0, sizeof(src));
		src.sin_family = AF_INET;
		src.sin_addr.s_addr = htonl(0x7f000000u |
		    (uint32_t)(1 + i % 250) << 16 |
		    (uint32_t)(i / 250 % 250) << 8 | (uint32_t)(1 + i % 251));
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
		    sizeof(one));
		if (bind(fd, (struct sockaddr *)&src, sizeof(src)) == -1) {
			close(fd);
			return -1;
		}
	}
	if (connect(fd, (const struct sockaddr *)dst, sizeof(*dst)) == -1 &&
	    errno != EINPROGRESS) {
		close(fd);
		return -2;	/* refused at once */
	}
	ev.events = EPOLLOUT;
	ev.data.fd = fd;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* finish - a connect's outcome: 1 made, 0 refused; the socket is reset */
static int
finish(int ep, int fd)
{
	struct linger lg = { 1, 0 };
	socklen_t len = sizeof(int);
	int err = 0;

	(void)getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
	(void)epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
	(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
	return err == 0;
}

int
main(int argc, char **argv)
{
	struct epoll_event evs[256];
	struct sockaddr_in dst;
	const char *addr = NULL;
	uint64_t attempts = 0, refused = 0, made = 0, max = 5000000, t0, end;
	long pending = 256, inflight = 0;
	double secs = 5;
	int ch, port = 0, spread = 0, ep, n, i, fd;

	while ((ch = getopt(argc, argv, "a:p:P:t:m:s")) != -1) {
		switch (ch) {
		case 'a': addr = optarg; break;
		case 'p': port = atoi(optarg); break;
		case 'P': pending = atol(optarg); break;
		case 't': secs = atof(optarg); break;
		case 'm': max = strtoull(optarg, NULL, 10); break;
		case 's': spread = 1; break;
		default:
			fprintf(stderr, "usage: synflood -a ADDR -p PORT "
			    "[-P PENDING] [-t SECS] [-m MAX] [-s]\n");
			return 2;
		}
	}
	memset(&dst, 0, sizeof(dst));
	dst.sin_family = AF_INET;
	dst.sin_port = htons((uint16_t)port);
	if (addr == NULL || inet_pton(AF_INET, addr, &dst.sin_addr) != 1 ||
	    port < 1 || port > 65535 || pending < 1 ||
	    pending > PENDING_MAX || secs <= 0 || secs > 600) {
		fprintf(stderr, "synflood: bad arguments\n");
		return 2;
	}
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		perror("synflood: epoll");
		return 1;
	}
	t0 = now_ns();
	end = t0 + (uint64_t)(secs * 1e9);
	while (now_ns() < end) {
		while (inflight < pending && attempts < max) {
			fd = start(ep, &dst, spread, attempts);
			attempts++;
			if (fd == -2)
				refused++;
			else if (fd >= 0)
				inflight++;
			else
				break;	/* out of sockets for now */
		}
		if (inflight == 0 && attempts >= max)
			break;
		n = epoll_wait(ep, evs, 256, 10);
		for (i = 0; i < n; i++) {
			if (finish(ep, evs[i].data.fd))
				made++;
			else
				refused++;
			inflight--;
		}
	}
	printf("attempts=%llu refused=%llu made=%llu timedout=%ld secs=%.2f\n",
	    (unsigned long long)attempts, (unsigned long long)refused,
	    (unsigned long long)made, inflight,
	    (double)(now_ns() - t0) / 1e9);
	return 0;
}
