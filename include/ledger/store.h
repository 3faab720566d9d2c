/*
 * store - the ledger in SQLite (WAL): accounts and what identifies them,
 * budgets, durable budget-engine state, counters, held mail and the event
 * log.  Every change is one transaction; a failed change leaves nothing
 * half-written.  Opening checks schema_version and migrates forward; a
 * newer schema, a corrupt file, a read-only file or a lock that does not
 * clear within the busy timeout is a one-line error.
 *
 * Opening, errors and transactions are in store.c, the administrator's
 * edits of accounts and identities in store_admin.c, usage, held mail and
 * events in store_ledger.c.
 *
 * Trusts: nothing read from the database (values are range-checked as
 * they are loaded).  Error strings go to the caller via store_error().
 */
#ifndef MAILGOV_STORE_H
#define MAILGOV_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "origin.h"

#define STORE_SCHEMA_VERSION	8
#define STORE_NAMELEN		64	/* account names: [a-z0-9._-], 1..63 */
#define STORE_DEFAULT_ID	1	/* the catch-all account, never deleted */
#define STORE_DEFAULT_NAME	"default"
#define STORE_OWED_KINDS	2	/* BK_MESSAGES, BK_RECIPIENTS: shared */

struct store;

enum store_flags {
	STORE_RDONLY = 0x1,
	STORE_CREATE = 0x2,	/* create the file and its directory mode */
};

/*
 * The database file's mode when store_open() creates it; SQLite gives its
 * -wal, -shm and -journal the same.  Opening a file (or side file) whose
 * mode lets others in takes their bits off, when the caller may.
 */
#define STORE_FILE_MODE		0640

/* store_open - open (and migrate) path; NULL with err filled on failure,
 * errno EACCES when the caller may not read (or create) the file */
struct store *store_open(const char *path, int flags, int busy_ms,
	    char *err, size_t errlen);
void	store_close(struct store *);
/* store_error - the last error, one line, naming the problem */
const char *store_error(struct store *);
/* store_db - the raw handle, for modules that prepare their own statements */
struct sqlite3 *store_db(struct store *);
/* store_changed - has another connection changed accounts, identities or
 * budgets (not usage, held mail or events) since the last call? */
int	store_changed(struct store *);

int	store_begin(struct store *);	/* BEGIN IMMEDIATE */
int	store_commit(struct store *);
void	store_rollback(struct store *);
/* store_begin_read - BEGIN (deferred): one snapshot for several reads;
 * end it with store_commit() */
int	store_begin_read(struct store *);
int	store_in_transaction(struct store *);
/* store_set_sync - synchronous FULL (fsync each commit, the default) or
 * NORMAL (fsync at checkpoints; a power cut may lose the last commits) */
void	store_set_sync(struct store *, int full);
/* store_set_busy - how long this handle waits for another writer's lock */
void	store_set_busy(struct store *, int ms);
/* store_set_autocheckpoint - WAL frames before a commit on this handle
 * checkpoints; 0 never (the caller checkpoints elsewhere) */
void	store_set_autocheckpoint(struct store *, int frames);
/* store_checkpoint - PASSIVE (never waits for writers) or RESTART (waits
 * for them, then the WAL starts over); *frames: WAL size, -1 unknown */
int	store_checkpoint(struct store *, int restart, int *frames);

/* --- accounts (store_admin.c) ------------------------------------------ */

struct store_account {
	int64_t		id;
	char		name[STORE_NAMELEN];
	int		is_auto;		/* made for a web UID */
	int		mode;			/* enum over_mode */
	int		blocked;
	int64_t		created;		/* unix seconds */
	/* budgets: has[k] says explicit rows exist, else config default */
	int		has[BK_COUNT];
	struct budget	budget[BK_COUNT];
};

/* store_account_name_ok - [a-z0-9][a-z0-9._-]{0,62} */
int	store_account_name_ok(const char *);

/* Each returns 0, or -1 with store_error() set (unknown account, ...). */
int	store_account_add(struct store *, const char *name, int is_auto,
	    int64_t *id);
/* store_account_add_auto - is_auto account owning uid; both or neither */
int	store_account_add_auto(struct store *, const char *name, uint32_t uid,
	    int64_t *id);
int	store_account_del(struct store *, const char *name);
int	store_account_get(struct store *, const char *name,
	    struct store_account *);
int	store_account_get_id(struct store *, int64_t id,
	    struct store_account *);
int	store_account_set_mode(struct store *, const char *name, int mode);
int	store_account_set_blocked(struct store *, const char *name, int);
/* store_budget_set - replace the kind's windows (NULL: the default) */
int	store_budget_set(struct store *, const char *name, enum budget_kind,
	    const struct budget *);
/* store_account_set_contact - who else gets the account's reports: one
 * address (addr.h), or "" for nobody */
int	store_account_set_contact(struct store *, const char *name,
	    const char *addr);
/* store_account_contact - account id's contact into buf, "" for none
 * (or one that no longer passes addr_ok) */
int	store_account_contact(struct store *, int64_t id, char *buf,
	    size_t len);

/* Identities.  A UID, domain or SASL name belongs to at most one account. */
int	store_uid_add(struct store *, const char *name, uint32_t lo,
	    uint32_t hi);
int	store_uid_del(struct store *, const char *name, uint32_t lo,
	    uint32_t hi);
int	store_gid_add(struct store *, const char *name, uint32_t gid);
int	store_gid_del(struct store *, const char *name, uint32_t gid);
int	store_domain_add(struct store *, const char *name, const char *dom);
int	store_domain_del(struct store *, const char *name, const char *dom);
int	store_sasl_add(struct store *, const char *name, const char *user);
int	store_sasl_del(struct store *, const char *name, const char *user);
int	store_relay_add(struct store *, const char *name, const char *host,
	    uint16_t port);
