/*
 * nfq - the NFQUEUE end of the kernel path (see nfq.h).
 *
 * Netfilter's rule: every queued packet must get a verdict, or it sits in
 * the kernel until the queue fills.  So the packet path here has no early
 * return that skips the verdict: an unparsable packet, a handler that
 * cannot decide, a full verdict batch all end in NF_ACCEPT, and a plain
 * NF_ACCEPT (mark untouched) means "redirect to the queue instance".
 *
 * The queue is configured with one NFQA_CFG_FLAGS attribute holding GSO,
 * UID_GID and FAIL_OPEN and the same value as NFQA_CFG_MASK: without GSO
 * the kernel segments first and only one segment carries the UID; without
 * FAIL_OPEN a full queue drops SYNs instead of accepting them.
 *
 * Trusts: nothing in the packet bytes; the netlink messages are walked
 * with libmnl's bounds checks and attributes validated by
 * nfq_nlmsg_parse().
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/epoll.h>
#include <sys/time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

#include "log.h"
#include "nfq.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK	270
#endif

#define NFQ_RECV_MAX	256	/* datagrams read per wakeup */
#define NFQ_BATCH	MNL_SOCKET_BUFFER_SIZE	/* verdict bytes per send */
#define NFQ_PROC	"/proc/net/netfilter/nfnetlink_queue"

struct nfq {
	struct mnl_socket	*nl;
	uint32_t		 portid;
	uint16_t		 queue_num;
	unsigned		 seq;
	nfq_handler		 handler;	/* NULL: accept everything */
	void			*arg;
	char			*rbuf;
	size_t			 rlen;
	char			*bbuf;
	struct mnl_nlmsg_batch	*batch;
	unsigned		 logged;	/* nfq_pkt_err kinds logged */
	int			 last_errno;	/* last netlink error logged */
	struct nfq_stats	 st;
};

static const char *pkt_err_names[NFQ_PKT_KINDS] = {
	[NFQ_PKT_OK] = "ok",
	[NFQ_PKT_TRUNCATED] = "truncated",
	[NFQ_PKT_VERSION] = "not-ip",
	[NFQ_PKT_HDRLEN] = "bad-header-length",
	[NFQ_PKT_FRAGMENT] = "fragment",
	[NFQ_PKT_NOT_TCP] = "not-tcp",
	[NFQ_PKT_V6_EXT] = "ipv6-extension-chain",
	[NFQ_PKT_NOT_SYN] = "not-syn",
	[NFQ_PKT_NOMETA] = "no-metadata",
};

/* nfq_pkt_err_name - a stable name for a parse outcome */
const char *
nfq_pkt_err_name(enum nfq_pkt_err e)
{
	if ((unsigned)e >= NFQ_PKT_KINDS)
		return "unknown";
	return pkt_err_names[e];
}

