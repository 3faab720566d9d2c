/*
 * commit - the group commit of usage rows (see commit.h).
 *
 * With sync = full, three threads touch this module.  The loop thread
 * owns the accounts, the open batch and the sequence numbers.  The
 * committer thread only ever sees the batch handed to it (p->work, under
 * the mutex) and its own store handle.  With sync = normal a commit never
 * waits for the disk (the WAL write lands in the page cache), so handing
 * it to a thread costs more in wake-ups and context switches than it
 * saves: the loop thread writes each batch itself, on the accounts' own
 * store handle, at the end of its turn, and releases the answers after
 * COMMIT returned.  That handle's own commits do not bump its PRAGMA
 * data_version, so the per-turn reload check stays one cheap call.  The checkpointer thread only has its own store handle:
 * once a second it copies the WAL into the database (PASSIVE, so it never
 * holds up the committer) and, should the WAL grow past CKPT_RESTART
 * frames because commits never pause, waits for a gap (RESTART).
 *
 * Trusts: the accounts module for what it hands over; the store for
 * everything else.
 */
#define _GNU_SOURCE
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "budget.h"
#include "clock.h"
#include "commit.h"
#include "hash.h"
#include "log.h"
#include "num.h"
#include "redo.h"
#include "store.h"

#define COMMIT_BUSY_MS	10000	/* the committer's lock wait (tests shorten
				 * it: MAILGOVD_COMMIT_LOCK_WAIT_MS) */
#define CKPT_BUSY_MS	50	/* a RESTART checkpoint waits no longer */
#define CKPT_EVERY_MS	1000
#define CKPT_RESTART	20000	/* WAL frames (80 MB of 4 KiB pages) */
#define LOG_EVERY_MS	60000	/* a repeated failure: one line a minute */
#define COMMIT_LAZY_MS	500	/* counts no answer waits for wait this long */
#define COMMIT_HOOKS	4	/* modules waiting for durability */
#define GATHER_US	100	/* sync = full: a hand-off waits no longer for
				 * the answered clients' next requests */
#define APPLY_EVERY_MS	100	/* redo_log: rows reach SQLite this often */
#define RETRY_MIN_MS	50	/* after a failed commit, the first retry */
#define RETRY_MAX_MS	1000	/* ... doubling up to this */

/*
 * A failure that repeats at every retry (every 0.1 s for the redo log's
 * apply while the disk is full): its first line, then one every
 * LOG_EVERY_MS saying how many were not logged, and one line when it
 * clears.
 */
struct faillog {
	uint64_t		 tat;		/* GCRA over the lines */
	uint64_t		 fails;		/* in a row, so far */
	uint64_t		 logged;	/* lines of this run */
	uint64_t		 unlogged;	/* failures since the last line */
};

/* rowent - where an account's row in a batch is (the row holds the
 * account id: 8-byte entries keep the index, cleared at every batch,
 * small) */
struct rowent {
	HASH_ENTRY;
	uint32_t		 row;
};

/* the usage rows of one group commit */
struct batch {
	uint64_t		 seq;
	struct store_usage	*rows;
	size_t			 n, cap;
	struct hash		 idx;	/* of struct rowent */
	size_t			*stale;	/* rows a reset refused */
	size_t			 nstale;
	unsigned		 nwait;	/* answers waiting on it */
	int			 failed;
	char			 err[160];	/* why, when not the store's */
};

struct commit {
	struct loop		*loop;
	struct accts		*accts;
	struct batch		*open, *busy_batch;
	uint64_t		 open_seq;	/* seq of the open batch */
	uint64_t		 durable_seq;	/* every batch <= this is on disk */
	int			 busy;		/* the committer has a batch */
	int			 waiters;	/* answers wait on open_seq */
	unsigned		 nwait;		/* answers waiting on open_seq */
	unsigned		 busy_nwait;	/* those the busy batch carries */
	unsigned		 gather;	/* gathering: hand off at this
						 * nwait (or the deadline) */
	int			 gather_fd;	/* timerfd: the gather deadline */
	int			 fresh;		/* reload checked this turn */
	int			 inline_;	/* sync = normal: no committer */
	uint64_t		 open_since;	/* a lazy batch's first row, ms */
	int			 done_fd;	/* eventfd: a commit finished */
	int			 retry_fd;	/* timerfd: retry a failed commit */
	uint64_t		 retry_ms;	/* current back-off, 0 none */
	uint64_t		 retry_at;	/* no hand-off before, mono ms */
	struct {
		void		(*fn)(void *);
		void		*arg;
	}			 hooks[COMMIT_HOOKS];	/* on durable */
	struct faillog		 fail_log;	/* group commits (loop) */
	uint64_t		 last_ms;	/* last batch written, mono */
	uint64_t		 batches;	/* written */
	int			 failing;	/* the last attempt failed */

