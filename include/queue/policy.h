/*
 * policy - the Postfix policy delegation server inside mailgovd
 * (SMTPD_POLICY_README): name=value lines ended by an empty line, answered
 * by "action=..." and an empty line, pipelined on reused connections, on a
 * unix socket and on loopback TCP.  Lines, requests and attribute counts
 * are bounded; malformed input is logged, gets no reply and the connection
 * is closed.  Counts are made durable (group commit) before any answer
 * that depends on them is sent.
 */
#ifndef MAILGOV_POLICY_H
#define MAILGOV_POLICY_H

#include "acct.h"
#include "config.h"
#include "flow.h"
#include "loop.h"

struct alerts;
struct cluster;
struct commit;
struct policy;
struct release;

/* policy_new - bind the configured listeners, before the privilege drop;
 * nothing is served until policy_start.  Budget crossings and refusals
 * are reported through the daemon's alert module (alert.h) */
struct policy *policy_new(struct loop *, struct accts *, struct flows *,
	    struct release *, struct alerts *, const struct config *);
/* policy_start - serve; answers that depend on a count wait for the
 * committer's group commit (commit.h).  -1 on failure */
int	policy_start(struct policy *, struct commit *);
void	policy_free(struct policy *);
/* policy_set_mark - prepend the account header (mark.h), made with key,
 * to queue-instance mail */
void	policy_set_mark(struct policy *, const uint8_t key[16]);
/* policy_set_latency - observe each answer's latency (request read ->
 * answer sent) into h; NULL stops */
struct prom_hist;
void	policy_set_latency(struct policy *, struct prom_hist *h);
/* policy_set_cluster - budget_store = redis: charge each message to the
 * cluster's shared budgets (cluster.h), waiting for Redis's answer */
void	policy_set_cluster(struct policy *, struct cluster *);
/* policy_set_sockproc - name the process behind a session that is not
 * mailgov-sendmail's by its socket (sockproc.h); NULL stops */
struct sockproc;
void	policy_set_sockproc(struct policy *, struct sockproc *);

#endif
