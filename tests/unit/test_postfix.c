/*
 * test_postfix - the pure Postfix helpers: restriction-list merging and
 * removal (the administrator's elements survive), postconf -n lines,
 * postqueue -j lines (good, hostile and truncated), queue ID validation
 * and the rendered settings.
 */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "postfix.h"
#include "queueid.h"
#include "t.h"

#define CHK "check_policy_service { inet:127.0.0.1:10040, " \
	    "default_action=DUNNO, policy_context=main, timeout=10s }"

static const struct {
	const char *cur, *want;
} merges[] = {
	{ "", CHK },
	{ "reject_unauth_pipelining", CHK ", reject_unauth_pipelining" },
	{ "check_policy_service unix:private/spf, permit",
	    CHK ", check_policy_service unix:private/spf, permit" },
	/* already there: unchanged, byte for byte */
	{ CHK ", permit", CHK ", permit" },
	{ CHK "  permit", CHK "  permit" },
	/* an old mailgov element (other port) is replaced, not doubled */
	{ "check_policy_service { inet:127.0.0.1:9999, "
	    "default_action=DUNNO, policy_context=main }, permit",
	    CHK ", permit" },
	/* ours not first: moved to the front */
	{ "permit_mynetworks, " CHK, CHK ", permit_mynetworks" },
	/* someone else's brace group is kept */
	{ "check_policy_service { inet:10.0.0.1:1, timeout=5s }",
	    CHK ", check_policy_service { inet:10.0.0.1:1, timeout=5s }" },
};

static const struct {
	const char *cur, *want;
} removes[] = {
	{ CHK, "" },
	{ CHK ", reject_unauth_pipelining", "reject_unauth_pipelining" },
	{ "a, " CHK ", b", "a, b" },
	{ "a, " CHK, "a" },
	{ "a,\n    " CHK "\n    b", "a,\n    b" },
	{ CHK ", " CHK, "" },
	{ PF_WEB_USERS_ELEM ", static:anyone", "static:anyone" },
	{ "!texthash:/etc/postfix/other, static:anyone",
	    "!texthash:/etc/postfix/other, static:anyone" },
};

static const struct {
	const char *line;
	int ok;
	const char *name, *id, *sender;
	uint32_t rcpts;
	uint64_t size;
} qlines[] = {
	{ "{\"queue_name\": \"hold\", \"queue_id\": \"D3B2964\", "
	    "\"arrival_time\": 1795667894, \"message_size\": 393, "
	    "\"forced_expire\": false, \"sender\": \"a@lab.mailgov.test\", "
	    "\"recipients\": [{\"address\": \"x@example.net\"}]}",
	    1, "hold", "D3B2964", "a@lab.mailgov.test", 1, 393 },
	{ "{\"queue_name\": \"deferred\", \"queue_id\": \"4Xk2Lm0bQz1FhC\", "
	    "\"arrival_time\": 1, \"message_size\": 2, \"sender\": \"\", "
	    "\"recipients\": [{\"address\": \"a@b\", \"delay_reason\": "
	    "\"x \\\"y\\\" \\u00e9\"}, {\"address\": \"c@d\"}, "
	    "{\"address\": \"e@f\"}], \"new_key\": {\"n\": [1, 2.5e3, null]}}",
	    1, "deferred", "4Xk2Lm0bQz1FhC", "", 3, 2 },
	{ "{\"queue_name\": \"hold\", \"queue_id\": \"ABC\"}", 0, "", "", "",
	    0, 0 },					/* id too short */
	{ "{\"queue_name\": \"hold\", \"queue_id\": \"../../etc\"}", 0, "",
	    "", "", 0, 0 },				/* bad characters */
	{ "{\"queue_name\": \"hold\", \"queue_id\": "
	    "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}", 0, "", "", "",
	    0, 0 },					/* too long */
	{ "{\"queue_name\": \"hold\", \"queue_id\": \"D3B2964\"", 0, "", "",
	    "", 0, 0 },					/* truncated */
	{ "{\"queue_id\": \"D3B2964\"}", 0, "", "", "", 0, 0 },
	{ "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[", 0, "", "", "", 0, 0 },
	{ "{\"queue_name\": \"hold\", \"queue_id\": \"D3B2964\", \"x\": "
	    "[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]}", 0, "", "", "", 0, 0 },
	{ "{\"queue_name\": \"hold\", \"queue_id\": \"D3B2964\", "
	    "\"arrival_time\": -5}", 0, "", "", "", 0, 0 },
	{ "", 0, "", "", "", 0, 0 },
	{ "garbage", 0, "", "", "", 0, 0 },
};

