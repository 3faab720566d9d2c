/*
 * nfq - the NFQUEUE end of the kernel path, over libnetfilter_queue's
 * libmnl API.  Binds one queue (copying only the first bytes of each
 * packet, with GSO, UID/GID and fail-open), reads queued SYNs from the
 * event loop, asks a handler for each one and answers every packet with
 * NF_ACCEPT, batched.  Packets it cannot parse, and packets met on any
 * internal error, are accepted with their mark untouched: the nat rules
 * then redirect them to the queue instance, which is the safe outcome.
 *
 * Trusts: the kernel's netlink framing as far as libmnl validates it;
 * nothing in the packet bytes (parsed by nfq_parse_packet, bounded).
 */
#ifndef MAILGOV_NFQ_H
#define MAILGOV_NFQ_H

#include <stddef.h>
#include <stdint.h>

#include "loop.h"

#define NFQ_COPY_RANGE	128	/* bytes copied: IP + options + TCP header */

/* Why a packet was not parsed; each kind is logged once. */
enum nfq_pkt_err {
	NFQ_PKT_OK = 0,
	NFQ_PKT_TRUNCATED,	/* shorter than its headers say */
	NFQ_PKT_VERSION,	/* neither IPv4 nor IPv6 */
	NFQ_PKT_HDRLEN,		/* impossible header length */
	NFQ_PKT_FRAGMENT,	/* a non-first fragment */
	NFQ_PKT_NOT_TCP,	/* another protocol (or ESP, or no next) */
	NFQ_PKT_V6_EXT,		/* too many IPv6 extension headers */
	NFQ_PKT_NOT_SYN,	/* TCP, but not a connection's first SYN */
	NFQ_PKT_NOMETA,		/* no packet header or payload attribute */
	NFQ_PKT_KINDS
};

/* One queued packet: the kernel's metadata and the parsed headers. */
struct nfq_pkt {
	uint32_t	id;
	uint32_t	mark;		/* the packet's mark (0 if none) */
	int		has_uid, has_gid;
	uint32_t	uid, gid;
	uint8_t		family;		/* AF_INET or AF_INET6 */
	uint8_t		saddr[16], daddr[16];	/* IPv4 in the first 4 */
	uint16_t	sport, dport;	/* host order */
	uint8_t		tcp_flags;
};

/*
 * nfq_parse_packet - parse an IPv4 or IPv6 packet's network and TCP
 * headers from the len bytes at p into out (family, addresses, ports,
 * flags).  IPv6 hop-by-hop, routing, destination-options, fragment and
 * AH headers are skipped (at most 8 of them).  Pure and bounded: reads
 * no byte past p + len.  Returns NFQ_PKT_OK or the reason.
 */
enum nfq_pkt_err nfq_parse_packet(const uint8_t *p, size_t len,
	    struct nfq_pkt *out);
const char *nfq_pkt_err_name(enum nfq_pkt_err);

/*
 * A handler decides one connection-opening SYN.  It returns 1 with the
 * packet's new mark in *mark, or 0 to accept the packet unchanged.
 */
typedef int (*nfq_handler)(const struct nfq_pkt *, uint32_t *mark, void *);

struct nfq;

struct nfq_stats {
	uint64_t	packets;	/* received */
	uint64_t	handled;	/* given to the handler */
	uint64_t	odd;		/* accepted unparsed */
	uint64_t	errors;		/* netlink errors seen */
};

/*
 * nfq_queue_open - bind queue queue_num (needs CAP_NET_ADMIN).  On failure
 * returns NULL and writes one line into err naming the cause: the queue
 * bound by another process, no nfnetlink_queue in the kernel, no
 * permission.
 */
struct nfq *nfq_queue_open(uint16_t queue_num, uint32_t queue_maxlen,
	    char *err, size_t errlen);
/* nfq_queue_start - make the socket non-blocking and serve it from the loop */
int	nfq_queue_start(struct nfq *, struct loop *, nfq_handler,
	    void *arg);
void	nfq_queue_close(struct nfq *);
const struct nfq_stats *nfq_queue_stats(const struct nfq *);

#endif
