/*
 * release - held mail and its automatic release (see release.h).
 *
 * Two processes.  The privileged child (release_child.h), forked by
 * release_new() while mailgovd is still root, runs postsuper, postqueue
 * and postcat; everything else happens here, unprivileged.
 *
 * The main process, unprivileged, charges each held message to its
 * account's budget, oldest first, and asks the child to release it; it
 * stops at an account's first message that does not fit and does not look
 * at that account again before the budget engine says it could.  Answers
 * come back asynchronously: the loop never waits for postsuper.  Every
 * minute (and at start-up) it lists the queue and reconciles: held rows
 * whose message is gone are closed, messages on hold that the store does
 * not know (held by default_action=HOLD while mailgovd was down) are
 * adopted by the default account.
 *
 * It also keeps how much each account has on hold: the messages in the
 * account's n_held, their bytes here, both recounted from the store at
 * every reconcile.  The policy server bounds them (release_may_hold).
 *
 * The accounts with held mail are a dense array, walked by the tick,
 * with a hash index (hash.h) by account id beside it: the policy server
 * asks for one account per message it might hold, and a reconcile notes
 * every held row, so a scan per lookup would make a reconcile of 100k
 * accounts quadratic (4.3 s of a stalled loop, measured).
 *
 * Trusts: nothing in postqueue's output, nor in the child's answers
 * beyond their fixed layout (release_child.h).
 */
#define _GNU_SOURCE	/* pipe2 */
#include <sys/types.h>
#include <sys/wait.h>
#include <sys/epoll.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "acct.h"
#include "commit.h"
#include "clock.h"
#include "cluster.h"
#include "config.h"
#include "hash.h"
#include "log.h"
#include "num.h"
#include "loop.h"
#include "mark.h"
#include "postfix.h"
#include "queueid.h"
#include "release.h"
#include "release_child.h"
#include "store.h"

#define REL_IDLEN	RC_IDLEN
#define REL_INFLIGHT	128		/* requests the child has not answered */
#define REL_RECONCILE	60		/* seconds between queue listings */
#define REL_GRACE	120		/* a row younger than this is never
					 * judged gone (still being written) */
#define REL_QMAX	200000		/* queue entries one listing keeps */
#define REL_PENDMAX	10000		/* held rows waiting for the database */
#define REL_ADOPTMAX	256		/* strangers waiting for their headers */

struct inflight {
	char		id[REL_IDLEN];
	int64_t		account;
	uint32_t	rcpts;		/* counted when it leaves */
	uint64_t	size;
	uint64_t	seq;		/* the group commit carrying its charge */
	int		sent;		/* asked of the child yet */
	int		prepaid;	/* charged when it was accepted */
	int		charged;	/* charged for this release:
					 * refunded if the message does not
					 * leave */
	enum cluster_paid paid;		/* where, with budget_store = redis */
};

struct heldacct {
	int64_t		id;
	uint64_t	not_before;	/* microseconds: budget not yet back */
	uint64_t	bytes;		/* size of its held messages (the
					 * count is the account's n_held) */
	uint32_t	pend;		/* its rows in pend[] */
};

/* hent - the index of an account in held[] */
struct hent {
	HASH_ENTRY;
	uint32_t	idx;
};

struct qent {
	char		id[REL_IDLEN];
	int		hold;
	int64_t		arrival;
	uint64_t	size;
	uint32_t	rcpts;
	char		*sender;	/* hold entries only */
};

struct release {
	struct commit	*cm;		/* group commit, once it exists */
	struct cluster	*cl;		/* budget_store = redis */
	struct loop	*loop;
	struct accts	*accts;
	const struct config *cfg;
	pid_t		 child;
	int		 fd;		/* -1: the child is gone */

	struct inflight	 infl[REL_INFLIGHT];
	size_t		 n_infl;

	/* messages on hold that the store does not know, waiting for the
	 * child to read their account header */
	struct qent	 adopting[REL_ADOPTMAX];
	size_t		 n_adopting;
	int		 marking;	/* mark_key is set */
	uint8_t		 mark_key[MARK_KEYLEN];

	struct heldacct	*held;		/* accounts that have held mail */
	size_t		 n_held, cap_held;
	struct hash	 held_ix;	/* account id -> its hent */

	struct store_held *pend;	/* held rows the database refused */
	size_t		 n_pend, cap_pend;

	uint64_t	 next_tick, next_reconcile, fail_until;
	unsigned	 acct_gen;	/* the accounts' rebuild seen last */

	/* the running queue listing */
	int		 q_fd;		/* pipe from postqueue -j, or -1 */
	int		 q_running, q_eof, q_status;	/* q_status < 0: none */
	int64_t		 q_started;	/* unix seconds */
	char		*q_line;
	size_t		 q_len;
	int		 q_skip;	/* discarding an over-long line */
	struct qent	*q_ent;
	size_t		 q_n, q_cap;
	int		 q_over;
};

/* --- the main process: bookkeeping -------------------------------------- */

static void	adopting_clear(struct release *);

/* held_eq - does the hent hold account *key */
static int
held_eq(const void *ctx, const void *entry, const void *key)
{
	const struct release *r = ctx;
	const struct hent *e = entry;

	return r->held[e->idx].id == *(const int64_t *)key;
}

/* held_ent - the index entry of account id, or NULL */
static struct hent *
held_ent(const struct release *r, int64_t id)
{
	return hash_find(&r->held_ix, hash_u64((uint64_t)id), held_eq, r,
	    &id);
}