	struct store		*cst;		/* the committer's */
	struct store		*wst;		/* writes batches: cst or the
						 * accounts' handle (inline) */
	pthread_t		 thr;
	int			 thr_started;
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	struct batch		*work;		/* handed to the committer */
	int			 quit;
	int			 kick_apply;	/* wake the checkpointer now */

	struct store		*kst;		/* the checkpointer's */
	pthread_t		 kthr;
	int			 kthr_started;
	pthread_cond_t		 kcv;

	/* redo_log = on: batches go to the log; the checkpointer thread
	 * applies them to SQLite every APPLY_EVERY_MS */
	struct redo		*redo;
	struct batch		*amap, *aspare;	/* rows logged, not applied */
	uint64_t		 amap_seq;	/* newest record in amap */
	pthread_mutex_t		 amu;		/* amap, aspare, amap_seq */
	uint64_t		 applied;	/* records <= this are in
						 * SQLite (atomic) */
	struct faillog		 apply_log;	/* failed applies */
	struct faillog		 oom_log;	/* rows the applier lost */
};

static int faillog_fail(struct faillog *, uint64_t *);
static const char *faillog_since(uint64_t, char *, size_t);
static uint64_t faillog_ok(struct faillog *);

/* --- batches ------------------------------------------------------------- */

/* batch_free - a batch and its rows */
static void
batch_free(struct batch *b)
{
	if (b == NULL)
		return;
	free(b->rows);
	hash_fini(&b->idx);
	free(b->stale);
	free(b);
}

/* batch_new - an empty batch with room for n rows (n a power of two) */
static struct batch *
batch_new(size_t n)
{
	struct batch *b;

	if ((b = calloc(1, sizeof(*b))) == NULL)
		return NULL;
	b->cap = n;
	b->rows = calloc(b->cap, sizeof(*b->rows));
	b->stale = malloc(b->cap * sizeof(*b->stale));
	if (b->rows == NULL || b->stale == NULL ||
	    hash_init(&b->idx, sizeof(struct rowent), n) == -1) {
		batch_free(b);
		return NULL;
	}
	return b;
}

/* batch_clear - empty b for reuse, keeping its memory */
static void
batch_clear(struct batch *b)
{
	b->n = 0;
	b->nstale = 0;
	b->failed = 0;
	b->err[0] = '\0';
	hash_clear(&b->idx);
}

/* batch_grow - double the room; -1 if memory is short (the index grows
 * by itself) */
static int
batch_grow(struct batch *b)
{
	struct store_usage	*rows;
	size_t			*stale;

	if ((rows = realloc(b->rows, 2 * b->cap * sizeof(*rows))) == NULL)
		return -1;
	b->rows = rows;
	if ((stale = realloc(b->stale, 2 * b->cap * sizeof(*stale))) == NULL)
		return -1;
	b->stale = stale;
	b->cap *= 2;
	return 0;
}

/* row_eq - the entry's row in batch ctx is account *id's */
static int
row_eq(const void *ctx, const void *e, const void *id)
{
	const struct batch *b = ctx;

	return b->rows[((const struct rowent *)e)->row].account ==
	    *(const int64_t *)id;
}

/* batch_row - the row of account id in b, or NULL */
static struct store_usage *
batch_row(struct batch *b, int64_t id)
{
	struct rowent *e;

	e = hash_find(&b->idx, hash_u64((uint64_t)id), row_eq, b, &id);
	return e != NULL ? &b->rows[e->row] : NULL;
}

/* batch_append - u as b's next row; -1 if memory is short */
static int
batch_append(struct batch *b, const struct store_usage *u)
{
	struct rowent *e;

	if (b->n == b->cap && batch_grow(b) == -1)
		return -1;
	if (b->n >= UINT32_MAX || (e = hash_insert(&b->idx,
	    hash_u64((uint64_t)u->account))) == NULL)
		return -1;
	e->row = (uint32_t)b->n;
	b->rows[b->n++] = *u;
	return 0;
}

/* batch_put - the latest usage of an account into b; a later copy of the
 * same account replaces the earlier one, so each row is written once */
