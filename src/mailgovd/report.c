/*
 * report - the text of a notification (see report.h): the variables of
 * alert_command and the mail of alert_mail.
 *
 * Trusts: nothing in a struct report but its pointers: every string is
 * cleaned and cut here; the recipients are checked with addr_ok() again,
 * so a bad one is dropped, never written into a header.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "addr.h"
#include "report.h"

/* report_clean - printable ASCII only, bounded (see report.h) */
char *
report_clean(char *dst, size_t len, const char *src)
{
	size_t	 i;

	if (len == 0)
		return dst;
	if (src == NULL)
		src = "";
	for (i = 0; src[i] != '\0' && i + 1 < len; i++)
		dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? src[i] : '?';
	dst[i] = '\0';
	return dst;
}

/*
 * field - the value of key in "k1=v1 k2=v2" fields: up to the next blank,
 * or between double quotes when it starts with one.  "" when absent.
 */
static char *
field(const char *fields, const char *key, char *buf, size_t len)
{
	const char *p = fields, *v, *end;
	size_t	 klen = strlen(key), n;

	buf[0] = '\0';
	if (fields == NULL || len == 0)
		return buf;
	for (; (p = strstr(p, key)) != NULL; p += klen) {
		if ((p != fields && p[-1] != ' ') || p[klen] != '=')
			continue;
		v = p + klen + 1;
		if (*v == '"') {
			v++;
			end = strchr(v, '"');
		} else
			end = strchr(v, ' ');
		n = end != NULL ? (size_t)(end - v) : strlen(v);
		if (n >= len)
			n = len - 1;
		memcpy(buf, v, n);
		buf[n] = '\0';
		return report_clean(buf, len, buf);
	}
	return buf;
}

/* report_script - MAILGOV_SCRIPT's one source (see report.h) */
char *
report_script(const char *fields, char *buf, size_t len)
{
	return field(fields, "script", buf, len);
}

/* utc - unix seconds as "2026-12-04 01:05:00 UTC" */
static char *
utc(int64_t t, char *buf, size_t len)
{
	struct tm tm;
	time_t	 tt = (time_t)t;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(buf, len, "%lld", (long long)t);
	return buf;
}

/* report_rcpts - valid distinct recipients (see report.h) */
size_t
report_rcpts(const struct report *r, const char *out[REPORT_RCPTS])
{
	size_t	 i, j, n = 0;

	for (i = 0; i < REPORT_RCPTS; i++) {
		if (r->rcpt[i] == NULL || !addr_ok(r->rcpt[i], 1, NULL))
			continue;
		for (j = 0; j < n; j++)
			if (strcmp(out[j], r->rcpt[i]) == 0)
				break;
		if (j == n)
			out[n++] = r->rcpt[i];
	}
	for (i = n; i < REPORT_RCPTS; i++)
		out[i] = NULL;
	return n;
}

/* put - one "NAME=value" into env[*n], its text at buf + *off */
static int
put(char **env, size_t *n, char *buf, size_t len, size_t *off,
    const char *name, const char *value)
{
	char	 v[REPORT_VALUE];
	int	 k;

	if (*n >= SPAWN_ENV_MAX)
		return -1;
	report_clean(v, sizeof(v), value);
	k = snprintf(buf + *off, len - *off, "%s=%s", name, v);
	if (k < 0 || (size_t)k >= len - *off)
		return -1;
	env[(*n)++] = buf + *off;
	*off += (size_t)k + 1;
	return 0;
}

/* report_env - alert_command's variables (see report.h) */
int
report_env(const struct report *r, char *env[SPAWN_ENV_MAX + 1], char *buf,
    size_t len)
{
	char	 script[REPORT_VALUE], acct[REPORT_VALUE];
	char	 held[32], when[32], release[REPORT_VALUE + 64];
	size_t	 n = 0, off = 0;

	env[0] = NULL;
	report_clean(acct, sizeof(acct), r->account);
	snprintf(held, sizeof(held), "%llu", (unsigned long long)r->held);
	snprintf(when, sizeof(when), "%lld", (long long)r->when);
	snprintf(release, sizeof(release), "mailgovctl hold release %s", acct);
	report_clean(script, sizeof(script), r->script);
	if (put(env, &n, buf, len, &off, "MAILGOV_EVENT", r->event) == -1 ||
	    put(env, &n, buf, len, &off, "MAILGOV_ACCOUNT", acct) == -1 ||
	    put(env, &n, buf, len, &off, "MAILGOV_SCRIPT", script) == -1 ||
	    put(env, &n, buf, len, &off, "MAILGOV_DETAIL", r->fields) == -1 ||
	    put(env, &n, buf, len, &off, "MAILGOV_HELD", held) == -1 ||
	    put(env, &n, buf, len, &off, "MAILGOV_TIME", when) == -1 ||
	    put(env, &n, buf, len, &off, "MAILGOV_HOST", r->host) == -1 ||
	    put(env, &n, buf, len, &off, "MAILGOV_RELEASE", release) == -1) {
		env[0] = NULL;
		return -1;
	}
	env[n] = NULL;
	return 0;
}

