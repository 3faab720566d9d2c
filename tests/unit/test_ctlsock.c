/*
 * test_ctlsock - mailgovd's control socket over a real loop, real
 * accounts (scratch database) and a real flow table: binding (stale
 * sockets replaced, nothing else removed), the "status" and "flows"
 * answers, the unknown-command line, the request line bound, the client
 * limit, and the SO_PEERCRED check, tested from forked children that
 * drop to the daemon's user or to an unprivileged uid.  Must run as root.
 */
#define _GNU_SOURCE	/* setresuid */
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "acct.h"
#include "config.h"
#include "ctlsock.h"
#include "flow.h"
#include "log.h"
#include "loop.h"
#include "store.h"
#include "t.h"

#define DAEMON_UID	1234	/* the configured user; no passwd entry needed */
#define NOBODY		65534

static struct config cfg;
static struct loop *lp;
static char sockpath[200];
static int logfd = -1;
static off_t logmark;

/* stop_turn - the turn-end hook: each loop_run() is one batch */
static void
stop_turn(void *arg)
{
	loop_stop(arg);
}

/* tick_cb - the always-readable eventfd keeps a turn from blocking */
static void
tick_cb(int fd, uint32_t events, void *arg)
{
	(void)fd;
	(void)events;
	(void)arg;
}

/* turn - let the daemon side handle one batch of events */
static void
turn(void)
{
	(void)loop_run(lp);
}

/* dial - a connected client socket, or -1 */
static int
dial(void)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(sockpath) >= sizeof(sun.sun_path))
		return -1;
	memcpy(sun.sun_path, sockpath, strlen(sockpath));
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * ask - send req (len bytes), then run the loop until nanswers answers
 * (each ended by an empty line) arrived in out.  Returns 0, -1 when the
 * daemon closed the connection, -2 on a timeout.
 */
static int
ask(int fd, const char *req, size_t len, int nanswers, char *out,
    size_t outlen)
{
	struct pollfd pfd;
	size_t have = 0;
	const char *p;
	ssize_t n;
	int i, got;

	out[0] = '\0';
	if (len > 0 && send(fd, req, len, MSG_NOSIGNAL) != (ssize_t)len)
		return -1;
	for (i = 0; i < 500; i++) {
		turn();
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 10) <= 0)
			continue;
		n = recv(fd, out + have, outlen - 1 - have, MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			return -1;
		if (n < 0)
			continue;
		have += (size_t)n;
		out[have] = '\0';
		for (got = 0, p = out; (p = strstr(p, "\n\n")) != NULL;
		    p += 2)
			got++;
		if (got >= nanswers || have == outlen - 1)
			return 0;
	}
	return -2;
}

/* cap_begin / cap_has - what the daemon side logged since cap_begin */
static void
cap_begin(void)
{
	fflush(stderr);
	logmark = lseek(logfd, 0, SEEK_END);
}

static int
cap_has(const char *needle)
{
	static char buf[16384];
	ssize_t n;

	fflush(stderr);
	n = pread(logfd, buf, sizeof(buf) - 1, logmark);
	buf[n > 0 ? n : 0] = '\0';
	return strstr(buf, needle) != NULL;
}

/* extras - the daemon's status lines */
static void
extras(char *buf, size_t len, void *arg)
{
	snprintf(buf, len, "held=%d\nversion=test\n", *(int *)arg);
}