/* held_find - index of account id in the held set, or -1 */
static ssize_t
held_find(const struct release *r, int64_t id)
{
	const struct hent *e = held_ent(r, id);

	return e != NULL ? (ssize_t)e->idx : -1;
}

/* held_note - remember that account id has held mail; its index, or -1
 * when out of memory */
static ssize_t
held_note(struct release *r, int64_t id)
{
	struct heldacct *nh;
	struct hent *e;
	ssize_t	 i;
	size_t	 ncap;

	if ((i = held_find(r, id)) >= 0) {
		r->held[i].not_before = 0;
		return i;
	}
	if (r->n_held == r->cap_held) {
		ncap = r->cap_held ? r->cap_held * 2 : 16;
		if ((nh = reallocarray(r->held, ncap, sizeof(*nh))) == NULL) {
			log_warn("release: held accounts");
			return -1;
		}
		r->held = nh;
		r->cap_held = ncap;
	}
	if (r->n_held >= UINT32_MAX ||
	    (e = hash_insert(&r->held_ix, hash_u64((uint64_t)id))) == NULL) {
		log_warn("release: held accounts");
		return -1;
	}
	e->idx = (uint32_t)r->n_held;
	memset(&r->held[r->n_held], 0, sizeof(r->held[0]));
	r->held[r->n_held].id = id;
	return (ssize_t)r->n_held++;
}

/* held_add - account id (a, when it is known) holds one more message of
 * size bytes */
static void
held_add(struct release *r, int64_t id, struct acct *a, uint64_t size)
{
	ssize_t	 i;

	if ((i = held_note(r, id)) >= 0)
		r->held[i].bytes = num_add_counter(r->held[i].bytes, size);
	if (a != NULL)
		a->n_held++;
}

/* held_sub - one of a's held messages, of size bytes, is held no more */
static void
held_sub(struct release *r, struct acct *a, uint64_t size)
{
	ssize_t	 i;

	if (a->n_held > 0)
		a->n_held--;
	if ((i = held_find(r, a->id)) >= 0)
		r->held[i].bytes = r->held[i].bytes > size ?
		    r->held[i].bytes - size : 0;
}

/* held_drop - account id has no held mail any more; the last account
 * takes its place */
static void
held_drop(struct release *r, int64_t id)
{
	struct hent *e;
	uint32_t i;

	if ((e = held_ent(r, id)) == NULL)
		return;
	i = e->idx;
	hash_remove(&r->held_ix, e);
	if (i != r->n_held - 1) {
		r->held[i] = r->held[r->n_held - 1];
		if ((e = held_ent(r, r->held[i].id)) == NULL)
			panic("release: held account %" PRId64 " not indexed",
			    r->held[i].id);
		e->idx = i;
	}
	r->n_held--;
}

/* infl_find - the in-flight request for id, or -1 */
static ssize_t
infl_find(struct release *r, const char *id)
{
	size_t	 i;

	for (i = 0; i < r->n_infl; i++)
		if (strcmp(r->infl[i].id, id) == 0)
			return (ssize_t)i;
	return -1;
}

/*
 * refund - a release that did not happen (postsuper failed or timed out,
 * the message was no longer on hold, the helper died): give its charge
 * back, so that the message is charged once, when it leaves, and the
 * account does not pay meanwhile for mail still held.  A refund rather
 * than a charge after the fact: the charge stays durable before
 * postsuper runs, so a crash can never hand back budget for mail that
 * left; a crash before the refund is written only over-charges.
 * XXX a tool killed at its time limit after it had moved the message
 * cannot be told from one that had not: such a message leaves refunded,
 * and the next reconcile counts it as released by hand (uncharged, like
 * postsuper -H by the admin); at most one a minute (fail_until).
 * With budget_store = redis the charge is given back where it was made
 * (cluster_refund: in Redis only while Redis answers).
 */
static void
refund(struct release *r, const struct inflight *f)
{
	struct acct *a;

	if (!f->charged || (a = acct_by_id(r->accts, f->account)) == NULL)
		return;
	if (r->cl != NULL) {
		cluster_refund(r->cl, a, f->rcpts, f->paid);
		return;
	}
	acct_refund(a, BK_MESSAGES, 1);
	acct_refund(a, BK_RECIPIENTS, f->rcpts);
}

/* send_req - one request to the child, with an fd when fd >= 0 */
static int
send_req(struct release *r, enum rc_op op, const char *id, int fd)
{
	if (r->fd == -1)
		return -1;
	return release_child_send(r->fd, op, id, fd);
}

/* child_gone - the helper died: nothing can be released any more */
static void
child_gone(struct release *r)
{
	if (r->fd == -1)
		return;
	log_warnx("release: the privileged helper is gone; held mail stays "
	    "held until mailgovd is restarted");
	loop_del(r->loop, r->fd);
	close(r->fd);
	r->fd = -1;
	while (r->n_infl > 0)
		refund(r, &r->infl[--r->n_infl]);
	adopting_clear(r);
	if (r->child > 0)
		(void)waitpid(r->child, NULL, WNOHANG);
}

/* --- reconciling with the queue ---------------------------------------- */

/* q_reset - forget the current listing */
static void
q_reset(struct release *r)
{
	size_t	 i;

	if (r->q_fd != -1) {
		loop_del(r->loop, r->q_fd);
		close(r->q_fd);
		r->q_fd = -1;
	}
	for (i = 0; i < r->q_n; i++)
		free(r->q_ent[i].sender);
	r->q_n = 0;
	r->q_len = 0;
	r->q_skip = 0;
	r->q_over = 0;
	r->q_running = 0;
	r->q_eof = 0;
	r->q_status = -1;
}

