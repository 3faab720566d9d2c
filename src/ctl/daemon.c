/*
 * ctl_daemon - mailgovctl's side of mailgovd's control socket (ctlsock.h
 * has the protocol): connect, ask one command, read its answer up to the
 * empty line, and look keys up in it.
 *
 * Trusts: nothing mailgovd sends beyond its framing: an answer is cut at
 * CTL_DAEMON_MAX bytes, waited for at most CTL_DAEMON_MS, and values are
 * cleaned before they are printed by the commands that show them.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "ctl.h"

#define CTL_DAEMON_MAX	(4u << 20)	/* bytes of one answer */
#define CTL_DAEMON_MS	5000		/* for one answer */

/* ctl_daemon_connect - see ctl.h */
int
ctl_daemon_connect(const struct ctl *ctl, int *fd, char *why, size_t len)
{
	struct sockaddr_un sun;
	const char *path = ctl->cfg.control_socket;
	int	 s, e;

	*fd = -1;
	if (path[0] == '\0') {
		snprintf(why, len, "no control_socket is configured");
		return CTL_DAEMON_DOWN;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(why, len, "control socket %s: path too long", path);
		return CTL_DAEMON_ERROR;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		snprintf(why, len, "socket: %s", strerror(errno));
		return CTL_DAEMON_ERROR;
	}
	if (connect(s, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
		*fd = s;
		return CTL_DAEMON_UP;
	}
	e = errno;
	close(s);
	if (e == EACCES || e == EPERM) {
		snprintf(why, len, "permission denied on the control socket "
		    "%s: only root and mailgovd's user may use it", path);
		return CTL_DAEMON_DENIED;
	}
	if (e == ENOENT || e == ECONNREFUSED) {
		snprintf(why, len, "mailgovd is not running (nothing answers "
		    "on %s)", path);
		return CTL_DAEMON_DOWN;
	}
	snprintf(why, len, "control socket %s: %s", path, strerror(e));
	return CTL_DAEMON_ERROR;
}

/* ctl_daemon_ask - see ctl.h */
char *
ctl_daemon_ask(int fd, const char *cmd, char *why, size_t len)
{
	struct pollfd pfd;
	char	*buf = NULL, *end, *line;
	size_t	 n = 0, cap = 0, off, clen = strlen(cmd);
	uint64_t deadline = clock_mono_ms() + CTL_DAEMON_MS, now;
	ssize_t	 r;

	line = ctl_xasprintf("%s\n", cmd);
	for (off = 0; off < clen + 1; off += (size_t)r)
		if ((r = send(fd, line + off, clen + 1 - off,
		    MSG_NOSIGNAL)) <= 0) {
			snprintf(why, len, "control socket: %s",
			    r < 0 ? strerror(errno) : "closed");
			free(line);
			return NULL;
		}
	free(line);
	for (;;) {
		if (n >= 2 && buf[n - 1] == '\n' && buf[n - 2] == '\n')
			break;
		if (n == 1 && buf[0] == '\n')
			break;
		if ((now = clock_mono_ms()) >= deadline) {
			snprintf(why, len, "mailgovd did not answer within "
			    "%u s", CTL_DAEMON_MS / 1000);
			goto fail;
		}
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, (int)(deadline - now)) <= 0)
			continue;
		if (n + 65536 + 1 > cap) {
			if (cap >= CTL_DAEMON_MAX) {
				snprintf(why, len, "mailgovd's answer is too "
				    "long");
				goto fail;
			}
			cap = cap ? cap * 2 : 65536 * 2;
			buf = ctl_xreallocarray(buf, cap, 1);
		}
		if ((r = recv(fd, buf + n, cap - n - 1, 0)) <= 0) {
			snprintf(why, len, "mailgovd closed the control "
			    "socket%s%s", r < 0 ? ": " : "",
			    r < 0 ? strerror(errno) : "");
			goto fail;
		}
		n += (size_t)r;
		buf[n] = '\0';
		if (memchr(buf + n - (size_t)r, '\0', (size_t)r) != NULL) {
			snprintf(why, len, "mailgovd's answer holds a NUL");
			goto fail;
		}
	}
	buf[n - 1] = '\0';	/* the empty line */
	if ((end = strstr(buf, "error=")) == buf ||
	    (end != NULL && end[-1] == '\n')) {
		snprintf(why, len, "mailgovd: %.200s", end + 6);
		why[strcspn(why, "\n")] = '\0';
		goto fail;
	}
	return buf;
fail:
	free(buf);
	return NULL;
}

/* ctl_kv - see ctl.h */
const char *
ctl_kv(const char *text, const char *key, char *val, size_t len)
{
	const char *p = text, *eol;
	size_t	 k = strlen(key), v;

	for (; *p != '\0'; p = *eol ? eol + 1 : eol) {
		eol = p + strcspn(p, "\n");
		if ((size_t)(eol - p) > k && strncmp(p, key, k) == 0 &&
		    p[k] == '=') {
			v = (size_t)(eol - p) - k - 1;
			if (v >= len)
				v = len - 1;
			memcpy(val, p + k + 1, v);
			val[v] = '\0';
			return val;
		}
	}
	return NULL;
}

/* ctl_kv_field - see ctl.h */
const char *
ctl_kv_field(const char *line, const char *key, char *val, size_t len)
{
	const char *p = line;
	size_t	 k = strlen(key), v;

	while (*p != '\0' && *p != '\n') {
		if (strncmp(p, key, k) == 0 && p[k] == '=' &&
		    (p == line || p[-1] == ' ')) {
			p += k + 1;
			v = strcspn(p, " \n");
			if (v >= len)
				v = len - 1;
			memcpy(val, p, v);
			val[v] = '\0';
			return val;
		}
		p++;
	}
	return NULL;
}
