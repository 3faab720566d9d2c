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
 * privileged children forked; the policy listeners bound; privileges
 * dropped to cfg.user keeping only CAP_NET_ADMIN; the threads that run
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
#include "commit.h"
#include "config.h"
#include "ctlsock.h"
#include "flow.h"
#include "govern.h"
#include "log.h"
#include "loop.h"
#include "nfq.h"
#include "policy.h"
#include "privs.h"
#include "redo.h"
#include "release.h"
#include "sockdiag.h"
#include "store.h"

#define STORE_BUSY_MS	2000	/* start-up waits this long for a lock */
#define LOOP_BUSY_MS	200	/* then the loop thread, no longer: what
				 * it could not write is retried (usage,
				 * events, held rows), and the kernel
				 * path's verdicts must not wait behind
				 * another writer's lock */
#define EXPIRE_PER_TICK	65536	/* flows reclaimed per second at most */

struct daemon {
	struct config	 cfg;
	struct store	*st;
	struct accts	*accts;
	struct flows	*flows;
	struct loop	*loop;
	struct nfq	*nfq;
	struct sockdiag	*diag;
	struct alerts	*alerts;
	struct ctlsock	*ctl;
	struct policy	*policy;
	struct commit	*commit;
	struct redo	*redo;		/* redo_log = on */
	struct release	*release;
	uint16_t	 ports[CONFIG_MAX_PORTS + 1];	/* SMTP + queue */
	size_t		 nports;
	int		 sigfd, timerfd;
	uint64_t	 flow_full_logged;
};

/* now_us - wall-clock microseconds: budget state outlives the process */
static uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* endpoint - "a.b.c.d:port" or "[v6]:port" for the alerts */
static void
endpoint(char *buf, size_t len, int family, const uint8_t *addr,
    uint16_t port)
{
	char a[INET6_ADDRSTRLEN];

	if (inet_ntop(family, addr, a, sizeof(a)) == NULL)
		snprintf(a, sizeof(a), "?");
	snprintf(buf, len, family == AF_INET6 ? "[%s]:%u" : "%s:%u", a,
	    port);
}

/* --- the kernel path ---------------------------------------------------- */

struct livecount {
	struct daemon	*d;
	const struct acct *a;
	uint32_t	 uid;
	struct flow_key	 self;		/* the SYN being decided */
	uint64_t	 now;		/* unix seconds */
	int64_t		 n;
};

/*
 * count_sock - is this live SMTP client socket the account's?  The flow
 * table knows the account of every socket the queue saw (gid-mapped
 * accounts included); a socket it does not know (flow expired, or made
 * before the daemon started) is the account's when its UID maps to it.
 */
static void
count_sock(const struct sockdiag_sock *s, void *arg)
{
	struct livecount *lc = arg;
	struct flow_key k;
	struct flow *f;
	struct acct *b;

	memset(&k, 0, sizeof(k));
	k.family = s->family;
	memcpy(k.addr, s->saddr, 16);
	k.port = s->sport;
	if (k.family == lc->self.family && k.port == lc->self.port &&
	    memcmp(k.addr, lc->self.addr, 16) == 0) {
		lc->n++;
		return;
	}
	if ((f = flow_get(lc->d->flows, &k, lc->now)) != NULL) {
		if (f->account == lc->a->id && f->verdict != FLOW_REJECT)
			lc->n++;
		return;
	}
	if (s->uid == lc->uid) {
		lc->n++;
		return;
	}
	if (acct_is_web(lc->d->accts, s->uid, UINT32_MAX) &&
	    (b = acct_by_uid(lc->d->accts, s->uid, UINT32_MAX)) == lc->a)
		lc->n++;
}

