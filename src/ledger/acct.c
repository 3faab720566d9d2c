/*
 * acct - mailgovd's in-memory index of the accounts, built from the store:
 * hash tables (hash.h) for id, name, SASL user, sender domain, single
 * UIDs and GIDs, and a sorted array of UID ranges searched by bisection.
 * Each entry holds its key (a string in the arena) and an index into one
 * vector of accounts, so a lookup never touches an account it does not
 * return, and a rebuild can swap account objects without touching keys.
 * The name is the exception: its key is the account's own name, which
 * saves a copy and 8 bytes a slot, and no hot path looks accounts up by
 * name.
 *
 * Account objects are never moved or freed before acct_free(): a pointer
 * from acct_by_*() stays valid across acct_reload().  An account deleted
 * from the store is unhooked from the index but kept ("dead") so that a
 * flow still pointing at it cannot dangle.
 *
 * Trusts: the store's range checks for what it loads; getpwuid() for
 * login names (checked against the account-name rules before use), and
 * the passwd and group databases for who is in a web group.
 */
#include <sys/types.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <pwd.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acct.h"
#include "clock.h"
#include "hash.h"
#include "log.h"
#include "num.h"

#define NEG_MAX		65536	/* web UIDs remembered as "no passwd entry" */
#define MEMO_MAX	65536	/* UIDs whose web-group membership is known */
#define MEMO_TTL	60	/* seconds a membership answer is trusted */
#define ARENA_CHUNK	65536

/* ient, sent - an entry of a map from an integer, or from a string in
 * the arena, to a vector index + 1 (or the memo's answer; never 0) */
struct ient {
	HASH_ENTRY;
	uint32_t	val;
	uint64_t	key;
};

struct sent {
	HASH_ENTRY;
	uint32_t	val;
	const char	*key;
};

/* nent - an entry of the name map: the key is the account's name */
struct nent {
	HASH_ENTRY;
	uint32_t	val;
};

struct range {
	uint32_t	lo, hi;
	uint32_t	idx;
};

struct chunk {
	struct chunk	*next;
	size_t		 used, size;
	char		 buf[];
};

/* node - the private wrapper around each account */
struct node {
	struct acct	 a;
	struct accts	*owner;
	unsigned	 gen;		/* last rebuild that saw this id */
	int		 queued;	/* on owner->dirty */
	int		 dead;		/* gone from the store */
};

struct index {
	struct node	**v;
	size_t		 n, cap;
	struct hash	 by_id, by_uid, by_gid, neg_uid;	/* ient */
	struct hash	 by_sasl, by_domain;			/* sent */
	struct hash	 by_name;				/* nent */
	struct range	*ranges;
	size_t		 n_ranges, cap_ranges;
	struct chunk	*arena;
	int		 failed;	/* out of memory while building */
};

struct nodelist {
	struct node	**v;
	size_t		 n, cap;
};

struct accts {
	struct store		*st;
	const struct config	*cfg;
	struct index		 ix;
	struct node		*dflt;
	unsigned		 gen;
	struct nodelist		 dirty;		/* charged since the last flush */
	struct nodelist		 flushed;	/* written by the last flush */
	struct nodelist		 dead;
	int			 single;	/* a committer writes usage */
	/* UID -> web-group member: (expiry in monotonic seconds << 1) |
	 * answer; kept across rebuilds, asked again after MEMO_TTL */
	struct hash		 memo;		/* of struct ient */
	struct recent		*recent;	/* for top; NULL: none */
};

#define NODE(a)	((struct node *)(void *)((char *)(a) - offsetof(struct node, a)))

/* --- small containers -------------------------------------------------- */

/* int_eq, str_eq - the entry holds the integer or string key */
static int
int_eq(const void *ctx, const void *e, const void *key)
{
	(void)ctx;
	return ((const struct ient *)e)->key == *(const uint64_t *)key;
}

static int
str_eq(const void *ctx, const void *e, const void *key)
{
	(void)ctx;
	return strcmp(((const struct sent *)e)->key, key) == 0;
}

/* imap_get - the value for key, or 0 */
static uint32_t
imap_get(const struct hash *m, uint64_t key)
{
	const struct ient *e;

	e = hash_find(m, hash_u64(key), int_eq, NULL, &key);
	return e != NULL ? e->val : 0;
}

/* imap_put - insert or replace; -1 on allocation failure */
static int
imap_put(struct hash *m, uint64_t key, uint32_t val)
{
	uint64_t h = hash_u64(key);
	struct ient *e;

	if ((e = hash_find(m, h, int_eq, NULL, &key)) == NULL) {
		if ((e = hash_insert(m, h)) == NULL)
			return -1;
		e->key = key;
	}
	e->val = val;
	return 0;
}

/* imap_del - take key out, if it is there */
static void
imap_del(struct hash *m, uint64_t key)
{
	struct ient *e;

	if ((e = hash_find(m, hash_u64(key), int_eq, NULL, &key)) != NULL)
		hash_remove(m, e);
}

/* smap_get - the value for key, or 0 */
static uint32_t
smap_get(const struct hash *m, const char *key)
{
	const struct sent *e;

	e = hash_find(m, hash_str(key), str_eq, NULL, key);
	return e != NULL ? e->val : 0;
}

