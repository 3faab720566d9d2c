/*
 * test_postfix_listeners - where Postfix takes mail over TCP, as the
 * rules must know it to close those ports to web users: master.cf
 * services as "postconf -F" prints their command (pf_listener_line), and
 * content_filter and smtpd_proxy_filter next hops (pf_filter_port).
 */
#include <stdio.h>
#include <string.h>

#include "postfix.h"
#include "t.h"

static const struct {
	const char *line;
	int	 rc;
	const char *name, *port;
} listeners[] = {
	{ "smtp/inet/command = smtpd", 1, "smtp", "smtp" },
	{ "127.0.0.1:10025/inet/command = smtpd -o content_filter= "
	    "-o smtpd_client_restrictions=", 1, "127.0.0.1:10025", "10025" },
	{ "[::1]:10025/inet/command = smtpd", 1, "[::1]:10025", "10025" },
	{ "10027/inet/command = smtpd -o content_filter=x:[127.0.0.1]:1", 1,
	    "10027", "10027" },
	{ "localhost:submission/inet/command = smtpd", 1,
	    "localhost:submission", "submission" },
	{ "2626/inet/command = postscreen", 1, "2626", "2626" },
	{ "628/inet/command = qmqpd", 1, "628", "628" },
	{ "10030/inet/command = /usr/lib/postfix/sbin/smtpd -v", 1, "10030",
	    "10030" },
	{ "127.0.0.1:10030/inet/command   =   smtpd", 1, "127.0.0.1:10030",
	    "10030" },
	/* not Postfix taking mail */
	{ "127.0.0.1:10031/inet/command = tlsproxy", 0, "", "" },
	{ "10032/inet/command = smtpdx", 0, "", "" },
	{ "10033/inet/command = spawn -o x=y", 0, "", "" },
	/* not understood */
	{ "smtp/unix/command = smtp", -1, "", "" },
	{ "/inet/command = smtpd", -1, "", "" },
	{ "a/b/inet/command = smtpd", -1, "", "" },
	{ "10025/inet/command smtpd", -1, "", "" },
	{ "[::1/inet/command = smtpd", -1, "", "" },
	{ "[::1]10025/inet/command = smtpd", -1, "", "" },
	{ "127.0.0.1:/inet/command = smtpd", -1, "", "" },
	{ "127.0.0.1:10 25/inet/command = smtpd", -1, "", "" },
	{ "", -1, "", "" },
};

static const struct {
	const char *value;
	int	 transport, rc;
	const char *port;
} filters[] = {
	/* content_filter = transport:nexthop */
	{ "smtp-amavis:[127.0.0.1]:10024", 1, 1, "10024" },
	{ "smtp-amavis:127.0.0.1:10024", 1, 1, "10024" },
	{ "scan:[::1]:10024", 1, 1, "10024" },
	{ " scan:localhost:smtp-filter ", 1, 1, "smtp-filter" },
	{ "lmtp:inet:127.0.0.1:10024", 1, 1, "10024" },
	{ "lmtp:unix:/run/filter.sock", 1, 0, "" },
	{ "smtp-amavis:[127.0.0.1]", 1, 0, "" },
	{ "smtp:", 1, 0, "" },
	{ "relay:mx.example.com", 1, 0, "" },
	{ "", 1, 0, "" },
	{ "smtp-amavis", 1, -1, "" },
	{ "scan:[127.0.0.1:10024", 1, -1, "" },
	{ "scan:[127.0.0.1]x10024", 1, -1, "" },
	{ "scan:127.0.0.1:10024;x", 1, -1, "" },
	/* smtpd_proxy_filter = host:port */
	{ "127.0.0.1:10024", 0, 1, "10024" },
	{ "inet:[::1]:10024", 0, 1, "10024" },
	{ "[127.0.0.1]:10024", 0, 1, "10024" },
	{ "unix:private/filter", 0, 0, "" },
	{ "", 0, 0, "" },
	{ "127.0.0.1:", 0, -1, "" },
};

int
main(void)
{
	char	 name[64], port[64], what[96];
	size_t	 i;
	int	 rc;

	for (i = 0; i < sizeof(listeners) / sizeof(listeners[0]); i++) {
		name[0] = port[0] = '\0';
		rc = pf_listener_line(listeners[i].line, name, sizeof(name),
		    port, sizeof(port));
		snprintf(what, sizeof(what), "listener \"%.60s\"",
		    listeners[i].line);
		T_OK(rc == listeners[i].rc, "%s: expected %d, saw %d", what,
		    listeners[i].rc, rc);
		if (rc != 1 || listeners[i].rc != 1)
			continue;
		T_EQ_S(name, listeners[i].name, what);
		T_EQ_S(port, listeners[i].port, what);
	}
	T_OK(pf_listener_line("127.0.0.1:10025/inet/command = smtpd", name, 8,
	    port, sizeof(port)) == -1,
	    "listener: a name longer than the room is refused");

	for (i = 0; i < sizeof(filters) / sizeof(filters[0]); i++) {
		port[0] = '\0';
		rc = pf_filter_port(filters[i].value, filters[i].transport,
		    port, sizeof(port));
		snprintf(what, sizeof(what), "filter \"%.60s\"",
		    filters[i].value);
		T_OK(rc == filters[i].rc, "%s: expected %d, saw %d", what,
		    filters[i].rc, rc);
		if (rc == 1 && filters[i].rc == 1)
			T_EQ_S(port, filters[i].port, what);
	}
	return t_done();
}
