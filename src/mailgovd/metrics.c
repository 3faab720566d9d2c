/*
 * metrics - mailgovd's Prometheus metrics (see metrics.h).
 *
 * A scrape walks every account once (100k accounts: a few milliseconds
 * on the loop thread) and writes the series of at most metrics_accounts
 * of them; a body made less than a second ago is served again instead of
 * being made anew, so a client that scrapes in a loop costs a copy, not
 * a walk.  The counters are the accounts' own lifetime counters (the
 * figures of `mailgovctl usage`), which the hot paths already keep; the
 * only work added there is the two histograms' observations.
 *
 * Trusts: the accounts module for the counters; the account names are
 * escaped anyway (prom_escape).  Nothing a client sends reaches this
 * file: httpd parses and bounds it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "hash.h"
#include "httpd.h"
#include "log.h"
#include "metrics.h"
#include "num.h"

#define METRICS_PATH	"/metrics"
#define METRICS_MAX	(64u << 20)	/* bytes of one body, at most */
#define METRICS_REUSE_MS 1000		/* a body is served again this long */
#define OTHER		"_other"	/* no account name starts with '_' */

/* the per-account counters, in the order they are written */
enum { C_MSG, C_RCPT, C_BYTES, C_HOLDS, C_RELEASES, C_REFUSALS, C_CONNS,
	C_REDIRECTS, NC };

static const struct {
	const char	*name, *help;
} counters[NC] = {
	{ "mailgov_messages_total", "Messages that left under the budget "
	    "(accepted, or released from hold), per account." },
	{ "mailgov_recipients_total", "Recipients of those messages, per "
	    "account." },
	{ "mailgov_message_bytes_total", "Bytes of those messages, per "
	    "account." },
	{ "mailgov_holds_total", "Messages put on hold, per account." },
	{ "mailgov_releases_total", "Held messages released, per account." },
	{ "mailgov_refusals_total", "Refusals the sender saw (deferred or "
	    "rejected messages, reset connections), per account." },
	{ "mailgov_connections_total", "SMTP connections let through on the "
	    "kernel path, per account." },
	{ "mailgov_redirects_total", "SMTP connections redirected to the "
	    "queue instance since mailgovd started, per account." },
};

/* latency buckets, microseconds: 50 us to 10 s */
static const uint64_t lat_bounds[] = { 50, 100, 250, 500, 1000, 2500, 5000,
	10000, 25000, 50000, 100000, 250000, 1000000, 2500000, 10000000 };

enum { S_IDLE = 0, S_OWN, S_OTHER };

/* an account seen with counters: where it stood at start (or when first
 * seen), and whether it has series of its own */
struct seen {
	HASH_ENTRY;
	uint32_t	 state;
	int64_t		 id;
	uint64_t	 base[NC];
};

struct metrics {
	const struct config *cfg;
	struct accts	*accts;
	struct flows	*flows;
	struct release	*rel;
	struct httpd	*httpd;
	struct hash	 seen;
	size_t		 n_own;		/* accounts with series of their own */
	uint64_t	 oom_logged;
	struct prom_hist policy_lat, commit_lat;
	char		*cached;
	size_t		 cached_len;
	uint64_t	 cached_at;	/* mono ms */
};

/* one scrape's walk */
struct walk {
	struct metrics	*m;
	struct acct	**own;
	size_t		 nown, capown;
	uint64_t	 other[NC];
	uint64_t	 other_held, other_held_bytes;
};

/* seen_eq - entry e is account *key */
static int
seen_eq(const void *ctx, const void *e, const void *key)
{
	(void)ctx;
	return ((const struct seen *)e)->id == *(const int64_t *)key;
}

/* seen_find - the entry of id, or NULL */
static struct seen *
seen_find(struct metrics *m, int64_t id)
{
	return hash_find(&m->seen, hash_u64((uint64_t)id), seen_eq, NULL, &id);
}

/* seen_add - a new entry of id, counters from base */
static struct seen *
seen_add(struct metrics *m, int64_t id, const uint64_t *base)
{
	struct seen *e;

	if ((e = hash_insert(&m->seen, hash_u64((uint64_t)id))) == NULL) {
		if (m->oom_logged + 60000 <= clock_mono_ms()) {
			m->oom_logged = clock_mono_ms();
			log_warnx("metrics: out of memory: some accounts are "
			    "left out");
		}
		return NULL;
	}
	e->id = id;
	e->state = S_IDLE;
	memcpy(e->base, base, sizeof(e->base));
	return e;
}