/* smap_put - key must outlive the map (it lives in the arena) */
static int
smap_put(struct hash *m, const char *key, uint32_t val)
{
	uint64_t h = hash_str(key);
	struct sent *e;

	if ((e = hash_find(m, h, str_eq, NULL, key)) == NULL) {
		if ((e = hash_insert(m, h)) == NULL)
			return -1;
		e->key = key;
	}
	e->val = val;
	return 0;
}

/* name_eq - account val - 1 of the index ctx is named key */
static int
name_eq(const void *ctx, const void *e, const void *key)
{
	const struct index *ix = ctx;

	return strcmp(ix->v[((const struct nent *)e)->val - 1]->a.name,
	    key) == 0;
}

/* name_get - the vector index + 1 of the account named name, or 0 */
static uint32_t
name_get(const struct index *ix, const char *name)
{
	const struct nent *e;

	e = hash_find(&ix->by_name, hash_str(name), name_eq, ix, name);
	return e != NULL ? e->val : 0;
}

/* name_put - index account idx - 1 (already in the vector) by its name;
 * it takes the name over from an account not reloaded yet */
static int
name_put(struct index *ix, uint32_t idx)
{
	const char *name = ix->v[idx - 1]->a.name;
	uint64_t h = hash_str(name);
	struct nent *e;

	if ((e = hash_find(&ix->by_name, h, name_eq, ix, name)) == NULL &&
	    (e = hash_insert(&ix->by_name, h)) == NULL)
		return -1;
	e->val = idx;
	return 0;
}

/* arena_dup - a copy of s that lives as long as the index */
static const char *
arena_dup(struct index *ix, const char *s)
{
	size_t len = strlen(s) + 1;
	struct chunk *c = ix->arena;
	char *p;

	if (c == NULL || c->size - c->used < len) {
		size_t size = len > ARENA_CHUNK ? len : ARENA_CHUNK;

		if ((c = malloc(sizeof(*c) + size)) == NULL)
			return NULL;
		c->size = size;
		c->used = 0;
		c->next = ix->arena;
		ix->arena = c;
	}
	p = c->buf + c->used;
	memcpy(p, s, len);
	c->used += len;
	return p;
}

/* list_push - append n; -1 on allocation failure */
static int
list_push(struct nodelist *l, struct node *n)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct node **v = realloc(l->v, cap * sizeof(*v));

		if (v == NULL)
			return -1;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = n;
	return 0;
}

/* --- building the index ------------------------------------------------ */

/* node_free - an account object and what it owns */
static void
node_free(struct node *n)
{
	if (n == NULL)
		return;
	free(n->a.relays);
	free(n->a.own);
	free(n);
}

/* index_free - the maps and the arena; nodes only when own_nodes */
static void
index_free(struct index *ix, int own_nodes)
{
	struct chunk *c, *next;
	size_t i;

	if (own_nodes)
		for (i = 0; i < ix->n; i++)
			node_free(ix->v[i]);
	free(ix->v);
	hash_fini(&ix->by_id);
	hash_fini(&ix->by_uid);
	hash_fini(&ix->by_gid);
	hash_fini(&ix->neg_uid);
	hash_fini(&ix->by_name);
	hash_fini(&ix->by_sasl);
	hash_fini(&ix->by_domain);
	free(ix->ranges);
	for (c = ix->arena; c; c = next) {
		next = c->next;
		free(c);
	}
	memset(ix, 0, sizeof(*ix));
}

/* index_add - append n and index it by id and name */
static int
index_add(struct index *ix, struct node *n)
{
	uint32_t idx;

	if (ix->n == ix->cap) {
		size_t cap = ix->cap ? ix->cap * 2 : 1024;
		struct node **v = realloc(ix->v, cap * sizeof(*v));

		if (v == NULL)
			return -1;
		ix->v = v;
		ix->cap = cap;
	}
	if (ix->n >= UINT32_MAX - 1)
		return -1;
	idx = (uint32_t)ix->n + 1;
	ix->v[ix->n] = n;	/* counted once both maps have it */
	if (imap_put(&ix->by_id, (uint64_t)n->a.id, idx) == -1)
		return -1;
	if (name_put(ix, idx) == -1) {
		/* no entry may name a slot the caller leaves empty */
		imap_del(&ix->by_id, (uint64_t)n->a.id);
		return -1;
	}
	ix->n++;
	return 0;
}

/* node_of - the indexed account with id, or NULL */
static struct node *
node_of(const struct index *ix, int64_t id)
{
	uint32_t i = imap_get(&ix->by_id, (uint64_t)id);

	return i ? ix->v[i - 1] : NULL;
}

/*
 * set_limits - explicit rows, else the configured defaults.  Most
 * accounts (every auto account) have no rows and point at the config's
 * budgets; the others get one block of their own.  -1: out of memory.
 */
static int
set_limits(struct acct *a, const struct store_account *sa,
    const struct config *cfg)
{
	int	 k, n = 0, use[BK_COUNT];

	for (k = 0; k < BK_COUNT; k++) {
		a->lim[k] = &cfg->budget[k];
		/* the catch-all account is never unlimited, even if a
		 * damaged row says so */
		use[k] = sa != NULL && sa->has[k] && sa->budget[k].n > 0 &&
		    !(a->id == STORE_DEFAULT_ID &&
		    budget_is_unlimited(&sa->budget[k]));
		n += use[k];
	}
	if (n == 0)
		return 0;
	if ((a->own = calloc((size_t)n, sizeof(*a->own))) == NULL)
		return -1;
	for (k = 0, n = 0; k < BK_COUNT; k++) {
		if (!use[k])
			continue;
		a->own[n] = sa->budget[k];
		a->lim[k] = &a->own[n++];
	}
	return 0;
}

