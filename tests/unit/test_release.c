/*
 * test_release - the release scheduler against a scratch database and a
 * real privileged child, with fake postsuper and postqueue scripts (the
 * postsuper and postqueue keys of mailgov.conf) instead of Postfix: each
 * account's held mail goes oldest first; an account stops at its first
 * message that does not fit, even when a later one would; prepaid rows
 * go without a charge, even on a budget of 0; a blocked account's mail
 * waits; what waited goes once the budget is back, or as soon as the
 * admin raises the budget or resets it; a release that fails, times out
 * or finds the message gone gives its charge back.
 */
#include <sys/stat.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "acct.h"
#include "clock.h"
#include "log.h"
#include "loop.h"
#include "release.h"
#include "t.h"

#define HOUR_US		3600000000ULL
#define DAY_US		86400000000ULL

static char dir[256], db[512], runlog[512];

/* script - write an executable file */
static void
script(const char *name, const char *text, char *path, size_t len)
{
	FILE	*fp;

	if ((size_t)snprintf(path, len, "%s/%s", dir, name) >= len ||
	    (fp = fopen(path, "w")) == NULL || fputs(text, fp) == EOF ||
	    fclose(fp) == EOF || chmod(path, 0755) == -1) {
		perror(path);
		exit(2);
	}
}

/* scratch - a directory, a database, and the fake Postfix tools that
 * record each postsuper call ("-H ID") in runlog; postsuper of stuck
 * (unless NULL) never ends, and neither does the sleeper it forks; of an
 * ID that begins FAIL it fails, of one that begins GONE it finds none */
static struct store *
scratch(struct config *cfg, const char *stuck)
{
	const char *t = getenv("TMPDIR");
	struct store *s;
	char	 err[256], text[2048];

	snprintf(dir, sizeof(dir), "%s/mailgov-release.XXXXXX",
	    t ? t : "/tmp");
	if (mkdtemp(dir) == NULL || chmod(dir, 0755) == -1) {
		perror("mkdtemp");
		exit(2);
	}
	snprintf(db, sizeof(db), "%s/mailgov.db", dir);
	snprintf(runlog, sizeof(runlog), "%s/postsuper.log", dir);
	config_defaults(cfg);
	cfg->release_interval = 1;
	snprintf(cfg->queue_config_dir, sizeof(cfg->queue_config_dir), "%s",
	    dir);
	/* postsuper -c DIR -H ID, answered as Postfix does */
	snprintf(text, sizeof(text), "#!/bin/sh\n"
	    "echo \"$3 $4\" >> '%s'\n"
	    "if [ \"$4\" = '%s' ]; then\n"
	    "	sleep 60 & echo $$ $! > '%s/stuck.pids'\n"
	    "	sleep 60\n"
	    "fi\n"
	    "case \"$4\" in\n"
	    "FAIL*) echo 'postsuper: fatal: queue busy'; exit 1 ;;\n"
	    "GONE*) echo 'postsuper: Released from hold: 0 messages'; "
	    "exit 0 ;;\n"
	    "esac\n"
	    "echo \"postsuper: $4: released from hold\"\n"
	    "echo \"postsuper: Released from hold: 1 message\"\n", runlog,
	    stuck != NULL ? stuck : "", dir);
	script("postsuper", text, cfg->postsuper, sizeof(cfg->postsuper));
	/* postqueue -j: an empty queue listing; -i: a flush */
	script("postqueue", "#!/bin/sh\nexit 0\n", cfg->postqueue,
	    sizeof(cfg->postqueue));
	script("postcat", "#!/bin/sh\nexit 1\n", cfg->postcat,
	    sizeof(cfg->postcat));
	if ((s = store_open(db, STORE_CREATE, 1000, err, sizeof(err))) ==
	    NULL) {
		printf("not ok - store_open: %s\n", err);
		exit(1);
	}
	return s;
}

static void
cleanup(void)
{
	char	 cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
}

/* account - a with its id, and one budget when lim != NULL */
static int64_t
account(struct store *s, const char *name, enum budget_kind k,
    const struct budget *lim)
{
	int64_t	 id = -1;

	if (store_account_add(s, name, 0, &id) == -1 ||
	    (lim != NULL && store_budget_set(s, name, k, lim) == -1)) {
		printf("not ok - account %s: %s\n", name, store_error(s));
		exit(1);
	}
	return id;
}

