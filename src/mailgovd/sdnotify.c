/*
 * sdnotify - systemd's notification datagram (see sdnotify.h).  mailgovd
 * sends READY=1 once NFQUEUE, the listeners and the redo replay are up,
 * WATCHDOG=1 from its one-second timer, and STOPPING=1 on the way out.
 * The socket is non-blocking and made for each message: a message is
 * rare (at most one a second), and a socket kept open would be one more
 * descriptor for every child to close.
 *
 * Trusts: NOTIFY_SOCKET and WATCHDOG_* are systemd's, set in the
 * environment before the exec; a malformed value is refused, never
 * followed.
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "sdnotify.h"

#define WATCHDOG_SLACK_MS	100

/* sdnotify - one datagram to NOTIFY_SOCKET */
int
sdnotify(const char *state)
{
	struct sockaddr_un sun;
	const char *path;
	socklen_t salen;
	size_t	 n, len = strlen(state);
	ssize_t	 w;
	int	 fd, saved;

	if ((path = getenv("NOTIFY_SOCKET")) == NULL || *path == '\0')
		return 0;
	n = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || n < 2 ||
	    n >= sizeof(sun.sun_path)) {
		errno = EINVAL;
		return -1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, n);
	/* an abstract name has no NUL at its end: the length says where
	 * it stops; a path's address includes its NUL, as systemd's */
	if (path[0] == '@')
		sun.sun_path[0] = '\0';
	salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n +
	    (path[0] == '/'));
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) == -1)
		return -1;
	w = sendto(fd, state, len, MSG_NOSIGNAL, (struct sockaddr *)&sun,
	    salen);
	saved = errno;
	close(fd);
	errno = saved;
	if (w == -1)
		return -1;
	if ((size_t)w != len) {
		errno = EMSGSIZE;
		return -1;
	}
	return 1;
}

/* digits - a plain decimal number, no sign, no blanks; 0 when it is not */
static uint64_t
digits(const char *s)
{
	uint64_t v = 0;

	if (s == NULL || *s == '\0')
		return 0;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
			return 0;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	return v;
}

/* sdnotify_watchdog_ms - WATCHDOG_USEC for this process, in ms */
uint64_t
sdnotify_watchdog_ms(void)
{
	const char *pid = getenv("WATCHDOG_PID");

	/* set for another process: our parent's, inherited */
	if (pid != NULL && *pid != '\0' && digits(pid) != (uint64_t)getpid())
		return 0;
	return digits(getenv("WATCHDOG_USEC")) / 1000;
}

/* sdnotify_watchdog - WATCHDOG=1 at half the interval */
int
sdnotify_watchdog(uint64_t now_ms)
{
	static uint64_t last;
	static int	logged;
	uint64_t	ms;
	int		r;

	if ((ms = sdnotify_watchdog_ms()) == 0)
		return 0;
	/* a tick may come a little early: one that falls short of half
	 * the interval by less than WATCHDOG_SLACK_MS counts, or it would
	 * wait a whole tick more */
	if (last != 0 && now_ms >= last &&
	    now_ms - last + WATCHDOG_SLACK_MS < ms / 2)
		return 0;
	last = now_ms;
	if ((r = sdnotify("WATCHDOG=1")) == -1 && !logged) {
		logged = 1;
		log_warn("sd_notify WATCHDOG=1");
	}
	return r;
}
