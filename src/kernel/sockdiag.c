/*
 * sockdiag - TCP client sockets by destination port (sockdiag.h).
 *
 * One dump per address family.  The kernel runs our bytecode on every
 * socket and sends only those with a matching destination port, so a
 * server with 100k web sockets still answers a few messages: the cost
 * scales with the SMTP connections, not the whole socket table.
 *
 * The watch is a second netlink socket in the TCP destroy groups, with a
 * classic BPF filter on the destination port so that the web server's
 * own connections never wake the daemon.
 *
 * Trusts the kernel's messages as far as libmnl's bounds checks go.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <linux/filter.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>

#include "log.h"
#include "sockdiag.h"

struct sockdiag {
	struct mnl_socket	*nl;
	uint32_t		 portid;
	unsigned		 seq;
	char			*buf;
	size_t			 buflen;
};

_Static_assert(SOCKDIAG_ESTABLISHED == 1u << TCP_ESTABLISHED &&
    SOCKDIAG_SYN_SENT == 1u << TCP_SYN_SENT &&
    SOCKDIAG_OPEN == ((1u << TCP_ESTABLISHED) | (1u << TCP_SYN_SENT) |
    (1u << TCP_FIN_WAIT1) | (1u << TCP_FIN_WAIT2) | (1u << TCP_CLOSE_WAIT) |
    (1u << TCP_LAST_ACK) | (1u << TCP_CLOSING)), "TCP state numbering");

struct sockdiag_watch {
	struct mnl_socket	*nl;
	char			*buf;
	size_t			 buflen;
};

/* where the destination port sits in a destroy message */
#define DPORT_OFF	(NLMSG_HDRLEN + offsetof(struct inet_diag_msg, \
	id.idiag_dport))
#define WATCH_RCVBUF	(4 << 20)	/* destroy messages queued at most */

struct walk {
	void		(*fn)(const struct sockdiag_sock *, void *);
	void		*arg;
	int64_t		 n;
};

