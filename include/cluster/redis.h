/*
 * redis - one connection to Redis (or Valkey) on mailgovd's loop, never
 * blocking it: a non-blocking socket of its own, commands written once
 * per loop turn (so everything one turn asks for goes out pipelined, in
 * one write), replies parsed by hiredis's reader with bounded reply
 * objects.  AUTH (with an ACL user), a timeout on connecting and on every
 * reply, and reconnection with back-off.  Any trouble - a refused or
 * lost connection, a timeout, a failed AUTH, a reply too large or
 * malformed - fails every command in flight (their callbacks get NULL)
 * and the connection starts again after a back-off.
 */
#ifndef MAILGOV_REDIS_H
#define MAILGOV_REDIS_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "loop.h"

struct redis;
struct redisReply;

/* redis_cb - the reply of one command; NULL when Redis is unavailable.
 * The reply is freed after the call returns. */
typedef void (*redis_cb)(void *arg, const struct redisReply *);
/* redis_state_cb - up is 1 when AUTH succeeded, 0 when the link broke */
typedef void (*redis_state_cb)(void *arg, int up);

/* redis_new - resolve cfg->redis and connect in the background; NULL
 * with a logged reason when the address cannot be used */
struct redis *redis_new(struct loop *, const struct config *,
	    redis_state_cb, void *arg);
void	redis_free(struct redis *);
/* redis_up - connected and authenticated */
int	redis_up(const struct redis *);
/*
 * redis_command - queue one command (argv of argc strings); it goes out
 * at the end of this loop turn, together with every other one.  -1 when
 * the link is down or the queue is full: cb is then not called.
 */
int	redis_command(struct redis *, redis_cb, void *arg, int argc,
	    const char **argv, const size_t *argvlen);
/* redis_command_raw - the same for a command already in RESP form
 * (resp.h), len bytes of cmd */
int	redis_command_raw(struct redis *, redis_cb, void *arg, const char *cmd,
	    size_t len);
/* redis_name - the server as configured, for log lines */
const char *redis_name(const struct redis *);
/* redis_in_flight - commands sent or queued and not answered */
size_t	redis_in_flight(const struct redis *);

#endif
