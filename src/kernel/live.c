/*
 * live - each account's live SMTP connections (see live.h).
 *
 * A hash table (hash.h) of counts keyed by account id.  A census empties
 * it: the accounts with live connections are few next to the accounts
 * there are, so the table stays small and clearing it is cheap.
 *
 * Trusts its caller; nothing here comes from a packet.
 */
#include <stdlib.h>

#include "hash.h"
#include "live.h"

struct ent {
	HASH_ENTRY;
	uint32_t	n;
	int64_t		id;
};

struct live {
	struct hash	 t;		/* of struct ent */
	uint64_t	 census_at;
	int		 lost;		/* a count could not be stored */
};

#define LIVE_ENTS0	64

/* ent_eq - the entry counts account *id */
static int
ent_eq(const void *ctx, const void *e, const void *id)
{
	(void)ctx;
	return ((const struct ent *)e)->id == *(const int64_t *)id;
}

/* find - id's count, or NULL */
static struct ent *
find(const struct live *l, int64_t id)
{
	return hash_find(&l->t, hash_u64((uint64_t)id), ent_eq, NULL, &id);
}

/* live_new - an empty count */
struct live *
live_new(void)
{
	struct live *l;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		return NULL;
	if (hash_init(&l->t, sizeof(struct ent), LIVE_ENTS0) == -1) {
		free(l);
		return NULL;
	}
	return l;
}

/* live_free - release it */
void
live_free(struct live *l)
{
	if (l == NULL)
		return;
	hash_fini(&l->t);
	free(l);
}

/* live_census - every count to 0 */
void
live_census(struct live *l, uint64_t now)
{
	hash_clear(&l->t);
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

/* live_add - n more for account */
void
live_add(struct live *l, int64_t account, uint32_t n)
{
	struct ent *e = find(l, account);

	if (e == NULL) {
		if ((e = hash_insert(&l->t, hash_u64((uint64_t)account))) ==
		    NULL) {
			l->lost = 1;
			return;
		}
		e->id = account;
	}
	e->n = e->n > UINT32_MAX - n ? UINT32_MAX : e->n + n;
}

/* live_sub - one fewer for account */
void
live_sub(struct live *l, int64_t account)
{
	struct ent *e = find(l, account);

	if (e != NULL && e->n > 0 && e->n != UINT32_MAX)
		e->n--;
}

/* live_get - the account's count */
uint64_t
live_get(const struct live *l, int64_t account)
{
	const struct ent *e;

	if (l->lost)
		return UINT64_MAX;
	e = find(l, account);
	return e != NULL ? e->n : 0;
}
