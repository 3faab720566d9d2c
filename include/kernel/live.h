/*
 * live - the kernel path's count of each account's live SMTP connections,
 * kept without a SOCK_DIAG dump per SYN.  A count is the last census (the
 * account's established connections, and those it was admitted that are
 * still in their handshake), plus the connections admitted since, minus
 * those that closed since (the kernel says so as it destroys the socket).
 * The caller takes the census (main_mailgovd.c, from sockdiag) once a
 * second, and again, at most every LIVE_RECOUNT_US, when a count would
 * refuse a connection and may be stale (the kernel lost some of its
 * reports, or the socket is one no flow knew).
 * Pure: the caller passes the time; accounts are their ids.
 */
#ifndef MAILGOV_LIVE_H
#define MAILGOV_LIVE_H

#include <stdint.h>

#define LIVE_RECOUNT_US	50000	/* a census on demand at most this often */

struct live;

/* live_new - an empty count; NULL when out of memory */
struct live *live_new(void);
void	live_free(struct live *);
/* live_census - a census starts at now (microseconds): every count is 0
 * until live_add says otherwise */
void	live_census(struct live *, uint64_t now);
/* live_census_at - when the last census started (0: never) */
uint64_t live_census_at(const struct live *);
/* live_recount_due - may a count that would refuse take a census again
 * at now: the last one is at least LIVE_RECOUNT_US old */
int	live_recount_due(const struct live *, uint64_t now);
/* live_add - n more live connections of account (census or admission).
 * Out of memory, the count is lost: live_get then answers UINT64_MAX
 * (every cap refuses: fail closed) until the next census. */
void	live_add(struct live *, int64_t account, uint32_t n);
/* live_sub - one connection of account fewer (it closed); never below 0 */
void	live_sub(struct live *, int64_t account);
/* live_get - the account's live connections */
uint64_t live_get(const struct live *, int64_t account);

#endif
