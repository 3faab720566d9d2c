/*
 * test_decide - the policy server's decision without its sockets: the
 * main instance's attribution; END-OF-MESSAGE within and over budget in
 * each mode, blocked, behind held mail, past the hold caps, and asked
 * again for a queue ID; recipient_count and size parsing; the recipient
 * cap at RCPT.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decide.h"
#include "t.h"

#define HOUR_US		3600000000ULL
#define DAY_US		86400000000ULL
#define NOW		(1700000000ULL * 1000000u)
#define QID		"4BCDEF1234"
#define EOM_KINDS	((1u << BK_MESSAGES) | \
	(1u << BK_RECIPIENTS))

static char dir[256], path[512];

/* scratch - a fresh directory and a created store */
static struct store *
scratch(void)
{
	const char *t = getenv("TMPDIR");
	struct store *s;
	char err[256];

	snprintf(dir, sizeof(dir), "%s/mailgov-decide.XXXXXX",
	    t ? t : "/tmp");
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

static void
cleanup(void)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

/* populate - alice: 2 messages an hour, 10 recipients a day, 3 per
 * message; bob: a sender domain; dave: a SASL user */
static void
populate(struct store *s)
{
	struct budget two = { 1, { { 2, HOUR_US, 0 } } };
	struct budget ten = { 1, { { 10, DAY_US, 0 } } };
	struct budget cap = { 1, { { 3, 0, 0 } } };

	store_account_add(s, "alice", 0, NULL);
	store_budget_set(s, "alice", BK_MESSAGES, &two);
	store_budget_set(s, "alice", BK_RECIPIENTS, &ten);
	store_budget_set(s, "alice", BK_RCPT_MSG, &cap);
	store_account_add(s, "bob", 0, NULL);
	store_domain_add(s, "bob", "bob.example");
	store_account_add(s, "dave", 0, NULL);
	store_sasl_add(s, "dave", "dave@example.org");
}

/* the test's answer to "may it hold more?" */
static int	hold_ok = 1, hold_asked;

static int
may_hold(void *arg, const struct acct *a, uint64_t size, uint32_t *msgs,
    uint64_t *bytes)
{
	(void)arg;
	(void)size;
	hold_asked++;
	*msgs = a->n_held;
	*bytes = 12345;
	return hold_ok;
}

/* fresh - alice as configured, with nothing spent */
static void
fresh(struct acct *a)
{
	memset(a->use.tat, 0, sizeof(a->use.tat));
	a->mode = MODE_PATH;
	a->blocked = 0;
	a->n_held = 0;
	hold_ok = 1;
	hold_asked = 0;
}

/* eom - one END-OF-MESSAGE with a recipient_count, a size and a queue ID */
static void
eom(const struct decide_env *env, struct acct *a, int queue,
    const char *rcpts, const char *size, const char *qid, uint64_t now,
    struct decision *d)
{
	struct decide_req q;

	memset(&q, 0, sizeof(q));
	q.state = "END-OF-MESSAGE";
	q.context = queue ? "queue" : NULL;
	q.rcpt_count = rcpts;
	q.size = size;
	q.queue_id = qid;
	decide_eom(env, a, &q, queue, now, d);
}

/* has - does the answer contain s */
static int
has(const struct decision *d, const char *s)
{
	return strstr(d->text, s) != NULL;
}

static void
test_within(struct decide_env *env, struct acct *a)
{
	struct decision d;
	uint64_t tat;

	fresh(a);
	eom(env, a, 1, "2", "1000", QID "1", NOW, &d);
	T_EQ_U(d.action, DECIDE_DUNNO, "within budget: DUNNO");
	T_EQ_S(d.text, "DUNNO", "within budget: the text");
	T_EQ_U(d.len, 5, "within budget: its length");
	T_EQ_U(d.dep, 1, "within budget: waits for the commit");
	T_EQ_U(d.count, DECIDE_C_MESSAGE, "within budget: a message counted");
	T_EQ_U(d.rcpts, 2, "within budget: its recipients");
	T_EQ_U(d.size, 1000, "within budget: its size");
	T_OK(d.alert_action == NULL && d.checked == EOM_KINDS,
	    "within budget: the three windows reported as passed");
	T_EQ_U(d.owe, 1, "within budget: the accepting answer is watched");
	T_EQ_S(d.queue_id, QID "1", "within budget: its queue ID");
	T_OK(a->use.tat[BK_MESSAGES][0] > NOW, "within budget: charged");
	T_OK(a->use.tat[BK_RECIPIENTS][0] > NOW, "within budget: recipients too");
	T_EQ_U(a->use.messages, 0, "the counters are the caller's to bump");
	tat = a->use.tat[BK_MESSAGES][0];
	eom(env, a, 0, "1", NULL, NULL, NOW, &d);
	T_EQ_U(d.action, DECIDE_DUNNO, "main instance: DUNNO");
	T_EQ_U(d.owe, 0, "main instance: nothing to watch");
	T_OK(d.queue_id == NULL, "main instance: no queue ID");
	T_OK(a->use.tat[BK_MESSAGES][0] > tat, "main instance: charged");
}

static void
test_over(struct decide_env *env, struct acct *a)
{
	struct decision d;
	uint64_t tat;

	/* the path's mode: hold on the queue instance */
	fresh(a);
	eom(env, a, 1, "1", "10", QID "2", NOW, &d);
	eom(env, a, 1, "1", "10", QID "3", NOW, &d);
	tat = a->use.tat[BK_MESSAGES][0];
	eom(env, a, 1, "1", "10", QID "4", NOW, &d);
	T_EQ_U(d.action, DECIDE_HOLD, "over, queue: HOLD");
	T_EQ_S(d.text, "HOLD mailgov: account alice over messages",
	    "over, queue: the text");
	T_EQ_U(d.count, DECIDE_C_HELD, "over, queue: counted held");
	T_EQ_U(d.note_held, 1, "over, queue: noted for release");
	T_EQ_U(hold_asked, 1, "over, queue: the hold caps asked");
	T_OK(d.alert_action != NULL && strcmp(d.alert_action, "hold") == 0 &&
	    d.alert_kind == BK_MESSAGES && d.checked == EOM_KINDS,
	    "over, queue: a hold alert for messages");
	T_EQ_U(a->use.tat[BK_MESSAGES][0], tat, "over, queue: nothing spent");
	T_EQ_U(verdicts_find(env->verdicts, QID "4", a->id), VERDICT_HELD,
	    "over, queue: the verdict is remembered");

	/* ... and defer on the main instance */
	hold_asked = 0;
	eom(env, a, 0, "1", "10", NULL, NOW, &d);
	T_EQ_U(d.action, DECIDE_DEFER, "over, main: DEFER");
	T_EQ_S(d.text, "DEFER_IF_PERMIT 4.7.1 mailgov: messages "
	    "budget exceeded for account alice, retry after 1800 s",
	    "over, main: the text says when");
	T_EQ_U(d.count, DECIDE_C_REFUSED, "over, main: counted refused");
	T_EQ_U(d.note_held, 0, "over, main: nothing held");
	T_OK(d.alert_action && strcmp(d.alert_action, "defer") == 0,
	    "over, main: a defer alert");

	/* mode hold on the main instance: held for the admin */
	a->mode = MODE_HOLD;
	eom(env, a, 0, "1", "10", QID "5", NOW, &d);
	T_EQ_U(d.action, DECIDE_HOLD, "mode hold, main: HOLD");
	T_EQ_U(d.count, DECIDE_C_HELD, "mode hold, main: counted held");
	T_EQ_U(d.note_held, 0, "mode hold, main: not for release");
	T_EQ_U(hold_asked, 0, "mode hold, main: the caps are the queue's");

	/* mode defer on the queue instance */
	a->mode = MODE_DEFER;
	eom(env, a, 1, "1", "10", QID "6", NOW, &d);
	T_EQ_U(d.action, DECIDE_DEFER, "mode defer, queue: DEFER");
	T_EQ_U(verdicts_find(env->verdicts, QID "6", a->id), VERDICT_NONE,
	    "mode defer: a deferred message is decided again");

	/* mode reject */
	a->mode = MODE_REJECT;
	eom(env, a, 1, "1", "10", QID "7", NOW, &d);
	T_EQ_U(d.action, DECIDE_REJECT, "mode reject: REJECT");
	T_EQ_S(d.text, "REJECT 5.7.1 mailgov: messages budget "
	    "exceeded for account alice", "mode reject: the text");
	T_EQ_U(d.count, DECIDE_C_REFUSED, "mode reject: counted refused");
	T_OK(d.alert_action && strcmp(d.alert_action, "reject") == 0,
	    "mode reject: a reject alert");

	/* more recipients than a day's burst never pass */
	fresh(a);
	a->mode = MODE_DEFER;
	eom(env, a, 0, "11", NULL, NULL, NOW, &d);
	T_EQ_S(d.text, "DEFER_IF_PERMIT 4.7.1 mailgov: recipients "
	    "budget exceeded for account alice, message too large for the "
	    "budget", "too large: no retry time");
	T_EQ_U(a->use.tat[BK_MESSAGES][0], 0,
	    "too large: all or nothing, no window spent");
}

static void
test_blocked(struct decide_env *env, struct acct *a)
{
	struct decision d;

	fresh(a);
	a->blocked = 1;
	eom(env, a, 1, "1", "10", QID "8", NOW, &d);
	T_EQ_U(d.action, DECIDE_REJECT, "blocked: REJECT");
	T_EQ_S(d.text, "REJECT 5.7.1 mailgov: account alice is blocked",
	    "blocked: the text");
	T_EQ_U(d.count, DECIDE_C_REFUSED, "blocked: counted refused");
	T_OK(d.alert_kind == -1 && d.alert_event &&
	    strcmp(d.alert_event, "blocked") == 0, "blocked: its own alert");
	T_EQ_U(a->use.tat[BK_MESSAGES][0], 0, "blocked: nothing charged");
	a->n_held = 3;
	eom(env, a, 1, "1", "10", QID "9", NOW, &d);
	T_EQ_U(d.action, DECIDE_REJECT, "blocked before held mail waiting");
}

static void
test_held_waiting(struct decide_env *env, struct acct *a)
{
	struct decision d;

	fresh(a);
	a->n_held = 1;
	eom(env, a, 1, "2", "500", QID "A", NOW, &d);
	T_EQ_U(d.action, DECIDE_HOLD, "held mail waiting: HOLD");
	T_EQ_S(d.text, "HOLD mailgov: account alice has held mail waiting; "
	    "this message follows it", "held mail waiting: the text");
	T_EQ_U(d.count, DECIDE_C_HELD, "held mail waiting: counted held");
	T_EQ_U(d.note_held, 1, "held mail waiting: noted for release");
	T_EQ_U(d.rcpts, 2, "held mail waiting: with its recipients");
	T_EQ_U(d.size, 500, "held mail waiting: and its size");
	T_EQ_U(a->use.tat[BK_MESSAGES][0], 0,
	    "held mail waiting: not charged (its release is)");
	T_OK(d.alert_action == NULL && d.checked == 0,
	    "held mail waiting: no alert");
	eom(env, a, 0, "1", "10", NULL, NOW, &d);
	T_EQ_U(d.action, DECIDE_DUNNO,
	    "held mail waiting: the main instance does not wait");
	a->mode = MODE_DEFER;
	eom(env, a, 1, "1", "10", QID "B", NOW, &d);
	T_EQ_U(d.action, DECIDE_DUNNO,
	    "held mail waiting: only a holding account waits");
}

static void
test_hold_caps(struct decide_env *env, struct acct *a)
{
	struct decision d;

	fresh(a);
	a->n_held = 7;
	hold_ok = 0;
	eom(env, a, 1, "1", "10", QID "C", NOW, &d);
	T_EQ_U(d.action, DECIDE_DEFER, "hold caps, held mail waiting: DEFER");
	T_EQ_S(d.text, "DEFER_IF_PERMIT 4.7.1 mailgov: account alice has too "
	    "much mail on hold (7 messages, 12345 bytes); try again later",
	    "hold caps: 4.7.1 with what it holds");
	T_EQ_U(d.count, DECIDE_C_REFUSED, "hold caps: counted refused");
	T_EQ_U(d.note_held, 0, "hold caps: not noted");
	T_OK(d.alert_event && strcmp(d.alert_event, "hold_full") == 0 &&
	    strcmp(d.alert_action, "defer") == 0, "hold caps: its alert");
	T_EQ_U(verdicts_find(env->verdicts, QID "C", a->id), VERDICT_NONE,
	    "hold caps: decided again when asked again");

	/* over budget, with the caps full */
	fresh(a);
	eom(env, a, 1, "1", "10", QID "D", NOW, &d);
	eom(env, a, 1, "1", "10", QID "E", NOW, &d);
	hold_ok = 0;
	eom(env, a, 1, "1", "10", QID "F", NOW, &d);
	T_EQ_U(d.action, DECIDE_DEFER, "hold caps, over budget: DEFER");
	T_OK(has(&d, "4.7.1") && has(&d, "too much mail on hold"),
	    "hold caps, over budget: the hold caps' text");
	T_OK(d.alert_event && strcmp(d.alert_event, "hold_full") == 0,
	    "hold caps, over budget: the hold_full alert, not the budget's");
}

static void
test_parsing(struct decide_env *env, struct acct *a)
{
	static const struct {
		const char	*rcpts, *size;
		uint32_t	 want_rcpts;
		uint64_t	 want_size;
		const char	*name;
	} t[] = {
		{ "3", "2048", 3, 2048, "plain numbers" },
		{ NULL, NULL, 1, 0, "missing: one recipient, no size" },
		{ "0", "0", 1, 0, "zero recipients count as one" },
		{ "", "", 1, 0, "empty" },
		{ "abc", "12k", 1, 0, "not numbers" },
		{ "-1", "-1", 1, 0, "negative" },
		{ "+2", " 5", 1, 0, "a sign, a space" },
		{ "0x10", "1e6", 1, 0, "hex, exponent" },
		{ "4294967295", "1099511627776", 4294967295u,
		    1099511627776ull, "the bounds" },
		{ "4294967296", "1099511627777", 1, 0, "past the bounds" },
		{ "99999999999999999999999", "99999999999999999999999", 1, 0,
		    "huge" },
	};
	struct decision d;
	size_t i;
	char name[128];

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		fresh(a);
		a->blocked = 1;		/* parsed, then refused: no charge */
		eom(env, a, 0, t[i].rcpts, t[i].size, NULL, NOW, &d);
		snprintf(name, sizeof(name), "recipient_count: %s", t[i].name);
		T_EQ_U(d.rcpts, t[i].want_rcpts, name);
		snprintf(name, sizeof(name), "size: %s", t[i].name);
		T_EQ_U(d.size, t[i].want_size, name);
	}
}

