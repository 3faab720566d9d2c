/*
 * spawn - fork, exec and wait, with a clean environment, a process group
 * of its own and a time limit (see spawn.h).
 *
 * The parent waits in poll() on the capture pipe, on a pipe that carries
 * the child's errno when exec fails (it is close-on-exec, so a successful
 * exec shows as its end of file), and on a pidfd that becomes readable
 * when the child exits.  Where the kernel has no pidfd it looks again
 * every SPAWN_TICK_MS instead.  The exit is observed with WNOWAIT and
 * collected last: until then the child's pid, and so its process group's
 * id, cannot be reused, and the final SIGKILL to the group can reach no
 * stranger.
 *
 * Trusts: the caller's struct spawn.  The program's output is only copied,
 * bounded; nothing in it is interpreted here.
 */
#define _GNU_SOURCE	/* memfd_create, pipe2, close_range */
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "spawn.h"

#define SPAWN_TICK_MS	20	/* exit polling without a pidfd */
#define SPAWN_CAP0	4096	/* first size of a capture buffer */
#define SPAWN_WAIT_MS	60000	/* one poll() at most; the deadline is
				 * looked at again after it */

/* the environment: PATH, then the caller's variables; built before the
 * fork, because nothing between fork and exec may allocate */
struct env {
	char	*v[SPAWN_ENV_MAX + 2];
};

/* make_env - e from s; -1 (EINVAL) when s has too many variables */
static int
make_env(const struct spawn *s, struct env *e)
{
	size_t	 n = 0;

	e->v[n++] = (char *)SPAWN_PATH;
	while (s->env != NULL && s->env[n - 1] != NULL) {
		if (n > SPAWN_ENV_MAX) {
			errno = EINVAL;
			return -1;
		}
		e->v[n] = s->env[n - 1];
		n++;
	}
	e->v[n] = NULL;
	return 0;
}

/* in_file - a memory file holding the input, at offset 0; -1 on failure */
static int
in_file(const char *in)
{
	size_t	 len = strlen(in), off = 0;
	ssize_t	 n;
	int	 fd;

	if ((fd = memfd_create("spawn-stdin", MFD_CLOEXEC)) == -1)
		return -1;
	while (off < len) {
		if ((n = write(fd, in + off, len - off)) == -1) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		off += (size_t)n;
	}
	if (lseek(fd, 0, SEEK_SET) == -1)
		goto fail;
	return fd;
fail:
	n = errno;
	close(fd);
	errno = (int)n;
	return -1;
}

/* high - fd moved above stdio, so that no dup2 onto 0-2 clobbers it */
static int
high(int fd)
{
	return fd < 0 || fd > 2 ? fd : fcntl(fd, F_DUPFD, 3);
}

/*
 * child - between fork and exec.  A failure before exec sends errno up
 * the report pipe and exits 127; a refusal of the hook exits 126.
 */
static void __attribute__((noreturn))
child(const struct spawn *s, const struct env *env, int in, int capw,
    int report)
{
	sigset_t none;
	int	 sig, e, null, out, err;

	(void)setpgid(0, 0);
	/* mailgovd blocks its signals (signalfd) and ignores SIGPIPE: an
	 * ignored or blocked signal would outlive the exec */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (sig = 1; sig < NSIG; sig++)
		(void)signal(sig, SIG_DFL);
	if ((null = high(open("/dev/null", O_RDWR))) == -1)
		goto fail;
	out = s->out == SPAWN_CAPTURE ? capw : s->out == SPAWN_NULL ? null :
	    high(s->out);
	err = s->err == SPAWN_NULL ? null : high(s->err);
	if (dup2(in != -1 ? in : null, 0) == -1)
		goto fail;
	if (out >= 0 && dup2(out, 1) == -1)
		goto fail;
	if (s->err == SPAWN_TO_OUT ? dup2(1, 2) == -1 :
	    err >= 0 && dup2(err, 2) == -1)
		goto fail;
	/* nothing else reaches the program; the report pipe closes at exec
	 * (before Linux 5.11, everything but it is closed now) */
	if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) == -1) {
		if (report > 3)
			(void)close_range(3, (unsigned)report - 1, 0);
		(void)close_range((unsigned)report + 1, ~0U, 0);
	}
	if (s->pre_exec != NULL && s->pre_exec(s->arg) == -1)
		_exit(126);
	execve(s->path, s->argv, env->v);
fail:
	e = errno;
	(void)!write(report, &e, sizeof(e));
	_exit(127);
}

