/*
 * store - the ledger in SQLite (WAL).  Schema and its migrations, one
 * transaction per change (or a savepoint inside the caller's), cached
 * prepared statements for the hot write path (usage upserts at every group
 * commit), and SQLite result codes turned into one clear line.
 *
 * Trusts: the caller's pointers.  Names, domains, SASL users and relay
 * addresses from the caller are validated here.  Nothing read back from the
 * database is trusted: numbers are range-checked and bad rows skipped with
 * a warning, so a damaged file cannot crash the daemon.  The schema is
 * described in docs/schema.md.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "log.h"
#include "queueid.h"
#include "store.h"

#define UNLIMITED_SQL	(-1)	/* budgets.lim for BUDGET_UNLIMITED */
#define UID_INVALID	UINT32_MAX	/* (uid_t)-1 is never a real id */

/*
 * Migrations: entry i takes the schema from version i to i + 1.  Each runs
 * in its own transaction together with the schema_version update, so a
 * crash leaves the file at one version or the next, never between.
 */
static const char *const migrations[] = {
	/* 0 -> 1: the initial schema */
	"CREATE TABLE schema_version (version INTEGER NOT NULL);"
	"INSERT INTO schema_version (version) VALUES (0);"
	"CREATE TABLE accounts ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE,"
	"  is_auto INTEGER NOT NULL DEFAULT 0,"
	"  mode INTEGER NOT NULL DEFAULT 0,"
	"  blocked INTEGER NOT NULL DEFAULT 0,"
	"  created INTEGER NOT NULL DEFAULT 0);"
	"INSERT INTO accounts (id, name, created) VALUES"
	"  (1, 'default', CAST(strftime('%s', 'now') AS INTEGER));"
	"CREATE TABLE account_uids ("
	"  lo INTEGER PRIMARY KEY,"
	"  hi INTEGER NOT NULL,"
	"  account INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
	"  CHECK (lo >= 0 AND hi >= lo AND hi < 4294967295));"
	"CREATE INDEX account_uids_account ON account_uids(account);"
	"CREATE TABLE account_gids ("
	"  gid INTEGER PRIMARY KEY,"
	"  account INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
	"  CHECK (gid >= 0 AND gid < 4294967295));"
	"CREATE INDEX account_gids_account ON account_gids(account);"
	"CREATE TABLE account_domains ("
	"  domain TEXT PRIMARY KEY,"
	"  account INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE"
	") WITHOUT ROWID;"
	"CREATE INDEX account_domains_account ON account_domains(account);"
	"CREATE TABLE account_sasl ("
	"  username TEXT PRIMARY KEY,"
	"  account INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE"
	") WITHOUT ROWID;"
	"CREATE INDEX account_sasl_account ON account_sasl(account);"
	"CREATE TABLE account_relays ("
	"  account INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
	"  host TEXT NOT NULL,"
	"  port INTEGER NOT NULL,"
	"  UNIQUE (account, host, port));"
	"CREATE TABLE budgets ("
	"  account INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
	"  kind INTEGER NOT NULL,"
	"  lim INTEGER NOT NULL,"
	"  period_us INTEGER NOT NULL,"
	"  burst INTEGER NOT NULL DEFAULT 0,"
	"  PRIMARY KEY (account, kind)"
	") WITHOUT ROWID;"
	"CREATE TABLE usage ("
	"  account INTEGER PRIMARY KEY"
	"    REFERENCES accounts(id) ON DELETE CASCADE,"
	"  tat0 INTEGER NOT NULL DEFAULT 0, tat1 INTEGER NOT NULL DEFAULT 0,"
	"  tat2 INTEGER NOT NULL DEFAULT 0, tat3 INTEGER NOT NULL DEFAULT 0,"
	"  tat4 INTEGER NOT NULL DEFAULT 0, tat5 INTEGER NOT NULL DEFAULT 0,"
	"  messages INTEGER NOT NULL DEFAULT 0,"
	"  recipients INTEGER NOT NULL DEFAULT 0,"
	"  bytes INTEGER NOT NULL DEFAULT 0,"
	"  held INTEGER NOT NULL DEFAULT 0,"
	"  released INTEGER NOT NULL DEFAULT 0,"
	"  refused INTEGER NOT NULL DEFAULT 0,"
	"  connections INTEGER NOT NULL DEFAULT 0,"
	"  last_seen INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE held ("
	"  queue_id TEXT PRIMARY KEY,"
	"  account INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
	"  since INTEGER NOT NULL,"
	"  recipients INTEGER NOT NULL DEFAULT 0,"
	"  size INTEGER NOT NULL DEFAULT 0,"
	"  state INTEGER NOT NULL DEFAULT 0,"
	"  sender TEXT NOT NULL DEFAULT '');"
	"CREATE INDEX held_account ON held(account, state, since);"
	"CREATE INDEX held_state ON held(state, since);"
	"CREATE TABLE events ("
	"  id INTEGER PRIMARY KEY,"
	"  ts INTEGER NOT NULL,"
	"  account INTEGER REFERENCES accounts(id) ON DELETE CASCADE,"
	"  kind TEXT NOT NULL,"
	"  detail TEXT NOT NULL DEFAULT '');"
	"CREATE INDEX events_account ON events(account, id);"
	"CREATE TABLE generation (n INTEGER NOT NULL);"
	"INSERT INTO generation (n) VALUES (0);",
	/*
	 * 1 -> 2: usage.epoch, bumped by every reset.  The daemon writes
	 * a row only over the epoch it loaded, so a batch charged before a
	 * reset cannot write the old state over it.
	 */
	"ALTER TABLE usage ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0;",
	/* 2 -> 3: the last redo log record whose rows are in usage */
	("CREATE TABLE redo (applied INTEGER NOT NULL);"
	"INSERT INTO redo (applied) VALUES (0);"),
	/*
	 * 3 -> 4: held.prepaid, a message charged when it was accepted
	 * whose answer reached Postfix too late (Postfix held it): its
	 * release is not charged again.
	 */
	"ALTER TABLE held ADD COLUMN prepaid INTEGER NOT NULL DEFAULT 0;",
};

_Static_assert(sizeof(migrations) / sizeof(migrations[0]) ==
    STORE_SCHEMA_VERSION, "one migration per schema version");
_Static_assert(BK_COUNT == 6, "usage has tat0..tat5");

/* Cached statements, prepared on first use and kept for the handle's life. */
enum st {
	S_BEGIN, S_BEGIN_READ, S_COMMIT, S_ROLLBACK,
	S_SAVEPOINT, S_RELEASE, S_ROLLBACK_TO, S_DATA_VERSION,
	S_ACC_ID, S_ACC_NAME, S_ACC_ADD, S_ACC_DEL, S_ACC_BY_NAME,
	S_ACC_BY_ID, S_ACC_ALL, S_ACC_MODE, S_ACC_BLOCKED,
	S_BUD_OF, S_BUD_ALL, S_BUD_SET, S_BUD_DEL,
	S_UID_FIND, S_UID_ADD, S_UID_DEL, S_UID_ALL, S_UID_OF,
	S_GID_FIND, S_GID_ADD, S_GID_DEL, S_GID_ALL,
	S_DOM_FIND, S_DOM_ADD, S_DOM_DEL, S_DOM_ALL,
	S_SASL_FIND, S_SASL_ADD, S_SASL_DEL, S_SASL_ALL,
	S_RELAY_FIND, S_RELAY_ADD, S_RELAY_DEL, S_RELAY_ALL,
	S_USE_GET, S_USE_PUT, S_USE_ALL, S_USE_RESET_TAT, S_USE_RESET_ALL,
	S_HELD_FIND, S_HELD_ADD, S_HELD_STATE,
	S_HELD_ALL, S_HELD_ACC, S_HELD_ST, S_HELD_ACC_ST,
	S_EVENT_ADD, S_EVENT_ALL, S_EVENT_ACC,
	S_GEN, S_GEN_BUMP,
	S_COUNT
};

#define ACC_COLS	"id, name, is_auto, mode, blocked, created"
#define USE_COLS	"account, tat0, tat1, tat2, tat3, tat4, tat5, " \
			"messages, recipients, bytes, held, released, " \
			"refused, connections, last_seen, epoch"
#define HELD_COLS	"queue_id, account, since, recipients, size, state, " \
			"sender, prepaid"