/* q_line - one complete line of postqueue -j */
static void
q_line(struct release *r, const char *line, size_t len)
{
	struct pf_qentry e;
	struct qent *ne, *q;
	size_t	 ncap;

	if (len == 0)
		return;
	if (pf_qline_parse(line, len, &e) == -1) {
		log_debug("release: skipped a postqueue -j line");
		return;
	}
	if (r->q_n >= REL_QMAX) {
		r->q_over = 1;
		return;
	}
	if (r->q_n == r->q_cap) {
		ncap = r->q_cap ? r->q_cap * 2 : 256;
		if ((ne = reallocarray(r->q_ent, ncap, sizeof(*ne))) == NULL) {
			r->q_over = 1;
			return;
		}
		r->q_ent = ne;
		r->q_cap = ncap;
	}
	q = &r->q_ent[r->q_n++];
	memset(q, 0, sizeof(*q));
	snprintf(q->id, sizeof(q->id), "%s", e.queue_id);
	q->hold = strcmp(e.queue_name, "hold") == 0;
	q->arrival = e.arrival_time;
	q->size = e.message_size;
	q->rcpts = e.recipients;
	if (q->hold && (q->sender = strdup(e.sender)) == NULL)
		r->q_over = 1;
}

/* qent_cmp - order listing entries by queue ID */
static int
qent_cmp(const void *a, const void *b)
{
	return strcmp(((const struct qent *)a)->id,
	    ((const struct qent *)b)->id);
}

struct rec_walk {
	struct release	*r;
	char		(*gone)[REL_IDLEN];	/* rows to close */
	int		*gone_state;
	size_t		 n_gone, cap_gone;
	char		(*known)[REL_IDLEN];	/* every HELD row */
	size_t		 n_known, cap_known;
	int		 oom;
};

/* zero_held - forget an account's held count before recounting it */
static int
zero_held(struct acct *a, void *arg)
{
	(void)arg;
	a->n_held = 0;
	return 0;
}

/* rec_row - one HELD row against the listing */
static int
rec_row(const struct store_held *h, void *arg)
{
	struct rec_walk *w = arg;
	struct release *r = w->r;
	struct qent key, *q;
	void	*p;

	if (w->n_known == w->cap_known) {
		w->cap_known = w->cap_known ? w->cap_known * 2 : 256;
		if ((p = reallocarray(w->known, w->cap_known,
		    sizeof(*w->known))) == NULL) {
			w->oom = 1;
			return 1;
		}
		w->known = p;
	}
	snprintf(w->known[w->n_known++], REL_IDLEN, "%s", h->queue_id);
	held_add(r, h->account, acct_by_id(r->accts, h->account), h->size);
	if (infl_find(r, h->queue_id) >= 0 ||
	    h->since + REL_GRACE > r->q_started)
		return 0;
	snprintf(key.id, sizeof(key.id), "%s", h->queue_id);
	q = r->q_n == 0 ? NULL :
	    bsearch(&key, r->q_ent, r->q_n, sizeof(*q), qent_cmp);
	if (q != NULL && q->hold)
		return 0;
	if (w->n_gone == w->cap_gone) {
		w->cap_gone = w->cap_gone ? w->cap_gone * 2 : 64;
		if ((p = reallocarray(w->gone, w->cap_gone,
		    sizeof(*w->gone))) == NULL) {
			w->oom = 1;
			return 1;
		}
		w->gone = p;
		if ((p = reallocarray(w->gone_state, w->cap_gone,
		    sizeof(*w->gone_state))) == NULL) {
			w->oom = 1;
			return 1;
		}
		w->gone_state = p;
	}
	snprintf(w->gone[w->n_gone], REL_IDLEN, "%s", h->queue_id);
	/* still queued but not on hold: released by someone else; not in
	 * the queue at all: deleted (or released and delivered: the store
	 * cannot tell, and either way it is no longer held) */
	/* released by hand (postsuper -H): counted as the admin's */
	w->gone_state[w->n_gone] = q != NULL ? HELD_ADMIN : HELD_DELETED;
	w->n_gone++;
	return 0;
}

/* known_cmp - order queue IDs */
static int
known_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/*
 * pend_add - keep a held row the database refused (locked), so that the
 * message keeps its account; pend_flush writes it later.  Past
 * REL_PENDMAX the row is dropped and the next reconcile adopts the
 * message under the default account, as if mailgovd had been down.
 */
static int
pend_add(struct release *r, const struct store_held *h)
{
	struct store_held *n;
	size_t	 cap;
	ssize_t	 i;

	if (r->n_pend == r->cap_pend) {
		cap = r->cap_pend ? r->cap_pend * 2 : 16;
		if (cap > REL_PENDMAX || (n = reallocarray(r->pend, cap,
		    sizeof(*n))) == NULL)
			return -1;
		r->pend = n;
		r->cap_pend = cap;
	}
	r->pend[r->n_pend++] = *h;
	/* counted per account, so that the tick need not scan pend[] for
	 * each account whose rows are gone */
	if ((i = held_note(r, h->account)) >= 0)
		r->held[i].pend++;
	return 0;
}

