/*
 * identity - who opened the SMTP session the queue instance is serving
 * (see identity.h).  The proof is always the kernel's socket table: the
 * owner of the client's socket, asked of NETLINK_SOCK_DIAG by its exact
 * 4-tuple.  A redirected socket still believes it talks to the original
 * destination, so that tuple comes from conntrack (the entry whose reply
 * direction is the queue instance's view of the session), else from the
 * flow table, else it is the queue's own view (a direct connection).
 * The flow table is an index, never the proof: any UID can bind a source
 * port another UID used.
 *
 * Trusts: the kernel's answers.  Not the address strings, which come from
 * a policy request: they are parsed numerically and nothing else.
 */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <net/if.h>

#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/sock_diag.h>

#include "flow.h"
#include "identity.h"
#include "log.h"

/* One netlink socket, opened on first use and kept: mailgovd is one thread
 * on this path, and opening a socket per lookup costs more than the query. */
static struct mnl_socket *diag_nl;
static unsigned		 diag_seq;

struct diag_answer {
	int		found;
	uint32_t	uid;
	uint64_t	inode;		/* 0 once its owner has closed it */
};

/* parse_addr - numeric v4 or v6 address into family and 16 bytes */
static int
parse_addr(const char *s, int *family, uint8_t out[16])
{
	memset(out, 0, 16);
	if (inet_pton(AF_INET, s, out) == 1) {
		*family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, out) == 1) {
		*family = AF_INET6;
		return 0;
	}
	return -1;
}

/* diag_cb - take idiag_uid from the one inet_diag_msg of the answer */
static int
diag_cb(const struct nlmsghdr *nlh, void *data)
{
	struct diag_answer	*a = data;
	const struct inet_diag_msg *m;

	if (nlh->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(*m))
		return MNL_CB_OK;
	m = mnl_nlmsg_get_payload(nlh);
	a->uid = m->idiag_uid;
	a->inode = m->idiag_inode;
	a->found = 1;
	return MNL_CB_OK;
}

/* diag_open - the netlink socket, opened once */
static struct mnl_socket *
diag_open(void)
{
	if (diag_nl != NULL)
		return diag_nl;
	diag_nl = mnl_socket_open2(NETLINK_SOCK_DIAG, SOCK_CLOEXEC);
	if (diag_nl == NULL) {
		log_warn("identity: netlink sock_diag socket");
		return NULL;
	}
	if (mnl_socket_bind(diag_nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		log_warn("identity: netlink bind");
		mnl_socket_close(diag_nl);
		diag_nl = NULL;
		return NULL;
	}
	/* A lost answer must not stall the loop: bound the wait. */
	{
		struct timeval tv = { 0, 200 * 1000 };

		setsockopt(mnl_socket_get_fd(diag_nl), SOL_SOCKET,
		    SO_RCVTIMEO, &tv, sizeof(tv));
	}
	return diag_nl;
}

/* diag_reset - drop the socket after an error, so the next call reopens */
static void
diag_reset(void)
{
	if (diag_nl != NULL)
		mnl_socket_close(diag_nl);
	diag_nl = NULL;
}

/* what one netlink question came to */
enum nl_result {
	NL_DONE,	/* answered; the callback has what it found */
	NL_ERROR,	/* the kernel said no (errno: ENOENT, no such thing) */
	NL_BROKEN	/* the socket is out of step: reopen it */
};

/* nl_ask - send nlh on nl and run cb over the answer, the wait bounded by
 * the socket's SO_RCVTIMEO */
static enum nl_result
nl_ask(struct mnl_socket *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data,
    const int *found)
{
	char		 buf[MNL_SOCKET_BUFFER_SIZE];
	unsigned	 seq = nlh->nlmsg_seq, portid;
	ssize_t		 n;
	int		 ret;

	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return NL_BROKEN;
	portid = mnl_socket_get_portid(nl);
	for (;;) {
		n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return NL_BROKEN;
		}
		ret = mnl_cb_run(buf, (size_t)n, seq, portid, cb, data);
		if (ret == MNL_CB_ERROR)
			/* ESRCH, EPROTO: a stale answer to an earlier
			 * timed-out question */
			return errno == ESRCH || errno == EPROTO ? NL_BROKEN :
			    NL_ERROR;
		if (*found || ret == MNL_CB_STOP)
			return NL_DONE;
	}
}

/* One TCP connection as the client's socket sees it. */
struct tuple {
	int		family;
	uint8_t		src[16], dst[16];
	uint16_t	sport, dport;
};

