/*
 * postfix - pure helpers for mailgov's side of Postfix: what mailgov wants
 * in main.cf and master.cf of the main and the queue instance, merging its
 * element into a restriction list, "postconf -n" lines and "postqueue -j"
 * lines.  No I/O.
 *
 * Trusts: nothing.  Lists come from an administrator's main.cf and may be
 * malformed; postqueue -j lines carry senders chosen by whoever submitted
 * the mail.  Every parser here is bounded and answers -1/NULL on garbage.
 */
#define _GNU_SOURCE	/* asprintf */
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mark.h"
#include "num.h"
#include "postfix.h"
#include "queueid.h"

/* pf_policy_check - the check_policy_service element for one context */
char *
pf_policy_check(const struct config *cfg, const char *default_action,
    const char *context)
{
	char	*s;
	int	 r;

	/* TCP first: the queue instance is another Postfix whose smtpd
	 * may not be able to reach mailgovd's unix socket. */
	if (cfg->policy_tcp[0] != '\0')
		r = asprintf(&s, "check_policy_service { inet:%s, "
		    "default_action=%s, policy_context=%s, timeout=10s }",
		    cfg->policy_tcp, default_action, context);
	else
		r = asprintf(&s, "check_policy_service { unix:%s, "
		    "default_action=%s, policy_context=%s, timeout=10s }",
		    cfg->policy_unix, default_action, context);
	return r == -1 ? NULL : s;
}

