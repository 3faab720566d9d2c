/*
 * resolve - a host name to one address without blocking mailgovd's
 * loop: getaddrinfo on a short-lived thread of its own, the answer back
 * through a socket the loop watches.  For the Redis connection, which
 * resolves its name again before every connection attempt, so that a
 * failover that moves a DNS name (a managed Redis, a Sentinel setup
 * behind a name) is followed without a restart.
 */
#ifndef MAILGOV_RESOLVE_H
#define MAILGOV_RESOLVE_H

#include <sys/socket.h>

#include "loop.h"

struct lookup;

/* resolve_cb - the first address of host (ok 1), or err, a one-line
 * reason without the name (ok 0) */
typedef void (*resolve_cb)(void *arg, int ok,
	    const struct sockaddr_storage *, socklen_t, const char *err);

/* resolve_start - look host:port (numeric) up; cb runs on a later loop
 * turn, exactly once unless the lookup is cancelled.  NULL (logged) when
 * no thread or socket could be had. */
struct lookup *resolve_start(struct loop *, const char *host,
	    const char *port, resolve_cb, void *arg);
/* resolve_cancel - cb is never called; a thread still waiting for DNS
 * finishes on its own and frees what it holds */
void	resolve_cancel(struct lookup *);

/* resolve_numeric - host as a numeric IPv4 or IPv6 address with port
 * (nothing to look up); 0, or -1 when host is a name */
int	resolve_numeric(const char *host, const char *port,
	    struct sockaddr_storage *, socklen_t *);

/* resolve_format - an address as "A.B.C.D:P" or "[X::Y]:P", for logs */
void	resolve_format(const struct sockaddr_storage *, char *buf,
	    size_t len);

#endif
