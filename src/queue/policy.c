/*
 * policy - mailgovd's Postfix policy delegation server (see policy.h).
 *
 * The loop thread accepts, reads, parses (pparse), attributes, decides
 * (decide.h: the charge, in memory, and the answer), counts, and queues
 * each answer on its connection.  Answers that
 * depend on a count wait for the group commit (commit.h) that makes the
 * count durable: the answer is tagged with the batch that will carry the
 * charge and released when that batch is on disk.  So the loop never
 * waits for the disk, and per-connection order is kept because an answer
 * never overtakes an earlier one on the same connection.
 *
 * With budget_store = redis the charge of an END-OF-MESSAGE is the
 * cluster's (cluster.h): the connection is parked - its request kept, no
 * more read - until Redis answers, while every other connection is
 * served; then the request is decided with that answer, and its answer
 * still waits for the group commit.  When Redis cannot be asked, the
 * local share decides at once.
 *
 * A connection that stops in the middle of a request is closed after
 * request_timeout; an idle one after idle_timeout (Postfix keeps its
 * policy connections open for up to max_idle = 100 s and reuses them).
 *
 * Trusts: nothing a client sends.  Peers are checked at accept: web UIDs
 * may not talk to the policy server (they could spend other accounts'
 * budgets).  Requests are bounded by pparse; malformed input is logged
 * (rate-limited, sanitised), gets no reply and the connection is closed.
 */
#define _GNU_SOURCE		/* accept4, struct ucred */
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <inttypes.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <pwd.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "acct.h"
#include "alert.h"
#include "budget.h"
#include "clock.h"
#include "cluster.h"
#include "commit.h"
#include "config.h"
#include "decide.h"
#include "identity.h"
#include "log.h"
#include "loop.h"
#include "mark.h"
#include "num.h"
#include "origin.h"
#include "policy.h"
#include "pparse.h"
#include "prom.h"
#include "release.h"
#include "store.h"
#include "verdicts.h"

#define POLICY_MAX_CONNS	1024	/* Postfix needs one per smtpd */
#define POLICY_UID_SHARE	64	/* any other local UID, at most */
#define POLICY_UID_SLOTS	64	/* distinct such UIDs at once */
#define POLICY_REMOTE		((uint32_t)-2)	/* a peer on another host */
#define POLICY_BACKLOG		1024
#define POLICY_ACCEPT_BURST	64	/* accepts per wake-up */
#define POLICY_OUT_MAX		8192	/* pending answer bytes: stop reading */
#define POLICY_ANSWER_MAX	512	/* one answer, "action=...\n\n" */
#define POLICY_INST_SLOTS	4	/* transactions tracked per connection */
#define POLICY_INST_LEN		48	/* Postfix instance ids are ~25 bytes */
#define POLICY_BARRIERS		4	/* at most 2 batches are ever pending */
#define POLICY_PAUSE_MS		1000	/* accept pause after EMFILE */
#define POLICY_REQ_TIMEOUT	30	/* s: an unfinished request */
#define POLICY_IDLE_TIMEOUT	600	/* s: no request at all */
#define POLICY_SWEEP_MS		1000	/* how often timeouts are checked */
#define POLICY_LOG_RATE		20	/* malformed-input lines per second */
#define POLICY_OWED		2	/* accepting answers tracked per
					 * connection (Postfix asks one at
					 * a time) */
#define POLICY_VERDICTS		8192	/* recent queue verdicts remembered */
#define POLICY_STAMPS		4	/* answers timed at once per connection
					 * (Postfix asks one at a time) */
#define POLICY_SCRIPTS		256	/* (account, script) counts waiting
					 * for the once-a-second write */

enum lkind { L_UNIX, L_TCP };

struct listener {
	struct policy	*p;
	int		 fd;
	enum lkind	 kind;
	int		 paused;
};

/* bytes of the output up to end may go once batch seq is durable */
struct barrier {
	size_t		end;
	uint64_t	seq;
};

/*
 * an accepting END-OF-MESSAGE answer of the queue instance not yet
 * delivered: if the client goes first, Postfix held the message
 * (default_action) after the charge was made
 */
struct owed {
	size_t		end;		/* its last byte in out[] */
	char		queue_id[32];
	int64_t		account;
	uint32_t	rcpts;
	uint64_t	size;
	char		sender[256];
};

/* recipients counted so far in one SMTP transaction */
struct inst {
	char		id[POLICY_INST_LEN];
	uint32_t	rcpts;
	int		marked;		/* the account header was prepended */
	uint64_t	used;		/* LRU tick */
};

/* a connection waiting for the cluster's answer to its request */
struct park {
	struct conn	*c;		/* NULL: closed meanwhile */
	int64_t		 acct;
	int		 queue;
};

struct conn {
	struct policy	*p;
	struct park	*park;		/* parked: c->req waits for Redis */
	int		 fd;
	char		 peer[96];	/* for the log */
	char		 in[PP_REQ_MAX];
	size_t		 inlen;		/* bytes in in[] */
	size_t		 start;		/* where the current request starts */
	struct pp_req	 req;
	char		*out;		/* POLICY_OUT_MAX + POLICY_ANSWER_MAX */
	size_t		 outlen;	/* bytes queued */
	size_t		 sent;		/* bytes written */
	size_t		 rel;		/* bytes that may be written */
	struct barrier	 bar[POLICY_BARRIERS];
	unsigned	 nbar;
	struct owed	 owed[POLICY_OWED];
	unsigned	 nowed;
	uint64_t	 last_seq;	/* batch of the latest answer */
	uint32_t	 events;	/* what the loop watches */
	int		 eof;
	uint64_t	 last_rx;	/* monotonic s of the last bytes read */
	/* queue instance: the last attribution, keyed by the client */
	char		 id_key[192];
	int64_t		 id_acct;
	struct inst	 inst[POLICY_INST_SLOTS];
	uint64_t	 tick;
	struct conn	*wprev, *wnext;	/* on the list waiting for a commit */
	struct conn	*aprev, *anext;	/* on the list of all connections */
	int		 waiting;
	uint32_t	 uid;		/* the peer's, for its share of slots */
	/* with a latency histogram: when the bytes being parsed were read,
	 * and where each timed answer ends in out[] */
	uint64_t	 rx_us;
	struct {
		size_t		end;
		uint64_t	t;
	}		 stamp[POLICY_STAMPS];
	unsigned	 nstamp;
};

/* connections held by one peer UID */
struct uidslot {
	uint32_t	uid;
	unsigned	n;
};

/* messages of one script of one account, not yet in the store */
struct tally {
	int64_t		account;
	uint64_t	n;
	char		script[ORIGIN_MAX];
};