/* pend_find - is queue_id waiting to be written */
static int
pend_find(const struct release *r, const char *queue_id)
{
	size_t i;

	for (i = 0; i < r->n_pend; i++)
		if (strcmp(r->pend[i].queue_id, queue_id) == 0)
			return 1;
	return 0;
}

/* pend_of - does account have held rows waiting to be written */
static int
pend_of(const struct release *r, int64_t account)
{
	ssize_t	 i;

	return (i = held_find(r, account)) >= 0 && r->held[i].pend > 0;
}

/* pend_flush - write the waiting held rows in one transaction */
static void
pend_flush(struct release *r)
{
	struct store *st = acct_store(r->accts);
	size_t	 i;

	if (r->n_pend == 0)
		return;
	if (store_begin(st) == -1)
		goto fail;
	for (i = 0; i < r->n_pend; i++) {
		if (store_held_add(st, &r->pend[i]) == 0)
			continue;
		if (strstr(store_error(st), "locked") != NULL)
			goto fail;	/* still locked: the next tick */
		/* a row the database will never take (its account
		 * deleted meanwhile): reconcile looks after the message */
		log_warnx("release: held queue_id=%s dropped: %s",
		    r->pend[i].queue_id, store_error(st));
	}
	if (store_commit(st) == -1)
		goto fail;
	log_info("release: %zu held rows written after the database "
	    "refused them", r->n_pend);
	for (i = 0; i < r->n_pend; i++) {
		ssize_t h = held_find(r, r->pend[i].account);

		if (h >= 0 && r->held[h].pend > 0)
			r->held[h].pend--;
	}
	r->n_pend = 0;
	return;
fail:
	log_warnx("release: held rows still waiting (%zu): %s", r->n_pend,
	    store_error(st));
	if (store_in_transaction(st))
		store_rollback(st);
}

/* adopting_find - is queue_id waiting for its account header */
static ssize_t
adopting_find(const struct release *r, const char *queue_id)
{
	size_t i;

	for (i = 0; i < r->n_adopting; i++)
		if (strcmp(r->adopting[i].id, queue_id) == 0)
			return (ssize_t)i;
	return -1;
}

/* adopting_clear - the child is gone: the next reconcile starts over */
static void
adopting_clear(struct release *r)
{
	size_t i;

	for (i = 0; i < r->n_adopting; i++)
		free(r->adopting[i].sender);
	r->n_adopting = 0;
}

/*
 * adopt - record a message on hold that the store did not know under a:
 * the account its mark names (marked), else the default account.  Counted
 * as held by the caller once the row is committed.
 */
static int
adopt(struct release *r, struct store *st, const struct qent *q,
    struct acct *a, int marked)
{
	struct store_held h;
	char	 cbuf[128];

	memset(&h, 0, sizeof(h));
	snprintf(h.queue_id, sizeof(h.queue_id), "%s", q->id);
	h.account = a->id;
	h.since = q->arrival > 0 ? q->arrival : r->q_started;
	h.recipients = q->rcpts;
	h.size = q->size;
	h.state = HELD;
	snprintf(h.sender, sizeof(h.sender), "%s", q->sender ? q->sender : "");
	if (store_held_add(st, &h) == -1)
		return -1;
	held_add(r, a->id, a, h.size);
	log_info("release: adopted queue_id=%s account=%s rcpts=%u "
	    "size=%" PRIu64 " sender=<%s>: on hold in Postfix, unknown to "
	    "mailgov (held while mailgovd was down?); %s", q->id, a->name,
	    q->rcpts, q->size, log_clean(cbuf, sizeof(cbuf), h.sender,
	    strlen(h.sender)), marked ? "its account header names it" :
	    "no valid account header");
	return 0;
}

/* ask_marks - have the child read a stranger's account header; 0 when
 * asked, -1 when the caller adopts it under the default account now */
static int
ask_marks(struct release *r, const struct qent *q)
{
	struct qent *a;

	if (!r->marking || r->n_adopting == REL_ADOPTMAX)
		return -1;
	a = &r->adopting[r->n_adopting];
	*a = *q;
	a->sender = q->sender != NULL ? strdup(q->sender) : NULL;
	if (send_req(r, RC_MARKS, q->id, -1) == -1) {
		free(a->sender);
		return -1;
	}
	r->n_adopting++;
	return 0;
}

/* on_marks - the child read a stranger's account headers: the first one
 * made for its queue ID with our key names the account that adopts it */
static void
on_marks(struct release *r, struct rc_ans *ans)
{
	struct store *st = acct_store(r->accts);
	struct qent q;
	struct acct *a = NULL;
	char	 name[64];
	ssize_t	 i;
	size_t	 k;

	if ((i = adopting_find(r, ans->id)) < 0)
		return;
	q = r->adopting[i];
	r->adopting[i] = r->adopting[--r->n_adopting];
	for (k = 0; ans->status == RC_OK && k < RC_MARKS_MAX && a == NULL;
	    k++) {
		ans->marks[k][MARK_VALUE_MAX - 1] = '\0';
		if (ans->marks[k][0] != '\0' && mark_check(r->mark_key, q.id,
		    ans->marks[k], name, sizeof(name)) == 0)
			a = acct_by_name(r->accts, name);
	}
	k = a != NULL;
	if (a == NULL)
		a = acct_default(r->accts);
	if (a != NULL) {
		if (adopt(r, st, &q, a, (int)k) == -1)
			log_warnx("release: adopting queue_id=%s: %s", q.id,
			    store_error(st));
		else {
			/* Postfix held it: it counts as put on hold */
			acct_count_held(a, 1);
		}
	}
	free(q.sender);
}

