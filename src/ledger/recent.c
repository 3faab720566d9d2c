/*
 * recent - per-account minute rings of the last hour (see recent.h).
 * Rings sit in one array reserved at start (its pages are touched only as
 * rings are used); a hash (hash.h) maps an account id to its ring, and
 * the rings given back wait on a free list.  A ring is brought up to date
 * lazily: the buckets of the minutes it missed are cleared when it is
 * next touched or read.
 *
 * Trusts: its callers for account ids and a clock that does not run
 * backwards (a minute before the ring's newest counts in the newest).
 */
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "recent.h"

struct ring {
	int64_t		account;
	uint64_t	last;		/* the minute of the newest bucket */
	uint64_t	seen;		/* the last minute with a count */
	int		used;
	uint16_t	b[RECENT_KINDS][RECENT_MINUTES];
};

struct rent {
	HASH_ENTRY;
	uint32_t	idx;
	int64_t		key;
};

struct recent {
	struct ring	*r;
	size_t		 max, top;	/* rings ever handed out: r[0..top) */
	uint32_t	*free;
	size_t		 nfree;
	struct hash	 ix;		/* account -> ring */
	size_t		 n;
	uint64_t	 untracked;
};

static const char *const kind_names[RECENT_KINDS] = {
	"message", "held", "released", "refused", "redirected",
};

/* rent_eq - the entry is account *key's */
static int
rent_eq(const void *ctx, const void *e, const void *key)
{
	(void)ctx;
	return ((const struct rent *)e)->key == *(const int64_t *)key;
}

struct recent *
recent_new(size_t max)
{
	struct recent *rc;

	if (max == 0)
		max = RECENT_MAX;
	if ((rc = calloc(1, sizeof(*rc))) == NULL)
		return NULL;
	rc->max = max;
	if ((rc->r = calloc(max, sizeof(*rc->r))) == NULL ||
	    (rc->free = calloc(max, sizeof(*rc->free))) == NULL ||
	    hash_init(&rc->ix, sizeof(struct rent), max) == -1) {
		recent_free(rc);
		return NULL;
	}
	return rc;
}

void
recent_free(struct recent *rc)
{
	if (rc == NULL)
		return;
	hash_fini(&rc->ix);
	free(rc->free);
	free(rc->r);
	free(rc);
}

/* advance - bring ring r to minute now: the minutes it missed are 0 */
static void
advance(struct ring *r, uint64_t now)
{
	uint64_t m;
	int k;

	if (now <= r->last)
		return;
	if (now - r->last >= RECENT_MINUTES)
		memset(r->b, 0, sizeof(r->b));
	else
		for (m = r->last + 1; m <= now; m++)
			for (k = 0; k < RECENT_KINDS; k++)
				r->b[k][m % RECENT_MINUTES] = 0;
	r->last = now;
}

/* find - account's ring, or NULL */
static struct ring *
find(struct recent *rc, int64_t account)
{
	struct rent *e;

	e = hash_find(&rc->ix, hash_u64((uint64_t)account), rent_eq, NULL,
	    &account);
	return e != NULL ? &rc->r[e->idx] : NULL;
}

void
recent_add(struct recent *rc, int64_t account, enum recent_kind kind,
    uint32_t n, uint64_t now)
{
	struct ring *r;
	struct rent *e;
	uint32_t idx, v;

	if (rc == NULL || kind >= RECENT_KINDS || n == 0)
		return;
	if ((r = find(rc, account)) == NULL) {
		if (rc->nfree > 0)
			idx = rc->free[--rc->nfree];
		else if (rc->top < rc->max)
			idx = (uint32_t)rc->top++;
		else {
			rc->untracked++;
			return;
		}
		if ((e = hash_insert(&rc->ix, hash_u64((uint64_t)account)))
		    == NULL) {
			rc->free[rc->nfree++] = idx;
			rc->untracked++;
			return;
		}
		e->idx = idx;
		e->key = account;
		r = &rc->r[idx];
		memset(r, 0, sizeof(*r));
		r->account = account;
		r->last = r->seen = now;
		r->used = 1;
		rc->n++;
	}
	advance(r, now);
	if (now > r->seen)
		r->seen = now;
	v = r->b[kind][r->last % RECENT_MINUTES] + n;
	r->b[kind][r->last % RECENT_MINUTES] = v > UINT16_MAX ? UINT16_MAX :
	    (uint16_t)v;
}

/* row_of - ring r as seen at minute now */
static void
row_of(struct ring *r, uint64_t now, struct recent_row *out)
{
	int i, k;

	advance(r, now);
	memset(out, 0, sizeof(*out));
	out->account = r->account;
	for (k = 0; k < RECENT_KINDS; k++)
		for (i = 0; i < RECENT_MINUTES; i++) {
			/* a ring newer than now (no clock runs back here)
			 * is read from its own newest minute */
			out->minute[k][i] = r->b[k][(r->last + RECENT_MINUTES -
			    (uint64_t)i) % RECENT_MINUTES];
			out->hour[k] += out->minute[k][i];
		}
}

int
recent_get(struct recent *rc, int64_t account, uint64_t now,
    struct recent_row *out)
{
	struct ring *r;

	if (rc == NULL || (r = find(rc, account)) == NULL)
		return -1;
	row_of(r, now, out);
	return 0;
}

int
recent_active(struct recent *rc, int64_t account, uint64_t now)
{
	struct ring *r;

	if (rc == NULL || (r = find(rc, account)) == NULL)
		return 0;
	return now <= r->seen || now - r->seen < RECENT_MINUTES;
}

void
recent_each(struct recent *rc, uint64_t now,
    void (*fn)(const struct recent_row *, void *), void *arg)
{
	struct recent_row row;
	size_t i;

	if (rc == NULL)
		return;
	for (i = 0; i < rc->top; i++) {
		if (!rc->r[i].used || (now > rc->r[i].seen &&
		    now - rc->r[i].seen >= RECENT_MINUTES))
			continue;
		row_of(&rc->r[i], now, &row);
		fn(&row, arg);
	}
}

void
recent_tick(struct recent *rc, uint64_t now)
{
	struct rent *e;
	struct ring *r;
	size_t i;

	if (rc == NULL)
		return;
	for (i = 0; i < rc->top; i++) {
		r = &rc->r[i];
		if (!r->used || now <= r->seen ||
		    now - r->seen < RECENT_MINUTES)
			continue;
		e = hash_find(&rc->ix, hash_u64((uint64_t)r->account), rent_eq,
		    NULL, &r->account);
		if (e != NULL)
			hash_remove(&rc->ix, e);
		r->used = 0;
		rc->free[rc->nfree++] = (uint32_t)i;
		rc->n--;
	}
}

size_t
recent_count(const struct recent *rc)
{
	return rc != NULL ? rc->n : 0;
}

uint64_t
recent_untracked(const struct recent *rc)
{
	return rc != NULL ? rc->untracked : 0;
}

uint32_t
recent_rate(const struct recent_row *row, uint64_t now_s)
{
	uint64_t sec = now_s % 60;

	return row->minute[RECENT_MESSAGE][0] +
	    (uint32_t)(row->minute[RECENT_MESSAGE][1] * (60 - sec) / 60);
}

const char *
recent_kind_name(enum recent_kind k)
{
	return k < RECENT_KINDS ? kind_names[k] : "?";
}
