/*
 * sockproc - the process behind a direct socket: a PHP or Python script
 * that speaks SMTP itself, redirected to the queue instance, is named by
 * the socket the kernel reported for its session (the owner's UID and
 * the socket's inode, from the policy server's NETLINK_SOCK_DIAG
 * answer), not by anything the script says.
 *
 * Reading another user's /proc/PID/fd takes CAP_SYS_PTRACE (the links)
 * and CAP_DAC_READ_SEARCH (the directory listing), which mailgovd, which
 * parses packets and policy requests, must not hold.  So a tiny helper,
 * forked before the privilege drop, keeps those two alone: it becomes
 * the daemon's user, with an empty bounding set and no_new_privs, and
 * answers one fixed-size request at a time on a SOCK_SEQPACKET
 * socketpair:
 *   request  (UID, socket inode);
 *   answer   the PID, executable, cwd and command line of a process of
 *            that UID holding that socket, as clean origin fields
 *            (origin.h), or "not found", or "gave up at a bound".
 * It tries first the processes that held that UID's last sockets, then
 * looks only at processes whose /proc directory that UID owns, or, for
 * the ones the kernel shows as root's (not dumpable, as PHP-FPM's
 * workers are), whose status names that UID as real or effective; it
 * stops after SP_SCAN_MS or SP_SCAN_MAX entries (processes and fds).
 *
 * mailgovd's end never waits: a request is one non-blocking send, at
 * most SP_INFLIGHT are outstanding (the rest are dropped and counted),
 * each socket is asked about once, and the answers are kept in a table
 * of the SP_TABLE most recent sockets, keyed by (UID, inode), which the
 * policy server reads at each request of the session.
 *
 * Trusts: the helper trusts nothing the main process sends beyond the
 * fixed layout (a compromised mailgovd can only ask about sockets);
 * what it reads is /proc, in bounded reads through origin.h.  The main
 * process trusts nothing in an answer beyond its layout: every string is
 * cleaned again.  The PID and executable are the kernel's view of who
 * holds the socket; the cwd and command line are the web user's to
 * shape, like every origin field (docs/security.md).
 */
#ifndef MAILGOV_SOCKPROC_H
#define MAILGOV_SOCKPROC_H

#include <stdint.h>
#include <sys/types.h>

#include "loop.h"
#include "origin.h"

#define SP_VERSION	1
#define SP_INFLIGHT	64	/* requests the helper has not answered */
#define SP_TABLE	4096	/* sockets whose answer is kept */
#define SP_SCAN_MS	50	/* one request's scan, at most */
#define SP_SCAN_MAX	200000	/* /proc entries and fds one scan reads */

enum sp_status {
	SP_FOUND = 0,
	SP_NOTFOUND,		/* no process of the UID holds it */
	SP_BOUNDED,		/* gave up at SP_SCAN_MS or SP_SCAN_MAX */
	SP_REFUSED		/* a malformed request */
};

struct sp_req {
	uint16_t	version;	/* SP_VERSION */
	uint16_t	pad;
	uint32_t	uid;
	uint64_t	inode;
};

struct sp_ans {
	uint16_t	version;	/* SP_VERSION */
	uint16_t	status;		/* enum sp_status */
	uint32_t	uid;		/* the request's */
	uint64_t	inode;		/* the request's */
	uint32_t	scanned;	/* entries read */
	uint32_t	usec;		/* time the scan took */
	struct origin	origin;		/* SP_FOUND: clean, script empty */
};

struct sp_stats {
	uint64_t	asked, found, notfound, bounded, dropped;
	uint64_t	usec;		/* total scan time of the answers */
};

/*
 * sockproc_scan - the helper's work, also for tests and measurements:
 * the process under root ("/proc") of UID uid holding socket inode, into
 * o, within ms milliseconds and max entries, trying the nhint PIDs of
 * hint first; its status, and the entries read in *scanned
 */
enum sp_status sockproc_scan(const char *root, uint32_t uid, uint64_t inode,
	    unsigned ms, uint32_t max, const pid_t *hint, size_t nhint,
	    struct origin *o, uint32_t *scanned);

struct sockproc;

/*
 * sockproc_new - fork the helper (call while root; it becomes uid:gid)
 * and watch its answers on loop; NULL when it cannot start (logged):
 * direct sockets then stay unnamed
 */
struct sockproc *sockproc_new(struct loop *, uid_t uid, gid_t gid);
void	sockproc_free(struct sockproc *);

/*
 * sockproc_origin - what is known of the process behind the socket
 * (uid, inode): 1 with *o filled, else 0 (o empty).  With ask (SP_ASK,
 * or SP_ASK_SYN from the kernel path), the first call for a socket asks
 * the helper and returns 0; a later one finds the answer once it has
 * come.  Never waits.
 */
#define SP_ASK		1
#define SP_ASK_SYN	2
int	sockproc_origin(struct sockproc *, uint32_t uid, uint64_t inode,
	    int ask, struct origin *o);
/* sockproc_direct - was the socket asked about by the kernel path, as a
 * SYN redirected from elsewhere (not mailgov-sendmail's)? */
int	sockproc_direct(struct sockproc *, uint32_t uid, uint64_t inode);

/*
 * The policy server may have to write a held message's row before the
 * helper's answer for its session has come.  sockproc_later keeps the
 * message's queue ID (SP_LATE per socket at most) while the socket's
 * question is out, and the late handler gets each one with the origin
 * when the answer names the process.  -1 when nothing is out for the
 * socket, or no room.
 */
#define SP_LATE		2
#define SP_QIDLEN	32
typedef void	(*sockproc_late_fn)(void *arg, const char *queue_id,
		    int64_t account, const struct origin *);
int	sockproc_later(struct sockproc *, uint32_t uid, uint64_t inode,
	    const char *queue_id, int64_t account);
void	sockproc_on_late(struct sockproc *, sockproc_late_fn, void *arg);

/* sockproc_stats - the counts so far */
void	sockproc_stats(const struct sockproc *, struct sp_stats *);

/* sockproc_pid - the helper's process (tests look at its capabilities) */
pid_t	sockproc_pid(const struct sockproc *);

#endif