struct policy {
	struct loop		*loop;
	struct accts		*accts;
	struct flows		*flows;
	struct release		*rel;
	const struct config	*cfg;
	struct alerts		*alerts;
	struct listener		 ls[2];
	unsigned		 nls;
	int			 pause_fd;	/* timerfd: resume accepting */
	int			 sweep_fd;	/* timerfd: timeouts */
	unsigned		 nconns;
	struct conn		*wait_head;	/* sentinel of the wait list */
	struct conn		*all_head;	/* sentinel of every connection */
	struct commit		*cm;
	uint64_t		 req_timeout, idle_timeout;	/* s */
	uint64_t		 warn_tat;	/* log rate limiter */
	uid_t			 postfix_uid;	/* Postfix's mail owner */
	struct uidslot		 uids[POLICY_UID_SLOTS];
	struct verdicts		*verdicts;	/* queue EOMs, by queue ID */
	struct decide_env	 env;		/* verdicts and may_hold */
	struct prom_hist	*lat;		/* answer latency, or NULL */
	int			 marking;	/* mark_key is set */
	struct cluster		*cl;		/* budget_store = redis */
	int			 have_ans;	/* the answer for the charge */
	enum cluster_answer	 ans;
	enum budget_kind	 ans_which;
	uint64_t		 ans_retry;
	uint8_t			 mark_key[MARK_KEYLEN];
	struct tally		 tally[POLICY_SCRIPTS];
	unsigned		 ntally;
	uint64_t		 tally_lost;	/* counts the table had no room for */
};

static void	conn_close(struct conn *);
static int	conn_flush(struct conn *);
static void	do_eom(struct conn *, const struct decide_req *,
		    struct acct *, int, uint64_t);
static void	conn_update_events(struct conn *);
static int	conn_process(struct conn *);
static struct uidslot *uid_slot(struct policy *, uint32_t);
static int	uid_shared(const struct policy *, uint32_t);

/* log_allowed - may a line an outsider can trigger go out (POLICY_LOG_RATE
 * a second, log_rate_ok) */
static int
log_allowed(uint64_t *tat, uint64_t now)
{
	return log_rate_ok(tat, now, POLICY_LOG_RATE, 1000000);
}

/* --- group commit ------------------------------------------------------- */

/* wait_release - send what the durable batches allow on every waiter
 * (the committer's callback after each batch) */
static void
wait_release(void *arg)
{
	struct policy	*p = arg;
	struct conn	*c, *next;
	uint64_t	 durable = commit_durable(p->cm);
	unsigned	 i, k;

	for (c = p->wait_head->wnext; c != p->wait_head; c = next) {
		next = c->wnext;
		for (i = 0; i < c->nbar && c->bar[i].seq <= durable; i++)
			c->rel = c->bar[i].end;
		for (k = 0; i < c->nbar; i++, k++)
			c->bar[k] = c->bar[i];
		c->nbar = k;
		if (c->nbar == 0) {
			c->wprev->wnext = c->wnext;
			c->wnext->wprev = c->wprev;
			c->waiting = 0;
		}
		(void)conn_flush(c);	/* may close c: next taken first */
	}
}

/* --- answers ------------------------------------------------------------- */

/*
 * answer_text - queue "action=TEXT\n\n" on c, TEXT being n bytes (at most
 * POLICY_ANSWER_MAX - 17).  dep says the answer depends on a count
 * charged into the open batch.  An answer never overtakes an earlier one
 * on the same connection.
 */
static void
answer_text(struct conn *c, int dep, const char *text, size_t n)
{
	struct policy	*p = c->p;
	uint64_t	 seq;
	size_t		 room = POLICY_OUT_MAX + POLICY_ANSWER_MAX - c->outlen;

	if (n + 9 > room)	/* cannot happen: reading stops */
		panic("policy: output buffer overrun");
	memcpy(c->out + c->outlen, "action=", 7);
	memcpy(c->out + c->outlen + 7, text, n);
	memcpy(c->out + c->outlen + 7 + n, "\n\n", 2);
	c->outlen += 7 + n + 2;
	if (p->lat != NULL && c->nstamp < POLICY_STAMPS) {
		c->stamp[c->nstamp].end = c->outlen;
		c->stamp[c->nstamp].t = c->rx_us;
		c->nstamp++;
	}

	seq = dep ? commit_need(p->cm) : c->last_seq;
	c->last_seq = seq;
	if (seq <= commit_durable(p->cm) && c->nbar == 0) {
		c->rel = c->outlen;
		return;
	}
	if (c->nbar > 0 && c->bar[c->nbar - 1].seq == seq) {
		c->bar[c->nbar - 1].end = c->outlen;
		return;
	}
	if (c->nbar == POLICY_BARRIERS)
		panic("policy: too many pending batches");
	c->bar[c->nbar].end = c->outlen;
	c->bar[c->nbar].seq = seq;
	c->nbar++;
	if (!c->waiting) {
		c->waiting = 1;
		c->wnext = p->wait_head;
		c->wprev = p->wait_head->wprev;
		p->wait_head->wprev->wnext = c;
		p->wait_head->wprev = c;
	}
}

