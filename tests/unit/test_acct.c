/*
 * test_acct - mailgovd's account index: lookups by UID, GID, SASL user and
 * domain; a UID's account found without side effects, and adopted (auto
 * accounts for web UIDs); charging; reload keeping live state;
 * flush durability; and a 100,000-account load.
 */
#include <sys/time.h>

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acct.h"
#include "t.h"

#define HOUR_US		3600000000ULL
#define DAY_US		86400000000ULL

static char dir[256], path[512];

/* scratch - a fresh directory, a database path and a created store */
static struct store *
scratch(void)
{
	const char *t = getenv("TMPDIR");
	struct store *s;
	char err[256];

	snprintf(dir, sizeof(dir), "%s/mailgov-acct.XXXXXX", t ? t : "/tmp");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		exit(2);
	}
	snprintf(path, sizeof(path), "%s/mailgov.db", dir);
	if ((s = store_open(path, STORE_CREATE, 1000, err, sizeof(err)))
	    == NULL) {
		printf("not ok - store_open: %s\n", err);
		exit(1);
	}
	return s;
}

static struct store *
reopen(void)
{
	char err[256];
	struct store *s = store_open(path, 0, 1000, err, sizeof(err));

	if (s == NULL) {
		printf("not ok - store_open: %s\n", err);
		exit(1);
	}
	return s;
}

static void
cleanup(void)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

static double
now_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return tv.tv_sec * 1000.0 + tv.tv_usec / 1000.0;
}

/* test_config - defaults, with web UIDs 0-2 (root, daemon, bin) and
 * 4000000 (no passwd entry), and web group 4242 */
static void
test_config(struct config *cfg)
{
	config_defaults(cfg);
	cfg->web_uids[0] = (struct uid_range){ 0, 2 };
	cfg->web_uids[1] = (struct uid_range){ 4000000, 4000000 };
	cfg->n_web_uids = 2;
	cfg->web_gids[0] = 4242;
	cfg->n_web_gids = 1;
}

static void
populate(struct store *s)
{
	/* five an hour, and the default's day window */
	struct budget five = { 2, { { 5, HOUR_US, 0 }, { 1000, DAY_US, 0 } } };
	struct budget ten = { 1, { { 10, DAY_US, 0 } } };
	struct budget cap = { 1, { { 3, 0, 0 } } };

	store_account_add(s, "alice", 0, NULL);
	store_uid_add(s, "alice", 1000, 1009);
	store_relay_add(s, "alice", "192.0.2.1", 587);
	store_relay_add(s, "alice", "2001:db8::25", 0);
	store_budget_set(s, "alice", BK_MESSAGES, &five);
	store_budget_set(s, "alice", BK_RECIPIENTS, &ten);
	store_budget_set(s, "alice", BK_RCPT_MSG, &cap);
	store_account_add(s, "bob", 0, NULL);
	store_uid_add(s, "bob", 2000, 2000);
	store_domain_add(s, "bob", "Bob.Example");
	store_account_add(s, "carol", 0, NULL);
	store_gid_add(s, "carol", 3000);
	store_account_add(s, "dave", 0, NULL);
	store_sasl_add(s, "dave", "dave@example.org");
	/* takes daemon's login name, so uid 1 must become "uid1" */
	store_account_add(s, "daemon", 0, NULL);
}