/* reconcile - the listing is complete: close gone rows, adopt strangers */
static void
reconcile(struct release *r)
{
	struct store *st = acct_store(r->accts);
	struct rec_walk w;
	struct acct *def;
	struct qent *q;
	size_t	 i, adopted = 0, asked = 0;

	memset(&w, 0, sizeof(w));
	w.r = r;
	if (r->q_n > 0)		/* an empty queue may be a NULL array */
		qsort(r->q_ent, r->q_n, sizeof(*r->q_ent), qent_cmp);
	/* held rows may have changed hands (an explicit account taking over
	 * an auto account's UID): count every account's afresh */
	acct_each(r->accts, zero_held, NULL);
	for (i = 0; i < r->n_held; i++)
		r->held[i].bytes = 0;
	if (store_held_each(st, -1, HELD, rec_row, &w) == -1 || w.oom) {
		log_warnx("release: reconcile: %s", w.oom ? "out of memory" :
		    store_error(st));
		goto done;
	}
	/* rows still waiting for the database hold mail too */
	for (i = 0; i < r->n_pend; i++)
		held_add(r, r->pend[i].account, acct_by_id(r->accts,
		    r->pend[i].account), r->pend[i].size);
	if (w.n_known > 0)
		qsort(w.known, w.n_known, sizeof(*w.known), known_cmp);
	if (store_begin(st) == -1) {
		log_warnx("release: reconcile: %s", store_error(st));
		goto done;
	}
	for (i = 0; i < w.n_gone; i++) {
		if (store_held_set_state(st, w.gone[i], w.gone_state[i]) == -1)
			goto fail;
		log_info("release: queue_id=%s left the hold queue without "
		    "mailgov: state=%s", w.gone[i],
		    w.gone_state[i] == HELD_ADMIN ? "released" : "deleted");
	}
	def = acct_default(r->accts);
	for (i = 0; def != NULL && i < r->q_n; i++) {
		q = &r->q_ent[i];
		/* known rows first: pend[] is only scanned for strangers */
		if (!q->hold || (w.n_known > 0 && bsearch(q->id, w.known,
		    w.n_known, sizeof(*w.known), known_cmp) != NULL) ||
		    infl_find(r, q->id) >= 0 || pend_find(r, q->id) ||
		    adopting_find(r, q->id) >= 0)
			continue;
		/* its account header, if it has one, says whose it is */
		if (ask_marks(r, q) == 0) {
			asked++;
			continue;
		}
		if (adopt(r, st, q, def, 0) == -1)
			goto fail;
		adopted++;
	}
	if (store_commit(st) == -1)
		goto fail;
	if (adopted > 0) {
		/* Postfix held them (mailgovd was down): they count as
		 * put on hold, under the account that adopts them */
		acct_count_held(def, adopted);
	}
	if (w.n_gone > 0 || adopted > 0 || asked > 0)
		log_info("release: reconciled with the queue: %zu closed, "
		    "%zu adopted, %zu being read", w.n_gone, adopted, asked);
	goto done;
fail:
	log_warnx("release: reconcile: %s", store_error(st));
	store_rollback(st);
done:
	free(w.gone);
	free(w.gone_state);
	free(w.known);
}

/* q_finish - both the listing and its exit status are in */
static void
q_finish(struct release *r)
{
	if (!r->q_eof || r->q_status < 0)
		return;
	if (r->q_status != RC_OK)
		log_warnx("release: postqueue -j failed (is the %s instance "
		    "running?); not reconciling", PF_INSTANCE);
	else if (r->q_over)
		log_warnx("release: queue listing too large or out of memory; "
		    "not reconciling");
	else
		reconcile(r);
	q_reset(r);
}

/* on_qdata - postqueue -j output */
static void
on_qdata(int fd, uint32_t events, void *arg)
{
	struct release *r = arg;
	char	 buf[8192], *nl, *p;
	ssize_t	 n;
	size_t	 k, take;

	(void)events;
	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return;
		if (n <= 0)
			break;
		for (p = buf, k = (size_t)n; k > 0; ) {
			nl = memchr(p, '\n', k);
			take = nl != NULL ? (size_t)(nl - p) : k;
			if (!r->q_skip) {
				if (r->q_len + take > PF_QLINE_MAX) {
					r->q_skip = 1;	/* over-long line */
					r->q_len = 0;
				} else {
					memcpy(r->q_line + r->q_len, p, take);
					r->q_len += take;
				}
			}
			if (nl == NULL)
				break;
			if (!r->q_skip)
				q_line(r, r->q_line, r->q_len);
			r->q_skip = 0;
			r->q_len = 0;
			p = nl + 1;
			k -= take + 1;
		}
	}
	if (r->q_len > 0 && !r->q_skip)
		q_line(r, r->q_line, r->q_len);
	loop_del(r->loop, r->q_fd);
	close(r->q_fd);
	r->q_fd = -1;
	r->q_eof = 1;
	q_finish(r);
}

/* q_start - ask the child for a listing */
static void
q_start(struct release *r)
{
	int	 p[2];

	if (r->q_running || r->fd == -1)
		return;
	q_reset(r);
	if (pipe2(p, O_CLOEXEC) == -1) {
		log_warn("release: pipe");
		return;
	}
	if (fcntl(p[0], F_SETFL, O_NONBLOCK) == -1 ||
	    loop_add(r->loop, p[0], EPOLLIN, on_qdata, r) == -1) {
		close(p[0]);
		close(p[1]);
		return;
	}
	r->q_fd = p[0];
	if (send_req(r, RC_LIST, NULL, p[1]) == -1) {
		close(p[1]);
		q_reset(r);
		return;
	}
	close(p[1]);
	r->q_running = 1;
	r->q_started = (int64_t)time(NULL);
}

