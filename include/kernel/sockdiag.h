/*
 * sockdiag - the kernel's own list of SMTP client sockets, through a
 * NETLINK_SOCK_DIAG dump filtered in the kernel by destination port and
 * state.  The kernel path takes a census with it (at most a few times a
 * second, never once per SYN): which flows still have their socket, and
 * how many established connections each account has, exact whatever
 * UID, auto account or path opened them.
 */
#ifndef MAILGOV_SOCKDIAG_H
#define MAILGOV_SOCKDIAG_H

#include <stddef.h>
#include <stdint.h>

#define SOCKDIAG_MAX_PORTS	24	/* ports one dump can filter on */

/* States, as bits for sockdiag_each (the kernel's TCP_* numbering). */
#define SOCKDIAG_ST(s)		(1u << (s))
#define SOCKDIAG_SYN_SENT	SOCKDIAG_ST(2)
#define SOCKDIAG_ESTABLISHED	SOCKDIAG_ST(1)
/* a client socket that is still open: everything but TIME_WAIT, CLOSE,
 * LISTEN and the server side's SYN_RECV */
#define SOCKDIAG_OPEN	(SOCKDIAG_ESTABLISHED | SOCKDIAG_SYN_SENT |	\
	SOCKDIAG_ST(4) | SOCKDIAG_ST(5) | SOCKDIAG_ST(8) | SOCKDIAG_ST(9) | \
	SOCKDIAG_ST(11))	/* FIN_WAIT1/2, CLOSE_WAIT, LAST_ACK, CLOSING */

struct sockdiag_sock {
	uint8_t		family;		/* AF_INET, or AF_INET6 unless the
					 * addresses are IPv4-mapped */
	uint8_t		state;		/* TCP_ESTABLISHED, TCP_SYN_SENT.. */
	uint8_t		saddr[16];	/* IPv4 in the first 4 bytes */
	uint8_t		daddr[16];	/* as the socket sees it: before
					 * any nat REDIRECT */
	uint16_t	sport;		/* host order */
	uint16_t	dport;
	uint32_t	uid;
};

struct sockdiag;

/* sockdiag_new - open the netlink socket; NULL on failure (logged) */
struct sockdiag *sockdiag_new(void);
void	sockdiag_free(struct sockdiag *);

/*
 * sockdiag_each - call fn for each IPv4 and IPv6 TCP socket in one of the
 * states (SOCKDIAG_* bits) whose destination port is one of
 * ports[0..n).  Returns the number of sockets seen, or -1 if the kernel
 * could not be asked.
 */
int64_t	sockdiag_each(struct sockdiag *, const uint16_t *ports, size_t n,
	    uint32_t states, void (*fn)(const struct sockdiag_sock *, void *),
	    void *arg);

/*
 * The kernel also tells when it destroys a TCP socket (the sock_diag
 * destroy groups, Linux 4.9): a watch hears those of the SMTP ports, a
 * socket filter dropping every other one in the kernel.  So a closed
 * connection leaves the counts at once, without a dump.  Subscribing makes
 * the kernel report every TCP socket of the network namespace as it is
 * freed (a few microseconds each, in a workqueue); the filter keeps all
 * but the SMTP ones from reaching the daemon.
 */
struct sockdiag_watch;

/* sockdiag_watch_new - subscribe (needs CAP_NET_ADMIN); NULL, logged,
 * when the kernel does not offer it */
struct sockdiag_watch *sockdiag_watch_new(const uint16_t *ports, size_t n);
void	sockdiag_watch_free(struct sockdiag_watch *);
int	sockdiag_watch_fd(const struct sockdiag_watch *);
/*
 * sockdiag_watch_read - call fn for each destroyed socket queued so far
 * (state and addresses as the socket last had them).  Returns how many,
 * or -1 with errno: ENOBUFS when the kernel dropped some because the
 * queue was full (the caller must count again), anything else when the
 * socket failed.
 */
int64_t	sockdiag_watch_read(struct sockdiag_watch *,
	    void (*fn)(const struct sockdiag_sock *, void *), void *arg);

/* sockdiag_filter - the classic BPF socket filter "the destination port
 * of the inet_diag_msg is one of ports" into prog (at most n * 1 + 3
 * instructions of struct sock_filter); returns its length, or 0 (pure,
 * for tests) */
size_t	sockdiag_filter(const uint16_t *ports, size_t n, void *prog,
	    size_t max);

/* sockdiag_bytecode - the inet_diag filter "dport is one of ports" into
 * buf; returns its length, or 0 if it does not fit (pure, for tests) */
size_t	sockdiag_bytecode(const uint16_t *ports, size_t n, void *buf,
	    size_t len);

#endif