/* hold - a held row; age in seconds, within reconcile's grace */
static void
hold(struct store *s, int64_t acct, const char *id, int age,
    uint32_t rcpts, int prepaid)
{
	struct store_held h;

	memset(&h, 0, sizeof(h));
	snprintf(h.queue_id, sizeof(h.queue_id), "%s", id);
	h.account = acct;
	h.since = (int64_t)time(NULL) - age;
	h.recipients = rcpts;
	h.size = 1000;
	h.state = HELD;
	h.prepaid = prepaid;
	snprintf(h.sender, sizeof(h.sender), "site@example.org");
	if (store_held_add(s, &h) == -1) {
		printf("not ok - held %s: %s\n", id, store_error(s));
		exit(1);
	}
}

struct count {
	const char	*id;
	int		 state;
	size_t		 released;
};

/* state_of - one row's state, and how many are released */
static int
state_of(const struct store_held *h, void *arg)
{
	struct count *c = arg;

	if (strcmp(h->queue_id, c->id) == 0)
		c->state = h->state;
	if (h->state == HELD_RELEASED)
		c->released++;
	return 0;
}

static int
held_state(struct store *s, const char *id)
{
	struct count c = { id, -1, 0 };

	store_held_each(s, -1, -1, state_of, &c);
	return c.state;
}

static size_t
released(struct store *s)
{
	struct count c = { "", -1, 0 };

	store_held_each(s, -1, -1, state_of, &c);
	return c.released;
}

/* ran - the postsuper calls so far, "-H ID; " each */
static char *
ran(void)
{
	static char buf[4096];
	FILE	*fp;
	size_t	 n = 0, i;

	if ((fp = fopen(runlog, "r")) != NULL) {
		n = fread(buf, 1, sizeof(buf) - 1, fp);
		fclose(fp);
	}
	buf[n] = '\0';
	for (i = 0; i < n; i++)
		if (buf[i] == '\n')
			buf[i] = ';';
	return buf;
}

/* before - x and y both ran, x first */
static int
before(const char *x, const char *y)
{
	char	*log = ran(), *px = strstr(log, x), *py = strstr(log, y);

	return px != NULL && py != NULL && px < py;
}

struct pump {
	struct loop	*loop;
	struct store	*st;
	size_t		 want;
	uint64_t	 end;
};

/* on_timer - stop once want rows are released (answers applied), or at
 * the deadline */
static void
on_timer(int fd, uint32_t events, void *arg)
{
	struct pump *p = arg;
	uint64_t n;

	(void)events;
	(void)!read(fd, &n, sizeof(n));
	if (released(p->st) >= p->want || clock_mono_ms() > p->end)
		loop_stop(p->loop);
}

/* pump - run the loop until want rows are released, or for ms */
static void
pump(struct loop *loop, struct store *st, size_t want, unsigned ms)
{
	struct itimerspec its = { { 0, 20000000 }, { 0, 20000000 } };
	struct pump p = { loop, st, want, clock_mono_ms() + ms };
	int	 tfd;

	if ((tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC)) == -1 ||
	    timerfd_settime(tfd, 0, &its, NULL) == -1 ||
	    loop_add(loop, tfd, EPOLLIN, on_timer, &p) == -1) {
		printf("not ok - timer\n");
		exit(1);
	}
	loop_run(loop);
	loop_del(loop, tfd);
	close(tfd);
}

