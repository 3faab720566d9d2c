/*
 * store_ledger - the rows mailgovd writes as it works: usage (budget
 * engine state and counters, upserted at every group commit), the mark of
 * the last redo record applied, held mail and the event log.  mailgovctl
 * reads them, releases held mail and resets usage; the daemon's hot path
 * is store_usage_put(), one cached statement per row, no transaction of
 * its own.
 *
 * Trusts: the caller's pointers; queue ids are validated here.  Rows read
 * back are range-checked: negative counters read as 0, bad rows are
 * skipped with a warning.
 */
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "log.h"
#include "queueid.h"
#include "store.h"
#include "store_int.h"

/* the tats: usage.tat<kind * BUDGET_WINDOWS_MAX + window> (store.h) */
#define USE_TATS	"tat0, tat1, tat2, tat3, tat4, tat5, tat6, tat7, " \
			"tat8, tat9, tat10, tat11"
#define USE_COLS	"account, " USE_TATS ", messages, recipients, " \
			"bytes, held, released, refused, connections, " \
			"last_seen, epoch, " USE_OWED
/* what a node owes the shared count in Redis (store.h) */
#define USE_OWED	"owed0, owed1, owed2, owed3, owed4, owed5, owed6, owed7"
#define N_OWED		(STORE_OWED_KINDS * BUDGET_WINDOWS_MAX)
#define N_TATS		(BK_RATES * BUDGET_WINDOWS_MAX)
#define C_MESSAGES	(1 + N_TATS)	/* the column after the tats */
#define C_OWED		(C_MESSAGES + 9)	/* the column after epoch */
/* a reset forgets what the node owes Redis too: mailgovctl reset empties
 * the account's shared windows there as well */
#define TATS_ZERO	"tat0 = 0, tat1 = 0, tat2 = 0, tat3 = 0, tat4 = 0, " \
			"tat5 = 0, tat6 = 0, tat7 = 0, tat8 = 0, tat9 = 0, " \
			"tat10 = 0, tat11 = 0, owed0 = 0, owed1 = 0, " \
			"owed2 = 0, owed3 = 0, owed4 = 0, owed5 = 0, " \
			"owed6 = 0, owed7 = 0"
#define HELD_COLS	"queue_id, account, since, recipients, size, state, " \
			"sender, prepaid, pid, exe, cwd, cmd, script"