/* test_bind - what ctlsock_new does with the path it is given */
static void
test_bind(struct accts *as, struct flows *fl, const char *dir)
{
	char path[300], err[256], longpath[200];
	struct sockaddr_un sun;
	struct ctlsock *cs;
	struct stat sb;
	pid_t pid;
	int fd, status;

	memset(longpath, 'p', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	err[0] = '\0';
	T_OK(ctlsock_new(lp, longpath, 0, 0, as, fl, err, sizeof(err)) ==
	    NULL && strstr(err, "path too long") != NULL,
	    "a path longer than sun_path is refused: %s", err);

	/* a regular file is never removed */
	snprintf(path, sizeof(path), "%s/file", dir);
	if ((fd = open(path, O_CREAT | O_WRONLY, 0600)) != -1)
		close(fd);
	err[0] = '\0';
	cs = ctlsock_new(lp, path, 0, 0, as, fl, err, sizeof(err));
	T_OK(cs == NULL && err[0] != '\0', "a regular file in the way: "
	    "refused with a reason (%s)", err);
	ctlsock_free(cs);
	T_OK(lstat(path, &sb) == 0 && S_ISREG(sb.st_mode),
	    "the regular file is left alone");

	/* a dead daemon's socket is replaced */
	snprintf(path, sizeof(path), "%s/stale", dir);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) < sizeof(sun.sun_path))
		memcpy(sun.sun_path, path, strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) != -1) {
		if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
			printf("# bind %s failed\n", path);
		close(fd);
	}
	cs = ctlsock_new(lp, path, DAEMON_UID, NOBODY, as, fl, err,
	    sizeof(err));
	T_OK(cs != NULL, "a stale socket is replaced");
	T_OK(lstat(path, &sb) == 0 && S_ISSOCK(sb.st_mode) &&
	    (sb.st_mode & 07777) == 0660 && sb.st_uid == DAEMON_UID &&
	    sb.st_gid == NOBODY, "mode 0660, owned by uid:gid");
	ctlsock_free(cs);
	T_OK(lstat(path, &sb) == -1 && errno == ENOENT,
	    "ctlsock_free removes the socket");

	/* a live daemon's socket is not taken from it */
	cs = ctlsock_new(lp, path, 0, 0, as, fl, err, sizeof(err));
	err[0] = '\0';
	T_OK(cs != NULL && ctlsock_new(lp, path, 0, 0, as, fl, err,
	    sizeof(err)) == NULL && strstr(err, "in use by a running "
	    "mailgovd") != NULL, "a live socket is refused: %s", err);
	T_OK(lstat(path, &sb) == 0 && S_ISSOCK(sb.st_mode),
	    "and left where it is");
	ctlsock_free(cs);

	/* a start that fails after bind leaves no socket behind: chown to
	 * root fails for any other user (a child that is nobody) */
	snprintf(path, sizeof(path), "%s/open", dir);
	(void)mkdir(path, 0777);
	(void)chmod(path, 0777);
	snprintf(path, sizeof(path), "%s/open/failed", dir);
	if ((pid = fork()) == 0) {
		if (geteuid() == 0 && (setgroups(0, NULL) == -1 ||
		    setresgid(NOBODY, NOBODY, NOBODY) == -1 ||
		    setresuid(NOBODY, NOBODY, NOBODY) == -1))
			_exit(2);
		cs = ctlsock_new(lp, path, 0, 0, as, fl, err, sizeof(err));
		/* EPERM is chown's; bind would have said EACCES */
		_exit(cs != NULL ? 3 : lstat(path, &sb) == 0 ? 4 :
		    strstr(err, "Operation not permitted") == NULL ? 5 : 0);
	}
	T_EQ_U(pid > 0 && waitpid(pid, &status, 0) == pid &&
	    WIFEXITED(status) ? WEXITSTATUS(status) : 99, 0,
	    "a failed start (chown) leaves no socket behind");
}

/* test_status - the documented keys, the daemon's extras, an empty line */
static void
test_status(struct ctlsock *cs, struct accts *as, struct flows *fl)
{
	char out[4096], want[256];
	int fd, held = 7;
	unsigned long long up;

	if ((fd = dial()) == -1) {
		T_OK(0, "connect");
		return;
	}
	T_EQ_U(ask(fd, "status\n", 7, 1, out, sizeof(out)), 0,
	    "status answered");
	snprintf(want, sizeof(want), "version=1\naccounts=%zu\nflows=%zu\n"
	    "uptime=",
	    acct_count(as), flow_count(fl));
	T_OK(strncmp(out, want, strlen(want)) == 0,
	    "status: version=, accounts=, flows=, uptime= in order");
	T_OK(sscanf(out + strlen(want), "%llu\n", &up) == 1 && up < 60,
	    "uptime is a small number of seconds");
	T_OK(strlen(out) > 2 && strcmp(out + strlen(out) - 2, "\n\n") == 0 &&
	    strstr(out, "\n\n") == out + strlen(out) - 2,
	    "status ends with its one empty line");

	ctlsock_set_status(cs, extras, &held);
	T_EQ_U(ask(fd, "status\n", 7, 1, out, sizeof(out)), 0,
	    "status with extras answered on the same connection");
	T_OK(strstr(out, "\nheld=7\nversion=test\n\n") != NULL &&
	    strncmp(out, "version=1\naccounts=", 19) == 0,
	    "the daemon's extras follow the documented keys");
	ctlsock_set_status(cs, NULL, NULL);

	T_EQ_U(ask(fd, "status\r\n", 8, 1, out, sizeof(out)), 0,
	    "status\\r\\n answered");
	T_OK(strncmp(out, "version=1\naccounts=", 19) == 0, "a CR before LF is ignored");
	close(fd);
}

