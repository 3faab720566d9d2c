/*
 * live - each account's live SMTP connections (see live.h).
 *
 * One count per account that has live connections, in an array indexed
 * by account id (hash.h).  A census empties both: the accounts with live
 * connections are few next to the accounts there are, so the table stays
 * small and clearing it is cheap.
 *
 * Trusts its caller; nothing here comes from a packet.
 */
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "live.h"

struct ent {
	int64_t		id;
	uint32_t	n;
};

struct live {
	struct ent	*e;		/* used of cap */
	size_t		 used, cap;
	struct hash	*idx;		/* id -> position in e + 1 */
	uint64_t	 census_at;
	int		 lost;		/* a count could not be stored */
};

#define LIVE_ENTS0	64

/* ent_eq - the index's callback: entry ref - 1 is account *id's */
static int
ent_eq(const void *ctx, uint32_t ref, const void *id)
{
	const struct live *l = ctx;

	return l->e[ref - 1].id == *(const int64_t *)id;
}

/* find - id's count, or NULL */
static struct ent *
find(const struct live *l, int64_t id)
{
	uint32_t r = hash_find(l->idx, hash_u64((uint64_t)id), ent_eq, l, &id);

	return r ? &l->e[r - 1] : NULL;
}

/* live_new - an empty count */
struct live *
live_new(void)
{
	struct live *l;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		return NULL;
	l->cap = LIVE_ENTS0;
	if ((l->e = calloc(l->cap, sizeof(*l->e))) == NULL ||
	    (l->idx = hash_new(l->cap)) == NULL) {
		live_free(l);
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
	free(l->e);
	hash_free(l->idx);
	free(l);
}

/* live_census - every count to 0 */
void
live_census(struct live *l, uint64_t now)
{
	hash_clear(l->idx);
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

/* live_add - n more for account */
void
live_add(struct live *l, int64_t account, uint32_t n)
{
	struct ent *e = find(l, account), *ne;

	if (e == NULL) {
		if (l->used == l->cap) {
			if (l->cap >= UINT32_MAX / 2 || (ne = reallocarray(l->e,
			    l->cap * 2, sizeof(*ne))) == NULL)
				goto lost;
			l->e = ne;
			l->cap *= 2;
		}
		if (hash_add(l->idx, hash_u64((uint64_t)account),
		    (uint32_t)l->used + 1) == -1)
			goto lost;
		e = &l->e[l->used++];
		e->id = account;
		e->n = 0;
	}
	e->n = e->n > UINT32_MAX - n ? UINT32_MAX : e->n + n;
	return;
lost:
	l->lost = 1;
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