/* values - a's counters, in counters[] order */
static void
values(const struct acct *a, uint64_t *v)
{
	v[C_MSG] = a->use.messages;
	v[C_RCPT] = a->use.recipients;
	v[C_BYTES] = a->use.bytes;
	v[C_HOLDS] = a->use.held;
	v[C_RELEASES] = a->use.released;
	v[C_REFUSALS] = a->use.refused;
	v[C_CONNS] = a->use.connections;
	v[C_REDIRECTS] = a->redirects;
}

/* start_point - an account with counters at start: its base */
static int
start_point(struct acct *a, void *arg)
{
	struct metrics *m = arg;
	uint64_t v[NC];
	size_t	 k;

	values(a, v);
	for (k = 0; k < NC && v[k] == 0; k++)
		;
	if (k < NC)
		(void)seen_add(m, a->id, v);
	return 0;
}

/* held_of - what a holds now */
static void
held_of(struct metrics *m, const struct acct *a, uint64_t *msgs,
    uint64_t *bytes)
{
	uint32_t n = a->n_held;
	uint64_t b = 0;

	if (n > 0 && m->rel != NULL)
		(void)release_may_hold(m->rel, a, 0, &n, &b);
	*msgs = n;
	*bytes = b;
}

/* visit - one account of the walk */
static int
visit(struct acct *a, void *arg)
{
	struct walk *w = arg;
	struct metrics *m = w->m;
	uint64_t v[NC], zero[NC], msgs, bytes;
	struct seen *e;
	size_t	 k;

	values(a, v);
	if ((e = seen_find(m, a->id)) == NULL) {
		/* idle at start, or made since: its base is zero */
		for (k = 0; k < NC && v[k] == 0; k++)
			;
		if (k == NC && a->n_held == 0)
			return 0;
		memset(zero, 0, sizeof(zero));
		if ((e = seen_add(m, a->id, zero)) == NULL)
			return 0;
	}
	if (e->state == S_IDLE) {
		for (k = 0; k < NC && v[k] == e->base[k]; k++)
			;
		if (k == NC && a->n_held == 0)
			return 0;
		e->state = m->n_own < m->cfg->metrics_accounts ? S_OWN :
		    S_OTHER;
		if (e->state == S_OWN)
			m->n_own++;
	}
	if (e->state == S_OWN) {
		if (w->nown < w->capown)
			w->own[w->nown++] = a;
		return 0;
	}
	/* from its base: a reset (or a deleted account) shows in _other as
	 * any counter reset does */
	for (k = 0; k < NC; k++)
		w->other[k] += v[k] >= e->base[k] ? v[k] - e->base[k] : 0;
	held_of(m, a, &msgs, &bytes);
	w->other_held += msgs;
	w->other_held_bytes += bytes;
	return 0;
}

/* render - the exposition into p */
static void
render(struct metrics *m, struct prom *p)
{
	struct walk w;
	uint64_t v[NC], msgs, bytes;
	size_t	 i, k;

	memset(&w, 0, sizeof(w));
	w.m = m;
	w.capown = m->n_own + m->cfg->metrics_accounts;
	if (w.capown > 0 && (w.own = calloc(w.capown, sizeof(*w.own))) ==
	    NULL) {
		p->failed = 1;
		return;
	}
	(void)acct_each(m->accts, visit, &w);

	for (k = 0; k < NC; k++) {
		prom_family(p, counters[k].name, "counter", counters[k].help);
		for (i = 0; i < w.nown; i++) {
			values(w.own[i], v);
			prom_u64(p, counters[k].name, "account",
			    w.own[i]->name, v[k]);
		}
		prom_u64(p, counters[k].name, "account", OTHER, w.other[k]);
	}
	prom_family(p, "mailgov_held_messages", "gauge", "Messages on hold "
	    "now, per account.");
	for (i = 0; i < w.nown; i++) {
		held_of(m, w.own[i], &msgs, &bytes);
		prom_u64(p, "mailgov_held_messages", "account",
		    w.own[i]->name, msgs);
	}
	prom_u64(p, "mailgov_held_messages", "account", OTHER, w.other_held);
	prom_family(p, "mailgov_held_bytes", "gauge", "Bytes of the messages "
	    "on hold now, per account.");
	for (i = 0; i < w.nown; i++) {
		held_of(m, w.own[i], &msgs, &bytes);
		prom_u64(p, "mailgov_held_bytes", "account", w.own[i]->name,
		    bytes);
	}
	prom_u64(p, "mailgov_held_bytes", "account", OTHER,
	    w.other_held_bytes);
	free(w.own);

	prom_family(p, "mailgov_accounts", "gauge", "Accounts mailgovd "
	    "knows.");
	prom_u64(p, "mailgov_accounts", NULL, NULL, acct_count(m->accts));
	prom_family(p, "mailgov_metrics_accounts", "gauge", "Accounts with "
	    "series of their own (at most metrics_accounts); the others "
	    "are summed into account=\"_other\".");
	prom_u64(p, "mailgov_metrics_accounts", NULL, NULL, m->n_own);
	prom_family(p, "mailgov_flows", "gauge", "Flows in the flow table.");
	prom_u64(p, "mailgov_flows", NULL, NULL,
	    m->flows != NULL ? flow_count(m->flows) : 0);
	prom_family(p, "mailgov_flows_capacity", "gauge", "Flows the flow "
	    "table holds at most (flow_max).");
	prom_u64(p, "mailgov_flows_capacity", NULL, NULL, m->cfg->flow_max);
	prom_hist_write(p, "mailgov_policy_latency_seconds", "Policy "
	    "requests, from reading the request to sending the answer "
	    "(the group commit included).", &m->policy_lat);
	prom_hist_write(p, "mailgov_commit_latency_seconds", "Group "
	    "commits, from hand-off to the loop hearing back.",
	    &m->commit_lat);
}

