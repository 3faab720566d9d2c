/*
 * ctl_usage - what accounts have done and may still do: "usage" (counters
 * and the budget left now), "reset" (forget engine state, and counters
 * with --all), "block"/"unblock", and "events" (the event log).  With
 * budget_store = redis, usage also shows what the account may still
 * spend cluster-wide, read from Redis (peek.h).
 *
 * Trusts: nothing on the command line.  Counters and strings come from
 * the store, which range-checks them; strings are still escaped or cleaned
 * before they are printed.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "ctl.h"
#include "num.h"
#include "peek.h"

#define EVENTS_DEFAULT	50
#define EVENTS_MAX	1000000

/* Accounts by id, for joining usage rows and events to names. */
struct accts_v {
	struct store_account	*a;
	size_t			 n;
	int64_t			 only;	/* one account id, or -1 */
};

static int
collect_account(const struct store_account *a, void *arg)
{
	struct accts_v *v = arg;

	if (v->only >= 0 && a->id != v->only)
		return 0;
	v->a = ctl_xreallocarray(v->a, v->n + 1, sizeof(*v->a));
	v->a[v->n++] = *a;
	return 0;
}

static int
acct_cmp_id(const void *x, const void *y)
{
	const struct store_account *a = x, *b = y;

	return a->id < b->id ? -1 : a->id > b->id;
}

static int
acct_cmp_name(const void *x, const void *y)
{
	const struct store_account *a = x, *b = y;

	return strcmp(a->name, b->name);
}

/* find_account - the collected account with id, or NULL */
static const struct store_account *
find_account(const struct accts_v *v, int64_t id)
{
	struct store_account key;

	key.id = id;
	/* no accounts: a NULL array, which bsearch may not be given */
	if (v->n == 0)
		return NULL;
	return bsearch(&key, v->a, v->n, sizeof(*v->a), acct_cmp_id);
}

/* Usage rows, sorted by account id. */
struct usage_v {
	struct store_usage	*u;
	size_t			 n;
};

static int
collect_usage(const struct store_usage *u, void *arg)
{
	struct usage_v *v = arg;

	v->u = ctl_xreallocarray(v->u, v->n + 1, sizeof(*v->u));
	v->u[v->n++] = *u;
	return 0;
}

static int
usage_cmp(const void *x, const void *y)
{
	const struct store_usage *a = x, *b = y;

	return a->account < b->account ? -1 : a->account > b->account;
}

/* one_account - resolve the optional NAME argument to its id */
static int
one_account(struct ctl *ctl, const char *name, int64_t *id)
{
	struct store_account a;

	*id = -1;
	if (name == NULL)
		return 0;
	if (store_account_get(ctl->store, name, &a) == -1)
		return -1;
	*id = a.id;
	return 0;
}

/* remaining - what window win of kind could take now, or -1 when the
 * question does not apply (a cap, or no limit at all) */
static int
remaining(const struct budget_limit *l, int kind, unsigned win,
    const struct store_usage *u, uint64_t now, uint64_t *out)
{
	if (budget_kind_is_cap(kind) || l->limit == BUDGET_UNLIMITED ||
	    kind >= BK_RATES || win >= BUDGET_WINDOWS_MAX)
		return -1;
	*out = budget_remaining(l, u->tat[kind][win], now);
	return 0;
}

/* shared_remaining - the cluster-wide figures of a, into rem (all
 * UINT64_MAX when there are none: local budgets, or Redis not read) */
static void
shared_remaining(struct ctl *ctl, struct peek *pk,
    const struct store_account *a,
    uint64_t rem[BK_COUNT][BUDGET_WINDOWS_MAX])
{
	const struct budget *lim[BK_COUNT];
	char	 err[256];
	int	 k;
	unsigned w;

	for (k = 0; k < BK_COUNT; k++) {
		for (w = 0; w < BUDGET_WINDOWS_MAX; w++)
			rem[k][w] = UINT64_MAX;
		lim[k] = ctl_budget_of(ctl, a, k);
	}
	if (pk != NULL && peek_remaining(pk, a->name, lim, rem, err,
	    sizeof(err)) == -1)
		fprintf(stderr, "mailgovctl: %s\n", err);
}

