/*
 * test_alert - the rate-limited alert lines: exactly alert_limit lines
 * per account per alert_period, then one suppressed-count line when the
 * window reopens; accounts do not share a limit; budget crossings log
 * once; recorded events queue until the group commit writes them; lines
 * stay bounded and, when the caller cleans untrusted text as the policy
 * server does, printable.  Runs against real accounts in a scratch
 * database; the log goes to a temporary file that stands in for stderr.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "acct.h"
#include "alert.h"
#include "config.h"
#include "log.h"
#include "store.h"
#include "t.h"

#define S	1000000ULL	/* one second in microseconds */
#define T0	(1700000000ULL * S)

static struct config cfg;
static int logfd = -1;		/* the file stderr now writes to */
static off_t logmark;		/* where the current capture started */
static char logbuf[65536];

/* cap_begin - forget what was logged so far */
static void
cap_begin(void)
{
	fflush(stderr);
	logmark = lseek(logfd, 0, SEEK_END);
}

/* cap_text - what was logged since cap_begin, NUL-terminated */
static const char *
cap_text(void)
{
	ssize_t n;

	fflush(stderr);
	n = pread(logfd, logbuf, sizeof(logbuf) - 1, logmark);
	logbuf[n > 0 ? n : 0] = '\0';
	return logbuf;
}

/* count_of - occurrences of needle in the captured log */
static unsigned
count_of(const char *needle)
{
	const char *p = cap_text();
	unsigned n = 0;

	while ((p = strstr(p, needle)) != NULL) {
		n++;
		p += strlen(needle);
	}
	return n;
}

/* fresh - a new alert state with the given limit, the accounts' rate
 * state reset */
static struct alerts *
fresh(struct accts *as, uint32_t limit, uint32_t period)
{
	struct config c = cfg;
	const char *names[] = { "web1", "web2" };
	size_t i;

	for (i = 0; i < 2; i++)
		acct_by_name(as, names[i])->alert_tat = 0;
	c.alert_limit = limit;
	c.alert_period = period;
	return alert_new(&c);
}

/* test_limit - N lines pass, the rest are counted and reported once */
static void
test_limit(struct accts *as)
{
	static const struct {
		uint32_t limit, period;
		unsigned sent;
	} cases[] = {
		{ 3, 60, 5 },
		{ 1, 60, 3 },
		{ 5, 60, 5 },
		{ 5, 60, 12 },
		{ 2, 1, 2 },
		{ 10, 3600, 11 },
	};
	struct acct *a = acct_by_name(as, "web1");
	char name[128], want[128];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct alerts *al = fresh(as, cases[i].limit, cases[i].period);
		unsigned want_logged = cases[i].sent < cases[i].limit ?
		    cases[i].sent : cases[i].limit, logged = 0, k;
		unsigned supp = cases[i].sent - want_logged;
		uint64_t reopen = T0 + (uint64_t)cases[i].period * S /
		    cases[i].limit;

		snprintf(name, sizeof(name), "limit %u/%us, %u sent",
		    cases[i].limit, cases[i].period, cases[i].sent);
		cap_begin();
		for (k = 0; k < cases[i].sent; k++)
			logged += alert(al, a, T0 + k, 0, "redirect",
			    "uid=%u dst=%s", 64001u, "192.0.2.25:25");
		T_EQ_U(logged, want_logged, name);
		T_EQ_U(count_of("event=redirect account=web1 uid=64001 "
		    "dst=192.0.2.25:25\n"), want_logged, name);

		/* before the window reopens: nothing reported */
		cap_begin();
		alert_tick(al, as, reopen - 1000);
		T_EQ_U(count_of("alerts_suppressed"), 0,
		    "no suppressed line before the window reopens");

		/* once it reopens: exactly one line with the count */
		cap_begin();
		alert_tick(al, as, reopen);
		alert_tick(al, as, reopen + 1);
		alert_tick(al, as, reopen + 100 * S);
		snprintf(want, sizeof(want), "event=alerts_suppressed "
		    "account=web1 count=%u\n", supp);
		T_EQ_U(count_of(want), supp ? 1 : 0,
		    "suppressed count reported once when the window reopens");
		T_EQ_U(count_of("alerts_suppressed"), supp ? 1 : 0,
		    "no other suppressed line");
		alert_free(al);
	}
}

