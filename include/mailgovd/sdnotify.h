/*
 * sdnotify - systemd's readiness protocol (sd_notify(3)), written out:
 * one datagram of "KEY=VALUE" lines to the unix socket named by
 * NOTIFY_SOCKET, a path or, with a leading '@', an abstract name.  No
 * libsystemd: the protocol is a sendto().  Outside systemd NOTIFY_SOCKET
 * is unset and every call does nothing.
 *
 * Trusts: the environment systemd gave the process (NOTIFY_SOCKET,
 * WATCHDOG_USEC, WATCHDOG_PID), which it checks for shape only.
 */
#ifndef MAILGOV_SDNOTIFY_H
#define MAILGOV_SDNOTIFY_H

#include <stdint.h>

/* sdnotify - send state ("READY=1", "STOPPING=1", ...); 1 sent, 0 not
 * under systemd, -1 failed (errno; EINVAL for a malformed
 * NOTIFY_SOCKET).  Never blocks: a full socket is EAGAIN. */
int		sdnotify(const char *state);
/* sdnotify_watchdog_ms - the watchdog interval systemd asks for
 * (WATCHDOG_USEC, when WATCHDOG_PID is unset or this process), in
 * milliseconds; 0 when there is none */
uint64_t	sdnotify_watchdog_ms(void);
/* sdnotify_watchdog - WATCHDOG=1 when half the interval has passed since
 * the last one, give or take 100 ms for a timer tick that comes early
 * (now_ms: the monotonic clock); 1 sent, 0 not due or no watchdog, -1
 * failed (logged once) */
int		sdnotify_watchdog(uint64_t now_ms);

#endif