struct left {
	const struct store_usage *u;
	uint64_t	 now;
	uint64_t	(*rem)[BUDGET_WINDOWS_MAX];	/* NULL: local */
};

/* left_json - close a window object with what it has left, here and,
 * with budget_store = redis, cluster-wide */
static void
left_json(FILE *fp, int kind, unsigned win, const struct budget_limit *l,
    void *arg)
{
	const struct left *lf = arg;
	uint64_t r;

	if (remaining(l, kind, win, lf->u, lf->now, &r) == 0)
		fprintf(fp, ",\"remaining\":%llu", (unsigned long long)r);
	else
		fputs(",\"remaining\":null", fp);
	if (lf->rem != NULL && kind < BK_COUNT && win < BUDGET_WINDOWS_MAX &&
	    lf->rem[kind][win] != UINT64_MAX)
		fprintf(fp, ",\"cluster_remaining\":%llu",
		    (unsigned long long)lf->rem[kind][win]);
	else if (lf->rem != NULL)
		fputs(",\"cluster_remaining\":null", fp);
	fputc('}', fp);
}

/* usage_json - one account's usage object; rem: the cluster's, if any */
static void
usage_json(FILE *fp, const struct ctl *ctl, const struct store_account *a,
    const struct store_usage *u, uint64_t now,
    uint64_t (*rem)[BUDGET_WINDOWS_MAX])
{
	struct left lf = { u, now, rem };
	int	 k;

	fputs("{\"name\":", fp);
	ctl_json_str(fp, a->name);
	fprintf(fp, ",\"messages\":%llu,\"recipients\":%llu,\"bytes\":%llu,"
	    "\"held\":%llu,\"released\":%llu,\"refused\":%llu,"
	    "\"connections\":%llu,\"last_seen\":%lld,\"blocked\":%s,"
	    "\"budgets\":{",
	    (unsigned long long)u->messages, (unsigned long long)u->recipients,
	    (unsigned long long)u->bytes, (unsigned long long)u->held,
	    (unsigned long long)u->released, (unsigned long long)u->refused,
	    (unsigned long long)u->connections, (long long)u->last_seen,
	    a->blocked ? "true" : "false");
	for (k = 0; k < BK_COUNT; k++) {
		fprintf(fp, "%s\"%s\":", k ? "," : "", budget_kind_name(k));
		ctl_kind_json(fp, ctl_budget_of(ctl, a, k), k,
		    a->has[k] ? "account" : "default", left_json, &lf);
		fputc('}', fp);
	}
	fputs("}}", fp);
}

/* scripts_out - where script rows go */
struct scripts_out {
	struct ctl		*ctl;
	struct ctl_table	*t;
	unsigned		 n;
};

/* each_script - one row of usage --scripts */
static int
each_script(const char *script, uint64_t n, int64_t last, void *arg)
{
	struct scripts_out *so = arg;
	char	 nbuf[32], tbuf[64], sbuf[ORIGIN_MAX * 4];

	if (so->ctl->json) {
		printf("%s\n  {\"script\": ", so->n++ ? "," : "");
		ctl_json_str(stdout, script);
		printf(", \"messages\": %" PRIu64 ", \"last\": %" PRId64 "}",
		    n, last);
		return 0;
	}
	snprintf(nbuf, sizeof(nbuf), "%" PRIu64, n);
	ctl_table_row(so->t, ctl_clean(script, sbuf, sizeof(sbuf)), nbuf,
	    ctl_time(last, tbuf, sizeof(tbuf)));
	return 0;
}

