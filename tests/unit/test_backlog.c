/*
 * test_backlog - the pure part of what a node owes Redis: charges add up
 * per window and saturate, only the shared kinds are owed, the catch-up
 * writes each owed window once (at most its burst) and settles all of
 * it, and what was charged while the catch-up was in flight stays owed.
 */
#include <stdint.h>
#include <string.h>

#include "backlog.h"
#include "budget.h"
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

int
main(void)
{
	test_owe_adds_up();
	test_windows_and_paid();
	test_windows_that_went_away();
	return t_done();
}