/* answer - answer_text, formatted */
static void
answer(struct conn *c, int dep, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
answer(struct conn *c, int dep, const char *fmt, ...)
{
	va_list		 ap;
	int		 n;
	char		 text[POLICY_ANSWER_MAX];

	va_start(ap, fmt);
	n = vsnprintf(text, sizeof(text) - 16, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(text) - 16)
		n = (int)sizeof(text) - 17;
	answer_text(c, dep, text, (size_t)n);
}

_Static_assert(DECIDE_TEXT_MAX <= POLICY_ANSWER_MAX - 16,
    "a decision's answer fits where answer() puts its own");

/* --- attribution --------------------------------------------------------- */

/* port_of - a port attribute, 0 when missing or bad */
static uint16_t
port_of(const char *s)
{
	uint64_t	 v;
	const char	*err;

	if (s == NULL || num_u64(s, 1, 65535, 0, &v, &err) == -1)
		return 0;
	return (uint16_t)v;
}

/*
 * attribute_queue - the account of the UID that owns the client's socket
 * (identity.h).  NULL when no socket can be found: the sender is then
 * unknown, and the caller refuses for now rather than charge someone
 * else or nobody.
 */
static struct acct *
attribute_queue(struct conn *c, const struct decide_req *q, uint64_t now)
{
	struct policy	*p = c->p;
	struct acct	*a;
	char		 key[sizeof(c->id_key)];
	uint16_t	 cport, sport;
	uint32_t	 uid;
	int		 n;

	if (q->caddr == NULL)
		return NULL;
	cport = port_of(q->cport);
	sport = port_of(q->sport);
	/*
	 * Postfix reuses a policy connection for many SMTP sessions, and a
	 * later session can come from the same address and port (another
	 * UID may bind it).  The answer is kept for one mail transaction
	 * (instance) only: each is attributed afresh.
	 */
	n = snprintf(key, sizeof(key), "%s|%u|%s|%u|%s", q->caddr, cport,
	    q->saddr ? q->saddr : "", sport, q->instance ? q->instance : "");
	if (q->instance != NULL && n > 0 && (size_t)n < sizeof(key) &&
	    c->id_acct > 0 && strcmp(key, c->id_key) == 0 &&
	    (a = acct_by_id(p->accts, c->id_acct)) != NULL)
		return a;
	c->id_acct = 0;
	if (identity_uid(p->flows, q->caddr, cport, q->saddr, sport,
	    now / 1000000u, &uid) == -1)
		return NULL;
	/* new mail: a web UID seen for the first time gets its account
	 * here; one with no account of its own (root, a system user)
	 * is the default account's */
	if ((a = acct_adopt_uid(p->accts, uid, UINT32_MAX)) == NULL)
		a = acct_default(p->accts);
	if (a != NULL && n > 0 && (size_t)n < sizeof(key)) {
		memcpy(c->id_key, key, (size_t)n + 1);
		c->id_acct = a->id;
	}
	return a;
}

/* --- counting ------------------------------------------------------------ */

/* inst_slot - the recipient counter of one transaction (LRU table) */
static struct inst *
inst_slot(struct conn *c, const char *id)
{
	struct inst	*s, *victim = &c->inst[0];
	unsigned	 i;

	c->tick++;
	for (i = 0; i < POLICY_INST_SLOTS; i++) {
		s = &c->inst[i];
		if (s->used != 0 && strncmp(s->id, id, sizeof(s->id) - 1) == 0) {
			s->used = c->tick;
			return s;
		}
		if (s->used < victim->used)
			victim = s;
	}
	snprintf(victim->id, sizeof(victim->id), "%s", id);
	victim->rcpts = 0;
	victim->marked = 0;
	victim->used = c->tick;
	return victim;
}

/* inst_drop - the transaction ended */
static void
inst_drop(struct conn *c, const char *id)
{
	unsigned	i;

	for (i = 0; i < POLICY_INST_SLOTS; i++)
		if (c->inst[i].used != 0 &&
		    strncmp(c->inst[i].id, id, sizeof(c->inst[i].id) - 1) == 0)
			c->inst[i].used = 0;
}

/*
 * req_origin - who sent the queue instance's message, as mailgov-sendmail
 * said in its greeting (origin.h).  A claim of the web user: shown and
 * counted beside the account, never used to choose it.  Empty for any
 * other client, and on the main instance, whose clients are not ours.
 */
static void
req_origin(const struct decide_req *q, struct origin *o)
{
	if (q->context == NULL || strcmp(q->context, "queue") != 0 ||
	    origin_from_helo(q->helo, o) == -1)
		memset(o, 0, sizeof(*o));
}

/* tally - one more message of a from the script o names (or its
 * executable), for the store at the next sweep */
static void
tally(struct policy *p, const struct acct *a, const struct origin *o)
{
	const char	*name = o->script[0] ? o->script : o->exe;
	struct tally	*t;
	unsigned	 i;

	for (i = 0; i < p->ntally; i++) {
		t = &p->tally[i];
		if (t->account == a->id && strcmp(t->script, name) == 0) {
			t->n++;
			return;
		}
	}
	if (p->ntally == POLICY_SCRIPTS) {
		p->tally_lost++;
		return;
	}
	t = &p->tally[p->ntally++];
	t->account = a->id;
	t->n = 1;
	snprintf(t->script, sizeof(t->script), "%s", name);
}

/* tally_flush - the counts per script, in one transaction; kept for the
 * next sweep when the store refuses */
static void
tally_flush(struct policy *p)
{
	struct store	*st;
	int64_t		 now = (int64_t)(clock_now_us() / 1000000u);
	unsigned	 i;

	if (p->tally_lost > 0 && log_allowed(&p->warn_tat, clock_now_us())) {
		log_warnx("policy: %" PRIu64 " messages not counted per "
		    "script: more than %d scripts in one second",
		    p->tally_lost, POLICY_SCRIPTS);
		p->tally_lost = 0;
	}
	if (p->ntally == 0 || (st = acct_store(p->accts)) == NULL)
		return;
	if (store_begin(st) == -1)
		goto fail;
	for (i = 0; i < p->ntally; i++)
		if (store_script_count(st, p->tally[i].account,
		    p->tally[i].script, p->tally[i].n, now) == -1 &&
		    acct_by_id(p->accts, p->tally[i].account) != NULL) {
			store_rollback(st);
			goto fail;
		}
	if (store_commit(st) == -1)
		goto fail;
	p->ntally = 0;
	return;
fail:
	if (log_allowed(&p->warn_tat, clock_now_us()))
		log_warnx("policy: counting messages per script: %s; "
		    "retried in a second", store_error(st));
}

/* origin_fields - " pid= exe= cwd= script=" for an alert, or "" */
static void
origin_fields(const struct origin *o, char *buf, size_t len)
{
	buf[0] = '\0';
	if (origin_empty(o))
		return;
	snprintf(buf, len, " pid=%lu exe=%s cwd=%s script=%s",
	    (unsigned long)o->pid, o->exe[0] ? o->exe : "-",
	    o->cwd[0] ? o->cwd : "-", o->script[0] ? o->script : "-");
}

/* budget_alert - a budget check ended over (kind), or a refusal that is
 * no budget's (kind -1, named kname): the alert module logs a crossing
 * once and records it */
static void
budget_alert(struct policy *p, struct acct *a, unsigned checked, int kind,
    const char *kname, const char *action, const struct decide_req *q,
    uint64_t now)
{
	char		 sender[128], qid[40], fields[1024];
	char		 who[4 * ORIGIN_MAX + 64];
	struct origin	 o;

	log_clean(sender, sizeof(sender), q->sender ? q->sender : "",
	    q->sender ? strlen(q->sender) : 0);
	log_clean(qid, sizeof(qid), q->queue_id ? q->queue_id : "",
	    q->queue_id ? strlen(q->queue_id) : 0);
	req_origin(q, &o);
	origin_fields(&o, who, sizeof(who));
	snprintf(fields, sizeof(fields), "action=%s context=%s queue_id=%s "
	    "sender=<%s>%s", action,
	    q->context && strcmp(q->context, "queue") == 0 ? "queue" : "main",
	    qid[0] ? qid : "-", sender, who);
	if (kind >= 0)
		alert_budget(p->alerts, a, now, checked, 1u << kind, fields);
	else
		(void)alert(p->alerts, a, now, ALERT_WARN | ALERT_RECORD, kname,
		    "%s", fields);
}

/* alert_ok - checks that passed, so the alert module can see a budget
 * come back (a later refusal is then a new crossing) */
static void
alert_ok(struct policy *p, struct acct *a, unsigned checked, uint64_t now)
{
	alert_budget(p->alerts, a, now, checked, 0, "");
}

/*
 * apply - what follows from a decision about a's request: its counters
 * and its alert.  The answer is the caller's.
 */
static void
apply(struct policy *p, struct acct *a, const struct decision *d,
    const struct decide_req *q, uint64_t now)
{
	if (d->count & DECIDE_C_REFUSED) {
		acct_count_refused(a);
		acct_note(a, RECENT_REFUSED, 1);
	}
	if (d->count & DECIDE_C_HELD) {
		acct_count_held(a, 1);
		acct_note(a, RECENT_HELD, 1);
	}
	/* top's messages per minute: submitted, whether sent or held */
	if (d->count & (DECIDE_C_MESSAGE | DECIDE_C_HELD))
		acct_note(a, RECENT_MESSAGE, 1);
	if (d->count & DECIDE_C_MESSAGE) {
		acct_count_message(a, d->rcpts, d->size);
		acct_count_seen(a, (int64_t)(now / 1000000u));
	}
	if (d->alert_action != NULL)
		budget_alert(p, a, d->checked, d->alert_kind, d->alert_event,
		    d->alert_action, q, now);
	else if (d->checked != 0)
		alert_ok(p, a, d->checked, now);
}

/* do_rcpt - the per-message recipient cap, counted per transaction; on
 * the queue instance, the first recipient accepted also marks the
 * message with its account (mark.h) */
static void
do_rcpt(struct conn *c, const struct decide_req *q, struct acct *a,
    int queue, uint64_t now)
{
	struct decision	 d;
	struct inst	*s;
	char		 v[MARK_VALUE_MAX];

	if (q->instance == NULL || a == NULL) {
		answer(c, 0, "DUNNO");
		return;
	}
	s = inst_slot(c, q->instance);
	decide_rcpt(a, s->rcpts + 1, now, &d);
	apply(c->p, a, &d, q, now);
	if (d.action != DECIDE_DUNNO) {
		answer_text(c, d.dep, d.text, d.len);
		return;
	}
	s->rcpts = d.rcpts;
	if (queue && c->p->marking && !s->marked && q->queue_id != NULL &&
	    mark_make(c->p->mark_key, q->queue_id, a->name, v,
	    sizeof(v)) == 0) {
		s->marked = 1;
		answer(c, 0, "PREPEND " MARK_HEADER ": %s", v);
		return;
	}
	answer_text(c, d.dep, d.text, d.len);
}

/* may_hold - decide's question to release: room on hold for a? */
static int
may_hold(void *arg, const struct acct *a, uint64_t size, uint32_t *msgs,
    uint64_t *bytes)
{
	struct policy *p = arg;

	return release_may_hold(p->rel, a, size, msgs, bytes);
}

/* owe - an accepting answer of the queue instance was just queued on c:
 * watch it until it is delivered */
static void
owe(struct conn *c, const struct decide_req *q, const struct acct *a,
    const char *queue_id, uint32_t rcpts, uint64_t size)
{
	struct owed	*o;

	if (c->nowed == POLICY_OWED)
		return;		/* a client that pipelines: not Postfix */
	o = &c->owed[c->nowed++];
	o->end = c->outlen;
	snprintf(o->queue_id, sizeof(o->queue_id), "%s", queue_id);
	o->account = a->id;
	o->rcpts = rcpts;
	o->size = size;
	snprintf(o->sender, sizeof(o->sender), "%s",
	    q->sender ? q->sender : "");
}

/*
 * owed_lost - the client left before c's accepting answers went out.
 * Postfix gave up waiting and applied default_action: the message is on
 * hold, and it was charged already.  It gets a held row marked prepaid,
 * so that it is released in its turn and not charged a second time.
 */
static void
owed_lost(struct conn *c)
{
	struct policy	*p = c->p;
	struct owed	*o;
	struct acct	*a;
	unsigned	 i;

	for (i = 0; i < c->nowed; i++) {
		o = &c->owed[i];
		/* a retry of a message whose first answer was lost */
		if (verdicts_find(p->verdicts, o->queue_id, o->account) ==
		    VERDICT_HELD)
			continue;
		verdicts_put(p->verdicts, o->queue_id, o->account,
		    VERDICT_HELD);
		if ((a = acct_by_id(p->accts, o->account)) == NULL)
			continue;
		acct_count_held(a, 1);
		(void)release_note_held(p->rel, a, o->queue_id, o->rcpts,
		    o->size, o->sender, 1, NULL);
		if (log_allowed(&p->warn_tat, clock_now_us()))
			log_warnx("policy: queue_id=%s account=%s: the client "
			    "left before the answer accepting it went out; "
			    "Postfix holds it, and it will be released "
			    "without a second charge", o->queue_id, a->name);
	}
	c->nowed = 0;
}

/* owed_sent - forget the answers that went out (sent bytes of out[]) */
static void
owed_sent(struct conn *c)
{
	unsigned	i, k;

	for (i = 0, k = 0; i < c->nowed; i++)
		if (c->owed[i].end > c->sent)
			c->owed[k++] = c->owed[i];
	c->nowed = k;
}

/* do_eom - the transaction ended: decide (decide.h), then count, alert,
 * note a held message for release, and answer */
static void
do_eom(struct conn *c, const struct decide_req *q, struct acct *a,
    int queue, uint64_t now)
{
	struct policy	*p = c->p;
	struct decision	 d;
	struct origin	 o;

	if (q->instance != NULL)
		inst_drop(c, q->instance);
	decide_eom(&p->env, a, q, queue, now, &d);
	if (a == NULL) {
		answer_text(c, d.dep, d.text, d.len);
		return;
	}
	apply(p, a, &d, q, now);
	if (queue) {
		req_origin(q, &o);
		if (d.count & (DECIDE_C_MESSAGE | DECIDE_C_HELD))
			tally(p, a, &o);
	}
	if (d.note_held && p->rel != NULL)
		(void)release_note_held(p->rel, a, d.queue_id, d.rcpts,
		    d.size, q->sender ? q->sender : "", 0, queue ? &o : NULL);
	answer_text(c, d.dep, d.text, d.len);
	if (d.owe)
		owe(c, q, a, d.queue_id, d.rcpts, d.size);
}

/*
 * unattributed - the queue instance's client socket cannot be found, so
 * nobody can be charged: fail closed.  The sender gets a temporary error
 * (mail() returns false) and nothing is queued; charging the default
 * account instead would let a web user who hides its socket spend a
 * budget that is not its own.
 */
static void
unattributed(struct conn *c, const struct decide_req *q, uint64_t now)
{
	char	ca[64];

	if (log_allowed(&c->p->warn_tat, now)) {
		log_clean(ca, sizeof(ca), q->caddr ? q->caddr : "-",
		    q->caddr ? strlen(q->caddr) : 1);
		log_warnx("policy: client %s port %u: no socket owner found; "
		    "deferring", ca, port_of(q->cport));
	}
	answer(c, 0, "DEFER_IF_PERMIT 4.7.1 mailgov: cannot tell which "
	    "account sent this; try again later");
}

/* shared - decide's charge with budget_store = redis: the cluster's
 * answer to this request, else the local share (cluster.h) */
static enum budget_verdict
shared(void *arg, struct acct *a, uint32_t rcpts, uint64_t now,
    enum budget_kind *which, uint64_t *retry_at)
{
	struct policy *p = arg;

	if (p->have_ans) {
		p->have_ans = 0;
		if (p->ans == CLUSTER_OK) {
			acct_touch(a);
			return BUDGET_OK;
		}
		if (p->ans == CLUSTER_OVER) {
			*which = p->ans_which;
			*retry_at = p->ans_retry;
			return BUDGET_OVER;
		}
	}
	return cluster_charge_local(p->cl, a, rcpts, now, which, retry_at);
}

/* on_cluster - Redis answered a parked request: decide it with that
 * answer, then go on with what the client sent since */
static void
on_cluster(void *arg, enum cluster_answer ans, enum budget_kind which,
    uint64_t retry_at)
{
	struct park	*pk = arg;
	struct conn	*c = pk->c;
	struct policy	*p;
	struct decide_req q;
	struct acct	*a;
	int64_t		 id = pk->acct;
	int		 queue = pk->queue;

	free(pk);
	if (c == NULL)
		return;		/* the client left: nothing was decided */
	c->park = NULL;
	p = c->p;
	decide_req_fill(&q, &c->req);
	/* XXX an account deleted while Redis answered is nobody's now */
	a = acct_by_id(p->accts, id);
	if (ans == CLUSTER_BLOCKED && a != NULL && !a->blocked) {
		/* blocked from another node: this message is refused as a
		 * block is here; the node's own state stays its store's */
		a->blocked = 1;
		do_eom(c, &q, a, queue, clock_now_us());
		a->blocked = 0;
	} else {
		p->have_ans = 1;
		p->ans = ans;
		p->ans_which = which;
		p->ans_retry = retry_at;
		do_eom(c, &q, a, queue, clock_now_us());
		p->have_ans = 0;
	}
	c->start += c->req.len;
	pp_init(&c->req);
	(void)conn_process(c);
}

/* park - ask the cluster for this END-OF-MESSAGE's charge, when decide
 * would charge: 1 when c now waits for the answer */
static int
park(struct conn *c, const struct decide_req *q, struct acct *a, int queue)
{
	struct policy	*p = c->p;
	struct park	*pk;
	uint32_t	 rcpts;

	if (p->cl == NULL || !decide_eom_charges(&p->env, a, q, queue, &rcpts))
		return 0;
	if ((pk = calloc(1, sizeof(*pk))) == NULL)
		return 0;
	pk->c = c;
	pk->acct = a->id;
	pk->queue = queue;
	if (cluster_charge(p->cl, a, rcpts, on_cluster, pk) == -1) {
		free(pk);
		return 0;	/* not ready: the local share decides */
	}
	c->park = pk;
	return 1;
}

/* handle - one complete, well-formed request; 1 when it waits for the
 * cluster (c is parked), else 0 */
static int
handle(struct conn *c, const struct pp_req *r)
{
	struct decide_req	 q;
	struct acct	*a;
	uint64_t	 now;
	int		 queue, rcpt;

	decide_req_fill(&q, r);
	rcpt = q.state != NULL && strcmp(q.state, "RCPT") == 0;
	if (q.state == NULL || (!rcpt &&
	    strcmp(q.state, "END-OF-MESSAGE") != 0)) {
		answer(c, 0, "DUNNO");
		return 0;
	}
	now = clock_now_us();
	/* a reset by mailgovctl is seen before the account is charged */
	commit_fresh(c->p->cm);
	queue = q.context != NULL && strcmp(q.context, "queue") == 0;
	if (queue) {
		if ((a = attribute_queue(c, &q, now)) == NULL) {
			unattributed(c, &q, now);
			return 0;
		}
	} else
		a = decide_main_account(c->p->accts, &q);
	if (rcpt)
		do_rcpt(c, &q, a, queue, now);
	else if (park(c, &q, a, queue))
		return 1;
	else
		do_eom(c, &q, a, queue, now);
	return 0;
}

/* --- connections --------------------------------------------------------- */

/* malformed - log once (rate-limited, sanitised) and drop the client */
static void
malformed(struct conn *c, enum pp_status st)
{
	char	 near[80];
	size_t	 off = c->start + c->req.line, len;

	if (log_allowed(&c->p->warn_tat, clock_now_us())) {
		len = off < c->inlen ? c->inlen - off : 0;
		if (len > 60)
			len = 60;
		if (memchr(c->in + off, '\n', len) != NULL)
			len = (size_t)((char *)memchr(c->in + off, '\n', len) -
			    (c->in + off));
		log_clean(near, sizeof(near), c->in + off, len);
		log_warnx("policy: %s: malformed request (%s) near \"%s\"; "
		    "closing without a reply", c->peer, pp_strerror(st), near);
	}
	conn_close(c);
}

/* conn_process - answer every complete request in the input, as far as
 * the output buffer allows; -1 when c was closed (and freed) */
static int
conn_process(struct conn *c)
{
	enum pp_status	st;

	while (c->outlen < POLICY_OUT_MAX && c->park == NULL) {
		st = pp_parse(&c->req, c->in + c->start, c->inlen - c->start);
		if (st == PP_MORE)
			break;
		if (st != PP_DONE) {
			malformed(c, st);
			return -1;
		}
		if (handle(c, &c->req))
			break;		/* parked: the request stays */
		c->start += c->req.len;
		pp_init(&c->req);
	}
	/* keep the unfinished request at the front; the parser's offsets
	 * are relative to its start, so they stay valid */
	if (c->start > 0) {
		memmove(c->in, c->in + c->start, c->inlen - c->start);
		c->inlen -= c->start;
		c->start = 0;
	}
	return conn_flush(c);
}

/*
 * conn_update_events - read unless backlogged, write when blocked.  A
 * parked connection keeps reading until its buffer is full (what it
 * reads waits there, unparsed): Postfix sends nothing more before the
 * answer, so this only saves the two epoll_ctl calls per message that
 * turning EPOLLIN off and on again would cost, and sees a client that
 * left as soon as it leaves.
 */
static void
conn_update_events(struct conn *c)
{
	uint32_t ev = 0;

	if (!c->eof && c->outlen < POLICY_OUT_MAX &&
	    (c->park == NULL || c->inlen < sizeof(c->in)))
		ev |= EPOLLIN;
	if (c->sent < c->rel)
		ev |= EPOLLOUT;
	if (ev != c->events) {
		if (loop_mod(c->p->loop, c->fd, ev) == -1)
			log_warn("policy: %s: epoll", c->peer);
		c->events = ev;
	}
}

/* stamps_sent - the timed answers that went out, into the histogram */
static void
stamps_sent(struct conn *c)
{
	uint64_t now;
	unsigned i, k;

	if (c->nstamp == 0 || c->stamp[0].end > c->sent)
		return;
	now = clock_mono_us();
	for (i = 0; i < c->nstamp && c->stamp[i].end <= c->sent; i++)
		if (c->p->lat != NULL)
			prom_hist_observe(c->p->lat, now > c->stamp[i].t ?
			    now - c->stamp[i].t : 0);
	for (k = 0; i < c->nstamp; i++, k++)
		c->stamp[k] = c->stamp[i];
	c->nstamp = k;
}

/* conn_flush - write what may be written; close when done after EOF;
 * -1 when c was closed (and freed) */
static int
conn_flush(struct conn *c)
{
	ssize_t	n;
	size_t	k;
	int	was_full = c->outlen >= POLICY_OUT_MAX;

	while (c->sent < c->rel) {
		n = send(c->fd, c->out + c->sent, c->rel - c->sent,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			c->sent += (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		conn_close(c);		/* peer went away */
		return -1;
	}
	if (c->nowed > 0)
		owed_sent(c);
	stamps_sent(c);
	if (c->sent > 0 && c->sent == c->outlen) {
		c->sent = c->rel = c->outlen = 0;
	} else if (c->sent > POLICY_OUT_MAX / 2) {
		k = c->sent;
		memmove(c->out, c->out + k, c->outlen - k);
		c->outlen -= k;
		c->rel -= k;
		c->sent = 0;
		for (unsigned i = 0; i < c->nbar; i++)
			c->bar[i].end -= k;
		for (unsigned i = 0; i < c->nowed; i++)
			c->owed[i].end -= k;
		for (unsigned i = 0; i < c->nstamp; i++)
			c->stamp[i].end -= k;
	}
	if (c->eof && c->outlen == 0) {
		conn_close(c);
		return -1;
	}
	/* room again: answer what was read while the output was full */
	if (was_full && c->outlen < POLICY_OUT_MAX && c->inlen > 0)
		return conn_process(c);
	conn_update_events(c);
	return 0;
}

/* on_conn - a client's socket is readable or writable */
static void
on_conn(int fd, uint32_t events, void *arg)
{
	struct conn	*c = arg;
	ssize_t		 n;

	if ((events & EPOLLOUT) && conn_flush(c) == -1)
		return;		/* closed, c is gone */
	if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)) || c->eof ||
	    c->outlen >= POLICY_OUT_MAX)
		return;
	if (c->inlen == sizeof(c->in)) {
		if (c->park != NULL) {
			/* parked: the rest waits in the socket */
			conn_update_events(c);
			return;
		}
		/* cannot happen: pparse refuses a full buffer */
		conn_close(c);
		return;
	}
	n = recv(fd, c->in + c->inlen, sizeof(c->in) - c->inlen, 0);
	if (n == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		conn_close(c);
		return;
	}
	if (n == 0) {
		/* answers already owed still go out; then close.  Postfix
		 * never half-closes: it closes when it stops waiting, so an
		 * accepting answer not yet out never reached it */
		c->eof = 1;
		owed_lost(c);
		if (c->outlen == 0) {
			conn_close(c);
			return;
		}
		conn_update_events(c);
		return;
	}
	c->inlen += (size_t)n;
	c->last_rx = clock_mono_s();
	if (c->p->lat != NULL)
		c->rx_us = clock_mono_us();
	(void)conn_process(c);
}

