/*
 * release_child - the privileged child that runs postsuper, postqueue and
 * postcat for the release module, and the two ends of its socket (see
 * release_child.h for the operations, the wire format and what it keeps).
 *
 * The child answers one request at a time: each tool runs under spawn's
 * time limit, so the longest a request can take is bounded, and the main
 * process never waits for an answer (its end is non-blocking, in the
 * event loop).
 *
 * Trusts: the child, nothing the main process sends: each record's size
 * and version are checked, each queue ID is validated again, and only the
 * four operations exist.  The main process trusts nothing in an answer
 * beyond its fixed layout: marks are checked by their MAC (mark.h), and
 * IDs are only matched against its own.
 */
#define _GNU_SOURCE	/* setresgid, setresuid, setgroups, close_range */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cap-ng.h>

#include "config.h"
#include "log.h"
#include "mark.h"
#include "num.h"
#include "queueid.h"
#include "release_child.h"
#include "spawn.h"

#define RC_OUTMAX	4096		/* postsuper output the child reads */
#define RC_CATMAX	65536		/* postcat -h output it reads */
#define RC_LIST_TIMES	5		/* the listing's share of time */

/* Postfix's mail owner, who alone may read queue files; found at start */
static uid_t	owner_uid;
static gid_t	owner_gid;
static unsigned	time_ms = RC_TIME_S * 1000u;

/* --- capabilities and the privilege steps before each exec ------------- */

/*
 * child_limit - keep CAP_SETUID and CAP_SETGID, of what we have, in the
 * effective, permitted and bounding sets, and CAP_KILL in the effective
 * and permitted ones only; set no_new_privs: as uid 0, execve would
 * otherwise give postsuper whatever the bounding set holds.  Not root
 * (started with CAP_NET_ADMIN alone), there is nothing to keep.
 */