struct build {
	struct accts	*as;
	struct index	*ix;
};

static int
load_account(const struct store_account *sa, void *arg)
{
	struct build *b = arg;
	struct node *n;

	if (sa->name[0] == '\0')
		return 0;	/* bad name row: already warned by the store */
	if ((n = calloc(1, sizeof(*n))) == NULL)
		goto oom;
	n->owner = b->as;
	n->a.id = sa->id;
	memcpy(n->a.name, sa->name, sizeof(n->a.name));
	n->a.is_auto = sa->is_auto;
	n->a.mode = sa->mode;
	n->a.blocked = sa->blocked;
	n->a.use.account = sa->id;
	if (set_limits(&n->a, sa, b->as->cfg) == -1 ||
	    index_add(b->ix, n) == -1) {
		node_free(n);
		goto oom;
	}
	return 0;
oom:
	b->ix->failed = 1;
	return -1;
}

static int
load_uid(int64_t account, uint32_t lo, uint32_t hi, void *arg)
{
	struct build *b = arg;
	uint32_t idx = imap_get(&b->ix->by_id, (uint64_t)account);
	struct index *ix = b->ix;

	if (idx == 0)
		return 0;
	if (lo == hi) {
		if (imap_put(&ix->by_uid, lo, idx) == -1)
			goto oom;
		return 0;
	}
	if (ix->n_ranges == ix->cap_ranges) {
		size_t cap = ix->cap_ranges ? ix->cap_ranges * 2 : 64;
		struct range *r = realloc(ix->ranges, cap * sizeof(*r));

		if (r == NULL)
			goto oom;
		ix->ranges = r;
		ix->cap_ranges = cap;
	}
	/* rows arrive ordered by lo, so the array stays sorted */
	ix->ranges[ix->n_ranges++] = (struct range){ lo, hi, idx };
	return 0;
oom:
	ix->failed = 1;
	return -1;
}

static int
load_gid(int64_t account, uint32_t gid, void *arg)
{
	struct build *b = arg;
	uint32_t idx = imap_get(&b->ix->by_id, (uint64_t)account);

	if (idx && imap_put(&b->ix->by_gid, gid, idx) == -1) {
		b->ix->failed = 1;
		return -1;
	}
	return 0;
}

/* load_str - one SASL user or domain into map */
static int
load_str(struct build *b, struct hash *map, int64_t account, const char *s)
{
	uint32_t idx = imap_get(&b->ix->by_id, (uint64_t)account);
	const char *k;

	if (idx == 0)
		return 0;
	if ((k = arena_dup(b->ix, s)) == NULL || smap_put(map, k, idx) == -1) {
		b->ix->failed = 1;
		return -1;
	}
	return 0;
}

static int
load_sasl(int64_t account, const char *user, void *arg)
{
	struct build *b = arg;

	return load_str(b, &b->ix->by_sasl, account, user);
}

static int
load_domain(int64_t account, const char *dom, void *arg)
{
	struct build *b = arg;

	return load_str(b, &b->ix->by_domain, account, dom);
}

static int
load_relay(int64_t account, const char *host, uint16_t port, void *arg)
{
	struct build *b = arg;
	struct node *n = node_of(b->ix, account);
	struct relay *r;

	if (n == NULL)
		return 0;
	/* few relays per account: grow one at a time */
	r = realloc(n->a.relays, (n->a.n_relays + 1) * sizeof(*r));
	if (r == NULL) {
		b->ix->failed = 1;
		return -1;
	}
	n->a.relays = r;
	r += n->a.n_relays++;
	memset(r, 0, sizeof(*r));
	snprintf(r->host, sizeof(r->host), "%s", host);
	r->port = port;
	return 0;
}

static int
load_usage(const struct store_usage *u, void *arg)
{
	struct build *b = arg;
	struct node *n = node_of(b->ix, u->account);

	if (n)
		n->a.use = *u;
	return 0;
}

/* index_init - empty tables, as large as the last index's when there is
 * one: a rebuild then never grows them, and touches half the memory */
static int
index_init(struct index *ix, const struct index *last)
{
#define LAST(m)	(last != NULL ? hash_count(&last->m) : 0)
	return hash_init(&ix->by_id, sizeof(struct ient), LAST(by_id)) |
	    hash_init(&ix->by_uid, sizeof(struct ient), LAST(by_uid)) |
	    hash_init(&ix->by_gid, sizeof(struct ient), LAST(by_gid)) |
	    hash_init(&ix->neg_uid, sizeof(struct ient), 0) |
	    hash_init(&ix->by_name, sizeof(struct nent), LAST(by_name)) |
	    hash_init(&ix->by_sasl, sizeof(struct sent), LAST(by_sasl)) |
	    hash_init(&ix->by_domain, sizeof(struct sent), LAST(by_domain));
#undef LAST
}

/* build - a complete index from one snapshot of the store, its tables
 * sized after last when there is one */
