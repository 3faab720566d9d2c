/*
 * redo - the redo log of the group commit (see redo.h).
 *
 * A record, 512-byte aligned and written whole with its zero padding (so
 * no older header survives inside it):
 *
 *	0	magic "MGRD" (u32)	12	crc32 of header and rows (u32)
 *	4	version 3 (u16), 0 (u16)	16	seq (u64)
 *	8	rows n (u32)		24	0 (u64)
 *	32	n rows of 31 fields (u64, little-endian): account, tat[12]
 *		(store_usage's, kind by kind, BUDGET_WINDOWS_MAX each),
 *		messages, recipients, bytes, held, released, refused,
 *		connections, last_seen, epoch, 0, owed[8] (kind by kind)
 *
 * Version 2 rows stop before owed (23 fields: nothing owed); version 1
 * (before budgets had windows) had 17 fields: account, tat[6] of the old
 * kinds, then the same counters.  Both are still read, so that a log
 * left by an older mailgovd is replayed after an upgrade.
 *
 * A record never crosses the end of a half.  Start-up probes every
 * 512-byte boundary, so it needs no index and survives a torn write (the
 * crc fails, the record is ignored: it was never acknowledged with
 * sync = full).
 *
 * Trusts: nothing read back from the file beyond its crc; rows then go
 * through the store, which range-checks and refuses older epochs.
 */
#define _GNU_SOURCE
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "redo.h"

#define REDO_MAGIC	0x4452474du	/* "MGRD" read as little-endian */
#define REDO_VERSION	3
#define REDO_ALIGN	512
#define REDO_HDR	32
#define N_TATS		(BK_RATES * BUDGET_WINDOWS_MAX)
#define N_OWED		(STORE_OWED_KINDS * BUDGET_WINDOWS_MAX)
#define REDO_FIELDS	(1 + N_TATS + 10 + N_OWED)
#define REDO_ROW	(REDO_FIELDS * 8)
#define REDO_ROW_V1	(17 * 8)
#define REDO_ROW_V2	((1 + N_TATS + 10) * 8)
#define REDO_HALF	(REDO_SIZE / 2)

_Static_assert(REDO_HDR + (size_t)REDO_ROWS_MAX * REDO_ROW <= REDO_HALF,
    "a record of REDO_ROWS_MAX rows fits in a half");

struct redo {
	int		 fd;
	int		 sync_full;
	int		 half;		/* where records go now: 0 or 1 */
	size_t		 pos;		/* next offset in that half */
	uint64_t	 half_max[2];	/* highest seq written in each */
	uint64_t	 next_seq;
	unsigned char	*buf;
	size_t		 bufcap;
};

/* --- encoding ------------------------------------------------------------ */