static int
batch_put(struct batch *b, const struct store_usage *u)
{
	struct store_usage *row = batch_row(b, u->account);

	if (row == NULL)
		return batch_append(b, u);
	*row = *u;
	return 0;
}

/* batch_put_absent - u into b unless b has a row of that account (a
 * newer one) already */
static int
batch_put_absent(struct batch *b, const struct store_usage *u)
{
	return batch_row(b, u->account) == NULL ? batch_append(b, u) : 0;
}

/* batch_write - b in one transaction on st; 0 or -1.  Rows a reset
 * refused are listed in b->stale. */
static int
batch_write(struct store *st, struct batch *b)
{
	size_t	i;
	int	ok, rc;

	b->nstale = 0;
	ok = store_begin(st) == 0;
	for (i = 0; ok && i < b->n; i++) {
		rc = store_usage_put(st, &b->rows[i]);
		if (rc == 1)
			b->stale[b->nstale++] = i;
		/* a row of an account deleted meanwhile is not an error
		 * worth losing the rest for */
		else if (rc == -1 &&
		    strstr(store_error(st), "unknown account") == NULL)
			ok = 0;
	}
	if (ok)
		ok = store_commit(st) == 0;
	else if (store_in_transaction(st))
		store_rollback(st);
	return ok ? 0 : -1;
}

/* --- the redo log ---------------------------------------------------------- */

static uint64_t
applied_get(struct commit *cm)
{
	return __atomic_load_n(&cm->applied, __ATOMIC_ACQUIRE);
}

/*
 * log_write - b as redo log records; once they are written (and synced,
 * with sync = full) the batch is durable, and its rows wait in amap for
 * the applier.  A reset is not seen here: the loop's reload adopts it,
 * and SQLite refuses the older epoch when the rows are applied.
 */
static int
log_write(struct commit *cm, struct batch *b)
{
	size_t	 i, k;
	uint64_t seq = 0;
	int	 rc;

	b->nstale = 0;
	for (i = 0; i < b->n; i += k) {
		k = b->n - i > REDO_ROWS_MAX ? REDO_ROWS_MAX : b->n - i;
		rc = redo_append(cm->redo, b->rows + i, k, applied_get(cm),
		    &seq);
		if (rc == 1) {
			/* the other half still waits for the applier:
			 * wake it, and retry after the back-off */
			pthread_mutex_lock(&cm->mu);
			cm->kick_apply = 1;
			pthread_cond_signal(&cm->kcv);
			pthread_mutex_unlock(&cm->mu);
			snprintf(b->err, sizeof(b->err), "redo log full until "
			    "the database takes the rows already logged");
			return -1;
		}
		if (rc == -1) {
			snprintf(b->err, sizeof(b->err), "redo log: %s",
			    strerror(errno));
			return -1;
		}
	}
	pthread_mutex_lock(&cm->amu);
	for (i = 0; i < b->n; i++)
		if (batch_put(cm->amap, &b->rows[i]) == -1)
			break;
	if (i == b->n)
		cm->amap_seq = seq;
	pthread_mutex_unlock(&cm->amu);
	if (i < b->n) {
		/* logged, but the applier cannot have the rows: the batch
		 * fails and its accounts are logged again */
		snprintf(b->err, sizeof(b->err), "out of memory");
		return -1;
	}
	return 0;
}

/* commit_write - a batch to the redo log, or straight to SQLite on st */
static int
commit_write(struct commit *cm, struct store *st, struct batch *b)
{
	return cm->redo != NULL ? log_write(cm, b) : batch_write(st, b);
}

/*
 * apply - the rows logged since the last apply into SQLite, with the
 * applied mark, in one synced transaction; then the log space they held
 * may be reused.  On failure the rows go back behind anything newer.
 * Runs on the checkpointer thread (and in commit_free, after it).
 */
