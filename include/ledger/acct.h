/*
 * acct - mailgovd's in-memory view of the accounts: who a UID, GID, SASL
 * user or sender domain belongs to, each account's budgets, and the live
 * budget-engine state.  Built from the store at start-up and rebuilt when
 * another process (mailgovctl) commits; live state carries over a rebuild.
 * Lookups are O(1) or O(log n) and never touch the disk.  Two calls do:
 * acct_adopt_uid, which creates the auto account of a web UID seen for
 * the first time, and acct_is_web for a UID outside web_uids, which asks
 * the passwd and group databases (the answer is remembered for a minute).
 * Sized for 100k accounts.
 *
 * Charges change memory only and mark the account dirty.  In mailgovd the
 * committer (commit.h) is the single writer of usage: it collects the
 * accounts charged since its last batch (acct_collect) and reports each
 * batch on disk (acct_committed), which makes the account clean again.
 * Without a committer, acct_flush() writes every dirty account in the
 * caller's transaction.
 */
#ifndef MAILGOV_ACCT_H
#define MAILGOV_ACCT_H

#include <stdint.h>
#include <sys/types.h>

#include "budget.h"
#include "config.h"
#include "recent.h"
#include "store.h"

struct relay {
	char		host[64];	/* numeric address as stored */
	uint16_t	port;
};

struct acct {
	int64_t		id;
	char		name[STORE_NAMELEN];
	int		is_auto;
	int		mode;			/* enum over_mode */
	int		blocked;
	/* in force: the account's own rows (own), else the config's */
	const struct budget *lim[BK_COUNT];
	struct budget	*own;			/* NULL: no rows of its own */
	struct store_usage use;			/* tat[] and counters */
	struct relay	*relays;
	unsigned	n_relays;
	uint64_t	dirty;		/* 0 clean; else the batch of its
					 * latest copy (1: not collected) */
	uint64_t	alert_tat;		/* alert.c's rate limiter */
	uint32_t	n_held;			/* held messages not released */
	uint64_t	redirects;		/* SYNs redirected since start:
						 * memory only, for the metrics */
	unsigned	changed;	/* the rebuild (acct_generation) that
					 * last changed its budgets, its block
					 * or (a reset) its budget state */
};

struct accts;

/* acct_load - build the view; NULL with a logged reason on failure */
struct accts *acct_load(struct store *, const struct config *);
void	acct_free(struct accts *);
/* acct_reload - rebuild if the store changed; keeps live state */
int	acct_reload(struct accts *);
/* acct_generation - counts the rebuilds: an account whose `changed` is
 * newer than the generation a caller saw last changed since */
unsigned acct_generation(const struct accts *);

struct acct *acct_default(struct accts *);
struct acct *acct_by_id(struct accts *, int64_t id);
struct acct *acct_by_name(struct accts *, const char *);
struct acct *acct_by_sasl(struct accts *, const char *);
struct acct *acct_by_domain(struct accts *, const char *);	/* exact */
/*
 * acct_is_web - is uid a web user: in web_uids, running with a web group
 * as its group (gid; UINT32_MAX when unknown), or a member of a web group,
 * as its primary group or a supplementary one (config_in_web_group; the
 * answer is remembered for a minute)?
 */
int	acct_is_web(struct accts *, uint32_t uid, uint32_t gid);
/*
 * acct_find_uid - the account that owns uid: an explicit one (uid, its
 * range, or gid), or the auto account adopted for it earlier; the default
 * account when acct_adopt_uid found no passwd entry for it.  NULL when
 * nobody owns uid yet.  Memory only, no I/O and no insert: for counting
 * and reporting, which must not create accounts.
 */
struct acct *acct_find_uid(struct accts *, uint32_t uid, uint32_t gid);
/*
 * acct_adopt_uid - acct_find_uid, else the auto account of a web user
 * (acct_is_web; created in the store on first sight, named after its
 * login), else the default account (no passwd entry, or not a web user).
 * Only the paths that attribute a new connection or new mail to a UID
 * adopt: the SYN path and the queue instance's attribution.
 */
struct acct *acct_adopt_uid(struct accts *, uint32_t uid, uint32_t gid);