static void
test_rcpt(struct acct *a)
{
	struct decision d;
	uint32_t n;

	fresh(a);
	for (n = 1; n <= 3; n++) {
		decide_rcpt(a, n, NOW, &d);
		T_EQ_U(d.action, DECIDE_DUNNO, "rcpt within the cap");
	}
	T_EQ_S(d.text, "DUNNO", "rcpt within the cap: DUNNO");
	T_EQ_U(d.count, 0, "rcpt within the cap: nothing counted");
	T_EQ_U(d.rcpts, 3, "rcpt: the transaction's recipients");
	decide_rcpt(a, 4, NOW, &d);
	T_EQ_U(d.action, DECIDE_DEFER, "rcpt past the cap: refused");
	T_EQ_S(d.text, "452 4.5.3 Too many recipients (mailgov: "
	    "recipients_per_message 3 exceeded)", "rcpt past the cap: 452");
	T_EQ_U(d.dep, 0, "rcpt: the answer does not wait");
	T_EQ_U(d.count, DECIDE_C_REFUSED, "rcpt past the cap: refused");
	T_OK(d.alert_action && strcmp(d.alert_action, "refuse_rcpt") == 0 &&
	    d.alert_kind == BK_RCPT_MSG &&
	    d.checked == (1u << BK_RCPT_MSG), "rcpt past the cap: alert");
	T_EQ_U(a->use.tat[BK_RECIPIENTS][0], 0, "rcpt: a cap spends nothing");
}

