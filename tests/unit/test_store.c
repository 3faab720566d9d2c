/*
 * test_store - the SQLite ledger: every store_* call, its refusals and
 * the one-line errors for a missing, newer, corrupt, read-only or locked
 * database.  Each test uses its own scratch directory.
 */
#include <sys/stat.h>
#include <sys/time.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store.h"
#include "t.h"

static char dir[256], path[512];

/* scratch - a fresh directory and a database path inside it */
static void
scratch(void)
{
	const char *t = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/mailgov-store.XXXXXX", t ? t : "/tmp");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		exit(2);
	}
	snprintf(path, sizeof(path), "%s/db/mailgov.db", dir);
}

static void
cleanup(void)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

static struct store *
fresh(void)
{
	char err[256];
	struct store *s;

	scratch();
	s = store_open(path, STORE_CREATE, 1000, err, sizeof(err));
	if (s == NULL) {
		printf("not ok - cannot create a store: %s\n", err);
		exit(1);
	}
	return s;
}

/* raw - a plain SQLite connection beside the store */
static sqlite3 *
raw(void)
{
	sqlite3 *db = NULL;

	if (sqlite3_open(path, &db) != SQLITE_OK) {
		printf("not ok - raw open failed\n");
		exit(1);
	}
	return db;
}

static double
now_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return tv.tv_sec * 1000.0 + tv.tv_usec / 1000.0;
}

static void
test_open_missing_is_an_error(void)
{
	char err[256], want[600];

	scratch();
	T_OK(store_open(path, 0, 100, err, sizeof(err)) == NULL,
	    "open without STORE_CREATE fails");
	snprintf(want, sizeof(want), "database %s does not exist", path);
	T_EQ_S(err, want, "missing database error");
	cleanup();
}

