/*
 * sockdiag - live TCP client sockets by destination port (sockdiag.h).
 *
 * One dump per address family.  The kernel runs our bytecode on every
 * socket and sends only those with a matching destination port, so a
 * server with 100k web sockets still answers a few messages: the cost
 * scales with the SMTP connections, not the whole socket table.
 *
 * Trusts the kernel's messages as far as libmnl's bounds checks go.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
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
	struct walk *w = data;
	const struct inet_diag_msg *m;
	struct sockdiag_sock s;

	if (nlh->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(*m))
		return MNL_CB_OK;
	m = mnl_nlmsg_get_payload(nlh);
	memset(&s, 0, sizeof(s));
	s.family = m->idiag_family;
	memcpy(s.saddr, m->id.idiag_src, m->idiag_family == AF_INET ? 4 : 16);
	s.sport = ntohs(m->id.idiag_sport);
	s.dport = ntohs(m->id.idiag_dport);
	s.uid = m->idiag_uid;
	w->n++;
	w->fn(&s, w->arg);
	return MNL_CB_OK;
}

/* dump - one family's dump, filtered by bytecode bc */
static int
dump(struct sockdiag *d, int family, const void *bc, size_t bclen,
    struct walk *w)
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
	r->idiag_states = (1u << TCP_SYN_SENT) | (1u << TCP_ESTABLISHED);
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
    void (*fn)(const struct sockdiag_sock *, void *), void *arg)
{
	struct inet_diag_bc_op bc[SOCKDIAG_MAX_PORTS * 3];
	struct walk w = { fn, arg, 0 };
	size_t bclen;

	if (d == NULL || (bclen = sockdiag_bytecode(ports, n, bc,
	    sizeof(bc))) == 0)
		return -1;
	if (dump(d, AF_INET, bc, bclen, &w) == -1 ||
	    dump(d, AF_INET6, bc, bclen, &w) == -1) {
		log_warn("sockdiag: dump");
		return -1;
	}
	return w.n;
}