/* conn_close - forget the client; pending answers are dropped */
static void
conn_close(struct conn *c)
{
	struct policy *p = c->p;

	if (c->fd == -1)
		return;
	if (c->park != NULL)
		c->park->c = NULL;	/* its answer finds nobody */
	owed_lost(c);
	loop_del(p->loop, c->fd);
	close(c->fd);
	c->fd = -1;
	if (c->waiting) {
		c->wprev->wnext = c->wnext;
		c->wnext->wprev = c->wprev;
	}
	c->aprev->anext = c->anext;
	c->anext->aprev = c->aprev;
	p->nconns--;
	if (uid_shared(p, c->uid)) {
		struct uidslot *u = uid_slot(p, c->uid);

		if (u != NULL && u->n > 0)
			u->n--;
	}
	free(c->out);
	/* the loop may still hold this batch's events for c's fd, but it
	 * checks its own registration (deleted above), never c */
	free(c);
}

/* same_addr - is the socket address a (v4, v6 or v4-mapped) addr */
static int
same_addr(const struct sockaddr *a, const struct sockaddr_storage *b)
{
	const struct sockaddr_in6 *b6 = (const void *)b;
	const struct sockaddr_in *b4 = (const void *)b;
	struct in_addr v4;

	if (a == NULL)
		return 0;
	if (b->ss_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&b6->sin6_addr)) {
		memcpy(&v4, &b6->sin6_addr.s6_addr[12], 4);
		return a->sa_family == AF_INET && memcmp(&((const struct
		    sockaddr_in *)(const void *)a)->sin_addr, &v4, 4) == 0;
	}
	if (a->sa_family != b->ss_family)
		return 0;
	if (a->sa_family == AF_INET)
		return memcmp(&((const struct sockaddr_in *)(const void *)a)->
		    sin_addr, &b4->sin_addr, 4) == 0;
	return memcmp(&((const struct sockaddr_in6 *)(const void *)a)->
	    sin6_addr, &b6->sin6_addr, 16) == 0;
}