const char *const store_ledger_sql[S_COUNT] = {
	[S_ACC_NAME] = "SELECT name FROM accounts WHERE id = ?1",
	[S_USE_GET] = "SELECT " USE_COLS " FROM usage WHERE account = ?1",
	[S_USE_PUT] = "INSERT INTO usage (" USE_COLS ") VALUES (?1, ?2, ?3, "
	    "?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, "
	    "?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30) "
	    "ON CONFLICT (account) DO UPDATE SET tat0 = excluded.tat0, "
	    "tat1 = excluded.tat1, tat2 = excluded.tat2, "
	    "tat3 = excluded.tat3, tat4 = excluded.tat4, "
	    "tat5 = excluded.tat5, tat6 = excluded.tat6, "
	    "tat7 = excluded.tat7, tat8 = excluded.tat8, "
	    "tat9 = excluded.tat9, tat10 = excluded.tat10, "
	    "tat11 = excluded.tat11, messages = excluded.messages, "
	    "recipients = excluded.recipients, bytes = excluded.bytes, "
	    "held = excluded.held, released = excluded.released, "
	    "refused = excluded.refused, connections = excluded.connections, "
	    "last_seen = excluded.last_seen, owed0 = excluded.owed0, "
	    "owed1 = excluded.owed1, owed2 = excluded.owed2, "
	    "owed3 = excluded.owed3, owed4 = excluded.owed4, "
	    "owed5 = excluded.owed5, owed6 = excluded.owed6, "
	    "owed7 = excluded.owed7 WHERE usage.epoch = excluded.epoch",
	[S_USE_ALL] = "SELECT " USE_COLS " FROM usage ORDER BY account",
	/* a reset makes a row even where there was none: the daemon may
	 * hold usage not yet written, and the new epoch must refuse it */
	[S_USE_RESET_TAT] = "INSERT INTO usage (account, epoch) VALUES (?1, 1) "
	    "ON CONFLICT (account) DO UPDATE SET " TATS_ZERO ", "
	    "epoch = epoch + 1",
	[S_USE_RESET_ALL] = "INSERT INTO usage (account, epoch) VALUES (?1, 1) "
	    "ON CONFLICT (account) DO UPDATE SET " TATS_ZERO ", messages = 0, "
	    "recipients = 0, bytes = 0, held = 0, released = 0, refused = 0, "
	    "connections = 0, last_seen = 0, epoch = epoch + 1",
	[S_HELD_FIND] = "SELECT state FROM held WHERE queue_id = ?1",
	[S_HELD_ADD] = "INSERT INTO held (" HELD_COLS ") VALUES (?1, ?2, ?3, "
	    "?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) "
	    "ON CONFLICT (queue_id) DO UPDATE SET "
	    "account = excluded.account, since = excluded.since, "
	    "recipients = excluded.recipients, size = excluded.size, "
	    "state = excluded.state, sender = excluded.sender, "
	    "prepaid = excluded.prepaid, pid = excluded.pid, "
	    "exe = excluded.exe, cwd = excluded.cwd, cmd = excluded.cmd, "
	    "script = excluded.script",
	[S_HELD_STATE] = "UPDATE held SET state = ?2 WHERE queue_id = ?1",
	/* only a held row that names nobody yet: a late answer never
	 * overwrites what was known */
	[S_HELD_ORIGIN] = "UPDATE held SET pid = ?3, exe = ?4, cwd = ?5, "
	    "cmd = ?6 WHERE queue_id = ?1 AND account = ?2 AND pid = 0 AND "
	    "exe = '' AND cwd = '' AND cmd = '' AND script = ''",
	[S_HELD_ALL] = "SELECT " HELD_COLS " FROM held "
	    "ORDER BY since, rowid",
	[S_HELD_ACC] = "SELECT " HELD_COLS " FROM held WHERE account = ?1 "
	    "ORDER BY since, rowid",
	[S_HELD_ST] = "SELECT " HELD_COLS " FROM held WHERE state = ?2 "
	    "ORDER BY since, rowid",
	[S_HELD_ACC_ST] = "SELECT " HELD_COLS " FROM held WHERE account = ?1 "
	    "AND state = ?2 ORDER BY since, rowid",
	[S_SCRIPT_BUMP] = "UPDATE scripts SET messages = messages + ?3, "
	    "last = ?4 WHERE account = ?1 AND script = ?2",
	[S_SCRIPT_NUM] = "SELECT count(*) FROM scripts WHERE account = ?1",
	[S_SCRIPT_ADD] = "INSERT INTO scripts (account, script, messages, "
	    "last) VALUES (?1, ?2, ?3, ?4) ON CONFLICT (account, script) DO "
	    "UPDATE SET messages = messages + excluded.messages, "
	    "last = excluded.last",
	[S_SCRIPT_TOP] = "SELECT script, messages, last FROM scripts "
	    "WHERE account = ?1 ORDER BY messages DESC, script LIMIT ?2",
	[S_EVENT_ADD] = "INSERT INTO events (ts, account, kind, detail) "
	    "VALUES (?1, ?2, ?3, ?4)",
	[S_HELD_SUM] = "SELECT count(*), total(size), min(since) FROM held "
	    "WHERE account = ?1 AND state = 0",
	[S_EVENT_ALL] = "SELECT ts, account, kind, detail FROM (SELECT id, ts, "
	    "account, kind, detail FROM events ORDER BY id DESC LIMIT ?2) "
	    "ORDER BY id",
	[S_EVENT_ACC] = "SELECT ts, account, kind, detail FROM (SELECT id, ts, "
	    "account, kind, detail FROM events WHERE account = ?1 "
	    "ORDER BY id DESC LIMIT ?2) ORDER BY id",
};

/* bind_u64 - SQLite integers are signed: clamp rather than wrap */
static void
bind_u64(sqlite3_stmt *st, int i, uint64_t v)
{
	sqlite3_bind_int64(st, i, v > INT64_MAX ? INT64_MAX : (int64_t)v);
}

/* col_u64 - a counter read back: negative (corrupt) reads as 0 */
static uint64_t
col_u64(sqlite3_stmt *st, int i)
{
	int64_t v = sqlite3_column_int64(st, i);

	return v < 0 ? 0 : (uint64_t)v;
}

/* --- usage ------------------------------------------------------------- */

