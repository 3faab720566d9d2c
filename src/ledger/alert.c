/*
 * alert - rate-limited key=value alerts and their event-log queue (see
 * alert.h).
 *
 * Per-account state the struct acct has no room for (lines suppressed,
 * budget kinds currently over) lives in a hash table (hash.h) keyed by
 * account id, grown as accounts misbehave up to ALERT_SLOTS entries; an
 * entry moves when the table grows, so none is held past the call that
 * found it.  Entries are never removed: only accounts that misbehaved get
 * one, and 65536 of them is more than a server hosts.
 * XXX When the table is full, further accounts get no crossing memory
 * (every refusal logs, still within the line limit) and their suppressed
 * counts go to one anonymous total.
 *
 * Trusts: account names (the store validates them); the fields come from
 * the daemon's own formatting of parsed numbers.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert.h"
#include "budget.h"
#include "hash.h"
#include "log.h"

#define ALERT_SLOTS	65536	/* accounts with an entry, at most */
#define ALERT_SLOTS0	64	/* ... at first */
#define ALERT_QUEUE	1024	/* events waiting for the group commit */
#define ALERT_LINE	512

struct entry {
	HASH_ENTRY;
	uint32_t	suppressed;
	uint32_t	over;		/* 1 << budget_kind */
	int64_t		id;
};

struct pending {
	int64_t		account;
	char		kind[24];
	char		detail[ALERT_LINE];
};

struct alerts {
	struct budget_limit lim;
	struct hash	 t;		/* of struct entry */
	size_t		 n_suppressing;	/* entries with suppressed > 0 */
	uint64_t	 lost;		/* suppressed, untracked accounts */
	struct pending	*q;
	size_t		 qhead, qlen;
	uint64_t	 qdropped;
};

/* alert_new - empty state; the line limit comes from cfg */
struct alerts *
alert_new(const struct config *cfg)
{
	struct alerts *al;

	if ((al = calloc(1, sizeof(*al))) == NULL ||
	    hash_init(&al->t, sizeof(struct entry), ALERT_SLOTS0) == -1 ||
	    (al->q = calloc(ALERT_QUEUE, sizeof(*al->q))) == NULL) {
		log_warn("alert_new");
		alert_free(al);
		return NULL;
	}
	al->lim.limit = cfg->alert_limit;
	al->lim.period_us = (uint64_t)cfg->alert_period * 1000000u;
	al->lim.burst = cfg->alert_limit;
	if (al->lim.period_us == 0)
		al->lim.period_us = 1000000u;
	return al;
}

/* alert_free - drop everything, queued events included */
void
alert_free(struct alerts *al)
{
	if (al == NULL)
		return;
	hash_fini(&al->t);
	free(al->q);
	free(al);
}

/* entry_eq - the entry is account *id's */
static int
entry_eq(const void *ctx, const void *e, const void *id)
{
	(void)ctx;
	return ((const struct entry *)e)->id == *(const int64_t *)id;
}

/* entry - the state of account id; created when create, else NULL */
static struct entry *
entry(struct alerts *al, int64_t id, int create)
{
	uint64_t h = hash_u64((uint64_t)id);
	struct entry *e;

	if ((e = hash_find(&al->t, h, entry_eq, NULL, &id)) != NULL ||
	    !create || hash_count(&al->t) == ALERT_SLOTS)
		return e;
	if ((e = hash_insert(&al->t, h)) != NULL)
		e->id = id;
	return e;
}

/* enqueue - keep an event for the next group commit */
static void
enqueue(struct alerts *al, int64_t account, const char *kind,
    const char *detail)
{
	struct pending *p;

	if (al->qlen == ALERT_QUEUE) {
		al->qdropped++;
		return;
	}
	p = &al->q[(al->qhead + al->qlen) % ALERT_QUEUE];
	p->account = account;
	snprintf(p->kind, sizeof(p->kind), "%s", kind);
	snprintf(p->detail, sizeof(p->detail), "%s", detail);
	al->qlen++;
}

/* emit - one line, and its event when recorded */
static void
emit(struct alerts *al, const struct acct *a, unsigned flags,
    const char *event, const char *fields)
{
	if (flags & ALERT_WARN)
		log_warnx("event=%s account=%s%s%s", event, a->name,
		    fields[0] ? " " : "", fields);
	else
		log_info("event=%s account=%s%s%s", event, a->name,
		    fields[0] ? " " : "", fields);
	if (flags & ALERT_RECORD)
		enqueue(al, a->id, event, fields);
}

/* suppressed_line - report what was held back, once the window allows */
static void
suppressed_line(struct alerts *al, const struct acct *a, struct entry *e)
{
	char fields[64];

	snprintf(fields, sizeof(fields), "count=%u", e->suppressed);
	emit(al, a, ALERT_RECORD, "alerts_suppressed", fields);
	e->suppressed = 0;
	al->n_suppressing--;
}