/* diag_exact - owner UID and inode of the socket with tuple t, bound to
 * ifindex (0: bound to no device): 0, or -1 when there is none or the
 * kernel did not answer */
static int
diag_exact(const struct tuple *t, uint32_t ifindex, uint32_t *uid,
    uint64_t *inode)
{
	char			 buf[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_socket	*nl;
	struct nlmsghdr		*nlh;
	struct inet_diag_req_v2	*req;
	struct diag_answer	 ans = { 0, 0, 0 };

	if ((nl = diag_open()) == NULL)
		return -1;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
	nlh->nlmsg_flags = NLM_F_REQUEST;	/* one exact socket, no dump */
	nlh->nlmsg_seq = ++diag_seq;
	req = mnl_nlmsg_put_extra_header(nlh, sizeof(*req));
	req->sdiag_family = (uint8_t)t->family;
	req->sdiag_protocol = IPPROTO_TCP;
	req->idiag_states = ~0U;
	req->id.idiag_sport = htons(t->sport);
	req->id.idiag_dport = htons(t->dport);
	memcpy(req->id.idiag_src, t->src, 16);
	memcpy(req->id.idiag_dst, t->dst, 16);
	req->id.idiag_if = ifindex;
	req->id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
	req->id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;

	switch (nl_ask(nl, nlh, diag_cb, &ans, &ans.found)) {
	case NL_BROKEN:
		log_warn("identity: sock_diag");
		diag_reset();
		return -1;
	case NL_ERROR:
		/* ENOENT: no such socket; anything else is worth a line,
		 * but is still just "unknown" */
		if (errno != ENOENT)
			log_warn("identity: sock_diag query");
		return -1;
	case NL_DONE:
		break;
	}
	if (!ans.found)
		return -1;
	*uid = ans.uid;
	*inode = ans.inode;
	return 0;
}

/*
 * diag_owner - owner UID of the socket with tuple t.  The kernel's exact
 * lookup only finds a socket bound to a device (SO_BINDTODEVICE, which
 * needs no privilege) when asked with that device's index, so a miss is
 * asked again for each interface: a web user must not hide its socket
 * that way.
 */
static int
diag_owner(const struct tuple *t, uint32_t *uid, uint64_t *inode)
{
	struct if_nameindex *ifs, *i;
	int rc = -1;

	if (diag_exact(t, 0, uid, inode) == 0)
		return 0;
	if ((ifs = if_nameindex()) == NULL)
		return -1;
	for (i = ifs; rc == -1 && i->if_index != 0; i++)
		rc = diag_exact(t, i->if_index, uid, inode);
	if_freenameindex(ifs);
	return rc;
}

/* identity_sock_diag - owner UID of the TCP socket caddr:cport ->
 * saddr:sport, asked of the kernel with the exact 4-tuple */
int
identity_sock_diag(const char *caddr, uint16_t cport, const char *saddr,
    uint16_t sport, uint32_t *uid)
{
	struct tuple	t;
	uint64_t	inode;
	int		fd;

	if (parse_addr(caddr, &t.family, t.src) < 0 ||
	    parse_addr(saddr, &fd, t.dst) < 0 || t.family != fd)
		return -1;
	t.sport = cport;
	t.dport = sport;
	return diag_owner(&t, uid, &inode);
}

/* identity_inode - the exact lookup alone, with no device (see
 * identity.h) */
int
identity_inode(int family, const uint8_t src[16], uint16_t sport,
    const uint8_t dst[16], uint16_t dport, uint32_t *uid, uint64_t *inode)
{
	struct tuple	t;

	t.family = family;
	memcpy(t.src, src, 16);
	memcpy(t.dst, dst, 16);
	t.sport = sport;
	t.dport = dport;
	return diag_exact(&t, 0, uid, inode);
}

/* --- conntrack ------------------------------------------------------------ */

static struct mnl_socket *ct_nl;
static unsigned		 ct_seq;
static int		 ct_broken;	/* no ctnetlink here: stop asking */

struct ct_answer {
	int		found;
	struct tuple	orig;
};

/* ct_addr_cb - the CTA_TUPLE_IP part of a tuple */
static int
ct_ip_cb(const struct nlattr *attr, void *data)
{
	struct tuple	*t = data;
	uint16_t	 type = mnl_attr_get_type(attr);
	uint16_t	 len = mnl_attr_get_payload_len(attr);

	if (type == CTA_IP_V4_SRC && len == 4)
		memcpy(t->src, mnl_attr_get_payload(attr), 4);
	else if (type == CTA_IP_V4_DST && len == 4)
		memcpy(t->dst, mnl_attr_get_payload(attr), 4);
	else if (type == CTA_IP_V6_SRC && len == 16)
		memcpy(t->src, mnl_attr_get_payload(attr), 16);
	else if (type == CTA_IP_V6_DST && len == 16)
		memcpy(t->dst, mnl_attr_get_payload(attr), 16);
	return MNL_CB_OK;
}

/* ct_proto_cb - the CTA_TUPLE_PROTO part of a tuple */
static int
ct_proto_cb(const struct nlattr *attr, void *data)
{
	struct tuple	*t = data;
	uint16_t	 type = mnl_attr_get_type(attr);

	if (mnl_attr_get_payload_len(attr) != 2)
		return MNL_CB_OK;
	if (type == CTA_PROTO_SRC_PORT)
		t->sport = ntohs(mnl_attr_get_u16(attr));
	else if (type == CTA_PROTO_DST_PORT)
		t->dport = ntohs(mnl_attr_get_u16(attr));
	return MNL_CB_OK;
}

/* ct_tuple_cb - inside CTA_TUPLE_ORIG */
static int
ct_tuple_cb(const struct nlattr *attr, void *data)
{
	uint16_t type = mnl_attr_get_type(attr);

	if (type == CTA_TUPLE_IP &&
	    mnl_attr_validate(attr, MNL_TYPE_NESTED) == 0)
		return mnl_attr_parse_nested(attr, ct_ip_cb, data);
	if (type == CTA_TUPLE_PROTO &&
	    mnl_attr_validate(attr, MNL_TYPE_NESTED) == 0)
		return mnl_attr_parse_nested(attr, ct_proto_cb, data);
	return MNL_CB_OK;
}

/* ct_attr_cb - the top level of a conntrack entry */
static int
ct_attr_cb(const struct nlattr *attr, void *data)
{
	struct ct_answer *a = data;

	if (mnl_attr_get_type(attr) == CTA_TUPLE_ORIG &&
	    mnl_attr_validate(attr, MNL_TYPE_NESTED) == 0 &&
	    mnl_attr_parse_nested(attr, ct_tuple_cb, &a->orig) == MNL_CB_OK)
		a->found = 1;
	return MNL_CB_OK;
}

/* ct_cb - one IPCTNL_MSG_CT_NEW answer */
static int
ct_cb(const struct nlmsghdr *nlh, void *data)
{
	if ((nlh->nlmsg_type & 0xff) != IPCTNL_MSG_CT_NEW)
		return MNL_CB_OK;
	return mnl_attr_parse(nlh, sizeof(struct nfgenmsg), ct_attr_cb, data);
}

/* ct_put_tuple - a nested tuple attribute */
static void
ct_put_tuple(struct nlmsghdr *nlh, uint16_t which, const struct tuple *t)
{
	struct nlattr *tup, *ip, *proto;

	tup = mnl_attr_nest_start(nlh, which);
	ip = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);
	if (t->family == AF_INET) {
		mnl_attr_put(nlh, CTA_IP_V4_SRC, 4, t->src);
		mnl_attr_put(nlh, CTA_IP_V4_DST, 4, t->dst);
	} else {
		mnl_attr_put(nlh, CTA_IP_V6_SRC, 16, t->src);
		mnl_attr_put(nlh, CTA_IP_V6_DST, 16, t->dst);
	}
	mnl_attr_nest_end(nlh, ip);
	proto = mnl_attr_nest_start(nlh, CTA_TUPLE_PROTO);
	mnl_attr_put_u8(nlh, CTA_PROTO_NUM, IPPROTO_TCP);
	mnl_attr_put_u16(nlh, CTA_PROTO_SRC_PORT, htons(t->sport));
	mnl_attr_put_u16(nlh, CTA_PROTO_DST_PORT, htons(t->dport));
	mnl_attr_nest_end(nlh, proto);
	mnl_attr_nest_end(nlh, tup);
}