/* param - the value w wants for key, or NULL */
static const char *
param(const struct pf_want *w, const char *key)
{
	size_t	 i;

	for (i = 0; w != NULL && i < w->n_params; i++)
		if (strcmp(w->params[i].key, key) == 0)
			return w->params[i].value;
	return NULL;
}

/* test_queue_limits - the queue instance's size limit and free-space
 * floor, from main's message_size_limit and queue_minfree */
static void
test_queue_limits(struct config *cfg)
{
	static const struct {
		const char	*main_msl;	/* main's, as postconf -h says */
		uint64_t	 minfree;	/* mailgov.conf's queue_minfree */
		const char	*msl, *floor;	/* what the queue gets */
	} t[] = {
		{ "10240000", 268435456, "10240000", "268435456" },
		{ "10240000", 0, "10240000", "20480000" },
		{ "209715200", 268435456, "209715200", "419430400" },
		{ "0", 268435456, "52428800", "268435456" },
		{ "0", 0, "52428800", "104857600" },
		{ NULL, 0, "52428800", "104857600" },
		{ "", 0, "52428800", "104857600" },
		{ "$foo", 0, "52428800", "104857600" },
		{ "1099511627776", 0, "1099511627776", "2199023255552" },
		{ "1099511627777", 0, "52428800", "104857600" },
	};
	struct pf_want *w;
	char	 name[128];
	size_t	 i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		cfg->queue_minfree = t[i].minfree;
		w = pf_want_queue(cfg, 1, t[i].main_msl);
		snprintf(name, sizeof(name), "main %s, queue_minfree %" PRIu64
		    ": message_size_limit", t[i].main_msl ? t[i].main_msl :
		    "(none)", t[i].minfree);
		T_EQ_S(param(w, "message_size_limit"), t[i].msl, name);
		snprintf(name, sizeof(name), "main %s, queue_minfree %" PRIu64
		    ": queue_minfree", t[i].main_msl ? t[i].main_msl :
		    "(none)", t[i].minfree);
		T_EQ_S(param(w, "queue_minfree"), t[i].floor, name);
		pf_want_free(w);
	}
	config_defaults(cfg);
	snprintf(cfg->policy_tcp, sizeof(cfg->policy_tcp), "127.0.0.1:10040");
}