static void
test_lookups(void)
{
	struct store *s = scratch();
	struct config cfg;
	struct accts *as;
	struct acct *a;

	test_config(&cfg);
	populate(s);
	as = acct_load(s, &cfg);
	T_OK(as != NULL, "acct_load");
	if (as == NULL)
		return;
	T_EQ_U(acct_count(as), 6, "six accounts");
	T_EQ_S(acct_default(as)->name, "default", "default account");
	a = acct_adopt_uid(as, 1005, 1005);
	T_EQ_S(a ? a->name : NULL, "alice", "uid in a range");
	T_EQ_S(acct_adopt_uid(as, 1000, 0)->name, "alice", "range start");
	T_EQ_S(acct_adopt_uid(as, 1009, 0)->name, "alice", "range end");
	T_EQ_S(acct_adopt_uid(as, 1010, 0)->name, "default", "past the range");
	T_EQ_S(acct_adopt_uid(as, 2000, 3000)->name, "bob", "uid before gid");
	T_EQ_S(acct_adopt_uid(as, 5000, 3000)->name, "carol", "gid");
	T_EQ_S(acct_adopt_uid(as, 5000, 5000)->name, "default", "non-web uid");
	T_EQ_S(acct_find_uid(as, 1005, 0)->name, "alice", "find: a range");
	T_EQ_S(acct_find_uid(as, 5000, 3000)->name, "carol", "find: gid");
	T_OK(acct_find_uid(as, 5000, 5000) == NULL, "find: nobody's uid");
	T_EQ_S(acct_by_sasl(as, "dave@example.org")->name, "dave", "sasl");
	T_OK(acct_by_sasl(as, "DAVE@example.org") == NULL,
	    "sasl is case-sensitive");
	T_EQ_S(acct_by_domain(as, "bob.example")->name, "bob", "domain");
	T_EQ_S(acct_by_domain(as, "BOB.EXAMPLE")->name, "bob",
	    "domain ignores case");
	T_OK(acct_by_domain(as, "x.bob.example") == NULL, "domain is exact");
	T_EQ_S(acct_by_name(as, "carol")->name, "carol", "by name");
	T_OK(acct_by_name(as, "nobody") == NULL, "unknown name");
	a = acct_by_name(as, "alice");
	T_OK(acct_by_id(as, a->id) == a, "by id");
	T_OK(acct_by_id(as, 9999) == NULL, "unknown id");
	T_EQ_U(a->lim[BK_MESSAGES]->w[0].limit, 5, "explicit budget");
	T_EQ_U(a->lim[BK_MESSAGES]->n, 2, "explicit: both windows");
	T_OK(a->lim[BK_NEW_CONN] == &cfg.budget[BK_NEW_CONN],
	    "default budget: the config's own");
	{
		const struct budget_limit *w;

		T_EQ_U(acct_windows(a, BK_MESSAGES, &w), 2,
		    "acct_windows: two message windows");
		T_EQ_U(w[1].period_us, DAY_US, "acct_windows: the day");
		T_EQ_U(acct_windows(a, BK_RCPT_MSG, &w), 1,
		    "acct_windows: a cap has one");
		T_EQ_U(w[0].period_us, 0, "acct_windows: a cap's has no "
		    "period");
	}
	T_EQ_U(a->n_relays, 2, "two relays");
	T_EQ_U(acct_is_exempt(a, "192.0.2.1", 587), 1, "exempt relay");
	T_EQ_U(acct_is_exempt(a, "192.0.2.1", 25), 0, "other port");
	T_EQ_U(acct_is_exempt(a, "2001:DB8:0::25", 465), 1,
	    "v6, any port, non-canonical address");
	T_EQ_U(acct_is_exempt(a, "bogus", 587), 0, "not an address");
	T_EQ_U(acct_is_exempt(acct_by_name(as, "bob"), "192.0.2.1", 587), 0,
	    "not bob's relay");
	acct_free(as);
	store_close(s);
	cleanup();
}