static void
test_scheduler(void)
{
	struct config cfg;
	struct store *s = scratch(&cfg, NULL);
	struct budget rcpt5 = { 1, { { 5, DAY_US, 0 } } };
	struct budget one = { 1, { { 1, HOUR_US, 0 } } };
	struct budget none = { 1, { { 0, HOUR_US, 0 } } };
	struct accts *as;
	struct loop *loop;
	struct release *r;
	struct acct *a;
	int64_t	 fit, pre, blk, zero;
	uint64_t now = clock_now_us();

	/* fit: 5 recipients a day; fit2 (2 rcpts) goes, fit3 (4) does
	 * not fit what is left, and fit4 (1) waits behind it */
	fit = account(s, "fit", BK_RECIPIENTS, &rcpt5);
	hold(s, fit, "FIT3AAAAA", 50, 4, 0);	/* inserted first, younger */
	hold(s, fit, "FIT2AAAAA", 60, 2, 0);
	hold(s, fit, "FIT4AAAAA", 40, 1, 0);
	/* pre: one message an hour; the prepaid one costs nothing */
	pre = account(s, "pre", BK_MESSAGES, &one);
	hold(s, pre, "PRE1AAAAA", 60, 1, 1);
	hold(s, pre, "PRE2AAAAA", 50, 1, 0);
	hold(s, pre, "PRE3AAAAA", 40, 1, 0);
	/* blk: plenty of budget, but blocked */
	blk = account(s, "blk", BK_MESSAGES, NULL);
	hold(s, blk, "BLK1AAAAA", 60, 1, 0);
	if (store_account_set_blocked(s, "blk", 1) == -1)
		exit(1);
	/* zero: a budget of 0 refuses all, but prepaid mail still goes */
	zero = account(s, "zero", BK_MESSAGES, &none);
	hold(s, zero, "ZRO1AAAAA", 60, 1, 1);
	hold(s, zero, "ZRO2AAAAA", 50, 1, 0);
	(void)blk;

	if ((as = acct_load(s, &cfg)) == NULL || (loop = loop_new()) == NULL ||
	    (r = release_new(loop, as, &cfg)) == NULL) {
		printf("not ok - release_new\n");
		exit(1);
	}

	release_tick(r, now);
	pump(loop, s, 4, 10000);
	T_EQ_U(released(s), 4, "released in the first tick");
	T_EQ_U(held_state(s, "FIT2AAAAA"), HELD_RELEASED,
	    "fit: its oldest message, which fits, released");
	T_EQ_U(held_state(s, "FIT3AAAAA"), HELD,
	    "fit: the next one, over what is left, still held");
	T_EQ_U(held_state(s, "FIT4AAAAA"), HELD,
	    "fit: a later one that would fit waits behind it");
	T_OK(strstr(ran(), "FIT3") == NULL && strstr(ran(), "FIT4") == NULL,
	    "fit: postsuper never asked for the rest, ran \"%s\"", ran());
	T_EQ_U(held_state(s, "PRE1AAAAA"), HELD_RELEASED,
	    "pre: the prepaid message released");
	T_EQ_U(held_state(s, "PRE2AAAAA"), HELD_RELEASED,
	    "pre: the next one released on the budget");
	T_EQ_U(held_state(s, "PRE3AAAAA"), HELD,
	    "pre: the third waits for the budget");
	T_OK(before("-H PRE1AAAAA", "-H PRE2AAAAA"),
	    "pre: oldest first, ran \"%s\"", ran());
	T_EQ_U(held_state(s, "BLK1AAAAA"), HELD,
	    "blk: a blocked account waits");
	T_EQ_U(held_state(s, "ZRO1AAAAA"), HELD_RELEASED,
	    "zero: prepaid mail goes on a budget of 0");
	T_EQ_U(held_state(s, "ZRO2AAAAA"), HELD,
	    "zero: the rest stays held");

	a = acct_by_id(as, pre);
	T_EQ_U(a != NULL ? a->use.released : 99, 2, "pre: 2 releases counted");
	T_EQ_U(a != NULL ? a->use.messages : 99, 1,
	    "pre: only the one not prepaid counted as a message");
	a = acct_by_id(as, zero);
	T_EQ_U(a != NULL ? a->use.messages : 99, 0,
	    "zero: the prepaid release charged nothing");
	a = acct_by_id(as, fit);
	T_EQ_U(a != NULL ? a->use.recipients : 99, 2,
	    "fit: charged its 2 recipients");
	T_EQ_U(a != NULL ? a->n_held : 99, 2, "fit: 2 messages still held");

	/* a second later nothing has come back: nothing more goes */
	release_tick(r, now + 2000000);
	pump(loop, s, 5, 500);
	T_EQ_U(released(s), 4, "a second later, nothing more released");

	/* two days later the budgets are back: the waiting mail goes, in
	 * its order; the blocked and the zero account's still wait */
	release_tick(r, now + 2 * DAY_US);
	pump(loop, s, 7, 10000);
	T_EQ_U(released(s), 7, "two days later, 3 more released");
	T_OK(before("-H FIT3AAAAA", "-H FIT4AAAAA"),
	    "fit: oldest first once the budget is back, ran \"%s\"", ran());
	T_EQ_U(held_state(s, "PRE3AAAAA"), HELD_RELEASED,
	    "pre: the third released");
	T_EQ_U(held_state(s, "BLK1AAAAA"), HELD, "blk: still waits");
	T_EQ_U(held_state(s, "ZRO2AAAAA"), HELD, "zero: still held");

	release_free(r);
	loop_free(loop);
	acct_free(as);
	store_close(s);
	cleanup();
}