/* be16 - read a big-endian 16-bit value */
static uint16_t
be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* nfq_parse_packet - IP and TCP headers of a copied packet prefix */
enum nfq_pkt_err
nfq_parse_packet(const uint8_t *p, size_t len, struct nfq_pkt *out)
{
	size_t l4, ext;
	unsigned nh, i;

	out->family = 0;
	memset(out->saddr, 0, sizeof(out->saddr));
	memset(out->daddr, 0, sizeof(out->daddr));
	out->sport = out->dport = 0;
	out->tcp_flags = 0;
	if (p == NULL || len < 1)
		return NFQ_PKT_TRUNCATED;
	switch (p[0] >> 4) {
	case 4:
		if (len < 20)
			return NFQ_PKT_TRUNCATED;
		l4 = (size_t)(p[0] & 0x0f) * 4;
		if (l4 < 20)
			return NFQ_PKT_HDRLEN;
		if (len < l4)
			return NFQ_PKT_TRUNCATED;
		/* total length 0 is legal for BIG TCP; below ihl is not */
		if (be16(p + 2) != 0 && be16(p + 2) < l4)
			return NFQ_PKT_HDRLEN;
		if ((be16(p + 6) & 0x1fff) != 0)
			return NFQ_PKT_FRAGMENT;
		if (p[9] != 6)
			return NFQ_PKT_NOT_TCP;
		out->family = 4;
		memcpy(out->saddr, p + 12, 4);
		memcpy(out->daddr, p + 16, 4);
		break;
	case 6:
		if (len < 40)
			return NFQ_PKT_TRUNCATED;
		nh = p[6];
		l4 = 40;
		for (i = 0; nh != 6; i++) {
			if (i == 8)
				return NFQ_PKT_V6_EXT;
			switch (nh) {
			case 0:		/* hop-by-hop options */
			case 43:	/* routing */
			case 60:	/* destination options */
				if (len < l4 + 2)
					return NFQ_PKT_TRUNCATED;
				ext = ((size_t)p[l4 + 1] + 1) * 8;
				break;
			case 44:	/* fragment */
				if (len < l4 + 8)
					return NFQ_PKT_TRUNCATED;
				if ((be16(p + l4 + 2) & 0xfff8) != 0)
					return NFQ_PKT_FRAGMENT;
				ext = 8;
				break;
			case 51:	/* authentication header */
				if (len < l4 + 2)
					return NFQ_PKT_TRUNCATED;
				ext = ((size_t)p[l4 + 1] + 2) * 4;
				break;
			default:	/* ESP, no next header, UDP, ... */
				return NFQ_PKT_NOT_TCP;
			}
			nh = p[l4];
			l4 += ext;
		}
		out->family = 6;
		memcpy(out->saddr, p + 8, 16);
		memcpy(out->daddr, p + 24, 16);
		break;
	default:
		return NFQ_PKT_VERSION;
	}
	if (len < l4 + 20 || l4 + 20 < l4) {
		out->family = 0;
		return NFQ_PKT_TRUNCATED;
	}
	if ((p[l4 + 12] >> 4) < 5) {
		out->family = 0;
		return NFQ_PKT_HDRLEN;
	}
	out->sport = be16(p + l4);
	out->dport = be16(p + l4 + 2);
	out->tcp_flags = p[l4 + 13];
	/* family as AF_* for the callers; 4/6 above kept the code short */
	out->family = out->family == 4 ? AF_INET : AF_INET6;
	return NFQ_PKT_OK;
}

/* flush - send the verdicts gathered so far in one sendto() */
static void
flush(struct nfq *q)
{
	size_t len = mnl_nlmsg_batch_size(q->batch);

	if (len > 0 && mnl_socket_sendto(q->nl,
	    mnl_nlmsg_batch_head(q->batch), len) < 0) {
		q->st.errors++;
		log_warn("nfq: sending %zu bytes of verdicts", len);
	}
	mnl_nlmsg_batch_reset(q->batch);
}

/* verdict - queue NF_ACCEPT for id, with a new mark if setmark */
static void
verdict(struct nfq *q, uint32_t id, int setmark, uint32_t mark)
{
	struct nlmsghdr *nlh;

	nlh = nfq_nlmsg_put(mnl_nlmsg_batch_current(q->batch),
	    NFQNL_MSG_VERDICT, q->queue_num);
	nfq_nlmsg_verdict_put(nlh, (int)id, NF_ACCEPT);
	if (setmark)
		nfq_nlmsg_verdict_put_mark(nlh, mark);
	/* false: this one did not fit; flush the rest, it moves first */
	if (!mnl_nlmsg_batch_next(q->batch))
		flush(q);
}

/* odd - note an unparsable packet; each kind is logged once */
static void
odd(struct nfq *q, enum nfq_pkt_err e)
{
	q->st.odd++;
	if (q->logged & (1u << e))
		return;
	q->logged |= 1u << e;
	log_warnx("nfq: queue %u: accepting a %s packet unchanged "
	    "(logged once per kind)", q->queue_num, nfq_pkt_err_name(e));
}

