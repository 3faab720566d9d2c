/*
 * live - each account's live SMTP connections (see live.h).
 *
 * An open-addressing table keyed by account id, linear probing, at most
 * half full, doubled when it would be fuller.  A census clears it: the
 * accounts with live connections are few next to the accounts there are,
 * so the table stays small and clearing it is cheap.
 *
 * Trusts its caller; nothing here comes from a packet.
 */
#include <stdlib.h>
#include <string.h>

#include "live.h"

struct ent {
	int64_t		id;
	uint32_t	n;
	uint32_t	used;
};

struct live {
	struct ent	*e;
	size_t		 mask;		/* slots - 1 */
	size_t		 used;
	uint64_t	 census_at;
	int		 lost;		/* a count could not be stored */
};

#define LIVE_SLOTS0	64

/* home - where id starts probing (splitmix64's finalizer) */
static size_t
home(const struct live *l, int64_t id)
{
	uint64_t x = (uint64_t)id;

	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return (size_t)x & l->mask;
}

/* slot - id's slot, or the empty one where it would go */
static struct ent *
slot(const struct live *l, int64_t id)
{
	size_t i;

	for (i = home(l, id); l->e[i].used && l->e[i].id != id;
	    i = (i + 1) & l->mask)
		;
	return &l->e[i];
}

/* live_new - an empty count */
struct live *
live_new(void)
{
	struct live *l;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		return NULL;
	if ((l->e = calloc(LIVE_SLOTS0, sizeof(*l->e))) == NULL) {
		free(l);
		return NULL;
	}
	l->mask = LIVE_SLOTS0 - 1;
	return l;
}

/* live_free - release it */
void
live_free(struct live *l)
{
	if (l == NULL)
		return;
	free(l->e);
	free(l);
}

/* live_census - every count to 0 */
void
live_census(struct live *l, uint64_t now)
{
	memset(l->e, 0, (l->mask + 1) * sizeof(*l->e));
	l->used = 0;
	l->lost = 0;
	l->census_at = now;
}

/* live_census_at - the last census */
uint64_t
live_census_at(const struct live *l)
{
	return l->census_at;
}

/* live_recount_due - the last census is old enough to take another */
int
live_recount_due(const struct live *l, uint64_t now)
{
	return l->census_at == 0 || now < l->census_at ||
	    now - l->census_at >= LIVE_RECOUNT_US;
}

/* grow - twice the slots, every count moved over; -1 out of memory */
static int
grow(struct live *l)
{
	struct live nl;
	struct ent *e;
	size_t i;

	memset(&nl, 0, sizeof(nl));
	nl.mask = (l->mask + 1) * 2 - 1;
	if ((nl.e = calloc(nl.mask + 1, sizeof(*nl.e))) == NULL)
		return -1;
	for (i = 0; i <= l->mask; i++)
		if (l->e[i].used) {
			e = slot(&nl, l->e[i].id);
			*e = l->e[i];
		}
	free(l->e);
	l->e = nl.e;
	l->mask = nl.mask;
	return 0;
}

/* live_add - n more for account */
void
live_add(struct live *l, int64_t account, uint32_t n)
{
	struct ent *e = slot(l, account);

	if (!e->used) {
		if ((l->used + 1) * 2 > l->mask + 1) {
			if (grow(l) == -1) {
				l->lost = 1;
				return;
			}
			e = slot(l, account);
		}
		e->used = 1;
		e->id = account;
		l->used++;
	}
	e->n = e->n > UINT32_MAX - n ? UINT32_MAX : e->n + n;
}

/* live_sub - one fewer for account */
void
live_sub(struct live *l, int64_t account)
{
	struct ent *e = slot(l, account);

	if (e->used && e->n > 0 && e->n != UINT32_MAX)
		e->n--;
}

/* live_get - the account's count */
uint64_t
live_get(const struct live *l, int64_t account)
{
	const struct ent *e;

	if (l->lost)
		return UINT64_MAX;
	e = slot(l, account);
	return e->used ? e->n : 0;
}