/* is_sep - Postfix list separators */
static int
is_sep(char c)
{
	return c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* pf_list_free - free what pf_list_split returned */
void
pf_list_free(char **v, size_t n)
{
	size_t	 i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* span - where one element sits in the list text */
struct span {
	size_t	 start, end;
};

/* split_spans - the elements' positions; "kw { ... }" is one element.
 * Returns the count, or -1 on unbalanced braces or no memory. */
static ssize_t
split_spans(const char *s, struct span **out)
{
	struct span *v = NULL, *nv;
	size_t	 n = 0, start;
	const char *p = s;
	int	 depth;

	*out = NULL;
	while (*p != '\0') {
		while (is_sep(*p))
			p++;
		if (*p == '\0')
			break;
		start = (size_t)(p - s);
		if (*p == '{') {
			for (depth = 0; *p != '\0'; p++) {
				if (*p == '{')
					depth++;
				else if (*p == '}' && --depth == 0)
					break;
			}
			if (*p != '}')
				goto fail;	/* unbalanced */
			p++;
			/* a group is the argument of the element before it */
			if (n > 0) {
				v[n - 1].end = (size_t)(p - s);
				continue;
			}
		} else {
			while (*p != '\0' && !is_sep(*p) && *p != '{') {
				if (*p == '}')
					goto fail;
				p++;
			}
		}
		if ((nv = reallocarray(v, n + 1, sizeof(*v))) == NULL)
			goto fail;
		v = nv;
		v[n].start = start;
		v[n].end = (size_t)(p - s);
		n++;
	}
	*out = v;
	return (ssize_t)n;
fail:
	free(v);
	return -1;
}

/* pf_list_split - elements of a Postfix list; "kw { ... }" is one element */
char **
pf_list_split(const char *s, size_t *np)
{
	struct span *sp;
	ssize_t	 n, i;
	char	**v;

	*np = 0;
	if ((n = split_spans(s, &sp)) == -1)
		return NULL;
	if ((v = calloc((size_t)n + 1, sizeof(*v))) == NULL) {
		free(sp);
		return NULL;
	}
	for (i = 0; i < n; i++)
		if ((v[i] = strndup(s + sp[i].start, sp[i].end -
		    sp[i].start)) == NULL) {
			pf_list_free(v, (size_t)i);
			free(sp);
			return NULL;
		}
	free(sp);
	*np = (size_t)n;
	return v;
}

/* pf_elem_is_ours - mailgov's policy check or its web-user exclusion */
int
pf_elem_is_ours(const char *e)
{
	if (strcmp(e, PF_WEB_USERS_ELEM) == 0)
		return 1;
	if (strncmp(e, "check_policy_service", 20) != 0)
		return 0;
	e += 20;
	while (*e == ' ' || *e == '\t')
		e++;
	if (*e != '{')
		return 0;
	return strstr(e, "policy_context=queue") != NULL ||
	    strstr(e, "policy_context=main") != NULL;
}

/* strip_ours - s without mailgov's elements, the rest kept verbatim
 * (each removed element takes the separators after it, or before it when
 * it is the last); *n_ours counts them, *first_ours says one led */
static char *
strip_ours(const char *s, size_t *n_ours, int *first_ours)
{
	struct span *sp;
	ssize_t	 n, i;
	size_t	 len = strlen(s), from, to, k = 0;

	char	*out, *e;
	int	*drop;

	*n_ours = 0;
	*first_ours = 0;
	if ((n = split_spans(s, &sp)) == -1)
		return NULL;
	if ((drop = calloc((size_t)n + 1, sizeof(*drop))) == NULL ||
	    (out = malloc(len + 1)) == NULL) {
		free(drop);
		free(sp);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		if ((e = strndup(s + sp[i].start, sp[i].end - sp[i].start)) ==
		    NULL) {
			free(drop);
			free(sp);
			free(out);
			return NULL;
		}
		if (pf_elem_is_ours(e)) {
			drop[i] = 1;
			(*n_ours)++;
			if (i == 0)
				*first_ours = 1;
		}
		free(e);
	}
	/* copy the text, skipping dropped elements and their separators */
	from = 0;
	for (i = 0; i < n; i++) {
		if (!drop[i])
			continue;
		to = sp[i].start;
		memcpy(out + k, s + from, to - from);
		k += to - from;
		from = i + 1 < n ? sp[i + 1].start : len;
	}
	memcpy(out + k, s + from, len - from);
	k += len - from;
	/* the last element went: so do the separators before it */
	if (n > 0 && drop[n - 1])
		while (k > 0 && is_sep(out[k - 1]))
			k--;
	out[k] = '\0';
	free(drop);
	free(sp);
	return out;
}

/* pf_list_merge - cur with ours first, the rest kept verbatim in order */
char *
pf_list_merge(const char *cur, const char *ours)
{
	char	**v, *rest, *r;
	const char *p;
	size_t	 n, n_ours;
	int	 first, same;

	if ((v = pf_list_split(cur, &n)) == NULL)
		return NULL;
	same = n > 0 && pf_space_eq(v[0], ours);
	pf_list_free(v, n);
	if ((rest = strip_ours(cur, &n_ours, &first)) == NULL)
		return NULL;
	if (n_ours == 1 && first && same) {
		free(rest);
		return strdup(cur);
	}
	for (p = rest; is_sep(*p); p++)
		;
	if (asprintf(&r, "%s%s%s", ours, *p ? ", " : "", p) == -1)
		r = NULL;
	free(rest);
	return r;
}

/* pf_list_remove - cur without mailgov's elements */
char *
pf_list_remove(const char *cur)
{
	size_t	 n_ours;
	int	 first;
	char	*r, *p;

	if ((r = strip_ours(cur, &n_ours, &first)) == NULL)
		return NULL;
	for (p = r; is_sep(*p); p++)
		;
	memmove(r, p, strlen(p) + 1);
	return r;
}

/* pf_conf_line - "key = value" as postconf -n prints it */
int
pf_conf_line(const char *line, char *key, size_t keylen, const char **value)
{
	size_t	 n = 0;

	while (isalnum((unsigned char)line[n]) || line[n] == '_')
		n++;
	if (n == 0 || n >= keylen)
		return -1;
	memcpy(key, line, n);
	key[n] = '\0';
	line += n;
	while (*line == ' ' || *line == '\t')
		line++;
	if (*line != '=')
		return -1;
	line++;
	while (*line == ' ' || *line == '\t')
		line++;
	*value = line;
	return 0;
}

/* pf_space_eq - compare, any run of white space equal to one space */
int
pf_space_eq(const char *a, const char *b)
{
	while (isspace((unsigned char)*a))
		a++;
	while (isspace((unsigned char)*b))
		b++;
	for (;;) {
		if (isspace((unsigned char)*a) && isspace((unsigned char)*b)) {
			while (isspace((unsigned char)*a))
				a++;
			while (isspace((unsigned char)*b))
				b++;
			/* trailing space on one side only is no difference */
			continue;
		}
		if (*a == '\0' || *b == '\0') {
			while (isspace((unsigned char)*a))
				a++;
			while (isspace((unsigned char)*b))
				b++;
			return *a == '\0' && *b == '\0';
		}
		if (*a != *b)
			return 0;
		a++;
		b++;
	}
}

/* --- what mailgov wants ---------------------------------------------- */

/* want_param - append one main.cf parameter; -1 on no memory */
static int
want_param(struct pf_want *w, const char *key, enum pf_how how,
    const char *dflt, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int
want_param(struct pf_want *w, const char *key, enum pf_how how,
    const char *dflt, const char *fmt, ...)
{
	struct pf_param *np;
	va_list	 ap;
	char	*v;
	int	 r;

	va_start(ap, fmt);
	r = vasprintf(&v, fmt, ap);
	va_end(ap);
	if (r == -1)
		return -1;
	np = reallocarray(w->params, w->n_params + 1, sizeof(*np));
	if (np == NULL) {
		free(v);
		return -1;
	}
	w->params = np;
	np[w->n_params].key = key;
	np[w->n_params].value = v;
	np[w->n_params].how = how;
	np[w->n_params].dflt = dflt;
	w->n_params++;
	return 0;
}

/* want_service - append one master.cf entry (line NULL: must be off) */
static int
want_service(struct pf_want *w, const char *name, const char *line)
{
	struct pf_service *ns;
	char	*n, *l = NULL;

	if ((n = strdup(name)) == NULL)
		return -1;
	if (line != NULL && (l = strdup(line)) == NULL) {
		free(n);
		return -1;
	}
	ns = reallocarray(w->services, w->n_services + 1, sizeof(*ns));
	if (ns == NULL) {
		free(n);
		free(l);
		return -1;
	}
	w->services = ns;
	ns[w->n_services].name = n;
	ns[w->n_services].line = l;
	w->n_services++;
	return 0;
}

/* pf_want_free - free a wanted configuration */
void
pf_want_free(struct pf_want *w)
{
	size_t	 i;

	if (w == NULL)
		return;
	for (i = 0; i < w->n_params; i++)
		free(w->params[i].value);
	for (i = 0; i < w->n_services; i++) {
		free(w->services[i].name);
		free(w->services[i].line);
	}
	free(w->params);
	free(w->services);
	free(w);
}

/*
 * pf_want_main - the main instance: mailgov's policy check first in
 * smtpd_end_of_data_restrictions (DUNNO when mailgovd is down: a stopped
 * governor must not stop the whole server's mail), web users refused by
 * postdrop, and the relay listener the queue instance delivers to.
 */
struct pf_want *
pf_want_main(const struct config *cfg)
{
	struct pf_want *w;
	char	*chk = NULL, name[64], line[1024];

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	if ((chk = pf_policy_check(cfg, "DUNNO", "main")) == NULL)
		goto fail;
	/* RCPT too: the policy server caps recipients per message there */
	if (want_param(w, "smtpd_end_of_data_restrictions", PF_LIST, "",
	    "%s", chk) == -1 ||
	    want_param(w, "smtpd_recipient_restrictions", PF_LIST, "",
	    "%s", chk) == -1 ||
	    want_param(w, "authorized_submit_users", PF_LIST, "static:anyone",
	    "%s", PF_WEB_USERS_ELEM) == -1)
		goto fail;
	/*
	 * Written the way postconf -M prints it back, so that check and a
	 * second setup compare equal.
	 *
	 * The relay hop from the queue instance: loopback only, already
	 * counted (no policy check), and none of the administrator's client
	 * restrictions, which were written for the Internet.  Milters are
	 * kept so that DKIM signing still happens on this hop.
	 */
	snprintf(name, sizeof(name), "127.0.0.1:%u/inet",
	    (unsigned)cfg->relay_port);
	snprintf(line, sizeof(line), "127.0.0.1:%u inet n - n - - smtpd"
	    " -o syslog_name=postfix/mailgov-relay"
	    " -o smtpd_end_of_data_restrictions="
	    " -o smtpd_client_restrictions="
	    " -o smtpd_helo_restrictions="
	    " -o smtpd_sender_restrictions="
	    " -o smtpd_recipient_restrictions="
	    " -o smtpd_data_restrictions="
	    " -o {smtpd_relay_restrictions=permit_mynetworks, reject}"
	    " -o {mynetworks=127.0.0.0/8, [::1]/128}",
	    (unsigned)cfg->relay_port);
	if (want_service(w, name, line) == -1)
		goto fail;
	free(chk);
	return w;
fail:
	free(chk);
	pf_want_free(w);
	return NULL;
}

/*
 * pf_want_queue - the queue instance, which mailgov owns whole: listens
 * on loopback port queue_port only, holds when the policy server does not
 * answer, relays everything to the main instance's relay listener.  Its
 * size limit is main's, or PF_QUEUE_SIZE_DEFAULT when main has none (or
 * it is not a plain number): without one, one message could fill the
 * disk.  Its free-space floor is queue_minfree, at least 2 x that limit
 * (Postfix's own floor is 1.5 x), so that it stops taking web mail while
 * the main instance still has room.
 */
struct pf_want *
pf_want_queue(const struct config *cfg, int ipv6,
    const char *message_size_limit)
{
	struct pf_want *w;
	char	*chk = NULL, *rcpt = NULL, name[64], line[256];
	const char *e;
	unsigned qp = cfg->queue_port;
	uint64_t msl, minfree;

	if (message_size_limit == NULL || num_u64(message_size_limit, 1,
	    PF_SIZE_MAX, 0, &msl, &e) == -1)
		msl = PF_QUEUE_SIZE_DEFAULT;
	minfree = cfg->queue_minfree > 2 * msl ? cfg->queue_minfree : 2 * msl;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	w->chroot_n = 1;
	/* a message is held at END-OF-MESSAGE; at RCPT (the recipients
	 * cap) a silent policy server must not hold every recipient */
	if ((chk = pf_policy_check(cfg, "HOLD", "queue")) == NULL ||
	    (rcpt = pf_policy_check(cfg, "DUNNO", "queue")) == NULL)
		goto fail;
	if (want_param(w, "master_service_disable", PF_SET, NULL, "%s", "")
	    == -1 ||
	    want_param(w, "inet_interfaces", PF_SET, NULL, "loopback-only")
	    == -1 ||
	    want_param(w, "inet_protocols", PF_SET, NULL, "%s",
	    ipv6 ? "ipv4, ipv6" : "ipv4") == -1 ||
	    want_param(w, "relayhost", PF_SET, NULL, "[127.0.0.1]:%u",
	    (unsigned)cfg->relay_port) == -1 ||
	    want_param(w, "smtpd_end_of_data_restrictions", PF_SET, NULL,
	    "%s", chk) == -1 ||
	    want_param(w, "smtpd_recipient_restrictions", PF_SET, NULL,
	    "%s", rcpt) == -1 ||
	    /*
	     * The listener is bound to loopback, so every client is a
	     * process on this host; but a connection redirected from a
	     * remote MX keeps the host's own public source address, which
	     * mynetworks_style=host does not list when inet_interfaces is
	     * loopback.  Postfix insists on a reject in the relay
	     * restrictions, so trust every address and reject nothing.
	     */
	    want_param(w, "mynetworks", PF_SET, NULL, "0.0.0.0/0, [::]/0")
	    == -1 ||
	    want_param(w, "smtpd_relay_restrictions", PF_SET, NULL,
	    "permit_mynetworks, reject") == -1 ||
	    want_param(w, "mydestination", PF_SET, NULL, "%s", "") == -1 ||
	    want_param(w, "local_recipient_maps", PF_SET, NULL, "%s", "")
	    == -1 ||
	    want_param(w, "alias_maps", PF_SET, NULL, "%s", "") == -1 ||
	    want_param(w, "alias_database", PF_SET, NULL, "%s", "") == -1 ||
	    want_param(w, "authorized_submit_users", PF_SET, NULL,
	    "%s, static:anyone", PF_WEB_USERS_ELEM) == -1 ||
	    /* released mail is moved to deferred and flushed at once;
	     * these only bound how late a missed flush is made good */
	    want_param(w, "queue_run_delay", PF_SET, NULL, "30s") == -1 ||
	    want_param(w, "minimal_backoff_time", PF_SET, NULL, "30s") == -1 ||
	    want_param(w, "maximal_backoff_time", PF_SET, NULL, "300s") == -1)
		goto fail;
	/* below the floor every attempt is refused for lack of space, and
	 * Postfix would mail postmaster about each one ("resource"): a web
	 * user must not be able to send mail that way; the log says it */
	if (want_param(w, "message_size_limit", PF_SET, NULL, "%" PRIu64,
	    msl) == -1 ||
	    want_param(w, "queue_minfree", PF_SET, NULL, "%" PRIu64, minfree)
	    == -1 ||
	    want_param(w, "notify_classes", PF_SET, NULL, "software") == -1)
		goto fail;
	/* the account header (mark.h): the queue ID it is bound to must be
	 * known at the first recipient, and the header goes no further */
	if (want_param(w, "smtpd_delay_open_until_valid_rcpt", PF_SET, NULL,
	    "no") == -1 ||
	    want_param(w, "smtp_header_checks", PF_SET, NULL,
	    "regexp:{{/^%s:/ IGNORE}}", MARK_HEADER) == -1)
		goto fail;
	if (want_service(w, "smtp/inet", NULL) == -1)
		goto fail;
	snprintf(name, sizeof(name), "127.0.0.1:%u/inet", qp);
	snprintf(line, sizeof(line), "127.0.0.1:%u inet n - n - - smtpd", qp);
	if (want_service(w, name, line) == -1)
		goto fail;
	if (ipv6) {
		snprintf(name, sizeof(name), "[::1]:%u/inet", qp);
		snprintf(line, sizeof(line), "[::1]:%u inet n - n - - smtpd",
		    qp);
		if (want_service(w, name, line) == -1)
			goto fail;
	}
	free(chk);
	free(rcpt);
	return w;
fail:
	free(chk);
	free(rcpt);
	pf_want_free(w);
	return NULL;
}

/* --- where Postfix takes mail over TCP -------------------------------- */

/* port_ok - copy a port part ("10025", "submission") into port */
static int
port_ok(const char *s, size_t n, char *port, size_t portlen)
{
	size_t	 i;

	if (n == 0 || n >= portlen || n > 32)
		return -1;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' &&
		    s[i] != '_' && s[i] != '.')
			return -1;
	memcpy(port, s, n);
	port[n] = '\0';
	return 1;
}

/* endpoint_port - the port of "host:port", "[host]:port" or "port"
 * (bare: 1 takes a lone word as the port, 0 says it names none) */
static int
endpoint_port(const char *s, size_t n, int bare, char *port, size_t portlen)
{
	const char *close, *colon;

	if (n > 0 && s[0] == '[') {
		if ((close = memchr(s, ']', n)) == NULL)
			return -1;
		if ((size_t)(close - s) + 1 == n)
			return 0;	/* "[host]": no port */
		if (close[1] != ':')
			return -1;
		return port_ok(close + 2, n - (size_t)(close + 2 - s), port,
		    portlen);
	}
	colon = n > 0 ? memrchr(s, ':', n) : NULL;
	if (colon == NULL)
		return bare ? port_ok(s, n, port, portlen) : 0;
	return port_ok(colon + 1, n - (size_t)(colon + 1 - s), port, portlen);
}

/* pf_listener_line - see postfix.h */
int
pf_listener_line(const char *line, char *name, size_t namelen, char *port,
    size_t portlen)
{
	static const char *const takes_mail[] = { "smtpd", "postscreen",
	    "qmqpd", NULL };
	static const char field[] = "/inet/command";
	const char *end, *cmd, *base;
	size_t	 n, i;

	/* "NAME/inet/command = COMMAND ARGS"; NAME holds no '/' */
	if ((end = strstr(line, field)) == NULL || end == line)
		return -1;
	n = (size_t)(end - line);
	if (memchr(line, '/', n) != NULL)
		return -1;
	for (cmd = end + sizeof(field) - 1; *cmd == ' ' || *cmd == '\t';
	    cmd++)
		;
	if (*cmd++ != '=')
		return -1;
	while (*cmd == ' ' || *cmd == '\t')
		cmd++;
	/* the program, relative to daemon_directory or a path */
	for (end = cmd; *end != '\0' && *end != ' ' && *end != '\t'; end++)
		;
	for (base = end; base > cmd && base[-1] != '/'; base--)
		;
	for (i = 0; takes_mail[i] != NULL; i++)
		if ((size_t)(end - base) == strlen(takes_mail[i]) &&
		    memcmp(base, takes_mail[i], (size_t)(end - base)) == 0)
			break;
	if (takes_mail[i] == NULL)
		return 0;
	if (n >= namelen)
		return -1;
	memcpy(name, line, n);
	name[n] = '\0';
	return endpoint_port(line, n, 1, port, portlen) == 1 ? 1 : -1;
}

/* pf_filter_port - see postfix.h */
int
pf_filter_port(const char *value, int transport, char *port,
    size_t portlen)
{
	const char *s = value, *colon;
	size_t	 n;

	while (*s == ' ' || *s == '\t')
		s++;
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (transport) {
		/* "transport:nexthop"; the next hop may be empty */
		if (n == 0)
			return 0;
		if ((colon = memchr(s, ':', n)) == NULL)
			return -1;
		n -= (size_t)(colon + 1 - s);
		s = colon + 1;
	}
	if (n == 0)
		return 0;
	if (n >= 5 && memcmp(s, "unix:", 5) == 0)
		return 0;
	if (n >= 5 && memcmp(s, "inet:", 5) == 0) {
		s += 5;
		n -= 5;
	}
	return endpoint_port(s, n, 0, port, portlen);
}

/* --- postqueue -j ------------------------------------------------------ */

struct jp {
	const char	*p, *end;
	int		 depth;
};

#define JP_DEPTH	8

static int jp_skip_value(struct jp *);

/* jp_ws - skip white space */
static void
jp_ws(struct jp *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' ||
	    *j->p == '\r' || *j->p == '\n'))
		j->p++;
}