/* test_reported_inline - the next line that passes reports the count
 * first, when no tick came in between */
static void
test_reported_inline(struct accts *as)
{
	struct alerts *al = fresh(as, 2, 60);
	struct acct *a = acct_by_name(as, "web1");
	const char *log, *s, *r;
	int k;

	for (k = 0; k < 6; k++)
		(void)alert(al, a, T0, 0, "redirect", "n=%d", k);
	cap_begin();
	T_EQ_U(alert(al, a, T0 + 30 * S, 0, "redirect", "n=%d", 6), 1,
	    "a line passes once the window reopens");
	log = cap_text();
	s = strstr(log, "event=alerts_suppressed account=web1 count=4\n");
	r = strstr(log, "event=redirect account=web1 n=6\n");
	T_OK(s != NULL && r != NULL && s < r,
	    "suppressed count logged before the line that passed");
	cap_begin();
	alert_tick(al, as, T0 + 90 * S);
	T_EQ_U(count_of("alerts_suppressed"), 0,
	    "a count reported inline is not reported again");
	alert_free(al);
}

/* test_accounts - one account's noise does not silence another */
static void
test_accounts(struct accts *as)
{
	struct alerts *al = fresh(as, 3, 60);
	struct acct *a = acct_by_name(as, "web1"), *b = acct_by_name(as,
	    "web2");
	unsigned la = 0, lb = 0;
	int k;

	cap_begin();
	for (k = 0; k < 10; k++)
		la += alert(al, a, T0 + k, 0, "redirect", "n=%d", k);
	for (k = 0; k < 10; k++)
		lb += alert(al, b, T0 + k, 0, "redirect", "n=%d", k);
	T_EQ_U(la, 3, "web1: its own limit");
	T_EQ_U(lb, 3, "web2: a full limit of its own after web1 spent its");
	T_EQ_U(count_of("account=web2"), 3, "web2's lines logged");
	cap_begin();
	alert_tick(al, as, T0 + 20 * S);
	T_EQ_U(count_of("event=alerts_suppressed account=web1 count=7\n"), 1,
	    "web1's count is its own");
	T_EQ_U(count_of("event=alerts_suppressed account=web2 count=7\n"), 1,
	    "web2's count is its own");
	alert_free(al);
}

/* test_budget - a crossing into refusal logs once, until it passes */
static void
test_budget(struct accts *as)
{
	static const struct {
		unsigned checked, over;
		unsigned lines;		/* budget_over lines expected */
		const char *what;
	} steps[] = {
		{ 1u << BK_MESSAGES, 1u << BK_MESSAGES, 1, "first refusal" },
		{ 1u << BK_MESSAGES, 1u << BK_MESSAGES, 0, "second refusal" },
		{ 1u << BK_RECIPIENTS, 0, 0, "another kind passes" },
		{ 1u << BK_MESSAGES, 1u << BK_MESSAGES, 0, "still refused" },
		{ 1u << BK_MESSAGES, 0, 0, "the kind passes again" },
		{ 1u << BK_MESSAGES, 1u << BK_MESSAGES, 1, "a new crossing" },
		{ (1u << BK_MESSAGES) | (1u << BK_RCPT_MSG),
		  (1u << BK_MESSAGES) | (1u << BK_RCPT_MSG), 1,
		  "a second kind crosses" },
		{ 0, 1u << BK_RECIPIENTS, 0, "over but not checked" },
	};
	struct alerts *al = fresh(as, 1000, 60);
	struct acct *a = acct_by_name(as, "web1");
	char want[128];
	size_t i;

	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		cap_begin();
		alert_budget(al, a, T0 + i, steps[i].checked, steps[i].over,
		    "action=hold");
		T_EQ_U(count_of("event=budget_over account=web1 "),
		    steps[i].lines, steps[i].what);
	}
	T_EQ_U(alert_pending(al), 3, "each crossing queued for the store");

	/* the line's shape: the kind, its limit, then the caller's fields */
	alert_free(al);
	al = fresh(as, 1000, 60);
	cap_begin();
	alert_budget(al, a, T0, 1u << BK_RCPT_MSG, 1u << BK_RCPT_MSG,
	    "action=reject");
	snprintf(want, sizeof(want), "event=budget_over account=web1 "
	    "kind=recipients_per_message limit=%llu action=reject\n",
	    (unsigned long long)a->lim[BK_RCPT_MSG]->w[0].limit);
	T_EQ_U(count_of(want), 1, "a cap's limit is a number");
	cap_begin();
	alert_budget(al, a, T0, 1u << BK_MESSAGES, 1u << BK_MESSAGES, "");
	T_OK(strstr(cap_text(), "kind=messages limit=100/1h,1000/1d\n") !=
	    NULL, "a rate's limit is its windows, N/window,..., one word, "
	    "no trailing blank");
	alert_free(al);
}