static void
apply(struct commit *cm)
{
	struct batch *b;
	uint64_t seq, unlogged, fails;
	size_t	 i, lost;
	char	 since[64];
	int	 ok;

	pthread_mutex_lock(&cm->amu);
	b = cm->amap;
	cm->amap = cm->aspare;
	cm->aspare = b;
	seq = cm->amap_seq;
	pthread_mutex_unlock(&cm->amu);
	if (seq <= applied_get(cm) && b->n == 0)
		return;
	ok = store_begin(cm->kst) == 0;
	for (i = 0; ok && i < b->n; i++)
		/* 1: reset since, the reset wins; a deleted account has
		 * nothing to write to */
		if (store_usage_put(cm->kst, &b->rows[i]) == -1 &&
		    strstr(store_error(cm->kst), "unknown account") == NULL)
			ok = 0;
	ok = ok && store_redo_set_applied(cm->kst, seq) == 0 &&
	    store_commit(cm->kst) == 0;
	if (ok) {
		__atomic_store_n(&cm->applied, seq, __ATOMIC_RELEASE);
		batch_clear(b);
		if ((fails = faillog_ok(&cm->apply_log)) > 0)
			log_info("redo log: the database takes the rows again "
			    "after %llu failed attempts",
			    (unsigned long long)fails);
		return;
	}
	if (faillog_fail(&cm->apply_log, &unlogged))
		log_warnx("redo log: applying %zu rows to the database "
		    "failed (%s); retried every %d ms%s", b->n,
		    store_error(cm->kst), APPLY_EVERY_MS,
		    faillog_since(unlogged, since, sizeof(since)));
	if (store_in_transaction(cm->kst))
		store_rollback(cm->kst);
	lost = 0;
	pthread_mutex_lock(&cm->amu);
	for (i = 0; i < b->n; i++)
		if (batch_put_absent(cm->amap, &b->rows[i]) == -1)
			lost++;
	pthread_mutex_unlock(&cm->amu);
	/* the redo log still has them: the next start replays them */
	if (lost > 0 && faillog_fail(&cm->oom_log, &unlogged))
		log_warnx("redo log: out of memory keeping %zu rows for the "
		    "next apply%s", lost,
		    faillog_since(unlogged, since, sizeof(since)));
	batch_clear(b);
}

/* --- threads ------------------------------------------------------------- */

/* committer - write each batch handed over in one transaction */
static void *
committer(void *arg)
{
	struct commit	*cm = arg;
	struct batch	*b;
	uint64_t	 one = 1;

	for (;;) {
		pthread_mutex_lock(&cm->mu);
		while (cm->work == NULL && !cm->quit)
			pthread_cond_wait(&cm->cv, &cm->mu);
		b = cm->work;
		cm->work = NULL;
		pthread_mutex_unlock(&cm->mu);
		if (b == NULL)
			break;
		b->failed = commit_write(cm, cm->cst, b) == -1;
		while (write(cm->done_fd, &one, sizeof(one)) == -1 &&
		    errno == EINTR)
			;
	}
	return NULL;
}

/*
 * checkpointer - copy the WAL into the database once a second, off the
 * commit path: a checkpoint syncs the database file, and at sync = full
 * that fsync would otherwise sit inside some commit.  With the redo log
 * it also applies the logged rows every APPLY_EVERY_MS, or at once when
 * the log has no room left.
 */
