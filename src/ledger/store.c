/*
 * store - the ledger in SQLite (WAL): opening, the schema and its
 * migrations, the cache of prepared statements, errors and transactions.
 * One transaction per change (or a savepoint inside the caller's), cached
 * prepared statements for the hot write path (usage upserts at every group
 * commit), and SQLite result codes turned into one clear line.  The
 * administrator's edits of accounts and identities are in store_admin.c;
 * the rows mailgovd writes as it works are in store_ledger.c.
 *
 * Trusts: the caller's pointers.  Account names from the caller are
 * validated here (the other two files validate the rest).  Nothing read
 * back from the database is trusted: numbers are range-checked and bad
 * rows skipped with a warning, so a damaged file cannot crash the daemon.
 * The schema is described in docs/schema.md.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "log.h"
#include "store.h"
#include "store_int.h"

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
	/*
	 * 4 -> 5: budgets by kind and window (config.h).  The old kinds
	 * were 0 messages_per_hour, 1 messages_per_day, 2 recipients_per_day,
	 * 3 recipients_per_message, 4 connections, 5 connections_per_minute;
	 * the new are 0 messages, 1 recipients, 2 new_connections,
	 * 3 recipients_per_message, 4 connections.  An account that set one
	 * of its two message windows gets the other from the built-in
	 * default (100/1h, 1000/1d): the configured default is not known
	 * here, and an event says so.  An unlimited window beside a limited
	 * one is dropped (it limited nothing).  The tats follow their
	 * windows: usage.tat<kind * 4 + window>.
	 */
	("CREATE TABLE budgets5 ("
	"  account INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
	"  kind INTEGER NOT NULL,"
	"  win INTEGER NOT NULL,"
	"  lim INTEGER NOT NULL,"
	"  period_us INTEGER NOT NULL,"
	"  burst INTEGER NOT NULL DEFAULT 0,"
	"  PRIMARY KEY (account, kind, win)"
	") WITHOUT ROWID;"
	"INSERT INTO budgets5 (account, kind, win, lim, period_us, burst)"
	"  SELECT account, CASE kind WHEN 2 THEN 1 WHEN 5 THEN 2 ELSE kind END,"
	"    0, lim, period_us, burst FROM budgets WHERE kind BETWEEN 2 AND 5;"
	"CREATE TEMP TABLE m5 AS SELECT a.id AS account,"
	"  h.lim IS NULL OR d.lim IS NULL AS partial,"
	"  coalesce(h.lim, 100) AS hl, coalesce(h.period_us, 3600000000) AS hp,"
	"  coalesce(h.burst, 0) AS hb,"
	"  coalesce(d.lim, 1000) AS dl, coalesce(d.period_us, 86400000000) AS dp,"
	"  coalesce(d.burst, 0) AS db"
	"  FROM accounts a"
	"  LEFT JOIN budgets h ON h.account = a.id AND h.kind = 0"
	"  LEFT JOIN budgets d ON d.account = a.id AND d.kind = 1"
	"  WHERE h.lim IS NOT NULL OR d.lim IS NOT NULL;"
	"INSERT INTO budgets5 (account, kind, win, lim, period_us, burst)"
	"  SELECT account, 0, 0, hl, hp, hb FROM m5 WHERE hl <> -1 OR dl = -1;"
	"INSERT INTO budgets5 (account, kind, win, lim, period_us, burst)"
	"  SELECT account, 0, CASE WHEN hl <> -1 THEN 1 ELSE 0 END, dl, dp, db"
	"  FROM m5 WHERE dl <> -1;"
	"INSERT INTO events (ts, account, kind, detail)"
	"  SELECT CAST(strftime('%s', 'now') AS INTEGER), account,"
	"    'budget_migrated', 'messages: the window this account did not set "
	"was the configured default; it is now the built-in '"
	"    || CASE WHEN d_missing THEN '1000/1d' ELSE '100/1h' END"
	"  FROM (SELECT account, NOT EXISTS (SELECT 1 FROM budgets b"
	"    WHERE b.account = m5.account AND b.kind = 1) AS d_missing"
	"    FROM m5 WHERE partial);"
	"DROP TABLE budgets;"
	"ALTER TABLE budgets5 RENAME TO budgets;"
	"ALTER TABLE usage ADD COLUMN tat6 INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE usage ADD COLUMN tat7 INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE usage ADD COLUMN tat8 INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE usage ADD COLUMN tat9 INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE usage ADD COLUMN tat10 INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE usage ADD COLUMN tat11 INTEGER NOT NULL DEFAULT 0;"
	"UPDATE usage SET"
	"  tat0 = CASE WHEN account IN (SELECT account FROM m5 WHERE hl = -1"
	"    AND dl <> -1) THEN tat1 ELSE tat0 END,"
	"  tat1 = CASE WHEN account IN (SELECT account FROM m5 WHERE hl = -1"
	"    OR dl = -1) THEN 0 ELSE tat1 END,"
	"  tat2 = 0, tat3 = 0, tat4 = tat2, tat5 = 0, tat8 = tat5;"
	"DROP TABLE m5;"),
	/* 5 -> 6: accounts.contact, who else gets the account's reports */
	"ALTER TABLE accounts ADD COLUMN contact TEXT NOT NULL DEFAULT '';",
	/*
	 * 6 -> 7: which process sent a held message (origin.h: claims of
	 * the web user, kept clean), and messages per script of each
	 * account, at most STORE_SCRIPTS_MAX names per account.
	 */
	("ALTER TABLE held ADD COLUMN pid INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE held ADD COLUMN exe TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE held ADD COLUMN cwd TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE held ADD COLUMN cmd TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE held ADD COLUMN script TEXT NOT NULL DEFAULT '';"
	"CREATE TABLE scripts ("
	"  account INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
	"  script TEXT NOT NULL,"
	"  messages INTEGER NOT NULL DEFAULT 0,"
	"  last INTEGER NOT NULL DEFAULT 0,"
	"  PRIMARY KEY (account, script));"),
	/*
	 * 7 -> 8: usage.owed0..7, what budget_store = redis charged on this
	 * node alone while Redis was away and still owes the shared count
	 * (store_usage.owed), so that a restart during an outage keeps it.
	 */
	("ALTER TABLE usage ADD COLUMN owed0 INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE usage ADD COLUMN owed1 INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE usage ADD COLUMN owed2 INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE usage ADD COLUMN owed3 INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE usage ADD COLUMN owed4 INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE usage ADD COLUMN owed5 INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE usage ADD COLUMN owed6 INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE usage ADD COLUMN owed7 INTEGER NOT NULL DEFAULT 0;"),
};

