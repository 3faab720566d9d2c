/*
 * identity - who opened the SMTP session the queue instance is serving
 * (see identity.h).  The flow table answers for redirected connections;
 * NETLINK_SOCK_DIAG answers for connections made straight to the queue
 * port, by asking the kernel for the owner of the client's socket with
 * the exact 4-tuple.
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

#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
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

/* identity_sock_diag - owner UID of the TCP socket caddr:cport ->
 * saddr:sport, asked of the kernel with the exact 4-tuple */
int
identity_sock_diag(const char *caddr, uint16_t cport, const char *saddr,
    uint16_t sport, uint32_t *uid)
{
	char			 buf[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_socket	*nl;
	struct nlmsghdr		*nlh;
	struct inet_diag_req_v2	*req;
	struct diag_answer	 ans = { 0, 0 };
	uint8_t			 src[16], dst[16];
	int			 fs, fd, ret;
	unsigned		 seq, portid;
	ssize_t			 n;

	if (parse_addr(caddr, &fs, src) < 0 || parse_addr(saddr, &fd, dst) < 0)
		return -1;
	if (fs != fd)
		return -1;
	if ((nl = diag_open()) == NULL)
		return -1;

	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
	nlh->nlmsg_flags = NLM_F_REQUEST;	/* one exact socket, no dump */
	nlh->nlmsg_seq = seq = ++diag_seq;
	req = mnl_nlmsg_put_extra_header(nlh, sizeof(*req));
	req->sdiag_family = (uint8_t)fs;
	req->sdiag_protocol = IPPROTO_TCP;
	req->idiag_states = ~0U;
	req->id.idiag_sport = htons(cport);
	req->id.idiag_dport = htons(sport);
	memcpy(req->id.idiag_src, src, 16);
	memcpy(req->id.idiag_dst, dst, 16);
	req->id.idiag_if = 0;
	req->id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
	req->id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;

	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		log_warn("identity: sock_diag send");
		diag_reset();
		return -1;
	}
	portid = mnl_socket_get_portid(nl);
	for (;;) {
		n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_warn("identity: sock_diag receive");
			diag_reset();
			return -1;
		}
		ret = mnl_cb_run(buf, (size_t)n, seq, portid, diag_cb, &ans);
		if (ret == MNL_CB_ERROR) {
			/* ENOENT: no such socket; anything else is worth
			 * a line, but is still just "unknown" */
			if (errno == ESRCH || errno == EPROTO) {
				/* stale answer to an earlier timed-out
				 * query: resynchronise by reopening */
				diag_reset();
				return -1;
			}
			if (errno != ENOENT)
				log_warn("identity: sock_diag query");
			return -1;
		}
		if (ans.found || ret == MNL_CB_STOP)
			break;
	}
	if (!ans.found)
		return -1;
	*uid = ans.uid;
	return 0;
}

/* identity_uid - the UID behind caddr:cport: flow table first, then the
 * socket table (see identity.h) */
int
identity_uid(struct flows *flows, const char *caddr, uint16_t cport,
    const char *saddr, uint16_t sport, uint64_t now, uint32_t *uid)
{
	struct flow_key	 key;
	struct flow	*f;

	if (flows != NULL && flow_key_from(&key, caddr, cport) == 0 &&
	    (f = flow_get(flows, &key, now)) != NULL) {
		*uid = f->uid;
		return 0;
	}
	if (saddr == NULL || *saddr == '\0' || sport == 0)
		return -1;
	return identity_sock_diag(caddr, cport, saddr, sport, uid);
}
