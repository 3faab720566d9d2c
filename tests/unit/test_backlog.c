/*
 * test_backlog - the pure part of what a node owes Redis: charges add up
 * per window and saturate, only the shared kinds are owed, the catch-up
 * writes each owed window once (at most its burst) and settles all of
 * it, and what was charged while the catch-up was in flight stays owed.
 * Then the rounds over real accounts (a scratch store, no Redis): at
 * most so many accounts a round, the next one only after a full round
 * was all written, a reset in flight pays nothing.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acct.h"
#include "backlog.h"
#include "budget.h"
#include "config.h"
#include "log.h"
#include "store.h"
#include "t.h"
#include "windows.h"

#define HOUR_US	3600000000ULL
#define DAY_US	86400000000ULL

/* the windows of a message of rcpts recipients under m and r */
static size_t
msg(const struct budget *m, const struct budget *r, uint64_t rcpts,
    struct cluster_window *w)
{
	return cluster_windows(m, r, 1, rcpts, w, CLUSTER_WINDOWS_MAX);
}

static void
test_owe_adds_up(void)
{
	struct budget m = { 2, { { 10, HOUR_US, 0 }, { 100, DAY_US, 0 } } };
	struct budget r = { 1, { { 50, DAY_US, 0 } } };
	struct cluster_window w[CLUSTER_WINDOWS_MAX], odd;
	struct store_usage u;
	size_t	 n;

	memset(&u, 0, sizeof(u));
	T_OK(!backlog_owes(&u), "a fresh row owes nothing");
	n = msg(&m, &r, 3, w);
	T_EQ_U(n, 3, "two messages windows and one recipients window");
	backlog_owe(&u, w, n);
	backlog_owe(&u, w, n);
	T_OK(backlog_owes(&u), "two charges owed");
	T_EQ_U(u.owed[BK_MESSAGES][0], 2, "messages/1h: 2");
	T_EQ_U(u.owed[BK_MESSAGES][1], 2, "messages/1d: 2");
	T_EQ_U(u.owed[BK_RECIPIENTS][0], 6, "recipients/1d: 2 x 3");
	u.owed[BK_MESSAGES][0] = UINT64_MAX - 1;
	backlog_owe(&u, w, n);
	T_EQ_U(u.owed[BK_MESSAGES][0], UINT64_MAX, "saturates, never wraps");
	/* a kind nobody shares, or a window out of range: ignored */
	memset(&odd, 0, sizeof(odd));
	odd.kind = BK_NEW_CONN;
	odd.cost = 5;
	backlog_owe(&u, &odd, 1);
	odd.kind = BK_MESSAGES;
	odd.win = BUDGET_WINDOWS_MAX;
	backlog_owe(&u, &odd, 1);
	T_EQ_U(u.owed[BK_MESSAGES][0], UINT64_MAX, "odd windows ignored");
}