/* jp_string - a JSON string into out (cut to outlen-1, \u as '?');
 * returns 1 when it was cut */
static int
jp_string(struct jp *j, char *out, size_t outlen)
{
	size_t	 n = 0;
	char	 c;
	int	 k, cut = 0;

	if (j->p >= j->end || *j->p != '"')
		return -1;
	j->p++;
	while (j->p < j->end && *j->p != '"') {
		c = *j->p++;
		if ((unsigned char)c < 0x20)
			return -1;
		if (c == '\\') {
			if (j->p >= j->end)
				return -1;
			c = *j->p++;
			switch (c) {
			case '"': case '\\': case '/': break;
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			case 'n': c = '\n'; break;
			case 'r': c = '\r'; break;
			case 't': c = '\t'; break;
			case 'u':
				for (k = 0; k < 4; k++, j->p++)
					if (j->p >= j->end ||
					    !isxdigit((unsigned char)*j->p))
						return -1;
				c = '?';
				break;
			default:
				return -1;
			}
		}
		if (out != NULL && n + 1 < outlen)
			out[n++] = c;
		else if (out != NULL)
			cut = 1;
	}
	if (j->p >= j->end)
		return -1;
	j->p++;
	if (out != NULL && outlen > 0)
		out[n] = '\0';
	return cut;
}