static int
child_limit(void)
{
	static const int keep[] = { CAP_SETUID, CAP_SETGID, CAP_KILL };
	static const int bound[] = { 1, 1, 0 };
	int	 have[sizeof(keep) / sizeof(keep[0])], setpcap, sets;
	size_t	 i;

	if (capng_get_caps_process() != 0)
		return -1;
	for (i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
		have[i] = capng_have_capability(CAPNG_PERMITTED, keep[i]);
	/* dropping from the bounding set takes CAP_SETPCAP */
	setpcap = capng_have_capability(CAPNG_EFFECTIVE, CAP_SETPCAP);
	capng_clear(CAPNG_SELECT_BOTH);
	for (i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		sets = CAPNG_EFFECTIVE | CAPNG_PERMITTED;
		if (bound[i])
			sets |= CAPNG_BOUNDING_SET;
		if (have[i] && capng_update(CAPNG_ADD, (capng_type_t)sets,
		    keep[i]) != 0)
			return -1;
	}
	if (capng_apply(setpcap ? CAPNG_SELECT_BOTH : CAPNG_SELECT_CAPS) != 0)
		return -1;
	return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
}

enum runas { RUN_ROOT, RUN_PLAIN, RUN_OWNER };

struct runctx {
	enum runas	 as;
	const char	*path;
};

/*
 * as_root - about to exec postsuper: without CAP_KILL, which the exec
 * would drop anyway (it is not in the bounding set); kept out here too,
 * so that nothing depends on that alone
 */
static int
as_root(void)
{
	if (capng_get_caps_process() != 0)
		return -1;
	if (capng_have_capability(CAPNG_PERMITTED, CAP_KILL) &&
	    (capng_update(CAPNG_DROP, CAPNG_EFFECTIVE | CAPNG_PERMITTED,
	    CAP_KILL) != 0 || capng_apply(CAPNG_SELECT_CAPS) != 0))
		return -1;
	return 0;
}

/*
 * plain - about to exec postqueue: its setgid group as the group
 * (no_new_privs ignores the bit), then no capability.  The real group
 * too: as uid 0, execve would hand the bounding set's capabilities back,
 * no_new_privs refuses them, and that refusal also resets the effective
 * group to the real one.
 */
static int
plain(const char *path)
{
	struct stat sb;

	if (stat(path, &sb) == 0 && (sb.st_mode & S_ISGID) &&
	    setresgid(sb.st_gid, sb.st_gid, sb.st_gid) == -1)
		return -1;
	capng_clear(CAPNG_SELECT_CAPS);
	return capng_apply(CAPNG_SELECT_CAPS) == 0 ? 0 : -1;
}

/* as_owner - about to exec postcat: the mail owner, with no group and no
 * capability left (a uid change from 0 drops them all) */
static int
as_owner(void)
{
	if (owner_uid == 0 || setgroups(0, NULL) == -1 ||
	    setresgid(owner_gid, owner_gid, owner_gid) == -1 ||
	    setresuid(owner_uid, owner_uid, owner_uid) == -1)
		return -1;
	return 0;
}

/* pre_exec - spawn's hook: the privilege step of the program; -1 makes
 * the program exit 126 rather than run otherwise */
static int
pre_exec(void *arg)
{
	const struct runctx *c = arg;

	switch (c->as) {
	case RUN_ROOT:
		return as_root();
	case RUN_PLAIN:
		return plain(c->path);
	case RUN_OWNER:
		return as_owner();
	}
	return -1;
}

/* what - argv without "-c DIR", for a log line */
static const char *
what(char *const argv[], char *buf, size_t len)
{
	size_t	 i, k;

	k = (size_t)snprintf(buf, len, "%s", argv[0]);
	for (i = 3; argv[i] != NULL && k < len; i++)
		k += (size_t)snprintf(buf + k, len - k, " %s", argv[i]);
	return buf;
}

/*
 * run - one tool: stdout to out_fd when >= 0, else stdout and stderr
 * into *out (at most max bytes).  Its exit status, or -1 when it timed
 * out or could not run (logged here); the caller logs an exit status.
 */
static int
run(const char *path, char *const argv[], enum runas as, unsigned ms,
    int out_fd, char **out, size_t max)
{
	struct runctx c = { as, path };
	struct spawn s;
	char	 buf[128];
	int	 st;

	memset(&s, 0, sizeof(s));
	s.path = path;
	s.argv = argv;
	s.out = out_fd >= 0 ? out_fd : SPAWN_CAPTURE;
	s.err = out_fd >= 0 ? SPAWN_NULL : SPAWN_TO_OUT;
	s.cap_max = max;
	s.time_ms = ms;
	s.pre_exec = pre_exec;
	s.arg = &c;
	st = spawn_run(&s, out_fd >= 0 ? NULL : out);
	if (st == SPAWN_TIMEDOUT)
		log_warnx("release: %s timed out after %u s; killed with its "
		    "process group", what(argv, buf, sizeof(buf)), ms / 1000);
	else if (st == SPAWN_FAILED)
		log_warn("release: cannot run %s", path);
	return st < 0 ? -1 : st;
}

/* --- the operations ------------------------------------------------------ */

/* child_postsuper - RC_HOLD_RELEASE or RC_DELETE on a validated ID */
static int
child_postsuper(const struct config *cfg, enum rc_op op, const char *id)
{
	char	 dir[CONFIG_PATHLEN], qid[RC_IDLEN], *out = NULL;
	char	 flag[3] = { '-', op == RC_HOLD_RELEASE ? 'H' : 'd', '\0' };
	char	*argv[] = { "postsuper", "-c", dir, flag, qid, NULL };
	char	*qargv[] = { "postqueue", "-c", dir, "-i", qid, NULL };
	int	 st, rv = RC_OK;

	snprintf(dir, sizeof(dir), "%s", cfg->queue_config_dir);
	snprintf(qid, sizeof(qid), "%s", id);
	if ((st = run(cfg->postsuper, argv, RUN_ROOT, time_ms, -1, &out,
	    RC_OUTMAX)) != 0) {
		if (st > 0)
			log_warnx("release: postsuper %s %s exited %d", flag,
			    qid, st);
		free(out);
		return RC_FAIL;
	}
	/* postsuper exits 0 for an ID it did not find; its summary says */
	if (op == RC_HOLD_RELEASE) {
		if (strstr(out, "Released from hold: 0 messages") != NULL ||
		    strstr(out, "released from hold") == NULL) {
			free(out);
			return RC_NOTFOUND;
		}
		free(out);
		out = NULL;
		/* moved to deferred: deliver it now, not at the next run */
		st = run(cfg->postqueue, qargv, RUN_PLAIN, time_ms, -1, &out,
		    RC_OUTMAX);
		if (st > 0)
			log_warnx("release: postqueue -i %s exited %d (it "
			    "leaves at the next queue run)", qid, st);
	} else if (strstr(out, "Deleted: 0 messages") != NULL ||
	    strstr(out, ": removed") == NULL)
		rv = RC_NOTFOUND;
	free(out);
	return rv;
}

/* child_list - RC_LIST: postqueue -j with stdout on fd */
static int
child_list(const struct config *cfg, int fd)
{
	char	 dir[CONFIG_PATHLEN];
	char	*argv[] = { "postqueue", "-c", dir, "-j", NULL };
	int	 st;

	snprintf(dir, sizeof(dir), "%s", cfg->queue_config_dir);
	st = run(cfg->postqueue, argv, RUN_PLAIN, time_ms * RC_LIST_TIMES,
	    fd, NULL, 0);
	close(fd);
	return st == 0 ? RC_OK : RC_FAIL;
}

/*
 * child_marks - RC_MARKS: the values of the first RC_MARKS_MAX account
 * headers (mark.h) of one queued message, from postcat -h run as the
 * mail owner.  Only collected here: the main process checks their MAC.
 */
static int
child_marks(const struct config *cfg, const char *id,
    char marks[RC_MARKS_MAX][MARK_VALUE_MAX])
{
	char	 dir[CONFIG_PATHLEN], qid[RC_IDLEN], *out = NULL, *line, *nl;
	char	*argv[] = { "postcat", "-c", dir, "-h", "-q", qid, NULL };
	size_t	 hl = strlen(MARK_HEADER), k = 0, len;
	int	 st;

	snprintf(dir, sizeof(dir), "%s", cfg->queue_config_dir);
	snprintf(qid, sizeof(qid), "%s", id);
	if ((st = run(cfg->postcat, argv, RUN_OWNER, time_ms, -1, &out,
	    RC_CATMAX)) != 0) {
		if (st > 0)
			log_warnx("release: postcat -h -q %s exited %d", qid,
			    st);
		free(out);
		return RC_FAIL;
	}
	for (line = out; *line != '\0' && k < RC_MARKS_MAX; line = nl) {
		if ((nl = strchr(line, '\n')) == NULL)
			nl = line + strlen(line);
		else
			*nl++ = '\0';
		if (strncasecmp(line, MARK_HEADER, hl) != 0 || line[hl] != ':')
			continue;
		len = strlen(line + hl + 1);
		if (len >= MARK_VALUE_MAX)
			continue;	/* not one of ours */
		memcpy(marks[k++], line + hl + 1, len + 1);
	}
	free(out);
	return RC_OK;
}

/* --- the child's loop ---------------------------------------------------- */

/* recv_fd - the one fd a request may carry, or -1; others are closed */
static int
recv_fd(struct msghdr *msg)
{
	struct cmsghdr *cm;
	int	 fd = -1, f;

	for (cm = CMSG_FIRSTHDR(msg); cm != NULL; cm = CMSG_NXTHDR(msg, cm))
		if (cm->cmsg_level == SOL_SOCKET &&
		    cm->cmsg_type == SCM_RIGHTS &&
		    cm->cmsg_len == CMSG_LEN(sizeof(int))) {
			memcpy(&f, CMSG_DATA(cm), sizeof(int));
			if (fd != -1)
				close(fd);
			fd = f;
		}
	return fd;
}

/* serve - one request into ans; fd is consumed */
static void
serve(const struct config *cfg, const struct rc_req *req, ssize_t n,
    int fd, struct rc_ans *ans)
{
	if (n != (ssize_t)sizeof(*req))
		log_warnx("release helper: bad request size %zd", n);
	else if (req->version != RC_VERSION)
		log_warnx("release helper: request of version %u, not %u",
		    (unsigned)req->version, RC_VERSION);
	else if (req->op == RC_LIST && fd != -1) {
		ans->status = (uint16_t)child_list(cfg, fd);
		fd = -1;
	} else if ((req->op == RC_HOLD_RELEASE || req->op == RC_DELETE) &&
	    queueid_ok(req->id))
		ans->status = (uint16_t)child_postsuper(cfg,
		    (enum rc_op)req->op, req->id);
	else if (req->op == RC_MARKS && queueid_ok(req->id))
		ans->status = (uint16_t)child_marks(cfg, req->id, ans->marks);
	else
		log_warnx("release helper: refused a bad request");
	if (fd != -1)
		close(fd);
}

/* child_main - the privileged loop; never returns */
static void __attribute__((noreturn))
child_main(const struct config *cfg, int s)
{
	struct rc_req req;
	struct rc_ans ans;
	struct msghdr msg;
	struct iovec iov;
	union {
		char		buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr	align;
	} cbuf;
	struct passwd *pw;
	sigset_t all;
	ssize_t	 n;
	int	 fd;

	/* mailgovd blocks its signals for signalfd: nothing blocked here */
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGCHLD, SIG_DFL);
	if ((pw = getpwnam("postfix")) != NULL) {
		owner_uid = pw->pw_uid;
		owner_gid = pw->pw_gid;
	}
	if (child_limit() == -1) {
		/* never serve with more than postsuper needs */
		log_warn("release helper: cannot limit its capabilities");
		_exit(1);
	}
	for (;;) {
		memset(&req, 0, sizeof(req));
		memset(&msg, 0, sizeof(msg));
		iov.iov_base = &req;
		iov.iov_len = sizeof(req);
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = cbuf.buf;
		msg.msg_controllen = sizeof(cbuf.buf);
		n = recvmsg(s, &msg, MSG_CMSG_CLOEXEC);
		if (n == 0)
			_exit(0);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			_exit(1);
		}
		fd = recv_fd(&msg);
		if (msg.msg_flags & MSG_TRUNC)
			n = -1;		/* longer than a request */
		req.id[RC_IDLEN - 1] = '\0';
		memset(&ans, 0, sizeof(ans));
		ans.version = RC_VERSION;
		ans.op = req.op;
		ans.status = RC_FAIL;
		memcpy(ans.id, req.id, sizeof(ans.id));
		serve(cfg, &req, n, fd, &ans);
		if (send(s, &ans, sizeof(ans), 0) == -1 && errno != EINTR)
			_exit(1);
	}
}