/* test_top - the accounts of the last hour, hottest first, bounded;
 * a malformed request gets the usage line and nothing else */
static void
test_top(struct ctlsock *cs, struct accts *as)
{
	static const char *const bad[] = { "top 0\n", "top 1001\n",
	    "top x\n", "top 5 z\n", "top 5 m x\n", "top 5 \n", "top -1\n",
	    "top 99999999999999999999\n" };
	struct recent *rc = recent_new(16);
	struct acct *a1 = acct_by_name(as, "web1");
	struct acct *a2 = acct_by_name(as, "web2");
	char out[16384], *row2;
	size_t i;
	int fd;

	if ((fd = dial()) == -1 || rc == NULL || a1 == NULL || a2 == NULL) {
		T_OK(0, "connect, rings and two accounts");
		return;
	}
	T_EQ_U(ask(fd, "top\n", 4, 1, out, sizeof(out)), 0, "top, no rings");
	T_OK(strcmp(out, "version=1\naccounts=0\nuntracked=0\nsort=m\n\n") ==
	    0, "top without rings: nobody");
	ctlsock_set_recent(cs, rc);
	acct_set_recent(as, rc);
	acct_note(a2, RECENT_MESSAGE, 2);
	acct_note(a1, RECENT_MESSAGE, 9);
	acct_note(a1, RECENT_HELD, 4);
	acct_note(a2, RECENT_REDIRECTED, 3);
	T_EQ_U(ask(fd, "top\n", 4, 1, out, sizeof(out)), 0, "top");
	T_OK(strncmp(out, "version=1\naccounts=2\nuntracked=0\nsort=m\n"
	    "row account=web1 rate=9 ", 62) == 0, "the hottest first");
	row2 = strstr(out, "\nrow account=web2 ");
	T_OK(row2 != NULL && strstr(row2, " messages=2 ") != NULL &&
	    strstr(row2, " redirected=3 ") != NULL &&
	    strstr(row2, " spark=2,0,") != NULL &&
	    strstr(row2, ",0 script=-\n") != NULL, "the second row");
	T_EQ_U(ask(fd, "top 1 d\n", 8, 1, out, sizeof(out)), 0, "top 1 d");
	T_OK(strstr(out, "sort=d\nrow account=web2 ") != NULL &&
	    strstr(out, "web1") == NULL, "by redirects, one row");
	/* quiet for the hour, but with mail on hold: shown, last */
	acct_default(as)->n_held = 2;
	T_EQ_U(ask(fd, "top\n", 4, 1, out, sizeof(out)), 0, "top, held");
	T_OK(strstr(out, "accounts=3\n") != NULL && (row2 = strstr(out,
	    "\nrow account=default rate=0 ")) != NULL &&
	    strstr(row2, " held=2 messages=0 ") != NULL &&
	    strstr(row2 + 1, "\nrow") == NULL,
	    "an account holding mail has a row, after the active ones");
	acct_default(as)->n_held = 0;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		T_EQ_U(ask(fd, bad[i], strlen(bad[i]), 1, out, sizeof(out)), 0,
		    "a bad top answered");
		T_OK(strncmp(out, "error=usage: top ", 17) == 0 &&
		    strstr(out, "row") == NULL, "%.*s: the usage, no rows",
		    (int)strlen(bad[i]) - 1, bad[i]);
	}
	acct_set_recent(as, NULL);
	ctlsock_set_recent(cs, NULL);
	recent_free(rc);
	close(fd);
}