static int
build(struct accts *as, struct index *ix, const struct index *last)
{
	struct build b = { as, ix };
	int own = !store_in_transaction(as->st);

	memset(ix, 0, sizeof(*ix));
	if (index_init(ix, last) != 0) {
		log_warnx("loading accounts: out of memory");
		index_free(ix, 1);
		return -1;
	}
	if (own && store_begin_read(as->st) == -1)
		goto fail;
	if (store_account_each(as->st, load_account, &b) != 0 ||
	    store_uid_each(as->st, load_uid, &b) != 0 ||
	    store_gid_each(as->st, load_gid, &b) != 0 ||
	    store_sasl_each(as->st, load_sasl, &b) != 0 ||
	    store_domain_each(as->st, load_domain, &b) != 0 ||
	    store_relay_each(as->st, load_relay, &b) != 0 ||
	    store_usage_each(as->st, load_usage, &b) != 0)
		goto fail;
	if (own && store_commit(as->st) == -1)
		goto fail;
	if (node_of(ix, STORE_DEFAULT_ID) == NULL) {
		log_warnx("the default account is missing from the database");
		index_free(ix, 1);
		return -1;
	}
	return 0;
fail:
	if (ix->failed)
		log_warnx("loading accounts: out of memory");
	else
		log_warnx("loading accounts: %s", store_error(as->st));
	if (own)
		store_rollback(as->st);
	index_free(ix, 1);
	return -1;
}

/* acct_load - build the view; NULL with a logged reason on failure */
struct accts *
acct_load(struct store *st, const struct config *cfg)
{
	struct accts *as;

	if ((as = calloc(1, sizeof(*as))) == NULL ||
	    hash_init(&as->memo, sizeof(struct ient), 0) == -1) {
		log_warn("acct_load");
		free(as);
		return NULL;
	}
	as->st = st;
	as->cfg = cfg;
	as->gen = 1;
	store_changed(st);	/* the baseline for acct_reload */
	if (build(as, &as->ix, NULL) == -1) {
		hash_fini(&as->memo);
		free(as);
		return NULL;
	}
	as->dflt = node_of(&as->ix, STORE_DEFAULT_ID);
	return as;
}

/* acct_free - every account object, including dead ones */
void
acct_free(struct accts *as)
{
	size_t i;

	if (as == NULL)
		return;
	index_free(&as->ix, 1);
	for (i = 0; i < as->dead.n; i++)
		node_free(as->dead.v[i]);
	free(as->dead.v);
	free(as->dirty.v);
	free(as->flushed.v);
	hash_fini(&as->memo);
	free(as);
}

/* budgets_differ - would a charge see other limits under b than under a */
static int
budgets_differ(const struct acct *a, const struct acct *b)
{
	const struct budget *x, *y;
	unsigned k, i;

	for (k = 0; k < BK_COUNT; k++) {
		x = a->lim[k];
		y = b->lim[k];
		if (x == y)
			continue;
		if (x == NULL || y == NULL || x->n != y->n)
			return 1;
		for (i = 0; i < x->n && i < BUDGET_WINDOWS_MAX; i++)
			if (x->w[i].limit != y->w[i].limit ||
			    x->w[i].period_us != y->w[i].period_us ||
			    x->w[i].burst != y->w[i].burst)
				return 1;
	}
	return 0;
}

/*
 * acct_reload - rebuild from the store when another process committed.
 * Accounts that survive keep their object (pointers stay valid) and their
 * live state: its in-memory usage, which is never older than the row,
 * unless mailgovctl reset it (or an account took an auto account over) and
 * the row's epoch moved on.  Configuration (name, mode, budgets, relays)
 * comes from the store.
 */
int
acct_reload(struct accts *as)
{
	struct index nx;
	struct node *n, *o;
	size_t i;

	if (!store_changed(as->st))
		return 0;
	if (build(as, &nx, &as->ix) == -1)
		return -1;
	as->gen++;
	for (i = 0; i < nx.n; i++) {
		n = nx.v[i];
		if ((o = node_of(&as->ix, n->a.id)) == NULL) {
			n->gen = as->gen;
			n->a.changed = as->gen;
			continue;
		}
		/* what waits for the budget (held mail) looks again */
		if (o->a.blocked != n->a.blocked || budgets_differ(&o->a,
		    &n->a) || o->a.use.epoch != n->a.use.epoch)
			o->a.changed = as->gen;
		memcpy(o->a.name, n->a.name, sizeof(o->a.name));
		o->a.is_auto = n->a.is_auto;
		o->a.mode = n->a.mode;
		o->a.blocked = n->a.blocked;
		/* the block moves, so n's pointers into it stay good */
		memcpy(o->a.lim, n->a.lim, sizeof(o->a.lim));
		free(o->a.own);
		o->a.own = n->a.own;
		n->a.own = NULL;
		free(o->a.relays);
		o->a.relays = n->a.relays;
		o->a.n_relays = n->a.n_relays;
		n->a.relays = NULL;
		/*
		 * Only a reset (or a takeover) moves the row to a new
		 * epoch, and it wins over charges not yet written: their
		 * batch will find the row moved on.  Otherwise memory is
		 * never older than the row (mailgovd is its only writer),
		 * and with the redo log it is newer.
		 */
		if (o->a.use.epoch != n->a.use.epoch)
			o->a.use = n->a.use;
		o->gen = as->gen;
		nx.v[i] = o;
		node_free(n);
	}
	/* whatever the new index did not claim was deleted */
	for (i = 0; i < as->ix.n; i++) {
		o = as->ix.v[i];
		if (o->gen == as->gen)
			continue;
		o->dead = 1;
		if (list_push(&as->dead, o) == -1) {
			/* XXX cannot keep it: leak it rather than dangle */
			log_warnx("acct_reload: out of memory");
		}
	}
	index_free(&as->ix, 0);
	as->ix = nx;
	as->dflt = node_of(&as->ix, STORE_DEFAULT_ID);
	log_debug("accounts reloaded: %zu", as->ix.n);
	return 0;
}

