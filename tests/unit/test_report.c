/*
 * test_report - what a notification says: alert_command's variables (the
 * right names, in order, cleaned, MAILGOV_SCRIPT from the alert's script
 * field and empty without one), the report mail (recipients checked, the
 * account, the held count and the release command in it), and that
 * nothing hostile (a CR or LF in an account name, a script claim or the
 * fields; a bad recipient) reaches a header or a variable.
 */
#include <stdio.h>
#include <string.h>

#include "report.h"
#include "t.h"

/* base - a report as the daemon makes it */
static void
base(struct report *r)
{
	memset(r, 0, sizeof(*r));
	r->host = "lab.mailgov.test";
	r->account = "shop";
	r->event = "budget_over";
	r->fields = "kind=messages limit=1/1h action=hold "
	    "context=queue queue_id=4ABC sender=<a@shop.example>";
	r->script = "";
	r->when = 1796346209;
	r->held = 3;
	r->held_bytes = 1500;
	r->oldest = 1796346200;
	r->interval = 3600;
	r->rcpt[0] = "ops@example.net";
	r->rcpt[1] = "";
}

/* headers - the header block of a message (up to the blank line) */
static void
headers(const char *msg, char *out, size_t len)
{
	const char *end = strstr(msg, "\n\n");
	size_t	 n = end ? (size_t)(end - msg) + 1 : strlen(msg);

	if (n >= len)
		n = len - 1;
	memcpy(out, msg, n);
	out[n] = '\0';
}

/* header_lines_ok - every header line is "Name: value", no CR anywhere */
static int
header_lines_ok(const char *h)
{
	const char *p = h, *nl;

	if (strchr(h, '\r') != NULL)
		return 0;
	while (*p != '\0') {
		nl = strchr(p, '\n');
		if (nl == NULL || memchr(p, ':', (size_t)(nl - p)) == NULL)
			return 0;
		if (strncmp(p, "From:", 5) && strncmp(p, "To:", 3) &&
		    strncmp(p, "Subject:", 8) && strncmp(p, "Auto-Submitted:",
		    15) && strncmp(p, "Precedence:", 11) &&
		    strncmp(p, "MIME-Version:", 13) &&
		    strncmp(p, "Content-Type:", 13) &&
		    strncmp(p, "Content-Transfer-Encoding:", 26) &&
		    strncmp(p, "X-Mailgov-Account:", 18) &&
		    strncmp(p, "X-Mailgov-Event:", 16))
			return 0;
		p = nl + 1;
	}
	return 1;
}

static void
test_environment(void)
{
	char	*env[SPAWN_ENV_MAX + 1], buf[REPORT_ENVLEN], script[64];
	struct report r;

	base(&r);
	T_EQ_U(report_env(&r, env, buf, sizeof(buf)), 0, "env: built");
	T_EQ_S(env[0], "MAILGOV_EVENT=budget_over", "env: the event");
	T_EQ_S(env[1], "MAILGOV_ACCOUNT=shop", "env: the account");
	T_EQ_S(env[2], "MAILGOV_SCRIPT=", "env: no script yet: empty");
	T_EQ_S(env[3], "MAILGOV_DETAIL=kind=messages limit=1/1h "
	    "action=hold context=queue queue_id=4ABC sender=<a@shop.example>",
	    "env: the alert's fields");
	T_EQ_S(env[4], "MAILGOV_HELD=3", "env: held now");
	T_EQ_S(env[5], "MAILGOV_TIME=1796346209", "env: the time");
	T_EQ_S(env[6], "MAILGOV_HOST=lab.mailgov.test", "env: the host");
	T_EQ_S(env[7], "MAILGOV_RELEASE=mailgovctl hold release shop",
	    "env: the release command");
	T_OK(env[8] == NULL, "env: eight variables");
	T_OK(report_env(&r, env, buf, 64) == -1 && env[0] == NULL,
	    "env: a buffer too small is an error, not a cut variable");

	/* the script comes from the alert's script field, cleaned */
	r.fields = "action=hold script=/var/www/shop/x.php cwd=/var/www";
	r.script = report_script(r.fields, script, sizeof(script));
	T_EQ_S(script, "/var/www/shop/x.php", "script: from its field");
	T_EQ_U(report_env(&r, env, buf, sizeof(buf)), 0, "env with a script");
	T_EQ_S(env[2], "MAILGOV_SCRIPT=/var/www/shop/x.php",
	    "env: MAILGOV_SCRIPT");
	T_EQ_S(report_script("prescript=x noscript=y", script,
	    sizeof(script)), "", "script: only the whole key");
	T_EQ_S(report_script("script=\"/var/www/a b.php\" x=1", script,
	    sizeof(script)), "/var/www/a b.php", "script: a quoted value");

	/* hostile text: no control byte gets through */
	r.account = "shop\nMAILGOV_EVENT=x";
	r.fields = "a=1\r\nb=2\x1b[31m";
	r.script = "/tmp/\nevil";
	T_EQ_U(report_env(&r, env, buf, sizeof(buf)), 0, "env: hostile");
	T_EQ_S(env[1], "MAILGOV_ACCOUNT=shop?MAILGOV_EVENT=x",
	    "env: a newline in the account is cleaned");
	T_EQ_S(env[2], "MAILGOV_SCRIPT=/tmp/?evil",
	    "env: a newline in the script is cleaned");
	T_EQ_S(env[3], "MAILGOV_DETAIL=a=1??b=2?[31m",
	    "env: control bytes in the fields are cleaned");
}