/* local_peer - is the peer this host (loopback, or any of its addresses):
 * then the kernel can name its socket, and must */
static int
local_peer(const struct sockaddr_storage *a)
{
	const struct sockaddr_in6 *a6 = (const void *)a;
	const struct sockaddr_in *a4 = (const void *)a;
	struct ifaddrs *ifs, *i;
	int local = 0;

	if (a->ss_family == AF_INET &&
	    (ntohl(a4->sin_addr.s_addr) >> 24) == 127)
		return 1;
	if (a->ss_family == AF_INET6 && (IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr) ||
	    (IN6_IS_ADDR_V4MAPPED(&a6->sin6_addr) &&
	    a6->sin6_addr.s6_addr[12] == 127)))
		return 1;
	if (getifaddrs(&ifs) == -1)
		return 1;		/* cannot tell: treat it as local */
	for (i = ifs; i != NULL && !local; i = i->ifa_next)
		local = same_addr(i->ifa_addr, a);
	freeifaddrs(ifs);
	return local;
}

/*
 * peer_allowed - web users (acct_is_web) must not reach the policy server.
 * Fails closed: a local TCP peer whose socket the kernel cannot name is
 * refused.  *uid is the peer's UID, or POLICY_REMOTE for a peer on another
 * host (a listener on a non-loopback address is the admin's choice).
 */
