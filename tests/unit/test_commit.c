/*
 * test_commit - the group commit against a real loop and a real scratch
 * database: the counts of one loop turn go in one batch; an answer that
 * waits on a batch goes out only once its counts are on disk; counts no
 * answer waits for go out on their own after a while, or with the next
 * batch someone waits for; a locked database keeps the answers waiting
 * and is retried with a doubling back-off until the lock goes; a
 * mailgovctl reset wins over a batch collected before it, and is picked
 * up by commit_fresh at most once a turn; commit_free writes what is
 * left; with the redo log, an answer waits for the log only, SQLite gets
 * the rows later, and a crash before it does loses nothing.
 *
 * The loop is driven by a 1 ms timerfd: each tick is one turn, so the
 * group commit's turn-end hook runs after it.
 */
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acct.h"
#include "clock.h"
#include "commit.h"
#include "log.h"
#include "loop.h"
#include "redo.h"
#include "t.h"

#define LOCK_WAIT	"100"	/* ms: the committer's lock wait here */
#define LAZY_MS		500	/* commit.c's COMMIT_LAZY_MS */

static char base[128], logpath[160];
static int logfd = -1;
static off_t logmark;
static unsigned ndirs;

/* fx - a daemon's side (store, accounts, loop, group commit) and two
 * other connections, as mailgovctl would have them */
struct fx {
	char		 dir[160], db[200], redo_path[220];
	struct config	 cfg;
	struct store	*st;		/* the daemon's */
	struct accts	*as;
	struct loop	*lp;
	struct commit	*cm;
	struct redo	*redo;
	struct store	*rd;		/* reads what is on disk */
	struct store	*ctl;		/* takes the write lock, resets */
	struct acct	*alice, *bob;
};

/* --- the scratch database ------------------------------------------------ */

/* other_handle - a connection of another process's kind to f's database */
static struct store *
other_handle(struct fx *f)
{
	struct store *s;
	char err[256];

	if ((s = store_open(f->db, 0, 1000, err, sizeof(err))) == NULL) {
		printf("not ok - store_open: %s\n", err);
		exit(1);
	}
	return s;
}

/* fx_db - a fresh directory and database with accounts alice and bob */
static void
fx_db(struct fx *f)
{
	struct store *s;
	char err[256];

	memset(f, 0, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "%s/%u", base, ndirs++);
	snprintf(f->db, sizeof(f->db), "%s/mailgov.db", f->dir);
	snprintf(f->redo_path, sizeof(f->redo_path), "%s-redo", f->db);
	if (mkdir(f->dir, 0700) == -1) {
		perror("mkdir");
		exit(2);
	}
	if ((s = store_open(f->db, STORE_CREATE, 1000, err, sizeof(err))) ==
	    NULL) {
		printf("not ok - store_open: %s\n", err);
		exit(1);
	}
	if (store_account_add(s, "alice", 0, NULL) == -1 ||
	    store_account_add(s, "bob", 0, NULL) == -1) {
		printf("not ok - accounts: %s\n", store_error(s));
		exit(1);
	}
	store_close(s);
}

/* fx_start - the daemon's side, as mailgovd starts it: the redo log
 * replayed before the accounts are loaded, the committer last */
static void
fx_start(struct fx *f, int sync_full, int redo_log)
{
	char err[256];

	config_defaults(&f->cfg);
	snprintf(f->cfg.db, sizeof(f->cfg.db), "%s", f->db);
	f->cfg.sync_full = sync_full;
	f->cfg.redo_log = redo_log;
	if ((f->st = store_open(f->db, 0, 1000, err, sizeof(err))) == NULL) {
		printf("not ok - store_open: %s\n", err);
		exit(1);
	}
	if (redo_log && ((f->redo = redo_open(f->redo_path, sync_full, err,
	    sizeof(err))) == NULL || redo_replay(f->redo, f->st) == -1)) {
		printf("not ok - redo log: %s\n", f->redo ? "replay" : err);
		exit(1);
	}
	if ((f->as = acct_load(f->st, &f->cfg)) == NULL ||
	    (f->lp = loop_new()) == NULL ||
	    (f->cm = commit_new(f->lp, f->as, &f->cfg, f->redo)) == NULL) {
		printf("not ok - the daemon's side did not start\n");
		exit(1);
	}
	f->alice = acct_by_name(f->as, "alice");
	f->bob = acct_by_name(f->as, "bob");
}

/* fx_others - the reader and the locker */
static void
fx_others(struct fx *f)
{
	f->rd = other_handle(f);
	f->ctl = other_handle(f);
}