static const char *const st_sql[S_COUNT] = {
	[S_BEGIN] = "BEGIN IMMEDIATE",
	[S_BEGIN_READ] = "BEGIN",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",
	[S_SAVEPOINT] = "SAVEPOINT store",
	[S_RELEASE] = "RELEASE store",
	[S_ROLLBACK_TO] = "ROLLBACK TO store",
	[S_DATA_VERSION] = "PRAGMA data_version",
	[S_ACC_ID] = "SELECT id FROM accounts WHERE name = ?1",
	[S_ACC_NAME] = "SELECT name FROM accounts WHERE id = ?1",
	[S_ACC_ADD] = "INSERT INTO accounts (name, is_auto, created) "
	    "VALUES (?1, ?2, ?3)",
	[S_ACC_DEL] = "DELETE FROM accounts WHERE id = ?1",
	[S_ACC_BY_NAME] = "SELECT " ACC_COLS " FROM accounts WHERE name = ?1",
	[S_ACC_BY_ID] = "SELECT " ACC_COLS " FROM accounts WHERE id = ?1",
	[S_ACC_ALL] = "SELECT " ACC_COLS " FROM accounts ORDER BY id",
	[S_ACC_MODE] = "UPDATE accounts SET mode = ?2 WHERE id = ?1",
	[S_ACC_BLOCKED] = "UPDATE accounts SET blocked = ?2 WHERE id = ?1",
	[S_BUD_OF] = "SELECT account, kind, lim, period_us, burst FROM budgets "
	    "WHERE account = ?1 ORDER BY kind",
	[S_BUD_ALL] = "SELECT account, kind, lim, period_us, burst "
	    "FROM budgets ORDER BY account, kind",
	[S_BUD_SET] = "INSERT INTO budgets (account, kind, lim, period_us, "
	    "burst) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (account, kind) "
	    "DO UPDATE SET lim = excluded.lim, period_us = excluded.period_us, "
	    "burst = excluded.burst",
	[S_BUD_DEL] = "DELETE FROM budgets WHERE account = ?1 AND kind = ?2",
	/* ranges are disjoint, so the last one starting at or below hi is
	 * the only candidate for an overlap */
	[S_UID_FIND] = "SELECT u.lo, u.hi, a.name FROM account_uids u "
	    "JOIN accounts a ON a.id = u.account WHERE u.lo <= ?1 "
	    "ORDER BY u.lo DESC LIMIT 1",
	[S_UID_ADD] = "INSERT INTO account_uids (lo, hi, account) "
	    "VALUES (?1, ?2, ?3)",
	[S_UID_DEL] = "DELETE FROM account_uids WHERE lo = ?1 AND hi = ?2 "
	    "AND account = ?3",
	[S_UID_ALL] = "SELECT account, lo, hi FROM account_uids ORDER BY lo",
	[S_UID_OF] = "SELECT 1 FROM account_uids WHERE account = ?1 LIMIT 1",
	[S_GID_FIND] = "SELECT a.name FROM account_gids g "
	    "JOIN accounts a ON a.id = g.account WHERE g.gid = ?1",
	[S_GID_ADD] = "INSERT INTO account_gids (gid, account) VALUES (?1, ?2)",
	[S_GID_DEL] = "DELETE FROM account_gids WHERE gid = ?1 AND account = ?2",
	[S_GID_ALL] = "SELECT account, gid FROM account_gids ORDER BY gid",
	[S_DOM_FIND] = "SELECT a.name FROM account_domains d "
	    "JOIN accounts a ON a.id = d.account WHERE d.domain = ?1",
	[S_DOM_ADD] = "INSERT INTO account_domains (domain, account) "
	    "VALUES (?1, ?2)",
	[S_DOM_DEL] = "DELETE FROM account_domains WHERE domain = ?1 "
	    "AND account = ?2",
	[S_DOM_ALL] = "SELECT account, domain FROM account_domains "
	    "ORDER BY account, domain",
	[S_SASL_FIND] = "SELECT a.name FROM account_sasl s "
	    "JOIN accounts a ON a.id = s.account WHERE s.username = ?1",
	[S_SASL_ADD] = "INSERT INTO account_sasl (username, account) "
	    "VALUES (?1, ?2)",
	[S_SASL_DEL] = "DELETE FROM account_sasl WHERE username = ?1 "
	    "AND account = ?2",
	[S_SASL_ALL] = "SELECT account, username FROM account_sasl "
	    "ORDER BY account, username",
	[S_RELAY_FIND] = "SELECT 1 FROM account_relays WHERE account = ?1 "
	    "AND host = ?2 AND port = ?3",
	[S_RELAY_ADD] = "INSERT INTO account_relays (account, host, port) "
	    "VALUES (?1, ?2, ?3)",
	[S_RELAY_DEL] = "DELETE FROM account_relays WHERE account = ?1 "
	    "AND host = ?2 AND port = ?3",
	[S_RELAY_ALL] = "SELECT account, host, port FROM account_relays "
	    "ORDER BY account, host, port",
	[S_USE_GET] = "SELECT " USE_COLS " FROM usage WHERE account = ?1",
	[S_USE_PUT] = "INSERT INTO usage (" USE_COLS ") VALUES (?1, ?2, ?3, "
	    "?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16) "
	    "ON CONFLICT (account) DO UPDATE SET tat0 = excluded.tat0, "
	    "tat1 = excluded.tat1, tat2 = excluded.tat2, "
	    "tat3 = excluded.tat3, tat4 = excluded.tat4, "
	    "tat5 = excluded.tat5, messages = excluded.messages, "
	    "recipients = excluded.recipients, bytes = excluded.bytes, "
	    "held = excluded.held, released = excluded.released, "
	    "refused = excluded.refused, connections = excluded.connections, "
	    "last_seen = excluded.last_seen WHERE usage.epoch = excluded.epoch",
	[S_USE_ALL] = "SELECT " USE_COLS " FROM usage ORDER BY account",
	/* a reset makes a row even where there was none: the daemon may
	 * hold usage not yet written, and the new epoch must refuse it */
	[S_USE_RESET_TAT] = "INSERT INTO usage (account, epoch) VALUES (?1, 1) "
	    "ON CONFLICT (account) DO UPDATE SET tat0 = 0, tat1 = 0, "
	    "tat2 = 0, tat3 = 0, tat4 = 0, tat5 = 0, epoch = epoch + 1",
	[S_USE_RESET_ALL] = "INSERT INTO usage (account, epoch) VALUES (?1, 1) "
	    "ON CONFLICT (account) DO UPDATE SET tat0 = 0, tat1 = 0, "
	    "tat2 = 0, tat3 = 0, tat4 = 0, tat5 = 0, messages = 0, "
	    "recipients = 0, bytes = 0, held = 0, released = 0, refused = 0, "
	    "connections = 0, last_seen = 0, epoch = epoch + 1",
	[S_HELD_FIND] = "SELECT state FROM held WHERE queue_id = ?1",
	[S_HELD_ADD] = "INSERT INTO held (" HELD_COLS ") VALUES (?1, ?2, ?3, "
	    "?4, ?5, ?6, ?7, ?8) ON CONFLICT (queue_id) DO UPDATE SET "
	    "account = excluded.account, since = excluded.since, "
	    "recipients = excluded.recipients, size = excluded.size, "
	    "state = excluded.state, sender = excluded.sender, "
	    "prepaid = excluded.prepaid",
	[S_HELD_STATE] = "UPDATE held SET state = ?2 WHERE queue_id = ?1",
	[S_HELD_ALL] = "SELECT " HELD_COLS " FROM held "
	    "ORDER BY since, rowid",
	[S_HELD_ACC] = "SELECT " HELD_COLS " FROM held WHERE account = ?1 "
	    "ORDER BY since, rowid",
	[S_HELD_ST] = "SELECT " HELD_COLS " FROM held WHERE state = ?2 "
	    "ORDER BY since, rowid",
	[S_HELD_ACC_ST] = "SELECT " HELD_COLS " FROM held WHERE account = ?1 "
	    "AND state = ?2 ORDER BY since, rowid",
	[S_GEN] = "SELECT n FROM generation",
	[S_GEN_BUMP] = "UPDATE generation SET n = n + 1",
	[S_EVENT_ADD] = "INSERT INTO events (ts, account, kind, detail) "
	    "VALUES (?1, ?2, ?3, ?4)",
	[S_EVENT_ALL] = "SELECT ts, account, kind, detail FROM (SELECT id, ts, "
	    "account, kind, detail FROM events ORDER BY id DESC LIMIT ?2) "
	    "ORDER BY id",
	[S_EVENT_ACC] = "SELECT ts, account, kind, detail FROM (SELECT id, ts, "
	    "account, kind, detail FROM events WHERE account = ?1 "
	    "ORDER BY id DESC LIMIT ?2) ORDER BY id",
};

struct store {
	sqlite3		*db;
	int		 flags;
	int64_t		 data_version;
	int64_t		 generation;	/* of accounts and what they own */
	char		 path[PATH_MAX];
	char		 err[512];
	int		 sys_errno;	/* of a failed open, for the caller */
	sqlite3_stmt	*st[S_COUNT];
};

/* seterr - record the one-line error; always returns -1 */
static int __attribute__((format(printf, 2, 3)))
seterr(struct store *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->err, sizeof(s->err), fmt, ap);
	va_end(ap);
	return -1;
}

