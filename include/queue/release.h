/*
 * release - held mail and its automatic release.  The policy server
 * records each message it answers HOLD for; every release_interval this
 * module releases each account's held mail, oldest first, as far as the
 * account's budget allows, charging the budget as it goes.  It also keeps
 * how many messages and bytes each account has on hold, which the policy
 * server bounds (held_messages_max, held_bytes_max).
 *
 * postsuper must run as root, so release_new() forks a tiny privileged
 * child before mailgovd drops its privileges (release_child.h): it runs
 * postsuper, postqueue and postcat on validated queue IDs, and nothing
 * else.
 */
#ifndef MAILGOV_RELEASE_H
#define MAILGOV_RELEASE_H

#include <stdint.h>

#include "acct.h"
#include "origin.h"
#include "config.h"
#include "loop.h"

struct release;

/* release_new - fork the privileged child; NULL on failure (logged) */
struct release *release_new(struct loop *, struct accts *,
	    const struct config *);
void	release_free(struct release *);
/* release_set_mark - adopt held mail mailgov does not know under the
 * account its header names, when the header was made with key (mark.h) */
void	release_set_mark(struct release *, const uint8_t key[16]);
/*
 * release_note_held - the policy server just answered HOLD for this, or
 * Postfix held it because the answer came too late; prepaid: that answer
 * had accepted and charged it, so its release is not charged again.
 * origin: who sent it, as far as known (a claim), or NULL
 */
int	release_note_held(struct release *, struct acct *,
	    const char *queue_id, uint32_t rcpts, uint64_t size,
	    const char *sender, int prepaid, const struct origin *origin);
/*
 * release_may_hold - may a put one more message of size bytes on hold,
 * within held_messages_max and held_bytes_max?  1 or 0; what a holds now
 * (messages, bytes) in *msgs and *bytes
 */
int	release_may_hold(struct release *, const struct acct *, uint64_t size,
	    uint32_t *msgs, uint64_t *bytes);
struct commit;
struct cluster;
/* release_set_cluster - budget_store = redis: held mail is charged to
 * the cluster's shared budgets before it leaves (cluster.h) */
void	release_set_cluster(struct release *, struct cluster *);
/* release_set_commit - charges made by release are committed promptly */
void	release_set_commit(struct release *, struct commit *);
/* release_tick - release what budgets allow at now (microseconds) */
void	release_tick(struct release *, uint64_t now);


#endif
