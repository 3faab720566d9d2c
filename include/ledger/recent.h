/*
 * recent - what each account did in the last hour, minute by minute: the
 * data behind `mailgovctl top`.  One ring of 60 one-minute buckets per
 * kind (messages submitted, held, released, refused, redirected) per
 * account.
 *
 * Memory is bounded at any number of accounts: only accounts active in
 * the last hour have a ring, and at most RECENT_MAX of them (about 0.6 KB
 * each, 2.5 MB in all, allocated as they come).  An account idle for an
 * hour gives its ring back; an account that becomes active while all
 * RECENT_MAX are taken is not tracked until one is given back, and is
 * counted in recent_untracked() so that the view can say so.  A bucket
 * saturates at 65535.
 *
 * Pure: the caller passes the time (minutes of any monotonic clock).
 */
#ifndef MAILGOV_RECENT_H
#define MAILGOV_RECENT_H

#include <stddef.h>
#include <stdint.h>

#define RECENT_MINUTES	60
#define RECENT_MAX	4096

enum recent_kind {
	RECENT_MESSAGE = 0,	/* a message submitted: sent at once or held */
	RECENT_HELD,		/* put on hold */
	RECENT_RELEASED,	/* released from hold */
	RECENT_REFUSED,		/* a refusal the sender saw */
	RECENT_REDIRECTED,	/* a connection redirected to the queue */
	RECENT_KINDS
};

/* One account's last hour, as recent_get gives it. */
struct recent_row {
	int64_t		account;
	/* minute[k][0] is the current minute, [k][59] an hour ago */
	uint16_t	minute[RECENT_KINDS][RECENT_MINUTES];
	uint64_t	hour[RECENT_KINDS];	/* sums over the hour */
};

struct recent;

/* recent_new - room for max accounts (0: RECENT_MAX); NULL on ENOMEM */
struct recent *recent_new(size_t max);
void	recent_free(struct recent *);
/* recent_add - n of kind for account at minute now */
void	recent_add(struct recent *, int64_t account, enum recent_kind,
	    uint32_t n, uint64_t now);
/* recent_get - account's last hour at minute now; 0, or -1 when it has
 * no ring (idle for an hour, or untracked) */
int	recent_get(struct recent *, int64_t account, uint64_t now,
	    struct recent_row *);
/* recent_active - has account a ring with a count in the hour before
 * now (the accounts recent_each walks) */
int	recent_active(struct recent *, int64_t account, uint64_t now);
/* recent_each - fn for every account active in the hour before now */
void	recent_each(struct recent *, uint64_t now,
	    void (*fn)(const struct recent_row *, void *), void *);
/* recent_tick - give back the rings of accounts idle for an hour */
void	recent_tick(struct recent *, uint64_t now);
/* recent_count - accounts with a ring; recent_untracked - additions
 * refused because every ring was taken, since the start */
size_t	recent_count(const struct recent *);
uint64_t recent_untracked(const struct recent *);
/* recent_rate - messages in the 60 s before now_s (seconds), estimated
 * from the current and the previous minute's bucket */
uint32_t recent_rate(const struct recent_row *, uint64_t now_s);
/* recent_kind_name - "message", "held", ... */
const char *recent_kind_name(enum recent_kind);

#endif