_Static_assert(sizeof(migrations) / sizeof(migrations[0]) ==
    STORE_SCHEMA_VERSION, "one migration per schema version");
_Static_assert(BK_RATES * BUDGET_WINDOWS_MAX == 12, "usage has tat0..tat11");
_Static_assert(STORE_OWED_KINDS * BUDGET_WINDOWS_MAX == 8 &&
    BK_MESSAGES == 0 && BK_RECIPIENTS == 1, "usage has owed0..owed7");

/* --- statements and errors -------------------------------------------- */

/* The statements of this file; store_admin.c and store_ledger.c hold theirs. */
static const char *const core_sql[S_COUNT] = {
	[S_BEGIN] = "BEGIN IMMEDIATE",
	[S_BEGIN_READ] = "BEGIN",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",
	[S_SAVEPOINT] = "SAVEPOINT store",
	[S_RELEASE] = "RELEASE store",
	[S_ROLLBACK_TO] = "ROLLBACK TO store",
	[S_DATA_VERSION] = "PRAGMA data_version",
	[S_GEN] = "SELECT n FROM generation",
	[S_GEN_BUMP] = "UPDATE generation SET n = n + 1",
	[S_ACC_ID] = "SELECT id FROM accounts WHERE name = ?1",
};

/* seterr - record the one-line error; always returns -1 */
int
seterr(struct store *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->err, sizeof(s->err), fmt, ap);
	va_end(ap);
	return -1;
}

/* dberr - turn an SQLite result code into the line a person can act on */
int
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

/* clean_arg - an untrusted name made printable and short for an error line */
const char *
clean_arg(char *buf, size_t len, const char *src)
{
	return log_clean(buf, len, src, strnlen(src, 1024));
}

/* st_text - the SQL of a statement, from the table of the file that runs it */
static const char *
st_text(enum st id)
{
	if (core_sql[id] != NULL)
		return core_sql[id];
	if (store_admin_sql[id] != NULL)
		return store_admin_sql[id];
	if (store_ledger_sql[id] != NULL)
		return store_ledger_sql[id];
	panic("store: statement %d has no SQL", (int)id);
}

/* st_get - the cached statement, prepared on first use, reset for reuse */
sqlite3_stmt *
st_get(struct store *s, enum st id)
{
	int rc;

	if (s->st[id] == NULL) {
		rc = sqlite3_prepare_v3(s->db, st_text(id), -1,
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
int
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

/* col_str - a bounded copy of a text column; 0 if it fit and was text */
int
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

/* walk_end - reset st and turn the final step code into 0/-1 */
int
walk_end(struct store *s, sqlite3_stmt *st, int rc, int stop)
{
	sqlite3_reset(st);
	if (stop)
		return stop;
	return rc == SQLITE_DONE ? 0 : dberr(s, rc);
}

/* --- transactions ------------------------------------------------------ */

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
 * tx_write - one change, all or nothing.  GEN_BUMP bumps the generation
 * that store_changed() watches before the commit.  Usage, held mail and
 * events keep it, so the daemon's own group commits (which may come from
 * another connection) do not make it rebuild its index.
 */
int
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

/* --- accounts by name -------------------------------------------------- */

/* account_id - the id of name, or -1 with "unknown account" */
int
account_id(struct store *s, const char *name, int64_t *id)
{
	sqlite3_stmt *st;
	char buf[80];
	int rc;

	if (name == NULL || !store_account_name_ok(name))
		return seterr(s, "unknown account '%s'",
		    clean_arg(buf, sizeof(buf), name ? name : ""));
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

/* one_int - the one integer row statement which yields; SQLITE_DONE
 * when it yields no row (*rc has the step's code either way) */
static int
one_int(struct store *s, enum st which, int64_t *v, int *rc)
{
	sqlite3_stmt *st = st_get(s, which);

	if (st == NULL)
		return -1;
	*rc = sqlite3_step(st);
	if (*rc == SQLITE_ROW)
		*v = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return 0;
}

/* data_version - PRAGMA data_version: bumped by other connections' commits */
static int
data_version(struct store *s, int64_t *v)
{
	int rc;

	if (one_int(s, S_DATA_VERSION, v, &rc) == -1)
		return -1;
	return rc == SQLITE_ROW ? 0 : dberr(s, rc);
}

/* generation - the accounts' generation counter */
static int
generation(struct store *s, int64_t *v)
{
	int rc;

	if (one_int(s, S_GEN, v, &rc) == -1)
		return -1;
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