static void
test_mail(void)
{
	char	 msg[REPORT_MAX], h[REPORT_MAX];
	struct report r;
	size_t	 len;

	base(&r);
	r.rcpt[1] = "webmaster@shop.example";
	len = report_mail(&r, msg, sizeof(msg));
	T_OK(len > 0 && len == strlen(msg), "mail: made (%zu bytes)", len);
	headers(msg, h, sizeof(h));
	T_OK(header_lines_ok(h), "mail: only known header lines:\n%s", h);
	T_OK(strstr(h, "To: ops@example.net, webmaster@shop.example\n") !=
	    NULL, "mail: both recipients in To:");
	T_OK(strstr(h, "Subject: [mailgov] account shop is over its "
	    "messages budget on lab.mailgov.test\n") != NULL,
	    "mail: the subject names the account and the budget");
	T_OK(strstr(h, "Auto-Submitted: auto-generated\n") != NULL,
	    "mail: Auto-Submitted, so nothing answers it");
	T_OK(strstr(msg, "  on hold:  3 messages, 1500 bytes; the oldest "
	    "since 2026-12-04 01:03:20 UTC\n") != NULL,
	    "mail: what is held and since when");
	T_OK(strstr(msg, "To release it now:  mailgovctl hold release shop\n")
	    != NULL, "mail: how to release it");
	T_OK(strstr(msg, "  script:   (not known)\n") != NULL,
	    "mail: no script yet");
	T_OK(strstr(msg, "unblock") == NULL, "mail: not blocked, no unblock");

	r.rcpt[1] = "ops@example.net";
	report_mail(&r, msg, sizeof(msg));
	T_OK(strstr(msg, "To: ops@example.net\n") != NULL,
	    "mail: one recipient named twice goes once");

	r.event = "blocked";
	r.fields = "action=reject context=queue";
	r.held = 0;
	report_mail(&r, msg, sizeof(msg));
	T_OK(strstr(msg, "Subject: [mailgov] account shop is blocked on ") !=
	    NULL, "mail: blocked");
	T_OK(strstr(msg, "  on hold:  nothing\n") != NULL, "mail: none held");
	T_OK(strstr(msg, "To unblock it:      mailgovctl unblock shop\n") !=
	    NULL, "mail: how to unblock");
	r.event = "reject";
	r.fields = "reason=blocked uid=64001 dst=192.0.2.25:25";
	report_mail(&r, msg, sizeof(msg));
	T_OK(strstr(msg, "account shop is blocked") != NULL,
	    "mail: a kernel reject of a blocked account says blocked");

	r.rcpt[0] = "";
	r.rcpt[1] = NULL;
	T_EQ_U(report_mail(&r, msg, sizeof(msg)), 0, "mail: nobody to mail");
	r.rcpt[0] = "a@example.net\nBcc: victim@example.org";
	r.rcpt[1] = "-oQ/tmp";
	T_EQ_U(report_mail(&r, msg, sizeof(msg)), 0,
	    "mail: bad recipients are dropped, never written");
	r.rcpt[0] = "postmaster";
	T_OK(report_mail(&r, msg, sizeof(msg)) > 0 &&
	    strstr(msg, "To: postmaster\n") != NULL, "mail: a local name");
	T_EQ_U(report_mail(&r, msg, 100), 0, "mail: too small a buffer");
}

static void
test_mail_injection(void)
{
	char	 msg[REPORT_MAX], h[REPORT_MAX];
	struct report r;

	base(&r);
	r.account = "shop\r\nBcc: victim@example.org";
	r.event = "budget_over\nX-Evil: 1";
	r.fields = "kind=messages\r\nBcc: v2@example.org script=a\nb";
	r.script = "/var/www/x.php\r\nBcc: v3@example.org";
	r.host = "h\nBcc: v4@example.org";
	T_OK(report_mail(&r, msg, sizeof(msg)) > 0, "hostile: made");
	headers(msg, h, sizeof(h));
	T_OK(header_lines_ok(h), "hostile: only known header lines:\n%s", h);
	T_OK(strstr(msg, "\nBcc:") == NULL && strstr(msg, "\nX-Evil") == NULL,
	    "hostile: no injected line anywhere");
	T_OK(strstr(msg, "\r") == NULL, "hostile: no CR anywhere");
	T_OK(strstr(h, "Subject: [mailgov] account shop??Bcc: "
	    "victim@example.org ") != NULL, "hostile: the subject cleaned");
	T_OK(strstr(msg, "  script:   /var/www/x.php??Bcc: v3@example.org\n")
	    != NULL, "hostile: the script claim cleaned in the body");
}

int
main(void)
{
	test_environment();
	test_mail();
	test_mail_injection();
	return t_done();
}
