/*
 * test_redo - the redo log against a real scratch database: records
 * replayed oldest first and only above the applied mark, seq continuing
 * after a replay, a torn record ignored, the half switch held back until
 * the other half is applied, a reset not undone by an older record, and
 * files of the wrong size refused.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "redo.h"
#include "t.h"

static char dir[256], db[512], rpath[512];

/* scratch - a fresh directory and database with accounts a and b */
static struct store *
scratch(int64_t *a, int64_t *b)
{
	const char *t = getenv("TMPDIR");
	struct store *s;
	char err[256];

	snprintf(dir, sizeof(dir), "%s/mailgov-redo.XXXXXX", t ? t : "/tmp");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		exit(2);
	}
	snprintf(db, sizeof(db), "%s/mailgov.db", dir);
	snprintf(rpath, sizeof(rpath), "%s/mailgov.db-redo", dir);
	if ((s = store_open(db, STORE_CREATE, 1000, err, sizeof(err))) ==
	    NULL) {
		printf("not ok - store_open: %s\n", err);
		exit(1);
	}
	store_account_add(s, "a", 0, a);
	store_account_add(s, "b", 0, b);
	return s;
}

static void
cleanup(void)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
}

/* row - a usage row of account id with messages m */
static struct store_usage
row(int64_t id, uint64_t m)
{
	struct store_usage u;

	memset(&u, 0, sizeof(u));
	u.account = id;
	u.messages = m;
	u.tat[0][0] = 1000 + m;
	u.tat[BK_RATES - 1][BUDGET_WINDOWS_MAX - 1] = 2000 + m;
	u.owed[0][0] = 3000 + m;
	u.owed[STORE_OWED_KINDS - 1][BUDGET_WINDOWS_MAX - 1] = 4000 + m;
	u.last_seen = 1700000000;
	return u;
}

static uint64_t
messages(struct store *s, int64_t id)
{
	struct store_usage u;

	store_usage_get(s, id, &u);
	return u.messages;
}

static void
test_replay(void)
{
	struct store_usage rows[2];
	struct store *s;
	struct redo *r;
	struct stat sb;
	uint64_t seq, applied;
	int64_t a, b;
	char err[256];

	s = scratch(&a, &b);
	r = redo_open(rpath, 1, err, sizeof(err));
	T_OK(r != NULL, "redo_open: %s", r ? "" : err);
	if (r == NULL)
		return;
	T_OK(stat(rpath, &sb) == 0 && sb.st_size == REDO_SIZE &&
	    sb.st_blocks * 512 >= REDO_SIZE, "preallocated, not sparse");
	T_EQ_U(redo_replay(r, s), 0, "a new log replays nothing");
	rows[0] = row(a, 1);
	rows[1] = row(b, 7);
	T_EQ_U(redo_append(r, rows, 2, 0, &seq), 0, "append");
	T_EQ_U(seq, 1, "first seq");
	rows[0] = row(a, 2);
	T_EQ_U(redo_append(r, rows, 1, 0, &seq), 0, "append again");
	T_EQ_U(seq, 2, "second seq");
	redo_close(r);
	T_EQ_U(messages(s, a), 0, "the database has nothing yet");

	/* a start: both records, oldest first, then the mark */
	r = redo_open(rpath, 1, err, sizeof(err));
	T_EQ_U(redo_replay(r, s), 2, "two records replayed");
	T_EQ_U(messages(s, a), 2, "the newer row of a won");
	T_EQ_U(messages(s, b), 7, "b applied");
	{
		struct store_usage u;

		store_usage_get(s, b, &u);
		T_OK(u.tat[0][0] == 1007 && u.tat[BK_RATES - 1]
		    [BUDGET_WINDOWS_MAX - 1] == 2007, "every window's tat kept");
		T_OK(u.owed[0][0] == 3007 && u.owed[STORE_OWED_KINDS - 1]
		    [BUDGET_WINDOWS_MAX - 1] == 4007,
		    "what the node owes Redis kept");
	}
	store_redo_applied(s, &applied);
	T_EQ_U(applied, 2, "mark raised");
	rows[0] = row(a, 3);
	T_EQ_U(redo_append(r, rows, 1, applied, &seq), 0, "append after");
	T_EQ_U(seq, 3, "seq continues after the replay");
	redo_close(r);

	/* only above the mark; and a reset is not undone */
	T_EQ_U(store_usage_reset(s, "b", 1), 0, "reset b");
	r = redo_open(rpath, 1, err, sizeof(err));
	T_EQ_U(redo_replay(r, s), 1, "one record above the mark");
	T_EQ_U(messages(s, a), 3, "a from the third record");
	T_EQ_U(messages(s, b), 0, "b's reset stands");
	redo_close(r);
	store_close(s);
	cleanup();
}