/* gone - pid no longer runs (absent, or a zombie for init to reap) */
static int
gone(long pid)
{
	char	 path[64], buf[256], *p;
	FILE	*fp;
	size_t	 n;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if ((fp = fopen(path, "r")) == NULL)
		return 1;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	return (p = strrchr(buf, ')')) != NULL && p[1] == ' ' &&
	    (p[2] == 'Z' || p[2] == 'X');
}

/*
 * A postsuper that never ends is killed, with what it forked, when the
 * helper's time limit passes (1 s here); its message stays held, and the
 * requests queued behind it are served.
 */
static void
test_stuck_postsuper_times_out(void)
{
	struct config cfg;
	struct store *s = scratch(&cfg, "STUCKAAAA");
	struct accts *as;
	struct loop *loop;
	struct release *r;
	char	 path[600];
	FILE	*fp;
	long	 kid = 0, grandkid = 0;
	int64_t	 slow, next;
	uint64_t t0, took;
	struct budget one = { 1, { { 1, HOUR_US, 0 } } };
	struct acct *a;
	enum budget_kind which;
	uint64_t retry;

	slow = account(s, "slow", BK_MESSAGES, &one);
	hold(s, slow, "STUCKAAAA", 60, 1, 0);
	next = account(s, "next", BK_MESSAGES, NULL);
	hold(s, next, "NEXT1AAAA", 50, 1, 0);
	hold(s, next, "NEXT2AAAA", 40, 1, 0);
	setenv("MAILGOV_HELPER_TIMEOUT", "1", 1);
	if ((as = acct_load(s, &cfg)) == NULL || (loop = loop_new()) == NULL ||
	    (r = release_new(loop, as, &cfg)) == NULL) {
		printf("not ok - release_new\n");
		exit(1);
	}
	unsetenv("MAILGOV_HELPER_TIMEOUT");
	t0 = clock_mono_ms();
	release_tick(r, clock_now_us());
	pump(loop, s, 2, 15000);
	took = clock_mono_ms() - t0;
	T_OK(before("-H STUCKAAAA", "-H NEXT1AAAA"),
	    "the stuck postsuper ran first, ran \"%s\"", ran());
	T_EQ_U(held_state(s, "STUCKAAAA"), HELD,
	    "the stuck message stays held");
	T_EQ_U(held_state(s, "NEXT1AAAA"), HELD_RELEASED,
	    "the next request was served");
	T_EQ_U(held_state(s, "NEXT2AAAA"), HELD_RELEASED,
	    "and the one after it");
	T_OK(took < 1000 + 1000 + 3000,
	    "served within limit and grace (%" PRIu64 " ms)", took);
	snprintf(path, sizeof(path), "%s/stuck.pids", dir);
	if ((fp = fopen(path, "r")) != NULL) {
		if (fscanf(fp, "%ld %ld", &kid, &grandkid) != 2)
			kid = grandkid = 0;
		fclose(fp);
	}
	T_OK(kid > 0 && gone(kid), "the stuck postsuper (%ld) is gone", kid);
	T_OK(grandkid > 0 && gone(grandkid),
	    "the sleeper it forked (%ld) is gone too", grandkid);
	a = acct_by_id(as, slow);
	T_OK(a != NULL && acct_charge_message(a, 1, clock_now_us(), &which,
	    &retry) == BUDGET_OK,
	    "slow: the timed-out release gave its charge back");
	release_free(r);
	loop_free(loop);
	acct_free(as);
	store_close(s);
	cleanup();
}