/* valert - alert() with a va_list */
static int __attribute__((format(printf, 6, 0)))
valert(struct alerts *al, struct acct *a, uint64_t now, unsigned flags,
    const char *event, const char *fmt, va_list ap)
{
	char raw[ALERT_LINE], fields[ALERT_LINE];
	struct entry *e;

	e = entry(al, a->id, 0);
	if (budget_charge(&al->lim, &a->alert_tat, now, 1, NULL) !=
	    BUDGET_OK) {
		if (e == NULL)
			e = entry(al, a->id, 1);
		if (e == NULL) {
			al->lost++;
			return 0;
		}
		if (e->suppressed++ == 0)
			al->n_suppressing++;
		return 0;
	}
	if (e != NULL && e->suppressed > 0)
		suppressed_line(al, a, e);
	/* callers clean what they pass; this is the net under them, so no
	 * caller can put a raw control byte into syslog */
	vsnprintf(raw, sizeof(raw), fmt, ap);
	log_clean(fields, sizeof(fields), raw, strlen(raw));
	emit(al, a, flags, event, fields);
	return 1;
}

/* alert - one rate-limited line */
int
alert(struct alerts *al, struct acct *a, uint64_t now, unsigned flags,
    const char *event, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = valert(al, a, now, flags, event, fmt, ap);
	va_end(ap);
	return r;
}

/* alert_budget - log each kind's crossing into refusal once */
void
alert_budget(struct alerts *al, struct acct *a, uint64_t now,
    unsigned checked, unsigned over, const char *fields)
{
	struct entry *e;
	char lim[160], *p;
	int k;

	for (k = 0; k < BK_COUNT; k++) {
		if (!(checked & (1u << k)))
			continue;
		if (!(over & (1u << k))) {
			if ((e = entry(al, a->id, 0)) != NULL)
				e->over &= ~(1u << k);
			continue;
		}
		e = entry(al, a->id, 1);
		if (e != NULL && (e->over & (1u << k)))
			continue;
		if (e != NULL)
			e->over |= 1u << k;
		/* a cap is a number; a rate its windows, "N/window,..."
		 * (one word, as every field of an alert line) */
		budget_list_format(a->lim[k], lim, sizeof(lim));
		for (p = lim; (p = strchr(p, ' ')) != NULL; )
			*p = ',';
		alert(al, a, now, ALERT_WARN | ALERT_RECORD, "budget_over",
		    "kind=%s limit=%s%s%s", budget_kind_name(k), lim,
		    fields[0] ? " " : "", fields);
	}
}

/* report_suppressed - the suppressed counts of accounts whose window
 * has reopened, or of every account when force (mailgovd stopping) */
static void
report_suppressed(struct alerts *al, struct accts *as, uint64_t now,
    int force)
{
	struct entry *e;
	struct acct *a;
	size_t pos = 0;

	if (al->lost > 0) {
		log_warnx("event=alerts_suppressed account=* count=%llu",
		    (unsigned long long)al->lost);
		al->lost = 0;
	}
	while (al->n_suppressing > 0 && (e = hash_next(&al->t, &pos)) != NULL) {
		if (e->suppressed == 0)
			continue;
		if ((a = acct_by_id(as, e->id)) == NULL) {
			/* the account is gone; so is its noise */
			e->suppressed = 0;
			al->n_suppressing--;
			continue;
		}
		if (force || budget_charge(&al->lim, &a->alert_tat, now, 1,
		    NULL) == BUDGET_OK)
			suppressed_line(al, a, e);
	}
}

/* alert_tick - report suppressed lines of accounts whose window reopened */
void
alert_tick(struct alerts *al, struct accts *as, uint64_t now)
{
	if (al->qdropped > 0) {
		log_warnx("alert: %llu events not recorded: queue full",
		    (unsigned long long)al->qdropped);
		al->qdropped = 0;
	}
	report_suppressed(al, as, now, 0);
}

/* alert_drain - on the way out: every count still held back is reported
 * now, whatever the window, so that a restart loses none */
void
alert_drain(struct alerts *al, struct accts *as)
{
	report_suppressed(al, as, 0, 1);
}

/* alert_pending - events waiting for the store */
size_t
alert_pending(const struct alerts *al)
{
	return al->qlen;
}

/* alert_flush - write the queued events inside the caller's transaction */
int
alert_flush(struct alerts *al, struct store *st)
{
	struct pending *p;

	while (al->qlen > 0) {
		p = &al->q[al->qhead];
		if (store_event(st, p->account, p->kind, p->detail) == -1) {
			log_warnx("alert: recording an event: %s",
			    store_error(st));
			return -1;
		}
		al->qhead = (al->qhead + 1) % ALERT_QUEUE;
		al->qlen--;
	}
	return 0;
}