/*
 * usage_scripts - usage ACCOUNT --scripts: the account's messages per
 * script, most first.  The names are what mailgov-sendmail's callers
 * said (PHP's header, else the executable): claims, for finding the
 * hacked script, not for attribution.
 */
static int
usage_scripts(struct ctl *ctl, const char *name)
{
	struct store_account a;
	struct scripts_out so;

	if (ctl_store_read(ctl) == NULL)
		return CTL_ERR;
	if (store_account_get(ctl->store, name, &a) == -1)
		return ctl_fail(ctl, 0);
	memset(&so, 0, sizeof(so));
	so.ctl = ctl;
	if (ctl->json)
		printf("{\"account\": ");
	if (ctl->json) {
		ctl_json_str(stdout, a.name);
		printf(", \"scripts\": [");
	} else
		so.t = ctl_table_new(3, "SCRIPT", "MESSAGES", "LAST");
	if (store_script_each(ctl->store, a.id, 0, each_script, &so) < 0) {
		if (so.t != NULL)
			ctl_table_free(so.t);
		return ctl_fail(ctl, 0);
	}
	if (ctl->json)
		printf("%s]}\n", so.n ? "\n" : "");
	else
		ctl_table_print(so.t, stdout);
	return CTL_OK;
}

/* ctl_usage - counters and budget left, per account */
int
ctl_usage(struct ctl *ctl, int argc, char **argv)
{
	struct accts_v av = { NULL, 0, -1 };
	struct usage_v uv = { NULL, 0 };
	struct store_usage zero, *u, key;
	struct ctl_table *t1, *t2;
	struct peek	*pk = NULL;
	uint64_t rem[BK_COUNT][BUDGET_WINDOWS_MAX];
	char	 c[9][32], perr[256], tbuf[64], lbuf[64], nbuf[STORE_NAMELEN * 4 + 4];
	uint64_t now, r;
	size_t	 i;
	unsigned w;
	int	 k, rc = CTL_ERR;

	if (argc == 3 && strcmp(argv[2], "--scripts") == 0 &&
	    argv[1][0] != '-')
		return usage_scripts(ctl, argv[1]);
	if (argc >= 2 && strcmp(argv[argc - 1], "--scripts") == 0)
		return ctl_usage_err("usage", "usage: --scripts needs one "
		    "account name: usage ACCOUNT --scripts");
	if (argc > 2)
		return ctl_usage_err("usage", "usage: at most one account "
		    "name");
	if (ctl_store_read(ctl) == NULL)
		return CTL_ERR;
	if (one_account(ctl, argc == 2 ? argv[1] : NULL, &av.only) == -1)
		return ctl_fail(ctl, 0);
	if (store_account_each(ctl->store, collect_account, &av) < 0 ||
	    store_usage_each(ctl->store, collect_usage, &uv) < 0) {
		rc = ctl_fail(ctl, 0);
		goto out;
	}
	/* empty vectors are NULL, which qsort and bsearch may not be given */
	if (uv.n > 0)
		qsort(uv.u, uv.n, sizeof(*uv.u), usage_cmp);
	if (av.n > 0)
		qsort(av.a, av.n, sizeof(*av.a), acct_cmp_name);
	now = clock_now_us();
	/* a short blocking read: this node's figures are shown anyway */
	if (ctl->cfg.budget_store == STORE_REDIS &&
	    (pk = peek_open(&ctl->cfg, perr, sizeof(perr))) == NULL)
		fprintf(stderr, "mailgovctl: %s; cluster-wide figures left "
		    "out\n", perr);

	if (!ctl->json) {
		t1 = ctl_table_new(9, "ACCOUNT", "MESSAGES", "RECIPIENTS",
		    "BYTES", "HELD", "RELEASED", "REFUSED", "CONNECTIONS",
		    "LAST_SEEN");
		if (ctl->cfg.budget_store == STORE_REDIS)
			t2 = ctl_table_new(5, "ACCOUNT", "BUDGET", "LIMIT",
			    "REMAINING", "CLUSTER");
		else
			t2 = ctl_table_new(4, "ACCOUNT", "BUDGET", "LIMIT",
			    "REMAINING");
	} else
		t1 = t2 = NULL;
	if (ctl->json && argc != 2)
		putchar('[');
	for (i = 0; i < av.n; i++) {
		const struct store_account *a = &av.a[i];

		key.account = a->id;
		u = uv.n == 0 ? NULL :
		    bsearch(&key, uv.u, uv.n, sizeof(*uv.u), usage_cmp);
		if (u == NULL) {
			/* never seen: nothing counted, full budgets */
			memset(&zero, 0, sizeof(zero));
			zero.account = a->id;
			u = &zero;
		}
		shared_remaining(ctl, pk, a, rem);
		if (ctl->json) {
			if (i)
				putchar(',');
			usage_json(stdout, ctl, a, u, now,
			    ctl->cfg.budget_store == STORE_REDIS ? rem : NULL);
			continue;
		}
		snprintf(c[0], sizeof(c[0]), "%llu",
		    (unsigned long long)u->messages);
		snprintf(c[1], sizeof(c[1]), "%llu",
		    (unsigned long long)u->recipients);
		snprintf(c[2], sizeof(c[2]), "%llu",
		    (unsigned long long)u->bytes);
		snprintf(c[3], sizeof(c[3]), "%llu",
		    (unsigned long long)u->held);
		snprintf(c[4], sizeof(c[4]), "%llu",
		    (unsigned long long)u->released);
		snprintf(c[5], sizeof(c[5]), "%llu",
		    (unsigned long long)u->refused);
		snprintf(c[6], sizeof(c[6]), "%llu",
		    (unsigned long long)u->connections);
		/* the store may hold anything: escaped like every field */
		ctl_clean(a->name, nbuf, sizeof(nbuf));
		ctl_table_row(t1, nbuf, c[0], c[1], c[2], c[3], c[4],
		    c[5], c[6], ctl_time(u->last_seen, tbuf, sizeof(tbuf)));
		/* one row per window: each has its own remainder */
		for (k = 0; k < BK_COUNT; k++) {
			const struct budget *b = ctl_budget_of(ctl, a, k);

			for (w = 0; w < b->n; w++) {
				if (remaining(&b->w[w], k, w, u, now, &r) == 0)
					snprintf(c[7], sizeof(c[7]), "%llu",
					    (unsigned long long)r);
				else
					snprintf(c[7], sizeof(c[7]), "-");
				if (ctl->cfg.budget_store != STORE_REDIS) {
					ctl_table_row(t2, nbuf,
					    budget_kind_name(k),
					    budget_format(&b->w[w], lbuf,
					    sizeof(lbuf)), c[7]);
					continue;
				}
				if (w < BUDGET_WINDOWS_MAX &&
				    rem[k][w] != UINT64_MAX)
					snprintf(c[8], sizeof(c[8]), "%llu",
					    (unsigned long long)rem[k][w]);
				else
					snprintf(c[8], sizeof(c[8]), "-");
				ctl_table_row(t2, nbuf, budget_kind_name(k),
				    budget_format(&b->w[w], lbuf, sizeof(lbuf)),
				    c[7], c[8]);
			}
		}
	}
	if (ctl->json) {
		if (argc != 2)
			putchar(']');
		putchar('\n');
	} else {
		ctl_table_print(t1, stdout);
		putchar('\n');
		ctl_table_print(t2, stdout);
	}
	rc = CTL_OK;
out:
	peek_close(pk);
	free(av.a);
	free(uv.u);
	return rc;
}