/* jp_number - a non-negative integer (a fraction or exponent is skipped) */
static int
jp_number(struct jp *j, uint64_t *out)
{
	uint64_t v = 0;
	int	 digits = 0;

	if (j->p < j->end && *j->p == '-')
		return -1;
	while (j->p < j->end && isdigit((unsigned char)*j->p)) {
		if (v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*j->p - '0');
		j->p++;
		digits++;
	}
	if (digits == 0)
		return -1;
	while (j->p < j->end && (*j->p == '.' || *j->p == 'e' ||
	    *j->p == 'E' || *j->p == '+' || *j->p == '-' ||
	    isdigit((unsigned char)*j->p)))
		j->p++;
	*out = v;
	return 0;
}

/* jp_word - true, false or null */
static int
jp_word(struct jp *j)
{
	static const char *w[] = { "true", "false", "null" };
	size_t	 i, n;

	for (i = 0; i < 3; i++) {
		n = strlen(w[i]);
		if ((size_t)(j->end - j->p) >= n && memcmp(j->p, w[i], n) == 0) {
			j->p += n;
			return 0;
		}
	}
	return -1;
}

/* jp_container - walk an object or array, skipping its values; counts
 * the elements of an array in *count when not NULL */
static int
jp_container(struct jp *j, uint32_t *count)
{
	char	 close;
	int	 first = 1;

	if (j->p >= j->end || (*j->p != '{' && *j->p != '['))
		return -1;
	if (++j->depth > JP_DEPTH)
		return -1;
	close = *j->p == '{' ? '}' : ']';
	j->p++;
	for (;;) {
		jp_ws(j);
		if (j->p < j->end && *j->p == close) {
			j->p++;
			break;
		}
		if (!first) {
			if (j->p >= j->end || *j->p != ',')
				return -1;
			j->p++;
			jp_ws(j);
		}
		first = 0;
		if (close == '}') {
			if (jp_string(j, NULL, 0) == -1)
				return -1;
			jp_ws(j);
			if (j->p >= j->end || *j->p != ':')
				return -1;
			j->p++;
			jp_ws(j);
		}
		if (jp_skip_value(j) == -1)
			return -1;
		if (count != NULL && *count < UINT32_MAX)
			(*count)++;
	}
	j->depth--;
	return 0;
}

