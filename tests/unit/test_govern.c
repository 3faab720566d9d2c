/*
 * test_govern - the kernel path's verdicts, table by table: exempt
 * relays, blocked accounts, implicit TLS, the per-minute and concurrent
 * connection budgets, the mark arithmetic and SYN retransmissions.  Runs
 * against real accounts in a scratch database, with an injected clock
 * and connection count.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "acct.h"
#include "config.h"
#include "govern.h"
#include "log.h"
#include "store.h"
#include "t.h"

#define S	1000000ULL	/* one second in microseconds */

static struct config cfg;

/* syn - a SYN to addr:port */
static struct govern_syn
syn(const char *addr, uint16_t port)
{
	struct govern_syn s;

	memset(&s, 0, sizeof(s));
	if (inet_pton(AF_INET, addr, s.daddr) == 1)
		s.family = AF_INET;
	else if (inet_pton(AF_INET6, addr, s.daddr) == 1)
		s.family = AF_INET6;
	s.dport = port;
	s.uid = 64001;
	return s;
}

static int64_t live_n;
static int count_calls;

/* count - the injected live-connection count */
static int64_t
count(const struct acct *a, void *arg)
{
	(void)a;
	(void)arg;
	count_calls++;
	return live_n;
}

/* decide - run govern_decide and return verdict*100 + reason */
static int
decide(struct acct *a, const char *addr, uint16_t port, uint64_t now)
{
	struct govern_syn s = syn(addr, port);
	struct govern_result r;

	govern_decide(a, &cfg, &s, now, count, NULL, &r);
	return r.verdict * 100 + r.reason;
}

#define V(v, r) ((v) * 100 + (r))

static void
test_verdicts(struct accts *as)
{
	struct acct *web = acct_by_name(as, "web1");
	struct acct *blk = acct_by_name(as, "blk");
	struct acct *capped = acct_by_name(as, "capped");
	uint64_t now = 1700000000 * S;
	int i, rejects = 0;

	T_OK(web && blk && capped, "accounts loaded");
	if (!web || !blk || !capped)
		return;
	T_EQ_U(decide(web, "198.51.100.25", 25, now),
	    V(FLOW_ALLOW, GOV_R_EXEMPT), "exempt relay: allow");
	T_EQ_U(decide(web, "198.51.100.25", 587, now),
	    V(FLOW_REDIRECT, GOV_R_REDIRECT), "exempt host, other port");
	T_EQ_U(decide(web, "2001:db8::25", 465, now),
	    V(FLOW_ALLOW, GOV_R_EXEMPT), "exempt v6 relay on 465: allow");
	T_EQ_U(decide(web, "192.0.2.25", 25, now),
	    V(FLOW_REDIRECT, GOV_R_REDIRECT), "remote MX: redirect");
	T_EQ_U(decide(web, "127.0.0.1", 2525, now),
	    V(FLOW_REDIRECT, GOV_R_QUEUE), "queue port: no bypass");
	T_EQ_U(decide(web, "::1", 2525, now),
	    V(FLOW_REDIRECT, GOV_R_QUEUE), "v6 queue port");
	T_EQ_U(decide(web, "192.0.2.25", 2525, now),
	    V(FLOW_REDIRECT, GOV_R_REDIRECT), "remote 2525: bypass");
	T_EQ_U(decide(web, "192.0.2.25", 465, now),
	    V(FLOW_REDIRECT, GOV_R_IMPLICIT_TLS), "465 elsewhere: no bit");
	T_EQ_U(decide(blk, "192.0.2.25", 25, now),
	    V(FLOW_REJECT, GOV_R_BLOCKED), "blocked: reject");
	T_EQ_U(decide(blk, "198.51.100.25", 25, now),
	    V(FLOW_REJECT, GOV_R_BLOCKED), "blocked beats exempt");

	/* capped: new_connections 3, connections 2 */
	count_calls = 0;
	live_n = 1;
	T_EQ_U(decide(capped, "192.0.2.25", 25, now),
	    V(FLOW_REDIRECT, GOV_R_REDIRECT), "first connection");
	T_EQ_U(count_calls, 1, "cap asks the count");
	live_n = 3;
	T_EQ_U(decide(capped, "192.0.2.25", 25, now),
	    V(FLOW_REJECT, GOV_R_CONN_CAP), "third concurrent: reject");
	live_n = 2;
	/* the refused one gave its per-minute unit back: two more fit */
	T_EQ_U(decide(capped, "192.0.2.25", 25, now),
	    V(FLOW_REDIRECT, GOV_R_REDIRECT), "second concurrent");
	live_n = 1;
	T_EQ_U(decide(capped, "192.0.2.25", 25, now),
	    V(FLOW_REDIRECT, GOV_R_REDIRECT), "third this minute");
	T_EQ_U(decide(capped, "192.0.2.25", 25, now),
	    V(FLOW_REJECT, GOV_R_CONN_RATE), "fourth this minute: reject");
	T_EQ_U(decide(capped, "192.0.2.25", 25, now + 20 * S + 1),
	    V(FLOW_REDIRECT, GOV_R_REDIRECT), "one unit back after 20 s");
	live_n = -1;
	T_EQ_U(decide(capped, "192.0.2.25", 25, now + 60 * S),
	    V(FLOW_REDIRECT, GOV_R_REDIRECT), "uncountable: no cap applies");

	/* web1's connection budgets are unlimited: never counted */
	count_calls = 0;
	for (i = 0; i < 100; i++)
		if (decide(web, "192.0.2.25", 25, now + (uint64_t)i) / 100 ==
		    FLOW_REJECT)
			rejects++;
	T_EQ_U(count_calls, 0, "unlimited cap: no count");
	T_EQ_U(rejects, 0, "unlimited: 100 connections in a row");
}