/* acct_generation - the number of the latest rebuild */
unsigned
acct_generation(const struct accts *as)
{
	return as->gen;
}

/* --- lookups ----------------------------------------------------------- */

struct acct *
acct_default(struct accts *as)
{
	return &as->dflt->a;
}

struct acct *
acct_by_id(struct accts *as, int64_t id)
{
	struct node *n = node_of(&as->ix, id);

	return n ? &n->a : NULL;
}

/* at - the account behind a map value, or NULL */
static struct acct *
at(struct accts *as, uint32_t idx)
{
	return idx ? &as->ix.v[idx - 1]->a : NULL;
}

struct acct *
acct_by_name(struct accts *as, const char *name)
{
	return name ? at(as, name_get(&as->ix, name)) : NULL;
}

struct acct *
acct_by_sasl(struct accts *as, const char *user)
{
	return user ? at(as, smap_get(&as->ix.by_sasl, user)) : NULL;
}

/* acct_by_domain - exact match, case-insensitive (stored lowercased) */
struct acct *
acct_by_domain(struct accts *as, const char *dom)
{
	char buf[256];
	size_t i;

	if (dom == NULL)
		return NULL;
	for (i = 0; dom[i] != '\0'; i++) {
		if (i >= sizeof(buf) - 1)
			return NULL;
		buf[i] = (char)tolower((unsigned char)dom[i]);
	}
	buf[i] = '\0';
	return at(as, smap_get(&as->ix.by_domain, buf));
}

/* uid_range - the range holding uid, by bisection over sorted ranges */
static uint32_t
uid_range(const struct index *ix, uint32_t uid)
{
	size_t lo = 0, hi = ix->n_ranges, mid;

	/* find the last range with lo <= uid */
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (ix->ranges[mid].lo <= uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0 || ix->ranges[lo - 1].hi < uid)
		return 0;
	return ix->ranges[lo - 1].idx;
}

/* is_web_gid - is gid one of the configured web groups */
static int
is_web_gid(const struct config *cfg, uint32_t gid)
{
	size_t i;

	for (i = 0; i < cfg->n_web_gids; i++)
		if (cfg->web_gids[i] == gid)
			return 1;
	return 0;
}

/* acct_is_web - see acct.h */
int
acct_is_web(struct accts *as, uint32_t uid, uint32_t gid)
{
	uint32_t v, now;
	int	 yes;

	if (config_is_web_uid(as->cfg, uid) || (gid != UINT32_MAX &&
	    is_web_gid(as->cfg, gid)))
		return 1;
	if (as->cfg->n_web_gids == 0 || uid == UINT32_MAX)
		return 0;
	/* a passwd and group lookup per SYN or socket would be too slow:
	 * count_live asks about every SMTP socket on the host */
	now = (uint32_t)clock_mono_s();
	if ((v = imap_get(&as->memo, uid)) != 0 && (v >> 1) > now)
		return (int)(v & 1);
	yes = config_in_web_group(as->cfg, uid);
	if (hash_count(&as->memo) >= MEMO_MAX)
		hash_clear(&as->memo);
	/* out of memory: asked again next time */
	(void)imap_put(&as->memo, uid, ((now + MEMO_TTL) << 1) |
	    (uint32_t)yes);
	return yes;
}

/*
 * auto_account - the account for a web UID nobody owns: named after its
 * login, or "uid<N>" when the login is not a valid account name or the
 * name is taken.  No passwd entry means the default account (remembered
 * in neg_uid, where acct_find_uid sees it, so an unknown UID costs one
 * passwd lookup per rebuild, not per packet).
 */