static void
test_auto_accounts(void)
{
	struct store *s = scratch();
	struct store_account sa;
	struct config cfg;
	struct accts *as;
	struct acct *a, *b;
	size_t n;

	test_config(&cfg);
	populate(s);
	as = acct_load(s, &cfg);
	n = acct_count(as);
	if (getpwuid(0) == NULL || strcmp(getpwuid(0)->pw_name, "root")) {
		printf("ok - # SKIP no root passwd entry\n");
	} else {
		T_OK(acct_find_uid(as, 0, 0) == NULL,
		    "find: a web uid nobody adopted has no account");
		T_EQ_U(acct_count(as), n, "find creates nothing");
		T_EQ_U(store_account_get(s, "root", &sa), -1,
		    "find stores nothing");
		a = acct_adopt_uid(as, 0, 0);
		T_EQ_S(a->name, "root", "auto account named after the login");
		T_OK(acct_find_uid(as, 0, 0) == a, "find: the adopted account");
		T_EQ_U(a->is_auto, 1, "is_auto");
		T_EQ_U(a->lim[BK_MESSAGES]->w[0].limit,
		    cfg.budget[BK_MESSAGES].w[0].limit, "auto gets the defaults");
		T_EQ_U(acct_count(as), n + 1, "indexed");
		T_OK(acct_adopt_uid(as, 0, 0) == a, "same account next time");
		T_OK(acct_by_name(as, "root") == a, "by name");
		T_EQ_U(store_account_get(s, "root", &sa), 0, "in the store");
		T_EQ_U(sa.is_auto, 1, "stored as auto");
		/* an explicit account claiming it takes the auto account
		 * over (see store_uid_add) */
		T_EQ_U(store_uid_add(s, "bob", 0, 0), 0,
		    "an explicit account takes over the auto account's uid");
	}
	if (getpwuid(1) != NULL &&
	    strcmp(getpwuid(1)->pw_name, "daemon") == 0) {
		a = acct_adopt_uid(as, 1, 1);
		T_EQ_S(a->name, "uid1", "login name taken: uid<N>");
		T_EQ_U(a->is_auto, 1, "uid1 is auto");
	} else {
		printf("ok - # SKIP no daemon passwd entry\n");
	}
	if (getpwuid(4000000) == NULL) {
		n = acct_count(as);
		T_OK(acct_find_uid(as, 4000000, 4000000) == NULL,
		    "find: not adopted yet");
		a = acct_adopt_uid(as, 4000000, 4000000);
		T_EQ_S(a->name, "default", "web uid without passwd entry");
		T_EQ_U(acct_count(as), n, "no account made");
		T_OK(acct_adopt_uid(as, 4000000, 0) == a, "asked again");
		T_OK(acct_find_uid(as, 4000000, 0) == a,
		    "find: the default account adopt settled on");
	}
	/* a web group makes an unlisted uid a web uid */
	if (getpwuid(2) != NULL) {
		cfg.n_web_uids = 0;
		b = acct_adopt_uid(as, 2, 4242);
		T_EQ_U(b->is_auto, 1, "web gid: auto account");
		T_OK(b != acct_default(as), "not default");
		cfg.n_web_uids = 2;
	}
	acct_free(as);
	store_close(s);

	/* the next daemon finds them as ordinary explicit uids */
	s = reopen();
	as = acct_load(s, &cfg);
	if (getpwuid(0) != NULL && strcmp(getpwuid(0)->pw_name, "root") == 0)
		T_EQ_S(acct_adopt_uid(as, 0, 0)->name, "bob",
		    "the taking account owns the uid after restart");
	acct_free(as);
	store_close(s);
	cleanup();
}

/*
 * test_charge_windows - a kind with several windows: every window must
 * allow a charge, a refusal spends none of them, and a refund gives the
 * unit back to each
 */
static void
test_charge_windows(void)
{
	struct store *s = scratch();
	struct budget nc = { 2, { { 2, 60000000ULL, 0 },
	    { 3, HOUR_US, 0 } } };
	struct config cfg;
	struct accts *as;
	struct acct *a;
	uint64_t now = 1000 * HOUR_US, retry = 0, t0, t1;

	test_config(&cfg);
	store_account_add(s, "w", 0, NULL);
	store_budget_set(s, "w", BK_NEW_CONN, &nc);
	as = acct_load(s, &cfg);
	a = acct_by_name(as, "w");
	T_EQ_U(acct_charge(a, BK_NEW_CONN, 1, now, NULL), BUDGET_OK, "1st");
	T_EQ_U(acct_charge(a, BK_NEW_CONN, 1, now, NULL), BUDGET_OK, "2nd");
	t0 = a->use.tat[BK_NEW_CONN][0];
	t1 = a->use.tat[BK_NEW_CONN][1];
	T_EQ_U(acct_charge(a, BK_NEW_CONN, 1, now, &retry), BUDGET_OVER,
	    "3rd in the minute: over the minute window");
	T_OK(retry > now && retry <= now + 30000000ULL,
	    "retry when the minute window lets one through");
	T_OK(a->use.tat[BK_NEW_CONN][1] == t1, "the hour window not spent");
	now += 60000000ULL;
	T_EQ_U(acct_charge(a, BK_NEW_CONN, 1, now, NULL), BUDGET_OK,
	    "a minute later: the 3rd of the hour");
	now += 60000000ULL;
	t0 = a->use.tat[BK_NEW_CONN][0];
	T_EQ_U(acct_charge(a, BK_NEW_CONN, 1, now, &retry), BUDGET_OVER,
	    "4th in the hour: over the hour window");
	T_OK(a->use.tat[BK_NEW_CONN][0] == t0,
	    "the minute window not spent either");
	T_OK(retry > now + 60000000ULL, "retry when the hour lets one through");
	t0 = a->use.tat[BK_NEW_CONN][0];
	t1 = a->use.tat[BK_NEW_CONN][1];
	acct_refund(a, BK_NEW_CONN, 1);
	T_OK(a->use.tat[BK_NEW_CONN][0] < t0 && a->use.tat[BK_NEW_CONN][1] <
	    t1, "a refund goes back to every window");
	T_EQ_U(acct_charge(a, BK_NEW_CONN, 1, now, NULL), BUDGET_OK,
	    "the refunded unit spent again");
	acct_free(as);
	store_close(s);
	cleanup();
}

