/*
 * metrics - mailgovd's Prometheus metrics: GET /metrics on
 * metrics_listen (httpd.h), in the text exposition format (prom.h).
 * Per-account counters and held gauges, the flow-table fill, and the
 * histograms of answer and group-commit latency, which the policy server
 * and the committer observe into (metrics_policy_latency,
 * metrics_commit_latency).
 *
 * Cardinality: an account gets series of its own once it is active
 * (a counter moved since mailgovd started, or it holds mail), for the
 * first metrics_accounts accounts that become active; they keep them
 * until mailgovd restarts.  Every later one is summed into
 * account="_other", from the moment it became active, so that every
 * series only ever grows.  Idle accounts cost one scrape-time visit and
 * no series.  docs/mailgovd.md, "Metrics", lists every metric.
 */
#ifndef MAILGOV_METRICS_H
#define MAILGOV_METRICS_H

#include <stddef.h>

#include "acct.h"
#include "config.h"
#include "flow.h"
#include "loop.h"
#include "prom.h"
#include "release.h"

struct metrics;

/*
 * metrics_new - take the accounts' starting point and, with a loop,
 * listen on cfg->metrics_listen (without one: metrics_render only, for
 * tests).  rel may be NULL (no held bytes then).  NULL with the reason in
 * err.
 */
struct metrics *metrics_new(struct loop *, const struct config *,
	    struct accts *, struct flows *, struct release *, char *err,
	    size_t errlen);
void	metrics_free(struct metrics *);
/* metrics_tick - once a second: the listener's deadlines */
void	metrics_tick(struct metrics *);
/* the histograms the policy server and the committer fill */
struct prom_hist *metrics_policy_latency(struct metrics *);
struct prom_hist *metrics_commit_latency(struct metrics *);
/* metrics_render - the exposition now: malloc'd, *len bytes; NULL when
 * it does not fit in memory */
char	*metrics_render(struct metrics *, size_t *len);

#endif
