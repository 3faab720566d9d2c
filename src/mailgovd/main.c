/*
 * mailgovd - the governor daemon: one thread, one epoll loop.  The kernel
 * path (NFQUEUE verdicts for web-UID SMTP SYNs) is wired here; the queue
 * path (the Postfix policy server) and held-mail release are started
 * here too, each at the one point of start-up where it must be.
 *
 * Start-up, in this order, because each step needs the one before:
 * configuration; refuse without CAP_NET_ADMIN; the store and accounts;
 * the database handed to the daemon's user; the flow table; NFQUEUE bound
 * and the control socket created, in a runtime directory made if
 * missing (clear errors on the terminal); then into the background;
 * privileged children forked (the release and process helpers); the
 * policy listeners and the metrics listener bound; privileges dropped
 * to cfg.user keeping only CAP_NET_ADMIN; the threads that run
 * unprivileged; the loop.
 *
 * Trusts: its command line and configuration (root's), checked by
 * config_load; nothing from the kernel queue or the control socket (those
 * modules bound what they read).
 */
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "acct.h"
#include "alert.h"
#include "clock.h"
#include "cluster.h"
#include "commit.h"
#include "config.h"
#include "ctlsock.h"
#include "flow.h"
#include "govern.h"
#include "identity.h"
#include "live.h"
#include "log.h"
#include "loop.h"
#include "mark.h"
#include "metrics.h"
#include "nfq.h"
#include "notify.h"
#include "policy.h"
#include "privs.h"
#include "recent.h"
#include "redo.h"
#include "release.h"
#include "sdnotify.h"
#include "sockdiag.h"
#include "sockproc.h"
#include "store.h"

#define STORE_BUSY_MS	2000	/* start-up waits this long for a lock */
#define LOOP_BUSY_MS	200	/* then the loop thread, no longer: what
				 * it could not write is retried (usage,
				 * events, held rows), and the kernel
				 * path's verdicts must not wait behind
				 * another writer's lock */
#define EXPIRE_PER_TICK	65536	/* flows reclaimed per second at most */
#define ASK_MAX		64	/* redirected SYNs whose process is looked
				 * for after one loop turn, at most */
#define FLOW_LINGER	10	/* seconds a flow outlives its socket: the
				 * census runs once a second, and the queue
				 * instance may still ask about a session
				 * whose client has just closed */

/* a redirected SYN whose socket's process is looked for after the turn */
struct ask {
	uint8_t		 family;
	uint8_t		 src[16], dst[16];
	uint16_t	 sport, dport;
	uint32_t	 uid;
};

struct daemon {
	struct config	 cfg;
	struct store	*st;
	struct accts	*accts;
	struct flows	*flows;
	struct loop	*loop;
	struct nfq	*nfq;
	struct sockdiag	*diag;
	struct sockdiag_watch *watch;	/* sockets the kernel destroys */
	struct live	*live;		/* connections per account */
	uint32_t	 gen;		/* the last census; flow->live */
	int		 census_ok;	/* the last census worked */
	struct alerts	*alerts;
	struct ctlsock	*ctl;
	struct recent	*recent;	/* what top shows */
	struct policy	*policy;
	struct commit	*commit;
	struct redo	*redo;		/* redo_log = on */
	struct release	*release;
	struct sockproc	*procs;		/* names direct sockets' processes */
	struct ask	 ask[ASK_MAX];	/* this turn's redirected SYNs */
	size_t		 nask;
	uint64_t	 ask_dropped;	/* beyond ASK_MAX in one turn */
	struct notify	*notify;	/* alert_command, alert_mail */
	struct metrics	*metrics;	/* metrics_listen set */
	struct cluster	*cluster;	/* budget_store = redis */
	uint16_t	 ports[CONFIG_MAX_PORTS + 1];	/* SMTP + queue */
	size_t		 nports;
	int		 sigfd, timerfd;
	uint64_t	 flow_full_logged;
	uint64_t	 flow_share_logged;
};

/* --- the kernel path ---------------------------------------------------- */

/*
 * A census: one SOCK_DIAG dump of the SMTP client sockets that are still
 * open, once a second.  It keeps alive the flows whose socket is there
 * (their owner, port and original destination must match: a port
 * re-bound by another socket keeps nothing alive), and counts each
 * account's connections into d->live.  A connection counts when it is
 * established, or when it is still in its handshake after this daemon
 * admitted it (its flow says so).  A SYN_SENT socket without a flow is
 * waiting in the queue for a verdict, or was never admitted: it does not
 * count, so a flood of SYNs cannot make a capped account look busier than
 * it is.  A socket the flow table does not know (made while the daemon
 * was down, or whose flow did not fit) counts for the account that owns
 * its UID, once one does.
 *
 * Between two censuses an admitted SYN adds one to its account, and the
 * watch takes one away when the kernel destroys the socket of a flow the
 * census or the admission counted (flow->live is that census's number).
 */