static void
test_repeat(struct decide_env *env, struct acct *a, struct acct *b)
{
	struct decision d;
	uint64_t tat;

	fresh(a);
	eom(env, a, 1, "1", "10", QID "G", NOW, &d);
	tat = a->use.tat[BK_MESSAGES][0];
	eom(env, a, 1, "1", "10", QID "G", NOW, &d);
	T_EQ_U(d.action, DECIDE_DUNNO, "asked again: the same DUNNO");
	T_EQ_U(d.count, 0, "asked again: not counted twice");
	T_EQ_U(a->use.tat[BK_MESSAGES][0], tat, "asked again: not charged twice");
	T_EQ_U(d.owe, 1, "asked again: watched again");
	T_EQ_U(d.dep, 1, "asked again: after the commit");
	T_OK(d.alert_action == NULL && d.checked == 0,
	    "asked again: no alert");

	/* a held one, even with room in the budget by now */
	eom(env, a, 1, "1", "10", QID "H", NOW, &d);
	eom(env, a, 1, "1", "10", QID "I", NOW, &d);
	T_EQ_U(d.action, DECIDE_HOLD, "over: held");
	eom(env, a, 1, "1", "10", QID "I", NOW + DAY_US, &d);
	T_EQ_U(d.action, DECIDE_HOLD, "asked again: still on hold");
	T_EQ_S(d.text, "HOLD mailgov: account alice: this message is already "
	    "on hold", "asked again: the text");
	T_EQ_U(d.count, 0, "asked again: not held twice");
	T_EQ_U(d.note_held, 0, "asked again: no second held row");

	/* another account's message, or no valid ID: decided afresh */
	eom(env, b, 1, "1", "10", QID "G", NOW, &d);
	T_EQ_U(d.count, DECIDE_C_MESSAGE, "another account: charged");
	fresh(a);
	eom(env, a, 1, "1", "10", "ABC", NOW, &d);
	eom(env, a, 1, "1", "10", "ABC", NOW, &d);
	T_EQ_U(d.count, DECIDE_C_MESSAGE, "a queue ID too short: charged");
	T_OK(d.queue_id == NULL && d.owe == 0, "a bad queue ID is not used");
	fresh(a);
	eom(env, a, 0, "1", "10", QID "J", NOW, &d);
	eom(env, a, 0, "1", "10", QID "J", NOW, &d);
	T_EQ_U(d.count, DECIDE_C_MESSAGE,
	    "the main instance's queue IDs are not remembered");
}