/* redo_crc32 - see redo.h: the zlib polynomial, table made on first use */
uint32_t
redo_crc32(uint32_t crc, const unsigned char *p, size_t n)
{
	static uint32_t tab[256];
	uint32_t c;
	size_t i;
	int k;

	if (tab[1] == 0)
		for (i = 0; i < 256; i++) {
			c = (uint32_t)i;
			for (k = 0; k < 8; k++)
				c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
			tab[i] = c;
		}
	crc = ~crc;
	for (i = 0; i < n; i++)
		crc = tab[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
	return ~crc;
}

static void
put32(unsigned char *p, uint32_t v)
{
	int i;

	for (i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void
put64(unsigned char *p, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t
get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static uint64_t
get64(const unsigned char *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

/* row_put - one usage row as REDO_FIELDS little-endian words */
static void
row_put(unsigned char *p, const struct store_usage *u)
{
	uint64_t f[REDO_FIELDS];
	int i, c = 1 + N_TATS;

	f[0] = (uint64_t)u->account;
	for (i = 0; i < N_TATS; i++)
		f[1 + i] = u->tat[i / BUDGET_WINDOWS_MAX][i % BUDGET_WINDOWS_MAX];
	f[c] = u->messages;
	f[c + 1] = u->recipients;
	f[c + 2] = u->bytes;
	f[c + 3] = u->held;
	f[c + 4] = u->released;
	f[c + 5] = u->refused;
	f[c + 6] = u->connections;
	f[c + 7] = (uint64_t)u->last_seen;
	f[c + 8] = (uint64_t)u->epoch;
	f[c + 9] = 0;
	for (i = 0; i < N_OWED; i++)
		f[c + 10 + i] =
		    u->owed[i / BUDGET_WINDOWS_MAX][i % BUDGET_WINDOWS_MAX];
	for (i = 0; i < REDO_FIELDS; i++)
		put64(p + 8 * i, f[i]);
}

/*
 * row_get - the inverse of row_put, for a record of version v.  A
 * version 1 row's tats were of the old kinds: messages per hour and per
 * day become the two messages windows, recipients per day and
 * connections per minute the first of theirs (as the schema migration
 * moves them); the caps had none.
 */
static void
row_get(const unsigned char *p, int v, struct store_usage *u)
{
	int i, c = v == 1 ? 7 : 1 + N_TATS;

	memset(u, 0, sizeof(*u));
	u->account = (int64_t)get64(p);
	if (v == 1) {
		u->tat[BK_MESSAGES][0] = get64(p + 8 * 1);
		u->tat[BK_MESSAGES][1] = get64(p + 8 * 2);
		u->tat[BK_RECIPIENTS][0] = get64(p + 8 * 3);
		u->tat[BK_NEW_CONN][0] = get64(p + 8 * 6);
	} else
		for (i = 0; i < N_TATS; i++)
			u->tat[i / BUDGET_WINDOWS_MAX][i % BUDGET_WINDOWS_MAX] =
			    get64(p + 8 * (1 + i));
	u->messages = get64(p + 8 * c);
	u->recipients = get64(p + 8 * (c + 1));
	u->bytes = get64(p + 8 * (c + 2));
	u->held = get64(p + 8 * (c + 3));
	u->released = get64(p + 8 * (c + 4));
	u->refused = get64(p + 8 * (c + 5));
	u->connections = get64(p + 8 * (c + 6));
	u->last_seen = (int64_t)get64(p + 8 * (c + 7));
	u->epoch = (int64_t)get64(p + 8 * (c + 8));
	if (v >= 3)
		for (i = 0; i < N_OWED; i++)
			u->owed[i / BUDGET_WINDOWS_MAX][i % BUDGET_WINDOWS_MAX] =
			    get64(p + 8 * (c + 10 + i));
}

/* version_of - the version of a record whose rows start at rows: its
 * header sits just before them (redo_scan hands rows over so) */
static int
version_of(const unsigned char *rows)
{
	return rows[-REDO_HDR + 4] | rows[-REDO_HDR + 5] << 8;
}

/* row_len - bytes a row of a version v record takes */
static size_t
row_len(int v)
{
	return v == 1 ? REDO_ROW_V1 : v == 2 ? REDO_ROW_V2 : REDO_ROW;
}

/* rec_len - bytes a record of n rows of version v takes, padding
 * included */
static size_t
rec_len(size_t n, int v)
{
	return (REDO_HDR + n * row_len(v) + REDO_ALIGN - 1) &
	    ~(size_t)(REDO_ALIGN - 1);
}

/* rec_check - the rows of a valid record at off in buf (len bytes of
 * the file from its start), else 0; its version in *v */
static uint32_t
rec_check(const unsigned char *buf, size_t len, size_t off, int *v)
{
	unsigned char hdr[REDO_HDR];
	size_t	 end = (off / REDO_HALF + 1) * REDO_HALF;
	uint32_t n, crc;

	if (end > len)
		end = len;
	if (off + REDO_HDR > end || get32(buf + off) != REDO_MAGIC)
		return 0;
	*v = buf[off + 4] | buf[off + 5] << 8;
	if (*v < 1 || *v > REDO_VERSION)
		return 0;
	n = get32(buf + off + 8);
	if (n == 0 || n > REDO_ROWS_MAX ||
	    off + REDO_HDR + (size_t)n * row_len(*v) > end)
		return 0;
	memcpy(hdr, buf + off, REDO_HDR);
	put32(hdr + 12, 0);
	crc = redo_crc32(0, hdr, REDO_HDR);
	crc = redo_crc32(crc, buf + off + REDO_HDR, (size_t)n * row_len(*v));
	return crc == get32(buf + off + 12) ? n : 0;
}

/* redo_scan - see redo.h */
size_t
redo_scan(const unsigned char *buf, size_t len,
    void (*cb)(uint64_t, const unsigned char *, uint32_t, void *), void *arg)
{
	size_t	 off, found = 0;
	uint32_t n;
	int	 v;

	for (off = 0; off + REDO_HDR <= len; off += REDO_ALIGN) {
		if ((n = rec_check(buf, len, off, &v)) == 0)
			continue;
		cb(get64(buf + off + 16), buf + off + REDO_HDR, n, arg);
		found++;
		/* its rows hold no header */
		off += rec_len(n, v) - REDO_ALIGN;
	}
	return found;
}

/* redo_row - see redo.h */
void
redo_row(const unsigned char *rows, uint32_t i, struct store_usage *u)
{
	int v = version_of(rows);

	row_get(rows + (size_t)i * row_len(v), v, u);
}

/* --- the file ------------------------------------------------------------ */

/* fill - zeroes from the file's size up to REDO_SIZE, synced: written, not
 * sparse, so that later writes and fdatasyncs never allocate */
static int
fill(int fd, off_t from)
{
	static const unsigned char zero[1 << 16];
	off_t	 off;
	size_t	 len;

	for (off = from; off < (off_t)REDO_SIZE; off += (off_t)len) {
		len = sizeof(zero);
		if (off + (off_t)len > (off_t)REDO_SIZE)
			len = (size_t)((off_t)REDO_SIZE - off);
		if (pwrite(fd, zero, len, off) != (ssize_t)len)
			return -1;
	}
	return fsync(fd);
}

struct redo *
redo_open(const char *path, int sync_full, char *err, size_t errlen)
{
	struct redo *r;
	struct stat sb;

	if ((r = calloc(1, sizeof(*r))) == NULL) {
		snprintf(err, errlen, "redo log: out of memory");
		return NULL;
	}
	r->sync_full = sync_full;
	r->next_seq = 1;
	if ((r->fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
	    0600)) == -1 || fstat(r->fd, &sb) == -1)
		goto fail;
	/* it holds every account's usage: others may not read it, whoever
	 * made it (as the database, see store.h) */
	if ((sb.st_mode & S_IRWXO) != 0 &&
	    fchmod(r->fd, sb.st_mode & (S_IRWXU | S_IRWXG)) == -1)
		goto fail;
	if (sb.st_size > (off_t)REDO_SIZE) {
		snprintf(err, errlen, "redo log %s: %lld bytes, not %u: not "
		    "this mailgov's", path, (long long)sb.st_size, REDO_SIZE);
		close(r->fd);
		free(r);
		return NULL;
	}
	/* new, or cut short while it was being made: zeroes are no record */
	if (sb.st_size < (off_t)REDO_SIZE && fill(r->fd, sb.st_size) == -1)
		goto fail;
	return r;
fail:
	snprintf(err, errlen, "redo log %s: %s", path, strerror(errno));
	if (r->fd != -1)
		close(r->fd);
	free(r);
	return NULL;
}

/* a record found at start-up */
struct found {
	uint64_t seq;
	const unsigned char *rows;
	uint32_t n;
};

struct scan {
	struct found	*f;
	size_t		 n, cap;
	uint64_t	 applied, top;
	int		 oom;
};

static int
found_cmp(const void *a, const void *b)
{
	const struct found *x = a, *y = b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* on_found - redo_scan's callback: keep the records above the mark */
static void
on_found(uint64_t seq, const unsigned char *rows, uint32_t n, void *arg)
{
	struct scan *sc = arg;
	struct found *nf;

	if (seq > sc->top)
		sc->top = seq;
	if (seq <= sc->applied || sc->oom)
		return;
	if (sc->n == sc->cap) {
		sc->cap = sc->cap ? sc->cap * 2 : 64;
		if ((nf = reallocarray(sc->f, sc->cap, sizeof(*nf))) == NULL) {
			sc->oom = 1;
			return;
		}
		sc->f = nf;
	}
	sc->f[sc->n].seq = seq;
	sc->f[sc->n].rows = rows;
	sc->f[sc->n].n = n;
	sc->n++;
}

int
redo_replay(struct redo *r, struct store *st)
{
	unsigned char *buf;
	struct scan sc;
	struct store_usage u;
	size_t	 i;
	uint32_t k;

	memset(&sc, 0, sizeof(sc));
	if (store_redo_applied(st, &sc.applied) == -1) {
		log_warnx("redo log: %s", store_error(st));
		return -1;
	}
	if ((buf = malloc(REDO_SIZE)) == NULL) {
		log_warnx("redo log: out of memory");
		return -1;
	}
	if (pread(r->fd, buf, REDO_SIZE, 0) != (ssize_t)REDO_SIZE) {
		log_warn("redo log: read");
		free(buf);
		return -1;
	}
	sc.top = sc.applied;
	(void)redo_scan(buf, REDO_SIZE, on_found, &sc);
	if (sc.oom) {
		log_warnx("redo log: out of memory");
		goto fail;
	}
	if (sc.n > 0)
		qsort(sc.f, sc.n, sizeof(*sc.f), found_cmp);
	if (store_begin(st) == -1)
		goto dberr;
	for (i = 0; i < sc.n; i++)
		for (k = 0; k < sc.f[i].n; k++) {
			redo_row(sc.f[i].rows, k, &u);
			/* 1: reset since (the reset wins); an account
			 * deleted since has nothing to write to */
			if (store_usage_put(st, &u) == -1 &&
			    strstr(store_error(st), "unknown account") == NULL)
				goto dberr;
		}
	if (store_redo_set_applied(st, sc.top) == -1 || store_commit(st) == -1)
		goto dberr;
	r->next_seq = sc.top + 1;
	r->half = 0;
	r->pos = 0;
	r->half_max[0] = r->half_max[1] = 0;	/* all at or below the mark */
	if (sc.n > 0)
		log_info("redo log: %zu records replayed (seq %llu..%llu)",
		    sc.n, (unsigned long long)sc.f[0].seq,
		    (unsigned long long)sc.f[sc.n - 1].seq);
	free(sc.f);
	free(buf);
	return (int)sc.n;
dberr:
	log_warnx("redo log: replay: %s", store_error(st));
	if (store_in_transaction(st))
		store_rollback(st);
fail:
	free(sc.f);
	free(buf);
	return -1;
}

int
redo_append(struct redo *r, const struct store_usage *rows, size_t n,
    uint64_t applied, uint64_t *seq)
{
	size_t	 len = rec_len(n, REDO_VERSION), i;
	unsigned char *nb;
	int	 other;

	if (n == 0 || n > REDO_ROWS_MAX) {
		errno = EINVAL;
		return -1;
	}
	if (r->pos + len > REDO_HALF) {
		other = !r->half;
		if (r->half_max[other] > applied)
			return 1;
		r->half = other;
		r->pos = 0;
		r->half_max[other] = 0;
	}
	if (len > r->bufcap) {
		if ((nb = realloc(r->buf, len)) == NULL)
			return -1;
		r->buf = nb;
		r->bufcap = len;
	}
	memset(r->buf, 0, len);
	put32(r->buf, REDO_MAGIC);
	r->buf[4] = REDO_VERSION;
	put32(r->buf + 8, (uint32_t)n);
	put64(r->buf + 16, r->next_seq);
	for (i = 0; i < n; i++)
		row_put(r->buf + REDO_HDR + i * REDO_ROW, &rows[i]);
	put32(r->buf + 12, redo_crc32(redo_crc32(0, r->buf, REDO_HDR),
	    r->buf + REDO_HDR, n * REDO_ROW));
	if (pwrite(r->fd, r->buf, len, (off_t)(r->half * REDO_HALF + r->pos))
	    != (ssize_t)len) {
		if (errno == 0)
			errno = EIO;
		return -1;
	}
	if (r->sync_full && fdatasync(r->fd) == -1)
		return -1;
	r->pos += len;
	r->half_max[r->half] = r->next_seq;
	*seq = r->next_seq++;
	return 0;
}

void
redo_close(struct redo *r)
{
	if (r == NULL)
		return;
	close(r->fd);
	free(r->buf);
	free(r);
}