/* take - read what the capture pipe has; 0 at its end, else 1 */
static int
take(int fd, char **buf, size_t *len, size_t *cap, size_t max)
{
	char	 junk[4096], *nb, *to;
	size_t	 room, ncap;
	ssize_t	 n;

	if (*len + 1 == *cap && *len < max) {
		ncap = *cap > max / 2 ? max + 1 : *cap * 2;
		if ((nb = realloc(*buf, ncap)) != NULL) {
			*buf = nb;
			*cap = ncap;
		}
	}
	room = *cap - 1 - *len;
	to = room > 0 ? *buf + *len : junk;
	if (room == 0)
		room = sizeof(junk);	/* over max: read and drop */
	if ((n = read(fd, to, room)) == -1)
		return errno == EINTR || errno == EAGAIN;
	if (n == 0)
		return 0;
	if (to != junk)
		*len += (size_t)n;
	return 1;
}

/* watch - poll fd for input unless it is -1; its index, or -1 */
static int
watch(struct pollfd *pfd, int *n, int fd)
{
	if (fd == -1)
		return -1;
	pfd[*n].fd = fd;
	pfd[*n].events = POLLIN;
	pfd[*n].revents = 0;
	return (*n)++;
}

/* spawn_run - run s and wait for it (see spawn.h) */
int
spawn_run(const struct spawn *s, char **out)
{
	struct pollfd pfd[3];
	struct env env;
	siginfo_t si;
	char	*buf = NULL;
	size_t	 len = 0, cap = 0;
	uint64_t now, deadline = 0;
	int	 in = -1, cp[2] = { -1, -1 }, rp[2] = { -1, -1 }, pidfd = -1;
	int	 st, e = 0, killed = 0, exited, wait_ms, n, ci, ri, rv;
	ssize_t	 got;
	pid_t	 pid;

	if (out != NULL)
		*out = NULL;
	if (make_env(s, &env) == -1)
		return SPAWN_FAILED;
	if (s->out == SPAWN_CAPTURE) {
		cap = s->cap_max < SPAWN_CAP0 ? s->cap_max + 1 : SPAWN_CAP0;
		if ((buf = malloc(cap)) == NULL)
			return SPAWN_FAILED;
	}
	if ((s->in != NULL && (in = in_file(s->in)) == -1) ||
	    (buf != NULL && pipe2(cp, O_CLOEXEC) == -1) ||
	    pipe2(rp, O_CLOEXEC) == -1)
		goto fail;
	/* what the caller printed comes before what the program prints */
	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) == -1)
		goto fail;
	if (pid == 0)
		child(s, &env, in, cp[1], rp[1]);
	/* the child does the same: whichever runs first, the group exists
	 * before anyone signals it */
	(void)setpgid(pid, pid);
	if (in != -1)
		close(in);
	in = -1;
	if (cp[1] != -1)
		close(cp[1]);
	close(rp[1]);
	cp[1] = rp[1] = -1;
#ifdef SYS_pidfd_open
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
#endif
	if (s->time_ms > 0)
		deadline = clock_mono_ms() + s->time_ms;
	for (;;) {
		memset(&si, 0, sizeof(si));
		if (waitid(P_PID, (id_t)pid, &si,
		    WEXITED | WNOHANG | WNOWAIT) == 0)
			exited = si.si_pid == pid;
		else	/* ECHILD: SIGCHLD ignored, and it was reaped */
			exited = errno != EINTR;
		if (exited && cp[0] == -1 && rp[0] == -1)
			break;
		now = clock_mono_ms();
		if (deadline > 0 && now >= deadline) {
			if (killed)
				break;		/* the grace is over */
			/* the whole group: what the program forked too */
			(void)kill(-pid, SIGTERM);
			killed = 1;
			deadline = now + SPAWN_GRACE_MS;
			continue;
		}
		n = 0;
		ci = watch(pfd, &n, cp[0]);
		ri = watch(pfd, &n, rp[0]);
		(void)watch(pfd, &n, exited ? -1 : pidfd);
		wait_ms = deadline == 0 ? -1 : deadline - now > SPAWN_WAIT_MS ?
		    SPAWN_WAIT_MS : (int)(deadline - now);
		if (!exited && pidfd == -1 &&
		    (wait_ms == -1 || wait_ms > SPAWN_TICK_MS))
			wait_ms = SPAWN_TICK_MS;
		if (poll(pfd, (nfds_t)n, wait_ms) == -1) {
			if (errno == EINTR)
				continue;
			e = errno;
			(void)kill(-pid, SIGKILL);
			break;
		}
		if (ci != -1 && pfd[ci].revents != 0 &&
		    !take(cp[0], &buf, &len, &cap, s->cap_max)) {
			close(cp[0]);
			cp[0] = -1;
		}
		if (ri != -1 && pfd[ri].revents != 0) {
			/* errno from a failed exec, or the end of file of a
			 * successful one */
			if ((got = read(rp[0], &e, sizeof(e))) == -1 &&
			    errno == EINTR)
				continue;
			if (got != (ssize_t)sizeof(e))
				e = 0;
			close(rp[0]);
			rp[0] = -1;
		}
	}
	/* after the grace, whatever is left of the group; a group that is
	 * all gone answers ESRCH */
	if (killed)
		(void)kill(-pid, SIGKILL);
	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR) {
			st = -1;
			break;
		}
	if (e != 0) {
		errno = e;
		rv = SPAWN_FAILED;
	} else if (killed)
		rv = SPAWN_TIMEDOUT;
	else if (st != -1 && WIFEXITED(st))
		rv = WEXITSTATUS(st);
	else if (st != -1 && WIFSIGNALED(st))
		rv = SPAWN_SIGNAL + WTERMSIG(st);
	else
		rv = SPAWN_FAILED;
	if (pidfd != -1)
		close(pidfd);
	if (cp[0] != -1)
		close(cp[0]);
	if (rp[0] != -1)
		close(rp[0]);
	if (buf != NULL) {
		buf[len] = '\0';
		if (rv == SPAWN_FAILED)
			free(buf);
		else if (out != NULL)
			*out = buf;
		else
			free(buf);
	}
	if (rv == SPAWN_FAILED && e != 0)
		errno = e;
	return rv;