static void
test_nobody(struct decide_env *env)
{
	struct decision d;

	eom(env, NULL, 0, "1", "10", NULL, NOW, &d);
	T_EQ_U(d.action, DECIDE_DUNNO, "nobody's mail: DUNNO");
	T_EQ_U(d.dep, 0, "nobody's mail: at once");
	T_EQ_U(d.count, 0, "nobody's mail: nothing counted");
}

static void
test_main_account(struct accts *as)
{
	static const struct {
		const char	*sasl, *sender, *caddr, *saddr, *want;
		const char	*name;
	} t[] = {
		{ "dave@example.org", "x@bob.example", "192.0.2.9", NULL,
		    "dave", "SASL user, from anywhere" },
		{ "who@example.org", "x@Bob.Example", "192.0.2.9", NULL,
		    "bob", "unknown SASL user: the sender's domain" },
		{ "who@example.org", "x@nowhere.example", "192.0.2.9", NULL,
		    "default", "unknown SASL user, unknown domain" },
		{ NULL, "x@bob.example", "127.0.0.1", NULL, "bob",
		    "local, unauthenticated: the sender's domain" },
		{ NULL, "x@bob.example", "::1", NULL, "bob", "IPv6 loopback" },
		{ NULL, "x@bob.example", "::ffff:127.0.0.2", NULL, "bob",
		    "v4-mapped loopback" },
		{ NULL, "x@bob.example", "192.0.2.5", "192.0.2.5", "bob",
		    "this host's own address" },
		{ NULL, "no-at-sign", "127.0.0.1", NULL, "default",
		    "a sender without a domain" },
		{ NULL, "x@", "127.0.0.1", NULL, "default", "an empty domain" },
		{ NULL, NULL, "127.0.0.1", NULL, "default", "the null sender" },
		{ "", "x@bob.example", "192.0.2.9", "192.0.2.1", NULL,
		    "from another host, unauthenticated: nobody" },
		{ NULL, "x@bob.example", NULL, NULL, NULL,
		    "no client address: nobody" },
		{ NULL, "x@bob.example", "not-an-address", NULL, NULL,
		    "a bad client address: nobody" },
	};
	struct decide_req q;
	struct acct *a;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		memset(&q, 0, sizeof(q));
		q.sasl = t[i].sasl;
		q.sender = t[i].sender;
		q.caddr = t[i].caddr;
		q.saddr = t[i].saddr;
		a = decide_main_account(as, &q);
		if (t[i].want == NULL)
			T_OK(a == NULL, "main: %s", t[i].name);
		else
			T_EQ_S(a ? a->name : NULL, t[i].want, t[i].name);
	}
}