struct census {
	struct daemon	*d;
	const struct flow_key *self;	/* the SYN being decided, or NULL */
	uint64_t	 secs;		/* unix seconds */
};

/* flow_key_of - a socket's flow key */
static void
flow_key_of(struct flow_key *k, const struct sockdiag_sock *s)
{
	memset(k, 0, sizeof(*k));
	k->family = s->family;
	memcpy(k->addr, s->saddr, 16);
	k->port = s->sport;
}

/* sock_flow - the flow of socket s (key k), or NULL: owner, port and
 * original destination must be the flow's */
static struct flow *
sock_flow(struct daemon *d, const struct sockdiag_sock *s,
    const struct flow_key *k, uint64_t secs)
{
	struct flow *f;

	if ((f = flow_get(d->flows, k, secs)) == NULL || f->uid != s->uid ||
	    f->dport != s->dport || memcmp(f->dst, s->daddr, 16) != 0)
		return NULL;
	return f;
}

/* census_sock - one open SMTP client socket */
static void
census_sock(const struct sockdiag_sock *s, void *arg)
{
	struct census *c = arg;
	struct daemon *d = c->d;
	struct flow_key k;
	struct flow *f;
	struct acct *a;

	flow_key_of(&k, s);
	if (c->self != NULL && k.family == c->self->family &&
	    k.port == c->self->port && memcmp(k.addr, c->self->addr, 16) == 0)
		return;		/* the caller counts it */
	if ((f = sock_flow(d, s, &k, c->secs)) != NULL) {
		if (f->expires < c->secs + FLOW_LINGER)
			f->expires = c->secs + FLOW_LINGER;
		if (s->state == TCP_ESTABLISHED || s->state == TCP_SYN_SENT) {
			live_add(d->live, f->account, 1);
			f->live = d->gen;
		}
		return;
	}
	/* a count never creates an account: a UID nobody adopted yet is
	 * counted from the census after its first SYN */
	if (s->state != TCP_ESTABLISHED ||
	    (a = acct_find_uid(d->accts, s->uid, UINT32_MAX)) == NULL ||
	    !acct_is_web(d->accts, s->uid, UINT32_MAX))
		return;
	live_add(d->live, a->id, 1);
}

/* census - take one (see above); -1 when the kernel could not be asked */
static int
census(struct daemon *d, uint64_t now, const struct flow_key *self)
{
	struct census c = { d, self, now / 1000000u };

	if (d->diag == NULL)
		return -1;
	if (++d->gen == 0)
		d->gen = 1;	/* 0: counted in no census */
	live_census(d->live, now);
	if (sockdiag_each(d->diag, d->ports, d->nports, SOCKDIAG_OPEN,
	    census_sock, &c) < 0) {
		d->census_ok = 0;
		return -1;
	}
	d->census_ok = 1;
	return 0;
}

/*
 * destroyed - the kernel destroyed socket s: its connection is over, and
 * leaves its account's count if it was in it.  A connection aborted with
 * a reset (SO_LINGER 0) is reported without its destination, so the
 * watch's filter never lets it through: it leaves the count at the next
 * census, which a count that would refuse takes early (count_live).
 */
static void
destroyed(const struct sockdiag_sock *s, void *arg)
{
	struct daemon *d = arg;
	struct flow_key k;
	struct flow *f;
	uint64_t secs = (uint64_t)time(NULL);

	flow_key_of(&k, s);
	/* not the owner: the kernel reports UID 0 for a socket its owner
	 * has already closed.  The connection's four addresses and ports
	 * are its own while it lasts. */
	if ((f = flow_get(d->flows, &k, secs)) == NULL ||
	    f->dport != s->dport || memcmp(f->dst, s->daddr, 16) != 0)
		return;
	if (f->live != 0 && f->live == d->gen)
		live_sub(d->live, f->account);
	f->live = 0;
	if (f->expires > secs + FLOW_LINGER)
		f->expires = secs + FLOW_LINGER;
}

/* watch_read - what the watch has queued.  Reports the kernel dropped
 * (ENOBUFS) leave their connections in the counts until a census. */
static void
watch_read(struct daemon *d)
{
	if (sockdiag_watch_read(d->watch, destroyed, d) == -1 &&
	    errno != ENOBUFS)
		log_warn("sockdiag watch");
}

/* on_watch - the loop's handler for the watch */
static void
on_watch(int fd, uint32_t events, void *arg)
{
	(void)fd;
	(void)events;
	watch_read(arg);
}

