/*
 * alert - the kernel path's syslog alerts: one line per event, stable
 * key=value fields ("event=redirect account=web1 uid=1001
 * dst=192.0.2.25:25"), at most alert_limit lines per account per
 * alert_period (the budget engine on acct->alert_tat, shared with the
 * policy server's alerts), then one "event=alerts_suppressed account=x
 * count=N" line when the account's window reopens.  Rejects and budget
 * crossings also go to the store's event log, queued here and written by
 * the daemon's group commit, never synchronously per packet.
 */
#ifndef MAILGOV_ALERT_H
#define MAILGOV_ALERT_H

#include <stdint.h>

#include "acct.h"
#include "config.h"
#include "log.h"
#include "store.h"

#define ALERT_WARN	0x1	/* LOG_WARNING rather than LOG_INFO */
#define ALERT_RECORD	0x2	/* also store_event() it */

struct alerts;

struct alerts *alert_new(const struct config *);
void	alert_free(struct alerts *);

/*
 * alert - log "event=EVENT account=NAME " followed by the formatted
 * fields, unless the account is over its alert limit.  Returns 1 when
 * the line was logged, 0 when it was suppressed (and counted).
 */
int	alert(struct alerts *, struct acct *, uint64_t now, unsigned flags,
	    const char *event, const char *fmt, ...) LOG_FMT(6, 7);

/*
 * alert_budget - the budget kinds (1 << kind) just checked for acct and
 * those refused.  A kind going from allowed to refused is a crossing:
 * logged and recorded as event=budget_over once, not per refusal, until
 * a check of that kind passes again.  fields are appended to the line.
 */
void	alert_budget(struct alerts *, struct acct *, uint64_t now,
	    unsigned checked, unsigned over, const char *fields);

/*
 * alert_set_hook - fn(arg, acct, event, fields, now) for each line that
 * is logged and recorded (ALERT_RECORD), within the same rate limit, and
 * never for alerts_suppressed: mailgovd's notifications (notify.h).  It
 * must not block; fields are already cleaned.
 */
typedef void (*alert_hook)(void *arg, const struct acct *, const char *event,
	    const char *fields, uint64_t now);
void	alert_set_hook(struct alerts *, alert_hook, void *arg);

/* alert_tick - report suppressed lines of accounts whose window reopened */
void	alert_tick(struct alerts *, struct accts *, uint64_t now);
/* alert_drain - report every suppressed count now (mailgovd stopping) */
void	alert_drain(struct alerts *, struct accts *);

/* alert_pending - events queued for the store */
size_t	alert_pending(const struct alerts *);

/* alert_flush - store_event() every queued event; the caller holds the
 * transaction.  Returns -1 (events kept) if the store refused one. */
int	alert_flush(struct alerts *, struct store *);

#endif