/* jp_skip_value - any JSON value */
static int
jp_skip_value(struct jp *j)
{
	uint64_t v;

	jp_ws(j);
	if (j->p >= j->end)
		return -1;
	switch (*j->p) {
	case '"':
		return jp_string(j, NULL, 0);
	case '{':
	case '[':
		return jp_container(j, NULL);
	case 't': case 'f': case 'n':
		return jp_word(j);
	default:
		if (*j->p == '-') {
			j->p++;
			return jp_number(j, &v);
		}
		return jp_number(j, &v);
	}
}

/* pf_qline_parse - the fields mailgov uses from one postqueue -j line */
int
pf_qline_parse(const char *line, size_t len, struct pf_qentry *e)
{
	struct jp j = { line, line + len, 0 };
	char	 key[32];
	uint64_t v;
	int	 first = 1, have_name = 0, have_id = 0;

	memset(e, 0, sizeof(*e));
	if (len > PF_QLINE_MAX)
		return -1;
	jp_ws(&j);
	if (j.p >= j.end || *j.p != '{')
		return -1;
	j.p++;
	j.depth = 1;
	for (;;) {
		jp_ws(&j);
		if (j.p < j.end && *j.p == '}') {
			j.p++;
			break;
		}
		if (!first) {
			if (j.p >= j.end || *j.p != ',')
				return -1;
			j.p++;
			jp_ws(&j);
		}
		first = 0;
		if (jp_string(&j, key, sizeof(key)) == -1)
			return -1;	/* a cut key matches no known key */
		jp_ws(&j);
		if (j.p >= j.end || *j.p != ':')
			return -1;
		j.p++;
		jp_ws(&j);
		if (strcmp(key, "queue_name") == 0) {
			if (jp_string(&j, e->queue_name,
			    sizeof(e->queue_name)) != 0)
				return -1;
			have_name = 1;
		} else if (strcmp(key, "queue_id") == 0) {
			if (jp_string(&j, e->queue_id,
			    sizeof(e->queue_id)) != 0)
				return -1;
			have_id = 1;
		} else if (strcmp(key, "arrival_time") == 0) {
			if (jp_number(&j, &v) == -1 || v > INT64_MAX)
				return -1;
			e->arrival_time = (int64_t)v;
		} else if (strcmp(key, "message_size") == 0) {
			if (jp_number(&j, &v) == -1)
				return -1;
			e->message_size = v;
		} else if (strcmp(key, "sender") == 0) {
			if (jp_string(&j, e->sender, sizeof(e->sender)) == -1)
				return -1;
		} else if (strcmp(key, "recipients") == 0) {
			if (j.p >= j.end || *j.p != '[')
				return -1;
			if (jp_container(&j, &e->recipients) == -1)
				return -1;
		} else if (jp_skip_value(&j) == -1)
			return -1;
	}
	jp_ws(&j);
	if (j.p != j.end)
		return -1;
	if (!have_name || !have_id || e->queue_name[0] == '\0' ||
	    !queueid_ok(e->queue_id))
		return -1;
	return 0;
}
