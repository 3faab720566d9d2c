/*
 * flow - the kernel path's flow table: which UID and account opened the
 * connection from (source address, source port), and where it was going
 * before the nat REDIRECT.  The queue path looks sessions up here.
 * One preallocated dense array, indexed by hash.h's table: no allocation
 * after start-up, 1M flows in ~100 MB.
 * Each UID may hold at most its share of the table (flow_uid_max), so one
 * web user cannot fill it and push everyone else's flows out.
 * Pure: the caller passes the time.
 */
#ifndef MAILGOV_FLOW_H
#define MAILGOV_FLOW_H

#include <stddef.h>
#include <stdint.h>

struct flow_key {
	uint8_t		family;		/* AF_INET or AF_INET6 */
	uint8_t		addr[16];	/* IPv4 in the first 4 bytes */
	uint16_t	port;		/* host order */
};

struct flow {
	struct flow_key	key;
	uint8_t		dst[16];	/* original destination */
	uint16_t	dport;
	uint8_t		verdict;	/* enum flow_verdict */
	uint32_t	uid;
	uint32_t	live;		/* the daemon's census generation in
					 * whose counts it is; 0 none */
	int64_t		account;
	uint64_t	seen;		/* first SYN, unix seconds */
	uint64_t	expires;	/* unix seconds; live while now < expires */
};

enum flow_verdict { FLOW_REDIRECT = 0, FLOW_ALLOW = 1, FLOW_REJECT = 2 };

struct flows;

/* FLOW_UID_SHARE - the default share of one UID: 1/64 of the table, and
 * never fewer than FLOW_UID_MIN flows */
#define FLOW_UID_SHARE	64
#define FLOW_UID_MIN	64

/* flow_new - room for max flows; NULL if it cannot be allocated.  Each
 * UID may hold flow_uid_default(max) of them until flow_set_uid_max. */
struct flows *flow_new(size_t max);
void	flow_free(struct flows *);
/* flow_uid_default - max / FLOW_UID_SHARE, at least FLOW_UID_MIN, at most
 * max */
size_t	flow_uid_default(size_t max);
/* flow_set_uid_max - the most flows one UID may hold (0: the default) */
void	flow_set_uid_max(struct flows *, size_t);
size_t	flow_uid_max(const struct flows *);
/* flow_uid_count - flows stored for uid, expired ones not yet reclaimed
 * included */
size_t	flow_uid_count(const struct flows *, uint32_t uid);
/*
 * flow_put - insert or replace the flow for f->key.  Returns -1 with
 * errno EDQUOT when f->uid already holds its share (flow_uid_max), or
 * ENOSPC when the table is full and nothing in it has expired (a full
 * table reclaims expired entries first).
 */
int	flow_put(struct flows *, const struct flow *, uint64_t now);
/* flow_get - the live flow for key, or NULL */
struct flow *flow_get(struct flows *, const struct flow_key *, uint64_t now);
int	flow_del(struct flows *, const struct flow_key *);
/* flow_expire - drop up to budget expired entries; returns how many */
size_t	flow_expire(struct flows *, uint64_t now, size_t budget);
size_t	flow_count(const struct flows *);
/* flow_key_from - build a key from an address string and port */
int	flow_key_from(struct flow_key *, const char *addr, uint16_t port);
/* flow_each - call fn on every stored flow (live or not yet reclaimed)
 * until it returns non-zero, which is returned; fn must not change
 * the table */
int	flow_each(struct flows *, int (*fn)(const struct flow *, void *),
	    void *);

#endif