/* acct_is_exempt - is addr:port one of the account's exempt relays */
int	acct_is_exempt(const struct acct *, const char *addr, uint16_t port);

/*
 * acct_windows - the rate windows a charge of kind k touches for a, in
 * order, each (limit, period_us, burst): *w points at them, valid until
 * the next acct_reload, and their count is returned.  The engine state
 * of window i of a rate is a->use.tat[k][i].  A cap has one window of
 * period 0; an unlimited kind has one of limit BUDGET_UNLIMITED.  The
 * one place a budget store outside this file learns an account's limits.
 */
unsigned acct_windows(const struct acct *, enum budget_kind,
	    const struct budget_limit **w);

/*
 * acct_charge - spend cost on every window of kind at now (microseconds),
 * all or nothing.  Caps (recipients per message, concurrent connections)
 * compare cost with the limit instead.  Returns BUDGET_OK or BUDGET_OVER
 * with *retry_at (when the window that clears last lets it through).
 */
enum budget_verdict acct_charge(struct acct *, enum budget_kind,
	    uint64_t cost, uint64_t now, uint64_t *retry_at);
/* acct_refund - give cost back to every window of rate kind */
void	acct_refund(struct acct *, enum budget_kind, uint64_t cost);
/* acct_charge_message - a message of rcpts recipients: all or nothing
 * across every messages and recipients window; on BUDGET_OVER *which
 * names the exhausted kind and nothing was spent */
enum budget_verdict acct_charge_message(struct acct *, uint32_t rcpts,
	    uint64_t now, enum budget_kind *which, uint64_t *retry_at);
/* acct_touch - mark dirty: the committer writes the account's usage */
void	acct_touch(struct acct *);

/*
 * The lifetime counters (docs/mailgovctl.md defines each one).  They
 * change only through these, which mark the account dirty, so that no
 * change is left out of the next group commit.
 */
void	acct_count_connection(struct acct *);	/* let through (kernel) */
void	acct_count_refused(struct acct *);	/* a refusal the sender saw */
void	acct_count_held(struct acct *, uint64_t n);	/* put on hold */
void	acct_count_released(struct acct *);	/* a held message left */
/* acct_count_message - a message left under the budget */
void	acct_count_message(struct acct *, uint64_t rcpts, uint64_t size);
void	acct_count_seen(struct acct *, int64_t secs);	/* last activity */

/*
 * acct_set_recent - keep what accounts do minute by minute in r (recent.h,
 * for `mailgovctl top`); acct_note - kind happened n times to a now.  No
 * ring set: acct_note does nothing.
 */
void	acct_set_recent(struct accts *, struct recent *);
void	acct_note(struct acct *, enum recent_kind, uint32_t n);

/* acct_flush - write dirty accounts' usage; caller holds a transaction */
int	acct_flush(struct accts *);
/* acct_unflush - the caller's transaction around acct_flush() did not
 * commit: mark the accounts it wrote dirty again */
void	acct_unflush(struct accts *);
/*
 * acct_single_writer - from now on a committer writes usage: acct_flush()
 * and acct_unflush() do nothing, so that no second writer can put an
 * older row over a newer one.
 */
void	acct_single_writer(struct accts *);
/* acct_collect - every account charged since the last collection: put
 * copies its usage into batch seq (0, or -1 to leave it for the next) */
void	acct_collect(struct accts *, uint64_t seq,
	    int (*put)(struct acct *, void *), void *);
/* acct_committed - batch seq, holding account id's usage, is on disk: the
 * account is clean unless charged again since */
void	acct_committed(struct accts *, int64_t id, uint64_t seq);
/* acct_stale - batch seq's row of id was not written: a reset since
 * moved it to a newer epoch, and the account takes the stored usage */
void	acct_stale(struct accts *, int64_t id, uint64_t seq);
size_t	acct_count(struct accts *);
struct store *acct_store(struct accts *);
const struct config *acct_config(struct accts *);

/* acct_each - walk every account (release scheduling, status) */
int	acct_each(struct accts *, int (*)(struct acct *, void *), void *);

#endif