static struct acct *
auto_account(struct accts *as, uint32_t uid)
{
	struct passwd *pw;
	struct node *n;
	char name[STORE_NAMELEN], alt[STORE_NAMELEN];
	const char *use;
	int64_t id;

	snprintf(alt, sizeof(alt), "uid%u", uid);
	if ((pw = getpwuid(uid)) == NULL) {
		log_debug("uid %u has no passwd entry: default account", uid);
		if (hash_count(&as->ix.neg_uid) < NEG_MAX)
			imap_put(&as->ix.neg_uid, uid, 1);
		return &as->dflt->a;
	}
	use = alt;
	if (store_account_name_ok(pw->pw_name) &&
	    acct_by_name(as, pw->pw_name) == NULL) {
		snprintf(name, sizeof(name), "%s", pw->pw_name);
		use = name;
	}
	if (store_account_add_auto(as->st, use, uid, &id) == -1) {
		/* the name may be taken by an account our index has not
		 * seen yet; the fallback name is ours by construction */
		if (use == alt || store_account_add_auto(as->st, alt, uid,
		    &id) == -1) {
			log_warnx("uid %u: cannot create its account: %s", uid,
			    store_error(as->st));
			return &as->dflt->a;
		}
		use = alt;
	}
	if ((n = calloc(1, sizeof(*n))) == NULL)
		goto oom;
	n->owner = as;
	n->gen = as->gen;
	n->a.id = id;
	snprintf(n->a.name, sizeof(n->a.name), "%s", use);
	n->a.is_auto = 1;
	n->a.mode = MODE_PATH;
	n->a.use.account = id;
	(void)set_limits(&n->a, NULL, as->cfg);	/* no rows: no memory */
	if (index_add(&as->ix, n) == -1) {
		free(n);
		goto oom;
	}
	if (imap_put(&as->ix.by_uid, uid, (uint32_t)as->ix.n) == -1)
		goto oom;
	log_info("uid %u: new auto account %s", uid, n->a.name);
	return &n->a;
oom:
	/* the account exists in the store; the next rebuild indexes it */
	log_warnx("uid %u: out of memory indexing its account", uid);
	return &as->dflt->a;
}

/* acct_find_uid - explicit uid, explicit gid, adopted before, or NULL */
struct acct *
acct_find_uid(struct accts *as, uint32_t uid, uint32_t gid)
{
	uint32_t idx;

	if ((idx = imap_get(&as->ix.by_uid, uid)) != 0 ||
	    (idx = uid_range(&as->ix, uid)) != 0 ||
	    (idx = imap_get(&as->ix.by_gid, gid)) != 0)
		return at(as, idx);
	if (imap_get(&as->ix.neg_uid, uid))
		return &as->dflt->a;
	return NULL;
}

/* acct_adopt_uid - found, else a web user's auto account, else default */
struct acct *
acct_adopt_uid(struct accts *as, uint32_t uid, uint32_t gid)
{
	struct acct *a;

	if ((a = acct_find_uid(as, uid, gid)) != NULL)
		return a;
	if (uid != UINT32_MAX && acct_is_web(as, uid, gid))
		return auto_account(as, uid);
	return &as->dflt->a;
}

/* acct_is_exempt - addr:port is an exempt relay (relay port 0: any) */
int
acct_is_exempt(const struct acct *a, const char *addr, uint16_t port)
{
	unsigned char bin[sizeof(struct in6_addr)];
	char norm[64];
	unsigned i;

	if (a == NULL || addr == NULL || a->n_relays == 0)
		return 0;
	/* compare canonical forms, as the store keeps them */
	if (inet_pton(AF_INET, addr, bin) == 1)
		inet_ntop(AF_INET, bin, norm, sizeof(norm));
	else if (inet_pton(AF_INET6, addr, bin) == 1)
		inet_ntop(AF_INET6, bin, norm, sizeof(norm));
	else
		return 0;
	for (i = 0; i < a->n_relays; i++)
		if ((a->relays[i].port == 0 || a->relays[i].port == port) &&
		    strcmp(a->relays[i].host, norm) == 0)
			return 1;
	return 0;
}

/* --- charging ---------------------------------------------------------- */

/* mark_dirty - remember a for the next flush */
static void
mark_dirty(struct acct *a)
{
	struct node *n = NODE(a);

	if (a->dirty == 0)
		a->dirty = 1;
	if (n->queued || n->dead)
		return;
	if (list_push(&n->owner->dirty, n) == 0)
		n->queued = 1;
	else
		log_warnx("account %s: out of memory queueing its usage",
		    a->name);
}

/* acct_touch - the committer must write a's usage */
void
acct_touch(struct acct *a)
{
	mark_dirty(a);
}

/* acct_set_recent - where acct_note records (see acct.h) */
void
acct_set_recent(struct accts *as, struct recent *r)
{
	as->recent = r;
}

/* acct_note - one more minute-bucket count; the monotonic clock, since
 * the rings live in memory only */
void
acct_note(struct acct *a, enum recent_kind kind, uint32_t n)
{
	struct node *nd = NODE(a);

	if (nd->owner->recent != NULL)
		recent_add(nd->owner->recent, a->id, kind, n,
		    clock_mono_s() / 60);
}

/* acct_count_* - one counter each, never without marking a dirty */
void
acct_count_connection(struct acct *a)
{
	a->use.connections++;
	mark_dirty(a);
}

void
acct_count_refused(struct acct *a)
{
	a->use.refused++;
	mark_dirty(a);
}

void
acct_count_held(struct acct *a, uint64_t n)
{
	a->use.held += n;
	mark_dirty(a);
}

void
acct_count_released(struct acct *a)
{
	a->use.released++;
	mark_dirty(a);
}

void
acct_count_message(struct acct *a, uint64_t rcpts, uint64_t size)
{
	a->use.messages++;
	a->use.recipients += rcpts;
	a->use.bytes = num_add_counter(a->use.bytes, size);
	mark_dirty(a);
}

void
acct_count_seen(struct acct *a, int64_t secs)
{
	a->use.last_seen = secs;
	mark_dirty(a);
}