static void
test_windows_and_paid(void)
{
	struct budget m = { 2, { { 10, HOUR_US, 4 }, { 100, DAY_US, 0 } } };
	struct budget r = { 1, { { 50, DAY_US, 0 } } };
	struct cluster_window w[CLUSTER_WINDOWS_MAX];
	uint64_t pay[CLUSTER_WINDOWS_MAX];
	struct store_usage u;
	size_t	 n;

	memset(&u, 0, sizeof(u));
	T_EQ_U(backlog_windows(&m, &r, &u, w, pay, CLUSTER_WINDOWS_MAX), 0,
	    "nothing owed: nothing to write");
	u.owed[BK_MESSAGES][0] = 7;	/* above the hour's burst of 4 */
	u.owed[BK_MESSAGES][1] = 7;
	n = backlog_windows(&m, &r, &u, w, pay, CLUSTER_WINDOWS_MAX);
	T_EQ_U(n, 2, "the two owed windows, not the recipients one");
	T_OK(strcmp(w[0].id, "messages:3600") == 0 &&
	    strcmp(w[1].id, "messages:86400") == 0, "their keys: %s %s",
	    w[0].id, w[1].id);
	T_EQ_U(w[0].cost, 4, "the hour is written as its burst");
	T_EQ_U(w[1].cost, 7, "the day as owed");
	T_EQ_U(pay[0], 7, "the hour's write settles all it owed");
	T_EQ_U(n = backlog_windows(&m, &r, &u, w, pay, 1), 1, "max kept");
	n = backlog_windows(&m, &r, &u, w, pay, CLUSTER_WINDOWS_MAX);
	/* two more charged while the catch-up was in flight */
	u.owed[BK_MESSAGES][0] += 2;
	u.owed[BK_MESSAGES][1] += 2;
	backlog_paid(&u, w, pay, n);
	T_EQ_U(u.owed[BK_MESSAGES][0], 2, "the hour: what came since stays");
	T_EQ_U(u.owed[BK_MESSAGES][1], 2, "the day: likewise");
	n = backlog_windows(&m, &r, &u, w, pay, CLUSTER_WINDOWS_MAX);
	backlog_paid(&u, w, pay, n);
	T_OK(!backlog_owes(&u), "paid in full");
	/* a reset in between zeroed the row: paying never wraps */
	u.owed[BK_MESSAGES][0] = 3;
	n = backlog_windows(&m, &r, &u, w, pay, CLUSTER_WINDOWS_MAX);
	u.owed[BK_MESSAGES][0] = 1;
	backlog_paid(&u, w, pay, n);
	T_EQ_U(u.owed[BK_MESSAGES][0], 0, "paying more than owed: 0");
}

static void
test_windows_that_went_away(void)
{
	struct budget m = { 1, { { 10, HOUR_US, 0 } } };
	struct budget unl = { 1, { { BUDGET_UNLIMITED, HOUR_US, 0 } } };
	struct budget zero = { 1, { { 0, HOUR_US, 0 } } };
	struct cluster_window w[CLUSTER_WINDOWS_MAX];
	uint64_t pay[CLUSTER_WINDOWS_MAX];
	struct store_usage u;

	memset(&u, 0, sizeof(u));
	u.owed[BK_MESSAGES][1] = 5;	/* a second window, removed since */
	T_EQ_U(backlog_windows(&m, NULL, &u, w, pay, CLUSTER_WINDOWS_MAX), 0,
	    "a window that no longer exists is not written");
	T_OK(backlog_owes(&u), "its debt waits");
	u.owed[BK_MESSAGES][0] = 5;
	T_EQ_U(backlog_windows(&unl, NULL, &u, w, pay, CLUSTER_WINDOWS_MAX),
	    0, "an unlimited window takes nothing");
	T_EQ_U(backlog_windows(&zero, NULL, &u, w, pay, CLUSTER_WINDOWS_MAX),
	    0, "a zero limit takes nothing either");
}

/* the dues a round handed over */
static struct backlog_due *sent[16];
static size_t nsent;
static int refuse;	/* send refuses from the refuse-th on (0: never) */

static int
collect(void *arg, struct backlog_due *d)
{
	(void)arg;
	if ((refuse != 0 && nsent + 1 >= (size_t)refuse) || nsent == 16)
		return -1;
	sent[nsent++] = d;
	return 0;
}

/* owe1 - name owes one message in its first window */
static void
owe1(struct accts *as, const char *name)
{
	struct acct *a = acct_by_name(as, name);
	struct cluster_window w[CLUSTER_WINDOWS_MAX];
	size_t	 n;

	n = cluster_windows(a->lim[BK_MESSAGES], NULL, 1, 0, w, 1);
	backlog_owe(&a->use, w, n);
}

static int
owes(struct accts *as, const char *name)
{
	return backlog_owes(&acct_by_name(as, name)->use);
}