/* dberr - turn an SQLite result code into the line a person can act on */
static int
dberr(struct store *s, int rc)
{
	const char *msg = s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc);
	int sys = s->db ? sqlite3_system_errno(s->db) : 0;

	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return seterr(s, "database is locked (another process holds it)");
	case SQLITE_READONLY:
		return seterr(s, "database %s is read-only", s->path);
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return seterr(s, "database %s is corrupt or not a mailgov "
		    "database", s->path);
	case SQLITE_FULL:
		return seterr(s, "database %s: disk full", s->path);
	case SQLITE_CANTOPEN:
		s->sys_errno = sys;
		return seterr(s, "cannot open database %s: %s", s->path,
		    sys ? strerror(sys) : msg);
	case SQLITE_IOERR:
		return seterr(s, "database %s: I/O error%s%s", s->path,
		    sys ? ": " : "", sys ? strerror(sys) : "");
	case SQLITE_PERM:
	case SQLITE_AUTH:
		s->sys_errno = EACCES;
		return seterr(s, "database %s: permission denied", s->path);
	default:
		return seterr(s, "database %s: %s", s->path, msg);
	}
}

/* clean - an untrusted name made printable and short for an error line */
static const char *
clean(char *buf, size_t len, const char *src)
{
	return log_clean(buf, len, src, strnlen(src, 1024));
}

/* st_get - the cached statement, prepared on first use, reset for reuse */
static sqlite3_stmt *
st_get(struct store *s, enum st id)
{
	int rc;

	if (s->st[id] == NULL) {
		rc = sqlite3_prepare_v3(s->db, st_sql[id], -1,
		    SQLITE_PREPARE_PERSISTENT, &s->st[id], NULL);
		if (rc != SQLITE_OK) {
			s->st[id] = NULL;
			dberr(s, rc);
			return NULL;
		}
	} else {
		sqlite3_reset(s->st[id]);
		sqlite3_clear_bindings(s->st[id]);
	}
	return s->st[id];
}

/* st_run - step a statement that returns no rows (or ignore them) */
static int
st_run(struct store *s, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return dberr(s, rc);
	return 0;
}

/* simple - run a parameterless cached statement (BEGIN, COMMIT, ...) */
static int
simple(struct store *s, enum st id)
{
	sqlite3_stmt *st = st_get(s, id);

	return st ? st_run(s, st) : -1;
}

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

/* col_id - an unsigned 32-bit id in range, or UID_INVALID */
static uint32_t
col_id(sqlite3_stmt *st, int i)
{
	int64_t v;

	if (sqlite3_column_type(st, i) != SQLITE_INTEGER)
		return UID_INVALID;
	v = sqlite3_column_int64(st, i);
	if (v < 0 || v >= UID_INVALID)
		return UID_INVALID;
	return (uint32_t)v;
}

/* col_str - a bounded copy of a text column; 0 if it fit and was text */
static int
col_str(sqlite3_stmt *st, int i, char *dst, size_t len)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	int n = sqlite3_column_bytes(st, i);

	if (t == NULL || n < 0 || (size_t)n >= len) {
		if (len)
			dst[0] = '\0';
		return -1;
	}
	memcpy(dst, t, (size_t)n);
	dst[n] = '\0';
	return 0;
}

/*
 * Transactions: a mutating call begins its own IMMEDIATE transaction (so
 * the write lock is taken up front and the busy timeout applies), or, when
 * the caller already holds one, a savepoint, so that a failure undoes only
 * this call's part of the caller's batch.
 */
static int
tx_open(struct store *s, int *own)
{
	*own = sqlite3_get_autocommit(s->db);
	return simple(s, *own ? S_BEGIN : S_SAVEPOINT);
}

/* tx_close - commit/release on ok, else undo; returns 0 or -1 */
static int
tx_close(struct store *s, int own, int ok)
{
	char keep[sizeof(s->err)];

	if (ok) {
		if (simple(s, own ? S_COMMIT : S_RELEASE) == 0)
			return 0;
	}
	/* keep the first error: the undo must not replace it */
	memcpy(keep, s->err, sizeof(keep));
	if (own) {
		if (!sqlite3_get_autocommit(s->db))
			simple(s, S_ROLLBACK);
	} else {
		simple(s, S_ROLLBACK_TO);
		simple(s, S_RELEASE);
	}
	memcpy(s->err, keep, sizeof(keep));
	return -1;
}

/*
 * tx_write - run work(s, arg) as one change: in a transaction of its own,
 * or in a savepoint inside the caller's, so that a failure (work returns
 * -1 with the error set) undoes only this change.  GEN_BUMP also bumps
 * the generation that store_changed() watches, for what mailgovd must
 * reload: accounts, identities, budgets, and a reset of usage.  Usage,
 * held mail and events keep it, so the daemon's own group commits (which
 * may come from another connection) do not make it rebuild its index.
 */
enum tx_gen { GEN_KEEP, GEN_BUMP };

static int
tx_write(struct store *s, enum tx_gen gen,
    int (*work)(struct store *, void *), void *arg)
{
	int own;

	if (tx_open(s, &own) == -1)
		return -1;
	if (work(s, arg) == -1 ||
	    (gen == GEN_BUMP && simple(s, S_GEN_BUMP) == -1))
		return tx_close(s, own, 0);
	return tx_close(s, own, 1);
}

/* store_account_name_ok - [a-z0-9][a-z0-9._-]{0,62} */
int
store_account_name_ok(const char *n)
{
	size_t i;

	if (n == NULL || !((n[0] >= 'a' && n[0] <= 'z') ||
	    (n[0] >= '0' && n[0] <= '9')))
		return 0;
	for (i = 1; n[i] != '\0'; i++) {
		if (i >= STORE_NAMELEN - 1)
			return 0;
		if (!((n[i] >= 'a' && n[i] <= 'z') ||
		    (n[i] >= '0' && n[i] <= '9') ||
		    n[i] == '.' || n[i] == '_' || n[i] == '-'))
			return 0;
	}
	return 1;
}