/* count_live - govern's concurrency count, from SOCK_DIAG */
static int64_t
count_live(const struct acct *a, void *arg)
{
	struct livecount *lc = arg;

	lc->a = a;
	lc->n = 0;
	if (sockdiag_each(lc->d->diag, lc->d->ports, lc->d->nports,
	    count_sock, lc) < 0)
		return -1;
	return lc->n;
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
	uint64_t now = now_us(), secs = now / 1000000u;

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

	/* A retransmitted SYN: same answer, nothing charged twice. */
	f = flow_get(d->flows, &nf.key, secs);
	if (govern_reuse(f, &syn, secs)) {
		*mark = govern_mark(&d->cfg, p->mark, f->verdict);
		return 1;
	}

	a = p->has_uid ? acct_by_uid(d->accts, p->uid,
	    p->has_gid ? p->gid : UINT32_MAX) : acct_default(d->accts);
	if (a == NULL)
		return 0;	/* no account at all: plain redirect */

	memset(&lc, 0, sizeof(lc));
	lc.d = d;
	lc.uid = syn.uid;
	lc.self = nf.key;
	lc.now = secs;
	govern_decide(a, &d->cfg, &syn, now, count_live, &lc, &r);

	endpoint(dst, sizeof(dst), p->family, p->daddr, p->dport);
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

	/* CONNECTIONS: let through; REFUSED: reset by the rules (a reject,
	 * or implicit TLS to a host that is not an exempt relay) */
	if (r.verdict != FLOW_REJECT && r.reason != GOV_R_IMPLICIT_TLS)
		a->use.connections++;
	else
		a->use.refused++;
	a->use.last_seen = (int64_t)secs;
	acct_touch(a);		/* the committer writes it, never this thread */

	memcpy(nf.dst, p->daddr, 16);
	nf.dport = p->dport;
	nf.verdict = (uint8_t)r.verdict;
	nf.uid = syn.uid;
	nf.account = a->id;
	nf.seen = secs;
	nf.expires = secs + d->cfg.flow_ttl;
	if (flow_put(d->flows, &nf, secs) == -1 &&
	    d->flow_full_logged + 60 <= secs) {
		/* The verdict still stands; only the queue path loses
		 * this flow and falls back to SOCK_DIAG. */
		d->flow_full_logged = secs;
		log_warnx("flow table full (%zu flows): raise flow_max",
		    flow_count(d->flows));
	}
	*mark = govern_mark(&d->cfg, p->mark, r.verdict);
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
	uint64_t ticks, now = now_us();

	(void)events;
	if (read(fd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
		log_warn("timerfd");
	if (acct_reload(d->accts) == -1)
		log_warnx("reloading accounts failed; keeping the old view");
	(void)flow_expire(d->flows, now / 1000000u, EXPIRE_PER_TICK);
	alert_tick(d->alerts, d->accts, now);
	if (d->ctl != NULL)
		ctlsock_tick(d->ctl, now);
	if (d->release != NULL)
		release_tick(d->release, now);
	events_commit(d);
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

/* status_extra - the kernel path's counters for "status" */
static void
status_extra(char *buf, size_t len, void *arg)
{
	struct daemon *d = arg;
	const struct nfq_stats *s = nfq_queue_stats(d->nfq);

	snprintf(buf, len, "queue=%u\npackets=%" PRIu64 "\nsyns=%" PRIu64
	    "\nodd_packets=%" PRIu64 "\nnetlink_errors=%" PRIu64 "\n",
	    d->cfg.queue_num, s->packets, s->handled, s->odd, s->errors);
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
	if ((d->loop = loop_new()) == NULL ||
	    (d->alerts = alert_new(&d->cfg)) == NULL)
		fatalx("out of memory");
	if ((d->diag = sockdiag_new()) == NULL)
		log_warnx("no SOCK_DIAG: connection caps are not enforced");

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
	/* Every socket is bound as root: the unprivileged daemon could not
	 * create one in a directory that root owns. */
	if ((d->policy = policy_new(d->loop, d->accts, d->flows, d->release,
	    &d->cfg)) == NULL)
		fatalx("cannot start the policy server");

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
	/* the loop's own writes (events, held mail, auto accounts) must
	 * not wait for an fsync or a checkpoint either */
	store_set_sync(d->st, 0);
	store_set_autocheckpoint(d->st, 0);
	store_set_busy(d->st, LOOP_BUSY_MS);
	if (policy_start(d->policy, d->commit) == -1)
		fatalx("cannot start the policy server");
	policy_set_alerts(d->policy, d->alerts);

	if (nfq_queue_start(d->nfq, d->loop, on_syn, d) == -1)
		fatalx("cannot serve NFQUEUE %u", d->cfg.queue_num);
	log_info("started: queue %u, %zu accounts, flow table %u",
	    d->cfg.queue_num, acct_count(d->accts), d->cfg.flow_max);

	if (loop_run(d->loop) == -1)
		log_warnx("event loop failed");

	/* on the way out, waiting for a lock is better than losing counts */
	store_set_busy(d->st, STORE_BUSY_MS);
	policy_free(d->policy);
	release_set_commit(d->release, NULL);
	commit_free(d->commit);	/* writes the counts still in memory */
	redo_close(d->redo);
	alert_drain(d->alerts, d->accts);
	events_commit(d);
	nfq_queue_close(d->nfq);
	release_free(d->release);
	ctlsock_free(d->ctl);
	sockdiag_free(d->diag);
	alert_free(d->alerts);
	flow_free(d->flows);
	acct_free(d->accts);
	store_close(d->st);
	loop_free(d->loop);
	log_info("stopped");
	return 0;
}