struct livecount {
	struct daemon	*d;
	const struct flow_key *self;	/* the SYN being decided */
	uint64_t	 now;		/* microseconds */
};

/*
 * count_live - govern's concurrency count: the account's live
 * connections and this one, from d->live.  When that would refuse, the
 * closes the watch has queued are taken first, then, if the last census
 * is older than LIVE_RECOUNT_US, a census decides: a connection aborted
 * with a reset, one the watch lost, or one no flow knew may still be in
 * the count.  So a flood of refused SYNs costs at most a few dumps a
 * second, never one each.
 */
static int64_t
count_live(const struct acct *a, void *arg)
{
	struct livecount *lc = arg;
	struct daemon *d = lc->d;
	uint64_t n;

	if (d->diag == NULL)
		return -1;
	n = live_get(d->live, a->id);
	if (d->census_ok && n != UINT64_MAX && n + 1 <= a->lim[BK_CONN]->w[0].limit)
		return (int64_t)n + 1;
	if (d->watch != NULL) {
		watch_read(d);
		n = live_get(d->live, a->id);
		if (d->census_ok && n != UINT64_MAX &&
		    n + 1 <= a->lim[BK_CONN]->w[0].limit)
			return (int64_t)n + 1;
	}
	if (live_recount_due(d->live, lc->now))
		(void)census(d, lc->now, lc->self);
	if (!d->census_ok)
		return -1;	/* no count: no cap, as sockdiag.h says */
	n = live_get(d->live, a->id);
	return n >= INT64_MAX ? INT64_MAX : (int64_t)n + 1;
}

/*
 * ask_later - name the process behind a redirected SYN's socket, after
 * this loop turn: by then nfq has sent the turn's verdicts, so the
 * verdict never waits for it.  The earliest moment there is: the helper
 * scans /proc while the handshake, the banner and the SMTP dialogue up
 * to the first policy request go on.  mailgov-sendmail's connections
 * (to the queue port on loopback, which the rules do not rewrite) carry
 * their origin in their greeting and are left out; a script that
 * connects there itself is asked for by the policy server.
 */
static void
ask_later(struct daemon *d, const struct nfq_pkt *p)
{
	static const uint8_t v6lo[16] = { [15] = 1 };
	struct ask *a;

	if (d->procs == NULL || !p->has_uid)
		return;
	if (p->dport == d->cfg.queue_port && (p->family == AF_INET ?
	    p->daddr[0] == 127 : memcmp(p->daddr, v6lo, 16) == 0))
		return;
	if (d->nask == ASK_MAX) {
		d->ask_dropped++;
		return;
	}
	a = &d->ask[d->nask++];
	a->family = p->family;
	memcpy(a->src, p->saddr, 16);
	memcpy(a->dst, p->daddr, 16);
	a->sport = p->sport;
	a->dport = p->dport;
	a->uid = p->uid;
}

/* ask_procs - the turn's redirected SYNs: each socket's inode, asked of
 * SOCK_DIAG by its exact 4-tuple (it is in SYN_SENT), then of the process
 * helper, which answers later on the loop (sockproc.h) */
static void
ask_procs(void *arg)
{
	struct daemon *d = arg;
	struct origin o;
	uint64_t inode;
	uint32_t uid;
	size_t i;

	for (i = 0; i < d->nask; i++) {
		const struct ask *a = &d->ask[i];

		if (identity_inode(a->family, a->src, a->sport, a->dst,
		    a->dport, &uid, &inode) == 0 && uid == a->uid)
			(void)sockproc_origin(d->procs, uid, inode, SP_ASK_SYN,
			    &o);
	}
	d->nask = 0;
}