/* fx_stop - the daemon's side goes, as at mailgovd's exit */
static void
fx_stop(struct fx *f)
{
	commit_free(f->cm);
	f->cm = NULL;
	redo_close(f->redo);
	f->redo = NULL;
	f->alice = f->bob = NULL;	/* freed with the accounts */
	loop_free(f->lp);
	f->lp = NULL;
	acct_free(f->as);
	f->as = NULL;
	store_close(f->st);
	f->st = NULL;
}

/* fx_close - everything but the files */
static void
fx_close(struct fx *f)
{
	if (f->cm != NULL)
		fx_stop(f);
	store_close(f->rd);
	store_close(f->ctl);
	f->rd = f->ctl = NULL;
}

/* messages - account id's message count in the database; UINT64_MAX if
 * it cannot be read */
static uint64_t
messages(struct store *s, int64_t id)
{
	struct store_usage u;

	return store_usage_get(s, id, &u) == 0 ? u.messages : UINT64_MAX;
}

struct logscan {
	int64_t		id;
	uint64_t	messages;
};

/* log_scan - redo_scan's callback: the highest count of one account */
static void
log_scan(uint64_t seq, const unsigned char *rows, uint32_t n, void *arg)
{
	struct logscan *ls = arg;
	struct store_usage u;
	uint32_t i;

	(void)seq;
	for (i = 0; i < n; i++) {
		redo_row(rows, i, &u);
		if (u.account == ls->id && u.messages > ls->messages)
			ls->messages = u.messages;
	}
}

/* log_messages - account id's highest count in the redo log file */
static uint64_t
log_messages(const char *path, int64_t id)
{
	struct logscan	 ls = { id, 0 };
	unsigned char	*buf;
	ssize_t		 n;
	size_t		 len = 0;
	int		 fd;

	if ((fd = open(path, O_RDONLY)) == -1 ||
	    (buf = malloc(REDO_SIZE)) == NULL) {
		if (fd != -1)
			close(fd);
		return 0;
	}
	while (len < REDO_SIZE &&
	    (n = pread(fd, buf + len, REDO_SIZE - len, (off_t)len)) > 0)
		len += (size_t)n;
	close(fd);
	redo_scan(buf, len, log_scan, &ls);
	free(buf);
	return ls.messages;
}

/* --- the log ------------------------------------------------------------- */

/* log_mark - later checks see only what is logged from now on */
static void
log_mark(void)
{
	logmark = lseek(logfd, 0, SEEK_END);
}

/* logged - has needle been logged since log_mark() */
static int
logged(const char *needle)
{
	char	buf[16384];
	ssize_t	n;

	n = pread(logfd, buf, sizeof(buf) - 1, logmark);
	buf[n > 0 ? n : 0] = '\0';
	return strstr(buf, needle) != NULL;
}

/* logged_count - how many lines holding needle since log_mark() */
static unsigned
logged_count(const char *needle)
{
	char		 buf[16384], *p;
	ssize_t		 n;
	unsigned	 k = 0;

	n = pread(logfd, buf, sizeof(buf) - 1, logmark);
	buf[n > 0 ? n : 0] = '\0';
	for (p = buf; (p = strstr(p, needle)) != NULL; p++)
		k++;
	return k;
}

/* --- driving the loop ---------------------------------------------------- */

struct drive {
	struct loop	*lp;
	void		(*step)(void *, unsigned);
	int		(*until)(void *);
	void		*arg;
	unsigned	 turn;
	uint64_t	 end;
	int		 met;
};

/* on_tick - one turn: the test's step, then its stop condition */
static void
on_tick(int fd, uint32_t events, void *arg)
{
	struct drive	*d = arg;
	uint64_t	 v;

	(void)events;
	if (read(fd, &v, sizeof(v)) == -1)
		return;
	if (d->step != NULL)
		d->step(d->arg, d->turn);
	d->turn++;
	if (d->until != NULL && d->until(d->arg)) {
		d->met = 1;
		loop_stop(d->lp);
	} else if (clock_mono_ms() >= d->end)
		loop_stop(d->lp);
}

/* run - turn f's loop about once a millisecond, with step(arg, turn) in
 * each turn, until until(arg) (1) or ms have passed (0) */