int
main(void)
{
	struct config cfg;
	struct pf_qentry e;
	struct pf_want *w;
	const char *v;
	char	*s, key[64], name[64], **el;
	size_t	 i, n;
	int	 found;

	config_defaults(&cfg);
	snprintf(cfg.policy_tcp, sizeof(cfg.policy_tcp), "127.0.0.1:10040");

	s = pf_policy_check(&cfg, "DUNNO", "main");
	T_EQ_S(s, CHK, "policy check element");
	free(s);

	for (i = 0; i < sizeof(merges) / sizeof(merges[0]); i++) {
		s = pf_list_merge(merges[i].cur, CHK);
		snprintf(name, sizeof(name), "merge %zu", i);
		T_EQ_S(s, merges[i].want, name);
		free(s);
	}
	s = pf_list_merge("static:anyone", PF_WEB_USERS_ELEM);
	T_EQ_S(s, PF_WEB_USERS_ELEM ", static:anyone", "merge web users");
	free(s);
	s = pf_list_merge("a, { b", CHK);
	T_OK(s == NULL, "unbalanced braces refused");
	free(s);
	s = pf_list_merge("a } b", CHK);
	T_OK(s == NULL, "stray close brace refused");
	free(s);

	for (i = 0; i < sizeof(removes) / sizeof(removes[0]); i++) {
		s = pf_list_remove(removes[i].cur);
		snprintf(name, sizeof(name), "remove %zu", i);
		T_EQ_S(s, removes[i].want, name);
		free(s);
	}

	el = pf_list_split("a,b  c,{ x, y } d", &n);
	T_EQ_U(n, 4, "split: a brace group joins the element before it");
	if (el != NULL && n == 4)
		T_EQ_S(el[1], "b", "split: second element");
	if (el != NULL && n == 4)
		T_EQ_S(el[2], "c,{ x, y }", "split: element with its group");
	pf_list_free(el, n);

	T_OK(pf_conf_line("relayhost = [127.0.0.1]:10026", key, sizeof(key),
	    &v) == 0 && strcmp(key, "relayhost") == 0 &&
	    strcmp(v, "[127.0.0.1]:10026") == 0, "postconf -n line");
	T_OK(pf_conf_line("mydestination =", key, sizeof(key), &v) == 0 &&
	    *v == '\0', "postconf -n empty value");
	T_OK(pf_conf_line("= x", key, sizeof(key), &v) == -1, "no key");
	T_OK(pf_conf_line("a b = x", key, sizeof(key), &v) == -1, "bad key");

	T_OK(pf_space_eq("a  b\t{ c }", "a b { c }"), "space_eq runs");
	T_OK(!pf_space_eq("a b", "ab"), "space_eq needs the space");
	T_OK(pf_space_eq("a b ", "a b"), "space_eq trailing");

	for (i = 0; i < sizeof(qlines) / sizeof(qlines[0]); i++) {
		int r = pf_qline_parse(qlines[i].line, strlen(qlines[i].line),
		    &e);

		snprintf(name, sizeof(name), "qline %zu", i);
		T_EQ_U(r == 0, qlines[i].ok, name);
		if (r != 0 || !qlines[i].ok)
			continue;
		T_EQ_S(e.queue_name, qlines[i].name, name);
		T_EQ_S(e.queue_id, qlines[i].id, name);
		T_EQ_S(e.sender, qlines[i].sender, name);
		T_EQ_U(e.recipients, qlines[i].rcpts, name);
		T_EQ_U(e.message_size, qlines[i].size, name);
	}

	T_OK(queueid_ok("D3B2964"), "short queue id");
	T_OK(queueid_ok("4Xk2Lm0bQz1FhC"), "long queue id");
	T_OK(!queueid_ok("ABCDE"), "queue id too short");
	T_OK(!queueid_ok("ABC-DEF"), "queue id with a dash");
	T_OK(!queueid_ok("-HABCDEF"), "queue id like an option");
	T_OK(!queueid_ok(NULL), "NULL queue id");
	T_OK(!queueid_ok("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
	    "32 characters is too long for the store");

	w = pf_want_queue(&cfg, 1, "10240000");
	T_OK(w != NULL, "queue instance settings");
	for (i = 0, found = 0; w != NULL && i < w->n_params; i++)
		if (strcmp(w->params[i].key, "smtpd_end_of_data_restrictions")
		    == 0 && strstr(w->params[i].value, "default_action=HOLD") &&
		    strstr(w->params[i].value, "policy_context=queue"))
			found = 1;
	T_OK(found, "queue instance holds when mailgovd is down");
	for (i = 0, found = 0; w != NULL && i < w->n_services; i++)
		if (strcmp(w->services[i].name, "[::1]:2525/inet") == 0)
			found = 1;
	T_OK(found, "queue instance listens on [::1]:2525");
	pf_want_free(w);
	w = pf_want_queue(&cfg, 0, NULL);
	for (i = 0, found = 0; w != NULL && i < w->n_services; i++)
		if (strstr(w->services[i].name, "::1") != NULL)
			found = 1;
	T_OK(w != NULL && !found, "no IPv6 listener without ::1");
	pf_want_free(w);
	test_queue_limits(&cfg);
	w = pf_want_main(&cfg);
	for (i = 0, found = 0; w != NULL && i < w->n_services; i++)
		if (strcmp(w->services[i].name, "127.0.0.1:10026/inet") == 0 &&
		    strstr(w->services[i].line, "smtpd_end_of_data_restrictions="))
			found = 1;
	T_OK(found, "main instance relay listener without the policy check");
	pf_want_free(w);
	return t_done();
}
