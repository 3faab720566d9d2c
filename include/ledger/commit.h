/*
 * commit - mailgovd's single writer of usage rows (group commit).  At the
 * end of every loop turn the accounts charged since the last batch (by the
 * policy server, the kernel path or held-mail release) are copied into the
 * open batch.  With sync = full, when the committer thread is idle the
 * batch is handed to it and written in one transaction (with an fsync) on
 * its own store handle, and the loop hears back through an eventfd.  With
 * sync = normal no commit waits for the disk, so the loop thread writes
 * the batch itself at the end of its turn, on the accounts' store handle.
 * A second thread checkpoints the WAL, so no commit waits for a
 * checkpoint and the loop thread never waits for an fsync.  With
 * redo_log = on a batch is one redo log record instead (redo.h), and the
 * second thread applies the logged rows to SQLite every 0.1 s.
 *
 * Answers that depend on a count ask commit_need() for the batch that
 * will carry it and go out once commit_durable() has reached it.
 */
#ifndef MAILGOV_COMMIT_H
#define MAILGOV_COMMIT_H

#include <stdint.h>

#include "acct.h"
#include "config.h"
#include "loop.h"

struct commit;

/* commit_new - open the store handles and start the threads; call it
 * after the privilege drop (threads keep the credentials they start
 * with).  With a redo log (already replayed), batches go there and reach
 * SQLite from the checkpointer thread.  NULL with a logged reason on
 * failure. */
struct redo;
struct commit *commit_new(struct loop *, struct accts *,
	    const struct config *, struct redo *);
/* commit_free - finish the batch in flight, write every count still in
 * memory, stop the threads */
void	commit_free(struct commit *);
/* commit_need - someone waits for the counts charged so far: the batch
 * that will carry them */
uint64_t commit_need(struct commit *);
/* commit_durable - every batch up to this one is on disk */
uint64_t commit_durable(const struct commit *);
/* commit_on_durable - fn(arg) after each batch became durable; one hook
 * per arg (a second call replaces it, fn NULL removes it) */
void	commit_on_durable(struct commit *, void (*fn)(void *), void *);
/* commit_stats - for `mailgovctl status`: when the last batch reached
 * the disk, and with a redo log how far SQLite lags behind it */
struct commit_stats {
	uint64_t	last_ms;	/* clock_mono_ms of the last batch
					 * written; 0: none yet */
	uint64_t	batches;	/* written since the start */
	int		failing;	/* the last attempt failed */
	int		redo;		/* redo_log = on */
	uint64_t	redo_logged;	/* newest record in the log */
	uint64_t	redo_applied;	/* newest record in SQLite */
};
void	commit_stats(struct commit *, struct commit_stats *);
/* commit_fresh - pick up changes another process committed (mailgovctl
 * reset, budgets) before counting on the view: at most once a loop turn */
void	commit_fresh(struct commit *);

#endif