/* row_usage - a USE_COLS row */
static void
row_usage(sqlite3_stmt *st, struct store_usage *u)
{
	const int c = C_MESSAGES;
	int k;

	memset(u, 0, sizeof(*u));
	u->account = sqlite3_column_int64(st, 0);
	for (k = 0; k < N_TATS; k++)
		u->tat[k / BUDGET_WINDOWS_MAX][k % BUDGET_WINDOWS_MAX] =
		    col_u64(st, 1 + k);
	u->messages = col_u64(st, c);
	u->recipients = col_u64(st, c + 1);
	u->bytes = col_u64(st, c + 2);
	u->held = col_u64(st, c + 3);
	u->released = col_u64(st, c + 4);
	u->refused = col_u64(st, c + 5);
	u->connections = col_u64(st, c + 6);
	u->last_seen = (int64_t)col_u64(st, c + 7);
	/* compared, never counted */
	u->epoch = sqlite3_column_int64(st, c + 8);
	for (k = 0; k < N_OWED; k++)
		u->owed[k / BUDGET_WINDOWS_MAX][k % BUDGET_WINDOWS_MAX] =
		    col_u64(st, C_OWED + k);
}

/* store_usage_get - the account's row, or zeroes if it has none yet */
int
store_usage_get(struct store *s, int64_t account, struct store_usage *u)
{
	sqlite3_stmt *st;
	int rc;

	if ((st = st_get(s, S_USE_GET)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, account);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		row_usage(st, u);
	sqlite3_reset(st);
	if (rc == SQLITE_DONE) {
		memset(u, 0, sizeof(*u));
		u->account = account;
		return 0;
	}
	return rc == SQLITE_ROW ? 0 : dberr(s, rc);
}

/*
 * store_usage_put - one upsert, no transaction of its own: it is a single
 * statement (atomic by itself) and the daemon batches many inside its
 * group-commit transaction.  An account deleted meanwhile fails the
 * foreign key: "unknown account id N".  A row whose epoch moved on (reset
 * since u was loaded) is left alone: 1.
 */
int
store_usage_put(struct store *s, const struct store_usage *u)
{
	const int c = C_MESSAGES + 1;	/* parameters count from 1 */
	sqlite3_stmt *st;
	int k, rc;

	if ((st = st_get(s, S_USE_PUT)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, u->account);
	for (k = 0; k < N_TATS; k++)
		bind_u64(st, 2 + k,
		    u->tat[k / BUDGET_WINDOWS_MAX][k % BUDGET_WINDOWS_MAX]);
	bind_u64(st, c, u->messages);
	bind_u64(st, c + 1, u->recipients);
	bind_u64(st, c + 2, u->bytes);
	bind_u64(st, c + 3, u->held);
	bind_u64(st, c + 4, u->released);
	bind_u64(st, c + 5, u->refused);
	bind_u64(st, c + 6, u->connections);
	sqlite3_bind_int64(st, c + 7, u->last_seen < 0 ? 0 : u->last_seen);
	sqlite3_bind_int64(st, c + 8, u->epoch);
	for (k = 0; k < N_OWED; k++)
		bind_u64(st, C_OWED + 1 + k,
		    u->owed[k / BUDGET_WINDOWS_MAX][k % BUDGET_WINDOWS_MAX]);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return sqlite3_changes(s->db) == 0;
	if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
		return seterr(s, "unknown account id %lld",
		    (long long)u->account);
	return dberr(s, rc);
}

int
store_usage_each(struct store *s, int (*cb)(const struct store_usage *,
    void *), void *arg)
{
	sqlite3_stmt *st;
	struct store_usage u;
	int rc, stop = 0;

	if ((st = st_get(s, S_USE_ALL)) == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		row_usage(st, &u);
		if ((stop = cb(&u, arg)) != 0)
			break;
	}
	return walk_end(s, st, rc, stop);
}

/* store_redo_applied - see store.h */
int
store_redo_applied(struct store *s, uint64_t *seq)
{
	sqlite3_stmt *st;
	int rc;

	rc = sqlite3_prepare_v2(s->db, "SELECT applied FROM redo", -1, &st,
	    NULL);
	if (rc != SQLITE_OK)
		return dberr(s, rc);
	rc = sqlite3_step(st);
	*seq = rc == SQLITE_ROW ? col_u64(st, 0) : 0;
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : dberr(s, rc);
}

/* store_redo_set_applied - see store.h */
int
store_redo_set_applied(struct store *s, uint64_t seq)
{
	sqlite3_stmt *st;
	int rc;

	rc = sqlite3_prepare_v2(s->db, "UPDATE redo SET applied = ?1", -1,
	    &st, NULL);
	if (rc != SQLITE_OK)
		return dberr(s, rc);
	bind_u64(st, 1, seq);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : dberr(s, rc);
}

/* usage_reset - store_usage_reset's arguments, for its change */
struct usage_reset {
	const char	*name;
	int		 all;
};

/* usage_reset_tx - a new epoch, with the engine state (or all) zeroed */
static int
usage_reset_tx(struct store *s, void *arg)
{
	struct usage_reset *r = arg;
	sqlite3_stmt *st;
	int64_t id;

	if (account_id(s, r->name, &id) == -1 ||
	    (st = st_get(s, r->all ? S_USE_RESET_ALL : S_USE_RESET_TAT)) ==
	    NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	return st_run(s, st);
}

/*
 * store_usage_reset - zero the engine state (and counters if all).  It
 * bumps the generation: mailgovd reloads, and takes the new epoch.
 */
int
store_usage_reset(struct store *s, const char *name, int all)
{
	struct usage_reset r = { .name = name, .all = all };

	return tx_write(s, GEN_BUMP, usage_reset_tx, &r);
}

/* --- held mail --------------------------------------------------------- */

/* account_name - the name of id into buf; -1 with "unknown account id" */
static int
account_name(struct store *s, int64_t id, char *buf, size_t len)
{
	sqlite3_stmt *st;
	int rc;

	if ((st = st_get(s, S_ACC_NAME)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		col_str(st, 0, buf, len);
		sqlite3_reset(st);
		return 0;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return dberr(s, rc);
	return seterr(s, "unknown account id %lld", (long long)id);
}

/* held_add - store_held_add's argument, for its change */
struct held_add {
	const struct store_held *h;
};

/* held_add_tx - the row, unless its queue id is still held */
static int
held_add_tx(struct store *s, void *arg)
{
	const struct store_held *h = ((struct held_add *)arg)->h;
	sqlite3_stmt *st;
	char name[STORE_NAMELEN];
	int rc;

	if (account_name(s, h->account, name, sizeof(name)) == -1 ||
	    (st = st_get(s, S_HELD_FIND)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, h->queue_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_int64(st, 0) == HELD) {
		sqlite3_reset(st);
		return seterr(s, "queue id %s is already held", h->queue_id);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return dberr(s, rc);
	if ((st = st_get(s, S_HELD_ADD)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, h->queue_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, h->account);
	sqlite3_bind_int64(st, 3, h->since);
	sqlite3_bind_int64(st, 4, h->recipients);
	bind_u64(st, 5, h->size);
	sqlite3_bind_int(st, 6, h->state);
	sqlite3_bind_text(st, 7, h->sender, (int)strnlen(h->sender,
	    sizeof(h->sender) - 1), SQLITE_STATIC);
	sqlite3_bind_int(st, 8, h->prepaid != 0);
	sqlite3_bind_int64(st, 9, h->origin.pid);
	sqlite3_bind_text(st, 10, h->origin.exe, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 11, h->origin.cwd, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 12, h->origin.cmd, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 13, h->origin.script, -1, SQLITE_STATIC);
	return st_run(s, st);
}

/* col_clean - a text column in origin.h's clean form, whatever the file
 * holds: the database is not trusted to be what mailgovd wrote */
static void
col_clean(sqlite3_stmt *st, int i, char *dst, size_t len)
{
	const char *t = (const char *)sqlite3_column_text(st, i);
	int n = sqlite3_column_bytes(st, i);

	origin_clean(dst, len, t, t == NULL || n < 0 ? 0 : (size_t)n);
}

/*
 * store_held_add - record a held message.  A queue id still held is an
 * error; one already released or deleted is replaced, since Postfix reuses
 * short queue ids.
 */
int
store_held_add(struct store *s, const struct store_held *h)
{
	struct held_add a = { .h = h };
	char buf[80];

	if (!queueid_ok(h->queue_id))
		return seterr(s, "bad queue id '%s'", log_clean(buf,
		    sizeof(buf), h->queue_id, strnlen(h->queue_id,
		    sizeof(h->queue_id))));
	if (h->state < HELD || h->state > HELD_STATE_MAX)
		return seterr(s, "bad held state %d", h->state);
	return tx_write(s, GEN_KEEP, held_add_tx, &a);
}

int
store_held_set_state(struct store *s, const char *queue_id, int state)
{
	sqlite3_stmt *st;
	char buf[80];

	if (!queueid_ok(queue_id))
		return seterr(s, "bad queue id '%s'",
		    clean_arg(buf, sizeof(buf), queue_id ? queue_id : ""));
	if (state < HELD || state > HELD_STATE_MAX)
		return seterr(s, "bad held state %d", state);
	if ((st = st_get(s, S_HELD_STATE)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, queue_id, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, state);
	if (st_run(s, st) == -1)
		return -1;
	if (sqlite3_changes(s->db) == 0)
		return seterr(s, "unknown queue id '%s'", queue_id);
	return 0;
}

/* store_held_set_origin - see store.h */
int
store_held_set_origin(struct store *s, const char *queue_id, int64_t account,
    const struct origin *o)
{
	sqlite3_stmt *st;
	char buf[80];

	if (!queueid_ok(queue_id))
		return seterr(s, "bad queue id '%s'",
		    clean_arg(buf, sizeof(buf), queue_id ? queue_id : ""));
	if ((st = st_get(s, S_HELD_ORIGIN)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, queue_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, account);
	sqlite3_bind_int64(st, 3, o->pid);
	sqlite3_bind_text(st, 4, o->exe, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, o->cwd, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, o->cmd, -1, SQLITE_STATIC);
	if (st_run(s, st) == -1)
		return -1;
	return sqlite3_changes(s->db) > 0 ? 1 : 0;
}

/* store_held_each - oldest first; account < 0: all; state < 0: any */
int
store_held_each(struct store *s, int64_t account, int state,
    int (*cb)(const struct store_held *, void *), void *arg)
{
	sqlite3_stmt *st;
	struct store_held h;
	int64_t v;
	int rc, stop = 0;
	enum st which = account < 0 ? (state < 0 ? S_HELD_ALL : S_HELD_ST) :
	    (state < 0 ? S_HELD_ACC : S_HELD_ACC_ST);

	if ((st = st_get(s, which)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, account);
	sqlite3_bind_int(st, 2, state);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&h, 0, sizeof(h));
		if (col_str(st, 0, h.queue_id, sizeof(h.queue_id)) == -1) {
			log_warnx("ignoring a bad held row");
			continue;
		}
		h.account = sqlite3_column_int64(st, 1);
		h.since = (int64_t)col_u64(st, 2);
		v = sqlite3_column_int64(st, 3);
		h.recipients = v < 0 ? 0 : v > UINT32_MAX ? UINT32_MAX :
		    (uint32_t)v;
		h.size = col_u64(st, 4);
		v = sqlite3_column_int64(st, 5);
		h.state = (v >= HELD && v <= HELD_STATE_MAX) ? (int)v : HELD;
		col_str(st, 6, h.sender, sizeof(h.sender));
		h.prepaid = sqlite3_column_int64(st, 7) != 0;
		v = sqlite3_column_int64(st, 8);
		h.origin.pid = v < 0 || v > UINT32_MAX ? 0 : (uint32_t)v;
		col_clean(st, 9, h.origin.exe, sizeof(h.origin.exe));
		col_clean(st, 10, h.origin.cwd, sizeof(h.origin.cwd));
		col_clean(st, 11, h.origin.cmd, sizeof(h.origin.cmd));
		col_clean(st, 12, h.origin.script, sizeof(h.origin.script));
		if ((stop = cb(&h, arg)) != 0)
			break;
	}
	return walk_end(s, st, rc, stop);
}

/* store_held_summary - what account has on hold (see store.h) */
int
store_held_summary(struct store *s, int64_t account, uint64_t *n,
    uint64_t *bytes, int64_t *oldest)
{
	sqlite3_stmt *st;
	double	 total;
	int	 rc;

	*n = *bytes = 0;
	*oldest = 0;
	if ((st = st_get(s, S_HELD_SUM)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, account);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*n = col_u64(st, 0);
		total = sqlite3_column_double(st, 1);
		*bytes = total <= 0 ? 0 : total >= 1.8e19 ? UINT64_MAX :
		    (uint64_t)total;
		*oldest = (int64_t)col_u64(st, 2);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return dberr(s, rc);
	return 0;
}

/* --- messages per script ---------------------------------------------- */

/* script_add - store_script_count's argument, for its change */
struct script_add {
	int64_t		 account, now;
	const char	*script;
	uint64_t	 n;
};

/* script_add_tx - bump the row; a new name only while there is room */
static int
script_add_tx(struct store *s, void *arg)
{
	struct script_add *a = arg;
	sqlite3_stmt *st;
	const char *name = a->script;
	int64_t rows;
	int rc;

	if ((st = st_get(s, S_SCRIPT_BUMP)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, a->account);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	bind_u64(st, 3, a->n);
	sqlite3_bind_int64(st, 4, a->now);
	if (st_run(s, st) == -1)
		return -1;
	if (sqlite3_changes(s->db) > 0)
		return 0;
	if ((st = st_get(s, S_SCRIPT_NUM)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, a->account);
	rc = sqlite3_step(st);
	rows = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return dberr(s, rc);
	if (rows >= STORE_SCRIPTS_MAX)
		name = STORE_SCRIPT_OTHER;
	if ((st = st_get(s, S_SCRIPT_ADD)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, a->account);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	bind_u64(st, 3, a->n);
	sqlite3_bind_int64(st, 4, a->now);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
		return seterr(s, "unknown account id %lld",
		    (long long)a->account);
	return dberr(s, rc);
}

/* store_script_count - see store.h */
int
store_script_count(struct store *s, int64_t account, const char *script,
    uint64_t n, int64_t now)
{
	struct script_add a;
	char clean[ORIGIN_MAX];

	/* the caller's names are clean already; this is the net under it */
	origin_clean(clean, sizeof(clean), script, script ? strlen(script) :
	    0);
	a.account = account;
	a.now = now;
	a.script = clean[0] ? clean : STORE_SCRIPT_UNKNOWN;
	a.n = n;
	return tx_write(s, GEN_KEEP, script_add_tx, &a);
}

/* store_script_each - see store.h */
int
store_script_each(struct store *s, int64_t account, unsigned limit,
    int (*cb)(const char *, uint64_t, int64_t, void *), void *arg)
{
	sqlite3_stmt *st;
	char name[ORIGIN_MAX];
	int rc, stop = 0;

	if ((st = st_get(s, S_SCRIPT_TOP)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, account);
	sqlite3_bind_int64(st, 2, limit ? (int64_t)limit : -1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		col_clean(st, 0, name, sizeof(name));
		if ((stop = cb(name, col_u64(st, 1),
		    sqlite3_column_int64(st, 2), arg)) != 0)
			break;
	}
	return walk_end(s, st, rc, stop);
}

/* --- events ------------------------------------------------------------ */

/* store_event - append to the event log; account <= 0: not one account */
int
store_event(struct store *s, int64_t account, const char *kind,
    const char *detail)
{
	sqlite3_stmt *st;
	int rc;

	if (kind == NULL || kind[0] == '\0')
		return seterr(s, "event without a kind");
	if ((st = st_get(s, S_EVENT_ADD)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, (int64_t)time(NULL));
	if (account > 0)
		sqlite3_bind_int64(st, 2, account);
	else
		sqlite3_bind_null(st, 2);
	sqlite3_bind_text(st, 3, kind, (int)strnlen(kind, 64), SQLITE_STATIC);
	sqlite3_bind_text(st, 4, detail ? detail : "",
	    detail ? (int)strnlen(detail, 1024) : 0, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
		return seterr(s, "unknown account id %lld", (long long)account);
	return dberr(s, rc);
}

/*
 * store_event_each - the newest limit events (0: all), delivered oldest
 * first like a log tail; account < 0 means every account.
 */
int
store_event_each(struct store *s, int64_t account, unsigned limit,
    int (*cb)(int64_t, int64_t, const char *, const char *, void *),
    void *arg)
{
	sqlite3_stmt *st;
	char kind[64], detail[1025];
	int rc, stop = 0;

	if ((st = st_get(s, account < 0 ? S_EVENT_ALL : S_EVENT_ACC)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, account);
	sqlite3_bind_int64(st, 2, limit ? (int64_t)limit : -1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		col_str(st, 2, kind, sizeof(kind));
		col_str(st, 3, detail, sizeof(detail));
		if ((stop = cb(sqlite3_column_int64(st, 0),
		    sqlite3_column_int64(st, 1), kind, detail, arg)) != 0)
			break;
	}
	return walk_end(s, st, rc, stop);
}