int	store_relay_del(struct store *, const char *name, const char *host,
	    uint16_t port);

/*
 * Iteration: the callback gets one row; a non-zero return stops the walk
 * and is returned.  Used by the CLI listings and by acct_load().
 */
typedef int (*store_account_cb)(const struct store_account *, void *);
int	store_account_each(struct store *, store_account_cb, void *);

typedef int (*store_uid_cb)(int64_t account, uint32_t lo, uint32_t hi,
	    void *);
int	store_uid_each(struct store *, store_uid_cb, void *);
typedef int (*store_str_cb)(int64_t account, const char *, void *);
int	store_gid_each(struct store *, int (*)(int64_t, uint32_t, void *),
	    void *);
int	store_domain_each(struct store *, store_str_cb, void *);
int	store_sasl_each(struct store *, store_str_cb, void *);
int	store_relay_each(struct store *,
	    int (*)(int64_t, const char *, uint16_t, void *), void *);

/* --- usage: engine state and counters (store_ledger.c) ------------------ */

struct store_usage {
	int64_t		account;
	/* GCRA state per window of each rate, microseconds; in the
	 * database usage.tat<kind * BUDGET_WINDOWS_MAX + window> */
	uint64_t	tat[BK_RATES][BUDGET_WINDOWS_MAX];
	uint64_t	messages, recipients, bytes;	/* lifetime totals */
	uint64_t	held, released, refused, connections;
	int64_t		last_seen;		/* unix seconds, 0 never */
	int64_t		epoch;			/* bumped by each reset */
	/* budget_store = redis: units of each shared window (messages,
	 * recipients) this node charged on its own while Redis was away,
	 * not yet written there (cluster/backlog.h); usage.owed<kind *
	 * BUDGET_WINDOWS_MAX + window>.  Kept with the tats, so it is
	 * durable in the same group commit as the charge it mirrors. */
	uint64_t	owed[STORE_OWED_KINDS][BUDGET_WINDOWS_MAX];
};

int	store_usage_get(struct store *, int64_t account, struct store_usage *);
/* store_usage_put - upsert; callers batch many inside one transaction.
 * 0 written; 1 not written: a reset moved the row to a newer epoch */
int	store_usage_put(struct store *, const struct store_usage *);
int	store_usage_each(struct store *,
	    int (*)(const struct store_usage *, void *), void *);
/* store_redo_applied - the last redo log record applied to usage;
 * store_redo_set_applied records a later one (in the caller's
 * transaction, with the rows it carried) */
int	store_redo_applied(struct store *, uint64_t *seq);
int	store_redo_set_applied(struct store *, uint64_t seq);
/* store_usage_reset - zero the engine state (and counters if all) */
int	store_usage_reset(struct store *, const char *name, int all);

/* --- held mail (store_ledger.c) ----------------------------------------- */

/*
 * HELD_ADMIN: released by `mailgovctl hold release`, which never writes
 * counters (mailgovd is their only writer); mailgovd counts the release
 * and turns the row into HELD_RELEASED.
 */
enum held_state { HELD = 0, HELD_RELEASED = 1, HELD_DELETED = 2,
	HELD_ADMIN = 3 };
#define HELD_STATE_MAX	HELD_ADMIN

struct store_held {
	char		queue_id[32];
	int64_t		account;
	int64_t		since;			/* unix seconds */
	uint32_t	recipients;
	uint64_t	size;
	int		state;
	char		sender[256];
	int		prepaid;		/* charged when accepted: the
						 * release is not charged */
	struct origin	origin;			/* who sent it: a claim */
};

int	store_held_add(struct store *, const struct store_held *);
int	store_held_set_state(struct store *, const char *queue_id, int state);
/* store_held_set_origin - who sent a held row of account that names
 * nobody yet (its pid, exe, cwd, cmd; a process named after the row was
 * written): 1, 0 when no such row, -1 on error */
int	store_held_set_origin(struct store *, const char *queue_id,
	    int64_t account, const struct origin *);
/* oldest first; account < 0 means every account */
int	store_held_each(struct store *, int64_t account, int state,
	    int (*)(const struct store_held *, void *), void *);

/* store_held_summary - account's mail still on hold: messages, bytes and
 * the oldest one's time (0 with none) */
int	store_held_summary(struct store *, int64_t account, uint64_t *n,
	    uint64_t *bytes, int64_t *oldest);
/* --- messages per script (store_ledger.c) ------------------------------ */

/*
 * The names come from the web user (origin.h), so an account keeps at
 * most STORE_SCRIPTS_MAX of them; messages of any further name count
 * under STORE_SCRIPT_OTHER.  A web user inventing names fills its own
 * account's rows, never the disk.
 */
#define STORE_SCRIPTS_MAX	100
#define STORE_SCRIPT_OTHER	"(other)"
#define STORE_SCRIPT_UNKNOWN	"(unknown)"

/* store_script_count - n more messages from script (clean, origin.h) of
 * account at unix time now */
int	store_script_count(struct store *, int64_t account, const char *script,
	    uint64_t n, int64_t now);
/* store_script_each - account's scripts, most messages first, at most
 * limit (0: all) */
int	store_script_each(struct store *, int64_t account, unsigned limit,
	    int (*)(const char *script, uint64_t messages, int64_t last,
	    void *), void *);

/* --- events (store_ledger.c) -------------------------------------------- */

int	store_event(struct store *, int64_t account, const char *kind,
	    const char *detail);
int	store_event_each(struct store *, int64_t account, unsigned limit,
	    int (*)(int64_t ts, int64_t account, const char *kind,
	    const char *detail, void *), void *);

#endif