/* metrics_render - see metrics.h */
char *
metrics_render(struct metrics *m, size_t *len)
{
	struct prom p;
	char	*s;

	prom_init(&p, METRICS_MAX);
	render(m, &p);
	if (prom_failed(&p)) {
		prom_fini(&p);
		return NULL;
	}
	if ((s = prom_take(&p, len)) == NULL)
		s = strdup("");
	return s;
}

/* serve - httpd's resource: a copy of a body less than a second old, or
 * a new one */
static char *
serve(void *arg, size_t *len, const char **ctype)
{
	struct metrics *m = arg;
	uint64_t now = clock_mono_ms();
	char	*s;

	*ctype = "text/plain; version=0.0.4; charset=utf-8";
	if (m->cached == NULL || now - m->cached_at >= METRICS_REUSE_MS) {
		free(m->cached);
		m->cached = metrics_render(m, &m->cached_len);
		m->cached_at = now;
		if (m->cached == NULL) {
			log_warnx("metrics: out of memory making the body");
			return NULL;
		}
	}
	if ((s = malloc(m->cached_len + 1)) == NULL)
		return NULL;
	memcpy(s, m->cached, m->cached_len + 1);
	*len = m->cached_len;
	return s;
}

/* deadline - the listener's, from the environment (tests shorten it) */
static unsigned
deadline(void)
{
	const char *v = getenv("MAILGOVD_METRICS_DEADLINE"), *err;
	uint64_t n;

	if (v == NULL || *v == '\0')
		return 0;
	if (num_u64(v, 1, 3600, 0, &n, &err) == -1) {
		log_warnx("metrics: MAILGOVD_METRICS_DEADLINE: %s", err);
		return 0;
	}
	return (unsigned)n;
}

/* metrics_new - see metrics.h */
struct metrics *
metrics_new(struct loop *l, const struct config *cfg, struct accts *accts,
    struct flows *flows, struct release *rel, char *err, size_t errlen)
{
	struct metrics *m;

	if ((m = calloc(1, sizeof(*m))) == NULL ||
	    hash_init(&m->seen, sizeof(struct seen), 1024) == -1) {
		snprintf(err, errlen, "metrics: out of memory");
		free(m);
		return NULL;
	}
	m->cfg = cfg;
	m->accts = accts;
	m->flows = flows;
	m->rel = rel;
	prom_hist_init(&m->policy_lat, lat_bounds,
	    sizeof(lat_bounds) / sizeof(lat_bounds[0]));
	prom_hist_init(&m->commit_lat, lat_bounds,
	    sizeof(lat_bounds) / sizeof(lat_bounds[0]));
	(void)acct_each(accts, start_point, m);
	if (l != NULL && (m->httpd = httpd_new(l, cfg->metrics_listen,
	    METRICS_PATH, deadline(), serve, m, err, errlen)) == NULL) {
		hash_fini(&m->seen);
		free(m);
		return NULL;
	}
	return m;
}

/* metrics_tick - the listener's deadlines */
void
metrics_tick(struct metrics *m)
{
	if (m != NULL && m->httpd != NULL)
		httpd_tick(m->httpd);
}

struct prom_hist *
metrics_policy_latency(struct metrics *m)
{
	return &m->policy_lat;
}

struct prom_hist *
metrics_commit_latency(struct metrics *m)
{
	return &m->commit_lat;
}

/* metrics_free - close the listener */
void
metrics_free(struct metrics *m)
{
	if (m == NULL)
		return;
	httpd_free(m->httpd);
	hash_fini(&m->seen);
	free(m->cached);
	free(m);
}