/*
 * Held mail parked until the budget comes back (never, on a budget of 0;
 * tomorrow, on a daily one) goes at the next tick once the admin raises
 * the budget or resets the account from another process (mailgovctl).
 */
static void
test_admin_change_releases_parked_mail(void)
{
	struct config cfg;
	struct store *s = scratch(&cfg, NULL), *ctl;
	struct budget none = { 1, { { 0, HOUR_US, 0 } } };
	struct budget daily = { 1, { { 1, DAY_US, 0 } } };
	struct budget plenty = { 1, { { 100, HOUR_US, 0 } } };
	struct accts *as;
	struct loop *loop;
	struct release *r;
	char	 err[256];
	int64_t	 zero, day;
	uint64_t now = clock_now_us();

	zero = account(s, "zero", BK_MESSAGES, &none);
	hold(s, zero, "ZRO1AAAAA", 60, 1, 0);
	day = account(s, "day", BK_MESSAGES, &daily);
	hold(s, day, "DAY1AAAAA", 60, 1, 0);
	hold(s, day, "DAY2AAAAA", 50, 1, 0);
	if ((as = acct_load(s, &cfg)) == NULL || (loop = loop_new()) == NULL ||
	    (r = release_new(loop, as, &cfg)) == NULL) {
		printf("not ok - release_new\n");
		exit(1);
	}
	release_tick(r, now);
	pump(loop, s, 1, 10000);
	T_EQ_U(held_state(s, "DAY1AAAAA"), HELD_RELEASED,
	    "day: the first message released");
	T_EQ_U(held_state(s, "DAY2AAAAA"), HELD, "day: the second waits");
	T_EQ_U(held_state(s, "ZRO1AAAAA"), HELD, "zero: waits");
	/* the first tick's queue listing is in (its reconcile looks at
	 * every account again); the next tick parks both accounts, and
	 * the next reconcile is a minute away */
	pump(loop, s, 99, 500);
	release_tick(r, now + 2000000);
	pump(loop, s, 99, 300);
	T_EQ_U(released(s), 1, "nothing more released a tick later");

	/* mailgovctl budget set and reset, on a connection of its own */
	if ((ctl = store_open(db, 0, 1000, err, sizeof(err))) == NULL ||
	    store_budget_set(ctl, "zero", BK_MESSAGES, &plenty) == -1 ||
	    store_usage_reset(ctl, "day", 0) == -1) {
		printf("not ok - the admin's changes: %s\n",
		    ctl != NULL ? store_error(ctl) : err);
		exit(1);
	}
	store_close(ctl);
	T_OK(acct_reload(as) == 0, "the accounts reloaded");
	release_tick(r, now + 4000000);
	pump(loop, s, 3, 10000);
	T_EQ_U(held_state(s, "ZRO1AAAAA"), HELD_RELEASED,
	    "zero: released at the next tick once its budget was raised");
	T_EQ_U(held_state(s, "DAY2AAAAA"), HELD_RELEASED,
	    "day: released at the next tick once it was reset");
	release_free(r);
	loop_free(loop);
	acct_free(as);
	store_close(s);
	cleanup();
}

/*
 * A release that fails (postsuper exits 1) or finds the message gone
 * gives its charge back: the message is charged once, when it leaves,
 * and the account does not pay meanwhile for mail still held.
 */