fail:
	e = errno;
	if (in != -1)
		close(in);
	if (cp[0] != -1) {
		close(cp[0]);
		close(cp[1]);
	}
	if (rp[0] != -1) {
		close(rp[0]);
		close(rp[1]);
	}
	free(buf);
	errno = e;
	return SPAWN_FAILED;
}

/* spawn_start - fork and exec without waiting (see spawn.h) */
int
spawn_start(const struct spawn *s, struct spawn_child *c)
{
	struct env env;
	int	 in = -1, rp[2] = { -1, -1 }, e;
	pid_t	 pid;

	memset(c, 0, sizeof(*c));
	c->pid = -1;
	c->pidfd = c->report = -1;
	if (s->out == SPAWN_CAPTURE) {
		errno = EINVAL;
		return -1;
	}
	if (make_env(s, &env) == -1 ||
	    (s->in != NULL && (in = in_file(s->in)) == -1) ||
	    pipe2(rp, O_CLOEXEC | O_NONBLOCK) == -1)
		goto fail;
	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) == -1)
		goto fail;
	if (pid == 0) {
		/* the child's end blocks: its errno must get through */
		(void)fcntl(rp[1], F_SETFL, 0);
		child(s, &env, in, -1, rp[1]);
	}
	(void)setpgid(pid, pid);
	if (in != -1)
		close(in);
	close(rp[1]);
	c->pid = pid;
	c->report = rp[0];
#ifdef SYS_pidfd_open
	c->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
#endif
	if (s->time_ms > 0)
		c->deadline = clock_mono_ms() + s->time_ms;
	return 0;
fail:
	e = errno;
	if (in != -1)
		close(in);
	if (rp[0] != -1) {
		close(rp[0]);
		close(rp[1]);
	}
	errno = e;
	return -1;
}

/* spawn_check - collect c if it is over, enforce its time limit if not */
int
spawn_check(struct spawn_child *c, unsigned long long now_ms)
{
	siginfo_t si;
	ssize_t	 got;
	int	 st, e = 0, rv;

	if (c->pid <= 0)
		return SPAWN_FAILED;
	memset(&si, 0, sizeof(si));
	/* WNOWAIT: until it is collected its pid, and so its group's id,
	 * cannot be reused, and the group can be signalled safely */
	if (waitid(P_PID, (id_t)c->pid, &si, WEXITED | WNOHANG | WNOWAIT) ==
	    0 && si.si_pid != c->pid) {
		if (c->deadline == 0 || now_ms < c->deadline)
			return SPAWN_RUNNING;
		(void)kill(-c->pid, c->killed ? SIGKILL : SIGTERM);
		if (!c->killed)
			c->deadline = now_ms + SPAWN_GRACE_MS;
		c->killed = 1;
		return SPAWN_RUNNING;
	}
	/* exited (or ECHILD: reaped elsewhere): what it left goes too */
	(void)kill(-c->pid, SIGKILL);
	while (waitpid(c->pid, &st, 0) == -1)
		if (errno != EINTR) {
			st = -1;
			break;
		}
	if ((got = read(c->report, &e, sizeof(e))) != (ssize_t)sizeof(e))
		e = 0;
	if (e != 0)
		rv = SPAWN_FAILED;
	else if (c->killed)
		rv = SPAWN_TIMEDOUT;
	else if (st != -1 && WIFEXITED(st))
		rv = WEXITSTATUS(st);
	else if (st != -1 && WIFSIGNALED(st))
		rv = SPAWN_SIGNAL + WTERMSIG(st);
	else
		rv = SPAWN_FAILED;
	if (c->pidfd != -1)
		close(c->pidfd);
	close(c->report);
	c->pid = -1;
	c->pidfd = c->report = -1;
	if (e != 0)
		errno = e;
	return rv;
}