static void *
checkpointer(void *arg)
{
	struct commit	*cm = arg;
	struct timespec	 ts;
	uint64_t	 next_ckpt = clock_mono_ms() + CKPT_EVERY_MS;
	long		 every = cm->redo != NULL ? APPLY_EVERY_MS :
			    CKPT_EVERY_MS;
	int		 frames, quit;

	for (;;) {
		pthread_mutex_lock(&cm->mu);
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += every / 1000;
		ts.tv_nsec += (every % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		while (!cm->quit && !cm->kick_apply &&
		    pthread_cond_timedwait(&cm->kcv, &cm->mu, &ts) !=
		    ETIMEDOUT)
			;
		quit = cm->quit;
		cm->kick_apply = 0;
		pthread_mutex_unlock(&cm->mu);
		if (quit)
			break;
		if (cm->redo != NULL)
			apply(cm);
		if (clock_mono_ms() < next_ckpt)
			continue;
		next_ckpt = clock_mono_ms() + CKPT_EVERY_MS;
		if (store_checkpoint(cm->kst, 0, &frames) == 0 &&
		    frames > CKPT_RESTART)
			(void)store_checkpoint(cm->kst, 1, &frames);
	}
	return NULL;
}

/* --- the loop's side ------------------------------------------------------ */

/* put_row - acct_collect's callback: into the open batch */
static int
put_row(struct acct *a, void *arg)
{
	struct commit *cm = arg;

	return batch_put(cm->open, &a->use);
}

/* faillog_fail - one more failure: 1 if it may be logged, with
 * *unlogged the failures not logged since the last line */
static int
faillog_fail(struct faillog *f, uint64_t *unlogged)
{
	f->fails++;
	if (!log_rate_ok(&f->tat, clock_mono_ms(), 1, LOG_EVERY_MS)) {
		f->unlogged++;
		return 0;
	}
	*unlogged = f->unlogged;
	f->unlogged = 0;
	f->logged++;
	return 1;
}

/* faillog_since - "" or " (N more since the last line)" for a line */
static const char *
faillog_since(uint64_t unlogged, char *buf, size_t len)
{
	if (unlogged == 0)
		return "";
	snprintf(buf, len, " (%llu more since the last line)",
	    (unsigned long long)unlogged);
	return buf;
}

/*
 * faillog_ok - a success: the failures in a row it ends, to be logged;
 * 0 if none, or if none of them was logged.  The bucket is not refilled:
 * a failure that comes and goes at every retry stays within it.
 */
static uint64_t
faillog_ok(struct faillog *f)
{
	uint64_t n = f->logged > 0 ? f->fails : 0;

	f->fails = f->logged = 0;
	return n;
}

static void settle(struct commit *, struct batch *);
static int gather_start(struct commit *);
static void retry_arm(struct commit *);

/* durable_hooks - tell every waiting module that a batch is on disk */
static void
durable_hooks(struct commit *cm)
{
	size_t i;

	for (i = 0; i < COMMIT_HOOKS; i++)
		if (cm->hooks[i].fn != NULL)
			cm->hooks[i].fn(cm->hooks[i].arg);
}

/* kick - collect what was charged; hand the open batch to the committer
 * if it is idle */
static void
kick(struct commit *cm)
{
	struct batch *b;

	acct_collect(cm->accts, cm->open_seq, put_row, cm);
	if (cm->busy)
		return;
	if (cm->retry_at != 0) {
		if (clock_mono_ms() < cm->retry_at)
			return;		/* on_retry comes back */
		cm->retry_at = 0;
	}
	if (cm->gather) {
		if (cm->nwait < cm->gather)
			return;		/* on_gather ends it at the latest */
		cm->gather = 0;		/* a stale expiry is harmless */
	}
	/*
	 * Counts nobody waits for (the kernel path's connections, release)
	 * ride along with the next commit someone does wait for, or go out
	 * on their own once they are COMMIT_LAZY_MS old: a stream of SYNs
	 * must not cost an fsync each.
	 */
	if (!cm->waiters && cm->open->n > 0) {
		if (cm->open_since == 0)
			cm->open_since = clock_mono_ms();
		if (clock_mono_ms() - cm->open_since < COMMIT_LAZY_MS)
			return;
	}
	cm->open_since = 0;
	if (cm->open->n == 0) {
		if (!cm->waiters)
			return;
		/* nothing to write: the batch is durable already */
		cm->durable_seq = cm->open_seq++;
		cm->waiters = 0;
		cm->nwait = 0;
		durable_hooks(cm);
		return;
	}
	b = cm->open;
	b->seq = cm->open_seq;
	b->nwait = cm->nwait;
	if (cm->inline_) {
		/* the write lock, the upserts and COMMIT, then the answers */
		cm->open_seq++;
		cm->waiters = 0;
		cm->nwait = 0;
		b->failed = commit_write(cm, cm->wst, b) == -1;
		settle(cm, b);
		durable_hooks(cm);
		return;
	}
	cm->open = cm->busy_batch;	/* the spare, cleared when it came back */
	cm->busy_batch = b;
	cm->open_seq++;
	cm->waiters = 0;
	cm->busy_nwait = cm->nwait;
	cm->nwait = 0;
	cm->busy = 1;
	pthread_mutex_lock(&cm->mu);
	cm->work = b;
	pthread_cond_signal(&cm->cv);
	pthread_mutex_unlock(&cm->mu);
}

/* settle - the loop's view of a batch that came back from the disk */
static void
settle(struct commit *cm, struct batch *b)
{
	struct acct	*a;
	uint64_t	 unlogged, fails;
	size_t		 i;
	char		 since[64];

	if (b->failed) {
		/*
		 * The counts are not on disk, so the answers waiting on them
		 * keep waiting: the accounts go into the next batch, which
		 * is retried after a back-off, and its success (durable_seq
		 * past this batch) releases them.  A database that stays
		 * broken leaves Postfix to time the request out and apply
		 * its default_action (HOLD on the queue instance), as when
		 * mailgovd is down.
		 */
		cm->retry_ms = cm->retry_ms == 0 ? RETRY_MIN_MS :
		    cm->retry_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS :
		    cm->retry_ms * 2;
		if (faillog_fail(&cm->fail_log, &unlogged))
			log_warnx("commit: group commit failed (%s); %zu "
			    "usage rows and %u answers wait for a retry in "
			    "%llu ms%s", b->err[0] != '\0' ? b->err :
			    store_error(cm->wst), b->n, b->nwait,
			    (unsigned long long)cm->retry_ms,
			    faillog_since(unlogged, since, sizeof(since)));
		for (i = 0; i < b->n; i++)
			if ((a = acct_by_id(cm->accts, b->rows[i].account))
			    != NULL)
				acct_touch(a);
		if (b->nwait > 0) {
			cm->waiters = 1;
			cm->nwait += b->nwait;
		}
		retry_arm(cm);
		batch_clear(b);
		cm->failing = 1;
		return;
	}
	for (i = 0; i < b->n; i++)
		acct_committed(cm->accts, b->rows[i].account, b->seq);
	for (i = 0; i < b->nstale; i++)
		acct_stale(cm->accts, b->rows[b->stale[i]].account, b->seq);
	if ((fails = faillog_ok(&cm->fail_log)) > 0)
		log_info("commit: group commit done again after %llu failed "
		    "attempts", (unsigned long long)fails);
	cm->retry_ms = 0;
	cm->durable_seq = b->seq;
	cm->last_ms = clock_mono_ms();
	cm->batches++;
	cm->failing = 0;
	batch_clear(b);
}

/*
 * gather_start - after a commit whose answers just went out, wait a
 * moment before the next hand-off.  In a closed loop the clients just
 * answered send their next requests within tens of microseconds; handing
 * off at once would leave them for the commit after, so the connections
 * would split into two halves that take turns, each request waiting about
 * one and a half commits.  Waiting until every answer still outstanding
 * (those of the batch just committed plus those already in the open
 * batch) is asked for again, or GATHER_US at most, lets one commit carry
 * them all.  Never with nobody to wait for; 1 if gathering.
 */
static int
gather_start(struct commit *cm)
{
	struct itimerspec its;

	if (cm->gather_fd == -1 || cm->busy_nwait == 0)
		return 0;
	memset(&its, 0, sizeof(its));
	its.it_value.tv_nsec = GATHER_US * 1000;
	if (timerfd_settime(cm->gather_fd, 0, &its, NULL) == -1)
		return 0;
	cm->gather = cm->busy_nwait + cm->nwait;
	cm->busy_nwait = 0;
	return 1;
}

/* retry_arm - no hand-off before the back-off has passed; on_retry then
 * kicks (the loop may have nothing else to wake it) */
static void
retry_arm(struct commit *cm)
{
	struct itimerspec its;

	cm->retry_at = clock_mono_ms() + cm->retry_ms;
	memset(&its, 0, sizeof(its));
	its.it_value.tv_sec = (time_t)(cm->retry_ms / 1000);
	its.it_value.tv_nsec = (long)(cm->retry_ms % 1000) * 1000000L;
	if (cm->retry_fd == -1 ||
	    timerfd_settime(cm->retry_fd, 0, &its, NULL) == -1)
		cm->retry_at = 0;	/* no timer: retry on the next turn */
}

/* on_retry - the back-off after a failed commit is over */
static void
on_retry(int fd, uint32_t events, void *arg)
{
	struct commit	*cm = arg;
	uint64_t	 v;

	(void)events;
	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return;
	cm->retry_at = 0;
	kick(cm);
}

/* on_done - the committer finished a batch (eventfd) */
static void
on_done(int fd, uint32_t events, void *arg)
{
	struct commit	*cm = arg;
	uint64_t	 v;

	(void)events;
	if (read(fd, &v, sizeof(v)) != sizeof(v) || !cm->busy)
		return;
	settle(cm, cm->busy_batch);
	cm->busy = 0;
	durable_hooks(cm);
	if (cm->retry_at == 0 && gather_start(cm))
		return;
	kick(cm);
}

/* on_gather - the gather deadline: hand off whatever has come in */
static void
on_gather(int fd, uint32_t events, void *arg)
{
	struct commit	*cm = arg;
	uint64_t	 v;

	(void)events;
	/* EAGAIN: re-armed after epoll saw the old expiry */
	if (read(fd, &v, sizeof(v)) != sizeof(v) || !cm->gather)
		return;
	cm->gather = 0;
	kick(cm);
}

/* on_turn - end of a loop turn: start the next group commit */
static void
on_turn(void *arg)
{
	struct commit *cm = arg;

	cm->fresh = 0;
	kick(cm);
}

uint64_t
commit_need(struct commit *cm)
{
	cm->waiters = 1;
	cm->nwait++;
	return cm->open_seq;
}

uint64_t
commit_durable(const struct commit *cm)
{
	return cm->durable_seq;
}

/* commit_on_durable - add (fn NULL: remove) a hook for arg */
void
commit_on_durable(struct commit *cm, void (*fn)(void *), void *arg)
{
	size_t i;

	for (i = 0; i < COMMIT_HOOKS; i++)
		if (cm->hooks[i].arg == arg && cm->hooks[i].fn != NULL) {
			cm->hooks[i].fn = fn;	/* replace, or remove */
			return;
		}
	if (fn == NULL)
		return;
	for (i = 0; i < COMMIT_HOOKS; i++)
		if (cm->hooks[i].fn == NULL) {
			cm->hooks[i].fn = fn;
			cm->hooks[i].arg = arg;
			return;
		}
	panic("commit: more than %d durable hooks", COMMIT_HOOKS);
}

/* commit_stats - see commit.h */
void
commit_stats(struct commit *cm, struct commit_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (cm == NULL)
		return;
	st->last_ms = cm->last_ms;
	st->batches = cm->batches;
	st->failing = cm->failing;
	if (cm->redo == NULL)
		return;
	st->redo = 1;
	pthread_mutex_lock(&cm->amu);
	st->redo_logged = cm->amap_seq;
	pthread_mutex_unlock(&cm->amu);
	st->redo_applied = applied_get(cm);
	if (st->redo_logged < st->redo_applied)
		st->redo_logged = st->redo_applied;
}

/* commit_fresh - a reset by mailgovctl must be seen before an account is
 * charged again, or the next batch would write the old state over it */
void
commit_fresh(struct commit *cm)
{
	if (cm->fresh)
		return;
	cm->fresh = 1;
	if (acct_reload(cm->accts) == -1)
		log_warnx("reloading accounts failed; keeping the old view");
}

/* --- life cycle ---------------------------------------------------------- */

/* lock_wait_ms - the committer's lock wait */
static int
lock_wait_ms(void)
{
	const char	*v = getenv("MAILGOVD_COMMIT_LOCK_WAIT_MS"), *err;
	uint64_t	 n;

	if (v == NULL || *v == '\0')
		return COMMIT_BUSY_MS;
	if (num_u64(v, 100, 600000, 0, &n, &err) == -1) {
		log_warnx("commit: MAILGOVD_COMMIT_LOCK_WAIT_MS=%s: %s; using "
		    "%d ms", v, err, COMMIT_BUSY_MS);
		return COMMIT_BUSY_MS;
	}
	return (int)n;
}

/* open_handle - a store handle of this module's threads */
static struct store *
open_handle(const struct config *cfg, int busy_ms, int sync_full)
{
	struct store	*st;
	char		 err[256];

	if ((st = store_open(cfg->db, 0, busy_ms, err, sizeof(err))) == NULL) {
		log_warnx("commit: %s", err);
		return NULL;
	}
	store_set_sync(st, sync_full);
	store_set_autocheckpoint(st, 0);
	return st;
}

struct commit *
commit_new(struct loop *loop, struct accts *accts, const struct config *cfg,
    struct redo *redo)
{
	struct commit *cm;

	if ((cm = calloc(1, sizeof(*cm))) == NULL) {
		log_warn("commit_new");
		return NULL;
	}
	cm->loop = loop;
	cm->accts = accts;
	cm->open_seq = 1;
	cm->done_fd = -1;
	cm->gather_fd = -1;
	cm->retry_fd = -1;
	pthread_mutex_init(&cm->mu, NULL);
	pthread_mutex_init(&cm->amu, NULL);
	pthread_cond_init(&cm->cv, NULL);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&cm->kcv, &ca);
		pthread_condattr_destroy(&ca);
	}
	if ((cm->open = batch_new(64)) == NULL ||
	    (cm->busy_batch = batch_new(64)) == NULL ||
	    (redo != NULL && ((cm->amap = batch_new(64)) == NULL ||
	    (cm->aspare = batch_new(64)) == NULL))) {
		log_warn("commit_new");
		goto fail;
	}
	cm->inline_ = !cfg->sync_full;
	if (cm->inline_)
		cm->wst = acct_store(accts);
	else if ((cm->wst = cm->cst = open_handle(cfg, lock_wait_ms(), 1)) ==
	    NULL)
		goto fail;
	if ((cm->kst = open_handle(cfg, CKPT_BUSY_MS, 1)) == NULL)
		goto fail;
	if (redo != NULL) {
		/* redo_replay has brought the mark up to the log */
		if (store_redo_applied(cm->kst, &cm->applied) == -1) {
			log_warnx("commit: %s", store_error(cm->kst));
			goto fail;
		}
		cm->redo = redo;
	}
	if ((cm->done_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1) {
		log_warn("commit: eventfd");
		goto fail;
	}
	/* sync = normal commits inline: nothing to gather for */
	if (!cm->inline_ && ((cm->gather_fd = timerfd_create(CLOCK_MONOTONIC,
	    TFD_NONBLOCK | TFD_CLOEXEC)) == -1 ||
	    loop_add(loop, cm->gather_fd, EPOLLIN, on_gather, cm) == -1)) {
		log_warn("commit: timerfd");
		goto fail;
	}
	if ((cm->retry_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK |
	    TFD_CLOEXEC)) == -1 ||
	    loop_add(loop, cm->retry_fd, EPOLLIN, on_retry, cm) == -1) {
		log_warn("commit: timerfd");
		goto fail;
	}
	if (loop_add(loop, cm->done_fd, EPOLLIN, on_done, cm) == -1 ||
	    loop_on_turn(loop, on_turn, cm) == -1) {
		log_warn("commit: loop");
		goto fail;
	}
	if (!cm->inline_) {
		if (pthread_create(&cm->thr, NULL, committer, cm) != 0) {
			log_warnx("commit: cannot start the committer thread");
			goto fail;
		}
		cm->thr_started = 1;
	}
	if (pthread_create(&cm->kthr, NULL, checkpointer, cm) != 0) {
		log_warnx("commit: cannot start the checkpoint thread");
		goto fail;
	}
	cm->kthr_started = 1;
	acct_single_writer(accts);
	return cm;
