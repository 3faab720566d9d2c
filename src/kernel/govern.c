/*
 * govern - the verdict for one web-UID SYN (see govern.h).  Pure: the
 * time and the live-connection count come from the caller.
 *
 * Order, and why:
 *  1. blocked -> REJECT.  Before the exempt relays: a blocked account is
 *     one the admin has stopped, and an exempt relay would carry its mail
 *     past every other check.
 *  2. exempt relay -> ALLOW, no budget charged: the admin trusts that
 *     relay to do its own accounting (it usually authenticates).
 *  3. 465 elsewhere -> no bit.  Implicit TLS cannot be redirected to the
 *     queue instance; the rules reject it without the ALLOW mark, and the
 *     connection was never made, so nothing is charged.
 *  4. new_connections, then the concurrency cap -> REJECT.  The
 *     cap is asked last because counting may take a census of the
 *     sockets (live.h): never more than a few a second, but not free.
 *  5. otherwise REDIRECT (to the queue instance, or already there).
 *
 * Trusts: its callers' arguments; reads the account, never the packet.
 */
#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include "budget.h"
#include "govern.h"

static const char *reason_names[GOV_R_COUNT] = {
	[GOV_R_REDIRECT] = "redirect",
	[GOV_R_QUEUE] = "queue",
	[GOV_R_EXEMPT] = "exempt",
	[GOV_R_BLOCKED] = "blocked",
	[GOV_R_CONN_RATE] = "new_connections",
	[GOV_R_CONN_CAP] = "connections",
	[GOV_R_IMPLICIT_TLS] = "implicit_tls",
};

/* govern_reason_name - the reason= value of an alert */
const char *
govern_reason_name(int r)
{
	if (r < 0 || r >= GOV_R_COUNT)
		return "unknown";
	return reason_names[r];
}

/* addr_str - numeric form of the destination, as relays are stored */
static void
addr_str(const struct govern_syn *s, char *buf, size_t len)
{
	if (inet_ntop(s->family == AF_INET ? AF_INET : AF_INET6, s->daddr,
	    buf, (socklen_t)len) == NULL)
		buf[0] = '\0';
}

/* govern_is_queue - the local queue port on a loopback address */
int
govern_is_queue(const struct config *cfg, const struct govern_syn *s)
{
	static const uint8_t v6lo[16] = { [15] = 1 };

	if (s->dport != cfg->queue_port)
		return 0;
	if (s->family == AF_INET)
		return s->daddr[0] == 127;
	return memcmp(s->daddr, v6lo, 16) == 0;
}

/* govern_decide - see the order above */
void
govern_decide(struct acct *a, const struct config *cfg,
    const struct govern_syn *s, uint64_t now, govern_count count, void *arg,
    struct govern_result *r)
{
	char addr[64];
	uint64_t retry = 0;

	memset(r, 0, sizeof(*r));
	r->live = -1;
	if (a->blocked) {
		r->verdict = FLOW_REJECT;
		r->reason = GOV_R_BLOCKED;
		return;
	}
	addr_str(s, addr, sizeof(addr));
	if (addr[0] != '\0' && acct_is_exempt(a, addr, s->dport)) {
		r->verdict = FLOW_ALLOW;
		r->reason = GOV_R_EXEMPT;
		return;
	}
	if (s->dport == GOVERN_PORT_SMTPS) {
		r->verdict = FLOW_REDIRECT;
		r->reason = GOV_R_IMPLICIT_TLS;
		return;
	}

	r->checked |= 1u << BK_NEW_CONN;
	if (acct_charge(a, BK_NEW_CONN, 1, now, &retry) != BUDGET_OK) {
		r->over |= 1u << BK_NEW_CONN;
		r->verdict = FLOW_REJECT;
		r->reason = GOV_R_CONN_RATE;
		r->retry_at = retry;
		return;
	}
	if (a->lim[BK_CONN]->w[0].limit != BUDGET_UNLIMITED && count != NULL) {
		r->live = count(a, arg);
		r->checked |= 1u << BK_CONN;
		if (r->live >= 0 && acct_charge(a, BK_CONN,
		    (uint64_t)r->live, now, NULL) != BUDGET_OK) {
			/* Refused: this connection never happened, so it
			 * must not also use up new_connections.  A capped
			 * account's next SYN is no dearer for it: the
			 * count is not a dump per SYN (live.h). */
			acct_refund(a, BK_NEW_CONN, 1);
			r->over |= 1u << BK_CONN;
			r->verdict = FLOW_REJECT;
			r->reason = GOV_R_CONN_CAP;
			return;
		}
	}
	r->verdict = FLOW_REDIRECT;
	r->reason = govern_is_queue(cfg, s) ? GOV_R_QUEUE : GOV_R_REDIRECT;
}

/* govern_mark - set the verdict's bit inside mark_mask, keep the rest */
uint32_t
govern_mark(const struct config *cfg, uint32_t pktmark, int verdict)
{
	uint32_t bit = 0;

	if (verdict == FLOW_ALLOW)
		bit = cfg->mark_allow;
	else if (verdict == FLOW_REJECT)
		bit = cfg->mark_reject;
	return (pktmark & ~cfg->mark_mask) | (bit & cfg->mark_mask);
}

/* govern_reuse - a retransmitted SYN of an allowed or redirected flow, from
 * the UID that made it: any UID can bind a port another one used
 * (SO_REUSEADDR), so a verdict and its attribution are never handed to
 * another UID */
int
govern_reuse(const struct flow *f, const struct govern_syn *s, uint64_t now)
{
	size_t n = s->family == AF_INET ? 4 : 16;

	return f != NULL && f->verdict != FLOW_REJECT &&
	    f->uid == s->uid && now < f->seen + GOVERN_SYN_WINDOW &&
	    f->key.family == s->family && f->dport == s->dport &&
	    memcmp(f->dst, s->daddr, n) == 0;
}
