/*
 * test_metrics - mailgovd's exposition at the cardinality bound: idle
 * accounts have no series, the first metrics_accounts active ones get
 * their own, every later one is summed into account="_other" from the
 * moment it became active, and every series only grows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acct.h"
#include "metrics.h"
#include "t.h"

static char dir[256], path[512];

/* scratch - a store with accounts a0..a4 */
static struct store *
scratch(void)
{
	const char *t = getenv("TMPDIR");
	struct store *s;
	char err[256], name[16];
	int i;

	snprintf(dir, sizeof(dir), "%s/mailgov-metrics.XXXXXX",
	    t ? t : "/tmp");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		exit(2);
	}
	snprintf(path, sizeof(path), "%s/mailgov.db", dir);
	if ((s = store_open(path, STORE_CREATE, 1000, err, sizeof(err))) ==
	    NULL) {
		printf("not ok - store_open: %s\n", err);
		exit(1);
	}
	for (i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "a%d", i);
		if (store_account_add(s, name, 0, NULL) == -1) {
			printf("not ok - account_add: %s\n", store_error(s));
			exit(1);
		}
	}
	return s;
}

/* value - the value of sample key in text, or -1 */
static long long
value(const char *text, const char *key)
{
	const char *p = text;
	size_t	 n = strlen(key);

	while ((p = strstr(p, key)) != NULL) {
		if ((p == text || p[-1] == '\n') && p[n] == ' ')
			return atoll(p + n + 1);
		p += n;
	}
	return -1;
}

int
main(void)
{
	struct config cfg;
	struct metrics *m;
	struct accts *as;
	struct store *s = scratch();
	char	 err[256], cmd[600], *t;
	size_t	 len;

	config_defaults(&cfg);
	cfg.metrics_accounts = 2;
	if ((as = acct_load(s, &cfg)) == NULL) {
		printf("not ok - acct_load\n");
		return 1;
	}
	/* a4 had sent mail before the start: its lifetime is its own */
	acct_count_message(acct_by_name(as, "a4"), 1, 100);
	m = metrics_new(NULL, &cfg, as, NULL, NULL, err, sizeof(err));
	T_OK(m != NULL, "metrics_new: %s", m ? "" : err);
	if (m == NULL)
		return t_done();

	t = metrics_render(m, &len);
	T_OK(t != NULL && strlen(t) == len, "a body");
	T_EQ_U(value(t, "mailgov_messages_total{account=\"_other\"}"), 0,
	    "_other is there from the start");
	T_OK(strstr(t, "account=\"a0\"") == NULL, "idle accounts: no series");
	T_OK(strstr(t, "account=\"a4\"") == NULL, "nor one idle since start");
	T_EQ_U(value(t, "mailgov_metrics_accounts"), 0, "none exported");
	free(t);

	acct_count_message(acct_by_name(as, "a1"), 2, 1000);
	acct_count_message(acct_by_name(as, "a4"), 1, 50);
	t = metrics_render(m, &len);
	T_EQ_U(value(t, "mailgov_messages_total{account=\"a1\"}"), 1,
	    "a1 active: its own series");
	T_EQ_U(value(t, "mailgov_recipients_total{account=\"a1\"}"), 2,
	    "its recipients");
	T_EQ_U(value(t, "mailgov_messages_total{account=\"a4\"}"), 2,
	    "a4's series carries its lifetime count");
	T_EQ_U(value(t, "mailgov_metrics_accounts"), 2, "two exported");
	free(t);

	/* the bound is reached: later ones go to _other, from now on */
	acct_count_message(acct_by_name(as, "a2"), 3, 10);
	acct_count_message(acct_by_name(as, "a3"), 1, 10);
	acct_by_name(as, "a3")->redirects = 7;
	t = metrics_render(m, &len);
	T_OK(strstr(t, "account=\"a2\"") == NULL, "a2 past the bound: none");
	T_EQ_U(value(t, "mailgov_messages_total{account=\"_other\"}"), 2,
	    "_other sums a2 and a3");
	T_EQ_U(value(t, "mailgov_recipients_total{account=\"_other\"}"), 4,
	    "their recipients");
	T_EQ_U(value(t, "mailgov_redirects_total{account=\"_other\"}"), 7,
	    "their redirects");
	T_EQ_U(value(t, "mailgov_metrics_accounts"), 2, "still two");
	free(t);

	/* an exported account stays exported; _other keeps growing */
	acct_count_message(acct_by_name(as, "a2"), 1, 10);
	t = metrics_render(m, &len);
	T_EQ_U(value(t, "mailgov_messages_total{account=\"_other\"}"), 3,
	    "_other grows");
	T_EQ_U(value(t, "mailgov_messages_total{account=\"a1\"}"), 1,
	    "a1 still has its series");
	T_EQ_U(value(t, "mailgov_policy_latency_seconds_count"), 0,
	    "an empty histogram");
	T_OK(strstr(t, "mailgov_policy_latency_seconds_bucket{le=\"+Inf\"} 0\n")
	    != NULL, "its +Inf bucket");
	free(t);

	metrics_free(m);
	acct_free(as);
	store_close(s);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
	return t_done();
}
