/*
 * store_int - what the store's three files share, and nobody else: the
 * handle, the cached-statement ids, the error and column helpers and the
 * write transaction.  store.c opens, migrates and runs transactions;
 * store_admin.c holds the administrator's edits of accounts and
 * identities; store_ledger.c the rows mailgovd writes as it works (usage,
 * the redo mark, held mail, events).  Only those three include this
 * header: it sits in include/ because the build rebuilds objects when a
 * header there changes.
 *
 * Trusts: the same as store.h.  Every helper here takes the store's own
 * pointers; untrusted strings go through clean_arg() before an error line.
 */
#ifndef MAILGOV_STORE_INT_H
#define MAILGOV_STORE_INT_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "store.h"

/*
 * Cached statements, prepared on first use and kept for the handle's life.
 * Each file keeps the SQL of its own ids in a table indexed by this enum.
 */
enum st {
	/* store.c */
	S_BEGIN, S_BEGIN_READ, S_COMMIT, S_ROLLBACK,
	S_SAVEPOINT, S_RELEASE, S_ROLLBACK_TO, S_DATA_VERSION,
	S_GEN, S_GEN_BUMP, S_ACC_ID,
	/* store_admin.c */
	S_ACC_ADD, S_ACC_DEL, S_ACC_BY_NAME,
	S_ACC_BY_ID, S_ACC_ALL, S_ACC_MODE, S_ACC_BLOCKED,
	S_BUD_OF, S_BUD_ALL, S_BUD_SET, S_BUD_DEL,
	S_UID_FIND, S_UID_ADD, S_UID_DEL, S_UID_ALL, S_UID_OF,
	S_GID_FIND, S_GID_ADD, S_GID_DEL, S_GID_ALL,
	S_DOM_FIND, S_DOM_ADD, S_DOM_DEL, S_DOM_ALL,
	S_SASL_FIND, S_SASL_ADD, S_SASL_DEL, S_SASL_ALL,
	S_RELAY_FIND, S_RELAY_ADD, S_RELAY_DEL, S_RELAY_ALL,
	S_ACC_CONTACT_SET, S_ACC_CONTACT_GET,
	/* store_ledger.c */
	S_ACC_NAME,
	S_USE_GET, S_USE_PUT, S_USE_ALL, S_USE_RESET_TAT, S_USE_RESET_ALL,
	S_HELD_FIND, S_HELD_ADD, S_HELD_STATE,
	S_HELD_ALL, S_HELD_ACC, S_HELD_ST, S_HELD_ACC_ST,
	S_EVENT_ADD, S_EVENT_ALL, S_EVENT_ACC,
	S_HELD_SUM,
	S_SCRIPT_BUMP, S_SCRIPT_NUM, S_SCRIPT_ADD, S_SCRIPT_TOP,
	S_HELD_ORIGIN,
	S_COUNT
};

extern const char *const store_admin_sql[S_COUNT];
extern const char *const store_ledger_sql[S_COUNT];

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
int	seterr(struct store *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
/* dberr - turn an SQLite result code into the line a person can act on */
int	dberr(struct store *, int rc);
/* clean_arg - an untrusted name made printable and short for an error */
const char *clean_arg(char *buf, size_t len, const char *src);

/* st_get - the cached statement, prepared on first use, reset for reuse */
sqlite3_stmt *st_get(struct store *, enum st);
/* st_run - step a statement that returns no rows (or ignore them) */
int	st_run(struct store *, sqlite3_stmt *);
/* col_str - a bounded copy of a text column; 0 if it fit and was text */
int	col_str(sqlite3_stmt *, int i, char *dst, size_t len);
/* walk_end - end an *_each walk: reset st, its result or the callback's */
int	walk_end(struct store *, sqlite3_stmt *, int rc, int stop);

/* account_id - the id of name, or -1 with "unknown account" */
int	account_id(struct store *, const char *name, int64_t *id);

/*
 * tx_write - run work(s, arg) as one change: in a transaction of its own,
 * or in a savepoint inside the caller's, so that a failure (work returns
 * -1 with the error set) undoes only this change.  GEN_BUMP also bumps
 * the generation that store_changed() watches, for what mailgovd must
 * reload: accounts, identities, budgets, and a reset of usage.
 */
enum tx_gen { GEN_KEEP, GEN_BUMP };
int	tx_write(struct store *, enum tx_gen,
	    int (*work)(struct store *, void *), void *arg);

#endif