/* sockdiag_new - the socket, kept for the daemon's life */
struct sockdiag *
sockdiag_new(void)
{
	struct sockdiag *d;

	if ((d = calloc(1, sizeof(*d))) == NULL) {
		log_warn("sockdiag");
		return NULL;
	}
	d->buflen = MNL_SOCKET_BUFFER_SIZE * 4;
	if ((d->buf = malloc(d->buflen)) == NULL ||
	    (d->nl = mnl_socket_open2(NETLINK_SOCK_DIAG, SOCK_CLOEXEC)) ==
	    NULL || mnl_socket_bind(d->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		log_warn("sockdiag: netlink sock_diag socket");
		sockdiag_free(d);
		return NULL;
	}
	d->portid = mnl_socket_get_portid(d->nl);
	return d;
}

/* sockdiag_free - close the socket */
void
sockdiag_free(struct sockdiag *d)
{
	if (d == NULL)
		return;
	if (d->nl != NULL)
		mnl_socket_close(d->nl);
	free(d->buf);
	free(d);
}

/*
 * sockdiag_bytecode - "dport == p0 || dport == p1 || ...", laid out as
 * ss(8) compiles an OR.  The kernel walks the ops by their yes/no
 * offsets and keeps the socket when it lands exactly on the end; its
 * audit wants every jump target on the chain of "yes" offsets, so each
 * test is followed by a JMP that a match falls into (JMP always takes
 * "no": to the end) and a miss steps over:
 *   D_EQ{yes 8, no 12} port JMP{yes 4, no to end} D_EQ ... D_EQ port
 * The last miss jumps 4 bytes past the end, which rejects.
 */
size_t
sockdiag_bytecode(const uint16_t *ports, size_t n, void *buf, size_t len)
{
	struct inet_diag_bc_op *op = buf;
	size_t total = n * 12 - 4, i, k = 0;

	if (n == 0 || n > SOCKDIAG_MAX_PORTS || total > len)
		return 0;
	for (i = 0; i < n; i++) {
		op[k].code = INET_DIAG_BC_D_EQ;
		op[k].yes = 8;
		op[k].no = 12;
		k++;
		op[k].code = INET_DIAG_BC_NOP;
		op[k].yes = 0;
		op[k].no = ports[i];
		k++;
		if (i + 1 == n)
			break;
		op[k].code = INET_DIAG_BC_JMP;
		op[k].yes = 4;
		op[k].no = (unsigned short)(total - k * sizeof(*op));
		k++;
	}
	return total;
}

/* each_cb - one inet_diag_msg: hand the socket to the caller */
static int
each_cb(const struct nlmsghdr *nlh, void *data)
{
	static const uint8_t v4mapped[12] =
	    { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	struct walk *w = data;
	const struct inet_diag_msg *m;
	struct sockdiag_sock s;

	if (nlh->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(*m))
		return MNL_CB_OK;
	m = mnl_nlmsg_get_payload(nlh);
	memset(&s, 0, sizeof(s));
	s.family = m->idiag_family;
	s.state = m->idiag_state;
	memcpy(s.saddr, m->id.idiag_src, m->idiag_family == AF_INET ? 4 : 16);
	memcpy(s.daddr, m->id.idiag_dst, m->idiag_family == AF_INET ? 4 : 16);
	/* an IPv6 socket talking IPv4 sends IPv4 SYNs: key it as IPv4,
	 * as the flow table does */
	if (s.family == AF_INET6 && memcmp(s.saddr, v4mapped, 12) == 0 &&
	    memcmp(s.daddr, v4mapped, 12) == 0) {
		s.family = AF_INET;
		memmove(s.saddr, s.saddr + 12, 4);
		memset(s.saddr + 4, 0, 12);
		memmove(s.daddr, s.daddr + 12, 4);
		memset(s.daddr + 4, 0, 12);
	}
	s.sport = ntohs(m->id.idiag_sport);
	s.dport = ntohs(m->id.idiag_dport);
	s.uid = m->idiag_uid;
	w->n++;
	w->fn(&s, w->arg);
	return MNL_CB_OK;
}

/* dump - one family's dump, filtered by bytecode bc */
static int
dump(struct sockdiag *d, int family, uint32_t states, const void *bc,
    size_t bclen, struct walk *w)
{
	char req[MNL_SOCKET_BUFFER_SIZE];
	struct inet_diag_req_v2 *r;
	struct nlmsghdr *nlh;
	ssize_t n;
	int rc;

	nlh = mnl_nlmsg_put_header(req);
	nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = ++d->seq;
	r = mnl_nlmsg_put_extra_header(nlh, sizeof(*r));
	r->sdiag_family = (uint8_t)family;
	r->sdiag_protocol = IPPROTO_TCP;
	r->idiag_states = states;
	mnl_attr_put(nlh, INET_DIAG_REQ_BYTECODE, bclen, bc);
	if (mnl_socket_sendto(d->nl, nlh, nlh->nlmsg_len) < 0)
		return -1;
	for (;;) {
		n = mnl_socket_recvfrom(d->nl, d->buf, d->buflen);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		rc = mnl_cb_run(d->buf, (size_t)n, d->seq, d->portid, each_cb,
		    w);
		if (rc == MNL_CB_ERROR)
			return -1;
		if (rc == MNL_CB_STOP)
			return 0;
	}
}

/* sockdiag_each - both families' matching sockets */
int64_t
sockdiag_each(struct sockdiag *d, const uint16_t *ports, size_t n,
    uint32_t states, void (*fn)(const struct sockdiag_sock *, void *),
    void *arg)
{
	struct inet_diag_bc_op bc[SOCKDIAG_MAX_PORTS * 3];
	struct walk w = { fn, arg, 0 };
	size_t bclen;

	if (d == NULL || (bclen = sockdiag_bytecode(ports, n, bc,
	    sizeof(bc))) == 0)
		return -1;
	if (dump(d, AF_INET, states, bc, bclen, &w) == -1 ||
	    dump(d, AF_INET6, states, bc, bclen, &w) == -1) {
		log_warn("sockdiag: dump");
		return -1;
	}
	return w.n;
}

/*
 * sockdiag_filter - "accept the message when the u16 at DPORT_OFF is one
 * of ports": ldh, one jeq per port (a match jumps to the accept at the
 * end), drop, accept.  BPF loads in network order, as the port is sent.
 */
size_t
sockdiag_filter(const uint16_t *ports, size_t n, void *prog, size_t max)
{
	struct sock_filter *f = prog;
	size_t i, len = n + 3;

	if (n == 0 || n > SOCKDIAG_MAX_PORTS || len > max)
		return 0;
	f[0] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_H | BPF_ABS,
	    DPORT_OFF);
	for (i = 0; i < n; i++)
		f[1 + i] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ |
		    BPF_K, ports[i], (uint8_t)(n - i), 0);
	f[n + 1] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, 0);
	f[n + 2] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, 0xffff);
	return len;
}