/* on_packet - one NFQNL_MSG_PACKET: decide and queue its verdict */
static void
on_packet(struct nfq *q, const struct nlmsghdr *nlh)
{
	struct nlattr *attr[NFQA_MAX + 1];
	struct nfqnl_msg_packet_hdr *ph;
	struct nfq_pkt pkt;
	enum nfq_pkt_err e;
	uint32_t mark = 0;
	int ok, setmark = 0;

	memset(attr, 0, sizeof(attr));
	ok = nfq_nlmsg_parse(nlh, attr) >= 0;
	q->st.packets++;
	if (attr[NFQA_PACKET_HDR] == NULL ||
	    mnl_attr_get_payload_len(attr[NFQA_PACKET_HDR]) < sizeof(*ph)) {
		/* No id, so no verdict is possible; the kernel says it
		 * always sends one, so this is a broken message. */
		odd(q, NFQ_PKT_NOMETA);
		return;
	}
	ph = mnl_attr_get_payload(attr[NFQA_PACKET_HDR]);
	memset(&pkt, 0, sizeof(pkt));
	pkt.id = ntohl(ph->packet_id);
	if (!ok || attr[NFQA_PAYLOAD] == NULL) {
		odd(q, NFQ_PKT_NOMETA);
		goto accept;
	}
	if (attr[NFQA_MARK] != NULL)
		pkt.mark = ntohl(mnl_attr_get_u32(attr[NFQA_MARK]));
	if (attr[NFQA_UID] != NULL) {
		pkt.has_uid = 1;
		pkt.uid = ntohl(mnl_attr_get_u32(attr[NFQA_UID]));
	}
	if (attr[NFQA_GID] != NULL) {
		pkt.has_gid = 1;
		pkt.gid = ntohl(mnl_attr_get_u32(attr[NFQA_GID]));
	}
	e = nfq_parse_packet(mnl_attr_get_payload(attr[NFQA_PAYLOAD]),
	    mnl_attr_get_payload_len(attr[NFQA_PAYLOAD]), &pkt);
	/* Only a connection's first SYN is ours to decide. */
	if (e == NFQ_PKT_OK && ((pkt.tcp_flags & 0x02) == 0 ||
	    (pkt.tcp_flags & 0x10) != 0))
		e = NFQ_PKT_NOT_SYN;
	if (e != NFQ_PKT_OK) {
		odd(q, e);
		goto accept;
	}
	if (q->handler != NULL) {
		q->st.handled++;
		mark = pkt.mark;
		setmark = q->handler(&pkt, &mark, q->arg) == 1;
	}
accept:
	verdict(q, pkt.id, setmark, mark);
}

/* walk - handle every message in a datagram; returns the errno of an
 * ack with sequence number seq (0 if it was a success), or -1 if none */
static int
walk(struct nfq *q, const char *buf, int n, unsigned seq)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
	const struct nlmsgerr *e;
	int ack = -1;

	for (; mnl_nlmsg_ok(nlh, n); nlh = mnl_nlmsg_next(nlh, &n)) {
		if (nlh->nlmsg_type == NLMSG_ERROR) {
			if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e)))
				continue;
			e = mnl_nlmsg_get_payload(nlh);
			if (seq != 0 && nlh->nlmsg_seq == seq) {
				ack = -e->error;
				continue;
			}
			if (e->error == 0)
				continue;
			/* A verdict the kernel refused; typically the
			 * packet is gone already.  Log each new errno. */
			q->st.errors++;
			if (q->last_errno != -e->error) {
				q->last_errno = -e->error;
				log_warnx("nfq: kernel refused a verdict: %s",
				    strerror(-e->error));
			}
			continue;
		}
		if (nlh->nlmsg_type < NLMSG_MIN_TYPE)
			continue;
		if ((nlh->nlmsg_type & 0xff) == NFQNL_MSG_PACKET &&
		    (nlh->nlmsg_type >> 8) == NFNL_SUBSYS_QUEUE)
			on_packet(q, nlh);
	}
	return ack;
}