static int
run(struct fx *f, void (*step)(void *, unsigned), int (*until)(void *),
    void *arg, unsigned ms)
{
	struct itimerspec its;
	struct drive d;
	int fd;

	memset(&d, 0, sizeof(d));
	d.lp = f->lp;
	d.step = step;
	d.until = until;
	d.arg = arg;
	d.end = clock_mono_ms() + ms;
	memset(&its, 0, sizeof(its));
	its.it_value.tv_nsec = its.it_interval.tv_nsec = 1000000;
	if ((fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK)) == -1 ||
	    timerfd_settime(fd, 0, &its, NULL) == -1 ||
	    loop_add(f->lp, fd, EPOLLIN, on_tick, &d) == -1) {
		printf("not ok - timerfd\n");
		exit(1);
	}
	(void)loop_run(f->lp);
	loop_del(f->lp, fd);
	close(fd);
	return d.met;
}

/* --- an answer held back, as the policy server holds one ---------------- */

struct answer {
	struct fx	*f;
	struct acct	*who;		/* step_answer charges it (alice) */
	struct acct	*a, *b;		/* its count; b: one riding along */
	uint64_t	 count, bcount;
	uint64_t	 seq;		/* the batch that carries the count */
	int		 sent;
	int		 on_disk;	/* the count (and b's) was on disk */
	int		 in_sqlite;	/* the count was in SQLite */
	unsigned	 hooks;		/* commit_on_durable calls */
	uint64_t	 durable;	/* commit_durable at the last one */
	int		 backwards;	/* commit_durable went down */
	int		 early;		/* durable already when charged */
};

/* answer_wait - charge a message to a, and hold w until it is durable */
static void
answer_wait(struct answer *w, struct acct *a)
{
	(void)acct_charge(a, BK_MESSAGES, 1, clock_now_us(), NULL);
	acct_count_message(a, 1, 1000);
	w->a = a;
	w->count = a->use.messages;
	w->seq = commit_need(w->f->cm);
	w->early = commit_durable(w->f->cm) >= w->seq;
}

/* lazy_charge - a count nobody waits for (the kernel path's) */
static void
lazy_charge(struct acct *a)
{
	(void)acct_charge(a, BK_MESSAGES, 1, clock_now_us(), NULL);
	acct_count_message(a, 1, 1000);
}

/* on_durable - the commit_on_durable hook: send w once its batch is
 * durable, noting whether its count really was on disk then */
static void
on_durable(void *arg)
{
	struct answer	*w = arg;
	struct fx	*f = w->f;
	uint64_t	 d = commit_durable(f->cm), m;

	w->hooks++;
	if (d < w->durable)
		w->backwards = 1;
	w->durable = d;
	if (w->seq == 0 || w->sent || d < w->seq)
		return;
	w->sent = 1;
	m = messages(f->rd, w->a->id);
	w->in_sqlite = m != UINT64_MAX && m >= w->count;
	if (f->redo != NULL)
		m = log_messages(f->redo_path, w->a->id);
	w->on_disk = m != UINT64_MAX && m >= w->count;
	if (w->b != NULL) {
		m = messages(f->rd, w->b->id);
		w->on_disk = w->on_disk && m != UINT64_MAX && m >= w->bcount;
	}
}

/* until_sent - stop once the answer went out */
static int
until_sent(void *arg)
{
	return ((struct answer *)arg)->sent;
}

/* until_one_turn - stop after the first turn */
static int
until_one_turn(void *arg)
{
	(void)arg;
	return 1;
}

/* until_durable - stop once the answer's batch is durable, hook or not */
static int
until_durable(void *arg)
{
	struct answer *w = arg;

	return w->seq != 0 && commit_durable(w->f->cm) >= w->seq;
}

static unsigned calls;

/* count_calls - a hook that only counts its calls */
static void
count_calls(void *arg)
{
	(void)arg;
	calls++;
}

/* --- tests --------------------------------------------------------------- */

/* step_answer - in the first turn, one answer waits on a count of
 * w->who, alice unless set */
static void
step_answer(void *arg, unsigned turn)
{
	struct answer *w = arg;

	if (turn != 0)
		return;
	answer_wait(w, w->who != NULL ? w->who : w->f->alice);
}

/* An answer goes out once its batch is durable, and not before: its
 * count is in SQLite when the hook releases it (sync = full: on the
 * committer's thread; sync = normal: inline at the end of the turn). */