/* --- answers and the tick ------------------------------------------------- */

/* count_release - a held message left: it is one of the account's
 * messages now (docs/mailgovctl.md defines every counter), unless it
 * was counted as one when it was accepted (prepaid) */
static void
count_release(struct acct *a, uint32_t rcpts, uint64_t size, int prepaid)
{
	acct_count_released(a);
	acct_note(a, RECENT_RELEASED, 1);
	if (prepaid)
		return;
	acct_count_message(a, rcpts, size);
}

#define REL_ADMIN_BATCH	256	/* admin releases counted per tick */

struct admin_walk {
	struct store_held	 h[REL_ADMIN_BATCH];
	size_t			 n;
};

/* admin_row - one message `mailgovctl hold release` sent on */
static int
admin_row(const struct store_held *h, void *arg)
{
	struct admin_walk *w = arg;

	w->h[w->n++] = *h;
	return w->n == REL_ADMIN_BATCH;
}

/*
 * count_admin_releases - mailgovctl never writes counters (the committer
 * is their one writer, and would overwrite them): it marks what the admin
 * released HELD_ADMIN, and this counts them and closes the rows.  Counted
 * only once the rows are closed, so a failed transaction counts nothing
 * twice.
 */
static void
count_admin_releases(struct release *r)
{
	struct store *st = acct_store(r->accts);
	struct admin_walk *w;
	struct acct *a;
	size_t	 i;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return;
	if (store_held_each(st, -1, HELD_ADMIN, admin_row, w) == -1 ||
	    w->n == 0)
		goto done;
	if (store_begin(st) == -1)
		goto done;		/* locked: the next tick */
	for (i = 0; i < w->n; i++)
		if (store_held_set_state(st, w->h[i].queue_id,
		    HELD_RELEASED) == -1)
			break;
	if (i < w->n || store_commit(st) == -1) {
		log_warnx("release: %s", store_error(st));
		store_rollback(st);
		goto done;
	}
	for (i = 0; i < w->n; i++)
		if ((a = acct_by_id(r->accts, w->h[i].account)) != NULL) {
			count_release(a, w->h[i].recipients ?
			    w->h[i].recipients : 1, w->h[i].size,
			    w->h[i].prepaid);
			held_sub(r, a, w->h[i].size);
			/* looked at again this tick, even if its budget
			 * was out: what is left of its mail may go */
			held_note(r, a->id);
		}
done:
	free(w);
}

/* on_answer - the child's answers, applied in one transaction */
static void
on_answer(int fd, uint32_t events, void *arg)
{
	struct release *r = arg;
	struct store *st = acct_store(r->accts);
	struct rc_ans ans;
	struct inflight f;
	struct acct *a;
	ssize_t	 i, h;
	int	 in_tx = 0, state, got;

	(void)events;
	(void)fd;
	while (r->fd != -1) {
		if ((got = release_child_recv(r->fd, &ans)) == 0)
			break;
		if (got == -1) {
			child_gone(r);
			break;
		}
		if (ans.op == RC_LIST) {
			r->q_status = ans.status;
			q_finish(r);
			continue;
		}
		if (ans.op == RC_MARKS) {
			on_marks(r, &ans);
			continue;
		}
		if ((i = infl_find(r, ans.id)) < 0)
			continue;
		f = r->infl[i];
		r->infl[i] = r->infl[--r->n_infl];
		if (ans.status != RC_OK) {
			/* it did not leave: it pays when it does */
			refund(r, &f);
			if ((h = held_find(r, f.account)) >= 0)
				r->held[h].not_before = 0;
		}
		if (ans.status == RC_FAIL) {
			/* leave it held; try again in a minute */
			r->fail_until = clock_mono_s() + 60;
			continue;
		}
		if (!in_tx) {
			if (store_begin(st) == -1) {
				log_warnx("release: %s", store_error(st));
				continue;
			}
			in_tx = 1;
		}
		state = ans.op == RC_DELETE ? HELD_DELETED : HELD_RELEASED;
		if (store_held_set_state(st, ans.id, state) == -1)
			log_warnx("release: %s", store_error(st));
		a = acct_by_id(r->accts, f.account);
		if (ans.status == RC_OK && a != NULL) {
			if (ans.op == RC_HOLD_RELEASE)
				count_release(a, f.rcpts, f.size, f.prepaid);
			held_sub(r, a, f.size);
			log_info("release: released queue_id=%s account=%s",
			    ans.id, a->name);
		} else if (ans.status == RC_NOTFOUND)
			log_info("release: queue_id=%s was no longer on hold",
			    ans.id);
	}
	if (in_tx) {
		if (acct_flush(r->accts) == -1 || store_commit(st) == -1) {
			log_warnx("release: %s", store_error(st));
			store_rollback(st);
			acct_unflush(r->accts);
		}
	}
}

struct tick_walk {
	struct release	*r;
	struct acct	*a;
	uint64_t	 now;
	size_t		 rows, sent;
	int		 stopped;
	uint64_t	 retry_at;
};

static void	send_pending(struct release *);

