/*
 * release_child - the one part of mailgovd that stays root: a tiny child,
 * forked before the daemon drops its privileges, that runs Postfix's
 * queue tools for the release module (release.h), and the wire format
 * between the two.
 *
 * Operations, one fixed-size request each on a SOCK_SEQPACKET
 * socketpair, answered in order:
 *   RC_HOLD_RELEASE  postsuper -c DIR -H ID, then postqueue -c DIR -i ID
 *                    (the release moves the message to the deferred
 *                    queue; the flush makes it leave now, not at the
 *                    next queue run);
 *   RC_DELETE        postsuper -c DIR -d ID;
 *   RC_LIST          postqueue -c DIR -j, its output on the pipe passed
 *                    with the request (SCM_RIGHTS): mailgovd, once it has
 *                    dropped privileges with no_new_privs, cannot use
 *                    postqueue's setgid postdrop to reach showq;
 *   RC_MARKS         postcat -c DIR -h -q ID: the values of the first
 *                    RC_MARKS_MAX account headers (mark.h), unverified.
 * Every request and answer carries RC_VERSION; each side drops a record
 * of another version, or of another size, and says so in the log.
 *
 * Trusts: nothing the main process sends (it may be compromised).  Every
 * queue ID is validated again with queueid_ok(); argv is fixed; there is
 * no shell; each program runs through spawn.h with an environment of
 * SPAWN_PATH alone, stdin from /dev/null, in its own process group, and
 * with a time limit: RC_TIME_S seconds (RC_TIME_ENV overrides it, 1 to
 * 3600), five times that for the listing, which reads every queue file.
 * A tool that outlives it is killed with its whole group and the request
 * fails, so a stuck postsuper no longer blocks the child for ever.
 *
 * Keeps: uid 0, because postsuper refuses any other, with CAP_SETUID and
 * CAP_SETGID (effective, permitted and bounding), which postsuper needs
 * to become the mail owner before it renames or unlinks a queue file,
 * and no_new_privs.  Also CAP_KILL, effective and permitted but not in
 * the bounding set, so that no program it runs inherits it: postsuper
 * and postcat run as the mail owner by then, and a time limit must be
 * able to end them (with CAP_SETUID the child could become that user
 * anyway).  postqueue runs with no capability at all, with postdrop (the
 * group of its setgid binary, which no_new_privs ignores) as its group;
 * postcat as the mail owner (postfix), with no group and no capability
 * left.  Started without root (CAP_NET_ADMIN alone) it keeps nothing.
 * See docs/mailgovd.md, "The release helper".
 *
 * The child exits when the socket closes, or when mailgovd dies.
 */
#ifndef MAILGOV_RELEASE_CHILD_H
#define MAILGOV_RELEASE_CHILD_H

#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "mark.h"

#define RC_VERSION	1
#define RC_IDLEN	32		/* 31 characters and a NUL */
#define RC_MARKS_MAX	4		/* account headers one answer holds */
#define RC_TIME_S	60		/* default time limit of one tool */
#define RC_TIME_ENV	"MAILGOV_HELPER_TIMEOUT"	/* seconds */

enum rc_op {
	RC_HOLD_RELEASE = 1,
	RC_DELETE,
	RC_LIST,
	RC_MARKS
};

enum rc_status {
	RC_OK = 0,
	RC_NOTFOUND,		/* the tool did not find the queue ID */
	RC_FAIL			/* refused, failed or timed out */
};

struct rc_req {
	uint16_t	version;	/* RC_VERSION */
	uint16_t	op;		/* enum rc_op */
	char		id[RC_IDLEN];	/* NUL-terminated; unused by RC_LIST */
};

struct rc_ans {
	uint16_t	version;	/* RC_VERSION */
	uint16_t	op;		/* the request's */
	uint16_t	status;		/* enum rc_status */
	char		id[RC_IDLEN];	/* the request's */
	/* RC_MARKS: each NUL-terminated, empty when absent; unverified */
	char		marks[RC_MARKS_MAX][MARK_VALUE_MAX];
};

/*
 * release_child_start - fork the child (call while still root); its pid
 * in *pid and the main process's end of the socket (non-blocking,
 * close-on-exec) returned, or -1 (logged)
 */
int	release_child_start(const struct config *, pid_t *pid);
/* release_child_send - one request (passing fd along when >= 0); id may
 * be NULL.  -1 when the socket failed (logged) */
int	release_child_send(int s, enum rc_op, const char *id, int fd);
/*
 * release_child_recv - the next answer into *ans: 1, or 0 when there is
 * none for now, or -1 when the child is gone.  A record of the wrong size
 * or version is logged and skipped.
 */
int	release_child_recv(int s, struct rc_ans *ans);

#endif
