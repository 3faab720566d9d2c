/*
 * ctlsock - mailgovd's control socket: a unix stream socket for root and
 * the daemon's own user only (SO_PEERCRED).  One command per line, each
 * answer a few key=value lines ended by an empty line; the connection
 * stays open for the next command.
 *
 *   status	version=CTLSOCK_VERSION, accounts=N, flows=N,
 *		uptime=SECONDS (and the daemon's extras)
 *   flows	one line per flow: src= dst= uid= account= verdict= age= ttl=
 *		(at most CTLSOCK_FLOWS_MAX, then "more=N")
 *   top [LIMIT [KEY]]
 *		version=, accounts= (active in the last hour, or holding
 *		mail), untracked=,
 *		sort=, then at most LIMIT (1..CTLSOCK_TOP_MAX, 100) lines
 *		"row account= rate= left= hour_limit= blocked= held=
 *		messages= released= refused= redirected= spark= script=",
 *		spark being 60 per-minute message counts, newest first, and
 *		script the rest of the line (it may hold spaces)
 *
 * A new field may be added to any answer: a client ignores the keys it
 * does not know, and version= changes only when a field changes meaning.
 *
 * An unknown command gets "error=unknown command"; a line longer than
 * CTLSOCK_LINE_MAX closes the connection.
 */
#ifndef MAILGOV_CTLSOCK_H
#define MAILGOV_CTLSOCK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "acct.h"
#include "flow.h"
#include "loop.h"
#include "recent.h"

#define CTLSOCK_LINE_MAX	128
#define CTLSOCK_CLIENTS		16
#define CTLSOCK_FLOWS_MAX	10000
#define CTLSOCK_TOP_MAX		1000
#define CTLSOCK_VERSION		1

struct ctlsock;

/* Extra status lines ("key=value\n"...) the daemon adds, into buf. */
typedef void (*ctlsock_status_fn)(char *buf, size_t len, void *arg);

/*
 * ctlsock_new - bind path (replacing a stale socket), mode 0660, owned by
 * uid:gid, and serve it.  Peers other than root and uid are refused.
 * NULL with err filled on failure.
 */
struct ctlsock *ctlsock_new(struct loop *, const char *path, uid_t uid,
	    gid_t gid, struct accts *, struct flows *, char *err,
	    size_t errlen);
void	ctlsock_set_status(struct ctlsock *, ctlsock_status_fn, void *);
/* ctlsock_set_recent - answer "top" from these rings */
void	ctlsock_set_recent(struct ctlsock *, struct recent *);
/* ctlsock_tick - once a second: idle timeouts, resume accepting */
void	ctlsock_tick(struct ctlsock *, uint64_t now);
void	ctlsock_free(struct ctlsock *);

#endif