/* tick_row - one held message of the account, oldest first */
static int
tick_row(const struct store_held *h, void *arg)
{
	struct tick_walk *w = arg;
	struct release *r = w->r;
	struct inflight *f;
	enum budget_kind which;
	enum cluster_paid paid = CLUSTER_PAID_REDIS;
	uint64_t retry_at = 0;

	w->rows++;
	if (infl_find(r, h->queue_id) >= 0)
		return 0;
	if (r->n_infl >= REL_INFLIGHT)
		return 1;
	/* a prepaid message was charged when it was accepted: it goes
	 * whatever the budget, and in its turn (oldest first) */
	if (!h->prepaid && (r->cl != NULL ? !cluster_release_ok(r->cl, w->a,
	    h->recipients ? h->recipients : 1, w->now, &retry_at, &paid) :
	    acct_charge_message(w->a, h->recipients ? h->recipients : 1,
	    w->now, &which, &retry_at) != BUDGET_OK)) {
		w->stopped = 1;
		w->retry_at = retry_at;
		return 1;
	}
	acct_touch(w->a);
	/*
	 * The message leaves only once its charge is on disk: a crash in
	 * between must not hand the budget back while the mail is gone.
	 * Without a group commit (none yet) it goes at once.
	 */
	f = &r->infl[r->n_infl];
	snprintf(f->id, REL_IDLEN, "%s", h->queue_id);
	f->account = h->account;
	f->rcpts = h->recipients ? h->recipients : 1;
	f->size = h->size;
	f->sent = 0;
	f->prepaid = h->prepaid;
	f->charged = !h->prepaid;
	f->paid = paid;
	f->seq = r->cm != NULL ? commit_need(r->cm) : 0;
	r->n_infl++;
	w->sent++;
	if (r->cm == NULL)
		send_pending(r);
	return 0;
}

/* send_pending - ask the child for every release whose charge is durable */
static void
send_pending(struct release *r)
{
	uint64_t durable = r->cm != NULL ? commit_durable(r->cm) : UINT64_MAX;
	size_t	 i;

	for (i = 0; i < r->n_infl; i++) {
		if (r->infl[i].sent || r->infl[i].seq > durable)
			continue;
		if (send_req(r, RC_HOLD_RELEASE, r->infl[i].id, -1) == -1)
			return;		/* the child is gone: logged there */
		r->infl[i].sent = 1;
	}
}

/* on_durable - a group commit reached the disk */
static void
on_durable(void *arg)
{
	send_pending(arg);
}

/*
 * held_recheck - the admin raised a budget, reset or unblocked an account
 * (a reload since generation seen): its held mail is looked at again at
 * this tick, not when the old budget said it could go (never, for a
 * budget of 0)
 */
static void
held_recheck(struct release *r, unsigned seen)
{
	struct acct *a;
	size_t	 i;

	for (i = 0; i < r->n_held; i++)
		if (r->held[i].not_before != 0 &&
		    (a = acct_by_id(r->accts, r->held[i].id)) != NULL &&
		    (int)(a->changed - seen) > 0)
			r->held[i].not_before = 0;
}

/* release_tick - release what the budgets allow, reconcile every minute */
void
release_tick(struct release *r, uint64_t now)
{
	struct store *st;
	struct tick_walk w;
	struct acct *a;
	size_t	 i;
	unsigned gen;
	uint64_t secs = now / 1000000u;

	if (r == NULL || r->fd == -1)
		return;
	if (now < r->next_tick)
		return;
	r->next_tick = now + (uint64_t)r->cfg->release_interval * 1000000u;
	if ((gen = acct_generation(r->accts)) != r->acct_gen) {
		held_recheck(r, r->acct_gen);
		r->acct_gen = gen;
	}
	pend_flush(r);
	if (secs >= r->next_reconcile) {
		r->next_reconcile = secs + REL_RECONCILE;
		q_start(r);
	}
	count_admin_releases(r);
	if (clock_mono_s() < r->fail_until)
		return;
	st = acct_store(r->accts);
	for (i = 0; i < r->n_held && r->n_infl < REL_INFLIGHT; ) {
		if (r->held[i].not_before > now) {
			i++;
			continue;
		}
		if ((a = acct_by_id(r->accts, r->held[i].id)) == NULL) {
			/* deleted, or taken over: its rows moved on, and
			 * the next reconcile notes their new account */
			held_drop(r, r->held[i].id);
			continue;
		}
		if (a->blocked) {
			/* a blocked account's mail waits for the admin */
			i++;
			continue;
		}
		memset(&w, 0, sizeof(w));
		w.r = r;
		w.a = a;
		w.now = now;
		if (store_held_each(st, a->id, HELD, tick_row, &w) == -1) {
			log_warnx("release: %s", store_error(st));
			return;
		}
		if (w.rows == 0 && !pend_of(r, a->id)) {
			/* nothing of a's is held now (rows in flight stay
			 * HELD until done): new mail need not wait */
			a->n_held = 0;
			held_drop(r, r->held[i].id);	/* i now holds another */
			continue;
		}
		if (w.stopped)
			r->held[i].not_before = w.retry_at;
		i++;
	}
}

/* on_grant - Redis let a held message go: release it now, not at the
 * next interval */
static void
on_grant(void *arg)
{
	struct release *r = arg;
	size_t	 i;

	for (i = 0; i < r->n_held; i++)
		r->held[i].not_before = 0;
	r->next_tick = 0;
	release_tick(r, clock_now_us());
}