/* on_syn - nfq's handler: decide, account, alert, remember the flow */
static int
on_syn(const struct nfq_pkt *p, uint32_t *mark, void *arg)
{
	struct daemon *d = arg;
	struct govern_result r;
	struct govern_syn syn;
	struct livecount lc;
	struct flow nf, *f;
	struct acct *a;
	char dst[80], uid[16];
	uint64_t now = clock_now_us(), secs = now / 1000000u;

	/* a reset by mailgovctl is seen before the account is charged */
	commit_fresh(d->commit);
	memset(&syn, 0, sizeof(syn));
	syn.family = p->family;
	memcpy(syn.daddr, p->daddr, 16);
	syn.dport = p->dport;
	syn.uid = p->has_uid ? p->uid : UINT32_MAX;

	memset(&nf, 0, sizeof(nf));
	nf.key.family = p->family;
	memcpy(nf.key.addr, p->saddr, 16);
	nf.key.port = p->sport;

	/* A retransmitted SYN: same answer, nothing charged twice.  Only
	 * while the flow's connection still counts (flow->live): a flow
	 * whose socket is gone has a new connection on its key. */
	f = flow_get(d->flows, &nf.key, secs);
	if (f != NULL && f->live == d->gen && govern_reuse(f, &syn, secs)) {
		*mark = govern_mark(&d->cfg, p->mark, f->verdict);
		return 1;
	}

	a = p->has_uid ? acct_adopt_uid(d->accts, p->uid,
	    p->has_gid ? p->gid : UINT32_MAX) : acct_default(d->accts);
	if (a == NULL)
		return 0;	/* no account at all: plain redirect */

	memset(&lc, 0, sizeof(lc));
	lc.d = d;
	lc.self = &nf.key;
	lc.now = now;
	govern_decide(a, &d->cfg, &syn, now, count_live, &lc, &r);

	log_endpoint(dst, sizeof(dst), p->family, p->daddr, p->dport);
	if (p->has_uid)
		snprintf(uid, sizeof(uid), "%u", p->uid);
	else
		snprintf(uid, sizeof(uid), "-");
	log_debug("syn uid=%s account=%s dst=%s verdict=%s reason=%s "
	    "live=%" PRId64, uid, a->name, dst, r.verdict == FLOW_ALLOW ?
	    "allow" : r.verdict == FLOW_REJECT ? "reject" : "redirect",
	    govern_reason_name(r.reason), r.live);

	if (r.checked)
		alert_budget(d->alerts, a, now, r.checked, r.over, "");
	switch (r.reason) {
	case GOV_R_REDIRECT:
		a->redirects++;
		alert(d->alerts, a, now, 0, "redirect", "uid=%s dst=%s", uid,
		    dst);
		break;
	case GOV_R_BLOCKED:
	case GOV_R_CONN_RATE:
	case GOV_R_CONN_CAP:
	case GOV_R_IMPLICIT_TLS:
		alert(d->alerts, a, now, ALERT_WARN | ALERT_RECORD, "reject",
		    "reason=%s uid=%s dst=%s", govern_reason_name(r.reason),
		    uid, dst);
		break;
	default:
		break;
	}

	*mark = govern_mark(&d->cfg, p->mark, r.verdict);
	/* CONNECTIONS: let through; REFUSED: reset by the rules (a reject,
	 * or implicit TLS to a host that is not an exempt relay) */
	if (r.verdict != FLOW_REJECT && r.reason != GOV_R_IMPLICIT_TLS)
		acct_count_connection(a);
	else {
		acct_count_refused(a);
		acct_note(a, RECENT_REFUSED, 1);
	}
	if (r.reason == GOV_R_REDIRECT)
		acct_note(a, RECENT_REDIRECTED, 1);
	/* the committer writes the counters, never this thread */
	acct_count_seen(a, (int64_t)secs);

	/* A refused connection never happens: it takes no flow, and does
	 * not count as live. */
	if (r.verdict == FLOW_REJECT || r.reason == GOV_R_IMPLICIT_TLS)
		return 1;
	live_add(d->live, a->id, 1);
	nf.live = d->gen;
	memcpy(nf.dst, p->daddr, 16);
	nf.dport = p->dport;
	nf.verdict = (uint8_t)r.verdict;
	nf.uid = syn.uid;
	nf.account = a->id;
	nf.seen = secs;
	/* the census keeps it while its socket is open; without SOCK_DIAG
	 * nothing can tell, and flow_ttl decides */
	nf.expires = secs + (d->diag != NULL ? FLOW_LINGER : d->cfg.flow_ttl);
	if (r.verdict == FLOW_REDIRECT)
		ask_later(d, p);
	if (flow_put(d->flows, &nf, secs) == 0)
		return 1;
	/* The verdict still stands; only the queue path loses this flow
	 * and finds the connection's owner through SOCK_DIAG. */
	if (errno == EDQUOT && d->flow_share_logged + 60 <= secs) {
		d->flow_share_logged = secs;
		log_warnx("flow table: uid %s holds its share (%zu flows); "
		    "its new connections are not recorded", uid,
		    flow_uid_max(d->flows));
	} else if (errno != EDQUOT && d->flow_full_logged + 60 <= secs) {
		d->flow_full_logged = secs;
		log_warnx("flow table full (%zu flows): raise flow_max",
		    flow_count(d->flows));
	}
	return 1;
}

/* --- housekeeping ------------------------------------------------------- */

/*
 * events_commit - the alert module's queued events.  Usage never goes
 * through here: the committer (commit.h) is its only writer.  This
 * handle commits without fsync and never checkpoints, so the loop never
 * waits for the disk; the committer's next synced commit or the
 * checkpoint thread (within a second) makes these rows durable.
 */