/* admin_change - one change to a named account plus its event, in one
 * transaction */
static int
admin_change(struct ctl *ctl, const char *name,
    int (*fn)(struct ctl *, const char *, int), int arg, const char *kind,
    const char *detail)
{
	struct store_account a;
	struct store *st;

	if ((st = ctl_store(ctl)) == NULL)
		return CTL_ERR;
	if (store_begin(st) == -1)
		return ctl_fail(ctl, 0);
	if (store_account_get(st, name, &a) == -1 ||
	    fn(ctl, name, arg) == -1 ||
	    store_event(st, a.id, kind, detail) == -1 ||
	    store_commit(st) == -1)
		return ctl_fail(ctl, 1);
	return CTL_OK;
}

static int
do_reset(struct ctl *ctl, const char *name, int all)
{
	return store_usage_reset(ctl->store, name, all);
}

static int
do_block(struct ctl *ctl, const char *name, int blocked)
{
	return store_account_set_blocked(ctl->store, name, blocked);
}

/* reset_shared - budget_store = redis: the shared state goes too, so
 * that every node sees the full budget at once */
static int
reset_shared(struct ctl *ctl, const char *name)
{
	struct store_account a;
	struct peek *pk;
	char	 err[256];
	int	 rc;

	if (store_account_get(ctl->store, name, &a) == -1)
		return ctl_fail(ctl, 0);
	if ((pk = peek_open(&ctl->cfg, err, sizeof(err))) == NULL ||
	    peek_reset(pk, name, err, sizeof(err)) == -1) {
		fprintf(stderr, "mailgovctl: %s: reset on this node only; "
		    "the shared budget in Redis is unchanged\n", err);
		rc = CTL_ERR;
	} else
		rc = CTL_OK;
	peek_close(pk);
	return rc;
}