/* account_id - the id of name, or -1 with "unknown account" */
static int
account_id(struct store *s, const char *name, int64_t *id)
{
	sqlite3_stmt *st;
	char buf[80];
	int rc;

	if (name == NULL || !store_account_name_ok(name))
		return seterr(s, "unknown account '%s'",
		    clean(buf, sizeof(buf), name ? name : ""));
	if ((st = st_get(s, S_ACC_ID)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*id = sqlite3_column_int64(st, 0);
		sqlite3_reset(st);
		return 0;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return dberr(s, rc);
	return seterr(s, "unknown account '%s'", name);
}

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

/* --- opening ---------------------------------------------------------- */

/* mkparent - create path's directory (0750) and missing ancestors */
static int
mkparent(struct store *s, const char *path)
{
	char dir[PATH_MAX], *p;
	struct stat sb;

	if (strlen(path) >= sizeof(dir))
		return seterr(s, "database path too long");
	strcpy(dir, path);
	if ((p = strrchr(dir, '/')) == NULL || p == dir)
		return 0;
	*p = '\0';
	if (stat(dir, &sb) == 0)
		return 0;
	/* ancestors first, ordinary mode; the database's own dir 0750 */
	for (p = dir + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		if (mkdir(dir, 0755) == -1 && errno != EEXIST)
			return seterr(s, "cannot create directory %s: %s", dir,
			    strerror(errno));
		*p = '/';
	}
	if (mkdir(dir, 0750) == -1 && errno != EEXIST)
		return seterr(s, "cannot create directory %s: %s", dir,
		    strerror(errno));
	return 0;
}

/*
 * tighten - take the "other" bits off a file an older mailgov made 0644.
 * By path, never through an fd of our own: closing an fd on the database
 * or its -shm would drop the POSIX locks that this process's other SQLite
 * handles hold there.  A side file is never followed through a symlink.
 * Failures are left alone: only the owner or root may chmod, and a
 * read-only mount cannot change.
 */
static void
tighten(const char *path, int follow)
{
	struct stat sb;
	mode_t	 mode;

	if ((follow ? stat(path, &sb) : lstat(path, &sb)) == -1 ||
	    !S_ISREG(sb.st_mode) || (sb.st_mode & S_IRWXO) == 0)
		return;
	mode = sb.st_mode & (S_IRWXU | S_IRWXG);
	if (chmod(path, mode) == -1)
		log_debug("database file %s is mode %04o; cannot make it %04o: "
		    "%s", path, (unsigned)(sb.st_mode & 07777), (unsigned)mode,
		    strerror(errno));
	else
		log_debug("database file %s was mode %04o, now %04o", path,
		    (unsigned)(sb.st_mode & 07777), (unsigned)mode);
}

/* tighten_all - the database, then the side files SQLite keeps beside it */
static void
tighten_all(const char *path)
{
	static const char *const side[] = { "-wal", "-shm", "-journal" };
	char	 p[PATH_MAX + 16];
	size_t	 i;

	tighten(path, 1);
	for (i = 0; i < sizeof(side) / sizeof(side[0]); i++)
		if (snprintf(p, sizeof(p), "%s%s", path, side[i]) <
		    (int)sizeof(p))
			tighten(p, 0);
}

/*
 * create - make the database file itself, empty and STORE_FILE_MODE,
 * before SQLite opens it: SQLite would make it 0644 less the umask, and it
 * gives -wal, -shm and -journal the main file's mode when it creates them.
 * 0 if made or already there.
 */
static int
create(struct store *s, const char *path)
{
	int	 fd;

	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    STORE_FILE_MODE);
	if (fd == -1) {
		if (errno == EEXIST)
			return 0;
		s->sys_errno = errno;
		if (errno == EACCES || errno == EPERM)
			return seterr(s, "cannot create %s: permission denied",
			    path);
		return seterr(s, "cannot create database %s: %s", path,
		    strerror(errno));
	}
	/* the umask may have taken more: the owner must read and write */
	if (fchmod(fd, STORE_FILE_MODE) == -1) {
		s->sys_errno = errno;
		seterr(s, "cannot create database %s: chmod: %s", path,
		    strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* exec - run a script (pragmas, migrations) */
static int
exec(struct store *s, const char *sql)
{
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : dberr(s, rc);
}

/*
 * schema_version - 0 for an empty file, the recorded version, or -1 when
 * the file holds something that is not a mailgov database.
 */
static int
schema_version(struct store *s, int64_t *v)
{
	sqlite3_stmt *st = NULL;
	int rc, have_table = 0, others = 0, rows = 0;

	rc = sqlite3_prepare_v2(s->db, "SELECT name FROM sqlite_master",
	    -1, &st, NULL);
	if (rc != SQLITE_OK)
		return dberr(s, rc);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *n = sqlite3_column_text(st, 0);

		if (n && strcmp((const char *)n, "schema_version") == 0)
			have_table = 1;
		else
			others = 1;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return dberr(s, rc);
	*v = 0;
	if (!have_table) {
		if (others)
			return seterr(s, "database %s is corrupt or not a "
			    "mailgov database", s->path);
		return 0;
	}
	rc = sqlite3_prepare_v2(s->db, "SELECT version FROM schema_version",
	    -1, &st, NULL);
	if (rc != SQLITE_OK)
		return dberr(s, rc);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		rows++;
		if (sqlite3_column_type(st, 0) == SQLITE_INTEGER)
			*v = sqlite3_column_int64(st, 0);
		else
			*v = -1;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return dberr(s, rc);
	if (rows != 1 || *v < 0)
		return seterr(s, "database %s is corrupt or not a mailgov "
		    "database", s->path);
	return 0;
}

/* migrate - apply every migration above the file's version, one tx each */
static int
migrate(struct store *s)
{
	int64_t v;
	char sql[64];

	for (;;) {
		if (simple(s, S_BEGIN) == -1)
			return -1;
		/* re-read under the write lock: another process may have
		 * migrated while we waited */
		if (schema_version(s, &v) == -1)
			goto fail;
		if (v > STORE_SCHEMA_VERSION) {
			seterr(s, "database schema version %lld is newer than "
			    "this mailgov (%d)", (long long)v,
			    STORE_SCHEMA_VERSION);
			goto fail;
		}
		if (v == STORE_SCHEMA_VERSION)
			return simple(s, S_COMMIT);
		if (exec(s, migrations[v]) == -1)
			goto fail;
		snprintf(sql, sizeof(sql), "UPDATE schema_version SET "
		    "version = %lld", (long long)v + 1);
		if (exec(s, sql) == -1 || simple(s, S_COMMIT) == -1)
			goto fail;
		log_debug("database %s migrated to schema version %lld",
		    s->path, (long long)v + 1);
	}
fail:
	tx_close(s, 1, 0);
	return -1;
}

/* data_version - PRAGMA data_version: bumped by other connections' commits */
static int
data_version(struct store *s, int64_t *v)
{
	sqlite3_stmt *st = st_get(s, S_DATA_VERSION);
	int rc;

	if (st == NULL)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*v = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? 0 : dberr(s, rc);
}

/* generation - the accounts' generation counter */
static int
generation(struct store *s, int64_t *v)
{
	sqlite3_stmt *st = st_get(s, S_GEN);
	int rc;

	if (st == NULL)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*v = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return seterr(s, "database %s is corrupt or not a mailgov "
		    "database", s->path);
	return rc == SQLITE_ROW ? 0 : dberr(s, rc);
}

/* store_open - open (and migrate) path; NULL with err filled on failure */
struct store *
store_open(const char *path, int flags, int busy_ms, char *err,
    size_t errlen)
{
	struct store *s;
	struct stat sb;
	int64_t v;
	int rc, oflags;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->flags = flags;
	if (path == NULL || *path == '\0' || strlen(path) >= sizeof(s->path)) {
		seterr(s, "bad database path");
		goto fail;
	}
	strcpy(s->path, path);
	if ((flags & STORE_RDONLY) && (flags & STORE_CREATE)) {
		seterr(s, "cannot create database %s read-only", path);
		goto fail;
	}
	if (stat(path, &sb) == -1) {
		if (errno != ENOENT || !(flags & STORE_CREATE)) {
			s->sys_errno = errno;
			if (errno == ENOENT)
				seterr(s, "database %s does not exist", path);
			else if (errno == EACCES)
				seterr(s, "cannot read %s: permission denied",
				    path);
			else
				seterr(s, "cannot open database %s: %s", path,
				    strerror(errno));
			goto fail;
		}
		if (mkparent(s, path) == -1 || create(s, path) == -1)
			goto fail;
	} else if (!S_ISREG(sb.st_mode)) {
		seterr(s, "database %s is not a regular file", path);
		goto fail;
	}
	/*
	 * Say it plainly rather than let SQLite fail later with "unable to
	 * open database file", and before it could make a side file.  The
	 * kernel still decides: this only words the refusal.
	 */
	if (access(path, R_OK) == -1) {
		s->sys_errno = errno;
		if (errno == EACCES)
			seterr(s, "cannot read %s: permission denied", path);
		else
			seterr(s, "cannot open database %s: %s", path,
			    strerror(errno));
		goto fail;
	}
	/* before SQLite opens it: side files it makes take this mode */
	tighten_all(path);

	/* no SQLITE_OPEN_CREATE: create() made the file with our mode */
	oflags = (flags & STORE_RDONLY) ? SQLITE_OPEN_READONLY :
	    SQLITE_OPEN_READWRITE;
	rc = sqlite3_open_v2(path, &s->db, oflags | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		dberr(s, rc);
		goto fail;
	}
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, busy_ms < 0 ? 0 : busy_ms);
	/* SQLite silently falls back to read-only for a file it cannot
	 * write; say so now rather than at the first change */
	if (!(flags & STORE_RDONLY) && sqlite3_db_readonly(s->db, "main") == 1) {
		seterr(s, "database %s is read-only", path);
		goto fail;
	}
	if (exec(s, "PRAGMA foreign_keys = ON") == -1)
		goto fail;
	/*
	 * 1 KiB pages for a new file (a no-op for an existing one): a group
	 * commit of n usage rows writes about n distinct pages to the WAL,
	 * so smaller pages mean less to copy, checksum and write per commit
	 * (about 15 % less time per commit of 16 rows, measured).  It must
	 * precede journal_mode, which writes the file's first page.
	 */
	if ((flags & STORE_CREATE) && exec(s, "PRAGMA page_size = 1024") == -1)
		goto fail;
	if (!(flags & STORE_RDONLY) &&
	    exec(s, "PRAGMA journal_mode = WAL") == -1)
		goto fail;
	if (exec(s, "PRAGMA synchronous = FULL") == -1)
		goto fail;
	if (schema_version(s, &v) == -1)
		goto fail;
	if (v > STORE_SCHEMA_VERSION) {
		seterr(s, "database schema version %lld is newer than this "
		    "mailgov (%d)", (long long)v, STORE_SCHEMA_VERSION);
		goto fail;
	}
	if (v < STORE_SCHEMA_VERSION) {
		if (flags & STORE_RDONLY) {
			seterr(s, "database %s has schema version %lld, older "
			    "than this mailgov (%d); open it read-write once "
			    "to upgrade", path, (long long)v,
			    STORE_SCHEMA_VERSION);
			goto fail;
		}
		if (migrate(s) == -1)
			goto fail;
	}
	if (data_version(s, &s->data_version) == -1 ||
	    generation(s, &s->generation) == -1)
		goto fail;
	return s;
fail:
	snprintf(err, errlen, "%s", s->err[0] ? s->err : "cannot open database");
	rc = s->sys_errno;
	store_close(s);
	errno = rc;
	return NULL;
}

/* store_close - finalize the cached statements, then close */
void
store_close(struct store *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < S_COUNT; i++)
		sqlite3_finalize(s->st[i]);
	if (s->db)
		sqlite3_close(s->db);
	free(s);
}

/* store_set_sync - FULL fsyncs every commit; NORMAL only at checkpoints */
void
store_set_sync(struct store *s, int full)
{
	exec(s, full ? "PRAGMA synchronous = FULL" :
	    "PRAGMA synchronous = NORMAL");
}

/* store_set_busy - see store.h */
void
store_set_busy(struct store *s, int ms)
{
	sqlite3_busy_timeout(s->db, ms < 0 ? 0 : ms);
}

/*
 * store_set_autocheckpoint - WAL frames after which a commit on this
 * handle checkpoints (0: never).  mailgovd turns it off on the handles
 * that must not wait for the disk and checkpoints from a thread of its own.
 */
void
store_set_autocheckpoint(struct store *s, int frames)
{
	sqlite3_wal_autocheckpoint(s->db, frames < 0 ? 0 : frames);
}

/*
 * store_checkpoint - copy the WAL into the database (PASSIVE: never waits
 * for writers; restart: wait for them and start the WAL over).  *frames
 * gets the WAL's size in frames, -1 if unknown.
 */
int
store_checkpoint(struct store *s, int restart, int *frames)
{
	int rc, log = -1, done = -1;

	rc = sqlite3_wal_checkpoint_v2(s->db, NULL, restart ?
	    SQLITE_CHECKPOINT_RESTART : SQLITE_CHECKPOINT_PASSIVE, &log,
	    &done);
	if (frames != NULL)
		*frames = log;
	return rc == SQLITE_OK ? 0 : dberr(s, rc);
}

const char *
store_error(struct store *s)
{
	return s->err[0] ? s->err : "no error";
}

struct sqlite3 *
store_db(struct store *s)
{
	return s->db;
}

/*
 * store_changed - has another connection changed accounts, identities or
 * budgets since the last call?  PRAGMA data_version answers "did anyone
 * else commit" without reading the file; only then is the generation row
 * read, so usage-only commits (the daemon's committer) cost nothing.
 */
int
store_changed(struct store *s)
{
	int64_t v, g;

	if (data_version(s, &v) == -1 || v == s->data_version)
		return 0;
	if (generation(s, &g) == -1)
		return 0;
	s->data_version = v;
	if (g == s->generation)
		return 0;
	s->generation = g;
	return 1;
}

/* store_begin - BEGIN IMMEDIATE: the write lock now, not at first write */
int
store_begin(struct store *s)
{
	if (!sqlite3_get_autocommit(s->db))
		return seterr(s, "a transaction is already open");
	return simple(s, S_BEGIN);
}

/* store_begin_read - one snapshot for several reads */
int
store_begin_read(struct store *s)
{
	if (!sqlite3_get_autocommit(s->db))
		return seterr(s, "a transaction is already open");
	return simple(s, S_BEGIN_READ);
}

int
store_in_transaction(struct store *s)
{
	return !sqlite3_get_autocommit(s->db);
}

/* store_commit - COMMIT; on failure the transaction is rolled back */
int
store_commit(struct store *s)
{
	if (sqlite3_get_autocommit(s->db))
		return seterr(s, "no transaction is open");
	return tx_close(s, 1, 1);
}

void
store_rollback(struct store *s)
{
	if (!sqlite3_get_autocommit(s->db))
		tx_close(s, 1, 0);
}

/* --- accounts ---------------------------------------------------------- */

/* row_account - fill a from an ACC_COLS row; budgets left for the caller */
static void
row_account(sqlite3_stmt *st, struct store_account *a)
{
	int64_t mode;

	memset(a, 0, sizeof(*a));
	a->id = sqlite3_column_int64(st, 0);
	if (col_str(st, 1, a->name, sizeof(a->name)) == -1)
		log_warnx("account %lld: bad name in the database",
		    (long long)a->id);
	a->is_auto = sqlite3_column_int64(st, 2) != 0;
	mode = sqlite3_column_int64(st, 3);
	a->mode = (mode >= MODE_PATH && mode <= MODE_REJECT) ? (int)mode :
	    MODE_PATH;
	a->blocked = sqlite3_column_int64(st, 4) != 0;
	a->created = sqlite3_column_int64(st, 5);
}

/* row_budget - a budgets row; -1 (and a warning) if it is out of range */
static int
row_budget(sqlite3_stmt *st, int *kind, struct budget_limit *b)
{
	int64_t acc = sqlite3_column_int64(st, 0);
	int64_t k = sqlite3_column_int64(st, 1);
	int64_t lim = sqlite3_column_int64(st, 2);
	int64_t per = sqlite3_column_int64(st, 3);
	int64_t burst = sqlite3_column_int64(st, 4);

	if (k < 0 || k >= BK_COUNT || lim < UNLIMITED_SQL || per < 0 ||
	    (per == 0 && !budget_kind_is_cap((int)k)) || burst < 0 ||
	    sqlite3_column_type(st, 2) != SQLITE_INTEGER ||
	    sqlite3_column_type(st, 3) != SQLITE_INTEGER ||
	    sqlite3_column_type(st, 4) != SQLITE_INTEGER) {
		log_warnx("account %lld: ignoring a bad budget row (kind %lld)",
		    (long long)acc, (long long)k);
		return -1;
	}
	*kind = (int)k;
	b->limit = lim == UNLIMITED_SQL ? BUDGET_UNLIMITED : (uint64_t)lim;
	b->period_us = (uint64_t)per;
	b->burst = (uint64_t)burst;
	return 0;
}

/* account_budgets - fill a's has[]/budget[] from its rows */
static int
account_budgets(struct store *s, struct store_account *a)
{
	sqlite3_stmt *st;
	struct budget_limit b;
	int rc, k;

	if ((st = st_get(s, S_BUD_OF)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, a->id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (row_budget(st, &k, &b) == 0) {
			a->has[k] = 1;
			a->budget[k] = b;
		}
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : dberr(s, rc);
}

/* account_new - store_account_add(_auto)'s arguments, for its change */
struct account_new {
	const char	*name;
	int		 is_auto;
	uint32_t	 uid;		/* store_account_add_auto's */
	int64_t		*id;		/* out, or NULL */
};

/* account_add_tx - insert a->name unless an account has it */
static int
account_add_tx(struct store *s, void *arg)
{
	struct account_new *a = arg;
	sqlite3_stmt *st;
	int rc;

	if ((st = st_get(s, S_ACC_ID)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, a->name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return seterr(s, "account '%s' already exists", a->name);
	if (rc != SQLITE_DONE)
		return dberr(s, rc);
	if ((st = st_get(s, S_ACC_ADD)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, a->name, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, a->is_auto ? 1 : 0);
	sqlite3_bind_int64(st, 3, (int64_t)time(NULL));
	if (st_run(s, st) == -1)
		return -1;
	if (a->id)
		*a->id = sqlite3_last_insert_rowid(s->db);
	return 0;
}

/* store_account_add - a new account with default budgets */
int
store_account_add(struct store *s, const char *name, int is_auto,
    int64_t *id)
{
	struct account_new a = { .name = name, .is_auto = is_auto, .id = id };
	char buf[80];

	if (name == NULL || !store_account_name_ok(name))
		return seterr(s, "bad account name '%s' (want [a-z0-9] then up "
		    "to 62 of [a-z0-9._-])",
		    clean(buf, sizeof(buf), name ? name : ""));
	return tx_write(s, GEN_BUMP, account_add_tx, &a);
}

/* account_add_auto_tx - both rows; each call is a savepoint of this */
static int
account_add_auto_tx(struct store *s, void *arg)
{
	struct account_new *a = arg;

	if (store_account_add(s, a->name, 1, a->id) == -1 ||
	    store_uid_add(s, a->name, a->uid, a->uid) == -1)
		return -1;
	return 0;
}

/*
 * store_account_add_auto - an auto account owning exactly uid, both rows
 * or neither (also inside the caller's transaction).  The two calls bump
 * the generation themselves.
 */
int
store_account_add_auto(struct store *s, const char *name, uint32_t uid,
    int64_t *id)
{
	struct account_new a = { .name = name, .is_auto = 1, .uid = uid,
	    .id = id };

	return tx_write(s, GEN_KEEP, account_add_auto_tx, &a);
}

/* held_count - messages of account id still on hold */
static int
held_count(struct store *s, int64_t id, int64_t *n)
{
	sqlite3_stmt *st;
	int rc;

	rc = sqlite3_prepare_v2(s->db, "SELECT count(*) FROM held WHERE "
	    "account = ?1 AND state = 0", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return dberr(s, rc);
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	*n = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : dberr(s, rc);
}

/* account_edit - an edit of one account's own row, for its change */
struct account_edit {
	const char	*name;
	enum st		 which;		/* account_update_tx's UPDATE */
	int		 v;
};

/* account_del_tx - delete unless default or something is still held */
static int
account_del_tx(struct store *s, void *arg)
{
	struct account_edit *e = arg;
	sqlite3_stmt *st;
	int64_t id, n;

	if (account_id(s, e->name, &id) == -1)
		return -1;
	if (id == STORE_DEFAULT_ID)
		return seterr(s, "the default account cannot be deleted");
	/* held mail would lose its account (and its way out): say so */
	if (held_count(s, id, &n) == -1)
		return -1;
	if (n > 0)
		return seterr(s, "account '%s' has %lld held message%s: "
		    "release or delete %s first (mailgovctl hold "
		    "release|delete %s)", e->name, (long long)n,
		    n == 1 ? "" : "s", n == 1 ? "it" : "them", e->name);
	if ((st = st_get(s, S_ACC_DEL)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	return st_run(s, st);
}

/* store_account_del - an account and (by cascade) all it owns */
int
store_account_del(struct store *s, const char *name)
{
	struct account_edit e = { .name = name };

	return tx_write(s, GEN_BUMP, account_del_tx, &e);
}

/* account_get - one account by the prepared lookup st */
static int
account_get(struct store *s, sqlite3_stmt *st, struct store_account *a,
    const char *what)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		row_account(st, a);
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return seterr(s, "unknown account %s", what);
	if (rc != SQLITE_ROW)
		return dberr(s, rc);
	return account_budgets(s, a);
}

int
store_account_get(struct store *s, const char *name,
    struct store_account *a)
{
	sqlite3_stmt *st;
	char buf[80], what[96];

	if (name == NULL || !store_account_name_ok(name))
		return seterr(s, "unknown account '%s'",
		    clean(buf, sizeof(buf), name ? name : ""));
	if ((st = st_get(s, S_ACC_BY_NAME)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	snprintf(what, sizeof(what), "'%s'", name);
	return account_get(s, st, a, what);
}

int
store_account_get_id(struct store *s, int64_t id, struct store_account *a)
{
	sqlite3_stmt *st;
	char what[32];

	if ((st = st_get(s, S_ACC_BY_ID)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	snprintf(what, sizeof(what), "id %lld", (long long)id);
	return account_get(s, st, a, what);
}

/* account_update_tx - UPDATE accounts SET col = v for name */
static int
account_update_tx(struct store *s, void *arg)
{
	struct account_edit *e = arg;
	sqlite3_stmt *st;
	int64_t id;

	if (account_id(s, e->name, &id) == -1 ||
	    (st = st_get(s, e->which)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int(st, 2, e->v);
	return st_run(s, st);
}

int
store_account_set_mode(struct store *s, const char *name, int mode)
{
	struct account_edit e = { .name = name, .which = S_ACC_MODE,
	    .v = mode };

	if (mode < MODE_PATH || mode > MODE_REJECT)
		return seterr(s, "bad mode %d", mode);
	return tx_write(s, GEN_BUMP, account_update_tx, &e);
}

int
store_account_set_blocked(struct store *s, const char *name, int blocked)
{
	struct account_edit e = { .name = name, .which = S_ACC_BLOCKED,
	    .v = blocked ? 1 : 0 };

	return tx_write(s, GEN_BUMP, account_update_tx, &e);
}

/* budget_edit - store_budget_set's arguments, for its change */
struct budget_edit {
	const char			*name;
	enum budget_kind		 k;
	const struct budget_limit	*b;	/* NULL: back to the default */
};

/* budget_set_tx - write or delete the row; the default stays limited */
static int
budget_set_tx(struct store *s, void *arg)
{
	struct budget_edit *e = arg;
	const struct budget_limit *b = e->b;
	sqlite3_stmt *st;
	int64_t id;

	if (account_id(s, e->name, &id) == -1)
		return -1;
	if (b != NULL && b->limit == BUDGET_UNLIMITED &&
	    id == STORE_DEFAULT_ID)
		return seterr(s, "the default account cannot have an "
		    "unlimited budget");
	if ((st = st_get(s, b ? S_BUD_SET : S_BUD_DEL)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int(st, 2, (int)e->k);
	if (b != NULL) {
		sqlite3_bind_int64(st, 3, b->limit == BUDGET_UNLIMITED ?
		    UNLIMITED_SQL : (int64_t)b->limit);
		sqlite3_bind_int64(st, 4, (int64_t)b->period_us);
		sqlite3_bind_int64(st, 5, (int64_t)b->burst);
	}
	return st_run(s, st);
}

/* store_budget_set - an explicit budget row; NULL clears to the default */
int
store_budget_set(struct store *s, const char *name, enum budget_kind k,
    const struct budget_limit *b)
{
	struct budget_edit e = { .name = name, .k = k, .b = b };

	if ((int)k < 0 || k >= BK_COUNT)
		return seterr(s, "bad budget kind %d", (int)k);
	if (b != NULL) {
		/* caps (budget_kind_is_cap) have no window: period 0 */
		if ((b->period_us == 0 && !budget_kind_is_cap(k)) ||
		    b->period_us > INT64_MAX)
			return seterr(s, "bad budget period");
		if (b->limit != BUDGET_UNLIMITED && b->limit > INT64_MAX)
			return seterr(s, "budget limit too large");
		if (b->burst > INT64_MAX)
			return seterr(s, "budget burst too large");
	}
	return tx_write(s, GEN_BUMP, budget_set_tx, &e);
}

/* --- identities -------------------------------------------------------- */

/*
 * adopt_auto - an explicit account claiming UIDs that auto accounts hold
 * takes them over: each such auto account's held mail and usage (its
 * budget state too, so re-creating an account is no way to a fresh
 * budget) move to the claimant, and the auto account goes.  Explicit
 * owners are left for the overlap check to refuse.  Runs inside the
 * caller's transaction.
 */
static int
adopt_auto(struct store *s, int64_t id, uint32_t lo, uint32_t hi)
{
	static const char *const moves[] = {
		/* usage: the claimant keeps its own row if it has one; a
		 * new epoch makes a running mailgovd take the moved row */
		"UPDATE OR IGNORE usage SET account = ?1, epoch = epoch + 1 "
		    "WHERE account = ?2",
		"UPDATE held SET account = ?1 WHERE account = ?2",
		"INSERT INTO events (ts, account, kind, detail) SELECT "
		    "strftime('%s','now'), ?1, 'adopt', 'took over auto account '"
		    " || name FROM accounts WHERE id = ?2",
		"DELETE FROM accounts WHERE id = ?2",
	};
	sqlite3_stmt *find = NULL, *st = NULL;
	int64_t victim;
	size_t i;
	int rc, is_auto;

	/* auto accounts never take over: only the admin's accounts do */
	rc = sqlite3_prepare_v2(s->db, "SELECT is_auto FROM accounts WHERE "
	    "id = ?1", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return dberr(s, rc);
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	is_auto = rc == SQLITE_ROW && sqlite3_column_int64(st, 0) != 0;
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? 0 : dberr(s, rc);
	if (is_auto)
		return 0;

	rc = sqlite3_prepare_v2(s->db, "SELECT a.id FROM account_uids u "
	    "JOIN accounts a ON a.id = u.account WHERE a.is_auto = 1 "
	    "AND a.id != ?1 AND u.lo >= ?2 AND u.hi <= ?3 LIMIT 1", -1,
	    &find, NULL);
	if (rc != SQLITE_OK)
		return dberr(s, rc);
	sqlite3_bind_int64(find, 1, id);
	sqlite3_bind_int64(find, 2, lo);
	sqlite3_bind_int64(find, 3, hi);
	while ((rc = sqlite3_step(find)) == SQLITE_ROW) {
		victim = sqlite3_column_int64(find, 0);
		sqlite3_reset(find);
		for (i = 0; i < sizeof(moves) / sizeof(moves[0]); i++) {
			rc = sqlite3_prepare_v2(s->db, moves[i], -1, &st, NULL);
			if (rc != SQLITE_OK)
				goto fail;
			sqlite3_bind_int64(st, 1, id);
			sqlite3_bind_int64(st, 2, victim);
			rc = sqlite3_step(st);
			sqlite3_finalize(st);
			if (rc != SQLITE_DONE)
				goto fail;
		}
	}
	sqlite3_finalize(find);
	return rc == SQLITE_DONE ? 0 : dberr(s, rc);
fail:
	sqlite3_finalize(find);
	return dberr(s, rc);
}

/* uid_edit - a UID range of an account, for its change */
struct uid_edit {
	const char	*name;
	uint32_t	 lo, hi;
};

/* uid_add_tx - take over auto accounts' UIDs, then refuse any overlap */
static int
uid_add_tx(struct store *s, void *arg)
{
	struct uid_edit *e = arg;
	sqlite3_stmt *st;
	int64_t id, olo, ohi;
	char owner[STORE_NAMELEN];
	int rc;

	if (account_id(s, e->name, &id) == -1)
		return -1;
	if (id == STORE_DEFAULT_ID)
		return seterr(s, "the default account cannot own UIDs (it "
		    "gets every UID nobody owns)");
	if (adopt_auto(s, id, e->lo, e->hi) == -1)
		return -1;
	if ((st = st_get(s, S_UID_FIND)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, e->hi);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		olo = sqlite3_column_int64(st, 0);
		ohi = sqlite3_column_int64(st, 1);
		col_str(st, 2, owner, sizeof(owner));
		sqlite3_reset(st);
		if (ohi >= (int64_t)e->lo)
			return seterr(s, "uid %lld already belongs to account "
			    "'%s'", (long long)(olo > (int64_t)e->lo ? olo :
			    e->lo), owner);
	} else {
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			return dberr(s, rc);
	}
	if ((st = st_get(s, S_UID_ADD)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, e->lo);
	sqlite3_bind_int64(st, 2, e->hi);
	sqlite3_bind_int64(st, 3, id);
	return st_run(s, st);
}

/* store_uid_add - lo..hi (inclusive) to name; no overlap with any range */
int
store_uid_add(struct store *s, const char *name, uint32_t lo, uint32_t hi)
{
	struct uid_edit e = { .name = name, .lo = lo, .hi = hi };

	if (lo > hi || hi == UID_INVALID)
		return seterr(s, "bad uid range %u-%u", lo, hi);
	return tx_write(s, GEN_BUMP, uid_add_tx, &e);
}

/* uid_del_tx - remove exactly the range, or say the account lacks it */
static int
uid_del_tx(struct store *s, void *arg)
{
	struct uid_edit *e = arg;
	sqlite3_stmt *st;
	int64_t id;

	if (account_id(s, e->name, &id) == -1 ||
	    (st = st_get(s, S_UID_DEL)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, e->lo);
	sqlite3_bind_int64(st, 2, e->hi);
	sqlite3_bind_int64(st, 3, id);
	if (st_run(s, st) == -1)
		return -1;
	if (sqlite3_changes(s->db) > 0)
		return 0;
	if (e->lo == e->hi)
		return seterr(s, "account '%s' does not own uid %u", e->name,
		    e->lo);
	return seterr(s, "account '%s' does not own uid range %u-%u",
	    e->name, e->lo, e->hi);
}

/* store_uid_del - remove exactly the range lo..hi from name */
int
store_uid_del(struct store *s, const char *name, uint32_t lo, uint32_t hi)
{
	struct uid_edit e = { .name = name, .lo = lo, .hi = hi };

	return tx_write(s, GEN_BUMP, uid_del_tx, &e);
}

/* owned_by - the name of the account holding key in a *_FIND lookup */
static int
owned_by(struct store *s, sqlite3_stmt *st, char *owner, size_t len)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		col_str(st, 0, owner, len);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : dberr(s, rc);
}

/* gid_edit - a GID of an account, for its change */
struct gid_edit {
	const char	*name;
	uint32_t	 gid;
};

/* gid_add_tx - the GID to the account unless another owns it */
static int
gid_add_tx(struct store *s, void *arg)
{
	struct gid_edit *e = arg;
	sqlite3_stmt *st;
	char owner[STORE_NAMELEN];
	int64_t id;
	int r;

	if (account_id(s, e->name, &id) == -1)
		return -1;
	if (id == STORE_DEFAULT_ID)
		return seterr(s, "the default account cannot own GIDs");
	if ((st = st_get(s, S_GID_FIND)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, e->gid);
	if ((r = owned_by(s, st, owner, sizeof(owner))) != 0) {
		if (r == 1)
			seterr(s, "gid %u already belongs to account '%s'",
			    e->gid, owner);
		return -1;
	}
	if ((st = st_get(s, S_GID_ADD)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, e->gid);
	sqlite3_bind_int64(st, 2, id);
	return st_run(s, st);
}

int
store_gid_add(struct store *s, const char *name, uint32_t gid)
{
	struct gid_edit e = { .name = name, .gid = gid };

	if (gid == UID_INVALID)
		return seterr(s, "bad gid %u", gid);
	return tx_write(s, GEN_BUMP, gid_add_tx, &e);
}

/* gid_del_tx - remove the GID, or say the account lacks it */
static int
gid_del_tx(struct store *s, void *arg)
{
	struct gid_edit *e = arg;
	sqlite3_stmt *st;
	int64_t id;

	if (account_id(s, e->name, &id) == -1 ||
	    (st = st_get(s, S_GID_DEL)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, e->gid);
	sqlite3_bind_int64(st, 2, id);
	if (st_run(s, st) == -1)
		return -1;
	if (sqlite3_changes(s->db) > 0)
		return 0;
	return seterr(s, "account '%s' does not own gid %u", e->name,
	    e->gid);
}

int
store_gid_del(struct store *s, const char *name, uint32_t gid)
{
	struct gid_edit e = { .name = name, .gid = gid };

	return tx_write(s, GEN_BUMP, gid_del_tx, &e);
}

/* norm_domain - lowercase into out; 0 if it looks like a domain */
static int
norm_domain(const char *in, char *out, size_t len)
{
	size_t i;

	if (in == NULL || in[0] == '\0' || in[0] == '.' || in[0] == '-')
		return -1;
	for (i = 0; in[i] != '\0'; i++) {
		unsigned char c = (unsigned char)tolower((unsigned char)in[i]);

		if (i >= len - 1 || i >= 253)
			return -1;
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '-' || c == '_'))
			return -1;
		if (c == '.' && in[i + 1] == '.')
			return -1;
		out[i] = (char)c;
	}
	out[i] = '\0';
	return out[i - 1] == '.' ? -1 : 0;
}

/* sasl_ok - 1..255 bytes, no controls or spaces (UTF-8 allowed) */
static int
sasl_ok(const char *u)
{
	size_t i;

	if (u == NULL || u[0] == '\0')
		return 0;
	for (i = 0; u[i] != '\0'; i++)
		if (i >= 255 || (unsigned char)u[i] <= ' ' ||
		    (unsigned char)u[i] == 0x7f)
			return 0;
	return 1;
}

/* str_edit - a string identity (domain, SASL user) of an account */
struct str_edit {
	const char	*name;
	const char	*key;
	enum st		 find, write;	/* who owns key; insert or delete */
	const char	*what;		/* for the error line */
};

/* str_add_tx - the identity to the account unless another owns it */
static int
str_add_tx(struct store *s, void *arg)
{
	struct str_edit *e = arg;
	sqlite3_stmt *st;
	char owner[STORE_NAMELEN];
	int64_t id;
	int r;

	if (account_id(s, e->name, &id) == -1 ||
	    (st = st_get(s, e->find)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, e->key, -1, SQLITE_STATIC);
	if ((r = owned_by(s, st, owner, sizeof(owner))) != 0) {
		if (r == 1)
			seterr(s, "%s '%s' already belongs to account '%s'",
			    e->what, e->key, owner);
		return -1;
	}
	if ((st = st_get(s, e->write)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, e->key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, id);
	return st_run(s, st);
}

/* str_del_tx - remove the identity, or say the account lacks it */
static int
str_del_tx(struct store *s, void *arg)
{
	struct str_edit *e = arg;
	sqlite3_stmt *st;
	int64_t id;

	if (account_id(s, e->name, &id) == -1 ||
	    (st = st_get(s, e->write)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, e->key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, id);
	if (st_run(s, st) == -1)
		return -1;
	if (sqlite3_changes(s->db) > 0)
		return 0;
	return seterr(s, "account '%s' does not own %s '%s'", e->name,
	    e->what, e->key);
}

int
store_domain_add(struct store *s, const char *name, const char *dom)
{
	char d[256], buf[80];
	struct str_edit e = { .name = name, .key = d, .find = S_DOM_FIND,
	    .write = S_DOM_ADD, .what = "domain" };

	if (norm_domain(dom, d, sizeof(d)) == -1)
		return seterr(s, "bad domain '%s'",
		    clean(buf, sizeof(buf), dom ? dom : ""));
	return tx_write(s, GEN_BUMP, str_add_tx, &e);
}

int
store_domain_del(struct store *s, const char *name, const char *dom)
{
	char d[256], buf[80];
	struct str_edit e = { .name = name, .key = d, .write = S_DOM_DEL,
	    .what = "domain" };

	if (norm_domain(dom, d, sizeof(d)) == -1)
		return seterr(s, "bad domain '%s'",
		    clean(buf, sizeof(buf), dom ? dom : ""));
	return tx_write(s, GEN_BUMP, str_del_tx, &e);
}

int
store_sasl_add(struct store *s, const char *name, const char *user)
{
	char buf[80];
	struct str_edit e = { .name = name, .key = user,
	    .find = S_SASL_FIND, .write = S_SASL_ADD, .what = "SASL user" };

	if (!sasl_ok(user))
		return seterr(s, "bad SASL user name '%s'",
		    clean(buf, sizeof(buf), user ? user : ""));
	return tx_write(s, GEN_BUMP, str_add_tx, &e);
}

int
store_sasl_del(struct store *s, const char *name, const char *user)
{
	char buf[80];
	struct str_edit e = { .name = name, .key = user,
	    .write = S_SASL_DEL, .what = "SASL user" };

	if (!sasl_ok(user))
		return seterr(s, "bad SASL user name '%s'",
		    clean(buf, sizeof(buf), user ? user : ""));
	return tx_write(s, GEN_BUMP, str_del_tx, &e);
}

/* norm_host - a numeric IPv4/IPv6 address in its canonical form */
static int
norm_host(const char *in, char *out, size_t len)
{
	unsigned char a[sizeof(struct in6_addr)];

	if (in == NULL)
		return -1;
	if (inet_pton(AF_INET, in, a) == 1)
		return inet_ntop(AF_INET, a, out, len) ? 0 : -1;
	if (inet_pton(AF_INET6, in, a) == 1)
		return inet_ntop(AF_INET6, a, out, len) ? 0 : -1;
	return -1;
}

/* relay_edit - an exempt relay of an account (port 0: any port) */
struct relay_edit {
	const char	*name;
	const char	*host;		/* canonical, from norm_host() */
	uint16_t	 port;
	int		 add;		/* else remove */
};

/* relay_exemption_tx - add an exemption that is not there, or remove
 * one that is */
static int
relay_exemption_tx(struct store *s, void *arg)
{
	struct relay_edit *e = arg;
	sqlite3_stmt *st;
	int64_t id;
	int rc;

	if (account_id(s, e->name, &id) == -1 ||
	    (st = st_get(s, S_RELAY_FIND)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, e->host, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, e->port);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return dberr(s, rc);
	if (e->add && rc == SQLITE_ROW)
		return seterr(s, "relay %s port %u is already exempt for "
		    "account '%s'", e->host, e->port, e->name);
	if (!e->add && rc == SQLITE_DONE)
		return seterr(s, "relay %s port %u is not exempt for account "
		    "'%s'", e->host, e->port, e->name);
	if ((st = st_get(s, e->add ? S_RELAY_ADD : S_RELAY_DEL)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, e->host, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, e->port);
	return st_run(s, st);
}

/* edit_relay_exemption - exempt a relay for an account (add), or stop */
static int
edit_relay_exemption(struct store *s, const char *name, const char *host,
    uint16_t port, int add)
{
	char h[64], buf[80];
	struct relay_edit e = { .name = name, .host = h, .port = port,
	    .add = add };

	if (norm_host(host, h, sizeof(h)) == -1)
		return seterr(s, "bad relay address '%s' (want a numeric "
		    "IPv4 or IPv6 address)",
		    clean(buf, sizeof(buf), host ? host : ""));
	return tx_write(s, GEN_BUMP, relay_exemption_tx, &e);
}

int
store_relay_add(struct store *s, const char *name, const char *host,
    uint16_t port)
{
	return edit_relay_exemption(s, name, host, port, 1);
}

int
store_relay_del(struct store *s, const char *name, const char *host,
    uint16_t port)
{
	return edit_relay_exemption(s, name, host, port, 0);
}

/* --- iteration --------------------------------------------------------- */

/* walk_end - reset st and turn the final step code into 0/-1 */
static int
walk_end(struct store *s, sqlite3_stmt *st, int rc, int stop)
{
	sqlite3_reset(st);
	if (stop)
		return stop;
	return rc == SQLITE_DONE ? 0 : dberr(s, rc);
}

/*
 * store_account_each - accounts in id order with their budget rows, by a
 * merge of two ordered scans (one query per account would not scale).
 * has[k] == 0 leaves budget[k] zero: the caller applies the default.
 */
int
store_account_each(struct store *s, store_account_cb cb, void *arg)
{
	sqlite3_stmt *st, *bt;
	struct store_account a;
	struct budget_limit b;
	int rc, brc, stop = 0, k;

	if ((st = st_get(s, S_ACC_ALL)) == NULL ||
	    (bt = st_get(s, S_BUD_ALL)) == NULL)
		return -1;
	brc = sqlite3_step(bt);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		row_account(st, &a);
		while (brc == SQLITE_ROW &&
		    sqlite3_column_int64(bt, 0) <= a.id) {
			if (sqlite3_column_int64(bt, 0) == a.id &&
			    row_budget(bt, &k, &b) == 0) {
				a.has[k] = 1;
				a.budget[k] = b;
			}
			brc = sqlite3_step(bt);
		}
		if ((stop = cb(&a, arg)) != 0)
			break;
	}
	sqlite3_reset(bt);
	if (!stop && brc != SQLITE_ROW && brc != SQLITE_DONE) {
		sqlite3_reset(st);
		return dberr(s, brc);
	}
	return walk_end(s, st, rc, stop);
}

/* store_uid_each - UID ranges in order; bad rows skipped */
int
store_uid_each(struct store *s, store_uid_cb cb, void *arg)
{
	sqlite3_stmt *st;
	uint32_t lo, hi;
	int rc, stop = 0;

	if ((st = st_get(s, S_UID_ALL)) == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		lo = col_id(st, 1);
		hi = col_id(st, 2);
		if (lo == UID_INVALID || hi == UID_INVALID || lo > hi) {
			log_warnx("ignoring a bad uid range row");
			continue;
		}
		if ((stop = cb(sqlite3_column_int64(st, 0), lo, hi, arg)) != 0)
			break;
	}
	return walk_end(s, st, rc, stop);
}

int
store_gid_each(struct store *s, int (*cb)(int64_t, uint32_t, void *),
    void *arg)
{
	sqlite3_stmt *st;
	uint32_t gid;
	int rc, stop = 0;

	if ((st = st_get(s, S_GID_ALL)) == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((gid = col_id(st, 1)) == UID_INVALID) {
			log_warnx("ignoring a bad gid row");
			continue;
		}
		if ((stop = cb(sqlite3_column_int64(st, 0), gid, arg)) != 0)
			break;
	}
	return walk_end(s, st, rc, stop);
}

/* str_each - (account, text) rows; over-long or non-text rows skipped */
static int
str_each(struct store *s, enum st which, store_str_cb cb, void *arg)
{
	sqlite3_stmt *st;
	char v[256];
	int rc, stop = 0;

	if ((st = st_get(s, which)) == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (col_str(st, 1, v, sizeof(v)) == -1 || v[0] == '\0') {
			log_warnx("ignoring a bad identity row");
			continue;
		}
		if ((stop = cb(sqlite3_column_int64(st, 0), v, arg)) != 0)
			break;
	}
	return walk_end(s, st, rc, stop);
}

int
store_domain_each(struct store *s, store_str_cb cb, void *arg)
{
	return str_each(s, S_DOM_ALL, cb, arg);
}

int
store_sasl_each(struct store *s, store_str_cb cb, void *arg)
{
	return str_each(s, S_SASL_ALL, cb, arg);
}

int
store_relay_each(struct store *s,
    int (*cb)(int64_t, const char *, uint16_t, void *), void *arg)
{
	sqlite3_stmt *st;
	char h[64];
	int64_t port;
	int rc, stop = 0;

	if ((st = st_get(s, S_RELAY_ALL)) == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		port = sqlite3_column_int64(st, 2);
		if (col_str(st, 1, h, sizeof(h)) == -1 || port < 0 ||
		    port > 65535) {
			log_warnx("ignoring a bad relay row");
			continue;
		}
		if ((stop = cb(sqlite3_column_int64(st, 0), h, (uint16_t)port,
		    arg)) != 0)
			break;
	}
	return walk_end(s, st, rc, stop);
}

/* --- usage ------------------------------------------------------------- */

/* row_usage - a USE_COLS row */
static void
row_usage(sqlite3_stmt *st, struct store_usage *u)
{
	int k;

	memset(u, 0, sizeof(*u));
	u->account = sqlite3_column_int64(st, 0);
	for (k = 0; k < BK_COUNT; k++)
		u->tat[k] = col_u64(st, 1 + k);
	u->messages = col_u64(st, 7);
	u->recipients = col_u64(st, 8);
	u->bytes = col_u64(st, 9);
	u->held = col_u64(st, 10);
	u->released = col_u64(st, 11);
	u->refused = col_u64(st, 12);
	u->connections = col_u64(st, 13);
	u->last_seen = (int64_t)col_u64(st, 14);
	u->epoch = sqlite3_column_int64(st, 15);	/* compared, never counted */
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
	sqlite3_stmt *st;
	int k, rc;

	if ((st = st_get(s, S_USE_PUT)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, u->account);
	for (k = 0; k < BK_COUNT; k++)
		bind_u64(st, 2 + k, u->tat[k]);
	bind_u64(st, 8, u->messages);
	bind_u64(st, 9, u->recipients);
	bind_u64(st, 10, u->bytes);
	bind_u64(st, 11, u->held);
	bind_u64(st, 12, u->released);
	bind_u64(st, 13, u->refused);
	bind_u64(st, 14, u->connections);
	sqlite3_bind_int64(st, 15, u->last_seen < 0 ? 0 : u->last_seen);
	sqlite3_bind_int64(st, 16, u->epoch);
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
	return st_run(s, st);
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
		    clean(buf, sizeof(buf), queue_id ? queue_id : ""));
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
		if ((stop = cb(&h, arg)) != 0)
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