/* queue_owner - the netlink port bound to queue num per /proc, or 0 */
static uint32_t
queue_owner(uint16_t num)
{
	unsigned qn, portid;
	char line[256];
	uint32_t owner = 0;
	FILE *fp;

	if ((fp = fopen(NFQ_PROC, "r")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (sscanf(line, "%u %u", &qn, &portid) == 2 && qn == num)
			owner = portid;
	fclose(fp);
	return owner;
}

/* config - send one NFQNL_MSG_CONFIG message and wait for its ack */
static int
config(struct nfq *q, struct nlmsghdr *nlh)
{
	int n, r;

	nlh->nlmsg_flags |= NLM_F_ACK;
	nlh->nlmsg_seq = ++q->seq;
	if (mnl_socket_sendto(q->nl, nlh, nlh->nlmsg_len) < 0)
		return errno;
	for (;;) {
		n = (int)mnl_socket_recvfrom(q->nl, q->rbuf, q->rlen);
		if (n < 0) {
			if (errno == EINTR || errno == ENOBUFS)
				continue;
			return errno;
		}
		/* Packets may already arrive: walk() accepts them. */
		r = walk(q, q->rbuf, n, q->seq);
		flush(q);
		if (r != -1)
			return r;
	}
}

/* nfq_queue_open - bind the queue and configure it */
struct nfq *
nfq_queue_open(uint16_t queue_num, uint32_t queue_maxlen, char *err,
    size_t errlen)
{
	char cbuf[MNL_SOCKET_BUFFER_SIZE];
	const uint32_t flags = NFQA_CFG_F_GSO | NFQA_CFG_F_UID_GID |
	    NFQA_CFG_F_FAIL_OPEN;
	struct timeval tv = { 5, 0 };
	struct nlmsghdr *nlh;
	struct nfq *q;
	uint32_t owner;
	uint64_t want;
	int one = 1, rcv, r;

	if ((q = calloc(1, sizeof(*q))) == NULL) {
		snprintf(err, errlen, "nfq: %s", strerror(errno));
		return NULL;
	}
	q->queue_num = queue_num;
	/* One packet with GSO can be 64k; the copy range keeps most far
	 * smaller, but a receive must never be cut. */
	q->rlen = 0xffff + MNL_SOCKET_BUFFER_SIZE / 2;
	q->rbuf = malloc(q->rlen);
	q->bbuf = malloc(NFQ_BATCH * 2);
	if (q->rbuf == NULL || q->bbuf == NULL) {
		snprintf(err, errlen, "nfq: %s", strerror(errno));
		goto fail;
	}
	q->batch = mnl_nlmsg_batch_start(q->bbuf, NFQ_BATCH);
	if ((q->nl = mnl_socket_open(NETLINK_NETFILTER)) == NULL) {
		snprintf(err, errlen, "nfq: netlink socket: %s%s",
		    strerror(errno), errno == EPROTONOSUPPORT ?
		    " (kernel without nfnetlink)" : "");
		goto fail;
	}
	if (mnl_socket_bind(q->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		snprintf(err, errlen, "nfq: netlink bind: %s",
		    strerror(errno));
		goto fail;
	}
	q->portid = mnl_socket_get_portid(q->nl);
	/* Losing a packet message is better than losing the socket:
	 * fail-open already covers a queue the daemon cannot drain. */
	(void)setsockopt(mnl_socket_get_fd(q->nl), SOL_NETLINK,
	    NETLINK_NO_ENOBUFS, &one, sizeof(one));
	/* Each queued packet costs about 1 kB of socket buffer (message,
	 * 128 copied bytes, skb overhead); leave room for queue_maxlen. */
	want = (uint64_t)queue_maxlen * 1024;
	if (want < q->rlen)
		want = q->rlen;
	if (want > 64u << 20)
		want = 64u << 20;
	rcv = (int)want;
	if (setsockopt(mnl_socket_get_fd(q->nl), SOL_SOCKET, SO_RCVBUFFORCE,
	    &rcv, sizeof(rcv)) == -1)
		(void)setsockopt(mnl_socket_get_fd(q->nl), SOL_SOCKET,
		    SO_RCVBUF, &rcv, sizeof(rcv));
	/* Start-up only: never wait forever for an ack. */
	(void)setsockopt(mnl_socket_get_fd(q->nl), SOL_SOCKET, SO_RCVTIMEO,
	    &tv, sizeof(tv));

	nlh = nfq_nlmsg_put(cbuf, NFQNL_MSG_CONFIG, queue_num);
	nfq_nlmsg_cfg_put_cmd(nlh, AF_INET, NFQNL_CFG_CMD_BIND);
	if ((r = config(q, nlh)) != 0) {
		owner = queue_owner(queue_num);
		if ((r == EPERM || r == EBUSY) && owner != 0 &&
		    owner != q->portid)
			snprintf(err, errlen, "NFQUEUE %u is already bound by "
			    "another process (netlink port %u)", queue_num,
			    owner);
		else if (r == EPERM)
			snprintf(err, errlen, "cannot bind NFQUEUE %u: %s "
			    "(CAP_NET_ADMIN needed)", queue_num, strerror(r));
		else if (access(NFQ_PROC, F_OK) != 0)
			snprintf(err, errlen, "cannot bind NFQUEUE %u: %s: the "
			    "kernel has no nfnetlink_queue (CONFIG_NETFILTER_"
			    "NETLINK_QUEUE; try modprobe nfnetlink_queue)",
			    queue_num, strerror(r));
		else
			snprintf(err, errlen, "cannot bind NFQUEUE %u: %s",
			    queue_num, strerror(r));
		goto fail;
	}

	nlh = nfq_nlmsg_put(cbuf, NFQNL_MSG_CONFIG, queue_num);
	nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, NFQ_COPY_RANGE);
	nfq_nlmsg_cfg_put_qmaxlen(nlh, queue_maxlen);
	mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(flags));
	mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(flags));
	if ((r = config(q, nlh)) != 0) {
		snprintf(err, errlen, "cannot configure NFQUEUE %u: %s%s",
		    queue_num, strerror(r), r == EOPNOTSUPP ? " (the kernel "
		    "lacks NFQUEUE GSO, UID/GID or fail-open support)" : "");
		goto fail;
	}
	return q;
fail:
	nfq_queue_close(q);
	return NULL;
}

