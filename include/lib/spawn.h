/*
 * spawn - the one way mailgov runs another program: fork and exec an
 * absolute path with a fixed argv, no shell, and an environment of
 * SPAWN_PATH and the caller's own variables (env), nothing inherited.
 * stdin is /dev/null, or the bytes
 * the caller gives (from a memory file, so a large input cannot deadlock
 * against the output).  stdout and stderr each go to /dev/null, to the
 * caller's own, to a given fd, or into a capture that keeps at most
 * cap_max bytes and reads and drops the rest, so the program never blocks
 * on a full pipe.
 *
 * The program runs in a process group of its own.  When time_ms passes,
 * the whole group gets SIGTERM, and SIGKILL SPAWN_GRACE_MS later: a stuck
 * program and whatever it forked are gone, and the caller gets
 * SPAWN_TIMEDOUT instead of waiting for ever.  The caller must be allowed
 * to signal the group (the same uid, or CAP_KILL).
 *
 * A pre_exec hook runs in the child just before exec (privilege steps);
 * when it returns -1 the child exits 126 without running anything.
 *
 * spawn_run waits.  spawn_start and spawn_check are the same without the
 * wait, for an event loop: start, then check when the pidfd is readable
 * or a timer fires; the check enforces the time limit.  They take no
 * capture (a loop would have to drain it): stdout and stderr go to
 * /dev/null, the caller's own or an fd.
 *
 * Trusts: the caller's path and argv; nothing the program prints, which
 * is only ever bounded bytes handed back.
 */
#ifndef MAILGOV_SPAWN_H
#define MAILGOV_SPAWN_H

#include <stddef.h>

#define SPAWN_PATH	"PATH=/usr/sbin:/usr/bin:/sbin:/bin"
#define SPAWN_GRACE_MS	1000	/* from SIGTERM to SIGKILL */
#define SPAWN_ENV_MAX	16	/* variables besides PATH */

/* where stdout or stderr goes; an fd >= 0 is used as it is */
enum {
	SPAWN_NULL = -1,	/* /dev/null */
	SPAWN_INHERIT = -2,	/* the caller's own */
	SPAWN_CAPTURE = -3,	/* into *out (stdout's setting only) */
	SPAWN_TO_OUT = -4	/* stderr only: wherever stdout goes */
};

/* spawn_run's results besides an exit status (0-255) */
#define SPAWN_FAILED	(-1)	/* could not fork or exec: see errno */
#define SPAWN_TIMEDOUT	(-2)	/* time_ms passed; the group was killed */
#define SPAWN_SIGNAL	128	/* + N: signal N ended it */
#define SPAWN_RUNNING	(-3)	/* spawn_check: not yet */

struct spawn {
	const char	*path;		/* absolute */
	char *const	*argv;
	const char	*in;		/* stdin's bytes, or NULL: /dev/null */
	int		 out;		/* SPAWN_NULL, _INHERIT, _CAPTURE, fd */
	int		 err;		/* SPAWN_NULL, _INHERIT, _TO_OUT, fd */
	size_t		 cap_max;	/* bytes kept of a capture */
	unsigned	 time_ms;	/* 0: no limit */
	int		(*pre_exec)(void *);	/* in the child; may be NULL */
	void		*arg;
	char *const	*env;		/* "NAME=value", NULL-terminated,
					 * at most SPAWN_ENV_MAX, after
					 * PATH; NULL: PATH alone */
};

/* A program spawn_start started and spawn_check has not yet collected. */
struct spawn_child {
	int		 pid;
	int		 pidfd;		/* readable at its exit; -1: none */
	int		 report;	/* errno of a failed exec, or EOF */
	int		 killed;	/* SIGTERM sent at the time limit */
	unsigned long long deadline;	/* monotonic ms; 0: no limit */
};

/*
 * spawn_run - run s and wait for it: its exit status, SPAWN_SIGNAL + N,
 * SPAWN_TIMEDOUT or SPAWN_FAILED (errno says why, an exec failure
 * included).  With SPAWN_CAPTURE, *out is the malloc'd output,
 * NUL-terminated, possibly cut at cap_max (NULL only on SPAWN_FAILED).
 */
int	spawn_run(const struct spawn *s, char **out);

/*
 * spawn_start - fork and exec s without waiting (no SPAWN_CAPTURE).
 * 0 with *c filled, or -1 with errno (EINVAL for a capture or too many
 * variables).  c->pidfd, when not -1, is for the caller's poll set.
 */
int	spawn_start(const struct spawn *s, struct spawn_child *c);

/*
 * spawn_check - never waits: SPAWN_RUNNING while the program runs (past
 * its time limit at now_ms, its group gets SIGTERM, then SIGKILL after
 * SPAWN_GRACE_MS); else what spawn_run would return, and c is spent (its
 * fds closed).  When the program exits, whatever it left running in its
 * group is killed with it: nothing it started outlives it.
 */
int	spawn_check(struct spawn_child *c, unsigned long long now_ms);

#endif