static void
events_commit(struct daemon *d)
{
	if (alert_pending(d->alerts) == 0)
		return;
	if (store_begin(d->st) == -1) {
		log_warnx("event log: %s", store_error(d->st));
		return;		/* still queued: the next tick retries */
	}
	if (alert_flush(d->alerts, d->st) == -1 || store_commit(d->st) == -1) {
		log_warnx("event log: %s", store_error(d->st));
		store_rollback(d->st);
	}
}

/* on_timer - once a second: reload, expire, alerts, commit */
static void
on_timer(int fd, uint32_t events, void *arg)
{
	struct daemon *d = arg;
	uint64_t ticks, now = clock_now_us();

	(void)events;
	if (read(fd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
		log_warn("timerfd");
	if (acct_reload(d->accts) == -1)
		log_warnx("reloading accounts failed; keeping the old view");
	/* first the census: it keeps alive the flows whose socket is open,
	 * and gives every account its count of live connections */
	(void)census(d, now, NULL);	/* sockdiag logs a failure */
	(void)flow_expire(d->flows, now / 1000000u, EXPIRE_PER_TICK);
	alert_tick(d->alerts, d->accts, now);
	if (d->ctl != NULL)
		ctlsock_tick(d->ctl, now);
	if (d->release != NULL)
		release_tick(d->release, now);
	metrics_tick(d->metrics);
	recent_tick(d->recent, clock_mono_s() / 60);
	notify_tick(d->notify);
	events_commit(d);
	/* systemd's watchdog (WatchdogSec=): a loop that stops turning
	 * stops these */
	(void)sdnotify_watchdog(clock_mono_ms());
}

/* on_signal - TERM/INT stop, HUP reloads the accounts */
static void
on_signal(int fd, uint32_t events, void *arg)
{
	struct daemon *d = arg;
	struct signalfd_siginfo si;

	(void)events;
	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGTERM:
		case SIGINT:
			log_info("signal %u: stopping", si.ssi_signo);
			loop_stop(d->loop);
			break;
		case SIGHUP:
			log_info("SIGHUP: reloading accounts");
			if (acct_reload(d->accts) == -1)
				log_warnx("reload failed; keeping the old "
				    "view");
			break;
		}
	}
}

/* status_extra - the kernel path's counters and the group commit's
 * state for "status" (mailgovctl status reads them) */
static void
status_extra(char *buf, size_t len, void *arg)
{
	struct daemon *d = arg;
	const struct nfq_stats *s = nfq_queue_stats(d->nfq);
	struct commit_stats cs;
	struct sp_stats ps;
	uint64_t ms = clock_mono_ms();
	char age[24];
	size_t n;

	commit_stats(d->commit, &cs);
	if (cs.last_ms != 0)
		snprintf(age, sizeof(age), "%" PRIu64, ms - cs.last_ms);
	else
		snprintf(age, sizeof(age), "-");
	snprintf(buf, len, "pid=%ld\nqueue=%u\nqueue_bound=%d\npackets=%"
	    PRIu64 "\nsyns=%" PRIu64 "\nodd_packets=%" PRIu64
	    "\nnetlink_errors=%" PRIu64 "\nflow_max=%u\ncommits=%" PRIu64
	    "\ncommit_age_ms=%s\ncommit_failing=%d\nredo=%s\nredo_logged=%"
	    PRIu64 "\nredo_applied=%" PRIu64 "\nrecent_accounts=%zu\n"
	    "recent_untracked=%" PRIu64 "\n", (long)getpid(),
	    d->cfg.queue_num, d->nfq != NULL, s->packets, s->handled, s->odd,
	    s->errors, d->cfg.flow_max, cs.batches, age, cs.failing,
	    cs.redo ? "on" : "off", cs.redo_logged, cs.redo_applied,
	    recent_count(d->recent), recent_untracked(d->recent));
	/* the process helper's work: asked, found, and left unnamed
	 * because too many were waiting (sockproc.h) */
	sockproc_stats(d->procs, &ps);
	n = strlen(buf);
	snprintf(buf + n, len - n, "procs_asked=%" PRIu64 "\nprocs_found=%"
	    PRIu64 "\nprocs_dropped=%" PRIu64 "\nprocs_scan_us=%" PRIu64 "\n",
	    ps.asked, ps.found, ps.dropped + d->ask_dropped, ps.usec);
}