static void
test_rounds(void)
{
	const char *names[] = { "a1", "a2", "a3", "a4", "a5" };
	const char *t = getenv("TMPDIR");
	struct config cfg;
	struct backlog *b;
	struct accts *as;
	struct store *s;
	char	 dir[128], path[160], err[256], cmd[200];
	size_t	 i;
	int	 more;

	snprintf(dir, sizeof(dir), "%.60s/mailgov-backlog.XXXXXX",
	    t ? t : "/tmp");
	if (mkdtemp(dir) == NULL) {
		T_OK(0, "mkdtemp");
		return;
	}
	snprintf(path, sizeof(path), "%s/mailgov.db", dir);
	if ((s = store_open(path, STORE_CREATE, 1000, err, sizeof(err))) ==
	    NULL) {
		T_OK(0, "store_open: %s", err);
		return;
	}
	for (i = 0; i < 5; i++)
		store_account_add(s, names[i], 0, NULL);
	config_defaults(&cfg);
	as = acct_load(s, &cfg);
	b = backlog_new(2);
	T_OK(as != NULL && b != NULL, "accounts and a backlog");
	if (as == NULL || b == NULL)
		return;
	T_EQ_U(backlog_catch_up(b, as, collect, NULL), 0, "nobody owes");
	owe1(as, "a1");
	owe1(as, "a3");
	owe1(as, "a5");
	/* a round of two; another does not start while it is out */
	T_EQ_U(backlog_catch_up(b, as, collect, NULL), 2, "a round of 2");
	T_EQ_U(backlog_in_flight(b), 2, "both in flight");
	T_EQ_U(backlog_catch_up(b, as, collect, NULL), 0,
	    "no second round while the first is out");
	more = backlog_done(b, as, sent[0], 1);
	T_EQ_U(more, 0, "half answered: not yet");
	more = backlog_done(b, as, sent[1], 1);
	T_EQ_U(more, 1, "a full round, all written: the next one now");
	T_OK(!owes(as, "a1") && !owes(as, "a3") && owes(as, "a5"),
	    "a1 and a3 paid, a5 still owes");
	nsent = 0;
	T_EQ_U(backlog_catch_up(b, as, collect, NULL), 1, "the rest: a5");
	T_EQ_U(backlog_done(b, as, sent[0], 1), 0,
	    "a round that was not full: no further one");
	T_OK(!owes(as, "a5"), "a5 paid");

	/* a failed write ends the rounds until Redis is back */
	owe1(as, "a1");
	owe1(as, "a2");
	owe1(as, "a4");
	nsent = 0;
	T_EQ_U(backlog_catch_up(b, as, collect, NULL), 2, "a round of 2");
	backlog_done(b, as, sent[0], 0);
	T_EQ_U(backlog_done(b, as, sent[1], 1), 0,
	    "one write failed: no next round");
	T_OK(owes(as, "a1") && !owes(as, "a2") && owes(as, "a4"),
	    "the failed one still owes, the written one paid");

	/* a reset while the write is out: the reset wins, nothing paid
	 * twice (the row's epoch moved on) */
	nsent = 0;
	T_EQ_U(backlog_catch_up(b, as, collect, NULL), 2, "a1 and a4 again");
	acct_by_name(as, "a1")->use.epoch++;
	acct_by_name(as, "a1")->use.owed[BK_MESSAGES][0] = 7;
	backlog_done(b, as, sent[0], 1);
	backlog_done(b, as, sent[1], 1);
	T_EQ_U(acct_by_name(as, "a1")->use.owed[BK_MESSAGES][0], 7,
	    "reset in flight: not paid");
	T_OK(!owes(as, "a4"), "a4 paid");

	/* the sender refuses (out of memory, Redis gone): stop there */
	acct_by_name(as, "a1")->use.owed[BK_MESSAGES][0] = 0;
	owe1(as, "a2");
	owe1(as, "a3");
	nsent = 0;
	refuse = 2;
	T_EQ_U(backlog_catch_up(b, as, collect, NULL), 1,
	    "the second send refused: one out");
	refuse = 0;
	T_EQ_U(backlog_done(b, as, sent[0], 1), 0,
	    "a round cut short is not full: no next one");
	T_OK(owes(as, "a3"), "a3 waits for Redis's next return");

	backlog_free(b);
	acct_free(as);
	store_close(s);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

int
main(void)
{
	log_init("test_backlog", 1, 0);
	test_owe_adds_up();
	test_windows_and_paid();
	test_windows_that_went_away();
	test_rounds();
	return t_done();
}
