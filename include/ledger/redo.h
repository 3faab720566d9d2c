/*
 * redo - the redo log of the group commit (redo_log = on).
 *
 * Each group commit is one record, written with a single pwrite (and an
 * fdatasync with sync = full) into a preallocated file beside the
 * database, DB-redo.  That is all an answer waits for: the usage rows
 * reach SQLite later, in bulk, from a thread of their own (commit.c),
 * which then raises the store's applied mark (store_redo_applied).  A
 * record holds whole usage rows, not increments, so applying one twice,
 * or a later one without an earlier one, is harmless; and the row's epoch
 * makes SQLite refuse a record older than a mailgovctl reset.
 *
 * The file is two halves.  Writing moves to the other half only once
 * every record there is at or below the applied mark, so a record above
 * the mark is never overwritten; at start-up redo_replay finds each one
 * and applies it before the accounts are loaded.
 */
#ifndef MAILGOV_REDO_H
#define MAILGOV_REDO_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define REDO_SIZE	(16u << 20)	/* the whole file */
#define REDO_ROWS_MAX	8192		/* rows in one record (2 MB) */

struct redo;

/* redo_open - open path, creating and preallocating it (zeroes, synced)
 * if needed; NULL with err filled on failure */
struct redo *redo_open(const char *path, int sync_full, char *err,
	    size_t errlen);

/*
 * redo_replay - apply every record above st's applied mark, oldest
 * first, in one transaction that also raises the mark; new records then
 * follow the highest seq found.  Returns the records applied, or -1
 * (logged).
 */
int	redo_replay(struct redo *, struct store *st);

/*
 * redo_append - one record of n rows (1..REDO_ROWS_MAX), durable as
 * sync_full asks when it returns 0, with its seq in *seq.  1: the next
 * half still holds records above applied; apply them, then call again.
 * -1: an I/O error (errno set), nothing written that counts.
 */
int	redo_append(struct redo *, const struct store_usage *rows, size_t n,
	    uint64_t applied, uint64_t *seq);

void	redo_close(struct redo *);

/*
 * redo_scan - every valid record in the first len bytes of a redo log
 * image: cb(seq, rows, n, arg) for each, in file order; the count.  The
 * parser redo_replay uses, apart for the fuzzer and the tests.
 */
size_t	redo_scan(const unsigned char *buf, size_t len,
	    void (*cb)(uint64_t seq, const unsigned char *rows, uint32_t n,
	    void *arg), void *arg);
/* redo_crc32 - the records' checksum (zlib's crc32), for the fuzzer */
uint32_t redo_crc32(uint32_t crc, const unsigned char *p, size_t n);
/* redo_row - row i of a record's rows, as redo_scan handed them over */
void	redo_row(const unsigned char *rows, uint32_t i, struct store_usage *);

#endif