/* ctl_reset - forget engine state (and counters with --all) */
int
ctl_reset(struct ctl *ctl, int argc, char **argv)
{
	const char *name = NULL;
	int	 i, all = 0;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--all") == 0)
			all = 1;
		else if (argv[i][0] == '-' || name != NULL)
			return ctl_usage_err("reset", "reset: unexpected "
			    "argument '%s'", argv[i]);
		else
			name = argv[i];
	}
	if (name == NULL)
		return ctl_usage_err("reset", "reset: no account name");
	if (admin_change(ctl, name, do_reset, all, "reset",
	    all ? "budget state and counters cleared by mailgovctl" :
	    "budget state cleared by mailgovctl") != CTL_OK)
		return CTL_ERR;
	return ctl->cfg.budget_store == STORE_REDIS ? reset_shared(ctl, name) :
	    CTL_OK;
}

/* block_shared - budget_store = redis: every node refuses the account's
 * mail too (or no longer) */
static int
block_shared(struct ctl *ctl, const char *name, int on)
{
	struct peek *pk;
	char	 err[256];
	int	 rc = CTL_OK;

	if (ctl->cfg.budget_store != STORE_REDIS)
		return CTL_OK;
	if ((pk = peek_open(&ctl->cfg, err, sizeof(err))) == NULL ||
	    peek_block(pk, name, on, err, sizeof(err)) == -1) {
		fprintf(stderr, "mailgovctl: %s: %s on this node only\n", err,
		    on ? "blocked" : "unblocked");
		rc = CTL_ERR;
	}
	peek_close(pk);
	return rc;
}

/* ctl_block - refuse all of an account's mail until unblocked */
int
ctl_block(struct ctl *ctl, int argc, char **argv)
{
	if (argc != 2 || argv[1][0] == '-')
		return ctl_usage_err("block", "block: give one account name");
	if (admin_change(ctl, argv[1], do_block, 1, "block",
	    "blocked by mailgovctl") != CTL_OK)
		return CTL_ERR;
	return block_shared(ctl, argv[1], 1);
}