/* smtp_ports - the configured SMTP ports plus the queue port, once each */
static void
smtp_ports(struct daemon *d)
{
	size_t i, j;

	d->nports = 0;
	for (i = 0; i < d->cfg.n_smtp_ports; i++)
		d->ports[d->nports++] = d->cfg.smtp_ports[i];
	for (j = 0; j < d->nports; j++)
		if (d->ports[j] == d->cfg.queue_port)
			return;
	d->ports[d->nports++] = d->cfg.queue_port;
}

/* setup_signals - block them and take them from a signalfd */
static int
setup_signals(struct daemon *d)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) == -1 ||
	    (d->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) ==
	    -1)
		return -1;
	return loop_add(d->loop, d->sigfd, EPOLLIN, on_signal, d);
}

/* setup_timer - the one-second housekeeping tick */
static int
setup_timer(struct daemon *d)
{
	struct itimerspec its;

	memset(&its, 0, sizeof(its));
	its.it_value.tv_sec = 1;
	its.it_interval.tv_sec = 1;
	if ((d->timerfd = timerfd_create(CLOCK_MONOTONIC,
	    TFD_NONBLOCK | TFD_CLOEXEC)) == -1 ||
	    timerfd_settime(d->timerfd, 0, &its, NULL) == -1)
		return -1;
	return loop_add(d->loop, d->timerfd, EPOLLIN, on_timer, d);
}

/*
 * runtime_dir - create the directory of a unix socket path (by default
 * /run/mailgov, which is empty after every boot) when it is missing, and
 * give it to the daemon's user, which removes its sockets on the way out.
 * A directory that exists is the admin's or systemd's (RuntimeDirectory=)
 * and is left as it is.  Only the last component is created: /run itself
 * is not mailgovd's to make.
 */
static int
runtime_dir(const char *sock, uid_t uid, gid_t gid)
{
	char	 dir[CONFIG_PATHLEN];
	char	*slash;

	if (sock[0] == '\0')
		return 0;
	snprintf(dir, sizeof(dir), "%s", sock);
	if ((slash = strrchr(dir, '/')) == NULL || slash == dir)
		return 0;
	*slash = '\0';
	if (mkdir(dir, 0755) == -1) {
		if (errno == EEXIST)
			return 0;
		log_warn("mkdir %s", dir);
		return -1;
	}
	if (chown(dir, uid, gid) == -1) {
		log_warn("chown %s", dir);
		return -1;
	}
	log_info("created %s", dir);
	return 0;
}

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: mailgovd [-dhv] [-f CONFIG] [--db PATH]\n"
	    "  -d         stay in the foreground, log to stderr\n"
	    "  -v         verbose (debug) logging\n"
	    "  -f CONFIG  configuration file (default %s)\n"
	    "  --db PATH  the database, overriding the configuration\n"
	    "  -h         this help\n", CONFIG_PATH);
}

/*
 * mark_setup - the key of the account header (mark.h), read (or made)
 * while still root: root's own file, 0600, next to the database.  Without
 * it held mail is still adopted, under the default account.
 */