/* --- the main process's end ---------------------------------------------- */

/* release_child_start - fork the child while still root */
int
release_child_start(const struct config *cfg, pid_t *pid)
{
	const char *env = getenv(RC_TIME_ENV), *err;
	uint64_t secs;
	int	 sv[2];

	if (env != NULL) {
		if (num_duration(env, 1, 3600, &secs, &err) == 0)
			time_ms = (unsigned)secs * 1000u;
		else
			log_warnx("release: %s=%s: %s; the limit stays %u s",
			    RC_TIME_ENV, env, err, time_ms / 1000);
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1) {
		log_warn("release: socketpair");
		return -1;
	}
	if ((*pid = fork()) == -1) {
		log_warn("release: fork");
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (*pid == 0) {
		/* keep only stdio and the socket, at fd 3 */
		if (dup2(sv[1], 3) == -1)
			_exit(1);
		close_range(4, ~0U, 0);
		child_main(cfg, 3);
	}
	close(sv[1]);
	if (fcntl(sv[0], F_SETFL, O_NONBLOCK) == -1) {
		log_warn("release: helper socket");
		close(sv[0]);
		return -1;
	}
	return sv[0];
}

/* release_child_send - one request, with fd when fd >= 0 */
int
release_child_send(int s, enum rc_op op, const char *id, int fd)
{
	struct rc_req req;
	struct msghdr msg;
	struct iovec iov;
	struct cmsghdr *cm;
	union {
		char		buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr	align;
	} cbuf;

	memset(&req, 0, sizeof(req));
	req.version = RC_VERSION;
	req.op = (uint16_t)op;
	if (id != NULL)
		snprintf(req.id, sizeof(req.id), "%s", id);
	memset(&msg, 0, sizeof(msg));
	iov.iov_base = &req;
	iov.iov_len = sizeof(req);
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	if (fd >= 0) {
		memset(&cbuf, 0, sizeof(cbuf));
		msg.msg_control = cbuf.buf;
		msg.msg_controllen = sizeof(cbuf.buf);
		cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	if (sendmsg(s, &msg, MSG_NOSIGNAL) == -1) {
		log_warn("release: request to the helper");
		return -1;
	}
	return 0;
}

/* release_child_recv - the next answer, checked for size and version */
int
release_child_recv(int s, struct rc_ans *ans)
{
	ssize_t	 n;

	for (;;) {
		n = recv(s, ans, sizeof(*ans), MSG_DONTWAIT | MSG_TRUNC);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n <= 0)
			return -1;
		if (n != (ssize_t)sizeof(*ans))
			log_warnx("release: helper answer of %zd bytes, not "
			    "%zu; skipped", n, sizeof(*ans));
		else if (ans->version != RC_VERSION)
			log_warnx("release: helper answer of version %u, not "
			    "%u; skipped", (unsigned)ans->version, RC_VERSION);
		else {
			ans->id[RC_IDLEN - 1] = '\0';
			return 1;
		}
	}
}