/* ct_open - the ctnetlink socket, opened once, bounded wait */
static struct mnl_socket *
ct_open(void)
{
	struct timeval tv = { 0, 200 * 1000 };

	if (ct_nl != NULL || ct_broken)
		return ct_nl;
	if ((ct_nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC)) ==
	    NULL || mnl_socket_bind(ct_nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		log_warn("identity: netlink conntrack socket");
		if (ct_nl != NULL)
			mnl_socket_close(ct_nl);
		ct_nl = NULL;
		ct_broken = 1;
		return NULL;
	}
	setsockopt(mnl_socket_get_fd(ct_nl), SOL_SOCKET, SO_RCVTIMEO, &tv,
	    sizeof(tv));
	return ct_nl;
}

/*
 * ct_orig - the original direction of the connection whose reply direction
 * is reply (the queue instance talking back to its client): where the
 * client's socket believes it is connected.  -1 when conntrack has no
 * such entry (no NAT, conntrack not loaded) or cannot be asked.
 */
static int
ct_orig(const struct tuple *reply, struct tuple *orig)
{
	char			 buf[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_socket	*nl;
	struct nlmsghdr		*nlh;
	struct nfgenmsg		*nfg;
	struct ct_answer	 ans;

	if ((nl = ct_open()) == NULL)
		return -1;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET;
	nlh->nlmsg_flags = NLM_F_REQUEST;	/* errors answer anyway; an ACK
					 * after the entry would be read as
					 * the next question's answer */
	nlh->nlmsg_seq = ++ct_seq;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = (uint8_t)reply->family;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = 0;
	ct_put_tuple(nlh, CTA_TUPLE_REPLY, reply);

	memset(&ans, 0, sizeof(ans));
	ans.orig.family = reply->family;
	switch (nl_ask(nl, nlh, ct_cb, &ans, &ans.found)) {
	case NL_BROKEN:
		mnl_socket_close(ct_nl);
		ct_nl = NULL;
		return -1;
	case NL_ERROR:
		if (errno == EOPNOTSUPP || errno == EPERM) {
			log_warn("identity: conntrack lookups off");
			ct_broken = 1;
		}
		return -1;		/* ENOENT: no such entry */
	case NL_DONE:
		break;
	}
	if (!ans.found || ans.orig.sport == 0 || ans.orig.dport == 0)
		return -1;
	*orig = ans.orig;
	return 0;
}

/*
 * identity_socket - the UID behind caddr:cport, as the queue instance at
 * saddr:sport sees the session, and the inode of that socket (see
 * identity.h).  Always the owner of the client's socket; the only
 * question is which tuple names it.  The inode comes in the same answer:
 * naming the process costs no second question to the kernel.
 */
int
identity_socket(struct flows *flows, const char *caddr, uint16_t cport,
    const char *saddr, uint16_t sport, uint64_t now, uint32_t *uid,
    uint64_t *inode)
{
	struct flow_key	 key;
	struct flow	*f;
	struct tuple	 seen, reply, orig;
	int		 fs;

	if (saddr == NULL || *saddr == '\0' || sport == 0 || cport == 0 ||
	    parse_addr(caddr, &seen.family, seen.src) < 0 ||
	    parse_addr(saddr, &fs, seen.dst) < 0 || fs != seen.family)
		return -1;
	seen.sport = cport;
	seen.dport = sport;

	/* 1. conntrack: the session's reply direction names its entry,
	 *    whatever NAT did to the client's port */
	reply.family = seen.family;
	memcpy(reply.src, seen.dst, 16);
	memcpy(reply.dst, seen.src, 16);
	reply.sport = seen.dport;
	reply.dport = seen.sport;
	if (ct_orig(&reply, &orig) == 0 &&
	    diag_owner(&orig, uid, inode) == 0) {
		log_debug("identity: port %u: uid %u (conntrack)", cport, *uid);
		return 0;
	}
	/* 2. the flow table's original destination, checked the same way */
	if (flows != NULL && flow_key_from(&key, caddr, cport) == 0 &&
	    (f = flow_get(flows, &key, now)) != NULL) {
		orig = seen;
		memcpy(orig.dst, f->dst, 16);
		orig.dport = f->dport;
		if (diag_owner(&orig, uid, inode) == 0) {
			log_debug("identity: port %u: uid %u (flow)", cport,
			    *uid);
			return 0;
		}
	}
	/* 3. a connection made straight to the queue port */
	return diag_owner(&seen, uid, inode);
}

/* identity_uid - identity_socket without the inode */
int
identity_uid(struct flows *flows, const char *caddr, uint16_t cport,
    const char *saddr, uint16_t sport, uint64_t now, uint32_t *uid)
{
	uint64_t inode;

	return identity_socket(flows, caddr, cport, saddr, sport, now, uid,
	    &inode);
}