/* release_set_cluster - held mail leaves only as the shared budget
 * allows: each message is charged to the cluster first (cluster.h) */
void
release_set_cluster(struct release *r, struct cluster *cl)
{
	if (r == NULL)
		return;
	r->cl = cl;
	if (cl != NULL)
		cluster_on_grant(cl, on_grant, r);
}

/* release_set_commit - the group commit, made after release_new */
void
release_set_commit(struct release *r, struct commit *cm)
{
	if (r == NULL)
		return;
	if (r->cm != NULL)
		commit_on_durable(r->cm, NULL, r);
	r->cm = cm;
	if (cm != NULL)
		commit_on_durable(cm, on_durable, r);
}

/* release_set_mark - read held strangers' account headers (mark.h) */
void
release_set_mark(struct release *r, const uint8_t key[MARK_KEYLEN])
{
	if (r == NULL)
		return;
	memcpy(r->mark_key, key, MARK_KEYLEN);
	r->marking = 1;
}

/* release_note_held - the policy server answered HOLD for this message,
 * or Postfix held one whose answer it did not get in time (prepaid when
 * that answer had charged it) */
int
release_note_held(struct release *r, struct acct *a, const char *queue_id,
    uint32_t rcpts, uint64_t size, const char *sender, int prepaid,
    const struct origin *origin)
{
	struct store *st;
	struct store_held h;

	if (r == NULL || a == NULL || !queueid_ok(queue_id))
		return -1;
	st = acct_store(r->accts);
	memset(&h, 0, sizeof(h));
	snprintf(h.queue_id, sizeof(h.queue_id), "%s", queue_id);
	h.account = a->id;
	h.since = (int64_t)time(NULL);
	h.recipients = rcpts;
	h.size = size;
	h.state = HELD;
	h.prepaid = prepaid;
	snprintf(h.sender, sizeof(h.sender), "%s", sender ? sender : "");
	if (origin != NULL)
		h.origin = *origin;
	if (store_held_add(st, &h) == -1) {
		if (pend_add(r, &h) == -1) {
			/* reconcile adopts it under the default account */
			log_warnx("release: recording held queue_id=%s: %s",
			    queue_id, store_error(st));
			return -1;
		}
		log_warnx("release: recording held queue_id=%s: %s; "
		    "retried every tick", queue_id, store_error(st));
	}
	held_add(r, a->id, a, size);
	return 0;
}

/*
 * release_may_hold - within held_messages_max and held_bytes_max, may a
 * put one more message of size bytes on hold?  An account with nothing on
 * hold may always hold one, so that a message larger than held_bytes_max
 * is not refused for ever.  What a holds now goes to *msgs and *bytes.
 */
int
release_may_hold(struct release *r, const struct acct *a, uint64_t size,
    uint32_t *msgs, uint64_t *bytes)
{
	ssize_t	 i;

	*msgs = a->n_held;
	*bytes = 0;
	if (r == NULL)
		return 1;
	if ((i = held_find(r, a->id)) >= 0)
		*bytes = r->held[i].bytes;
	if (*msgs == 0)
		return 1;
	return *msgs < r->cfg->held_messages_max &&
	    size <= r->cfg->held_bytes_max &&
	    *bytes <= r->cfg->held_bytes_max - size;
}

/* count_held - start-up: which accounts have held mail, and how much */
static int
count_held(const struct store_held *h, void *arg)
{
	struct release *r = arg;

	held_add(r, h->account, acct_by_id(r->accts, h->account), h->size);
	return 0;
}

/* release_new - fork the privileged helper (call while still root) */
struct release *
release_new(struct loop *loop, struct accts *accts, const struct config *cfg)
{
	struct release *r;
	pid_t	 pid;

	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (r->q_line = malloc(PF_QLINE_MAX)) == NULL) {
		log_warn("release");
		free(r);
		return NULL;
	}
	r->loop = loop;
	r->accts = accts;
	r->cfg = cfg;
	r->fd = -1;
	r->q_fd = -1;
	r->q_status = -1;
	r->acct_gen = acct_generation(accts);
	if (hash_init(&r->held_ix, sizeof(struct hent), 0) == -1) {
		log_warn("release");
		goto fail;
	}
	if ((r->fd = release_child_start(cfg, &pid)) == -1)
		goto fail;
	r->child = pid;
	if (loop_add(loop, r->fd, EPOLLIN, on_answer, r) == -1) {
		log_warn("release: helper socket");
		goto fail;
	}
	if (store_held_each(acct_store(accts), -1, HELD, count_held, r) == -1)
		log_warnx("release: loading held mail: %s",
		    store_error(acct_store(accts)));
	log_debug("release: helper pid %d, %zu accounts with held mail",
	    (int)pid, r->n_held);
	return r;
fail:
	release_free(r);
	return NULL;
}

/* release_free - close the helper's socket (it exits) and free */
void
release_free(struct release *r)
{
	if (r == NULL)
		return;
	pend_flush(r);
	if (r->n_pend > 0)
		log_warnx("release: %zu held rows not written; the next start "
		    "adopts their mail under the default account", r->n_pend);
	q_reset(r);
	adopting_clear(r);
	if (r->fd != -1) {
		loop_del(r->loop, r->fd);
		close(r->fd);
	}
	if (r->child > 0)
		(void)waitpid(r->child, NULL, 0);
	free(r->q_ent);
	free(r->q_line);
	free(r->held);
	hash_fini(&r->held_ix);
	free(r->pend);
	free(r);
}