static void
test_answer_waits_for_its_batch(int sync_full)
{
	const char *mode = sync_full ? "sync=full" : "sync=normal";
	struct answer w;
	struct fx f;

	fx_db(&f);
	fx_start(&f, sync_full, 0);
	fx_others(&f);
	memset(&w, 0, sizeof(w));
	w.f = &f;
	commit_on_durable(f.cm, on_durable, &w);
	T_OK(run(&f, step_answer, until_sent, &w, 5000),
	    "%s: the answer went out", mode);
	T_OK(!w.early, "%s: its batch was not durable when it was charged",
	    mode);
	T_OK(w.on_disk, "%s: its count was in the database when it went "
	    "out", mode);
	T_OK(commit_durable(f.cm) >= w.seq, "%s: commit_durable reached its "
	    "batch (%llu >= %llu)", mode,
	    (unsigned long long)commit_durable(f.cm),
	    (unsigned long long)w.seq);
	T_EQ_U(messages(f.rd, f.alice->id), 1, "count in the database");
	T_EQ_U(f.alice->dirty, 0, "the account is clean again");
	T_OK(!w.backwards, "%s: commit_durable never went down", mode);

	/* a second call for the same arg replaces the hook; NULL removes */
	commit_on_durable(f.cm, count_calls, &w);
	calls = 0;
	w.hooks = 0;
	w.seq = 0;
	T_OK(run(&f, step_answer, until_durable, &w, 5000) && calls > 0 &&
	    w.hooks == 0, "%s: the hook is replaced (old %u calls, new %u)",
	    mode, w.hooks, calls);
	commit_on_durable(f.cm, NULL, &w);
	calls = 0;
	w.seq = 0;
	T_OK(run(&f, step_answer, until_durable, &w, 5000) && calls == 0 &&
	    w.hooks == 0, "%s: a removed hook is not called (saw %u calls)",
	    mode, calls + w.hooks);
	fx_close(&f);
}

struct perturn {
	struct answer	 w1, w2, w3;
};

/* step_two_turns - two answers in turn 0, a third in turn 1 */
static void
step_two_turns(void *arg, unsigned turn)
{
	struct perturn *p = arg;

	if (turn == 0) {
		answer_wait(&p->w1, p->w1.f->alice);
		answer_wait(&p->w2, p->w1.f->bob);
	} else if (turn == 1)
		answer_wait(&p->w3, p->w1.f->alice);
}

/* until_durable_w3 - stop once the second turn's batch is durable */
static int
until_durable_w3(void *arg)
{
	struct perturn *p = arg;

	return p->w3.seq != 0 && commit_durable(p->w3.f->cm) >= p->w3.seq;
}

/* The counts of one turn go in one batch; the next turn's in the next. */
static void
test_one_batch_per_turn(void)
{
	struct perturn p;
	struct fx f;

	fx_db(&f);
	fx_start(&f, 1, 0);
	fx_others(&f);
	memset(&p, 0, sizeof(p));
	p.w1.f = p.w2.f = p.w3.f = &f;
	T_OK(run(&f, step_two_turns, until_durable_w3, &p, 5000),
	    "the batches of two turns became durable");
	T_EQ_U(p.w1.seq, 1, "the first turn's batch");
	T_EQ_U(p.w2.seq, p.w1.seq, "two counts of one turn: one batch");
	T_EQ_U(p.w3.seq, p.w1.seq + 1, "the next turn: the next batch");
	T_EQ_U(messages(f.rd, f.alice->id), 2, "alice's two counts on disk");
	T_EQ_U(messages(f.rd, f.bob->id), 1, "bob's count on disk");
	T_EQ_U(f.alice->dirty, 0, "alice clean");
	T_EQ_U(f.bob->dirty, 0, "bob clean");
	fx_close(&f);
}

struct lazy {
	struct fx	*f;
	struct answer	 w;
	uint64_t	 charged;	/* mono ms */
	uint64_t	 written;	/* mono ms, when seen on disk */
};

/* step_lazy - bob's lazy count in turn 0 */
static void
step_lazy(void *arg, unsigned turn)
{
	struct lazy *l = arg;

	if (turn == 0) {
		lazy_charge(l->f->bob);
		l->charged = clock_mono_ms();
	}
}

/* until_bob_on_disk - stop once bob's count is in SQLite */
static int
until_bob_on_disk(void *arg)
{
	struct lazy *l = arg;

	if (messages(l->f->rd, l->f->bob->id) != 1)
		return 0;
	l->written = clock_mono_ms();
	return 1;
}

/* step_ride - bob's lazy count in turn 0, alice's answer in turn 3 */
static void
step_ride(void *arg, unsigned turn)
{
	struct lazy *l = arg;

	if (turn == 0)
		lazy_charge(l->f->bob);
	else if (turn == 3) {
		l->w.b = l->f->bob;
		l->w.bcount = l->f->bob->use.messages;
		answer_wait(&l->w, l->f->alice);
	}
}