static void
test_charge(void)
{
	struct store *s = scratch();
	struct config cfg;
	struct accts *as;
	struct acct *a;
	uint64_t now = 1000 * HOUR_US, retry = 0;
	uint64_t tat[BK_RATES][BUDGET_WINDOWS_MAX];
	enum budget_kind which = BK_COUNT;
	int i, ok = 0;

	test_config(&cfg);
	populate(s);
	as = acct_load(s, &cfg);
	a = acct_by_name(as, "alice");
	T_EQ_U(a->dirty, 0, "clean after load");
	for (i = 0; i < 6; i++)
		if (acct_charge(a, BK_MESSAGES, 1, now, &retry) == BUDGET_OK)
			ok++;
	T_EQ_U(ok, 5, "five of six per hour");
	T_OK(retry > now && retry <= now + HOUR_US / 5,
	    "retry within one emission interval");
	T_EQ_U(a->dirty, 1, "dirty after a charge");
	T_EQ_U(acct_charge(a, BK_RCPT_MSG, 3, now, NULL), BUDGET_OK,
	    "cap: at the limit");
	T_EQ_U(acct_charge(a, BK_RCPT_MSG, 4, now, &retry), BUDGET_OVER,
	    "cap: above the limit");
	T_EQ_U(retry, UINT64_MAX, "cap never refills");

	/* all or nothing: the hour is spent, nothing else may move */
	memcpy(tat, a->use.tat, sizeof(tat));
	T_EQ_U(acct_charge_message(a, 1, now, &which, &retry), BUDGET_OVER,
	    "message refused");
	T_EQ_U(which, BK_MESSAGES, "by messages/hour");
	T_OK(memcmp(tat, a->use.tat, sizeof(tat)) == 0, "nothing spent");
	now += HOUR_US;
	T_EQ_U(acct_charge_message(a, 11, now, &which, &retry), BUDGET_OVER,
	    "11 recipients over 10/day");
	T_EQ_U(which, BK_RECIPIENTS, "by recipients/day");
	T_OK(memcmp(tat, a->use.tat, sizeof(tat)) == 0,
	    "messages/hour not spent either");
	T_EQ_U(acct_charge_message(a, 10, now, &which, &retry), BUDGET_OK,
	    "10 recipients pass");
	T_OK(a->use.tat[BK_MESSAGES][0] > tat[BK_MESSAGES][0] &&
	    a->use.tat[BK_MESSAGES][1] > tat[BK_MESSAGES][1] &&
	    a->use.tat[BK_RECIPIENTS][0] > tat[BK_RECIPIENTS][0],
	    "all three spent");
	T_EQ_U(acct_charge_message(a, 1, now, &which, &retry), BUDGET_OVER,
	    "the day's recipients are gone");
	T_EQ_U(which, BK_RECIPIENTS, "by recipients/day again");
	T_OK(retry > now, "retry later");
	acct_free(as);
	store_close(s);
	cleanup();
}

