/*
 * store_admin - the administrator's edits of accounts and what identifies
 * them: accounts, UIDs, GIDs, domains, SASL names, exempt relays, budgets,
 * modes and blocks, each one change (store_int.h, tx_write), and the walks
 * that list them.  mailgovctl edits; mailgovd loads them all into its index
 * (acct.c) and makes auto accounts for web UIDs.
 *
 * Trusts: the caller's pointers.  Names, domains, SASL users and relay
 * addresses from the caller are validated here.  Rows read back are
 * range-checked and bad ones skipped with a warning.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "log.h"
#include "store.h"
#include "store_int.h"

#define UNLIMITED_SQL	(-1)	/* budgets.lim for BUDGET_UNLIMITED */
#define UID_INVALID	UINT32_MAX	/* (uid_t)-1 is never a real id */

#define ACC_COLS	"id, name, is_auto, mode, blocked, created"

const char *const store_admin_sql[S_COUNT] = {
	[S_ACC_ADD] = "INSERT INTO accounts (name, is_auto, created) "
	    "VALUES (?1, ?2, ?3)",
	[S_ACC_DEL] = "DELETE FROM accounts WHERE id = ?1",
	[S_ACC_BY_NAME] = "SELECT " ACC_COLS " FROM accounts WHERE name = ?1",
	[S_ACC_BY_ID] = "SELECT " ACC_COLS " FROM accounts WHERE id = ?1",
	[S_ACC_ALL] = "SELECT " ACC_COLS " FROM accounts ORDER BY id",
	[S_ACC_MODE] = "UPDATE accounts SET mode = ?2 WHERE id = ?1",
	[S_ACC_BLOCKED] = "UPDATE accounts SET blocked = ?2 WHERE id = ?1",
	[S_BUD_OF] = "SELECT account, kind, win, lim, period_us, burst "
	    "FROM budgets WHERE account = ?1 ORDER BY kind, win",
	[S_BUD_ALL] = "SELECT account, kind, win, lim, period_us, burst "
	    "FROM budgets ORDER BY account, kind, win",
	[S_BUD_SET] = "INSERT INTO budgets (account, kind, win, lim, "
	    "period_us, burst) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
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
};

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

/* --- accounts ---------------------------------------------------------- */

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

/*
 * row_budget - one window row into a's budgets; a row out of range, or
 * out of its place (windows are numbered 0, 1, ... within a kind), is
 * skipped with a warning.
 */
static void
row_budget(sqlite3_stmt *st, struct store_account *a)
{
	int64_t acc = sqlite3_column_int64(st, 0);
	int64_t k = sqlite3_column_int64(st, 1);
	int64_t win = sqlite3_column_int64(st, 2);
	int64_t lim = sqlite3_column_int64(st, 3);
	int64_t per = sqlite3_column_int64(st, 4);
	int64_t burst = sqlite3_column_int64(st, 5);
	struct budget *b;
	struct budget_limit *l;
	int	 i;

	for (i = 1; i <= 5; i++)
		if (sqlite3_column_type(st, i) != SQLITE_INTEGER)
			goto bad;
	if (k < 0 || k >= BK_COUNT || lim < UNLIMITED_SQL || per < 0 ||
	    burst < 0)
		goto bad;
	b = &a->budget[k];
	if (!a->has[k])
		b->n = 0;
	/* a cap, or unlimited, is one row; a rate's windows have a length */
	if (win != b->n || win >= BUDGET_WINDOWS_MAX ||
	    (win > 0 && (budget_kind_is_cap((int)k) ||
	    budget_is_unlimited(b) || lim == UNLIMITED_SQL)) ||
	    (per == 0 && lim != UNLIMITED_SQL && !budget_kind_is_cap((int)k)))
		goto bad;
	l = &b->w[b->n++];
	l->limit = lim == UNLIMITED_SQL ? BUDGET_UNLIMITED : (uint64_t)lim;
	l->period_us = (uint64_t)per;
	l->burst = (uint64_t)burst;
	a->has[k] = 1;
	return;
bad:
	log_warnx("account %lld: ignoring a bad budget row (kind %lld, "
	    "window %lld)", (long long)acc, (long long)k, (long long)win);
}