/* acct_windows - the windows of kind k in force for a (acct.h) */
unsigned
acct_windows(const struct acct *a, enum budget_kind k,
    const struct budget_limit **w)
{
	if ((unsigned)k >= BK_COUNT) {
		*w = NULL;
		return 0;
	}
	*w = a->lim[k]->w;
	return a->lim[k]->n;
}

/*
 * peek - may cost go on every window of rate k at now?  On BUDGET_OVER,
 * *retry_at is when the window that clears last lets it through.  Only
 * the windows in use are asked; most kinds have one.
 */
static enum budget_verdict
peek(const struct acct *a, enum budget_kind k, uint64_t cost, uint64_t now,
    uint64_t *retry_at)
{
	const struct budget *b = a->lim[k];
	enum budget_verdict v = BUDGET_OK;
	uint64_t at, worst = 0;
	unsigned i;

	for (i = 0; i < b->n; i++) {
		at = 0;
		if (budget_peek(&b->w[i], a->use.tat[k][i], now, cost, &at) ==
		    BUDGET_OK)
			continue;
		if (at > worst)
			worst = at;
		v = BUDGET_OVER;
	}
	if (v == BUDGET_OVER && retry_at != NULL)
		*retry_at = worst;
	return v;
}

/* spend - charge every window of rate k that peek() just allowed */
static void
spend(struct acct *a, enum budget_kind k, uint64_t cost, uint64_t now)
{
	const struct budget *b = a->lim[k];
	unsigned i;

	/* peek said yes with the same state and clock */
	for (i = 0; i < b->n; i++)
		if (budget_charge(&b->w[i], &a->use.tat[k][i], now, cost,
		    NULL) != BUDGET_OK)
			panic("budget_charge refused what budget_peek "
			    "allowed");
}

/* acct_charge - spend cost on kind at now, or say when it could pass */
enum budget_verdict
acct_charge(struct acct *a, enum budget_kind k, uint64_t cost, uint64_t now,
    uint64_t *retry_at)
{
	const struct budget_limit *l;

	if ((int)k < 0 || k >= BK_COUNT)
		return BUDGET_OVER;
	if (budget_kind_is_cap(k)) {
		l = &a->lim[k]->w[0];
		if (l->limit == BUDGET_UNLIMITED || cost <= l->limit)
			return BUDGET_OK;
		/* a cap does not refill with time */
		if (retry_at)
			*retry_at = UINT64_MAX;
		return BUDGET_OVER;
	}
	if (budget_is_unlimited(a->lim[k]))
		return BUDGET_OK;
	/* one window, the usual case (new_connections on every SYN): one
	 * GCRA step, as before kinds had windows */
	if (a->lim[k]->n == 1) {
		if (budget_charge(&a->lim[k]->w[0], &a->use.tat[k][0], now,
		    cost, retry_at) != BUDGET_OK)
			return BUDGET_OVER;
	} else {
		if (peek(a, k, cost, now, retry_at) != BUDGET_OK)
			return BUDGET_OVER;
		spend(a, k, cost, now);
	}
	mark_dirty(a);
	return BUDGET_OK;
}

/* acct_refund - give cost back to every window of rate k */
void
acct_refund(struct acct *a, enum budget_kind k, uint64_t cost)
{
	const struct budget *b;
	unsigned i;

	if ((int)k < 0 || k >= BK_RATES)
		return;
	b = a->lim[k];
	for (i = 0; i < b->n; i++)
		budget_refund(&b->w[i], &a->use.tat[k][i], cost);
	mark_dirty(a);
}

/*
 * acct_charge_message - all or nothing across every messages and
 * recipients window: every window is asked first, and only when all
 * agree is each charged.  On refusal *which is the kind whose window
 * clears last and *retry_at when.
 */
enum budget_verdict
acct_charge_message(struct acct *a, uint32_t rcpts, uint64_t now,
    enum budget_kind *which, uint64_t *retry_at)
{
	uint64_t at_m = 0, at_r = 0;
	enum budget_verdict vm, vr;

	vm = peek(a, BK_MESSAGES, 1, now, &at_m);
	vr = peek(a, BK_RECIPIENTS, rcpts, now, &at_r);
	if (vm == BUDGET_OVER || vr == BUDGET_OVER) {
		if (which)
			*which = vr == BUDGET_OVER && (vm == BUDGET_OK ||
			    at_r > at_m) ? BK_RECIPIENTS : BK_MESSAGES;
		if (retry_at)
			*retry_at = at_m > at_r ? at_m : at_r;
		return BUDGET_OVER;
	}
	spend(a, BK_MESSAGES, 1, now);
	spend(a, BK_RECIPIENTS, rcpts, now);
	if (!budget_is_unlimited(a->lim[BK_MESSAGES]) ||
	    !budget_is_unlimited(a->lim[BK_RECIPIENTS]))
		mark_dirty(a);
	return BUDGET_OK;
}

/* --- writing back ------------------------------------------------------ */

/* adopt_stored - a write found n's row reset (a newer epoch): take the
 * stored usage, unless a reload took it already (and n has been charged
 * on top since) */
static int
adopt_stored(struct store *st, struct node *n)
{
	struct store_usage u;

	if (store_usage_get(st, n->a.id, &u) == -1) {
		log_warnx("reading usage of %s after a reset: %s", n->a.name,
		    store_error(st));
		return -1;
	}
	if (u.epoch != n->a.use.epoch) {
		n->a.use = u;
		log_debug("account %s: reset taken over", n->a.name);
	}
	n->a.dirty = 0;
	return 0;
}