/* until_ride_sent - stop once alice's answer went out */
static int
until_ride_sent(void *arg)
{
	return ((struct lazy *)arg)->w.sent;
}

/* Counts no answer waits for (the kernel path's) are not committed at
 * once, but after LAZY_MS, or with the next batch an answer waits for. */
static void
test_lazy_counts(void)
{
	struct lazy l;
	struct fx f;

	fx_db(&f);
	fx_start(&f, 1, 0);
	fx_others(&f);
	memset(&l, 0, sizeof(l));
	l.f = &f;
	T_OK(!run(&f, step_lazy, until_bob_on_disk, &l, 200),
	    "a count nobody waits for is not written at once");
	T_EQ_U(commit_durable(f.cm), 0, "no batch is durable yet");
	T_OK(run(&f, NULL, until_bob_on_disk, &l, 5000),
	    "it is written on its own");
	T_OK(l.written - l.charged >= LAZY_MS - 1, "after %d ms, not sooner "
	    "(%llu ms)", LAZY_MS, (unsigned long long)(l.written - l.charged));
	T_EQ_U(f.bob->dirty, 0, "bob clean");
	fx_close(&f);

	fx_db(&f);
	fx_start(&f, 1, 0);
	fx_others(&f);
	memset(&l, 0, sizeof(l));
	l.f = &f;
	l.w.f = &f;
	commit_on_durable(f.cm, on_durable, &l.w);
	T_OK(run(&f, step_ride, until_ride_sent, &l, 5000), "the answer went "
	    "out");
	T_OK(l.w.on_disk, "the lazy count rode along with the answer's "
	    "batch");
	fx_close(&f);
}

/* commit_free writes the counts still in memory */
static void
test_free_writes_what_is_left(void)
{
	struct fx f;
	int64_t alice;

	fx_db(&f);
	fx_start(&f, 1, 0);
	fx_others(&f);
	alice = f.alice->id;
	lazy_charge(f.alice);
	lazy_charge(f.alice);
	T_OK(run(&f, NULL, until_one_turn, NULL, 1000), "one turn");
	T_EQ_U(messages(f.rd, alice), 0, "not written yet");
	fx_stop(&f);
	T_EQ_U(messages(f.rd, alice), 2, "written by commit_free");
	fx_close(&f);
}

/* While another connection holds the write lock, the group commit fails
 * and the answer keeps waiting; when the lock goes, a retry succeeds and
 * releases it. */
static void
test_locked_database_keeps_answers_waiting(void)
{
	struct answer w;
	struct fx f;

	fx_db(&f);
	fx_start(&f, 1, 0);
	fx_others(&f);
	memset(&w, 0, sizeof(w));
	w.f = &f;
	commit_on_durable(f.cm, on_durable, &w);
	log_mark();
	T_EQ_U(store_begin(f.ctl), 0, "another connection takes the lock");
	T_OK(!run(&f, step_answer, until_sent, &w, 700),
	    "the answer waits while the database is locked");
	T_OK(!w.early, "its batch was not durable when it was charged");
	T_OK(commit_durable(f.cm) < w.seq, "its batch is not durable "
	    "(durable %llu, seq %llu)", (unsigned long long)commit_durable(f.cm),
	    (unsigned long long)w.seq);
	T_EQ_U(messages(f.rd, f.alice->id), 0, "nothing in the database");
	T_OK(f.alice->dirty != 0, "the account stays dirty");
	T_OK(logged("group commit failed"), "the failure is logged");
	T_EQ_U(logged_count("group commit failed"), 1,
	    "once, not at every retry");
	store_rollback(f.ctl);
	T_OK(run(&f, NULL, until_sent, &w, 5000), "the lock goes: the answer "
	    "goes out");
	T_OK(w.on_disk, "with its count in the database");
	T_EQ_U(messages(f.rd, f.alice->id), 1, "count in the database");
	T_OK(logged("group commit done again"), "the recovery is logged");
	fx_close(&f);
}

/* the times of the daemon's handle's BEGIN IMMEDIATE */
#define ATTEMPTS_MAX	32
struct attempts {
	uint64_t	at[ATTEMPTS_MAX];
	unsigned	n;
};

/* trace_begin - SQLite's statement trace: note each BEGIN IMMEDIATE */
static int
trace_begin(unsigned type, void *ctx, void *p, void *x)
{
	struct attempts *a = ctx;

	(void)type;
	(void)p;
	if (strncmp(x, "BEGIN IMMEDIATE", 15) == 0 && a->n < ATTEMPTS_MAX)
		a->at[a->n++] = clock_mono_ms();
	return 0;
}

