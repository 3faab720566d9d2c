/*
 * test_identity - identity_sock_diag against real TCP connections on
 * loopback (v4 and v6): the kernel must name our own UID for the client
 * side of a connection we made, and nobody for a 4-tuple that does not
 * exist.  identity_uid takes the socket's owner as the proof: a flow
 * table entry alone (any UID can bind the port it names) proves nothing,
 * and one that names another UID is overruled by the kernel.
 */
#include <sys/fsuid.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include "identity.h"
#include "t.h"

/* the owner we expect for the client's socket */
static uint32_t client_uid = 65534;

struct pair {
	int	lfd, cfd, afd;
	char	caddr[64], saddr[64];
	uint16_t cport, sport;
};

/* name - numeric address and port of a socket address */
static void
name(const struct sockaddr_storage *ss, char *addr, size_t len,
    uint16_t *port)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)ss;

		inet_ntop(AF_INET, &s->sin_addr, addr, (socklen_t)len);
		*port = ntohs(s->sin_port);
	} else {
		const struct sockaddr_in6 *s = (const void *)ss;

		inet_ntop(AF_INET6, &s->sin6_addr, addr, (socklen_t)len);
		*port = ntohs(s->sin6_port);
	}
}

/* pair_open - listener on loopback, a client connected to it, accepted */
static int
pair_open(int family, struct pair *p)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sl;

	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		struct sockaddr_in *s = (void *)&ss;

		s->sin_family = AF_INET;
		s->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sl = sizeof(*s);
	} else {
		struct sockaddr_in6 *s = (void *)&ss;

		s->sin6_family = AF_INET6;
		s->sin6_addr = in6addr_loopback;
		sl = sizeof(*s);
	}
	if ((p->lfd = socket(family, SOCK_STREAM, 0)) < 0 ||
	    bind(p->lfd, (void *)&ss, sl) < 0 || listen(p->lfd, 4) < 0)
		return -1;
	sl = sizeof(ss);
	getsockname(p->lfd, (void *)&ss, &sl);
	/*
	 * A socket belongs to the fsuid that created it.  As root, make
	 * the client's socket as someone else, so a right answer cannot be
	 * a lucky zero.
	 */
	if (getuid() == 0)
		setfsuid(client_uid);
	p->cfd = socket(family, SOCK_STREAM, 0);
	if (getuid() == 0)
		setfsuid(0);
	if (p->cfd < 0 ||
	    connect(p->cfd, (void *)&ss, sl) < 0)
		return -1;
	if ((p->afd = accept(p->lfd, NULL, NULL)) < 0)
		return -1;
	name(&ss, p->saddr, sizeof(p->saddr), &p->sport);
	sl = sizeof(ss);
	getsockname(p->cfd, (void *)&ss, &sl);
	name(&ss, p->caddr, sizeof(p->caddr), &p->cport);
	return 0;
}

static void
pair_close(struct pair *p)
{
	close(p->afd);
	close(p->cfd);
	close(p->lfd);
}

static void
test_sock_diag(int family, const char *label)
{
	struct pair	p;
	uint32_t	uid = 12345;
	char		msg[128];

	if (pair_open(family, &p) < 0) {
		T_OK(family == AF_INET6, "%s: loopback pair (v6 may be off)",
		    label);
		return;
	}
	snprintf(msg, sizeof(msg), "%s: lookup of our own client socket",
	    label);
	T_EQ_U(identity_sock_diag(p.caddr, p.cport, p.saddr, p.sport, &uid),
	    0, msg);
	snprintf(msg, sizeof(msg), "%s: uid of the client socket", label);
	T_EQ_U(uid, client_uid, msg);
	/* the same call through identity_uid, without a flow table */
	uid = 12345;
	snprintf(msg, sizeof(msg), "%s: identity_uid falls back", label);
	T_EQ_U(identity_uid(NULL, p.caddr, p.cport, p.saddr, p.sport, 0,
	    &uid), 0, msg);
	T_EQ_U(uid, client_uid, msg);
	snprintf(msg, sizeof(msg), "%s: a tuple that does not exist", label);
	T_EQ_U(identity_sock_diag(p.caddr, (uint16_t)(p.cport ^ 1), p.saddr,
	    p.sport, &uid), (uint64_t)-1, msg);
	pair_close(&p);
}

static void
test_bad_input(void)
{
	uint32_t uid;

	T_EQ_U(identity_sock_diag("not-an-address", 1, "127.0.0.1", 2, &uid),
	    (uint64_t)-1, "garbage client address");
	T_EQ_U(identity_sock_diag("127.0.0.1", 1, "::1", 2, &uid),
	    (uint64_t)-1, "mixed families");
	T_EQ_U(identity_uid(NULL, "127.0.0.1", 1, "", 0, 0, &uid),
	    (uint64_t)-1, "no server side, no flow");
}

static void
test_flow_is_no_proof(void)
{
	struct flows	*ft = flow_new(64);
	struct flow	 f;
	struct pair	 p;
	uint32_t	 uid = 0;

	T_OK(ft != NULL, "flow table");
	if (ft == NULL)
		return;
	memset(&f, 0, sizeof(f));
	T_EQ_U(flow_key_from(&f.key, "192.0.2.7", 40001), 0, "flow key");
	f.uid = 64002;
	f.expires = 1000;
	T_EQ_U(flow_put(ft, &f, 10), 0, "flow put");
	T_EQ_U(identity_uid(ft, "192.0.2.7", 40001, "127.0.0.1", 2525, 10,
	    &uid), (uint64_t)-1, "a flow with no socket behind it: unknown");
	if (pair_open(AF_INET, &p) < 0) {
		T_OK(0, "loopback pair");
		flow_free(ft);
		return;
	}
	/* a flow claiming another UID for a real socket: the kernel wins */
	memset(&f, 0, sizeof(f));
	T_EQ_U(flow_key_from(&f.key, p.saddr, p.sport), 0, "server key");
	memcpy(f.dst, f.key.addr, 16);
	f.dport = p.sport;
	T_EQ_U(flow_key_from(&f.key, p.caddr, p.cport), 0, "flow key");
	f.uid = client_uid + 1;
	f.expires = 1000;
	T_EQ_U(flow_put(ft, &f, 10), 0, "flow put");
	T_EQ_U(identity_uid(ft, p.caddr, p.cport, p.saddr, p.sport, 10,
	    &uid), 0, "a real socket with a forged flow");
	T_EQ_U(uid, client_uid, "the socket's owner, not the flow's UID");
	pair_close(&p);
	flow_free(ft);
}

int
main(void)
{
	if (getuid() != 0)
		client_uid = getuid();
	test_sock_diag(AF_INET, "ipv4");
	test_sock_diag(AF_INET6, "ipv6");
	test_bad_input();
	test_flow_is_no_proof();
	return t_done();
}
