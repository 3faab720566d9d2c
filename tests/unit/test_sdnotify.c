/*
 * test_sdnotify - systemd's notification datagram: nothing outside
 * systemd, READY=1 to a path socket and to an abstract one, malformed
 * NOTIFY_SOCKET values refused, the watchdog interval read only when it
 * is meant for this process, and WATCHDOG=1 sent at half the interval
 * (a tick that comes a little early counts).
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "sdnotify.h"
#include "t.h"

/* listener - a datagram socket bound at path, or at an abstract name when
 * path starts with '@' */
static int
listener(const char *path)
{
	struct sockaddr_un sun;
	size_t n = strlen(path);
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, n);
	if (path[0] == '@')
		sun.sun_path[0] = '\0';
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0)) == -1 ||
	    bind(fd, (struct sockaddr *)&sun, (socklen_t)(offsetof(struct
	    sockaddr_un, sun_path) + n + (path[0] == '/'))) == -1) {
		perror(path);
		exit(1);
	}
	return fd;
}

/* received - the next datagram, "" when none is waiting */
static const char *
received(int fd)
{
	static char buf[256];
	ssize_t n;

	if ((n = recv(fd, buf, sizeof(buf) - 1, 0)) < 0)
		n = 0;
	buf[n] = '\0';
	return buf;
}

static void
test_outside_systemd(void)
{
	unsetenv("NOTIFY_SOCKET");
	T_EQ_U(sdnotify("READY=1"), 0, "no NOTIFY_SOCKET: nothing sent");
	setenv("NOTIFY_SOCKET", "", 1);
	T_EQ_U(sdnotify("READY=1"), 0, "empty NOTIFY_SOCKET: nothing sent");
}

static void
test_path(const char *dir)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/notify", dir);
	fd = listener(path);
	setenv("NOTIFY_SOCKET", path, 1);
	T_EQ_U(sdnotify("READY=1"), 1, "path socket: sent");
	T_EQ_S(received(fd), "READY=1", "path socket: the datagram");
	T_EQ_U(sdnotify("STOPPING=1"), 1, "path socket: sent again");
	T_EQ_S(received(fd), "STOPPING=1", "path socket: the second one");
	close(fd);
	unlink(path);
	errno = 0;
	T_OK(sdnotify("READY=1") == -1 && errno == ENOENT,
	    "path socket gone: -1 ENOENT, saw errno %d", errno);
}

static void
test_abstract(void)
{
	char name[64];
	int fd;

	snprintf(name, sizeof(name), "@mailgov-test-sdnotify-%ld",
	    (long)getpid());
	fd = listener(name);
	setenv("NOTIFY_SOCKET", name, 1);
	T_EQ_U(sdnotify("READY=1"), 1, "abstract socket: sent");
	T_EQ_S(received(fd), "READY=1", "abstract socket: the datagram");
	close(fd);
}

static void
test_malformed(void)
{
	static const char *bad[] = { "notify", "@", "/", "vsock:2:1" };
	char longpath[200];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		setenv("NOTIFY_SOCKET", bad[i], 1);
		errno = 0;
		T_OK(sdnotify("READY=1") == -1 && errno == EINVAL,
		    "NOTIFY_SOCKET=%s refused with EINVAL", bad[i]);
	}
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	setenv("NOTIFY_SOCKET", longpath, 1);
	errno = 0;
	T_OK(sdnotify("READY=1") == -1 && errno == EINVAL,
	    "a path longer than sun_path refused with EINVAL");
}

static void
test_watchdog_interval(void)
{
	char pid[32];

	unsetenv("WATCHDOG_PID");
	unsetenv("WATCHDOG_USEC");
	T_EQ_U(sdnotify_watchdog_ms(), 0, "no WATCHDOG_USEC: no watchdog");
	setenv("WATCHDOG_USEC", "30000000", 1);
	T_EQ_U(sdnotify_watchdog_ms(), 30000, "WATCHDOG_USEC in ms");
	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	setenv("WATCHDOG_PID", pid, 1);
	T_EQ_U(sdnotify_watchdog_ms(), 30000, "WATCHDOG_PID is ours");
	snprintf(pid, sizeof(pid), "%ld", (long)getpid() + 1);
	setenv("WATCHDOG_PID", pid, 1);
	T_EQ_U(sdnotify_watchdog_ms(), 0, "WATCHDOG_PID is another's");
	unsetenv("WATCHDOG_PID");
	setenv("WATCHDOG_USEC", "-5", 1);
	T_EQ_U(sdnotify_watchdog_ms(), 0, "a signed WATCHDOG_USEC: none");
	setenv("WATCHDOG_USEC", "30s", 1);
	T_EQ_U(sdnotify_watchdog_ms(), 0, "trailing text: none");
	setenv("WATCHDOG_USEC", "99999999999999999999999", 1);
	T_EQ_U(sdnotify_watchdog_ms(), 0, "an overflow: none");
}

static void
test_watchdog_pace(const char *dir)
{
	static const struct {
		uint64_t	 now;
		int		 sent;
	} tick[] = {
		{ 1000, 1 },	/* the first tick sends */
		{ 1500, 0 },
		{ 1899, 0 },
		{ 2000, 1 },	/* half of 2 s since the last */
		{ 2850, 0 },
		{ 2900, 1 },	/* a tick 100 ms early still counts */
		{ 9000, 1 },	/* a late tick sends at once */
	};
	char path[256];
	size_t i;
	int fd;

	snprintf(path, sizeof(path), "%s/watchdog", dir);
	fd = listener(path);
	setenv("NOTIFY_SOCKET", path, 1);
	unsetenv("WATCHDOG_USEC");
	T_EQ_U(sdnotify_watchdog(500), 0, "no watchdog: nothing sent");
	T_EQ_S(received(fd), "", "no watchdog: no datagram");
	setenv("WATCHDOG_USEC", "2000000", 1);
	for (i = 0; i < sizeof(tick) / sizeof(tick[0]); i++) {
		T_EQ_U(sdnotify_watchdog(tick[i].now), tick[i].sent,
		    "watchdog of 2 s at a tick");
		T_EQ_S(received(fd), tick[i].sent ? "WATCHDOG=1" : "",
		    "the datagram of that tick");
	}
	close(fd);
	unlink(path);
}

int
main(void)
{
	char dir[] = "/tmp/mailgov-sdnotify.XXXXXX";

	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_outside_systemd();
	test_path(dir);
	test_abstract();
	test_malformed();
	test_watchdog_interval();
	test_watchdog_pace(dir);
	rmdir(dir);
	return t_done();
}