struct backoff {
	struct answer	 w;
	struct attempts	 a;
};

/* step_backoff - step_answer for a struct backoff */
static void
step_backoff(void *arg, unsigned turn)
{
	step_answer(&((struct backoff *)arg)->w, turn);
}

/* until_seven_attempts - stop after the seventh BEGIN IMMEDIATE */
static int
until_seven_attempts(void *arg)
{
	return ((struct backoff *)arg)->a.n >= 7;
}

/*
 * The retries back off: 50 ms, then doubling up to 1 s.  With sync =
 * normal the loop writes on the daemon's own handle, whose statements the
 * test can watch; without a lock wait, each attempt fails at once, so the
 * gaps between attempts are the back-off itself.
 */
static void
test_retry_backs_off(void)
{
	static const uint64_t want[] = { 50, 100, 200, 400, 800, 1000 };
	struct backoff b;
	struct fx f;
	char gaps[200];
	size_t i, len = 0;
	uint64_t gap, maxgap = 0;
	int doubling = 1;

	fx_db(&f);
	fx_start(&f, 0, 0);
	fx_others(&f);
	memset(&b, 0, sizeof(b));
	b.w.f = &f;
	store_set_busy(f.st, 0);
	sqlite3_trace_v2(store_db(f.st), SQLITE_TRACE_STMT, trace_begin,
	    &b.a);
	commit_on_durable(f.cm, on_durable, &b.w);
	T_EQ_U(store_begin(f.ctl), 0, "another connection takes the lock");
	T_OK(run(&f, step_backoff, until_seven_attempts, &b, 6000),
	    "seven attempts while locked (saw %u)", b.a.n);
	T_OK(!b.w.sent, "the answer waits through every failed attempt");
	gaps[0] = '\0';
	for (i = 1; i < b.a.n && i <= sizeof(want) / sizeof(want[0]); i++) {
		gap = b.a.at[i] - b.a.at[i - 1];
		if (gap + 1 < want[i - 1])
			doubling = 0;
		if (gap > maxgap)
			maxgap = gap;
		len += (size_t)snprintf(gaps + len, sizeof(gaps) - len, " %llu",
		    (unsigned long long)gap);
		if (len >= sizeof(gaps))
			break;
	}
	T_OK(doubling && b.a.n >= 7, "gaps of at least 50 100 200 400 800 "
	    "1000 ms; saw%s", gaps);
	T_OK(maxgap < 1500, "the back-off stops at 1 s (longest gap %llu ms)",
	    (unsigned long long)maxgap);
	store_rollback(f.ctl);
	T_OK(run(&f, NULL, until_sent, &b.w, 3000), "the lock goes: the "
	    "answer goes out within the back-off");
	T_OK(b.w.on_disk, "with its count in the database");
	sqlite3_trace_v2(store_db(f.st), 0, NULL, NULL);
	fx_close(&f);
}

/* A mailgovctl reset that lands after a count was collected into the
 * open batch wins: the row is refused, and the account takes the reset. */
static void
test_reset_wins_over_collected_batch(void)
{
	struct store_usage u;
	struct answer w;
	struct fx f;

	fx_db(&f);
	fx_start(&f, 1, 0);
	fx_others(&f);
	memset(&w, 0, sizeof(w));
	w.f = &f;
	commit_on_durable(f.cm, on_durable, &w);
	T_OK(run(&f, step_answer, until_sent, &w, 5000), "alice's first "
	    "count is on disk");
	lazy_charge(f.alice);
	T_OK(run(&f, NULL, until_one_turn, NULL, 1000), "one turn");
	T_EQ_U(f.alice->dirty, w.seq + 1, "alice's copy waits in the open "
	    "batch");
	T_EQ_U(store_usage_reset(f.ctl, "alice", 1), 0, "mailgovctl resets "
	    "alice");
	memset(&w, 0, sizeof(w));
	w.f = &f;
	w.who = f.bob;
	T_OK(run(&f, step_answer, until_sent, &w, 5000), "bob's answer takes "
	    "the open batch to disk");
	T_EQ_U(messages(f.rd, f.bob->id), 1, "bob's count is written");
	T_EQ_U(messages(f.rd, f.alice->id), 0, "alice's older copy is not");
	T_EQ_U(f.alice->use.messages, 0, "alice takes the reset");
	T_OK(store_usage_get(f.rd, f.alice->id, &u) == 0 &&
	    u.epoch == f.alice->use.epoch, "and its epoch (%lld, stored %lld)",
	    (long long)f.alice->use.epoch, (long long)u.epoch);
	T_EQ_U(f.alice->dirty, 0, "and is clean");
	fx_close(&f);
}