static int
peer_allowed(struct policy *p, struct listener *l, int fd, char *peer,
    size_t plen, uint32_t *uid)
{
	struct sockaddr_storage	 a, b;
	socklen_t		 al = sizeof(a), bl = sizeof(b);
	char			 ca[INET6_ADDRSTRLEN], sa[INET6_ADDRSTRLEN];
	uint16_t		 cp, sp;

	if (l->kind == L_UNIX) {
		struct ucred	cr;
		socklen_t	crl = sizeof(cr);

		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crl) == -1)
			return 0;
		snprintf(peer, plen, "unix uid %u pid %d", (unsigned)cr.uid,
		    (int)cr.pid);
		*uid = cr.uid;
		return !acct_is_web(p->accts, cr.uid, cr.gid);
	}
	if (getpeername(fd, (void *)&a, &al) == -1 ||
	    getsockname(fd, (void *)&b, &bl) == -1)
		return 0;
	if (a.ss_family == AF_INET) {
		struct sockaddr_in *x = (void *)&a, *y = (void *)&b;

		inet_ntop(AF_INET, &x->sin_addr, ca, sizeof(ca));
		inet_ntop(AF_INET, &y->sin_addr, sa, sizeof(sa));
		cp = ntohs(x->sin_port);
		sp = ntohs(y->sin_port);
	} else if (a.ss_family == AF_INET6) {
		struct sockaddr_in6 *x = (void *)&a, *y = (void *)&b;

		inet_ntop(AF_INET6, &x->sin6_addr, ca, sizeof(ca));
		inet_ntop(AF_INET6, &y->sin6_addr, sa, sizeof(sa));
		cp = ntohs(x->sin6_port);
		sp = ntohs(y->sin6_port);
	} else
		return 0;
	snprintf(peer, plen, "%s:%u", ca, cp);
	if (identity_sock_diag(ca, cp, sa, sp, uid) == 0) {
		snprintf(peer + strlen(peer), plen - strlen(peer),
		    " uid %u", (unsigned)*uid);
		return !acct_is_web(p->accts, *uid, UINT32_MAX);
	}
	if (local_peer(&a)) {
		snprintf(peer + strlen(peer), plen - strlen(peer),
		    " (no socket owner found)");
		return 0;
	}
	*uid = POLICY_REMOTE;
	return 1;
}

/* uid_slot - the connection count of one peer UID; NULL when the table
 * is full */
static struct uidslot *
uid_slot(struct policy *p, uint32_t uid)
{
	struct uidslot	*free_slot = NULL;
	unsigned	 i;

	for (i = 0; i < POLICY_UID_SLOTS; i++) {
		if (p->uids[i].n > 0 && p->uids[i].uid == uid)
			return &p->uids[i];
		if (p->uids[i].n == 0 && free_slot == NULL)
			free_slot = &p->uids[i];
	}
	if (free_slot != NULL)
		free_slot->uid = uid;
	return free_slot;
}

/* uid_shared - is uid one of those that share a bounded number of slots:
 * not Postfix (root or its mail owner), nor a peer on another host (a
 * Postfix the admin pointed at a non-loopback policy_tcp) */
static int
uid_shared(const struct policy *p, uint32_t uid)
{
	return uid != 0 && uid != p->postfix_uid && uid != POLICY_REMOTE;
}

