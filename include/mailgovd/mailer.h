/*
 * mailer - one short SMTP session from the daemon, on the event loop:
 * the report mail of notify.h, handed to the main Postfix instance's
 * relay listener (127.0.0.1:relay_port, docs/postfix.md), the door the
 * queue instance's mail takes too.  No policy is asked there, so the
 * report is neither counted nor held; it is sent from the null sender,
 * so a bounce of it goes nowhere and cannot loop.
 *
 * The session never blocks: a non-blocking connect, each reply read as
 * it comes (bounded lines, multi-line replies), the message written as
 * the socket takes it, and a deadline mailer_tick enforces.  One
 * command at a time (no pipelining), so a reply is always the answer to
 * the last command.
 */
#ifndef MAILGOV_MAILER_H
#define MAILGOV_MAILER_H

#include <stddef.h>
#include <stdint.h>

#include "loop.h"

#define MAILER_RCPTS	2

struct mailer;

/*
 * mailer_start - deliver msg (LF line ends; CRLF and dot-stuffing are
 * done here) from <> to rcpt[0..n-1] over TCP to 127.0.0.1:port, within
 * timeout_ms; done(arg, NULL) after the 250 for the data, or done(arg,
 * why) on any failure, once, from the loop.  NULL (logged) when it
 * cannot even start.  The mailer frees itself after done.
 */
struct mailer *mailer_start(struct loop *, uint16_t port,
	    const char *const *rcpt, size_t n, const char *msg,
	    unsigned timeout_ms, void (*done)(void *, const char *), void *arg);

/* mailer_tick - past its deadline: done(arg, "timed out"), then gone */
void	mailer_tick(struct mailer *, uint64_t now_ms);

/* mailer_abort - stop without calling done */
void	mailer_abort(struct mailer *);

#endif