static void
mark_setup(struct daemon *d)
{
	uint8_t	 key[MARK_KEYLEN];
	char	 path[sizeof(d->cfg.db) + 16], err[256];

	if (snprintf(path, sizeof(path), "%s-mark.key", d->cfg.db) >=
	    (int)sizeof(path))
		snprintf(err, sizeof(err), "the database path is too long");
	else if (mark_key_load(path, key, err, sizeof(err)) == 0) {
		policy_set_mark(d->policy, key);
		release_set_mark(d->release, key);
		explicit_bzero(key, sizeof(key));
		return;
	}
	log_warnx("no account header key (%s): mail held while mailgovd "
	    "is down goes to the default account", err);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "db", required_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	static struct daemon dd;
	struct daemon *d = &dd;
	const char *conf = NULL, *db = NULL;
	char err[512];
	int ch, fg = 0, verbose = 0;
	uid_t uid;
	gid_t gid;

	while ((ch = getopt_long(argc, argv, "df:hv", longopts, NULL)) != -1)
		switch (ch) {
		case 'd':
			fg = 1;
			break;
		case 'f':
			conf = optarg;
			break;
		case 'v':
			verbose++;
			break;
		case 'D':
			db = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	/* stderr until the daemon is in the background */
	log_init("mailgovd", 1, verbose);

	config_defaults(&d->cfg);
	if (config_load(&d->cfg, conf ? conf : CONFIG_PATH, conf != NULL,
	    err, sizeof(err)) == -1)
		fatalx("%s", err);
	if (db != NULL) {
		if (strlen(db) >= sizeof(d->cfg.db))
			fatalx("--db: path too long");
		snprintf(d->cfg.db, sizeof(d->cfg.db), "%s", db);
	}
	smtp_ports(d);

	if (!privs_have_net_admin())
		fatalx("CAP_NET_ADMIN is missing: mailgovd must be started "
		    "as root (or with CAP_NET_ADMIN) to bind NFQUEUE %u; it "
		    "keeps only that capability", d->cfg.queue_num);
	if (privs_user(d->cfg.user, &uid, &gid, err, sizeof(err)) == -1)
		fatalx("%s (set user in %s)", err,
		    conf ? conf : CONFIG_PATH);

	if ((d->st = store_open(d->cfg.db, STORE_CREATE, STORE_BUSY_MS, err,
	    sizeof(err))) == NULL)
		fatalx("%s", err);
	/*
	 * Counts only the redo log has go into SQLite before anything is
	 * loaded from it; also when the log was just turned off, so that
	 * turning it off after a crash loses nothing.
	 */
	{
		char path[sizeof(d->cfg.db) + 8];

		if (snprintf(path, sizeof(path), "%s-redo", d->cfg.db) >=
		    (int)sizeof(path))
			fatalx("db path too long for its redo log");
		if (d->cfg.redo_log || access(path, F_OK) == 0) {
			if ((d->redo = redo_open(path, d->cfg.sync_full, err,
			    sizeof(err))) == NULL)
				fatalx("%s", err);
			if (redo_replay(d->redo, d->st) == -1)
				fatalx("cannot replay the redo log %s", path);
		}
		if (!d->cfg.redo_log) {
			redo_close(d->redo);
			d->redo = NULL;
		}
	}
	if ((d->accts = acct_load(d->st, &d->cfg)) == NULL)
		fatalx("cannot load the accounts from %s", d->cfg.db);
	/* After the open: SQLite has created its -wal and -shm by now. */
	privs_own_db(d->cfg.db, uid, gid);

	if ((d->flows = flow_new(d->cfg.flow_max)) == NULL)
		fatalx("cannot allocate a flow table of %u flows",
		    d->cfg.flow_max);
	flow_set_uid_max(d->flows, d->cfg.flow_uid_max);
	if ((d->loop = loop_new()) == NULL ||
	    (d->alerts = alert_new(&d->cfg)) == NULL)
		fatalx("out of memory");
	if ((d->live = live_new()) == NULL)
		fatalx("out of memory");
	if ((d->diag = sockdiag_new()) == NULL)
		log_warnx("no SOCK_DIAG: connection caps are not enforced, "
		    "and flows are kept flow_ttl whether their connection "
		    "is open or not");
	else if ((d->watch = sockdiag_watch_new(d->ports, d->nports)) == NULL)
		log_warnx("closed connections leave the counts at the next "
		    "census only (up to a second late)");

	if (runtime_dir(d->cfg.control_socket, uid, gid) == -1 ||
	    runtime_dir(d->cfg.policy_unix, uid, gid) == -1)
		fatalx("cannot create the runtime directory");
	if ((d->nfq = nfq_queue_open(d->cfg.queue_num, d->cfg.queue_maxlen,
	    err, sizeof(err))) == NULL)
		fatalx("%s", err);
	if (d->cfg.control_socket[0] != '\0' &&
	    (d->ctl = ctlsock_new(d->loop, d->cfg.control_socket, uid, gid,
	    d->accts, d->flows, err, sizeof(err))) == NULL)
		fatalx("%s", err);
	if (d->ctl != NULL)
		ctlsock_set_status(d->ctl, status_extra, d);
	/* top's minute rings; without them top shows nobody */
	if ((d->recent = recent_new(RECENT_MAX)) == NULL)
		log_warnx("out of memory for top's minute rings");
	acct_set_recent(d->accts, d->recent);
	if (d->ctl != NULL)
		ctlsock_set_recent(d->ctl, d->recent);

	/* Into the background before any child is forked or thread made:
	 * both must belong to the process that stays. */
	if (!fg) {
		if (daemon(0, 0) == -1)
			fatal("daemon");
		log_init("mailgovd", 0, verbose);
	}
	if (setup_signals(d) == -1 || setup_timer(d) == -1)
		fatal("signalfd/timerfd");

	/* Privileged children are forked here, while still root. */
	if ((d->release = release_new(d->loop, d->accts, &d->cfg)) == NULL)
		log_warnx("held mail will not be released automatically");
	/* the process behind a direct socket: a helper that keeps only
	 * what reading other users' /proc/PID/fd takes (sockproc.h) */
	if ((d->procs = sockproc_new(d->loop, uid, gid)) == NULL ||
	    loop_on_turn(d->loop, ask_procs, d) == -1)
		log_warnx("the process behind a direct socket will not be "
		    "named");
	/* Every socket is bound as root: the unprivileged daemon could not
	 * create one in a directory that root owns. */
	if ((d->policy = policy_new(d->loop, d->accts, d->flows, d->release,
	    d->alerts, &d->cfg)) == NULL)
		fatalx("cannot start the policy server");
	mark_setup(d);
	policy_set_sockproc(d->policy, d->procs);
	if (d->cfg.metrics_listen[0] != '\0') {
		if ((d->metrics = metrics_new(d->loop, &d->cfg, d->accts,
		    d->flows, d->release, err, sizeof(err))) == NULL)
			fatalx("metrics_listen %s", err);
		policy_set_latency(d->policy,
		    metrics_policy_latency(d->metrics));
	}

	if (privs_drop(uid, gid, err, sizeof(err)) == -1)
		fatalx("%s", err);
	log_debug("running as %s (uid %u) with CAP_NET_ADMIN only",
	    d->cfg.user, (unsigned)uid);

	/*
	 * The queue path starts HERE, after the drop: the policy server's
	 * committer thread must be created unprivileged, because
	 * credentials and capabilities are per thread and a thread made
	 * before privs_drop() would keep root's.  Its listeners were bound
	 * above, as root.
	 */
	if ((d->commit = commit_new(d->loop, d->accts, &d->cfg, d->redo)) ==
	    NULL)
		fatalx("cannot start the committer");
	release_set_commit(d->release, d->commit);
	if (d->metrics != NULL)
		commit_set_latency(d->commit,
		    metrics_commit_latency(d->metrics));
	/* shared budgets: connect as the unprivileged user, in the
	 * background; until Redis answers, the local share decides */
	if (d->cfg.budget_store == STORE_REDIS) {
		if ((d->cluster = cluster_new(d->loop, &d->cfg)) == NULL)
			fatalx("cannot use redis %s", d->cfg.redis);
		cluster_set_accts(d->cluster, d->accts);
		policy_set_cluster(d->policy, d->cluster);
		release_set_cluster(d->release, d->cluster);
	}
	/* the loop's own writes (events, held mail, auto accounts) must
	 * not wait for an fsync or a checkpoint either */
	store_set_sync(d->st, 0);
	store_set_autocheckpoint(d->st, 0);
	store_set_busy(d->st, LOOP_BUSY_MS);
	if (policy_start(d->policy, d->commit) == -1)
		fatalx("cannot start the policy server");
	/* after the drop: its programs run as the daemon's user */
	if ((d->notify = notify_new(d->loop, d->accts, d->st, &d->cfg)) !=
	    NULL)
		alert_set_hook(d->alerts, notify_alert, d->notify);

	/* the first census before the first SYN: caps hold from the start */
	(void)census(d, clock_now_us(), NULL);
	if (d->watch != NULL && loop_add(d->loop, sockdiag_watch_fd(d->watch),
	    EPOLLIN, on_watch, d) == -1)
		fatal("loop_add");
	if (nfq_queue_start(d->nfq, d->loop, on_syn, d) == -1)
		fatalx("cannot serve NFQUEUE %u", d->cfg.queue_num);
	log_info("started: queue %u, %zu accounts, flow table %u (%zu per "
	    "UID)", d->cfg.queue_num, acct_count(d->accts), d->cfg.flow_max,
	    flow_uid_max(d->flows));

	/* Type=notify: NFQUEUE, the listeners and the redo replay are up */
	if (sdnotify("READY=1") == -1)
		log_warn("sd_notify READY=1");
	if (loop_run(d->loop) == -1)
		log_warnx("event loop failed");
	(void)sdnotify("STOPPING=1");

	/* on the way out, waiting for a lock is better than losing counts */
	store_set_busy(d->st, STORE_BUSY_MS);
	policy_free(d->policy);
	loop_off_turn(d->loop, ask_procs, d);
	sockproc_free(d->procs);
	d->procs = NULL;
	release_set_commit(d->release, NULL);
	commit_free(d->commit);	/* writes the counts still in memory */
	redo_close(d->redo);
	alert_drain(d->alerts, d->accts);
	events_commit(d);
	alert_set_hook(d->alerts, NULL, NULL);
	notify_free(d->notify);
	nfq_queue_close(d->nfq);
	release_free(d->release);
	metrics_free(d->metrics);	/* after policy and commit: its
					 * histograms are theirs until then */
	cluster_free(d->cluster);
	ctlsock_free(d->ctl);
	acct_set_recent(d->accts, NULL);
	recent_free(d->recent);
	sockdiag_watch_free(d->watch);
	sockdiag_free(d->diag);
	live_free(d->live);
	alert_free(d->alerts);
	flow_free(d->flows);
	acct_free(d->accts);
	store_close(d->st);
	loop_free(d->loop);
	log_info("stopped");
	return 0;
}