fail:
	commit_free(cm);
	return NULL;
}

void
commit_free(struct commit *cm)
{
	if (cm == NULL)
		return;
	pthread_mutex_lock(&cm->mu);
	cm->quit = 1;
	pthread_cond_signal(&cm->cv);
	pthread_cond_signal(&cm->kcv);
	pthread_mutex_unlock(&cm->mu);
	/* the committer finishes the batch it has before it looks */
	if (cm->thr_started)
		pthread_join(cm->thr, NULL);
	if (cm->kthr_started)
		pthread_join(cm->kthr, NULL);
	if (cm->busy) {
		settle(cm, cm->busy_batch);
		cm->busy = 0;
	}
	/* counts still in memory are written before we go */
	if (cm->wst != NULL && cm->open != NULL) {
		acct_collect(cm->accts, cm->open_seq, put_row, cm);
		if (cm->open->n > 0) {
			cm->open->seq = cm->open_seq;
			if (commit_write(cm, cm->wst, cm->open) == -1)
				log_warnx("commit: final commit: %s",
				    cm->open->err[0] != '\0' ? cm->open->err :
				    store_error(cm->wst));
			else
				settle(cm, cm->open);
		}
		/* and what only the redo log has goes into SQLite */
		if (cm->redo != NULL && cm->kst != NULL) {
			apply(cm);
			if (cm->amap_seq > applied_get(cm))
				log_warnx("commit: redo log records up to %llu "
				    "not in the database; the next start "
				    "replays them",
				    (unsigned long long)cm->amap_seq);
		}
		(void)store_checkpoint(cm->wst, 0, NULL);
	}
	if (cm->done_fd != -1) {
		loop_del(cm->loop, cm->done_fd);
		close(cm->done_fd);
	}
	if (cm->gather_fd != -1) {
		loop_del(cm->loop, cm->gather_fd);
		close(cm->gather_fd);
	}
	if (cm->retry_fd != -1) {
		loop_del(cm->loop, cm->retry_fd);
		close(cm->retry_fd);
	}
	store_close(cm->cst);
	store_close(cm->kst);
	batch_free(cm->open);
	batch_free(cm->busy_batch);
	batch_free(cm->amap);
	batch_free(cm->aspare);
	pthread_mutex_destroy(&cm->amu);
	pthread_mutex_destroy(&cm->mu);
	pthread_cond_destroy(&cm->cv);
	pthread_cond_destroy(&cm->kcv);
	free(cm);
}