/* ctl_unblock - let a blocked account send again */
int
ctl_unblock(struct ctl *ctl, int argc, char **argv)
{
	if (argc != 2 || argv[1][0] == '-')
		return ctl_usage_err("unblock", "unblock: give one account "
		    "name");
	if (admin_change(ctl, argv[1], do_block, 0, "unblock",
	    "unblocked by mailgovctl") != CTL_OK)
		return CTL_ERR;
	return block_shared(ctl, argv[1], 0);
}

/* --- events ------------------------------------------------------------ */

struct ev_out {
	struct ctl		*ctl;
	struct accts_v		*av;
	struct ctl_table	*t;
	size_t			 n;
};

/* each_event - one event as a table row or a JSON object */
static int
each_event(int64_t ts, int64_t account, const char *kind,
    const char *detail, void *arg)
{
	struct ev_out *eo = arg;
	const struct store_account *a = find_account(eo->av, account);
	char	 tbuf[64], nbuf[STORE_NAMELEN * 4 + 4], kbuf[64], dbuf[512];

	if (eo->ctl->json) {
		printf("%s{\"ts\":%lld,\"account\":", eo->n ? "," : "",
		    (long long)ts);
		if (a != NULL)
			ctl_json_str(stdout, a->name);
		else
			fputs("null", stdout);
		printf(",\"account_id\":%lld,\"kind\":", (long long)account);
		ctl_json_str(stdout, kind);
		fputs(",\"detail\":", stdout);
		ctl_json_str(stdout, detail);
		putchar('}');
	} else {
		if (a != NULL)
			ctl_clean(a->name, nbuf, sizeof(nbuf));
		else
			snprintf(nbuf, sizeof(nbuf), "#%lld", (long long)account);
		ctl_table_row(eo->t, ctl_time(ts, tbuf, sizeof(tbuf)), nbuf,
		    ctl_clean(kind, kbuf, sizeof(kbuf)),
		    ctl_clean(detail, dbuf, sizeof(dbuf)));
	}
	eo->n++;
	return 0;
}

/* ctl_events - the newest events, of one account or all */
int
ctl_events(struct ctl *ctl, int argc, char **argv)
{
	struct accts_v av = { NULL, 0, -1 };
	struct ev_out eo;
	const char *name = NULL, *val, *err;
	uint64_t limit = EVENTS_DEFAULT;
	int64_t	 only;
	int	 i, r, rc = CTL_ERR;

	for (i = 1; i < argc; i++) {
		if ((r = ctl_opt("events", argc, argv, &i, "--limit",
		    &val)) != 0) {
			if (r < 0)
				return CTL_USAGE;
			if (num_u64(val, 1, EVENTS_MAX, 0, &limit, &err) == -1)
				return ctl_err("limit: %s '%s'", err, val);
		} else if (argv[i][0] == '-' || name != NULL)
			return ctl_usage_err("events", "events: unexpected "
			    "argument '%s'", argv[i]);
		else
			name = argv[i];
	}
	if (ctl_store_read(ctl) == NULL)
		return CTL_ERR;
	if (one_account(ctl, name, &only) == -1)
		return ctl_fail(ctl, 0);
	if (store_account_each(ctl->store, collect_account, &av) < 0) {
		rc = ctl_fail(ctl, 0);
		goto out;
	}
	if (av.n > 0)
		qsort(av.a, av.n, sizeof(*av.a), acct_cmp_id);
	memset(&eo, 0, sizeof(eo));
	eo.ctl = ctl;
	eo.av = &av;
	if (ctl->json)
		putchar('[');
	else
		eo.t = ctl_table_new(4, "TIME", "ACCOUNT", "EVENT", "DETAIL");
	if (store_event_each(ctl->store, only, (unsigned)limit, each_event,
	    &eo) < 0) {
		if (eo.t != NULL)
			ctl_table_free(eo.t);
		rc = ctl_fail(ctl, 0);
		goto out;
	}
	if (ctl->json)
		puts("]");
	else
		ctl_table_print(eo.t, stdout);
	rc = CTL_OK;
out:
	free(av.a);
	return rc;
}