/* add - append to the message; sets *over when it does not fit */
static void __attribute__((format(printf, 5, 6)))
add(char *buf, size_t len, size_t *off, int *over, const char *fmt, ...)
{
	va_list	 ap;
	int	 k;

	if (*over)
		return;
	va_start(ap, fmt);
	k = vsnprintf(buf + *off, len - *off, fmt, ap);
	va_end(ap);
	if (k < 0 || (size_t)k >= len - *off) {
		*over = 1;
		return;
	}
	*off += (size_t)k;
}

/* what - the subject's words for an event; kind is the budget's name */
static const char *
what(const struct report *r, char *buf, size_t len)
{
	char	 kind[64], reason[32];

	if (strcmp(r->event, "budget_over") == 0) {
		field(r->fields, "kind", kind, sizeof(kind));
		snprintf(buf, len, "is over its %s budget",
		    kind[0] ? kind : "");
	} else if (strcmp(r->event, "blocked") == 0 ||
	    (strcmp(r->event, "reject") == 0 &&
	    strcmp(field(r->fields, "reason", reason, sizeof(reason)),
	    "blocked") == 0))
		snprintf(buf, len, "is blocked");
	else if (strcmp(r->event, "hold_full") == 0)
		snprintf(buf, len, "has too much mail on hold");
	else
		snprintf(buf, len, "had an alert (%s)", r->event);
	return buf;
}

/* report_mail - the report message (see report.h) */
size_t
report_mail(const struct report *r, char *buf, size_t len)
{
	const char *to[REPORT_RCPTS];
	char	 acct[128], host[256], ev[64], script[256];
	char	 detail[REPORT_VALUE], said[128], t1[40], t2[40];
	size_t	 n, i, off = 0;
	int	 over = 0;

	if (len == 0 || (n = report_rcpts(r, to)) == 0)
		return 0;
	report_clean(acct, sizeof(acct), r->account);
	report_clean(host, sizeof(host), r->host);
	report_clean(ev, sizeof(ev), r->event);
	report_clean(detail, sizeof(detail), r->fields);
	report_clean(script, sizeof(script), r->script);
	what(r, said, sizeof(said));
	report_clean(said, sizeof(said), said);

	/* headers: only cleaned text and checked addresses */
	add(buf, len, &off, &over, "From: mailgov <postmaster>\n");
	add(buf, len, &off, &over, "To: ");
	for (i = 0; i < n; i++)
		add(buf, len, &off, &over, "%s%s", i ? ", " : "", to[i]);
	add(buf, len, &off, &over, "\nSubject: [mailgov] account %s %s on "
	    "%s\n", acct, said, host);
	add(buf, len, &off, &over, "Auto-Submitted: auto-generated\n"
	    "Precedence: bulk\n"
	    "MIME-Version: 1.0\n"
	    "Content-Type: text/plain; charset=us-ascii\n"
	    "Content-Transfer-Encoding: 7bit\n"
	    "X-Mailgov-Account: %s\n"
	    "X-Mailgov-Event: %s\n\n", acct, ev);

	add(buf, len, &off, &over, "mailgov on %s: account %s %s.\n\n",
	    host, acct, said);
	add(buf, len, &off, &over, "  event:    %s\n", ev);
	add(buf, len, &off, &over, "  detail:   %s\n", detail);
	add(buf, len, &off, &over, "  time:     %s\n",
	    utc(r->when, t1, sizeof(t1)));
	add(buf, len, &off, &over, "  script:   %s\n",
	    script[0] ? script : "(not known)");
	if (r->held > 0)
		add(buf, len, &off, &over, "  on hold:  %llu messages, %llu "
		    "bytes; the oldest since %s\n",
		    (unsigned long long)r->held,
		    (unsigned long long)r->held_bytes,
		    utc(r->oldest, t2, sizeof(t2)));
	else
		add(buf, len, &off, &over, "  on hold:  nothing\n");
	add(buf, len, &off, &over, "\n"
	    "Held mail leaves by itself, oldest first, as the budget refills.\n"
	    "To see it:          mailgovctl hold list %s\n"
	    "To release it now:  mailgovctl hold release %s\n"
	    "To delete it:       mailgovctl hold delete %s\n", acct, acct, acct);
	if (strstr(said, "blocked") != NULL)
		add(buf, len, &off, &over,
		    "To unblock it:      mailgovctl unblock %s\n", acct);
	add(buf, len, &off, &over, "\n-- \nmailgov sends at most one such "
	    "report per account every %u minutes.\n", r->interval / 60);
	return over ? 0 : off;
}