static void
test_flush_is_durable(void)
{
	struct store *s = scratch();
	struct store_usage u;
	struct config cfg;
	struct accts *as;
	struct acct *a;
	uint64_t tat;

	test_config(&cfg);
	populate(s);
	as = acct_load(s, &cfg);
	a = acct_by_name(as, "bob");
	acct_charge(a, BK_MESSAGES, 1, 5 * HOUR_US, NULL);
	a->use.messages = 1;
	a->use.recipients = 3;
	acct_touch(a);
	tat = a->use.tat[BK_MESSAGES][0];
	T_OK(tat > 0, "charged");

	/* a group commit that fails keeps the accounts dirty */
	T_EQ_U(store_begin(s), 0, "begin");
	T_EQ_U(acct_flush(as), 0, "flush in the caller's transaction");
	T_EQ_U(a->dirty, 0, "clean");
	store_rollback(s);
	acct_unflush(as);
	T_EQ_U(a->dirty, 1, "dirty again after a failed commit");
	T_EQ_U(acct_flush(as), 0, "flush in its own transaction");
	T_EQ_U(a->dirty, 0, "clean after flush");
	T_EQ_U(acct_flush(as), 0, "nothing to flush");
	acct_free(as);
	store_close(s);

	s = reopen();
	T_EQ_U(store_usage_get(s, 3, &u), 0, "usage after reopen");
	T_EQ_U(u.tat[BK_MESSAGES][0], tat, "tat durable");
	T_EQ_U(u.messages, 1, "messages durable");
	T_EQ_U(u.recipients, 3, "recipients durable");
	as = acct_load(s, &cfg);
	T_EQ_U(acct_by_name(as, "bob")->use.tat[BK_MESSAGES][0], tat,
	    "loaded back into memory");
	acct_free(as);
	store_close(s);
	cleanup();
}

static void
test_reload_keeps_state(void)
{
	struct store *s = scratch(), *ctl;
	struct budget two = { 2, { { 5, HOUR_US, 0 }, { 2, DAY_US, 0 } } };
	struct config cfg;
	struct accts *as;
	struct acct *alice, *bob, *dave;
	uint64_t tat;

	test_config(&cfg);
	populate(s);
	as = acct_load(s, &cfg);
	alice = acct_by_name(as, "alice");
	bob = acct_by_name(as, "bob");
	dave = acct_by_name(as, "dave");
	acct_charge(alice, BK_MESSAGES, 2, HOUR_US, NULL);
	tat = alice->use.tat[BK_MESSAGES][0];
	alice->n_held = 4;
	acct_charge(dave, BK_MESSAGES, 1, HOUR_US, NULL);
	acct_flush(as);		/* dave clean, alice charged again below */
	acct_charge(alice, BK_MESSAGES, 1, HOUR_US, NULL);
	tat = alice->use.tat[BK_MESSAGES][0];

	T_EQ_U(acct_reload(as), 0, "reload with no change");
	ctl = reopen();		/* mailgovctl, another connection */
	store_account_set_blocked(ctl, "alice", 1);
	store_budget_set(ctl, "alice", BK_MESSAGES, &two);
	store_sasl_add(ctl, "carol", "carol@example.org");
	store_account_del(ctl, "bob");
	store_usage_reset(ctl, "dave", 1);
	store_account_add(ctl, "erin", 0, NULL);
	store_uid_add(ctl, "erin", 7000, 7999);
	store_close(ctl);

	T_EQ_U(acct_reload(as), 0, "reload");
	T_OK(acct_by_name(as, "alice") == alice, "same object");
	T_EQ_U(alice->blocked, 1, "new flag");
	T_EQ_U(alice->lim[BK_MESSAGES]->w[1].limit, 2, "new budget");
	T_EQ_U(alice->use.tat[BK_MESSAGES][0], tat, "dirty state kept");
	T_EQ_U(alice->dirty, 1, "still dirty");
	T_EQ_U(alice->n_held, 4, "held count kept");
	T_EQ_U(dave->use.tat[BK_MESSAGES][0], 0,
	    "clean account takes the store's reset");
	T_EQ_S(acct_by_sasl(as, "carol@example.org")->name, "carol",
	    "new sasl");
	T_OK(acct_by_name(as, "bob") == NULL, "bob gone");
	T_EQ_S(acct_adopt_uid(as, 2000, 0)->name, "default", "bob's uid freed");
	T_EQ_S(bob->name, "bob", "old pointer still readable");
	T_EQ_S(acct_adopt_uid(as, 7500, 0)->name, "erin", "new range");
	acct_charge(bob, BK_MESSAGES, 1, HOUR_US, NULL);
	T_EQ_U(acct_flush(as), 0, "flush skips the deleted account");
	T_EQ_U(alice->dirty, 0, "alice flushed");
	acct_free(as);
	store_close(s);
	cleanup();
}