/* test_commands - unknown commands, pipelining, the flows listing */
static void
test_commands(struct accts *as)
{
	static const struct {
		const char *req;
		const char *want;
	} cases[] = {
		{ "bogus\n", "error=unknown command\n\n" },
		{ "\n", "error=unknown command\n\n" },
		{ "STATUS\n", "error=unknown command\n\n" },
		{ "status \n", "error=unknown command\n\n" },
		{ " flows\n", "error=unknown command\n\n" },
		{ "status flows\n", "error=unknown command\n\n" },
	};
	char out[8192], name[128];
	struct acct *a = acct_by_name(as, "web1");
	size_t i;
	int fd;

	if ((fd = dial()) == -1) {
		T_OK(0, "connect");
		return;
	}
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(name, sizeof(name), "request \"%.*s\\n\"",
		    (int)strlen(cases[i].req) - 1, cases[i].req);
		T_EQ_U(ask(fd, cases[i].req, strlen(cases[i].req), 1, out,
		    sizeof(out)), 0, name);
		T_OK(strcmp(out, cases[i].want) == 0, "%s: the error line",
		    name);
	}
	T_EQ_U(ask(fd, "status\nbogus\nflows\n", 19, 3, out, sizeof(out)), 0,
	    "three pipelined requests answered");
	T_OK(strncmp(out, "version=1\naccounts=", 19) == 0 &&
	    strstr(out, "\n\nerror=unknown command\n\nsrc=") != NULL,
	    "answers in request order");

	T_EQ_U(ask(fd, "flows\n", 6, 1, out, sizeof(out)), 0, "flows");
	{
		char want[256];

		snprintf(want, sizeof(want), "src=192.0.2.10:40001 "
		    "dst=198.51.100.25:25 uid=64001 account=%s "
		    "verdict=redirect age=", a ? a->name : "?");
		T_OK(strstr(out, want) != NULL, "an IPv4 flow with its account");
	}
	T_OK(strstr(out, "src=[2001:db8::10]:40002 dst=[2001:db8::25]:587 "
	    "uid=64002 account=- verdict=reject age=") != NULL,
	    "an IPv6 flow of an unknown account");
	T_OK(strstr(out, "40003") == NULL, "an expired flow is not listed");
	T_OK(strstr(out, " ttl=") != NULL && strstr(out, "more=") == NULL,
	    "ttl= on each line; no more= under the bound");
	{
		const char *p;
		int lines = 0;

		for (p = out; (p = strchr(p, '\n')) != NULL; p++)
			lines++;
		T_EQ_U(lines, 3, "two flow lines and the empty line");
	}
	close(fd);
}

/* test_bound - a request line longer than CTLSOCK_LINE_MAX closes */
static void
test_bound(void)
{
	static const struct {
		size_t len;		/* bytes before the newline */
		int nl;			/* newline sent */
		int nul;		/* a NUL inside */
		int want;		/* 0 answered, -1 closed */
	} cases[] = {
		{ CTLSOCK_LINE_MAX - 1, 1, 0, 0 },
		{ CTLSOCK_LINE_MAX, 1, 0, -1 },
		{ CTLSOCK_LINE_MAX + 1, 1, 0, -1 },
		{ CTLSOCK_LINE_MAX, 0, 0, -1 },
		{ 4000, 0, 0, -1 },
		{ 10, 1, 1, -1 },
	};
	char req[4100], out[4096], name[128];
	size_t i, len;
	int fd;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(name, sizeof(name), "%zu-byte line%s%s: %s",
		    cases[i].len, cases[i].nl ? "" : " without newline",
		    cases[i].nul ? " with a NUL" : "",
		    cases[i].want == 0 ? "answered" : "closed");
		if ((fd = dial()) == -1) {
			T_OK(0, "connect");
			continue;
		}
		memset(req, 'a', cases[i].len);
		if (cases[i].nul)
			req[3] = '\0';
		len = cases[i].len;
		if (cases[i].nl)
			req[len++] = '\n';
		/* -2, a timeout, is neither: the daemon must act */
		T_EQ_U((int64_t)ask(fd, req, len, 1, out, sizeof(out)),
		    (int64_t)cases[i].want, name);
		if (cases[i].want == 0)
			T_OK(strcmp(out, "error=unknown command\n\n") == 0,
			    "%s: the error line", name);
		close(fd);
	}

	/* the bound is per line, not per connection */
	if ((fd = dial()) != -1) {
		for (i = 0, len = 0; i < 40; i++)
			len += (size_t)snprintf(req + len, sizeof(req) - len,
			    "status\n");
		T_EQ_U(ask(fd, req, len, 40, out, sizeof(out)), 0,
		    "40 short lines in one burst are all answered");
		close(fd);
	}
}

