/*
 * banner - the fastest SMTP-looking listener: accept, send one "220"
 * line, close.  The far end of bench/connlat's connections in
 * bench/kernel.sh, standing in for the queue instance's smtpd so that
 * the listener is never what limits the connection rate.  J threads
 * (default 1) block in accept() on one socket.  Reads nothing, trusts
 * nothing; a client that resets first is simply forgotten.
 *
 * Usage: banner [-a ADDR] [-p PORT] [-j THREADS]
 */
#define _GNU_SOURCE
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char	 greeting[] = "220 bench.lab ESMTP\r\n";
static int		 lfd;

/* serve - accept, greet, close, forever */
static void *
serve(void *arg)
{
	int fd;

	(void)arg;
	for (;;) {
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EINTR || errno == ECONNABORTED ||
			    errno == EAGAIN || errno == EMFILE ||
			    errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM)
				continue;
			perror("banner: accept");
			exit(1);
		}
		/* the client may be gone already: no SIGPIPE, no retry */
		(void)send(fd, greeting, sizeof(greeting) - 1, MSG_NOSIGNAL);
		close(fd);
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	struct sockaddr_in sin;
	const char *addr = "127.0.0.1";
	pthread_t th;
	int ch, port = 2525, nthr = 1, one = 1, i;

	while ((ch = getopt(argc, argv, "a:p:j:")) != -1) {
		switch (ch) {
		case 'a': addr = optarg; break;
		case 'p': port = atoi(optarg); break;
		case 'j': nthr = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: banner [-a ADDR] [-p PORT] "
			    "[-j THREADS]\n");
			return 2;
		}
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1 || port < 1 ||
	    port > 65535 || nthr < 1 || nthr > 64) {
		fprintf(stderr, "banner: bad arguments\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if ((lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(lfd, 4096) == -1) {
		perror("banner: listen");
		return 1;
	}
	for (i = 1; i < nthr; i++)
		if (pthread_create(&th, NULL, serve, NULL) != 0) {
			fprintf(stderr, "banner: cannot start a thread\n");
			return 1;
		}
	serve(NULL);
	return 0;
}