/* on_readable - drain what the kernel queued, then send the verdicts */
static void
on_readable(int fd, uint32_t events, void *arg)
{
	struct nfq *q = arg;
	ssize_t n;
	int i;

	(void)events;
	for (i = 0; i < NFQ_RECV_MAX; i++) {
		n = recv(fd, q->rbuf, q->rlen, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR || errno == ENOBUFS)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				q->st.errors++;
				log_warn("nfq: recv");
			}
			break;
		}
		if (n == 0)
			break;
		(void)walk(q, q->rbuf, (int)n, 0);
	}
	flush(q);
}

/* nfq_queue_start - serve the queue from the loop through handler */
int
nfq_queue_start(struct nfq *q, struct loop *l, nfq_handler handler, void *arg)
{
	int fd = mnl_socket_get_fd(q->nl), fl;

	q->handler = handler;
	q->arg = arg;
	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1) {
		log_warn("nfq: fcntl");
		return -1;
	}
	if (loop_add(l, fd, EPOLLIN, on_readable, q) == -1) {
		log_warn("nfq: loop_add");
		return -1;
	}
	return 0;
}

/* nfq_queue_close - unbind by closing: the kernel drops the queue */
void
nfq_queue_close(struct nfq *q)
{
	if (q == NULL)
		return;
	if (q->nl != NULL)
		mnl_socket_close(q->nl);
	if (q->batch != NULL)
		mnl_nlmsg_batch_stop(q->batch);
	free(q->rbuf);
	free(q->bbuf);
	free(q);
}

/* nfq_stats - counters for the status report */
const struct nfq_stats *
nfq_queue_stats(const struct nfq *q)
{
	return &q->st;
}