static void
test_mark(void)
{
	T_EQ_U(govern_mark(&cfg, 0, FLOW_REDIRECT), 0, "redirect: no bit");
	T_EQ_U(govern_mark(&cfg, 0, FLOW_ALLOW), cfg.mark_allow, "allow bit");
	T_EQ_U(govern_mark(&cfg, 0, FLOW_REJECT), cfg.mark_reject,
	    "reject bit");
	T_EQ_U(govern_mark(&cfg, 0xff0000ffu | cfg.mark_reject, FLOW_ALLOW),
	    0xff0000ffu | cfg.mark_allow, "other bits kept, stale bit cleared");
	T_EQ_U(govern_mark(&cfg, 0xffffffffu, FLOW_REDIRECT),
	    ~cfg.mark_mask, "redirect clears only the mask");
	T_EQ_S(govern_reason_name(GOV_R_CONN_RATE), "new_connections",
	    "reason name");
	T_EQ_S(govern_reason_name(99), "unknown", "unknown reason name");
}

static void
test_reuse(void)
{
	struct govern_syn s = syn("192.0.2.25", 25);
	struct flow f;

	memset(&f, 0, sizeof(f));
	f.key.family = AF_INET;
	memcpy(f.dst, s.daddr, 16);
	f.dport = 25;
	f.seen = 1000;
	f.verdict = FLOW_REDIRECT;
	f.uid = s.uid;
	T_OK(govern_reuse(&f, &s, 1001), "retransmission reuses");
	f.uid = s.uid + 1;
	T_OK(!govern_reuse(&f, &s, 1001),
	    "another UID on the same tuple: decided afresh");
	f.uid = s.uid;
	T_OK(!govern_reuse(&f, &s, 1000 + GOVERN_SYN_WINDOW),
	    "past the SYN window: a new connection");
	f.verdict = FLOW_REJECT;
	T_OK(!govern_reuse(&f, &s, 1001), "reject is never reused");
	f.verdict = FLOW_ALLOW;
	s.dport = 587;
	T_OK(!govern_reuse(&f, &s, 1001), "other port: new decision");
	s = syn("192.0.2.26", 25);
	T_OK(!govern_reuse(&f, &s, 1001), "other address: new decision");
	T_OK(!govern_reuse(NULL, &s, 1001), "no flow");
}

/* setup - a scratch store: web1 (exempt relays, unlimited
 * connections), blk (blocked), capped (3 per minute, 2 at once) */
static struct accts *
setup(char *dir)
{
	struct budget rate = { 1, { { 3, 60 * S, 0 } } };
	struct budget cap = { 1, { { 2, 0, 0 } } };
	struct budget unl = { 1, { { BUDGET_UNLIMITED, 60 * S, 0 } } };
	char path[256], err[256];
	struct store *st;
	struct accts *as;

	snprintf(path, sizeof(path), "%s/t.db", dir);
	if ((st = store_open(path, STORE_CREATE, 1000, err,
	    sizeof(err))) == NULL) {
		printf("# store_open: %s\n", err);
		return NULL;
	}
	if (store_account_add(st, "web1", 0, NULL) == -1 ||
	    store_relay_add(st, "web1", "198.51.100.25", 25) == -1 ||
	    store_relay_add(st, "web1", "2001:db8::25", 0) == -1 ||
	    store_budget_set(st, "web1", BK_NEW_CONN, &unl) == -1 ||
	    store_budget_set(st, "web1", BK_CONN, &unl) == -1 ||
	    store_account_add(st, "blk", 0, NULL) == -1 ||
	    store_relay_add(st, "blk", "198.51.100.25", 25) == -1 ||
	    store_account_set_blocked(st, "blk", 1) == -1 ||
	    store_account_add(st, "capped", 0, NULL) == -1 ||
	    store_budget_set(st, "capped", BK_NEW_CONN, &rate) == -1 ||
	    store_budget_set(st, "capped", BK_CONN, &cap) == -1) {
		printf("# store: %s\n", store_error(st));
		store_close(st);
		return NULL;
	}
	if ((as = acct_load(st, &cfg)) == NULL)
		store_close(st);
	return as;
}

int
main(void)
{
	char dir[] = "/tmp/test_govern.XXXXXX", cmd[300];
	struct accts *as;

	log_init("test_govern", 1, 0);
	config_defaults(&cfg);
	if (mkdtemp(dir) == NULL)
		return 1;
	as = setup(dir);
	T_OK(as != NULL, "scratch accounts");
	if (as != NULL) {
		struct store *st = acct_store(as);

		test_verdicts(as);
		/* freed so that the sanitizer build's leak check stays quiet */
		acct_free(as);
		store_close(st);
	}
	test_mark();
	test_reuse();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	return t_done();
}
