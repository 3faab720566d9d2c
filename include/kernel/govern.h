/*
 * govern - the kernel path's decision for one connection-opening SYN:
 * ALLOW (an exempt relay of the account), REJECT (blocked, or over the
 * account's connection budgets) or REDIRECT (no mark bit: the nat rules
 * send it to the queue instance).  Pure: no I/O, no clock; the caller
 * passes the time and a way to count the account's live connections,
 * which is only asked when a finite concurrency cap needs it.
 */
#ifndef MAILGOV_GOVERN_H
#define MAILGOV_GOVERN_H

#include <stdint.h>

#include "acct.h"
#include "config.h"
#include "flow.h"

#define GOVERN_PORT_SMTPS	465	/* implicit TLS: nothing to redirect to */

/* The SYN as govern needs it. */
struct govern_syn {
	uint8_t		family;		/* AF_INET or AF_INET6 */
	uint8_t		daddr[16];	/* IPv4 in the first 4 bytes */
	uint16_t	dport;
	uint32_t	uid;
};

/* Why: printed as reason= in the alerts. */
enum govern_reason {
	GOV_R_REDIRECT = 0,	/* a connection elsewhere: redirected */
	GOV_R_QUEUE,		/* straight to the local queue port */
	GOV_R_EXEMPT,		/* an exempt relay of the account */
	GOV_R_BLOCKED,		/* the account is blocked */
	GOV_R_CONN_RATE,	/* over new_connections */
	GOV_R_CONN_CAP,		/* over connections (concurrent) */
	GOV_R_IMPLICIT_TLS,	/* 465 to a non-exempt host: the rules reject */
	GOV_R_COUNT
};

struct govern_result {
	int		verdict;	/* enum flow_verdict */
	int		reason;		/* enum govern_reason */
	unsigned	checked;	/* 1 << budget_kind: kinds asked */
	unsigned	over;		/* 1 << budget_kind: kinds refused */
	int64_t		live;		/* live connections counted, -1 none */
	uint64_t	retry_at;	/* when a refused rate could pass */
};

/*
 * govern_count - live SMTP client connections of the account, this one
 * included, or -1 when they cannot be counted (then no cap applies:
 * the queue path still counts every message).  Live means established,
 * or admitted and still in its handshake: a SYN still waiting for its
 * verdict is not a connection yet.
 */
typedef int64_t (*govern_count)(const struct acct *, void *arg);

/*
 * govern_decide - decide one SYN of acct at now (microseconds).  Charges
 * new_connections when the connection would otherwise go ahead;
 * a connection then refused by the concurrency cap gets it back.
 */
void	govern_decide(struct acct *, const struct config *,
	    const struct govern_syn *, uint64_t now, govern_count, void *arg,
	    struct govern_result *);

/* govern_mark - the packet's new mark: bits outside mark_mask kept */
uint32_t govern_mark(const struct config *, uint32_t pktmark, int verdict);

/* govern_is_queue - is the SYN for the local queue port (loopback) */
int	govern_is_queue(const struct config *, const struct govern_syn *);

#define GOVERN_SYN_WINDOW	150	/* seconds: tcp_syn_retries=6 is ~127 */

/*
 * govern_reuse - may f's verdict answer this SYN (at now, unix seconds)
 * again, uncharged?  Only a retransmission: same UID, same destination, within
 * GOVERN_SYN_WINDOW of the first SYN, and not a reject (a rejected socket
 * got a reset, so the same 4-tuple again is a new connection).  A later
 * SYN on the same 4-tuple is a new connection reusing the port.
 */
int	govern_reuse(const struct flow *, const struct govern_syn *,
	    uint64_t now);

const char *govern_reason_name(int);

#endif