/* uid_share - may one more connection of uid be taken */
static int
uid_share(struct policy *p, uint32_t uid)
{
	struct uidslot *u;

	if (!uid_shared(p, uid))
		return 1;
	u = uid_slot(p, uid);
	return u != NULL && u->n < POLICY_UID_SHARE;
}

/* on_pause_over - the accept pause after EMFILE ended */
static void
on_pause_over(int fd, uint32_t events, void *arg);

static void	on_accept(int fd, uint32_t events, void *arg);
static void	on_sweep(int fd, uint32_t events, void *arg);

/* pause_accepting - out of descriptors: stop accepting for a moment
 * instead of spinning on a listener that stays readable */
static void
pause_accepting(struct policy *p)
{
	struct itimerspec its;
	unsigned	  i;

	memset(&its, 0, sizeof(its));
	its.it_value.tv_sec = POLICY_PAUSE_MS / 1000;
	its.it_value.tv_nsec = (POLICY_PAUSE_MS % 1000) * 1000000L;
	for (i = 0; i < p->nls; i++)
		if (!p->ls[i].paused) {
			loop_del(p->loop, p->ls[i].fd);
			p->ls[i].paused = 1;
		}
	timerfd_settime(p->pause_fd, 0, &its, NULL);
	log_warnx("policy: out of file descriptors; not accepting for %d ms",
	    POLICY_PAUSE_MS);
}

static void
on_pause_over(int fd, uint32_t events, void *arg)
{
	struct policy	*p = arg;
	uint64_t	 v;
	unsigned	 i;

	(void)events;
	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return;
	for (i = 0; i < p->nls; i++)
		if (p->ls[i].paused && loop_add(p->loop, p->ls[i].fd, EPOLLIN,
		    on_accept, &p->ls[i]) == 0)
			p->ls[i].paused = 0;
}

/* on_accept - take new clients, a bounded number per wake-up */
static void
on_accept(int fd, uint32_t events, void *arg)
{
	struct listener	*l = arg;
	struct policy	*p = l->p;
	struct conn	*c;
	char		 peer[96];
	uint32_t	 uid = 0;
	int		 cfd, i, one = 1;

	(void)events;
	for (i = 0; i < POLICY_ACCEPT_BURST; i++) {
		cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd == -1) {
			if (errno == EMFILE || errno == ENFILE)
				pause_accepting(p);
			else if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR && errno != ECONNABORTED)
				log_warn("policy: accept");
			return;
		}
		if (p->nconns >= POLICY_MAX_CONNS) {
			if (log_allowed(&p->warn_tat, clock_now_us()))
				log_warnx("policy: %u connections already; "
				    "refusing another", p->nconns);
			close(cfd);
			continue;
		}
		if (!peer_allowed(p, l, cfd, peer, sizeof(peer), &uid)) {
			if (log_allowed(&p->warn_tat, clock_now_us()))
				log_warnx("policy: refusing %s: web users may "
				    "not use the policy service", peer);
			close(cfd);
			continue;
		}
		if (!uid_share(p, uid)) {
			if (log_allowed(&p->warn_tat, clock_now_us()))
				log_warnx("policy: refusing %s: it holds its "
				    "share of the connections already", peer);
			close(cfd);
			continue;
		}
		if (l->kind == L_TCP)
			setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one,
			    sizeof(one));
		c = calloc(1, sizeof(*c));
		if (c == NULL || (c->out = malloc(POLICY_OUT_MAX +
		    POLICY_ANSWER_MAX)) == NULL) {
			log_warn("policy: connection");
			free(c);
			close(cfd);
			continue;
		}
		c->p = p;
		c->fd = cfd;
		c->uid = uid;
		if (uid_shared(p, uid))
			uid_slot(p, uid)->n++;	/* uid_share found one */
		c->last_seq = 0;
		c->last_rx = clock_mono_s();
		snprintf(c->peer, sizeof(c->peer), "%s", peer);
		pp_init(&c->req);
		c->events = EPOLLIN;
		if (loop_add(p->loop, cfd, EPOLLIN, on_conn, c) == -1) {
			log_warn("policy: epoll");
			free(c->out);
			free(c);
			close(cfd);
			continue;
		}
		c->anext = p->all_head;
		c->aprev = p->all_head->aprev;
		p->all_head->aprev->anext = c;
		p->all_head->aprev = c;
		p->nconns++;
	}
}

/*
 * on_sweep - once a second: close a connection stuck in the middle of a
 * request for request_timeout (it holds a slot and 16 KiB), or silent for
 * idle_timeout.  A connection whose answers still wait for the disk or
 * for the client to read is left alone: that is not the client idling.
 */
static void
on_sweep(int fd, uint32_t events, void *arg)
{
	struct policy	*p = arg;
	struct conn	*c, *next;
	uint64_t	 v, now = clock_mono_s(), idle;

	(void)events;
	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return;
	tally_flush(p);
	for (c = p->all_head->anext; c != p->all_head; c = next) {
		next = c->anext;
		if (c->outlen > 0 || c->park != NULL)
			continue;
		idle = now - c->last_rx;
		if (c->inlen > 0 && idle >= p->req_timeout) {
			if (log_allowed(&p->warn_tat, clock_now_us()))
				log_warnx("policy: %s: unfinished request for "
				    "%" PRIu64 " s; closing", c->peer, idle);
			conn_close(c);
		} else if (idle >= p->idle_timeout) {
			log_debug("policy: %s: idle for %" PRIu64 " s; "
			    "closing", c->peer, idle);
			conn_close(c);
		}
	}
}

/* --- listeners ----------------------------------------------------------- */

/* listen_unix - a stream socket at path, mode 0666 so Postfix's smtpd
 * (user postfix) can connect; peers are checked at accept */
static int
listen_unix(const char *path)
{
	struct sockaddr_un	sun;
	struct stat		st;
	int			fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		log_warnx("policy: socket path too long: %s", path);
		return -1;
	}
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			log_warnx("policy: %s exists and is not a socket",
			    path);
			return -1;
		}
		unlink(path);	/* stale, from an earlier run */
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		log_warn("policy: socket");
		return -1;
	}
	if (bind(fd, (void *)&sun, sizeof(sun)) == -1) {
		log_warn("policy: bind %s", path);
		goto fail;
	}
	if (chmod(path, 0666) == -1) {
		log_warn("policy: chmod %s", path);
		goto fail;
	}
	if (listen(fd, POLICY_BACKLOG) == -1) {
		log_warn("policy: listen %s", path);
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

/* listen_tcp - "host:port" or "[v6]:port" */
static int
listen_tcp(const char *spec)
{
	struct addrinfo	 hints, *res = NULL;
	char		 host[CONFIG_PATHLEN];
	const char	*port;
	char		*colon;
	int		 fd = -1, one = 1, rc;

	snprintf(host, sizeof(host), "%s", spec);
	if ((colon = strrchr(host, ':')) == NULL) {
		log_warnx("policy: policy_tcp %s: no port", spec);
		return -1;
	}
	*colon = '\0';
	port = colon + 1;
	if (host[0] == '[' && colon > host && colon[-1] == ']') {
		colon[-1] = '\0';
		memmove(host, host + 1, strlen(host + 1) + 1);
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &res))
	    != 0) {
		log_warnx("policy: policy_tcp %s: %s", spec, gai_strerror(rc));
		return -1;
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1) {
		log_warn("policy: socket");
		goto fail;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, res->ai_addr, res->ai_addrlen) == -1) {
		log_warn("policy: bind %s", spec);
		goto fail;
	}
	if (listen(fd, POLICY_BACKLOG) == -1) {
		log_warn("policy: listen %s", spec);
		goto fail;
	}
	freeaddrinfo(res);
	return fd;