/* put64le - v little-endian at p */
static void
put64le(unsigned char *p, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

/*
 * test_version1_replayed - a record an older mailgovd wrote (version 1:
 * six tats of the old kinds) is replayed after an upgrade, its tats
 * moved to the windows the schema migration moves them to
 */
static void
test_version1_replayed(void)
{
	unsigned char rec[512];
	struct store_usage u;
	struct store *s;
	struct redo *r;
	uint32_t crc;
	int64_t a, b;
	char err[256];
	int fd, i;

	s = scratch(&a, &b);
	r = redo_open(rpath, 1, err, sizeof(err));
	if (r == NULL) {
		T_OK(0, "redo_open: %s", err);
		return;
	}
	redo_close(r);
	memset(rec, 0, sizeof(rec));
	memcpy(rec, "MGRD", 4);
	rec[4] = 1;				/* version 1 */
	rec[8] = 1;				/* one row */
	put64le(rec + 16, 1);			/* seq */
	put64le(rec + 32, (uint64_t)a);
	for (i = 0; i < 6; i++)			/* tat0..tat5 */
		put64le(rec + 32 + 8 * (1 + i), 100 + (uint64_t)i);
	put64le(rec + 32 + 8 * 7, 9);		/* messages */
	crc = redo_crc32(0, rec, 32);
	crc = redo_crc32(crc, rec + 32, 17 * 8);
	for (i = 0; i < 4; i++)
		rec[12 + i] = (unsigned char)(crc >> (8 * i));
	if ((fd = open(rpath, O_WRONLY)) == -1 ||
	    pwrite(fd, rec, sizeof(rec), 0) != (ssize_t)sizeof(rec)) {
		T_OK(0, "write a version 1 record");
		if (fd != -1)
			close(fd);
		return;
	}
	close(fd);
	r = redo_open(rpath, 1, err, sizeof(err));
	T_EQ_U(redo_replay(r, s), 1, "a version 1 record replayed");
	store_usage_get(s, a, &u);
	T_EQ_U(u.messages, 9, "version 1: its counters");
	T_OK(u.tat[BK_MESSAGES][0] == 100 && u.tat[BK_MESSAGES][1] == 101 &&
	    u.tat[BK_RECIPIENTS][0] == 102 && u.tat[BK_NEW_CONN][0] == 105 &&
	    u.tat[BK_MESSAGES][2] == 0 && u.tat[BK_RECIPIENTS][1] == 0,
	    "version 1: the old kinds' tats on their new windows");
	redo_close(r);
	store_close(s);
	cleanup();
}

/*
 * test_version2_replayed - a record of version 2 (rows without what the
 * node owes Redis) is replayed after an upgrade: its rows, nothing owed
 */
static void
test_version2_replayed(void)
{
	unsigned char rec[512];
	struct store_usage u;
	struct store *s;
	struct redo *r;
	uint32_t crc;
	int64_t a, b;
	char err[256];
	int fd, i;

	s = scratch(&a, &b);
	r = redo_open(rpath, 1, err, sizeof(err));
	if (r == NULL) {
		T_OK(0, "redo_open: %s", err);
		return;
	}
	redo_close(r);
	memset(rec, 0, sizeof(rec));
	memcpy(rec, "MGRD", 4);
	rec[4] = 2;				/* version 2 */
	rec[8] = 1;				/* one row */
	put64le(rec + 16, 1);			/* seq */
	put64le(rec + 32, (uint64_t)a);
	put64le(rec + 32 + 8, 77);		/* tat0 */
	put64le(rec + 32 + 8 * 13, 5);		/* messages */
	crc = redo_crc32(0, rec, 32);
	crc = redo_crc32(crc, rec + 32, 23 * 8);
	for (i = 0; i < 4; i++)
		rec[12 + i] = (unsigned char)(crc >> (8 * i));
	if ((fd = open(rpath, O_WRONLY)) == -1 ||
	    pwrite(fd, rec, sizeof(rec), 0) != (ssize_t)sizeof(rec)) {
		T_OK(0, "write a version 2 record");
		if (fd != -1)
			close(fd);
		return;
	}
	close(fd);
	r = redo_open(rpath, 1, err, sizeof(err));
	T_EQ_U(redo_replay(r, s), 1, "a version 2 record replayed");
	store_usage_get(s, a, &u);
	T_OK(u.messages == 5 && u.tat[BK_MESSAGES][0] == 77,
	    "version 2: its counters and tats");
	T_OK(u.owed[0][0] == 0 && u.owed[1][0] == 0, "version 2: nothing owed");
	redo_close(r);
	store_close(s);
	cleanup();
}

static void
test_torn_record_ignored(void)
{
	struct store_usage u;
	struct store *s;
	struct redo *r;
	uint64_t seq;
	int64_t a, b;
	char err[256];
	int fd;

	s = scratch(&a, &b);
	r = redo_open(rpath, 0, err, sizeof(err));
	redo_replay(r, s);
	u = row(a, 5);
	redo_append(r, &u, 1, 0, &seq);
	u = row(b, 9);
	redo_append(r, &u, 1, 0, &seq);		/* at offset 512 */
	redo_close(r);
	/* a byte of the second record's row changes: its crc fails */
	if ((fd = open(rpath, O_RDWR)) != -1) {
		(void)!pwrite(fd, "x", 1, 512 + 40);
		close(fd);
	}
	r = redo_open(rpath, 0, err, sizeof(err));
	T_EQ_U(redo_replay(r, s), 1, "the torn record is skipped");
	T_EQ_U(messages(s, a), 5, "the whole one applied");
	T_EQ_U(messages(s, b), 0, "the torn one not");
	redo_close(r);
	store_close(s);
	cleanup();
}

static void
test_half_switch_waits_for_apply(void)
{
	static struct store_usage rows[REDO_ROWS_MAX];
	struct store *s;
	struct redo *r;
	uint64_t seq = 0, last = 0;
	int64_t a, b;
	char err[256];
	int i, rc = 0, n = 0;

	s = scratch(&a, &b);
	r = redo_open(rpath, 0, err, sizeof(err));
	redo_replay(r, s);
	for (i = 0; i < REDO_ROWS_MAX; i++)
		rows[i] = row(a, (uint64_t)i);
	/* big records fill half 0, then half 1, then want half 0 again */
	while ((rc = redo_append(r, rows, REDO_ROWS_MAX, 0, &seq)) == 0 &&
	    n < 100) {
		last = seq;
		n++;
	}
	T_EQ_U(rc, 1, "held back: half 0 still holds unapplied records");
	T_OK(n >= 6 && n < 20 && n % 2 == 0, "two equal halves of records "
	    "first (%d)", n);
	/* half 0 holds seqs 1..n/2 */
	T_EQ_U(redo_append(r, rows, REDO_ROWS_MAX, (uint64_t)n / 2 - 1, &seq),
	    1, "still held back below the newest record of half 0");
	T_EQ_U(redo_append(r, rows, REDO_ROWS_MAX, (uint64_t)n / 2, &seq), 0,
	    "written once half 0 is applied");
	T_EQ_U(seq, last + 1, "seq goes on");
	redo_close(r);
	store_close(s);
	cleanup();
}

static void
test_wrong_size_refused(void)
{
	struct redo *r;
	int64_t a, b;
	struct store *s = scratch(&a, &b);
	char err[256];
	int fd;

	if ((fd = open(rpath, O_CREAT | O_WRONLY, 0600)) != -1) {
		(void)!ftruncate(fd, (off_t)REDO_SIZE + 1);
		close(fd);
	}
	err[0] = '\0';
	r = redo_open(rpath, 0, err, sizeof(err));
	T_OK(r == NULL && strstr(err, "not this mailgov's") != NULL,
	    "a bigger file is refused: %s", err);
	redo_close(r);
	/* a short one (cut while being made) is filled up */
	if ((fd = open(rpath, O_WRONLY | O_TRUNC)) != -1)
		close(fd);
	r = redo_open(rpath, 0, err, sizeof(err));
	T_OK(r != NULL, "a short file is completed");
	T_EQ_U(redo_replay(r, s), 0, "and holds no record");
	redo_close(r);
	store_close(s);
	cleanup();
}

int
main(void)
{
	test_replay();
	test_version1_replayed();
	test_version2_replayed();
	test_torn_record_ignored();
	test_half_switch_waits_for_apply();
	test_wrong_size_refused();
	return t_done();
}
