/*
 * sockproc - the helper that names the process behind a socket, its wire
 * format, and mailgovd's end with the table of answers (see sockproc.h
 * for what it keeps and why).
 *
 * The helper serves one request at a time, each bounded in time and in
 * entries read, so a web user with a million fds or processes slows
 * only the naming of its own sockets, never the daemon: mailgovd's end
 * is non-blocking, on the loop, with at most SP_INFLIGHT requests out.
 *
 * Trusts: the helper, nothing the main process sends beyond the record's
 * size and version; /proc's answers, read with fixed bounds (a fd link
 * is compared, never parsed; a status line is read for two numbers).
 * The main process, nothing in an answer beyond its layout.
 */
#define _GNU_SOURCE	/* close_range */
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cap-ng.h>

#include "clock.h"
#include "hash.h"
#include "log.h"
#include "origin.h"
#include "sockproc.h"

#define SP_PID_MAX	4194304		/* the kernel's pid_max limit */
#define SP_STATUS_MAX	4096		/* bytes of /proc/PID/status read */
#define SP_PIDS		65536		/* processes of one UID one pass
					 * looks at */

/* --- the scan ------------------------------------------------------------ */

/* pid_of - a /proc entry's name as a PID, or 0 */
static pid_t
pid_of(const char *s)
{
	unsigned long	 v = 0;
	size_t		 i;

	for (i = 0; s[i] != '\0'; i++) {
		if (!isdigit((unsigned char)s[i]) || i >= 7)
			return 0;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	return i > 0 && s[0] != '0' && v <= SP_PID_MAX ? (pid_t)v : 0;
}

/*
 * status_uid - does /proc/PID/status (under dir fd) give uid as the real
 * or the effective UID?  Asked only of the processes the kernel shows
 * as root's: a process that is not dumpable (a setuid program, PHP-FPM's
 * workers) has its /proc directory owned by root whoever runs it.
 */
static int
status_uid(int dfd, pid_t pid, uint32_t uid)
{
	char		 path[32], buf[SP_STATUS_MAX + 1], *p, *e;
	unsigned long	 r, u;
	ssize_t		 n;
	int		 fd;

	snprintf(path, sizeof(path), "%ld/status", (long)pid);
	if ((fd = openat(dfd, path, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	n = read(fd, buf, SP_STATUS_MAX);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* "Uid:\tREAL\tEFFECTIVE\tSAVED\tFS" */
	if ((p = strstr(buf, "\nUid:\t")) == NULL)
		return 0;
	p += 6;
	errno = 0;
	r = strtoul(p, &e, 10);
	if (e == p || *e != '\t' || errno != 0)
		return 0;
	p = e + 1;
	u = strtoul(p, &e, 10);
	if (e == p || errno != 0)
		return 0;
	return r == uid || u == uid;
}

/* holds - does process pid (under dir fd) hold the socket whose link
 * reads want?  -1 when a bound was reached */
static int
holds(int dfd, pid_t pid, const char *want, size_t wlen,
    uint32_t *n, uint32_t max, uint64_t deadline)
{
	char		 path[32], buf[64];
	struct dirent	*de;
	DIR		*fds;
	ssize_t		 k;
	int		 fd, rv = 0;

	snprintf(path, sizeof(path), "%ld/fd", (long)pid);
	if ((fd = openat(dfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1)
		return 0;
	if ((fds = fdopendir(fd)) == NULL) {
		close(fd);
		return 0;
	}
	while ((de = readdir(fds)) != NULL) {
		if (++*n >= max || ((*n & 63) == 0 &&
		    clock_mono_us() > deadline)) {
			rv = -1;
			break;
		}
		if (de->d_name[0] == '.')
			continue;
		/* a link longer than the one wanted is not it */
		k = readlinkat(dirfd(fds), de->d_name, buf, sizeof(buf));
		if (k == (ssize_t)wlen && memcmp(buf, want, wlen) == 0) {
			rv = 1;
			break;
		}
	}
	closedir(fds);
	return rv;
}

/*
 * candidates - the PIDs of pass (0: /proc/PID owned by uid; 1: owned by
 * root, whose status names uid) into pids (at most SP_PIDS), in the
 * order /proc lists them: ascending.  -1 when a bound was reached.
 */
static int
candidates(DIR *d, int pass, uint32_t uid, pid_t *pids, size_t *np,
    uint32_t *n, uint32_t max, uint64_t deadline)
{
	struct dirent	*de;
	struct stat	 sb;
	pid_t		 pid;

	*np = 0;
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		if (++*n >= max || ((*n & 63) == 0 &&
		    clock_mono_us() > deadline))
			return -1;
		if ((pid = pid_of(de->d_name)) == 0 ||
		    fstatat(dirfd(d), de->d_name, &sb, 0) == -1)
			continue;
		if (pass == 0 ? sb.st_uid != uid : sb.st_uid != 0 ||
		    !status_uid(dirfd(d), pid, uid))
			continue;
		if (*np == SP_PIDS)
			return -1;
		pids[(*np)++] = pid;
	}
	return 0;
}

/* sockproc_scan - see sockproc.h */
enum sp_status
sockproc_scan(const char *root, uint32_t uid, uint64_t inode, unsigned ms,
    uint32_t max, const pid_t *hint, size_t nhint, struct origin *o,
    uint32_t *scanned)
{
	char		 want[48];
	uint64_t	 deadline = clock_mono_us() + (uint64_t)ms * 1000u;
	uint32_t	 n = 0;
	size_t		 wlen, np, i;
	pid_t		*pids, pid = 0;
	DIR		*d;
	int		 h = 0, pass, bounded = 0;

	memset(o, 0, sizeof(*o));
	*scanned = 0;
	if (inode == 0)
		return SP_NOTFOUND;
	wlen = (size_t)snprintf(want, sizeof(want), "socket:[%" PRIu64 "]",
	    inode);
	if ((pids = calloc(SP_PIDS, sizeof(*pids))) == NULL)
		return SP_BOUNDED;
	if ((d = opendir(root)) == NULL) {
		free(pids);
		return SP_NOTFOUND;
	}
	/* a script that sends many messages opens many sockets: the process
	 * that held the UID's last ones is tried first, which costs one fd
	 * directory instead of every process's */
	for (i = 0; i < nhint && h == 0; i++) {
		struct stat sb;
		char name[16];

		pid = hint[i];
		snprintf(name, sizeof(name), "%ld", (long)pid);
		if (pid <= 0 || fstatat(dirfd(d), name, &sb, 0) == -1 ||
		    (sb.st_uid != uid && (sb.st_uid != 0 ||
		    !status_uid(dirfd(d), pid, uid))))
			continue;
		h = holds(dirfd(d), pid, want, wlen, &n, max, deadline);
	}
	if (h == -1)
		bounded = 1;
	/*
	 * Two passes, cheap first.  The owner of /proc/PID is the process's
	 * effective UID when it is dumpable (a CLI script, cron, CGI): one
	 * fstatat each.  Else it is root's, whoever runs it (PHP-FPM's
	 * workers, a setuid program): those need their status read, which
	 * costs ten times more, so only when the first pass found nothing.
	 * Newest first in each: the script that just connected is most
	 * often the youngest process of its user.
	 */
	for (pass = 0; pass < 2 && h == 0 && !bounded; pass++) {
		if (pass == 1 && uid == 0)
			break;		/* root's were the first pass */
		bounded = candidates(d, pass, uid, pids, &np, &n, max,
		    deadline) == -1;
		for (i = np; i > 0 && h == 0; i--) {
			pid = pids[i - 1];
			h = holds(dirfd(d), pid, want, wlen, &n, max,
			    deadline);
		}
		if (h == -1)
			bounded = 1;
	}
	/* gone since: then nobody we can name holds it */
	if (h == 1)
		(void)origin_proc(root, pid, o);
	closedir(d);
	free(pids);
	*scanned = n;
	if (o->pid != 0)
		return SP_FOUND;
	return bounded ? SP_BOUNDED : SP_NOTFOUND;
}

/* --- the helper ---------------------------------------------------------- */

/*
 * child_limit - become uid:gid keeping CAP_SYS_PTRACE (the fd links, exe
 * and cwd of another user's process) and CAP_DAC_READ_SEARCH (listing
 * its fd directory, mode 0500), effective and permitted only: an empty
 * bounding set, no_new_privs, not dumpable (mailgovd, the same user,
 * cannot read or trace it)
 */
static int
child_limit(uid_t uid, gid_t gid)
{
	if (capng_get_caps_process() != 0 ||
	    !capng_have_capability(CAPNG_PERMITTED, CAP_SYS_PTRACE) ||
	    !capng_have_capability(CAPNG_PERMITTED, CAP_DAC_READ_SEARCH))
		return -1;
	capng_clear(CAPNG_SELECT_BOTH);
	if (capng_updatev(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED,
	    CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH, -1) != 0)
		return -1;
	if (geteuid() == 0 && uid != 0) {
		if (capng_change_id((int)uid, (int)gid,
		    CAPNG_DROP_SUPP_GRP | CAPNG_CLEAR_BOUNDING) != 0)
			return -1;
	} else if (capng_apply(CAPNG_SELECT_BOTH) != 0)
		return -1;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1 ||
	    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		return -1;
	/* what is left must be exactly the two */
	if (capng_get_caps_process() != 0 ||
	    !capng_have_capability(CAPNG_EFFECTIVE, CAP_SYS_PTRACE) ||
	    !capng_have_capability(CAPNG_EFFECTIVE, CAP_DAC_READ_SEARCH) ||
	    capng_have_capability(CAPNG_EFFECTIVE, CAP_SETUID) ||
	    capng_have_capability(CAPNG_BOUNDING_SET, CAP_SYS_PTRACE))
		return -1;
	return 0;
}

/* The processes that held each UID's recent sockets, tried first. */
#define SP_RECENT	64
#define SP_HINTS	4
static struct {
	uint32_t	uid;
	pid_t		pid;
}		recent[SP_RECENT];
static size_t	recent_next;

/* hints - the recent holders of uid's sockets, newest first */
static size_t
hints(uint32_t uid, pid_t *out)
{
	size_t	 i, k, n = 0;

	for (k = 0; k < SP_RECENT && n < SP_HINTS; k++) {
		i = (recent_next + SP_RECENT - 1 - k) % SP_RECENT;
		if (recent[i].pid != 0 && recent[i].uid == uid)
			out[n++] = recent[i].pid;
	}
	return n;
}

/* remember - pid held one of uid's sockets */
static void
remember(uint32_t uid, pid_t pid)
{
	size_t	 k;

	for (k = 0; k < SP_RECENT; k++)
		if (recent[k].pid == pid && recent[k].uid == uid)
			return;
	recent[recent_next].uid = uid;
	recent[recent_next].pid = pid;
	recent_next = (recent_next + 1) % SP_RECENT;
}

/* child_main - the helper's loop; never returns */
static void __attribute__((noreturn))
child_main(int s, uid_t uid, gid_t gid)
{
	struct sp_req	 req;
	struct sp_ans	 ans;
	sigset_t	 all;
	uint64_t	 t0;
	ssize_t		 n;
	pid_t		 parent = getppid(), hint[SP_HINTS];
	size_t		 nh;

	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (child_limit(uid, gid) == -1) {
		/* never serve with more, and nothing to do with less */
		log_warnx("process helper: cannot keep only CAP_SYS_PTRACE "
		    "and CAP_DAC_READ_SEARCH (not started as root?); the "
		    "process behind a direct socket will not be named");
		_exit(1);
	}
	/* after the change of user, which clears it; the socket's end
	 * tells too */
	(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_exit(0);
	for (;;) {
		memset(&req, 0, sizeof(req));
		n = recv(s, &req, sizeof(req), MSG_TRUNC);
		if (n == 0)
			_exit(0);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			_exit(1);
		}
		memset(&ans, 0, sizeof(ans));
		ans.version = SP_VERSION;
		ans.uid = req.uid;
		ans.inode = req.inode;
		if (n != (ssize_t)sizeof(req) || req.version != SP_VERSION)
			ans.status = SP_REFUSED;
		else {
			t0 = clock_mono_us();
			nh = hints(req.uid, hint);
			ans.status = (uint16_t)sockproc_scan("/proc", req.uid,
			    req.inode, SP_SCAN_MS, SP_SCAN_MAX, hint, nh,
			    &ans.origin, &ans.scanned);
			ans.usec = (uint32_t)(clock_mono_us() - t0);
			if (ans.status == SP_FOUND)
				remember(req.uid, (pid_t)ans.origin.pid);
		}
		if (send(s, &ans, sizeof(ans), 0) == -1 && errno != EINTR)
			_exit(1);
	}
}

/* --- mailgovd's end ------------------------------------------------------- */

enum slot_state { S_EMPTY = 0, S_ASKED, S_FOUND, S_NONE };

struct slot {
	uint64_t	inode;
	uint32_t	uid;
	uint8_t		state;		/* enum slot_state */
	uint8_t		syn;		/* asked by the kernel path */
	uint8_t		nlate;
	struct origin	o;
	struct {			/* held while the question was out */
		char	qid[SP_QIDLEN];
		int64_t	account;
	}		late[SP_LATE];
};

struct sockproc {
	struct loop	*loop;
	pid_t		 child;
	int		 fd;		/* -1: the helper is gone */
	unsigned	 inflight;
	struct sp_stats	 st;
	struct slot	*slot;		/* SP_TABLE, direct-mapped */
	uint64_t	 warn_s;	/* the last "too many" line */
	sockproc_late_fn late_fn;
	void		*late_arg;
};

/* slot_of - the one slot (uid, inode) may take: a newer socket pushes an
 * older one out, so the table keeps recent sockets without a list */
static struct slot *
slot_of(struct sockproc *sp, uint32_t uid, uint64_t inode)
{
	uint64_t h = hash_u64(hash_u64(inode) ^ uid);

	return &sp->slot[h & (SP_TABLE - 1)];
}

/* gone - the helper died or its socket broke: no more asking */
static void
gone(struct sockproc *sp)
{
	if (sp->fd == -1)
		return;
	log_warnx("process helper: gone; direct sockets are no longer "
	    "named");
	loop_del(sp->loop, sp->fd);
	close(sp->fd);
	sp->fd = -1;
	if (sp->child > 0)
		(void)waitpid(sp->child, NULL, WNOHANG);
}

/* clean_again - an answer's strings, made clean and bounded once more:
 * the helper may have been subverted */
static void
clean_again(struct origin *dst, const struct origin *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->pid = src->pid;
	origin_clean(dst->exe, sizeof(dst->exe), src->exe,
	    strnlen(src->exe, sizeof(src->exe) - 1));
	origin_clean(dst->cwd, sizeof(dst->cwd), src->cwd,
	    strnlen(src->cwd, sizeof(src->cwd) - 1));
	origin_clean(dst->cmd, sizeof(dst->cmd), src->cmd,
	    strnlen(src->cmd, sizeof(src->cmd) - 1));
}

/* on_answer - the helper's answers, each into its socket's slot if that
 * socket is still the slot's */
static void
on_answer(int fd, uint32_t events, void *arg)
{
	struct sockproc	*sp = arg;
	struct sp_ans	 ans;
	struct slot	*s;
	ssize_t		 n;
	unsigned	 i;

	(void)fd;
	(void)events;
	for (;;) {
		n = recv(sp->fd, &ans, sizeof(ans), MSG_DONTWAIT | MSG_TRUNC);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			gone(sp);
			return;
		}
		if (sp->inflight > 0)
			sp->inflight--;
		if (n != (ssize_t)sizeof(ans) || ans.version != SP_VERSION) {
			log_warnx("process helper: an answer of %zd bytes, "
			    "version %u; skipped", n, (unsigned)ans.version);
			continue;
		}
		sp->st.usec += ans.usec;
		switch (ans.status) {
		case SP_FOUND:
			sp->st.found++;
			break;
		case SP_BOUNDED:
			sp->st.bounded++;
			break;
		default:
			sp->st.notfound++;
			break;
		}
		log_debug("process helper: uid %u inode %" PRIu64 ": %s, pid "
		    "%u, %u entries in %u us", ans.uid, ans.inode,
		    ans.status == SP_FOUND ? "found" : ans.status == SP_BOUNDED
		    ? "bounded" : "not found", ans.origin.pid, ans.scanned,
		    ans.usec);
		s = slot_of(sp, ans.uid, ans.inode);
		if (s->state != S_ASKED || s->uid != ans.uid ||
		    s->inode != ans.inode)
			continue;	/* pushed out meanwhile */
		if (ans.status == SP_FOUND && ans.origin.pid != 0) {
			clean_again(&s->o, &ans.origin);
			s->state = S_FOUND;
			for (i = 0; i < s->nlate && sp->late_fn != NULL; i++)
				sp->late_fn(sp->late_arg, s->late[i].qid,
				    s->late[i].account, &s->o);
		} else
			s->state = S_NONE;
		s->nlate = 0;
	}
}

/* sockproc_new - see sockproc.h */
struct sockproc *
sockproc_new(struct loop *loop, uid_t uid, gid_t gid)
{
	struct sockproc	*sp;
	int		 sv[2];

	if ((sp = calloc(1, sizeof(*sp))) == NULL ||
	    (sp->slot = calloc(SP_TABLE, sizeof(*sp->slot))) == NULL) {
		free(sp);
		log_warnx("process helper: out of memory");
		return NULL;
	}
	sp->loop = loop;
	sp->fd = -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1) {
		log_warn("process helper: socketpair");
		goto fail;
	}
	if ((sp->child = fork()) == -1) {
		log_warn("process helper: fork");
		close(sv[0]);
		close(sv[1]);
		goto fail;
	}
	if (sp->child == 0) {
		/* keep only stdio and the socket, at fd 3 */
		if (dup2(sv[1], 3) == -1)
			_exit(1);
		close_range(4, ~0U, 0);
		child_main(3, uid, gid);
	}
	close(sv[1]);
	sp->fd = sv[0];
	if (fcntl(sp->fd, F_SETFL, O_NONBLOCK) == -1 ||
	    loop_add(loop, sp->fd, EPOLLIN, on_answer, sp) == -1) {
		log_warn("process helper: its socket");
		close(sp->fd);
		sp->fd = -1;
		goto fail;
	}
	log_debug("process helper: pid %ld", (long)sp->child);
	return sp;
fail:
	if (sp->child > 0) {
		kill(sp->child, SIGTERM);
		(void)waitpid(sp->child, NULL, 0);
	}
	free(sp->slot);
	free(sp);
	return NULL;
}

/* sockproc_free - close the socket: the helper exits at its end */
void
sockproc_free(struct sockproc *sp)
{
	if (sp == NULL)
		return;
	if (sp->fd != -1) {
		loop_del(sp->loop, sp->fd);
		close(sp->fd);
	}
	if (sp->child > 0)
		(void)waitpid(sp->child, NULL, 0);
	free(sp->slot);
	free(sp);
}

/* ask - one request, or none when SP_INFLIGHT are out: counted, and the
 * socket stays unnamed (asked once only, whatever came of it) */
static int
ask(struct sockproc *sp, uint32_t uid, uint64_t inode)
{
	struct sp_req	 req;
	uint64_t	 now;

	if (sp->fd == -1)
		return -1;
	if (sp->inflight >= SP_INFLIGHT) {
		sp->st.dropped++;
		now = clock_mono_s();
		if (sp->warn_s + 60 <= now) {
			sp->warn_s = now;
			log_warnx("process helper: %u requests outstanding; "
			    "%" PRIu64 " sockets left unnamed so far",
			    SP_INFLIGHT, sp->st.dropped);
		}
		return -1;
	}
	memset(&req, 0, sizeof(req));
	req.version = SP_VERSION;
	req.uid = uid;
	req.inode = inode;
	if (send(sp->fd, &req, sizeof(req), MSG_DONTWAIT | MSG_NOSIGNAL) ==
	    -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)
			sp->st.dropped++;
		else
			gone(sp);
		return -1;
	}
	sp->inflight++;
	sp->st.asked++;
	return 0;
}

/* sockproc_origin - see sockproc.h */
int
sockproc_origin(struct sockproc *sp, uint32_t uid, uint64_t inode,
    int ask_it, struct origin *o)
{
	struct slot	*s;

	memset(o, 0, sizeof(*o));
	if (sp == NULL || inode == 0)
		return 0;
	s = slot_of(sp, uid, inode);
	if (s->state != S_EMPTY && s->uid == uid && s->inode == inode) {
		if (s->state != S_FOUND)
			return 0;
		*o = s->o;
		return 1;
	}
	if (!ask_it)
		return 0;
	memset(s, 0, sizeof(*s));
	s->uid = uid;
	s->inode = inode;
	s->syn = ask_it == SP_ASK_SYN;
	s->state = ask(sp, uid, inode) == 0 ? S_ASKED : S_NONE;
	return 0;
}

/* sockproc_direct - see sockproc.h */
int
sockproc_direct(struct sockproc *sp, uint32_t uid, uint64_t inode)
{
	struct slot	*s;

	if (sp == NULL || inode == 0)
		return 0;
	s = slot_of(sp, uid, inode);
	return s->state != S_EMPTY && s->uid == uid && s->inode == inode &&
	    s->syn;
}

/* sockproc_later - see sockproc.h */
int
sockproc_later(struct sockproc *sp, uint32_t uid, uint64_t inode,
    const char *queue_id, int64_t account)
{
	struct slot	*s;

	if (sp == NULL || inode == 0 || queue_id == NULL ||
	    strlen(queue_id) >= SP_QIDLEN)
		return -1;
	s = slot_of(sp, uid, inode);
	if (s->state != S_ASKED || s->uid != uid || s->inode != inode ||
	    s->nlate == SP_LATE)
		return -1;
	snprintf(s->late[s->nlate].qid, SP_QIDLEN, "%s", queue_id);
	s->late[s->nlate].account = account;
	s->nlate++;
	return 0;
}

/* sockproc_on_late - see sockproc.h */
void
sockproc_on_late(struct sockproc *sp, sockproc_late_fn fn, void *arg)
{
	if (sp == NULL)
		return;
	sp->late_fn = fn;
	sp->late_arg = arg;
}

/* sockproc_stats - see sockproc.h */
void
sockproc_stats(const struct sockproc *sp, struct sp_stats *st)
{
	if (sp == NULL)
		memset(st, 0, sizeof(*st));
	else
		*st = sp->st;
}

/* sockproc_pid - see sockproc.h */
pid_t
sockproc_pid(const struct sockproc *sp)
{
	return sp != NULL ? sp->child : -1;
}
