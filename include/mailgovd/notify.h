/*
 * notify - mailgovd's notifications: alert_command and alert_mail.
 *
 * Each alert the alert module logs and records (alert_set_hook), within
 * its per-account limit, runs alert_command; an account going over a
 * budget or being blocked also queues a short report mail to alert_mail
 * and the account's contact, at most one per account per
 * alert_mail_interval.  Both go through spawn_start: no shell, an
 * environment of PATH and the MAILGOV_* variables (report.h), their own
 * process group, alert_command_timeout, and never more than NOTIFY_PROCS
 * programs at once; an alert that finds them all busy is dropped and
 * counted.  The loop never waits: each program's pidfd is in the loop,
 * and the one-second tick enforces the time limits.
 *
 * The programs run as mailgovd's user, after privs_drop(): uid and gid
 * of `user`, no supplementary groups, no capability (the bounding set is
 * empty, and an exec by a uid other than 0 drops the rest), with
 * no_new_privs.  Never as root: if mailgovd itself runs as uid 0, nothing
 * is run, and that is logged.
 *
 * A report goes by SMTP to the main Postfix instance's relay listener
 * (mailer.h), from the null sender: no mailgov policy is asked there, so
 * it is neither counted nor held, and a bounce of it goes nowhere, so it
 * cannot loop.  Not Postfix's sendmail: its postdrop is set-group-ID,
 * which no_new_privs (set by privs_drop) turns off.
 */
#ifndef MAILGOV_NOTIFY_H
#define MAILGOV_NOTIFY_H

#include <stdint.h>

#include "acct.h"
#include "config.h"
#include "loop.h"
#include "store.h"

#define NOTIFY_PROCS	4		/* programs running at once, at most */

struct notify;

/* notify_new - NULL when neither alert_command nor any mail can be sent
 * (nothing configured) or out of memory (logged) */
struct notify *notify_new(struct loop *, struct accts *, struct store *,
	    const struct config *);
/* notify_free - programs still running get SIGTERM and are left */
void	notify_free(struct notify *);

/* notify_alert - the alert hook (alert.h); arg is the struct notify */
void	notify_alert(void *arg, const struct acct *, const char *event,
	    const char *fields, uint64_t now);

/* notify_tick - once a second: time limits, due reports, log lines */
void	notify_tick(struct notify *);

#endif