/* keep - acct_collect's callback for a batch that goes nowhere */
static int
keep(struct acct *a, void *arg)
{
	(void)a;
	(void)arg;
	return 0;
}

/*
 * A mailgovctl reset must win over charges the daemon has made but not
 * written: at the reload, at a plain flush, and when the committer's
 * batch finds the row moved on (acct_stale).
 */
static void
test_reset_wins_over_unwritten_charges(void)
{
	struct store *s = scratch(), *ctl;
	struct store_usage u;
	struct config cfg;
	struct accts *as;
	struct acct *alice, *dave, *carol;

	test_config(&cfg);
	populate(s);
	as = acct_load(s, &cfg);
	alice = acct_by_name(as, "alice");
	dave = acct_by_name(as, "dave");
	carol = acct_by_name(as, "carol");
	acct_charge(alice, BK_MESSAGES, 2, HOUR_US, NULL);
	acct_charge(dave, BK_MESSAGES, 2, HOUR_US, NULL);
	T_EQ_U(acct_flush(as), 0, "first flush");
	acct_charge(alice, BK_MESSAGES, 1, HOUR_US, NULL);	/* unwritten */
	acct_charge(dave, BK_MESSAGES, 1, HOUR_US, NULL);	/* unwritten */
	ctl = reopen();
	T_EQ_U(store_usage_reset(ctl, "alice", 0), 0, "reset alice");
	T_EQ_U(store_usage_reset(ctl, "dave", 0), 0, "reset dave");

	/* a flush that comes first finds dave's row moved on */
	T_EQ_U(store_usage_put(s, &dave->use), 1, "old epoch refused");
	T_EQ_U(acct_reload(as), 0, "reload");
	T_EQ_U(alice->use.tat[BK_MESSAGES][0], 0, "dirty alice took the reset");
	T_EQ_U(alice->use.epoch, 1, "and its epoch");
	T_EQ_U(dave->use.tat[BK_MESSAGES][0], 0, "dirty dave took the reset");
	T_EQ_U(acct_flush(as), 0, "flush after the reset");
	store_usage_get(s, alice->id, &u);
	T_EQ_U(u.tat[BK_MESSAGES][0], 0, "the store keeps the reset");

	/* the committer's case: a copy collected before the reset */
	acct_single_writer(as);
	acct_charge(carol, BK_MESSAGES, 3, HOUR_US, NULL);
	acct_collect(as, 5, keep, NULL);
	T_EQ_U(carol->dirty, 5, "collected into batch 5");
	T_EQ_U(store_usage_reset(ctl, "carol", 1), 0, "reset carol --all");
	acct_stale(as, carol->id, 5);
	T_EQ_U(carol->use.tat[BK_MESSAGES][0], 0, "carol took the reset");
	T_EQ_U(carol->use.messages, 0, "counters too");
	T_EQ_U(carol->dirty, 0, "and is clean");
	acct_charge(carol, BK_MESSAGES, 1, HOUR_US, NULL);
	acct_stale(as, carol->id, 5);	/* a late copy of the same batch */
	T_OK(carol->use.tat[BK_MESSAGES][0] != 0, "a second refusal keeps new "
	    "charges");
	store_close(ctl);
	acct_free(as);
	store_close(s);
	cleanup();
}