/*
 * acct_flush - write every dirty account's usage.  In the caller's
 * transaction (the daemon's group commit) a written account is clean at
 * once; if that transaction then fails to commit, acct_unflush() puts the
 * accounts back.  Without one, acct_flush opens and commits its own and
 * only a successful commit cleans anything.
 */
int
acct_flush(struct accts *as)
{
	struct store *st = as->st;
	struct store_account tmp;
	struct node *n;
	size_t i, keep = 0;
	int own = !store_in_transaction(st), rc = 0, put;

	as->flushed.n = 0;
	if (as->dirty.n == 0 || as->single)
		return 0;
	if (own && store_begin(st) == -1) {
		log_warnx("flushing usage: %s", store_error(st));
		return -1;
	}
	for (i = 0; i < as->dirty.n; i++) {
		n = as->dirty.v[i];
		if (n->dead || !n->a.dirty) {
			n->queued = 0;
			continue;
		}
		if (rc == 0) {
			n->a.use.account = n->a.id;
			if ((put = store_usage_put(st, &n->a.use)) == 1 &&
			    adopt_stored(st, n) == 0) {
				n->queued = 0;
				continue;
			}
			if (put == 0) {
				if (list_push(&as->flushed, n) == 0) {
					n->queued = 0;
					continue;
				}
				/* cannot track it for acct_unflush: keep it
				 * dirty, a second write is harmless */
				as->dirty.v[keep++] = n;
				continue;
			}
			/* deleted by mailgovctl since the last rebuild:
			 * nothing to write to; the rebuild unhooks it */
			if (store_account_get_id(st, n->a.id, &tmp) == -1 &&
			    strncmp(store_error(st), "unknown account", 15)
			    == 0) {
				n->a.dirty = 0;
				n->queued = 0;
				continue;
			}
			log_warnx("flushing usage of %s: %s", n->a.name,
			    store_error(st));
			rc = -1;
		}
		as->dirty.v[keep++] = n;
	}
	as->dirty.n = keep;
	if (own) {
		if (rc == 0 && store_commit(st) == -1) {
			log_warnx("flushing usage: %s", store_error(st));
			rc = -1;
		}
		if (rc == -1) {
			store_rollback(st);
			acct_unflush(as);
			return -1;
		}
	}
	for (i = 0; i < as->flushed.n; i++)
		as->flushed.v[i]->a.dirty = 0;
	return rc;
}

/* acct_unflush - the last flush did not reach the disk: dirty again */
void
acct_unflush(struct accts *as)
{
	size_t i;

	for (i = 0; i < as->flushed.n; i++) {
		struct node *n = as->flushed.v[i];

		n->a.dirty = 1;
		if (!n->queued && !n->dead) {
			if (list_push(&as->dirty, n) == 0)
				n->queued = 1;
		}
	}
	as->flushed.n = 0;
}

/* acct_single_writer - the committer owns usage writes from now on */
void
acct_single_writer(struct accts *as)
{
	as->single = 1;
}

/* acct_collect - hand the accounts charged since the last collection to
 * put; the ones it could not take stay queued for the next */
void
acct_collect(struct accts *as, uint64_t seq,
    int (*put)(struct acct *, void *), void *arg)
{
	struct node *n;
	size_t i, keep = 0;

	for (i = 0; i < as->dirty.n; i++) {
		n = as->dirty.v[i];
		if (n->dead) {
			n->queued = 0;
			continue;
		}
		n->a.use.account = n->a.id;
		if (put(&n->a, arg) == -1) {
			as->dirty.v[keep++] = n;
			continue;
		}
		n->a.dirty = seq;
		n->queued = 0;
	}
	as->dirty.n = keep;
}

/* acct_committed - clean unless charged (queued) or copied into a later
 * batch since */
void
acct_committed(struct accts *as, int64_t id, uint64_t seq)
{
	struct node *n = node_of(&as->ix, id);

	if (n != NULL && !n->queued && n->a.dirty == seq)
		n->a.dirty = 0;
}

/* acct_stale - batch seq's row of id was refused: mailgovctl reset the
 * account since.  The reset wins; a copy in a later batch, or charges
 * queued since, are written (or refused) in their turn. */
void
acct_stale(struct accts *as, int64_t id, uint64_t seq)
{
	struct node *n = node_of(&as->ix, id);
	uint64_t dirty;

	if (n == NULL)
		return;
	dirty = n->a.dirty;
	if (adopt_stored(as->st, n) == -1) {
		mark_dirty(&n->a);	/* the next write tries again */
		return;
	}
	if (n->queued || dirty != seq)
		n->a.dirty = dirty;
}

size_t
acct_count(struct accts *as)
{
	return as->ix.n;
}

struct store *
acct_store(struct accts *as)
{
	return as->st;
}

const struct config *
acct_config(struct accts *as)
{
	return as->cfg;
}

/* acct_each - every indexed account, in id order */
int
acct_each(struct accts *as, int (*cb)(struct acct *, void *), void *arg)
{
	size_t i;
	int rc;

	for (i = 0; i < as->ix.n; i++)
		if ((rc = cb(&as->ix.v[i]->a, arg)) != 0)
			return rc;
	return 0;
}