/* test_clients - CTLSOCK_CLIENTS at once; one more is closed at once */
static void
test_clients(void)
{
	int fds[CTLSOCK_CLIENTS + 1], i, ok = 0, extra;
	char out[1024];

	for (i = 0; i < CTLSOCK_CLIENTS; i++)
		fds[i] = dial();
	for (i = 0; i < CTLSOCK_CLIENTS; i++)
		if (fds[i] != -1 && ask(fds[i], "status\n", 7, 1, out,
		    sizeof(out)) == 0)
			ok++;
	T_EQ_U(ok, CTLSOCK_CLIENTS, "every client up to the limit answered");
	fds[CTLSOCK_CLIENTS] = dial();
	extra = fds[CTLSOCK_CLIENTS] == -1 ? -1 :
	    ask(fds[CTLSOCK_CLIENTS], "status\n", 7, 1, out, sizeof(out));
	T_EQ_U(extra == -1, 1, "one client over the limit is closed");
	close(fds[0]);
	for (i = 0; i < 5; i++)
		turn();
	if ((fds[0] = dial()) != -1)
		T_EQ_U(ask(fds[0], "status\n", 7, 1, out, sizeof(out)), 0,
		    "a freed slot is used again");
	for (i = 0; i <= CTLSOCK_CLIENTS; i++)
		if (fds[i] != -1)
			close(fds[i]);
	for (i = 0; i < 5; i++)
		turn();
}

/*
 * peer - in a child that becomes uid:gid, ask "status": 0 answered,
 * 1 closed without an answer, 2 could not connect, 3 no answer in time
 */
static int
peer(uid_t uid, gid_t gid)
{
	struct pollfd pfd;
	char out[1024];
	size_t have = 0;
	ssize_t n;
	int fd, i;

	if (setgroups(0, NULL) == -1 || setgid(gid) == -1 ||
	    setuid(uid) == -1)
		return 2;
	if ((fd = dial()) == -1)
		return 2;
	if (send(fd, "status\n", 7, MSG_NOSIGNAL) != 7)
		return 1;
	for (i = 0; i < 500; i++) {
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 10) <= 0)
			continue;
		n = recv(fd, out + have, sizeof(out) - 1 - have, 0);
		if (n <= 0)
			return 1;
		have += (size_t)n;
		out[have] = '\0';
		if (strstr(out, "\n\n") != NULL)
			return strncmp(out, "version=1\naccounts=", 19) == 0 ? 0 : 1;
	}
	return 3;
}

/* test_peers - root and the daemon's user answered; anyone else refused */
static void
test_peers(void)
{
	static const struct {
		uid_t uid;
		gid_t gid;
		int want;
		const char *what;
	} cases[] = {
		{ 0, 0, 0, "root is answered" },
		{ DAEMON_UID, NOBODY, 0, "the daemon's user is answered" },
		{ NOBODY, NOBODY, 1, "another uid with socket access is "
		    "refused" },
		{ DAEMON_UID + 1, NOBODY, 1, "a uid next to the daemon's is "
		    "refused" },
	};
	char want[64];
	size_t i;
	pid_t pid;
	int st, k, done;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cap_begin();
		fflush(stdout);
		if ((pid = fork()) == -1) {
			T_OK(0, "fork");
			continue;
		}
		if (pid == 0)
			_exit(peer(cases[i].uid, cases[i].gid));
		for (k = 0, done = 0; k < 1000 && !done; k++) {
			turn();
			if (waitpid(pid, &st, WNOHANG) == pid)
				done = 1;
			else
				usleep(5000);
		}
		if (!done) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
		}
		T_EQ_U(done && WIFEXITED(st) ? WEXITSTATUS(st) : 99,
		    cases[i].want, cases[i].what);
		snprintf(want, sizeof(want), "refused pid %d uid %u",
		    (int)pid, (unsigned)cases[i].uid);
		T_EQ_U(cap_has(want), cases[i].want == 1,
		    cases[i].want ? "the refusal is logged with pid and uid" :
		    "no refusal logged");
	}
}