struct reload {
	struct fx	*f;
	int		 done;
};

/* step_reload - commit_fresh picks up mailgovctl's change, once a turn */
static void
step_reload(void *arg, unsigned turn)
{
	struct reload *r = arg;
	struct fx *f = r->f;

	if (turn == 0) {
		commit_fresh(f->cm);
		T_EQ_U(f->alice->blocked, 1, "commit_fresh sees mailgovctl's "
		    "block");
		T_EQ_U(f->alice->use.messages, 0, "and its reset");
		(void)store_account_set_blocked(f->ctl, "alice", 0);
		commit_fresh(f->cm);
		T_EQ_U(f->alice->blocked, 1, "a second commit_fresh in the "
		    "same turn does not reload");
	} else if (turn == 1) {
		commit_fresh(f->cm);
		T_EQ_U(f->alice->blocked, 0, "the next turn's does");
		r->done = 1;
	}
}

/* until_reloaded - stop after step_reload's second turn */
static int
until_reloaded(void *arg)
{
	return ((struct reload *)arg)->done;
}

/* commit_fresh reloads the accounts after mailgovctl's changes, at most
 * once a turn; after a reset, the next batch is written, not refused. */
static void
test_fresh_reloads(void)
{
	struct reload r;
	struct answer w;
	struct fx f;

	fx_db(&f);
	fx_start(&f, 1, 0);
	fx_others(&f);
	memset(&w, 0, sizeof(w));
	w.f = &f;
	commit_on_durable(f.cm, on_durable, &w);
	T_OK(run(&f, step_answer, until_sent, &w, 5000), "alice's count is "
	    "on disk");
	T_EQ_U(store_account_set_blocked(f.ctl, "alice", 1), 0,
	    "mailgovctl blocks alice");
	T_EQ_U(store_usage_reset(f.ctl, "alice", 1), 0, "and resets her");
	T_EQ_U(f.alice->blocked, 0, "not seen before commit_fresh");
	memset(&r, 0, sizeof(r));
	r.f = &f;
	T_OK(run(&f, step_reload, until_reloaded, &r, 1000), "two turns");
	memset(&w, 0, sizeof(w));
	w.f = &f;
	T_OK(run(&f, step_answer, until_sent, &w, 5000), "a count after the "
	    "reset goes out");
	T_EQ_U(messages(f.rd, f.alice->id), 1, "and is written over the "
	    "reset, not refused");
	fx_close(&f);
}

/*
 * With the redo log, an answer waits for the log only: it goes out while
 * SQLite is locked, with the count in the log and not in SQLite; the rows
 * reach SQLite once the lock goes, and the applied mark follows.
 */
static void
test_redo_log_before_sqlite(void)
{
	struct answer w;
	struct fx f;
	struct redo *r;
	struct store *s;
	uint64_t applied = 0;
	char err[256];
	int i;

	fx_db(&f);
	fx_start(&f, 1, 1);
	fx_others(&f);
	memset(&w, 0, sizeof(w));
	w.f = &f;
	commit_on_durable(f.cm, on_durable, &w);
	log_mark();
	T_EQ_U(store_begin(f.ctl), 0, "another connection locks SQLite");
	T_OK(run(&f, step_answer, until_sent, &w, 5000), "redo log: the "
	    "answer goes out while SQLite is locked");
	T_OK(w.on_disk, "its count was in the redo log then");
	T_OK(!w.in_sqlite, "and not in SQLite");
	T_OK(run(&f, NULL, NULL, NULL, 300) == 0 &&
	    messages(f.rd, f.alice->id) == 0, "SQLite still lacks it while "
	    "locked");
	store_rollback(f.ctl);
	for (i = 0; i < 100 && messages(f.rd, f.alice->id) != 1; i++)
		(void)run(&f, NULL, NULL, NULL, 20);
	T_EQ_U(messages(f.rd, f.alice->id), 1, "the applier puts it into "
	    "SQLite once the lock goes");
	T_EQ_U(store_redo_applied(f.rd, &applied), 0, "applied mark");
	T_OK(applied >= 1, "the applied mark follows (%llu)",
	    (unsigned long long)applied);
	T_OK(logged("database takes the rows again"), "the recovery is "
	    "logged");
	fx_close(&f);

	/* everything is applied: a start replays nothing */
	s = other_handle(&f);
	r = redo_open(f.redo_path, 1, err, sizeof(err));
	T_OK(r != NULL, "redo_open: %s", r ? "" : err);
	if (r != NULL)
		T_EQ_U(redo_replay(r, s), 0, "nothing left to replay");
	redo_close(r);
	store_close(s);
}