struct seen {
	unsigned n;
	char kind[8][64];
	char detail[8][1025];
	int64_t account[8];
};

/* each_event - collect the stored events */
static int
each_event(int64_t ts, int64_t account, const char *kind,
    const char *detail, void *arg)
{
	struct seen *s = arg;

	(void)ts;
	if (s->n < 8) {
		snprintf(s->kind[s->n], sizeof(s->kind[0]), "%s", kind);
		snprintf(s->detail[s->n], sizeof(s->detail[0]), "%s", detail);
		s->account[s->n] = account;
	}
	s->n++;
	return 0;
}

/* test_record - only ALERT_RECORD lines (and suppressed counts) queue;
 * the flush writes them in the caller's transaction */
static void
test_record(struct accts *as)
{
	struct alerts *al = fresh(as, 2, 60);
	struct acct *a = acct_by_name(as, "web2");
	struct store *st = acct_store(as);
	struct seen s;

	(void)alert(al, a, T0, 0, "redirect", "uid=%u", 64002u);
	T_EQ_U(alert_pending(al), 0, "an unrecorded line queues nothing");
	(void)alert(al, a, T0, ALERT_WARN | ALERT_RECORD, "reject",
	    "reason=%s", "blocked");
	T_EQ_U(alert_pending(al), 1, "a recorded line queues its event");
	(void)alert(al, a, T0, ALERT_RECORD, "reject", "reason=%s", "x");
	T_EQ_U(alert_pending(al), 1, "a suppressed line queues nothing");
	alert_tick(al, as, T0 + 30 * S);
	T_EQ_U(alert_pending(al), 2, "the suppressed count is queued");
	T_EQ_U(store_begin(st), 0, "begin");
	T_EQ_U(alert_flush(al, st), 0, "flush");
	T_EQ_U(store_commit(st), 0, "commit");
	T_EQ_U(alert_pending(al), 0, "the queue is empty after a flush");
	memset(&s, 0, sizeof(s));
	T_EQ_U(store_event_each(st, a->id, 0, each_event, &s), 0, "walk");
	T_EQ_U(s.n, 2, "two events stored");
	if (s.n == 2) {
		T_EQ_S(s.kind[0], "reject", "first kind");
		T_EQ_S(s.detail[0], "reason=blocked", "first detail");
		T_EQ_S(s.kind[1], "alerts_suppressed", "second kind");
		T_EQ_S(s.detail[1], "count=1", "second detail");
		T_EQ_U(s.account[0], a->id, "the event names the account");
	}
	alert_free(al);
}

/* test_bounds - long fields are cut; text cleaned by the caller stays
 * clean through the line and the stored event */