static void
test_hundred_thousand_accounts(void)
{
	struct store *s = scratch();
	struct config cfg;
	struct accts *as;
	struct acct *a;
	char name[32], user[48];
	double t0, t1;
	int i, ok = 1;

	test_config(&cfg);
	t0 = now_ms();
	store_begin(s);
	for (i = 0; i < 100000 && ok; i++) {
		snprintf(name, sizeof(name), "site%06d", i);
		snprintf(user, sizeof(user), "user%d@example.org", i);
		ok = store_account_add(s, name, 0, NULL) == 0 &&
		    store_uid_add(s, name, 100000 + i, 100000 + i) == 0 &&
		    store_sasl_add(s, name, user) == 0;
	}
	T_OK(ok, "built 100k accounts: %s", ok ? "" : store_error(s));
	T_EQ_U(store_commit(s), 0, "commit");
	t1 = now_ms();
	printf("# 100k accounts with a uid and a SASL name written in %.0f ms\n",
	    t1 - t0);

	t0 = now_ms();
	as = acct_load(s, &cfg);
	t1 = now_ms();
	T_OK(as != NULL, "acct_load");
	if (as == NULL)
		return;
	printf("# acct_load of 100k accounts: %.0f ms\n", t1 - t0);
	T_EQ_U(acct_count(as), 100001, "every account and default");
	a = acct_adopt_uid(as, 100000 + 54321, 0);
	T_EQ_S(a ? a->name : NULL, "site054321", "by uid");
	T_EQ_S(acct_by_sasl(as, "user99999@example.org")->name, "site099999",
	    "by sasl");
	T_EQ_S(acct_by_name(as, "site000000")->name, "site000000", "by name");
	T_EQ_S(acct_adopt_uid(as, 200000, 0)->name, "default", "past the last");

	for (i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "site%06d", i * 97);
		acct_charge(acct_by_name(as, name), BK_MESSAGES, 1, HOUR_US,
		    NULL);
	}
	t0 = now_ms();
	T_EQ_U(store_begin(s), 0, "group commit");
	T_EQ_U(acct_flush(as), 0, "flush 1000 dirty");
	T_EQ_U(store_commit(s), 0, "commit");
	t1 = now_ms();
	printf("# flush of 1000 dirty accounts + commit: %.2f ms\n", t1 - t0);

	{
		struct store *d = reopen();

		store_account_add(d, "from-ctl", 0, NULL);
		store_close(d);
	}
	t0 = now_ms();
	T_EQ_U(acct_reload(as), 0, "reload 100k");
	t1 = now_ms();
	printf("# acct_reload of 100k accounts: %.0f ms\n", t1 - t0);
	T_OK(acct_by_name(as, "from-ctl") != NULL, "reloaded");
	T_EQ_U(acct_by_name(as, "site000097")->dirty, 0, "flushed stays clean");
	acct_free(as);
	store_close(s);
	cleanup();
}

/* collect_put - acct_collect's callback: count what was handed over */
static int
collect_put(struct acct *a, void *arg)
{
	int *n = arg;

	(void)a;
	(*n)++;
	return 0;
}

static void
test_collect_and_committed(void)
{
	struct store *s = scratch();
	struct config cfg;
	struct accts *as;
	struct acct *a, *b;
	int n = 0;

	test_config(&cfg);
	populate(s);
	as = acct_load(s, &cfg);
	acct_single_writer(as);
	a = acct_by_name(as, "alice");
	b = acct_by_name(as, "bob");
	acct_touch(a);
	acct_touch(b);
	acct_touch(a);
	T_EQ_U(acct_flush(as), 0, "flush writes nothing with a committer");
	T_EQ_U(a->dirty, 1, "still dirty after acct_flush");
	acct_collect(as, 7, collect_put, &n);
	T_EQ_U(n, 2, "each charged account collected once");
	T_EQ_U(a->dirty, 7, "dirty until batch 7 is on disk");
	n = 0;
	acct_collect(as, 8, collect_put, &n);
	T_EQ_U(n, 0, "nothing charged since");
	/* bob charged again and copied into batch 8 before 7 came back */
	acct_touch(b);
	acct_collect(as, 8, collect_put, &n);
	acct_committed(as, a->id, 7);
	acct_committed(as, b->id, 7);
	T_EQ_U(a->dirty, 0, "alice clean once batch 7 committed");
	T_EQ_U(b->dirty, 8, "bob waits for batch 8");
	/* charged again after collection: not clean when its batch lands */
	acct_touch(b);
	acct_committed(as, b->id, 8);
	T_EQ_U(b->dirty, 8, "bob charged since: still dirty");
	acct_collect(as, 9, collect_put, &n);
	acct_committed(as, b->id, 9);
	T_EQ_U(b->dirty, 0, "bob clean");
	acct_free(as);
	store_close(s);
	cleanup();
}

int
main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	test_lookups();
	test_auto_accounts();
	test_charge();
	test_charge_windows();
	test_flush_is_durable();
	test_collect_and_committed();
	test_reload_keeps_state();
	test_reset_wins_over_unwritten_charges();
	test_hundred_thousand_accounts();
	return t_done();
}