/* page_of - PRAGMA page_size of the file at path, via a plain connection */
static int
page_of(void)
{
	sqlite3 *db = raw();
	sqlite3_stmt *st = NULL;
	int ps = -1;

	if (sqlite3_prepare_v2(db, "PRAGMA page_size", -1, &st, NULL) ==
	    SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		ps = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return ps;
}

/* a new file gets 1 KiB pages (smaller group commits); an existing file
 * keeps the page size it was made with */
static void
test_new_file_has_small_pages(void)
{
	char err[256];
	struct store *s = fresh();

	T_EQ_U(page_of(), 1024, "new database: 1 KiB pages");
	store_close(s);
	s = store_open(path, STORE_CREATE, 100, err, sizeof(err));
	T_OK(s != NULL, "reopen with STORE_CREATE");
	T_EQ_U(page_of(), 1024, "still 1 KiB after reopening");
	store_close(s);
	cleanup();

	/* a file made with 4 KiB pages is left alone */
	scratch();
	s = store_open(path, STORE_CREATE, 100, err, sizeof(err));
	store_close(s);
	{
		sqlite3 *db = raw();

		T_OK(sqlite3_exec(db, "PRAGMA journal_mode = DELETE; "
		    "PRAGMA page_size = 4096; VACUUM; "
		    "PRAGMA journal_mode = WAL", NULL, NULL, NULL) == SQLITE_OK,
		    "convert to 4 KiB pages");
		sqlite3_close(db);
	}
	s = store_open(path, STORE_CREATE, 100, err, sizeof(err));
	T_OK(s != NULL, "open a 4 KiB file");
	T_EQ_U(page_of(), 4096, "an existing file keeps its page size");
	store_close(s);
	cleanup();
}

static void
test_create_makes_directory_and_default_account(void)
{
	struct store_account a;
	struct stat sb;
	struct store *s = fresh();
	char d[600];

	snprintf(d, sizeof(d), "%s/db", dir);
	T_OK(stat(d, &sb) == 0 && (sb.st_mode & 0777) == 0750,
	    "parent directory created 0750 (mode %o)", sb.st_mode & 0777);
	T_EQ_U(store_account_get(s, "default", &a), 0, "default exists");
	T_EQ_U(a.id, STORE_DEFAULT_ID, "default id");
	T_EQ_U(a.is_auto, 0, "default is not auto");
	T_OK(a.created > 0, "default has a creation time");
	store_close(s);
	/* reopen: no second migration, same data */
	s = store_open(path, 0, 100, d, sizeof(d));
	T_OK(s != NULL, "reopen existing database");
	T_EQ_U(store_account_get_id(s, 1, &a), 0, "default by id");
	T_EQ_S(a.name, "default", "default name");
	store_close(s);
	cleanup();
}

static void
test_account_add_get_del(void)
{
	struct store *s = fresh();
	struct store_account a;
	int64_t id = 0, id2 = 0;

	T_EQ_U(store_account_add(s, "alice", 0, &id), 0, "add alice");
	T_OK(id > 1, "alice id after default");
	T_EQ_U(store_account_add(s, "alice", 0, NULL), (uint64_t)-1,
	    "add alice twice");
	T_EQ_S(store_error(s), "account 'alice' already exists",
	    "duplicate account error");
	T_EQ_U(store_account_add(s, "Bad Name", 0, NULL), (uint64_t)-1,
	    "bad name refused");
	T_OK(strstr(store_error(s), "bad account name 'Bad Name'") != NULL,
	    "bad name error: %s", store_error(s));
	T_EQ_U(store_account_name_ok("a"), 1, "one char name");
	T_EQ_U(store_account_name_ok("-a"), 0, "leading dash");
	T_EQ_U(store_account_name_ok(
	    "a23456789012345678901234567890123456789012345678901234567890123"),
	    1, "63 chars");
	T_EQ_U(store_account_name_ok(
	    "a234567890123456789012345678901234567890123456789012345678901234"),
	    0, "64 chars");
	T_EQ_U(store_account_add(s, "bob.example_1-x", 1, &id2), 0, "add bob");
	T_EQ_U(store_account_get(s, "bob.example_1-x", &a), 0, "get bob");
	T_EQ_U(a.is_auto, 1, "bob is auto");
	T_EQ_U(a.id, id2, "bob id");
	T_EQ_U(store_account_get(s, "nope", &a), (uint64_t)-1, "get unknown");
	T_EQ_S(store_error(s), "unknown account 'nope'", "unknown account");
	T_EQ_U(store_account_del(s, "nope"), (uint64_t)-1, "del unknown");
	T_EQ_S(store_error(s), "unknown account 'nope'", "del unknown error");
	T_EQ_U(store_account_del(s, "default"), (uint64_t)-1, "del default");
	T_EQ_S(store_error(s), "the default account cannot be deleted",
	    "del default error");
	T_EQ_U(store_account_set_mode(s, "alice", MODE_REJECT), 0, "mode");
	T_EQ_U(store_account_set_mode(s, "alice", 9), (uint64_t)-1,
	    "bad mode");
	T_EQ_U(store_account_set_blocked(s, "alice", 1), 0, "block");
	T_EQ_U(store_account_set_blocked(s, "zed", 1), (uint64_t)-1,
	    "block unknown");
	T_EQ_S(store_error(s), "unknown account 'zed'", "block unknown error");
	T_EQ_U(store_account_get(s, "alice", &a), 0, "get alice");
	T_EQ_U(a.mode, MODE_REJECT, "mode stored");
	T_EQ_U(a.blocked, 1, "blocked stored");
	{
		char c[300];

		T_EQ_U(store_account_contact(s, a.id, c, sizeof(c)), 0,
		    "contact of a new account");
		T_EQ_S(c, "", "no contact at first");
		T_EQ_U(store_account_set_contact(s, "alice",
		    "alice+ops@example.net"), 0, "set a contact");
		T_EQ_U(store_account_contact(s, a.id, c, sizeof(c)), 0,
		    "read the contact");
		T_EQ_S(c, "alice+ops@example.net", "the contact stored");
		T_EQ_U(store_account_set_contact(s, "alice",
		    "a@example.net\r\nBcc: x@example.org"), (uint64_t)-1,
		    "a contact with a line break");
		T_OK(strncmp(store_error(s), "contact 'a@example.net\\x0d"
		    "\\x0aBcc", 30) == 0, "the refusal names it cleaned: %s",
		    store_error(s));
		T_EQ_U(store_account_set_contact(s, "alice", "a@b, c@d"),
		    (uint64_t)-1, "two contacts");
		T_EQ_U(store_account_set_contact(s, "alice", "postmaster"),
		    (uint64_t)-1, "a contact without a domain");
		T_EQ_U(store_account_set_contact(s, "zed", "a@example.net"),
		    (uint64_t)-1, "contact of an unknown account");
		T_EQ_U(store_account_contact(s, a.id, c, sizeof(c)), 0,
		    "read after refusals");
		T_EQ_S(c, "alice+ops@example.net", "refusals change nothing");
		/* written past mailgovctl: never handed on */
		sqlite3_exec(store_db(s), "UPDATE accounts SET contact = "
		    "'-oQ/x@example.net' WHERE name = 'alice'", 0, 0, 0);
		T_EQ_U(store_account_contact(s, a.id, c, sizeof(c)), 0,
		    "read a bad stored contact");
		T_EQ_S(c, "", "a bad stored contact reads as none");
		T_EQ_U(store_account_set_contact(s, "alice", ""), 0,
		    "remove the contact");
	}
	T_EQ_U(store_uid_add(s, "alice", 1000, 1000), 0, "alice uid");
	T_EQ_U(store_account_del(s, "alice"), 0, "del alice");
	T_EQ_U(store_account_get(s, "alice", &a), (uint64_t)-1, "alice gone");
	/* the cascade freed her uid */
	T_EQ_U(store_uid_add(s, "bob.example_1-x", 1000, 1000), 0,
	    "uid free after delete");
	store_close(s);
	cleanup();
}

static int
count_uid(int64_t acc, uint32_t lo, uint32_t hi, void *arg)
{
	(void)acc;
	*(uint64_t *)arg += (uint64_t)hi - lo + 1;
	return 0;
}

static void
test_uid_ranges_do_not_overlap(void)
{
	struct store *s = fresh();
	uint64_t n = 0;

	store_account_add(s, "x", 0, NULL);
	store_account_add(s, "y", 0, NULL);
	T_EQ_U(store_uid_add(s, "x", 1000, 1009), 0, "x 1000-1009");
	T_EQ_U(store_uid_add(s, "x", 1020, 1020), 0, "x 1020");
	T_EQ_U(store_uid_add(s, "y", 1005, 1005), (uint64_t)-1, "y 1005");
	T_EQ_S(store_error(s), "uid 1005 already belongs to account 'x'",
	    "overlap error");
	T_EQ_U(store_uid_add(s, "y", 990, 1000), (uint64_t)-1, "y 990-1000");
	T_EQ_S(store_error(s), "uid 1000 already belongs to account 'x'",
	    "overlap at the low end");
	T_EQ_U(store_uid_add(s, "y", 1010, 1030), (uint64_t)-1, "y 1010-1030");
	T_EQ_S(store_error(s), "uid 1020 already belongs to account 'x'",
	    "range spanning a single uid");
	T_EQ_U(store_uid_add(s, "y", 1010, 1019), 0, "y in the gap");
	T_EQ_U(store_uid_add(s, "x", 1009, 1009), (uint64_t)-1,
	    "own overlap too");
	T_EQ_U(store_uid_add(s, "y", 5, 4), (uint64_t)-1, "lo > hi");
	T_EQ_U(store_uid_add(s, "y", 7, 0xffffffffu), (uint64_t)-1,
	    "uid -1");
	T_EQ_U(store_uid_add(s, "default", 50, 50), (uint64_t)-1,
	    "default owns no uid");
	T_EQ_S(store_error(s), "the default account cannot own UIDs (it gets "
	    "every UID nobody owns)", "default uid error");
	T_EQ_U(store_uid_add(s, "nope", 60, 60), (uint64_t)-1, "unknown");
	T_EQ_S(store_error(s), "unknown account 'nope'", "unknown uid owner");
	T_EQ_U(store_uid_each(s, count_uid, &n), 0, "uid_each");
	T_EQ_U(n, 21, "uids covered");
	T_EQ_U(store_uid_del(s, "y", 1010, 1019), 0, "del range");
	T_EQ_U(store_uid_del(s, "y", 1010, 1019), (uint64_t)-1, "del again");
	T_EQ_S(store_error(s), "account 'y' does not own uid range 1010-1019",
	    "del missing error");
	T_EQ_U(store_uid_del(s, "y", 1020, 1020), (uint64_t)-1,
	    "del other's uid");
	store_close(s);
	cleanup();
}

static int
collect_str(int64_t acc, const char *v, void *arg)
{
	char *buf = arg;
	char one[300];

	snprintf(one, sizeof(one), "%lld:%s ", (long long)acc, v);
	strcat(buf, one);
	return 0;
}

static int
collect_gid(int64_t acc, uint32_t gid, void *arg)
{
	char *buf = arg;
	char one[64];

	snprintf(one, sizeof(one), "%lld:%u ", (long long)acc, gid);
	strcat(buf, one);
	return 0;
}

static int
collect_relay(int64_t acc, const char *h, uint16_t port, void *arg)
{
	char *buf = arg;
	char one[128];

	snprintf(one, sizeof(one), "%lld:%s:%u ", (long long)acc, h, port);
	strcat(buf, one);
	return 0;
}

static void
test_gid_domain_sasl_relay(void)
{
	struct store *s = fresh();
	char buf[1024];
	int64_t x, y;

	store_account_add(s, "x", 0, &x);
	store_account_add(s, "y", 0, &y);
	T_EQ_U(store_gid_add(s, "x", 3000), 0, "gid");
	T_EQ_U(store_gid_add(s, "y", 3000), (uint64_t)-1, "gid twice");
	T_EQ_S(store_error(s), "gid 3000 already belongs to account 'x'",
	    "gid error");
	T_EQ_U(store_gid_add(s, "default", 3001), (uint64_t)-1,
	    "default owns no gid");
	buf[0] = '\0';
	store_gid_each(s, collect_gid, buf);
	T_OK(strcmp(buf, "2:3000 ") == 0, "gid_each: %s", buf);
	T_EQ_U(store_gid_del(s, "y", 3000), (uint64_t)-1, "gid del other's");
	T_EQ_U(store_gid_del(s, "x", 3000), 0, "gid del");

	T_EQ_U(store_domain_add(s, "x", "Example.ORG"), 0, "domain");
	T_EQ_U(store_domain_add(s, "y", "example.org"), (uint64_t)-1,
	    "domain twice, other case");
	T_EQ_S(store_error(s), "domain 'example.org' already belongs to "
	    "account 'x'", "domain error");
	T_EQ_U(store_domain_add(s, "y", "bad domain"), (uint64_t)-1,
	    "bad domain");
	T_EQ_U(store_domain_add(s, "y", "a..b"), (uint64_t)-1, "empty label");
	T_EQ_U(store_domain_add(s, "default", "d.example"), 0,
	    "default may own a domain");
	buf[0] = '\0';
	store_domain_each(s, collect_str, buf);
	T_OK(strcmp(buf, "1:d.example 2:example.org ") == 0,
	    "domain_each: %s", buf);
	T_EQ_U(store_domain_del(s, "x", "EXAMPLE.org"), 0, "domain del");

	T_EQ_U(store_sasl_add(s, "x", "joe@example.org"), 0, "sasl");
	T_EQ_U(store_sasl_add(s, "y", "joe@example.org"), (uint64_t)-1,
	    "sasl twice");
	T_EQ_S(store_error(s), "SASL user 'joe@example.org' already belongs "
	    "to account 'x'", "sasl error");
	T_EQ_U(store_sasl_add(s, "y", "a b"), (uint64_t)-1, "sasl space");
	T_EQ_U(store_sasl_add(s, "nope", "z"), (uint64_t)-1, "sasl unknown");
	T_EQ_S(store_error(s), "unknown account 'nope'", "sasl unknown error");
	buf[0] = '\0';
	store_sasl_each(s, collect_str, buf);
	T_OK(strcmp(buf, "2:joe@example.org ") == 0, "sasl_each: %s", buf);
	T_EQ_U(store_sasl_del(s, "y", "joe@example.org"), (uint64_t)-1,
	    "sasl del other's");
	T_EQ_S(store_error(s), "account 'y' does not own SASL user "
	    "'joe@example.org'", "sasl del error");
	T_EQ_U(store_sasl_del(s, "x", "joe@example.org"), 0, "sasl del");

	T_EQ_U(store_relay_add(s, "x", "192.0.2.1", 587), 0, "relay v4");
	T_EQ_U(store_relay_add(s, "x", "2001:DB8:0::1", 25), 0, "relay v6");
	T_EQ_U(store_relay_add(s, "x", "192.0.2.1", 587), (uint64_t)-1,
	    "relay twice");
	T_EQ_U(store_relay_add(s, "y", "192.0.2.1", 587), 0,
	    "same relay, other account");
	T_EQ_U(store_relay_add(s, "x", "mx.example", 25), (uint64_t)-1,
	    "relay by name refused");
	buf[0] = '\0';
	store_relay_each(s, collect_relay, buf);
	T_OK(strcmp(buf, "2:192.0.2.1:587 2:2001:db8::1:25 3:192.0.2.1:587 ")
	    == 0, "relay_each (canonical v6): %s", buf);
	T_EQ_U(store_relay_del(s, "x", "2001:db8::1", 25), 0, "relay del");
	T_EQ_U(store_relay_del(s, "x", "2001:db8::1", 25), (uint64_t)-1,
	    "relay del again");
	store_close(s);
	cleanup();
}

static void
test_budgets(void)
{
	struct store *s = fresh();
	struct store_account a;
	struct budget b = { 1, { { 100, 3600000000ULL, 10 } } };
	struct budget u = { 1, { { BUDGET_UNLIMITED, 3600000000ULL, 0 } } };

	store_account_add(s, "x", 0, NULL);
	T_EQ_U(store_budget_set(s, "x", BK_MESSAGES, &b), 0, "set budget");
	T_EQ_U(store_budget_set(s, "x", BK_RECIPIENTS, &u), 0, "set unlimited");
	T_EQ_U(store_account_get(s, "x", &a), 0, "get x");
	T_EQ_U(a.has[BK_MESSAGES], 1, "has msg/hour");
	T_EQ_U(a.budget[BK_MESSAGES].w[0].limit, 100, "limit");
	T_EQ_U(a.budget[BK_MESSAGES].w[0].period_us, 3600000000ULL, "period");
	T_EQ_U(a.budget[BK_MESSAGES].w[0].burst, 10, "burst");
	T_EQ_U(a.budget[BK_RECIPIENTS].w[0].limit, BUDGET_UNLIMITED, "unlimited");
	T_EQ_U(a.has[BK_NEW_CONN], 0, "no new_connections row");
	T_EQ_U(store_budget_set(s, "x", BK_MESSAGES, NULL), 0, "clear");
	T_EQ_U(store_account_get(s, "x", &a), 0, "get x again");
	T_EQ_U(a.has[BK_MESSAGES], 0, "cleared to default");
	T_EQ_U(store_budget_set(s, "default", BK_MESSAGES, &u), (uint64_t)-1,
	    "default unlimited");
	T_EQ_S(store_error(s), "the default account cannot have an unlimited "
	    "budget", "default unlimited error");
	T_EQ_U(store_budget_set(s, "default", BK_MESSAGES, &b), 0,
	    "default limited");
	{
		struct budget two = { 2, { { 5, 60000000ULL, 0 },
		    { 50, 86400000000ULL, 0 } } };

		T_EQ_U(store_budget_set(s, "x", BK_MESSAGES, &two), 0,
		    "two windows");
		T_EQ_U(store_budget_set(s, "x", BK_MESSAGES, &b), 0,
		    "one window over two");
		store_account_get(s, "x", &a);
		T_OK(a.budget[BK_MESSAGES].n == 1 &&
		    a.budget[BK_MESSAGES].w[0].limit == 100,
		    "set replaces every window of the kind");
		store_budget_set(s, "x", BK_MESSAGES, &two);
		store_account_get(s, "x", &a);
		T_OK(a.budget[BK_MESSAGES].n == 2 &&
		    a.budget[BK_MESSAGES].w[1].period_us == 86400000000ULL,
		    "two windows back, in order");
		two.n = BUDGET_WINDOWS_MAX + 1;
		T_EQ_U(store_budget_set(s, "x", BK_MESSAGES, &two),
		    (uint64_t)-1, "too many windows");
		two.n = 2;
		T_EQ_U(store_budget_set(s, "x", BK_CONN, &two), (uint64_t)-1,
		    "windows on a cap");
		two.n = 0;
		T_EQ_U(store_budget_set(s, "x", BK_MESSAGES, &two),
		    (uint64_t)-1, "no window");
	}
	b.w[0].period_us = 0;
	T_EQ_U(store_budget_set(s, "x", BK_MESSAGES, &b), (uint64_t)-1,
	    "zero period on a rate");
	T_EQ_U(store_budget_set(s, "x", BK_RCPT_MSG, &b), 0,
	    "zero period on a cap");
	T_EQ_U(store_budget_set(s, "x", BK_COUNT, &u), (uint64_t)-1,
	    "bad kind");
	T_EQ_U(store_budget_set(s, "nope", BK_CONN, NULL), (uint64_t)-1,
	    "budget unknown account");
	store_close(s);
	cleanup();
}

static int
count_usage(const struct store_usage *u, void *arg)
{
	(void)u;
	(*(int *)arg)++;
	return 0;
}

static void
test_usage(void)
{
	struct store *s = fresh();
	struct store_usage u, g;
	struct store_account a;
	int64_t x;
	int n = 0, k;
	double t0, t1;

	store_account_add(s, "x", 0, &x);
	T_EQ_U(store_usage_get(s, x, &g), 0, "get without a row");
	T_EQ_U(g.account, x, "zero usage names the account");
	T_EQ_U(g.messages + g.tat[0][0], 0, "zero usage");
	memset(&u, 0, sizeof(u));
	u.account = x;
	for (k = 0; k < BK_RATES * BUDGET_WINDOWS_MAX; k++)
		u.tat[k / BUDGET_WINDOWS_MAX][k % BUDGET_WINDOWS_MAX] =
		    1000 + (uint64_t)k;
	u.messages = 5;
	u.recipients = 7;
	u.bytes = UINT64_MAX;	/* clamps, never wraps negative */
	u.held = 1;
	u.released = 2;
	u.refused = 3;
	u.connections = 4;
	u.last_seen = 1700000000;
	for (k = 0; k < STORE_OWED_KINDS * BUDGET_WINDOWS_MAX; k++)
		u.owed[k / BUDGET_WINDOWS_MAX][k % BUDGET_WINDOWS_MAX] =
		    2000 + (uint64_t)k;
	T_EQ_U(store_usage_put(s, &u), 0, "put");
	u.messages = 6;
	T_EQ_U(store_usage_put(s, &u), 0, "put again (upsert)");
	T_EQ_U(store_usage_get(s, x, &g), 0, "get");
	T_EQ_U(g.tat[1][1], 1005, "tat5");
	T_EQ_U(g.tat[2][3], 1011, "tat11");
	T_EQ_U(g.messages, 6, "messages");
	T_EQ_U(g.bytes, INT64_MAX, "bytes clamped");
	T_EQ_U(g.connections, 4, "connections");
	T_EQ_U(g.last_seen, 1700000000, "last_seen");
	T_EQ_U(g.owed[0][0], 2000, "owed0");
	T_EQ_U(g.owed[1][3], 2007, "owed7");
	u.account = 999;
	T_EQ_U(store_usage_put(s, &u), (uint64_t)-1, "put unknown account");
	T_EQ_S(store_error(s), "unknown account id 999", "put unknown error");
	T_EQ_U(store_usage_each(s, count_usage, &n), 0, "each");
	T_EQ_U(n, 1, "one usage row");
	T_EQ_U(store_usage_reset(s, "x", 0), 0, "reset engine state");
	store_usage_get(s, x, &g);
	T_EQ_U(g.tat[0][0] + g.tat[1][1] + g.tat[2][3], 0, "tat zeroed");
	T_EQ_U(g.owed[0][0] + g.owed[1][3], 0,
	    "what was owed to Redis forgotten too (the reset empties it)");
	T_EQ_U(g.messages, 6, "counters kept");
	T_EQ_U(store_usage_reset(s, "x", 1), 0, "reset all");
	store_usage_get(s, x, &g);
	T_EQ_U(g.messages, 0, "counters zeroed");
	T_EQ_U(store_usage_reset(s, "nope", 1), (uint64_t)-1, "reset unknown");

	/* a write from before a reset must not undo it */
	T_EQ_U(g.epoch, 2, "each reset a new epoch");
	u.account = x;
	u.epoch = 0;
	u.messages = 77;
	T_EQ_U(store_usage_put(s, &u), 1, "put from an older epoch refused");
	store_usage_get(s, x, &g);
	T_EQ_U(g.messages, 0, "the reset stands");
	u.epoch = 2;
	T_EQ_U(store_usage_put(s, &u), 0, "put from the current epoch");
	store_usage_get(s, x, &g);
	T_EQ_U(g.messages, 77, "written");
	store_account_add(s, "fresh-one", 0, NULL);
	T_EQ_U(store_usage_reset(s, "fresh-one", 0), 0, "reset, no row yet");
	store_account_get(s, "fresh-one", &a);
	store_usage_get(s, a.id, &g);
	T_EQ_U(g.epoch, 1, "the reset made a row");
	u.account = a.id;
	u.epoch = 0;
	T_EQ_U(store_usage_put(s, &u), 1, "usage older than that row refused");

	/* group commit: 1000 accounts in one transaction */
	store_begin(s);
	for (k = 0; k < 1000; k++) {
		char name[32];

		snprintf(name, sizeof(name), "g%d", k);
		store_account_add(s, name, 0, NULL);
	}
	store_commit(s);
	t0 = now_ms();
	T_EQ_U(store_begin(s), 0, "begin group commit");
	for (k = 0; k < 1000; k++) {
		u.account = x + 1 + k;
		if (store_usage_put(s, &u) == -1)
			break;
	}
	T_EQ_U(k, 1000, "1000 upserts");
	T_EQ_U(store_commit(s), 0, "commit group");
	t1 = now_ms();
	printf("# 1000 usage upserts + commit (synchronous=FULL): %.2f ms\n",
	    t1 - t0);
	store_close(s);
	cleanup();
}

struct heldlist {
	char	ids[512];
};

static int
collect_held(const struct store_held *h, void *arg)
{
	struct heldlist *l = arg;

	strcat(l->ids, h->queue_id);
	strcat(l->ids, h->prepaid ? "$ " : " ");
	return 0;
}

static void
test_held(void)
{
	struct store *s = fresh();
	struct store_held h;
	struct heldlist l;
	int64_t x, y;

	store_account_add(s, "x", 0, &x);
	store_account_add(s, "y", 0, &y);
	memset(&h, 0, sizeof(h));
	h.account = x;
	h.recipients = 2;
	h.size = 1234;
	snprintf(h.sender, sizeof(h.sender), "a@example.org");
	snprintf(h.queue_id, sizeof(h.queue_id), "B2B2B2");
	h.since = 200;
	T_EQ_U(store_held_add(s, &h), 0, "hold B2");
	snprintf(h.queue_id, sizeof(h.queue_id), "A1A1A1");
	h.since = 100;
	T_EQ_U(store_held_add(s, &h), 0, "hold A1");
	snprintf(h.queue_id, sizeof(h.queue_id), "C3C3C3");
	h.account = y;
	h.since = 150;
	h.prepaid = 1;
	T_EQ_U(store_held_add(s, &h), 0, "hold C3, prepaid");
	h.prepaid = 0;
	T_EQ_U(store_held_add(s, &h), (uint64_t)-1, "hold C3 twice");
	T_EQ_S(store_error(s), "queue id C3C3C3 is already held", "dup held");
	snprintf(h.queue_id, sizeof(h.queue_id), "bad/id");
	T_EQ_U(store_held_add(s, &h), (uint64_t)-1, "bad queue id");
	snprintf(h.queue_id, sizeof(h.queue_id), "D4D4D4");
	h.account = 4242;
	T_EQ_U(store_held_add(s, &h), (uint64_t)-1, "held unknown account");
	T_EQ_S(store_error(s), "unknown account id 4242", "held unknown error");

	memset(&l, 0, sizeof(l));
	store_held_each(s, -1, HELD, collect_held, &l);
	T_EQ_S(l.ids, "A1A1A1 C3C3C3$ B2B2B2 ", "all held, oldest first, C3 prepaid");
	memset(&l, 0, sizeof(l));
	store_held_each(s, x, HELD, collect_held, &l);
	T_EQ_S(l.ids, "A1A1A1 B2B2B2 ", "x's held");
	T_EQ_U(store_held_set_state(s, "A1A1A1", HELD_RELEASED), 0, "release A1");
	T_EQ_U(store_held_set_state(s, "ZZZZZZ", HELD_RELEASED), (uint64_t)-1,
	    "unknown queue id");
	T_EQ_S(store_error(s), "unknown queue id 'ZZZZZZ'", "unknown queue id err");
	memset(&l, 0, sizeof(l));
	store_held_each(s, x, HELD, collect_held, &l);
	T_EQ_S(l.ids, "B2B2B2 ", "x's still held");
	memset(&l, 0, sizeof(l));
	store_held_each(s, -1, -1, collect_held, &l);
	T_EQ_S(l.ids, "A1A1A1 C3C3C3$ B2B2B2 ", "any state");
	/* a released queue id may be reused by Postfix */
	snprintf(h.queue_id, sizeof(h.queue_id), "A1A1A1");
	h.account = y;
	h.since = 300;
	T_EQ_U(store_held_add(s, &h), 0, "reuse released queue id");
	memset(&l, 0, sizeof(l));
	store_held_each(s, y, HELD, collect_held, &l);
	T_EQ_S(l.ids, "C3C3C3$ A1A1A1 ", "y's held after reuse");
	{
		uint64_t n, bytes;
		int64_t oldest;

		T_EQ_U(store_held_summary(s, y, &n, &bytes, &oldest), 0,
		    "summary of y");
		T_EQ_U(n, 2, "y holds two");
		T_EQ_U(bytes, 2468, "y's bytes");
		T_EQ_U(oldest, 150, "y's oldest");
		T_EQ_U(store_held_summary(s, 4242, &n, &bytes, &oldest), 0,
		    "summary of nobody");
		T_OK(n == 0 && bytes == 0 && oldest == 0, "nothing held");
	}
	store_close(s);
	cleanup();
}

/* An explicit account claiming an auto account's UID takes over its held
 * mail and its budget state; the auto account goes.  Explicit owners are
 * still refused, and an account with held mail cannot be deleted. */
static void
test_explicit_account_takes_over_auto_uid(void)
{
	struct store *s = fresh();
	struct store_held h;
	struct store_usage u;
	struct store_account a;
	struct heldlist l;
	int64_t aut, shop;

	T_EQ_U(store_account_add_auto(s, "mgweb1", 64001, &aut), 0, "auto");
	memset(&u, 0, sizeof(u));
	u.account = aut;
	u.tat[BK_MESSAGES][0] = 777;
	u.messages = 9;
	T_EQ_U(store_usage_put(s, &u), 0, "auto usage");
	memset(&h, 0, sizeof(h));
	h.account = aut;
	h.since = 100;
	snprintf(h.queue_id, sizeof(h.queue_id), "AB12CD");
	T_EQ_U(store_held_add(s, &h), 0, "auto held");

	T_EQ_U(store_account_del(s, "mgweb1"), (uint64_t)-1, "del with held");
	T_EQ_S(store_error(s), "account 'mgweb1' has 1 held message: release "
	    "or delete it first (mailgovctl hold release|delete mgweb1)",
	    "del with held error");

	T_EQ_U(store_account_add(s, "shop", 0, &shop), 0, "shop");
	T_EQ_U(store_uid_add(s, "shop", 64000, 64009), 0, "shop claims range");
	T_EQ_U(store_account_get(s, "mgweb1", &a), (uint64_t)-1, "auto gone");
	memset(&l, 0, sizeof(l));
	store_held_each(s, shop, HELD, collect_held, &l);
	T_EQ_S(l.ids, "AB12CD ", "held mail moved to shop");
	memset(&u, 0, sizeof(u));
	T_EQ_U(store_usage_get(s, shop, &u), 0, "shop usage");
	T_EQ_U(u.tat[BK_MESSAGES][0], 777, "budget state moved");
	T_EQ_U(u.messages, 9, "counters moved");

	T_EQ_U(store_account_add(s, "blog", 0, NULL), 0, "blog");
	T_EQ_U(store_uid_add(s, "blog", 64005, 64005), (uint64_t)-1,
	    "explicit owner kept");
	T_EQ_S(store_error(s), "uid 64005 already belongs to account 'shop'",
	    "explicit owner error");
	store_close(s);
	cleanup();
}

static int
collect_event(int64_t ts, int64_t acc, const char *kind, const char *detail,
    void *arg)
{
	char *buf = arg;
	char one[200];

	(void)ts;
	snprintf(one, sizeof(one), "%lld:%s:%s ", (long long)acc, kind, detail);
	strcat(buf, one);
	return 0;
}

static void
test_events(void)
{
	struct store *s = fresh();
	char buf[1024];
	int64_t x;

	store_account_add(s, "x", 0, &x);
	T_EQ_U(store_event(s, x, "over", "one"), 0, "event 1");
	T_EQ_U(store_event(s, 0, "start", "two"), 0, "event without account");
	T_EQ_U(store_event(s, x, "over", "three"), 0, "event 3");
	T_EQ_U(store_event(s, 777, "over", "x"), (uint64_t)-1,
	    "event unknown account");
	T_EQ_U(store_event(s, x, "", "x"), (uint64_t)-1, "event without kind");
	buf[0] = '\0';
	store_event_each(s, -1, 0, collect_event, buf);
	T_EQ_S(buf, "2:over:one 0:start:two 2:over:three ", "all events");
	buf[0] = '\0';
	store_event_each(s, -1, 2, collect_event, buf);
	T_EQ_S(buf, "0:start:two 2:over:three ", "last two, oldest first");
	buf[0] = '\0';
	store_event_each(s, x, 0, collect_event, buf);
	T_EQ_S(buf, "2:over:one 2:over:three ", "x's events");
	store_close(s);
	cleanup();
}

static void
test_transactions_nest(void)
{
	struct store *s = fresh();
	struct store_account a;

	store_account_add(s, "x", 0, NULL);
	store_uid_add(s, "x", 10, 10);
	T_EQ_U(store_begin(s), 0, "begin");
	T_EQ_U(store_begin(s), (uint64_t)-1, "begin twice");
	T_EQ_U(store_account_add(s, "y", 0, NULL), 0, "add y inside");
	T_EQ_U(store_uid_add(s, "y", 10, 10), (uint64_t)-1,
	    "failing call inside");
	T_EQ_U(store_in_transaction(s), 1, "caller's transaction survives");
	T_EQ_U(store_account_get(s, "y", &a), 0, "y still there");
	T_EQ_U(store_account_add_auto(s, "x", 11, NULL), (uint64_t)-1,
	    "auto add with taken name");
	T_EQ_U(store_uid_add(s, "y", 11, 11), 0, "uid 11 not left behind");
	store_rollback(s);
	T_EQ_U(store_in_transaction(s), 0, "rolled back");
	T_EQ_U(store_account_get(s, "y", &a), (uint64_t)-1, "y undone");
	T_EQ_U(store_account_add_auto(s, "z", 12, NULL), 0, "auto add");
	T_EQ_U(store_account_get(s, "z", &a), 0, "z exists");
	T_EQ_U(a.is_auto, 1, "z is auto");
	T_EQ_U(store_account_add_auto(s, "w", 12, NULL), (uint64_t)-1,
	    "auto add with an auto account's uid");
	T_EQ_U(store_account_get(s, "z", &a), 0, "z kept its uid");
	T_EQ_U(store_uid_add(s, "x", 12, 12), 0, "explicit x takes over 12");
	T_EQ_U(store_account_get(s, "z", &a), (uint64_t)-1, "z taken over");
	T_EQ_U(store_account_add_auto(s, "w", 12, NULL), (uint64_t)-1,
	    "auto add with taken uid");
	T_EQ_U(store_account_get(s, "w", &a), (uint64_t)-1, "no half account");
	store_close(s);
	cleanup();
}

static void
test_changed_sees_other_connections(void)
{
	struct store *s = fresh(), *o;
	char err[256];

	o = store_open(path, 0, 1000, err, sizeof(err));
	T_OK(o != NULL, "second connection");
	T_EQ_U(store_changed(s), 0, "nothing yet");
	store_account_add(s, "mine", 0, NULL);
	T_EQ_U(store_changed(s), 0, "own commit is not a change");
	store_account_add(o, "theirs", 0, NULL);
	T_EQ_U(store_changed(s), 1, "their commit is");
	T_EQ_U(store_changed(s), 0, "and only once");
	{
		struct store_usage u = { .account = 1, .messages = 3 };

		store_usage_put(o, &u);
		store_event(o, 1, "x", "y");
	}
	T_EQ_U(store_changed(s), 0, "usage and events are not");
	store_sasl_add(o, "theirs", "t@example.org");
	T_EQ_U(store_changed(s), 1, "an identity is");
	store_sasl_del(o, "theirs", "nobody@example.org");
	T_EQ_U(store_changed(s), 0, "a refused change is not");
	store_usage_reset(o, "default", 1);
	T_EQ_U(store_changed(s), 1, "a usage reset is");
	store_close(o);
	store_close(s);
	cleanup();
}

/* OWED_DROP - usage as before version 8: nothing owed to Redis */
#define OWED_DROP \
	"ALTER TABLE usage DROP COLUMN owed0; ALTER TABLE usage DROP COLUMN owed1;" \
	"ALTER TABLE usage DROP COLUMN owed2; ALTER TABLE usage DROP COLUMN owed3;" \
	"ALTER TABLE usage DROP COLUMN owed4; ALTER TABLE usage DROP COLUMN owed5;" \
	"ALTER TABLE usage DROP COLUMN owed6; ALTER TABLE usage DROP COLUMN owed7;"

/*
 * TO_V4 - turn a new file back into schema version 4: budgets by kind
 * alone (0 messages_per_hour, 1 messages_per_day, 2 recipients_per_day,
 * 3 recipients_per_message, 4 connections, 5 connections_per_minute),
 * usage with tat0..tat5
 */
#define TO_V4 \
	"DROP TABLE budgets;" \
	"CREATE TABLE budgets (" \
	"  account INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE," \
	"  kind INTEGER NOT NULL, lim INTEGER NOT NULL," \
	"  period_us INTEGER NOT NULL, burst INTEGER NOT NULL DEFAULT 0," \
	"  PRIMARY KEY (account, kind)) WITHOUT ROWID;" \
	"ALTER TABLE usage DROP COLUMN tat6; ALTER TABLE usage DROP COLUMN tat7;" \
	"ALTER TABLE usage DROP COLUMN tat8; ALTER TABLE usage DROP COLUMN tat9;" \
	"ALTER TABLE usage DROP COLUMN tat10;" \
	"ALTER TABLE usage DROP COLUMN tat11;" \
	"ALTER TABLE accounts DROP COLUMN contact;" \
	"DROP TABLE scripts; ALTER TABLE held DROP COLUMN pid;" \
	"ALTER TABLE held DROP COLUMN exe; ALTER TABLE held DROP COLUMN cwd;" \
	"ALTER TABLE held DROP COLUMN cmd;" \
	"ALTER TABLE held DROP COLUMN script;" \
	OWED_DROP \
	"UPDATE schema_version SET version = 4;"
/* script_sum - what store_script_each gave */
struct script_sum {
	unsigned	 rows;
	uint64_t	 total, other, first;
	char		 top[ORIGIN_MAX];
};

static int
script_row(const char *script, uint64_t n, int64_t last, void *arg)
{
	struct script_sum *m = arg;

	(void)last;
	if (m->rows++ == 0) {
		snprintf(m->top, sizeof(m->top), "%s", script);
		m->first = n;
	}
	m->total += n;
	if (strcmp(script, STORE_SCRIPT_OTHER) == 0)
		m->other += n;
	return 0;
}

/* held_first - keep a copy of the first held row */
static int
held_first(const struct store_held *h, void *arg)
{
	struct store_held **out = arg;

	if ((*out = malloc(sizeof(**out))) != NULL)
		memcpy(*out, h, sizeof(**out));
	return 1;
}

/* messages per script: a web user's invented names stop at the bound,
 * the rest count as "(other)"; a hostile name comes back clean */
static void
test_scripts_bounded(void)
{
	struct store *s = fresh();
	struct store_held h, *got = NULL;
	struct script_sum m;
	char name[64];
	int64_t x;
	unsigned i;
	sqlite3 *db;

	store_account_add(s, "site", 0, &x);
	T_EQ_U(store_script_count(s, x, "/var/www/a.php", 5, 100), 0,
	    "counted");
	for (i = 0; i < 3 * STORE_SCRIPTS_MAX; i++) {
		snprintf(name, sizeof(name), "rand%u.php", i);
		store_script_count(s, x, name, 1, 101);
	}
	memset(&m, 0, sizeof(m));
	T_EQ_U(store_script_each(s, x, 0, script_row, &m), 0, "listed");
	T_EQ_U(m.rows, STORE_SCRIPTS_MAX + 1, "at most the bound, and (other)");
	T_EQ_U(m.total, 5 + 3 * STORE_SCRIPTS_MAX, "no message lost");
	T_EQ_U(m.other, 2 * STORE_SCRIPTS_MAX + 1, "the rest as (other)");
	T_EQ_S(m.top, STORE_SCRIPT_OTHER, "the biggest first");
	memset(&m, 0, sizeof(m));
	store_script_each(s, x, 2, script_row, &m);
	T_EQ_U(m.rows, 2, "limit");
	/* a row written behind mailgovd's back is read clean */
	memset(&h, 0, sizeof(h));
	snprintf(h.queue_id, sizeof(h.queue_id), "ABCDEF123");
	h.account = x;
	h.origin.pid = 42;
	snprintf(h.origin.script, sizeof(h.origin.script), "x.php");
	T_EQ_U(store_held_add(s, &h), 0, "held with its origin");
	store_close(s);
	db = raw();
	sqlite3_exec(db, "UPDATE held SET cwd = 'a b' || char(10) || 'c'",
	    0, 0, 0);
	sqlite3_close(db);
	s = store_open(path, 0, 100, name, sizeof(name));
	if (s == NULL)
		return;
	store_held_each(s, x, -1, held_first, &got);
	T_OK(got != NULL && got->origin.pid == 42 &&
	    strcmp(got->origin.script, "x.php") == 0 &&
	    strcmp(got->origin.cwd, "a%20b%0ac") == 0,
	    "origin back, a hostile cwd clean: %s", got ? got->origin.cwd : "");
	free(got);
	store_close(s);
	cleanup();
}

/* a version 1 file (no usage.epoch) is migrated in place, rows kept */
static void
test_migrates_version_1(void)
{
	struct store *s = fresh();
	struct store_usage u, g;
	int64_t x;
	uint64_t seq;
	sqlite3 *db;
	char err[256];

	store_account_add(s, "old", 0, &x);
	memset(&u, 0, sizeof(u));
	u.account = x;
	u.messages = 9;
	store_usage_put(s, &u);
	store_close(s);
	db = raw();
	T_EQ_U(sqlite3_exec(db, TO_V4 "ALTER TABLE usage DROP COLUMN epoch; "
	    "DROP TABLE redo; ALTER TABLE held DROP COLUMN prepaid; "
	    "UPDATE schema_version SET version = 1", 0, 0,
	    0), SQLITE_OK,
	    "made a version 1 file");
	sqlite3_close(db);
	s = store_open(path, 0, 100, err, sizeof(err));
	T_OK(s != NULL, "version 1 opened: %s", s ? "" : err);
	if (s == NULL)
		return;
	T_EQ_U(store_usage_get(s, x, &g), 0, "usage read after migration");
	T_EQ_U(g.messages, 9, "usage kept");
	T_EQ_U(g.epoch, 0, "epoch 0");
	u.messages = 10;
	T_EQ_U(store_usage_put(s, &u), 0, "written after migration");
	T_EQ_U(store_redo_applied(s, &seq), 0, "redo marker after migration");
	T_EQ_U(seq, 0, "nothing applied yet");
	T_EQ_U(store_redo_set_applied(s, 42), 0, "redo marker set");
	store_redo_applied(s, &seq);
	T_EQ_U(seq, 42, "redo marker read back");
	store_close(s);
	cleanup();
}

/* count_migrated - budget_migrated events, and the last one's detail */
static int
count_migrated(int64_t ts, int64_t account, const char *kind,
    const char *detail, void *arg)
{
	char	*last = arg;

	(void)ts;
	(void)account;
	if (strcmp(kind, "budget_migrated") == 0) {
		last[0]++;
		snprintf(last + 1, 255, "%s", detail);
	}
	return 0;
}

/*
 * a version 4 file (budgets by the old kinds) is migrated to kinds and
 * windows: each old row on its window, a missing message window from the
 * built-in default (with an event), an unlimited window beside a limited
 * one dropped, and every tat moved with its window
 */
static void
test_migrates_version_4(void)
{
	struct store *s = fresh();
	struct store_account a;
	struct store_usage g;
	int64_t both, hour, day, unlh, caps, none;
	sqlite3 *db;
	char err[256], sql[2048], ev[256] = { 0 };

	store_account_add(s, "both", 0, &both);
	store_account_add(s, "hour", 0, &hour);
	store_account_add(s, "day", 0, &day);
	store_account_add(s, "unlh", 0, &unlh);
	store_account_add(s, "caps", 0, &caps);
	store_account_add(s, "none", 0, &none);
	store_close(s);
	db = raw();
	snprintf(sql, sizeof(sql), TO_V4
	    "INSERT INTO budgets VALUES (%lld, 0, 5, 60000000, 0),"
	    " (%lld, 1, 500, 86400000000, 0), (%lld, 0, 7, 3600000000, 3),"
	    " (%lld, 1, 50, 86400000000, 0), (%lld, 0, -1, 3600000000, 0),"
	    " (%lld, 1, 300, 86400000000, 0), (%lld, 2, 900, 86400000000, 0),"
	    " (%lld, 3, 20, 0, 0), (%lld, 4, 3, 0, 0),"
	    " (%lld, 5, 60, 60000000, 0);"
	    "INSERT INTO usage (account, tat0, tat1, tat2, tat3, tat4, tat5)"
	    " VALUES (%lld, 111, 222, 333, 7, 8, 555),"
	    " (%lld, 10, 20, 0, 0, 0, 0);",
	    (long long)both, (long long)both, (long long)hour,
	    (long long)day, (long long)unlh, (long long)unlh,
	    (long long)caps, (long long)caps, (long long)caps,
	    (long long)caps, (long long)both, (long long)unlh);
	T_EQ_U(sqlite3_exec(db, sql, 0, 0, 0), SQLITE_OK,
	    "made a version 4 file");
	sqlite3_close(db);
	s = store_open(path, 0, 100, err, sizeof(err));
	T_OK(s != NULL, "version 4 opened: %s", s ? "" : err);
	if (s == NULL)
		return;

	store_account_get(s, "both", &a);
	T_OK(a.has[BK_MESSAGES] && a.budget[BK_MESSAGES].n == 2 &&
	    a.budget[BK_MESSAGES].w[0].limit == 5 &&
	    a.budget[BK_MESSAGES].w[0].period_us == 60000000 &&
	    a.budget[BK_MESSAGES].w[1].limit == 500,
	    "both: messages_per_hour 5/1m and _per_day 500 are messages "
	    "5/1m 500/1d");
	store_usage_get(s, both, &g);
	T_OK(g.tat[BK_MESSAGES][0] == 111 && g.tat[BK_MESSAGES][1] == 222 &&
	    g.tat[BK_RECIPIENTS][0] == 333 && g.tat[BK_NEW_CONN][0] == 555,
	    "both: each tat on its window");
	T_OK(g.tat[BK_MESSAGES][2] == 0 && g.tat[BK_MESSAGES][3] == 0 &&
	    g.tat[BK_RECIPIENTS][1] == 0 && g.tat[BK_NEW_CONN][1] == 0,
	    "both: the old caps' tat columns do not leak into windows");

	store_account_get(s, "hour", &a);
	T_OK(a.budget[BK_MESSAGES].n == 2 &&
	    a.budget[BK_MESSAGES].w[0].limit == 7 &&
	    a.budget[BK_MESSAGES].w[0].burst == 3 &&
	    a.budget[BK_MESSAGES].w[1].limit == 1000 &&
	    a.budget[BK_MESSAGES].w[1].period_us == 86400000000ULL,
	    "hour only: the day window from the built-in default");
	store_account_get(s, "day", &a);
	T_OK(a.budget[BK_MESSAGES].n == 2 &&
	    a.budget[BK_MESSAGES].w[0].limit == 100 &&
	    a.budget[BK_MESSAGES].w[1].limit == 50,
	    "day only: the hour window from the built-in default");
	store_event_each(s, -1, 100, count_migrated, ev);
	T_EQ_U(ev[0], 2, "an event for each account given a window");

	store_account_get(s, "unlh", &a);
	T_OK(a.budget[BK_MESSAGES].n == 1 &&
	    a.budget[BK_MESSAGES].w[0].limit == 300,
	    "an unlimited hour beside a day: the day alone");
	store_usage_get(s, unlh, &g);
	T_OK(g.tat[BK_MESSAGES][0] == 20 && g.tat[BK_MESSAGES][1] == 0,
	    "the day's tat moved to the first window");

	store_account_get(s, "caps", &a);
	T_OK(a.budget[BK_RECIPIENTS].w[0].limit == 900 &&
	    a.budget[BK_RCPT_MSG].w[0].limit == 20 &&
	    a.budget[BK_CONN].w[0].limit == 3 &&
	    a.budget[BK_NEW_CONN].w[0].limit == 60 &&
	    a.budget[BK_NEW_CONN].w[0].period_us == 60000000 &&
	    !a.has[BK_MESSAGES], "the one-window kinds renamed");
	store_account_get(s, "none", &a);
	T_OK(!a.has[BK_MESSAGES] && !a.has[BK_RECIPIENTS] &&
	    !a.has[BK_NEW_CONN] && !a.has[BK_CONN] && !a.has[BK_RCPT_MSG],
	    "no rows: the defaults still");
	store_close(s);
	cleanup();
}

static void
test_newer_schema_is_refused(void)
{
	struct store *s = fresh();
	sqlite3 *db;
	char err[256], want[256];

	store_close(s);
	db = raw();
	sqlite3_exec(db, "UPDATE schema_version SET version = "
	    "(SELECT version + 1 FROM schema_version)", 0, 0, 0);
	sqlite3_close(db);
	T_OK(store_open(path, 0, 100, err, sizeof(err)) == NULL,
	    "newer schema refused");
	snprintf(want, sizeof(want), "database schema version %d is newer "
	    "than this mailgov (%d)", STORE_SCHEMA_VERSION + 1,
	    STORE_SCHEMA_VERSION);
	T_EQ_S(err, want, "newer schema error");
	cleanup();
}

static void
test_corrupt_file_is_refused(void)
{
	char err[256], want[700];
	FILE *f;
	sqlite3 *db;
	int i;

	scratch();
	snprintf(path, sizeof(path), "%s/garbage.db", dir);
	f = fopen(path, "w");
	for (i = 0; i < 512; i++)
		fputs("this is not a database at all ", f);
	fclose(f);
	snprintf(want, sizeof(want), "database %s is corrupt or not a "
	    "mailgov database", path);
	T_OK(store_open(path, 0, 100, err, sizeof(err)) == NULL,
	    "garbage refused");
	T_EQ_S(err, want, "garbage error");
	T_OK(store_open(path, STORE_RDONLY, 100, err, sizeof(err)) == NULL,
	    "garbage refused read-only");
	T_EQ_S(err, want, "garbage error read-only");

	snprintf(path, sizeof(path), "%s/other.db", dir);
	db = raw();
	sqlite3_exec(db, "CREATE TABLE t (a)", 0, 0, 0);
	sqlite3_close(db);
	snprintf(want, sizeof(want), "database %s is corrupt or not a "
	    "mailgov database", path);
	T_OK(store_open(path, 0, 100, err, sizeof(err)) == NULL,
	    "someone else's database refused");
	T_EQ_S(err, want, "foreign database error");
	cleanup();
}

static void
test_read_only(void)
{
	struct store *s = fresh(), *r;
	char err[256], want[700];

	store_close(s);
	r = store_open(path, STORE_RDONLY, 100, err, sizeof(err));
	T_OK(r != NULL, "open read-only: %s", r ? "" : err);
	if (r == NULL)
		return;
	T_EQ_U(store_account_add(r, "x", 0, NULL), (uint64_t)-1,
	    "write refused");
	snprintf(want, sizeof(want), "database %s is read-only", path);
	T_EQ_S(store_error(r), want, "read-only error");
	T_EQ_U(store_account_get(r, "default", &(struct store_account){0}), 0,
	    "reads work");
	store_close(r);

	/* an empty file cannot be migrated read-only */
	snprintf(path, sizeof(path), "%s/empty.db", dir);
	fclose(fopen(path, "w"));
	T_OK(store_open(path, STORE_RDONLY, 100, err, sizeof(err)) == NULL,
	    "old schema read-only refused");
	snprintf(want, sizeof(want), "has schema version 0, older than this "
	    "mailgov (%d)", STORE_SCHEMA_VERSION);
	T_OK(strstr(err, want) != NULL, "old schema error: %s", err);
	cleanup();
}

static void
test_locked(void)
{
	struct store *s = fresh(), *o;
	sqlite3 *db;
	char err[256];
	double t0;

	store_close(s);
	o = store_open(path, 0, 50, err, sizeof(err));
	db = raw();
	T_EQ_U(sqlite3_exec(db, "BEGIN EXCLUSIVE; INSERT INTO events (ts, kind) "
	    "VALUES (1, 'x')", 0, 0, 0), SQLITE_OK, "other holds the lock");
	t0 = now_ms();
	T_EQ_U(store_account_add(o, "x", 0, NULL), (uint64_t)-1,
	    "write while locked");
	T_EQ_S(store_error(o), "database is locked (another process holds it)",
	    "locked error");
	T_OK(now_ms() - t0 >= 40, "waited for the busy timeout");
	T_EQ_U(store_in_transaction(o), 0, "no transaction left open");
	sqlite3_exec(db, "COMMIT", 0, 0, 0);
	T_EQ_U(store_account_add(o, "x", 0, NULL), 0, "write after release");
	sqlite3_close(db);
	store_close(o);
	cleanup();
}

static void
test_bad_rows_are_range_checked(void)
{
	struct store *s = fresh();
	struct store_account a;
	struct store_usage u;
	sqlite3 *db;
	uint64_t n = 0;

	store_account_add(s, "x", 0, NULL);
	store_close(s);
	db = raw();
	sqlite3_exec(db,
	    "UPDATE accounts SET mode = 99, blocked = 7 WHERE name = 'x';"
	    "INSERT INTO budgets VALUES (2, 0, 0, -5, 10, 0);"
	    "INSERT INTO budgets VALUES (2, 1, 0, 10, 0, 0);"
	    "INSERT INTO budgets VALUES (2, 2, 0, 10, 1000, -1);"
	    "INSERT INTO budgets VALUES (2, 99, 0, 10, 1000, 0);"
	    "INSERT INTO budgets VALUES (2, 3, 0, 'text', 1000, 0);"
	    "INSERT INTO budgets VALUES (2, 4, 2, 10, 0, 0);"
	    "INSERT INTO budgets VALUES (2, 0, 9, 10, 1000, 0);"
	    "INSERT INTO budgets VALUES (1, 4, 0, -1, 1000, 0);"
	    "INSERT INTO usage (account, tat0, messages) VALUES (2, -9, -1);"
	    "PRAGMA ignore_check_constraints = 1;"
	    "INSERT INTO account_uids VALUES (5000, 4000, 2);"
	    "INSERT INTO account_uids VALUES (-3, 4, 2);", 0, 0, 0);
	sqlite3_close(db);
	s = store_open(path, 0, 100, (char[128]){0}, 128);
	T_EQ_U(store_account_get(s, "x", &a), 0, "damaged account loads");
	T_EQ_U(a.mode, MODE_PATH, "bad mode reads as path");
	T_EQ_U(a.blocked, 1, "blocked is boolean");
	T_EQ_U(a.has[0] + a.has[1] + a.has[2] + a.has[3] + a.has[4], 0,
	    "bad budget rows ignored (out of range, or out of place)");
	T_EQ_U(store_usage_get(s, 2, &u), 0, "damaged usage loads");
	T_EQ_U(u.tat[0][0] + u.messages, 0, "negative numbers read as 0");
	T_EQ_U(store_uid_each(s, count_uid, &n), 0, "uid walk");
	T_EQ_U(n, 0, "bad uid rows skipped");
	store_close(s);
	cleanup();
}

int
main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	test_open_missing_is_an_error();
	test_create_makes_directory_and_default_account();
	test_new_file_has_small_pages();
	test_account_add_get_del();
	test_uid_ranges_do_not_overlap();
	test_gid_domain_sasl_relay();
	test_budgets();
	test_usage();
	test_held();
	test_explicit_account_takes_over_auto_uid();
	test_events();
	test_transactions_nest();
	test_changed_sees_other_connections();
	test_migrates_version_1();
	test_scripts_bounded();
	test_migrates_version_4();
	test_newer_schema_is_refused();
	test_corrupt_file_is_refused();
	test_read_only();
	test_locked();
	test_bad_rows_are_range_checked();
	return t_done();
}
