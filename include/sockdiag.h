/*
 * sockdiag - the kernel's own list of live SMTP client sockets, through a
 * NETLINK_SOCK_DIAG dump filtered in the kernel by destination port and
 * state (SYN_SENT, ESTABLISHED).  The kernel path counts an account's
 * concurrent connections with it: exact whatever UID, auto account or
 * path opened them, and no state of ours can drift from the truth.
 */
#ifndef MAILGOV_SOCKDIAG_H
#define MAILGOV_SOCKDIAG_H

#include <stddef.h>
#include <stdint.h>

#define SOCKDIAG_MAX_PORTS	24	/* ports one dump can filter on */

struct sockdiag_sock {
	uint8_t		family;		/* AF_INET or AF_INET6 */
	uint8_t		saddr[16];	/* IPv4 in the first 4 bytes */
	uint16_t	sport;		/* host order */
	uint16_t	dport;
	uint32_t	uid;
};

struct sockdiag;

/* sockdiag_new - open the netlink socket; NULL on failure (logged) */
struct sockdiag *sockdiag_new(void);
void	sockdiag_free(struct sockdiag *);

/*
 * sockdiag_each - call fn for each IPv4 and IPv6 TCP socket in SYN_SENT
 * or ESTABLISHED whose destination port is one of ports[0..n).  Returns
 * the number of sockets seen, or -1 if the kernel could not be asked.
 */
int64_t	sockdiag_each(struct sockdiag *, const uint16_t *ports, size_t n,
	    void (*fn)(const struct sockdiag_sock *, void *), void *arg);

/* sockdiag_bytecode - the inet_diag filter "dport is one of ports" into
 * buf; returns its length, or 0 if it does not fit (pure, for tests) */
size_t	sockdiag_bytecode(const uint16_t *ports, size_t n, void *buf,
	    size_t len);

#endif