static void
test_failed_release_refunded(void)
{
	struct config cfg;
	struct store *s = scratch(&cfg, NULL);
	struct budget one = { 1, { { 1, HOUR_US, 0 } } };
	struct accts *as;
	struct loop *loop;
	struct release *r;
	struct acct *a;
	enum budget_kind which;
	int64_t	 fail, gon;
	uint64_t now = clock_now_us(), retry;

	fail = account(s, "fail", BK_MESSAGES, &one);
	hold(s, fail, "FAIL1AAAA", 60, 3, 0);
	gon = account(s, "gon", BK_MESSAGES, &one);
	hold(s, gon, "GONE1AAAA", 60, 1, 0);
	if ((as = acct_load(s, &cfg)) == NULL || (loop = loop_new()) == NULL ||
	    (r = release_new(loop, as, &cfg)) == NULL) {
		printf("not ok - release_new\n");
		exit(1);
	}
	release_tick(r, now);
	pump(loop, s, 1, 2000);		/* none is released: both answer */
	T_OK(strstr(ran(), "-H FAIL1AAAA") != NULL &&
	    strstr(ran(), "-H GONE1AAAA") != NULL,
	    "both asked of postsuper, ran \"%s\"", ran());
	T_EQ_U(held_state(s, "FAIL1AAAA"), HELD, "fail: still held");
	a = acct_by_id(as, fail);
	T_EQ_U(a != NULL ? a->use.messages : 99, 0, "fail: no message counted");
	T_OK(a != NULL && acct_charge_message(a, 1, now, &which, &retry) ==
	    BUDGET_OK, "fail: its charge given back (one message may go)");
	a = acct_by_id(as, gon);
	T_OK(a != NULL && acct_charge_message(a, 1, now, &which, &retry) ==
	    BUDGET_OK, "gon: its charge given back");
	release_free(r);
	loop_free(loop);
	acct_free(as);
	store_close(s);
	cleanup();
}

/*
 * The per-account bookkeeping (a dense array with a hash index) stays
 * right as accounts come and go: every account's held bytes before,
 * none after all is released and the drained accounts are dropped (each
 * drop moves another account into its place), and exactly the new
 * message's afterwards, for every other account.
 */
static void
test_held_set_survives_accounts_coming_and_going(void)
{
	struct config cfg;
	struct store *s = scratch(&cfg, NULL);
	struct accts *as;
	struct loop *loop;
	struct release *r;
	struct acct *a;
	char	 name[32], qid[16];
	int64_t	 id[100];
	uint64_t now = clock_now_us(), bytes;
	uint32_t msgs;
	size_t	 i, bad;

	for (i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "many%zu", i);
		id[i] = account(s, name, BK_MESSAGES, NULL);
		snprintf(qid, sizeof(qid), "MNY%03zuAAA", i);
		hold(s, id[i], qid, 60, 1, 0);
	}
	if ((as = acct_load(s, &cfg)) == NULL || (loop = loop_new()) == NULL ||
	    (r = release_new(loop, as, &cfg)) == NULL) {
		printf("not ok - release_new\n");
		exit(1);
	}
	for (i = bad = 0; i < 100; i++)
		if ((a = acct_by_id(as, id[i])) == NULL ||
		    release_may_hold(r, a, 0, &msgs, &bytes) != 1 ||
		    msgs != 1 || bytes != 1000)
			bad++;
	T_EQ_U(bad, 0, "each account holds one message of 1000 bytes");
	release_tick(r, now);
	pump(loop, s, 100, 20000);
	T_EQ_U(released(s), 100, "all released");
	release_tick(r, now + 2000000);	/* drops the drained accounts */
	for (i = bad = 0; i < 100; i++)
		if ((a = acct_by_id(as, id[i])) == NULL ||
		    release_may_hold(r, a, 0, &msgs, &bytes) != 1 ||
		    msgs != 0 || bytes != 0)
			bad++;
	T_EQ_U(bad, 0, "none holds anything once released");
	for (i = 1; i < 100; i += 2) {
		snprintf(qid, sizeof(qid), "NEW%03zuAAA", i);
		if ((a = acct_by_id(as, id[i])) == NULL ||
		    release_note_held(r, a, qid, 1, 100 + i, "x@example.org",
		    0, NULL) == -1)
			T_OK(0, "held %s", qid);
	}
	for (i = bad = 0; i < 100; i++) {
		bytes = 99999;
		if ((a = acct_by_id(as, id[i])) != NULL)
			(void)release_may_hold(r, a, 0, &msgs, &bytes);
		if (bytes != (i % 2 ? 100 + i : 0))
			bad++;
	}
	T_EQ_U(bad, 0, "each odd account holds its new message's bytes");
	release_free(r);
	loop_free(loop);
	acct_free(as);
	store_close(s);
	cleanup();
}

int
main(void)
{
	log_init("test_release", 1, 0);
	test_scheduler();
	test_stuck_postsuper_times_out();
	test_admin_change_releases_parked_mail();
	test_failed_release_refunded();
	test_held_set_survives_accounts_coming_and_going();
	return t_done();
}