/* account_budgets - fill a's has[]/budget[] from its rows */
static int
account_budgets(struct store *s, struct store_account *a)
{
	sqlite3_stmt *st;
	int rc;

	if ((st = st_get(s, S_BUD_OF)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, a->id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		row_budget(st, a);
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
		    clean_arg(buf, sizeof(buf), name ? name : ""));
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
		    clean_arg(buf, sizeof(buf), name ? name : ""));
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
	const char		*name;
	enum budget_kind	 k;
	const struct budget	*b;	/* NULL: back to the default */
};

/* budget_set_tx - replace the kind's rows; the default stays limited */
static int
budget_set_tx(struct store *s, void *arg)
{
	struct budget_edit *e = arg;
	const struct budget *b = e->b;
	sqlite3_stmt *st;
	int64_t id;
	unsigned i;

	if (account_id(s, e->name, &id) == -1)
		return -1;
	if (b != NULL && budget_is_unlimited(b) && id == STORE_DEFAULT_ID)
		return seterr(s, "the default account cannot have an "
		    "unlimited budget");
	if ((st = st_get(s, S_BUD_DEL)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int(st, 2, (int)e->k);
	if (st_run(s, st) == -1)
		return -1;
	for (i = 0; b != NULL && i < b->n; i++) {
		const struct budget_limit *l = &b->w[i];

		if ((st = st_get(s, S_BUD_SET)) == NULL)
			return -1;
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int(st, 2, (int)e->k);
		sqlite3_bind_int(st, 3, (int)i);
		sqlite3_bind_int64(st, 4, l->limit == BUDGET_UNLIMITED ?
		    UNLIMITED_SQL : (int64_t)l->limit);
		sqlite3_bind_int64(st, 5, (int64_t)l->period_us);
		sqlite3_bind_int64(st, 6, (int64_t)l->burst);
		if (st_run(s, st) == -1)
			return -1;
	}
	return 0;
}

/* store_budget_set - a kind's explicit windows; NULL clears to the
 * default */
int
store_budget_set(struct store *s, const char *name, enum budget_kind k,
    const struct budget *b)
{
	struct budget_edit e = { .name = name, .k = k, .b = b };
	unsigned i;

	if ((int)k < 0 || k >= BK_COUNT)
		return seterr(s, "bad budget kind %d", (int)k);
	if (b != NULL) {
		if (b->n == 0 || b->n > BUDGET_WINDOWS_MAX ||
		    (b->n > 1 && (budget_kind_is_cap(k) ||
		    budget_is_unlimited(b))))
			return seterr(s, "bad number of budget windows");
		for (i = 0; i < b->n; i++) {
			const struct budget_limit *l = &b->w[i];

			/* caps and unlimited have no window: period 0 */
			if ((l->period_us == 0 && !budget_kind_is_cap(k) &&
			    l->limit != BUDGET_UNLIMITED) ||
			    l->period_us > INT64_MAX)
				return seterr(s, "bad budget period");
			if (l->limit != BUDGET_UNLIMITED &&
			    l->limit > INT64_MAX)
				return seterr(s, "budget limit too large");
			if (l->burst > INT64_MAX)
				return seterr(s, "budget burst too large");
		}
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
		    clean_arg(buf, sizeof(buf), dom ? dom : ""));
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
		    clean_arg(buf, sizeof(buf), dom ? dom : ""));
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
		    clean_arg(buf, sizeof(buf), user ? user : ""));
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
		    clean_arg(buf, sizeof(buf), user ? user : ""));
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
		    clean_arg(buf, sizeof(buf), host ? host : ""));
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
	int rc, brc, stop = 0;

	if ((st = st_get(s, S_ACC_ALL)) == NULL ||
	    (bt = st_get(s, S_BUD_ALL)) == NULL)
		return -1;
	brc = sqlite3_step(bt);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		row_account(st, &a);
		while (brc == SQLITE_ROW &&
		    sqlite3_column_int64(bt, 0) <= a.id) {
			if (sqlite3_column_int64(bt, 0) == a.id)
				row_budget(bt, &a);
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