/* sockdiag_watch_new - join the TCP destroy groups, filtered by port */
struct sockdiag_watch *
sockdiag_watch_new(const uint16_t *ports, size_t n)
{
	struct sock_filter prog[SOCKDIAG_MAX_PORTS + 3];
	struct sock_fprog fp;
	struct sockdiag_watch *w;
	int fd, g, rcv = WATCH_RCVBUF;

	if ((w = calloc(1, sizeof(*w))) == NULL) {
		log_warn("sockdiag watch");
		return NULL;
	}
	w->buflen = MNL_SOCKET_BUFFER_SIZE * 4;
	fp.len = (unsigned short)sockdiag_filter(ports, n, prog,
	    sizeof(prog) / sizeof(prog[0]));
	fp.filter = prog;
	if (fp.len == 0 || (w->buf = malloc(w->buflen)) == NULL ||
	    (w->nl = mnl_socket_open2(NETLINK_SOCK_DIAG, SOCK_CLOEXEC |
	    SOCK_NONBLOCK)) == NULL ||
	    mnl_socket_bind(w->nl, 0, MNL_SOCKET_AUTOPID) < 0)
		goto fail;
	fd = mnl_socket_get_fd(w->nl);
	/* the filter first: nothing unfiltered is ever queued */
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &fp,
	    sizeof(fp)) == -1)
		goto fail;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv,
	    sizeof(rcv)) == -1)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv,
		    sizeof(rcv));
	g = SKNLGRP_INET_TCP_DESTROY;
	if (setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &g,
	    sizeof(g)) == -1)
		goto fail;
	g = SKNLGRP_INET6_TCP_DESTROY;
	if (setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &g,
	    sizeof(g)) == -1)
		goto fail;
	return w;
fail:
	log_warn("sockdiag: the TCP destroy groups");
	sockdiag_watch_free(w);
	return NULL;
}

/* sockdiag_watch_free - leave the groups */
void
sockdiag_watch_free(struct sockdiag_watch *w)
{
	if (w == NULL)
		return;
	if (w->nl != NULL)
		mnl_socket_close(w->nl);
	free(w->buf);
	free(w);
}

/* sockdiag_watch_fd - for the event loop */
int
sockdiag_watch_fd(const struct sockdiag_watch *w)
{
	return mnl_socket_get_fd(w->nl);
}

/* sockdiag_watch_read - every queued destroy message */
int64_t
sockdiag_watch_read(struct sockdiag_watch *w,
    void (*fn)(const struct sockdiag_sock *, void *), void *arg)
{
	struct walk wk = { fn, arg, 0 };
	ssize_t n;

	for (;;) {
		n = recv(mnl_socket_get_fd(w->nl), w->buf, w->buflen,
		    MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return wk.n;
			return -1;	/* ENOBUFS: some were lost */
		}
		if (n == 0)
			return wk.n;
		/* multicast: no sequence or port to check */
		if (mnl_cb_run(w->buf, (size_t)n, 0, 0, each_cb, &wk) ==
		    MNL_CB_ERROR)
			return -1;
	}
}