fail:
	if (fd != -1)
		close(fd);
	freeaddrinfo(res);
	return -1;
}

/* --- life cycle ---------------------------------------------------------- */

/* env_secs - a timeout from the environment (tests shorten them), else
 * dflt */
static uint64_t
env_secs(const char *name, uint64_t dflt)
{
	const char	*v = getenv(name), *err;
	uint64_t	 n;

	if (v == NULL || *v == '\0')
		return dflt;
	if (num_u64(v, 1, 86400, 0, &n, &err) == -1) {
		log_warnx("policy: %s=%s: %s; using %" PRIu64 " s", name, v,
		    err, dflt);
		return dflt;
	}
	return n;
}

/* postfix_uid - Postfix's mail owner, whose smtpd processes are the
 * policy clients (looked up once, before the privilege drop) */
static uid_t
postfix_uid(void)
{
	struct passwd *pw = getpwnam("postfix");

	return pw != NULL ? pw->pw_uid : 0;
}

/* policy_new - bind the configured listeners; called while mailgovd is
 * still root, so that a socket directory owned by root is no obstacle.
 * Nothing is served until policy_start */
struct policy *
policy_new(struct loop *loop, struct accts *accts, struct flows *flows,
    struct release *rel, struct alerts *alerts, const struct config *cfg)
{
	struct policy		*p;
	int			 fd;

	if ((p = calloc(1, sizeof(*p))) == NULL) {
		log_warn("policy_new");
		return NULL;
	}
	p->loop = loop;
	p->accts = accts;
	p->flows = flows;
	p->rel = rel;
	p->alerts = alerts;
	p->cfg = cfg;
	p->pause_fd = p->sweep_fd = -1;
	p->postfix_uid = postfix_uid();
	p->req_timeout = env_secs("MAILGOVD_POLICY_REQUEST_TIMEOUT",
	    POLICY_REQ_TIMEOUT);
	p->idle_timeout = env_secs("MAILGOVD_POLICY_IDLE_TIMEOUT",
	    POLICY_IDLE_TIMEOUT);
	p->wait_head = calloc(1, sizeof(*p->wait_head));
	p->all_head = calloc(1, sizeof(*p->all_head));
	p->verdicts = verdicts_new(POLICY_VERDICTS);
	p->env.verdicts = p->verdicts;
	p->env.may_hold = may_hold;
	p->env.arg = p;
	if (p->wait_head == NULL || p->all_head == NULL ||
	    p->verdicts == NULL) {
		log_warn("policy_new");
		free(p->wait_head);
		free(p->all_head);
		verdicts_free(p->verdicts);
		free(p);
		return NULL;
	}
	p->wait_head->wnext = p->wait_head->wprev = p->wait_head;
	p->all_head->anext = p->all_head->aprev = p->all_head;

	if (cfg->policy_unix[0] != '\0') {
		if ((fd = listen_unix(cfg->policy_unix)) == -1)
			goto fail;
		p->ls[p->nls].fd = fd;
		p->ls[p->nls].kind = L_UNIX;
		p->ls[p->nls].p = p;
		p->ls[p->nls].paused = 1;	/* not in the loop yet */
		p->nls++;
	}
	if (cfg->policy_tcp[0] != '\0') {
		if ((fd = listen_tcp(cfg->policy_tcp)) == -1)
			goto fail;
		p->ls[p->nls].fd = fd;
		p->ls[p->nls].kind = L_TCP;
		p->ls[p->nls].p = p;
		p->ls[p->nls].paused = 1;
		p->nls++;
	}
	return p;
fail:
	policy_free(p);
	return NULL;
}

/* policy_start - serve the bound listeners; answers that depend on a
 * count wait for cm's group commit.  Runs after the privilege drop,
 * because cm's thread must be unprivileged */
int
policy_start(struct policy *p, struct commit *cm)
{
	struct itimerspec	 its;
	const struct config	*cfg = p->cfg;
	unsigned		 i;

	p->cm = cm;
	p->pause_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK |
	    TFD_CLOEXEC);
	p->sweep_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK |
	    TFD_CLOEXEC);
	if (p->pause_fd == -1 || p->sweep_fd == -1) {
		log_warn("policy: timerfd");
		return -1;
	}
	memset(&its, 0, sizeof(its));
	its.it_value.tv_sec = its.it_interval.tv_sec = POLICY_SWEEP_MS / 1000;
	if (timerfd_settime(p->sweep_fd, 0, &its, NULL) == -1 ||
	    loop_add(p->loop, p->pause_fd, EPOLLIN, on_pause_over, p) == -1 ||
	    loop_add(p->loop, p->sweep_fd, EPOLLIN, on_sweep, p) == -1) {
		log_warn("policy: loop");
		return -1;
	}
	for (i = 0; i < p->nls; i++) {
		if (loop_add(p->loop, p->ls[i].fd, EPOLLIN, on_accept,
		    &p->ls[i]) == -1) {
			log_warn("policy: loop");
			return -1;
		}
		p->ls[i].paused = 0;
	}
	commit_on_durable(cm, wait_release, p);
	log_info("policy: listening on%s%s%s%s (sync=%s)",
	    cfg->policy_unix[0] ? " unix:" : "", cfg->policy_unix,
	    cfg->policy_tcp[0] ? " inet:" : "", cfg->policy_tcp,
	    cfg->sync_full ? "full" : "normal");
	return 0;
}

/* policy_set_cluster - charge messages to the cluster's budgets */
void
policy_set_cluster(struct policy *p, struct cluster *cl)
{
	p->cl = cl;
	p->env.charge = cl != NULL ? shared : NULL;
	p->env.charge_arg = p;
}

/* policy_set_mark - mark queue-instance mail with its account */
void
policy_set_mark(struct policy *p, const uint8_t key[MARK_KEYLEN])
{
	memcpy(p->mark_key, key, MARK_KEYLEN);
	p->marking = 1;
}

/* policy_set_latency - time the answers into h (the daemon's metrics) */
void
policy_set_latency(struct policy *p, struct prom_hist *h)
{
	p->lat = h;
}

/* policy_free - close every connection (answers still held back are
 * dropped: their counts are written by commit_free) */
void
policy_free(struct policy *p)
{
	struct conn	*c, *next;
	unsigned	 i;

	if (p == NULL)
		return;
	if (p->cm != NULL)
		commit_on_durable(p->cm, NULL, p);
	tally_flush(p);
	for (c = p->all_head->anext; c != p->all_head; c = next) {
		next = c->anext;
		conn_close(c);
	}
	free(p->wait_head);
	free(p->all_head);
	verdicts_free(p->verdicts);
	for (i = 0; i < p->nls; i++) {
		if (!p->ls[i].paused)
			loop_del(p->loop, p->ls[i].fd);
		close(p->ls[i].fd);
	}
	if (p->cfg->policy_unix[0] != '\0' && p->nls > 0)
		(void)unlink(p->cfg->policy_unix);
	if (p->pause_fd != -1) {
		loop_del(p->loop, p->pause_fd);
		close(p->pause_fd);
	}
	if (p->sweep_fd != -1) {
		loop_del(p->loop, p->sweep_fd);
		close(p->sweep_fd);
	}
	free(p);
}