static void
test_fill(void)
{
	char buf[] = "request=smtpd_access_policy\n"
	    "protocol_state=END-OF-MESSAGE\npolicy_context=queue\n"
	    "instance=1a.2b.3\nsasl_username=\nsender=a@b.example\n"
	    "client_address=127.0.0.1\nclient_port=40000\n"
	    "server_address=127.0.0.1\nserver_port=2525\n"
	    "recipient_count=2\nsize=77\nqueue_id=" QID "\n"
	    "ccert_subject=x\nstress=\n\n";
	struct pp_req r;
	struct decide_req q;

	pp_init(&r);
	if (pp_parse(&r, buf, strlen(buf)) != PP_DONE) {
		T_OK(0, "fill: the request parses");
		return;
	}
	decide_req_fill(&q, &r);
	T_EQ_S(q.state, "END-OF-MESSAGE", "fill: protocol_state");
	T_EQ_S(q.context, "queue", "fill: policy_context");
	T_EQ_S(q.instance, "1a.2b.3", "fill: instance");
	T_EQ_S(q.sasl, "", "fill: an empty sasl_username");
	T_EQ_S(q.sender, "a@b.example", "fill: sender");
	T_EQ_S(q.caddr, "127.0.0.1", "fill: client_address");
	T_EQ_S(q.cport, "40000", "fill: client_port");
	T_EQ_S(q.saddr, "127.0.0.1", "fill: server_address");
	T_EQ_S(q.sport, "2525", "fill: server_port");
	T_EQ_S(q.rcpt_count, "2", "fill: recipient_count");
	T_EQ_S(q.size, "77", "fill: size");
	T_EQ_S(q.queue_id, QID, "fill: queue_id");
}

int
main(void)
{
	struct store *s = scratch();
	struct decide_env env;
	struct config cfg;
	struct accts *as;
	struct acct *a, *b;

	config_defaults(&cfg);
	populate(s);
	if ((as = acct_load(s, &cfg)) == NULL) {
		printf("not ok - acct_load\n");
		return 1;
	}
	a = acct_by_name(as, "alice");
	b = acct_by_name(as, "bob");
	memset(&env, 0, sizeof(env));
	env.verdicts = verdicts_new(64);
	env.may_hold = may_hold;
	if (a == NULL || b == NULL || env.verdicts == NULL) {
		printf("not ok - setup\n");
		return 1;
	}

	test_within(&env, a);
	test_over(&env, a);
	test_blocked(&env, a);
	test_held_waiting(&env, a);
	test_hold_caps(&env, a);
	test_parsing(&env, a);
	test_rcpt(a);
	test_repeat(&env, a, b);
	test_nobody(&env);
	test_main_account(as);
	test_fill();

	verdicts_free(env.verdicts);
	acct_free(as);
	store_close(s);
	cleanup();
	return t_done();
}