static void
test_bounds(struct accts *as)
{
	static const struct {
		const char *what;
		const char *raw;
		size_t len;
	} cases[] = {
		{ "newline", "evil\nevent=forged account=root", 31 },
		{ "carriage return and escape", "a\r\x1b[2Jb", 8 },
		{ "NUL in the middle", "ab\0cd", 5 },
		{ "high bytes", "\xff\xfe\x80", 3 },
		{ "backslash", "a\\x0ab", 6 },
	};
	struct acct *a = acct_by_name(as, "web1");
	struct store *st = acct_store(as);
	struct alerts *al;
	char big[4096], clean[128], name[128];
	const char *log, *p;
	struct seen s;
	size_t i, len;
	int ctl;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		al = fresh(as, 100, 60);
		log_clean(clean, sizeof(clean), cases[i].raw, cases[i].len);
		cap_begin();
		(void)alert(al, a, T0, ALERT_WARN | ALERT_RECORD, "reject",
		    "sender=<%s>", clean);
		log = cap_text();
		/* every byte printable, one line only */
		for (ctl = 0, p = log; *p; p++)
			if ((unsigned char)*p < 0x20 && *p != '\n')
				ctl = 1;
			else if ((unsigned char)*p >= 0x7f)
				ctl = 1;
		snprintf(name, sizeof(name), "%s: no raw control bytes",
		    cases[i].what);
		T_OK(!ctl, "%s", name);
		snprintf(name, sizeof(name), "%s: one line", cases[i].what);
		T_EQ_U(count_of("\n"), 1, name);
		snprintf(name, sizeof(name), "%s: no forged event",
		    cases[i].what);
		T_EQ_U(count_of("\nevent=forged"), 0, name);
		alert_free(al);
	}

	/* a field far longer than a line: cut, logged and stored bounded */
	al = fresh(as, 100, 60);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	cap_begin();
	T_EQ_U(alert(al, a, T0, ALERT_RECORD, "reject", "sender=<%s>", big),
	    1, "a long line still logs");
	len = strlen(cap_text());
	T_OK(len > 100 && len < 600, "long line cut near 512 bytes: %zu",
	    len);
	T_EQ_U(store_begin(st), 0, "begin");
	T_EQ_U(alert_flush(al, st), 0, "flush");
	T_EQ_U(store_commit(st), 0, "commit");
	memset(&s, 0, sizeof(s));
	(void)store_event_each(st, a->id, 1, each_event, &s);
	T_OK(s.n == 1 && strlen(s.detail[0]) < 512 &&
	    strncmp(s.detail[0], "sender=<xxx", 11) == 0,
	    "stored detail bounded: %zu bytes", strlen(s.detail[0]));
	alert_free(al);
}

/* setup - a scratch store with two accounts */
static struct accts *
setup(const char *dir)
{
	char path[256], err[256];
	struct store *st;
	struct accts *as;

	snprintf(path, sizeof(path), "%s/t.db", dir);
	if ((st = store_open(path, STORE_CREATE, 1000, err,
	    sizeof(err))) == NULL) {
		printf("# store_open: %s\n", err);
		return NULL;
	}
	if (store_account_add(st, "web1", 0, NULL) == -1 ||
	    store_account_add(st, "web2", 0, NULL) == -1) {
		printf("# store: %s\n", store_error(st));
		store_close(st);
		return NULL;
	}
	if ((as = acct_load(st, &cfg)) == NULL)
		store_close(st);
	return as;
}

int
main(void)
{
	char dir[] = "/tmp/test_alert.XXXXXX", path[300], cmd[300];
	struct accts *as;

	config_defaults(&cfg);
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/log", dir);
	if ((logfd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600)) == -1 ||
	    dup2(logfd, 2) == -1)
		return 1;
	setvbuf(stdout, NULL, _IOLBF, 0);
	log_init("test_alert", 1, 0);
	as = setup(dir);
	T_OK(as != NULL, "scratch accounts");
	if (as != NULL && acct_by_name(as, "web1") != NULL &&
	    acct_by_name(as, "web2") != NULL) {
		struct store *st = acct_store(as);

		test_limit(as);
		test_reported_inline(as);
		test_accounts(as);
		test_budget(as);
		test_record(as);
		test_bounds(as);
		acct_free(as);
		store_close(st);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	return t_done();
}
