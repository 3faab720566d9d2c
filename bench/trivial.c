/*
 * trivial - the protocol ceiling for the policy benchmark: a
 * single-threaded epoll server that answers "action=DUNNO" to every
 * request (anything ended by an empty line) without looking at it.
 * Nothing real should be faster; a policy server is measured against it.
 *
 * Usage: trivial -p PORT (127.0.0.1) | -u PATH.  Runs until killed.
 */
#define _GNU_SOURCE
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ANSWER	"action=DUNNO\n\n"

/* per connection: was the last byte seen a newline */
static unsigned char last_nl[65536];

int
main(int argc, char **argv)
{
	struct epoll_event	 ev, evs[256];
	char			 buf[65536], out[65536];
	const char		*upath = NULL;
	int			 port = 0, lfd, ep, n, i, ch, one = 1;

	while ((ch = getopt(argc, argv, "p:u:")) != -1) {
		if (ch == 'p')
			port = atoi(optarg);
		else if (ch == 'u')
			upath = optarg;
		else
			return 2;
	}
	if (upath != NULL) {
		struct sockaddr_un sun;

		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", upath);
		unlink(upath);
		lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (lfd < 0 || bind(lfd, (void *)&sun, sizeof(sun)) < 0) {
			perror("bind");
			return 1;
		}
	} else {
		struct sockaddr_in sin;

		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_port = htons((uint16_t)port);
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (lfd < 0 || bind(lfd, (void *)&sin, sizeof(sin)) < 0) {
			perror("bind");
			return 1;
		}
	}
	if (listen(lfd, 1024) < 0 || (ep = epoll_create1(0)) < 0) {
		perror("listen");
		return 1;
	}
	ev.events = EPOLLIN;
	ev.data.fd = lfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	for (;;) {
		n = epoll_wait(ep, evs, 256, -1);
		for (i = 0; i < n; i++) {
			int	fd = evs[i].data.fd, cfd;
			ssize_t	r;
			size_t	k, o = 0;

			if (fd == lfd) {
				while ((cfd = accept4(lfd, NULL, NULL,
				    SOCK_NONBLOCK)) >= 0) {
					if (cfd >= 65536) {
						close(cfd);
						continue;
					}
					setsockopt(cfd, IPPROTO_TCP,
					    TCP_NODELAY, &one, sizeof(one));
					last_nl[cfd] = 0;
					ev.events = EPOLLIN;
					ev.data.fd = cfd;
					epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &ev);
				}
				continue;
			}
			r = read(fd, buf, sizeof(buf));
			if (r <= 0) {
				if (r < 0 && errno == EAGAIN)
					continue;
				close(fd);
				continue;
			}
			for (k = 0; k < (size_t)r; k++) {
				if (buf[k] != '\n') {
					last_nl[fd] = 0;
					continue;
				}
				if (last_nl[fd] && o + sizeof(ANSWER) <
				    sizeof(out)) {
					memcpy(out + o, ANSWER,
					    sizeof(ANSWER) - 1);
					o += sizeof(ANSWER) - 1;
					last_nl[fd] = 0;
				} else
					last_nl[fd] = 1;
			}
			if (o > 0 && write(fd, out, o) < 0)
				close(fd);
		}
	}
}