/* setup - a scratch store with two accounts */
static struct accts *
setup(const char *dir)
{
	char path[256], err[256];
	struct store *st;
	struct accts *as;

	snprintf(path, sizeof(path), "%s/t.db", dir);
	if ((st = store_open(path, STORE_CREATE, 1000, err,
	    sizeof(err))) == NULL) {
		printf("# store_open: %s\n", err);
		return NULL;
	}
	if (store_account_add(st, "web1", 0, NULL) == -1 ||
	    store_account_add(st, "web2", 0, NULL) == -1) {
		printf("# store: %s\n", store_error(st));
		store_close(st);
		return NULL;
	}
	if ((as = acct_load(st, &cfg)) == NULL)
		store_close(st);
	return as;
}

/* flow_at - store one flow from src:sport to dst:dport */
static int
flow_at(struct flows *fl, const char *src, uint16_t sport, const char *dst,
    uint16_t dport, uint32_t uid, int64_t account, int verdict,
    uint64_t seen, uint64_t expires, uint64_t now)
{
	struct flow f;

	memset(&f, 0, sizeof(f));
	if (flow_key_from(&f.key, src, sport) == -1 ||
	    inet_pton(f.key.family, dst, f.dst) != 1)
		return -1;
	f.dport = dport;
	f.uid = uid;
	f.account = account;
	f.verdict = (uint8_t)verdict;
	f.seen = seen;
	f.expires = expires;
	return flow_put(fl, &f, now);
}

int
main(void)
{
	char dir[] = "/tmp/test_ctlsock.XXXXXX", path[300], cmd[300];
	char err[256];
	struct accts *as = NULL;
	struct flows *fl = NULL;
	struct ctlsock *cs = NULL;
	struct store *st = NULL;
	uint64_t now = (uint64_t)time(NULL);
	int efd = -1;

	config_defaults(&cfg);
	if (getuid() != 0) {
		printf("not ok - test_ctlsock must run as root\n");
		return 1;
	}
	if (mkdtemp(dir) == NULL || chmod(dir, 0711) == -1)
		return 1;
	snprintf(path, sizeof(path), "%s/log", dir);
	if ((logfd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600)) == -1 ||
	    dup2(logfd, 2) == -1)
		return 1;
	setvbuf(stdout, NULL, _IOLBF, 0);
	log_init("test_ctlsock", 1, 0);
	snprintf(sockpath, sizeof(sockpath), "%s/ctl.sock", dir);

	as = setup(dir);
	T_OK(as != NULL, "scratch accounts");
	fl = flow_new(64);
	lp = loop_new();
	efd = eventfd(1, EFD_NONBLOCK | EFD_CLOEXEC);
	T_OK(fl != NULL && lp != NULL && efd != -1 &&
	    loop_add(lp, efd, EPOLLIN, tick_cb, NULL) == 0 &&
	    loop_on_turn(lp, stop_turn, lp) == 0, "loop and flow table");
	if (as == NULL || fl == NULL || lp == NULL || efd == -1)
		goto out;
	st = acct_store(as);
	T_EQ_U(flow_at(fl, "192.0.2.10", 40001, "198.51.100.25", 25, 64001,
	    acct_by_name(as, "web1") ? acct_by_name(as, "web1")->id : 0,
	    FLOW_REDIRECT, now - 5, now + 300, now), 0, "IPv4 flow");
	T_EQ_U(flow_at(fl, "2001:db8::10", 40002, "2001:db8::25", 587, 64002,
	    999999, FLOW_REJECT, now, now + 300, now), 0, "IPv6 flow");
	T_EQ_U(flow_at(fl, "192.0.2.10", 40003, "198.51.100.25", 25, 64001,
	    0, FLOW_ALLOW, now - 100, now - 1, now - 50), 0, "expired flow");

	test_bind(as, fl, dir);
	cs = ctlsock_new(lp, sockpath, DAEMON_UID, NOBODY, as, fl, err,
	    sizeof(err));
	T_OK(cs != NULL, "ctlsock_new: %s", cs ? "ok" : err);
	if (cs == NULL)
		goto out;
	test_status(cs, as, fl);
	test_commands(as);
	test_top(cs, as);
	test_bound();
	test_clients();
	test_peers();
out:
	ctlsock_free(cs);
	if (efd != -1) {
		if (lp != NULL)
			loop_del(lp, efd);
		close(efd);
	}
	loop_free(lp);
	flow_free(fl);
	acct_free(as);
	if (st != NULL)
		store_close(st);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	return t_done();
}