/* crash_child - a daemon that commits one count through the redo log,
 * says so, and waits to be killed */
static void
crash_child(struct fx *f, int ready, int go)
{
	struct answer w;
	uint64_t rep[2];
	char c;

	alarm(30);
	fx_start(f, 1, 1);
	f->rd = other_handle(f);
	if (write(ready, "r", 1) != 1 || read(go, &c, 1) != 1)
		_exit(2);
	memset(&w, 0, sizeof(w));
	w.f = f;
	commit_on_durable(f->cm, on_durable, &w);
	rep[0] = run(f, step_answer, until_sent, &w, 10000);
	rep[1] = w.on_disk;
	if (write(ready, rep, sizeof(rep)) != sizeof(rep))
		_exit(2);
	for (;;)
		pause();
}

/* A crash after the answer, before SQLite had the count: the next start's
 * replay of the redo log puts it there. */
static void
test_redo_replay_after_crash(void)
{
	struct store *s;
	struct redo *r;
	struct fx f;
	uint64_t rep[2] = { 0, 0 };
	int64_t alice;
	char err[256], c;
	int up[2], down[2], status;
	pid_t pid;

	fx_db(&f);
	if (pipe(up) == -1 || pipe(down) == -1) {
		T_OK(0, "pipe");
		return;
	}
	fflush(stdout);
	if ((pid = fork()) == -1) {
		T_OK(0, "fork");
		return;
	}
	if (pid == 0)
		crash_child(&f, up[1], down[0]);
	close(up[1]);
	close(down[0]);
	T_OK(read(up[0], &c, 1) == 1, "the daemon started");
	fx_others(&f);
	T_EQ_U(store_begin(f.ctl), 0, "another connection locks SQLite");
	T_OK(write(down[1], "g", 1) == 1 &&
	    read(up[0], rep, sizeof(rep)) == sizeof(rep) && rep[0] == 1,
	    "the daemon's answer went out");
	T_OK(rep[1], "with the count in the redo log");
	{
		struct store_account sa;

		alice = store_account_get(f.rd, "alice", &sa) == 0 ? sa.id : 0;
	}
	T_EQ_U(messages(f.rd, alice), 0, "SQLite does not have it");
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	T_OK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "the daemon "
	    "was killed");
	close(up[0]);
	close(down[1]);
	store_rollback(f.ctl);
	T_EQ_U(messages(f.rd, alice), 0, "nor after the crash");
	T_EQ_U(log_messages(f.redo_path, alice), 1, "the redo log does");

	s = other_handle(&f);
	r = redo_open(f.redo_path, 1, err, sizeof(err));
	T_OK(r != NULL, "redo_open: %s", r ? "" : err);
	if (r != NULL)
		T_OK(redo_replay(r, s) >= 1, "the next start replays it");
	T_EQ_U(messages(s, alice), 1, "the count is in SQLite after the "
	    "replay");
	redo_close(r);
	store_close(s);
	fx_close(&f);
}

int
main(void)
{
	const char *t = getenv("TMPDIR");
	char cmd[400];
	int rc;

	snprintf(base, sizeof(base), "%s/mailgov-commit.XXXXXX",
	    t ? t : "/tmp");
	if (mkdtemp(base) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	snprintf(logpath, sizeof(logpath), "%s/log", base);
	/* the module's log lines are read back by the tests */
	if ((logfd = open(logpath, O_RDWR | O_CREAT | O_TRUNC, 0600)) == -1 ||
	    dup2(logfd, 2) == -1)
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	log_init("test_commit", 1, 0);
	setenv("MAILGOVD_COMMIT_LOCK_WAIT_MS", LOCK_WAIT, 1);

	test_answer_waits_for_its_batch(1);
	test_answer_waits_for_its_batch(0);
	test_one_batch_per_turn();
	test_lazy_counts();
	test_free_writes_what_is_left();
	test_locked_database_keeps_answers_waiting();
	test_retry_backs_off();
	test_reset_wins_over_collected_batch();
	test_fresh_reloads();
	test_redo_log_before_sqlite();
	test_redo_replay_after_crash();

	rc = t_done();
	if (rc != 0) {
		printf("# the log:\n");
		snprintf(cmd, sizeof(cmd), "sed 's/^/# /' '%s'", logpath);
		(void)!system(cmd);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", base);
	return rc;
}
