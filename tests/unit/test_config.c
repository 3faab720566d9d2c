/*
 * test_config - mailgov.conf parsing as a table: every key with a good
 * value (checked where it lands) and bad ones (checked by the exact error
 * line), then the file-level rules (comments, CRLF, line and file bounds,
 * unknown and repeated keys, all-or-nothing), config_load on real files,
 * the budget syntax round trip and the kind and mode names.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "t.h"

enum check { NONE, U16, U32, U64, INT, SIZE, STR };

struct ccase {
	const char	*text;
	const char	*err;		/* NULL: must parse */
	enum check	 check;
	size_t		 off;
	uint64_t	 u;
	const char	*s;
};

#define OFF(f)	offsetof(struct config, f)
#define GOOD(text, check, f, u)	{ text, NULL, check, OFF(f), u, NULL }
#define GOODS(text, f, s)	{ text, NULL, STR, OFF(f), 0, s }
#define BAD(text, err)		{ text, err, NONE, 0, 0, NULL }

static const struct ccase cases[] = {
	/* the file itself */
	GOOD("", U16, queue_port, 2525),
	GOOD("\n\n   \n\t\n", U16, queue_port, 2525),
	GOOD("# a comment\n   # indented\n\t#tab\n", U16, queue_port, 2525),
	GOOD("queue_port = 2000", U16, queue_port, 2000),
	GOOD("queue_port = 2000\n", U16, queue_port, 2000),
	GOOD("queue_port = 2000\r\n", U16, queue_port, 2000),
	GOOD("# c\r\n\r\nqueue_port = 2000\r\nqueue_num = 3\r\n", U16,
	    queue_num, 3),
	GOOD("  queue_port\t=\t2000  \n", U16, queue_port, 2000),
	GOOD("queue_port=2000\n", U16, queue_port, 2000),
	BAD("foo = 1\n", "t.conf:1: unknown key 'foo'"),
	BAD("\n\n# x\nfoo = 1\n", "t.conf:4: unknown key 'foo'"),
	BAD("Queue_port = 1\n", "t.conf:1: unknown key 'Queue_port'"),
	BAD("queue_port = 2000\nqueue_port = 2001\n",
	    "t.conf:2: key 'queue_port' given twice (first on line 1)"),
	BAD("queue_port\n", "t.conf:1: expected 'key = value'"),
	BAD("= 5\n", "t.conf:1: expected 'key = value'"),
	BAD("queue_port = 2525 # trailing comments are not comments\n",
	    "t.conf:1: queue_port: not a number (1..65535)"),
	BAD("queue_port = 20\x01\n", "t.conf:1: control character 0x01"),
	BAD("# \x7f\n", "t.conf:1: control character 0x7f"),
	BAD("queue_port = 2000\r\r\n", "t.conf:1: control character 0x0d"),

	/* paths */
	GOODS("db = /srv/mg.db\n", db, "/srv/mg.db"),
	GOODS("db = /a=b\n", db, "/a=b"),
	BAD("db = mg.db\n", "t.conf:1: db: not an absolute path"),
	BAD("db =\n", "t.conf:1: db: not an absolute path"),
	GOODS("rules_dir = /opt/mailgov/rules\n", rules_dir,
	    "/opt/mailgov/rules"),
	BAD("rules_dir = ./rules\n", "t.conf:1: rules_dir: not an absolute path"),
	GOODS("queue_config_dir = /etc/postfix-q\n", queue_config_dir,
	    "/etc/postfix-q"),
	BAD("queue_config_dir = etc\n",
	    "t.conf:1: queue_config_dir: not an absolute path"),
	GOODS("postsuper = /opt/pf/postsuper\n", postsuper, "/opt/pf/postsuper"),
	BAD("postsuper = postsuper\n",
	    "t.conf:1: postsuper: not an absolute path"),
	GOODS("postqueue = /opt/pf/postqueue\n", postqueue, "/opt/pf/postqueue"),
	BAD("postqueue = \"\"\n", "t.conf:1: postqueue: not an absolute path"),
	GOODS("control_socket = /run/m/c.sock\n", control_socket,
	    "/run/m/c.sock"),
	BAD("control_socket = none\n",
	    "t.conf:1: control_socket: not an absolute path"),

	/* user */
	GOODS("user = mg\n", user, "mg"),
	GOODS("user = _mg-1\n", user, "_mg-1"),
	BAD("user = Mailgov\n", "t.conf:1: user: not a user name "
	    "([a-z_][a-z0-9_-]*, max 32)"),
	BAD("user = 1mg\n", "t.conf:1: user: not a user name "
	    "([a-z_][a-z0-9_-]*, max 32)"),
	BAD("user = -mg\n", "t.conf:1: user: not a user name "
	    "([a-z_][a-z0-9_-]*, max 32)"),
	BAD("user = m g\n", "t.conf:1: user: not a user name "
	    "([a-z_][a-z0-9_-]*, max 32)"),
	BAD("user =\n", "t.conf:1: user: not a user name "
	    "([a-z_][a-z0-9_-]*, max 32)"),
	GOODS("user = abcdefghijabcdefghijabcdefghijab\n", user,
	    "abcdefghijabcdefghijabcdefghijab"),
	BAD("user = abcdefghijabcdefghijabcdefghijabc\n", "t.conf:1: user: "
	    "not a user name ([a-z_][a-z0-9_-]*, max 32)"),

	/* web_uids */
	GOOD("web_uids = 5000\n", SIZE, n_web_uids, 1),
	GOOD("web_uids = 5000\n", U32, web_uids[0].hi, 5000),
	GOOD("web_uids = 1000-1999, 2500 ,3000-3000\n", SIZE, n_web_uids, 3),
	GOOD("web_uids = 1000-1999,2000-2999\n", U32, web_uids[1].lo, 2000),
	GOOD("web_uids = 0-4294967294\n", U32, web_uids[0].hi, 4294967294U),
	GOOD("web_uids =\n", SIZE, n_web_uids, 0),
	BAD("web_uids = 1000-1999,1500\n",
	    "t.conf:1: web_uids: overlapping ranges"),
	BAD("web_uids = 1000-1999,500-1000\n",
	    "t.conf:1: web_uids: overlapping ranges"),
	BAD("web_uids = 7,7\n", "t.conf:1: web_uids: overlapping ranges"),
	BAD("web_uids = 2000-1000\n", "t.conf:1: web_uids: reversed range"),
	BAD("web_uids = 1000,,2000\n", "t.conf:1: web_uids: empty list element"),
	BAD("web_uids = 1000,\n", "t.conf:1: web_uids: empty list element"),
	BAD("web_uids = 4294967295\n", "t.conf:1: web_uids: too large"),
	BAD("web_uids = 1000 - 1999\n", "t.conf:1: web_uids: not a number"),
	BAD("web_uids = -5\n", "t.conf:1: web_uids: not a number"),
	BAD("web_uids = 1-2-3\n", "t.conf:1: web_uids: not a number"),

	/* web_groups */
	GOOD("web_groups = root\n", SIZE, n_web_gids, 1),
	GOOD("web_groups = root\n", U32, web_gids[0], 0),
	GOOD("web_groups = 4242, root\n", U32, web_gids[0], 4242),
	GOOD("web_groups = 4242, root\n", SIZE, n_web_gids, 2),
	GOOD("web_groups =\n", SIZE, n_web_gids, 0),
	BAD("web_groups = nosuchgroup_mg\n",
	    "t.conf:1: web_groups: unknown group 'nosuchgroup_mg'"),
	BAD("web_groups = 0,root\n",
	    "t.conf:1: web_groups: group 'root' given twice"),
	BAD("web_groups = a b\n", "t.conf:1: web_groups: not a group name"),
	BAD("web_groups = -x\n", "t.conf:1: web_groups: not a group name"),
	BAD("web_groups = root,\n", "t.conf:1: web_groups: empty list element"),
	BAD("web_groups = 4294967295\n", "t.conf:1: web_groups: too large"),

	/* closed_ports */
	GOOD("closed_ports =\n", SIZE, n_closed_ports, 0),
	GOOD("closed_ports = 10024, 10025\n", U16, closed_ports[1], 10025),
	GOOD("closed_ports = 10024, 10025\n", SIZE, n_closed_ports, 2),
	BAD("closed_ports = 10024,10024\n",
	    "t.conf:1: closed_ports: port 10024 given twice"),
	BAD("closed_ports = 0\n", "t.conf:1: closed_ports: too small (1..65535)"),

	/* smtp_ports */
	GOOD("smtp_ports = 25\n", SIZE, n_smtp_ports, 1),
	GOOD("smtp_ports = 25,587, 65535\n", U16, smtp_ports[2], 65535),
	BAD("smtp_ports = 25,25\n", "t.conf:1: smtp_ports: port 25 given twice"),
	BAD("smtp_ports = 0\n", "t.conf:1: smtp_ports: too small (1..65535)"),
	BAD("smtp_ports = 65536\n",
	    "t.conf:1: smtp_ports: too large (1..65535)"),
	BAD("smtp_ports = smtp\n",
	    "t.conf:1: smtp_ports: not a number (1..65535)"),
	BAD("smtp_ports =\n",
	    "t.conf:1: smtp_ports: empty: at least one port is needed"),
	BAD("smtp_ports = 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17\n",
	    "t.conf:1: smtp_ports: too many ports (max 16)"),
	GOOD("smtp_ports = 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16\n", SIZE,
	    n_smtp_ports, 16),

	/* ports and numbers */
	GOOD("queue_port = 1\n", U16, queue_port, 1),
	GOOD("queue_port = 65535\n", U16, queue_port, 65535),
	BAD("queue_port = 0\n", "t.conf:1: queue_port: too small (1..65535)"),
	BAD("queue_port = 65536\n", "t.conf:1: queue_port: too large (1..65535)"),
	BAD("queue_port = -1\n", "t.conf:1: queue_port: not a number (1..65535)"),
	BAD("queue_port = 0x9dd\n",
	    "t.conf:1: queue_port: not a number (1..65535)"),
	BAD("queue_port =\n", "t.conf:1: queue_port: not a number (1..65535)"),
	GOOD("relay_port = 10025\n", U16, relay_port, 10025),
	BAD("relay_port = 70000\n", "t.conf:1: relay_port: too large (1..65535)"),
	BAD("relay_port = 2525\n",
	    "t.conf:1: relay_port: the same as queue_port (2525)"),
	BAD("relay_port = 3000\nqueue_port = 3000\n",
	    "t.conf:2: relay_port: the same as queue_port (3000)"),
	GOOD("queue_num = 0\n", U16, queue_num, 0),
	GOOD("queue_num = 65535\n", U16, queue_num, 65535),
	BAD("queue_num = 65536\n", "t.conf:1: queue_num: too large (0..65535)"),
	GOOD("queue_maxlen = 16\n", U32, queue_maxlen, 16),
	GOOD("queue_maxlen = 1048576\n", U32, queue_maxlen, 1048576),
	BAD("queue_maxlen = 15\n",
	    "t.conf:1: queue_maxlen: too small (16..1048576)"),
	BAD("queue_maxlen = 1048577\n",
	    "t.conf:1: queue_maxlen: too large (16..1048576)"),
	GOOD("flow_max = 1024\n", U32, flow_max, 1024),
	GOOD("flow_max = 16777216\n", U32, flow_max, 16777216),
	BAD("flow_max = 1023\n", "t.conf:1: flow_max: too small (1024..16777216)"),
	BAD("flow_max = 16777217\n",
	    "t.conf:1: flow_max: too large (1024..16777216)"),
	BAD("flow_max = 99999999999999999999999\n",
	    "t.conf:1: flow_max: too large (1024..16777216)"),

	/* marks */
	GOOD("mark_mask = 0xf0\nmark_allow = 0x10\nmark_reject = 0x20\n", U32,
	    mark_reject, 0x20),
	GOOD("mark_mask = 0x00f00000\nmark_allow = 4194304\n"
	    "mark_reject = 0x00800000\n", U32, mark_allow, 0x00400000),
	GOOD("mark_mask = 0xffffffff\n", U32, mark_mask, 0xffffffff),
	BAD("mark_mask = 0\n", "t.conf:1: mark_mask: too small (1..0xffffffff)"),
	BAD("mark_mask = 0x100000000\n",
	    "t.conf:1: mark_mask: too large (1..0xffffffff)"),
	BAD("mark_allow = 0\n", "t.conf:1: mark_allow: too small (1..0xffffffff)"),
	BAD("mark_reject = 0x\n",
	    "t.conf:1: mark_reject: not a number (1..0xffffffff)"),
	BAD("mark_allow = 0x00400000\n", "t.conf:1: mark_allow: 0x00400000 is "
	    "not inside mark_mask 0x00300000"),
	BAD("mark_mask = 0x00100000\n", "t.conf:1: mark_reject: 0x00200000 is "
	    "not inside mark_mask 0x00100000"),
	BAD("mark_reject = 0x00100000\n", "t.conf:1: mark_reject: 0x00100000 "
	    "overlaps mark_allow 0x00100000"),
	BAD("mark_reject = 0x00300000\n", "t.conf:1: mark_reject: 0x00300000 "
	    "overlaps mark_allow 0x00100000"),

	/* durations */
	GOOD("flow_ttl = 10s\n", U32, flow_ttl, 10),
	GOOD("flow_ttl = 10\n", U32, flow_ttl, 10),
	GOOD("flow_ttl = 30m\n", U32, flow_ttl, 1800),
	GOOD("flow_ttl = 1d\n", U32, flow_ttl, 86400),
	BAD("flow_ttl = 9s\n", "t.conf:1: flow_ttl: too small (10s..1d)"),
	BAD("flow_ttl = 2d\n", "t.conf:1: flow_ttl: too large (10s..1d)"),
	BAD("flow_ttl = 10x\n", "t.conf:1: flow_ttl: not a duration (10s..1d)"),
	BAD("flow_ttl = 1h30m\n",
	    "t.conf:1: flow_ttl: not a duration (10s..1d)"),
	GOOD("flow_uid_max = 0\n", U32, flow_uid_max, 0),
	GOOD("flow_uid_max = 500\n", U32, flow_uid_max, 500),
	BAD("flow_uid_max = 16777217\n",
	    "t.conf:1: flow_uid_max: too large (0..16777216)"),
	GOOD("syn_rate = 0\n", U32, syn_rate, 0),
	GOOD("syn_rate = 10000\n", U32, syn_rate, 10000),
	BAD("syn_rate = 10001\n", "t.conf:1: syn_rate: too large (0..10000)"),
	GOOD("syn_burst = 1\n", U32, syn_burst, 1),
	BAD("syn_burst = 0\n", "t.conf:1: syn_burst: too small (1..10000)"),
	GOOD("release_interval = 1\n", U32, release_interval, 1),
	GOOD("release_interval = 1h\n", U32, release_interval, 3600),
	BAD("release_interval = 0\n",
	    "t.conf:1: release_interval: too small (1s..1h)"),
	BAD("release_interval = 61m\n",
	    "t.conf:1: release_interval: too large (1s..1h)"),
	GOOD("alert_limit = 1\n", U32, alert_limit, 1),
	GOOD("alert_limit = 1000000\n", U32, alert_limit, 1000000),
	BAD("alert_limit = 0\n", "t.conf:1: alert_limit: too small (1..1000000)"),
	BAD("alert_limit = 1000001\n",
	    "t.conf:1: alert_limit: too large (1..1000000)"),
	GOOD("alert_period = 5m\n", U32, alert_period, 300),
	GOOD("alert_period = 1d\n", U32, alert_period, 86400),
	BAD("alert_period = 0\n", "t.conf:1: alert_period: too small (1s..1d)"),
	BAD("alert_period = 25h\n", "t.conf:1: alert_period: too large (1s..1d)"),

	/* notifications */
	GOODS("alert_command = /usr/local/bin/hook\n", alert_command,
	    "/usr/local/bin/hook"),
	GOODS("alert_command = none\n", alert_command, ""),
	GOODS("alert_command =\n", alert_command, ""),
	BAD("alert_command = hook.sh\n",
	    "t.conf:1: alert_command: not an absolute path"),
	GOOD("alert_command_timeout = 30s\n", U32, alert_command_timeout, 30),
	BAD("alert_command_timeout = 0\n",
	    "t.conf:1: alert_command_timeout: too small (1s..5m)"),
	BAD("alert_command_timeout = 6m\n",
	    "t.conf:1: alert_command_timeout: too large (1s..5m)"),
	GOODS("alert_mail = postmaster\n", alert_mail, "postmaster"),
	GOODS("alert_mail = ops+mg@example.net\n", alert_mail,
	    "ops+mg@example.net"),
	GOODS("alert_mail = none\n", alert_mail, ""),
	BAD("alert_mail = a@b, c@d\n", "t.conf:1: alert_mail: not an address "
	    "(local@domain: a-z 0-9 . _ + - = before the @, a domain name "
	    "after it)"),
	BAD("alert_mail = -oQ/tmp\n", "t.conf:1: alert_mail: not an address "
	    "(local@domain or a local name of a-z 0-9 . _ + - =)"),
	BAD("alert_mail = <a@example.net>\n", "t.conf:1: alert_mail: not an "
	    "address (local@domain: a-z 0-9 . _ + - = before the @, a domain "
	    "name after it)"),
	BAD("alert_mail = a@b\rBcc: x@y\n",
	    "t.conf:1: control character 0x0d"),
	GOOD("alert_mail_contact = off\n", INT, alert_mail_contact, 0),
	BAD("alert_mail_contact = yes\n",
	    "t.conf:1: alert_mail_contact: expected on or off"),
	GOOD("alert_mail_interval = 10m\n", U32, alert_mail_interval, 600),
	BAD("alert_mail_interval = 30s\n",
	    "t.conf:1: alert_mail_interval: too small (1m..1d)"),

	/* held mail caps and the queue's free-space floor: sizes */
	GOOD("held_messages_max = 1\n", U32, held_messages_max, 1),
	GOOD("held_messages_max = 10000000\n", U32, held_messages_max,
	    10000000),
	BAD("held_messages_max = 0\n",
	    "t.conf:1: held_messages_max: too small (1..10000000)"),
	BAD("held_messages_max = 10000001\n",
	    "t.conf:1: held_messages_max: too large (1..10000000)"),
	BAD("held_messages_max = 1k\n",
	    "t.conf:1: held_messages_max: not a number (1..10000000)"),
	GOOD("held_bytes_max = 1024\n", U64, held_bytes_max, 1024),
	GOOD("held_bytes_max = 1k\n", U64, held_bytes_max, 1024),
	GOOD("held_bytes_max = 100K\n", U64, held_bytes_max, 102400),
	GOOD("held_bytes_max = 20M\n", U64, held_bytes_max, 20971520),
	GOOD("held_bytes_max = 20m\n", U64, held_bytes_max, 20971520),
	GOOD("held_bytes_max = 3g\n", U64, held_bytes_max, 3221225472ULL),
	GOOD("held_bytes_max = 1024G\n", U64, held_bytes_max, 1ULL << 40),
	BAD("held_bytes_max = 1023\n",
	    "t.conf:1: held_bytes_max: too small (1k..1024G)"),
	BAD("held_bytes_max = 1025G\n",
	    "t.conf:1: held_bytes_max: too large (1k..1024G)"),
	BAD("held_bytes_max = 1T\n",
	    "t.conf:1: held_bytes_max: not a size (1k..1024G)"),
	BAD("held_bytes_max = 20 M\n",
	    "t.conf:1: held_bytes_max: not a size (1k..1024G)"),
	BAD("held_bytes_max = M\n",
	    "t.conf:1: held_bytes_max: not a size (1k..1024G)"),
	BAD("held_bytes_max = -1k\n",
	    "t.conf:1: held_bytes_max: not a size (1k..1024G)"),
	BAD("held_bytes_max =\n",
	    "t.conf:1: held_bytes_max: not a size (1k..1024G)"),
	BAD("held_bytes_max = 99999999999999999999G\n",
	    "t.conf:1: held_bytes_max: too large (1k..1024G)"),
	BAD("held_bytes_max = 18014398509481984G\n",
	    "t.conf:1: held_bytes_max: too large (1k..1024G)"),
	GOOD("queue_minfree = 0\n", U64, queue_minfree, 0),
	GOOD("queue_minfree = 2G\n", U64, queue_minfree, 2147483648ULL),
	BAD("queue_minfree = 2x\n",
	    "t.conf:1: queue_minfree: not a size (0..1024G)"),

	/* sockets */
	GOODS("policy_unix = /run/p.sock\n", policy_unix, "/run/p.sock"),
	GOODS("policy_unix = none\n", policy_unix, ""),
	GOODS("policy_unix =\n", policy_unix, ""),
	GOODS("policy_unix = \"\"\n", policy_unix, ""),
	BAD("policy_unix = p.sock\n", "t.conf:1: policy_unix: not an absolute "
	    "path"),
	BAD("policy_unix = /run/mailgov/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.sock\n",
	    "t.conf:1: policy_unix: too long for a socket path (max 107 bytes)"),
	GOODS("policy_tcp = 127.0.0.1:1\n", policy_tcp, "127.0.0.1:1"),
	GOODS("policy_tcp = localhost:10040\n", policy_tcp, "localhost:10040"),
	GOODS("policy_tcp = [::1]:10040\n", policy_tcp, "[::1]:10040"),
	GOODS("policy_tcp = [2001:db8::1]:65535\n", policy_tcp,
	    "[2001:db8::1]:65535"),
	GOODS("policy_tcp = none\n", policy_tcp, ""),
	GOODS("policy_tcp =\n", policy_tcp, ""),
	BAD("policy_tcp = 127.0.0.1:0\n",
	    "t.conf:1: policy_tcp: port is not a number in 1..65535"),
	BAD("policy_tcp = 127.0.0.1:65536\n",
	    "t.conf:1: policy_tcp: port is not a number in 1..65535"),
	BAD("policy_tcp = 127.0.0.1:\n",
	    "t.conf:1: policy_tcp: port is not a number in 1..65535"),
	BAD("policy_tcp = 127.0.0.1\n", "t.conf:1: policy_tcp: expected "
	    "host:port"),
	BAD("policy_tcp = :10040\n", "t.conf:1: policy_tcp: not a host name "
	    "or address"),
	BAD("policy_tcp = a/b:10040\n", "t.conf:1: policy_tcp: not a host name "
	    "or address"),
	BAD("policy_tcp = ::1:10040\n", "t.conf:1: policy_tcp: an IPv6 address "
	    "goes in brackets: [::1]:port"),
	BAD("policy_tcp = [::g]:10040\n", "t.conf:1: policy_tcp: not an IPv6 "
	    "address"),
	BAD("policy_tcp = [::1]10040\n", "t.conf:1: policy_tcp: expected "
	    "[address]:port"),
	BAD("policy_tcp = [::1\n", "t.conf:1: policy_tcp: expected "
	    "[address]:port"),
	GOODS("metrics_listen = 127.0.0.1:9464\n", metrics_listen,
	    "127.0.0.1:9464"),
	GOODS("metrics_listen = [::1]:9464\n", metrics_listen, "[::1]:9464"),
	GOODS("metrics_listen = none\n", metrics_listen, ""),
	BAD("metrics_listen = localhost:9464\n", "t.conf:1: metrics_listen: "
	    "not an IPv4 address (an IPv6 one goes in brackets: [::1]:port)"),
	BAD("metrics_listen = 127.0.0.256:9464\n", "t.conf:1: "
	    "metrics_listen: not an IPv4 address (an IPv6 one goes in "
	    "brackets: [::1]:port)"),
	BAD("metrics_listen = 127.0.0.1:0\n", "t.conf:1: metrics_listen: "
	    "port is not a number in 1..65535"),
	BAD("metrics_listen = 127.0.0.1\n", "t.conf:1: metrics_listen: "
	    "expected host:port"),
	GOOD("metrics_accounts = 0\n", U32, metrics_accounts, 0),
	GOOD("metrics_accounts = 20000\n", U32, metrics_accounts, 20000),
	BAD("metrics_accounts = 20001\n", "t.conf:1: metrics_accounts: too "
	    "large (0..20000)"),

	/* sync */
	GOOD("sync = normal\n", INT, sync_full, 0),
	GOOD("sync = full\n", INT, sync_full, 1),
	BAD("sync = fast\n", "t.conf:1: sync: expected full or normal"),
	BAD("sync = FULL\n", "t.conf:1: sync: expected full or normal"),

	/* budgets: a rate's windows, a cap's one value */
	GOOD("messages = 100/1h 1000/1d\n", U32, budget[BK_MESSAGES].n, 2),
	GOOD("messages = 5/1m\n", U32, budget[BK_MESSAGES].n, 1),
	GOOD("messages = 5/1m\n", U64, budget[BK_MESSAGES].w[0].period_us,
	    60000000),
	GOOD("messages = 5/1m\n", U64, budget[BK_MESSAGES].w[0].limit, 5),
	GOOD("messages = 1/1s 2/1m 3/1h 4/1d\n", U32, budget[BK_MESSAGES].n,
	    4),
	GOOD("messages = 1/1s 2/1m 3/1h 4/1d\n", U64,
	    budget[BK_MESSAGES].w[3].period_us, 86400000000ULL),
	GOOD("messages =\t 7/1d \t 3/1h\n", U64,
	    budget[BK_MESSAGES].w[1].limit, 3),
	GOOD("messages = 0/1h\n", U64, budget[BK_MESSAGES].w[0].limit, 0),
	GOOD("messages = 5/2h\n", U64, budget[BK_MESSAGES].w[0].burst, 0),
	BAD("messages = 0\n", "t.conf:1: messages: a rate needs a window: "
	    "N/DURATION, e.g. 100/1h"),
	BAD("messages = 100\n", "t.conf:1: messages: a rate needs a window: "
	    "N/DURATION, e.g. 100/1h"),
	BAD("messages = 5/0s\n",
	    "t.conf:1: messages: window too short (min 1s)"),
	BAD("messages = 5/1h 6/1h\n",
	    "t.conf:1: messages: two windows of the same length"),
	BAD("messages = 5/1h 6/60m\n",
	    "t.conf:1: messages: two windows of the same length"),
	BAD("messages = 1/1s 2/1m 3/1h 4/1d 5/7d\n",
	    "t.conf:1: messages: too many windows (max 4)"),
	BAD("messages = unlimited\n",
	    "t.conf:1: messages: unlimited is not allowed here"),
	BAD("messages =\n", "t.conf:1: messages: empty"),
	BAD("messages = lots\n", "t.conf:1: messages: not a number"),
	BAD("messages = 5/1h garbage\n", "t.conf:1: messages: not a number"),
	BAD("messages = 5/1h,6/1d\n",
	    "t.conf:1: messages: window is not a duration"),
	BAD("messages = 18446744073709551615/1h\n",
	    "t.conf:1: messages: too large"),
	BAD("messages = 5/1h/1h\n",
	    "t.conf:1: messages: window is not a duration"),
	BAD("messages = 123456789012345678901234567890123/1h\n",
	    "t.conf:1: messages: too large"),
	GOOD("recipients = 300/365d\n", U64,
	    budget[BK_RECIPIENTS].w[0].period_us, 365 * 86400000000ULL),
	BAD("recipients = 300/366d\n",
	    "t.conf:1: recipients: window too long (max 365d)"),
	GOOD("new_connections = 60/10s\n", U64,
	    budget[BK_NEW_CONN].w[0].limit, 60),
	BAD("new_connections = 60/x\n",
	    "t.conf:1: new_connections: window is not a duration"),
	GOOD("recipients_per_message = 20\n", U64,
	    budget[BK_RCPT_MSG].w[0].limit, 20),
	GOOD("recipients_per_message = 20\n", U64,
	    budget[BK_RCPT_MSG].w[0].period_us, 0),
	BAD("recipients_per_message = 20/1h\n",
	    "t.conf:1: recipients_per_message: a cap takes no window"),
	BAD("recipients_per_message = 20 30\n",
	    "t.conf:1: recipients_per_message: a cap takes one value"),
	GOOD("connections = 3\n", U64, budget[BK_CONN].w[0].limit, 3),
	BAD("connections = 3/1m\n", "t.conf:1: connections: a cap takes no "
	    "window"),
	BAD("connections = unlimited\n",
	    "t.conf:1: connections: unlimited is not allowed here"),

	/* the older spellings: one window each, over the defaults */
	GOOD("messages_per_hour = 10\n", U64, budget[BK_MESSAGES].w[0].limit,
	    10),
	GOOD("messages_per_hour = 10\n", U64,
	    budget[BK_MESSAGES].w[0].period_us, 3600000000ULL),
	GOOD("messages_per_hour = 10\n", U64, budget[BK_MESSAGES].w[1].limit,
	    1000),
	GOOD("messages_per_hour = 10/30s\n", U64,
	    budget[BK_MESSAGES].w[0].period_us, 30000000),
	GOOD("messages_per_hour = 0\n", U64, budget[BK_MESSAGES].w[0].limit,
	    0),
	BAD("messages_per_hour = unlimited\n",
	    "t.conf:1: messages_per_hour: unlimited is not allowed here"),
	BAD("messages_per_hour = ten\n",
	    "t.conf:1: messages_per_hour: not a number"),
	BAD("messages_per_hour =\n", "t.conf:1: messages_per_hour: empty"),
	GOOD("messages_per_day = 500\n", U64, budget[BK_MESSAGES].w[1].limit,
	    500),
	GOOD("messages_per_day = 500/12h\n", U64,
	    budget[BK_MESSAGES].w[1].period_us, 43200000000ULL),
	BAD("messages_per_day = 500/1h\n",
	    "t.conf:1: messages_per_day: two windows of the same length"),
	GOOD("messages_per_hour = 10\nmessages_per_day = 50\n", U64,
	    budget[BK_MESSAGES].w[1].limit, 50),
	GOOD("recipients_per_day = 300\n", U64,
	    budget[BK_RECIPIENTS].w[0].limit, 300),
	GOOD("recipients_per_day = 300\n", U64,
	    budget[BK_RECIPIENTS].w[0].period_us, 86400000000ULL),
	GOOD("connections_per_minute = 60\n", U64,
	    budget[BK_NEW_CONN].w[0].period_us, 60000000),
	BAD("messages = 5/1h\nmessages_per_day = 50\n",
	    "t.conf:2: messages_per_day: an older spelling of one messages "
	    "window, and messages is set too (line 1): keep messages"),
	BAD("connections_per_minute = 5\nnew_connections = 6/1m\n",
	    "t.conf:2: connections_per_minute: an older spelling of one "
	    "new_connections window, and new_connections is set too (line 2): "
	    "keep new_connections"),

	/* the cluster's budget store */
	GOOD("", INT, budget_store, STORE_LOCAL),
	GOOD("budget_store = redis\nredis = 127.0.0.1:6380\n", INT,
	    budget_store, STORE_REDIS),
	BAD("budget_store = shared\n",
	    "t.conf:1: budget_store: expected local or redis"),
	BAD("budget_store = redis\n", "t.conf:1: budget_store: redis needs "
	    "redis = HOST:PORT or unix:PATH"),
	GOODS("redis = unix:/run/redis/r.sock\n", redis,
	    "unix:/run/redis/r.sock"),
	GOODS("redis = [2001:db8::1]:6379\n", redis, "[2001:db8::1]:6379"),
	GOODS("redis = none\n", redis, ""),
	BAD("redis = unix:r.sock\n", "t.conf:1: redis: not an absolute path"),
	BAD("redis = redis.example\n", "t.conf:1: redis: expected host:port"),
	BAD("redis = r:99999\n",
	    "t.conf:1: redis: port is not a number in 1..65535"),
	GOODS("redis_password = s3cr#t!\n", redis_password, "s3cr#t!"),
	BAD("redis_password = two words\n", "t.conf:1: redis_password: only "
	    "printable ASCII without spaces"),
	BAD("redis_user = mg\n", "t.conf:1: redis_user: needs "
	    "redis_password too"),
	GOODS("redis_user = mg\nredis_password = x\n", redis_user, "mg"),
	GOODS("", redis_prefix, "mailgov:"),
	GOODS("redis_prefix = mg:eu-1:\n", redis_prefix, "mg:eu-1:"),
	BAD("redis_prefix = mg x\n", "t.conf:1: redis_prefix: contains a "
	    "space"),
	BAD("redis_prefix = mg*\n", "t.conf:1: redis_prefix: contains a "
	    "wildcard (* ? [ ] \\)"),
	BAD("redis_prefix = mg[1]\n", "t.conf:1: redis_prefix: contains a "
	    "wildcard (* ? [ ] \\)"),
	BAD("redis_prefix = mg\xc3\xa9\n", "t.conf:1: redis_prefix: contains a "
	    "control or non-ASCII character"),
	BAD("redis_prefix = \"\"\n", "t.conf:1: redis_prefix: empty: a "
	    "prefix keeps mailgov's keys apart"),
	GOOD("", U32, redis_timeout_ms, 500),
	GOOD("redis_timeout = 250ms\n", U32, redis_timeout_ms, 250),
	GOOD("redis_timeout = 2s\n", U32, redis_timeout_ms, 2000),
	BAD("redis_timeout = 5ms\n",
	    "t.conf:1: redis_timeout: too small (10ms..60s)"),
	BAD("redis_timeout = 2m\n",
	    "t.conf:1: redis_timeout: too large (10ms..60s)"),
	BAD("redis_timeout = fast\n",
	    "t.conf:1: redis_timeout: not a duration (10ms..60s)"),
	GOOD("cluster_nodes = 3\n", U32, cluster_nodes, 3),
	BAD("cluster_nodes = 0\n",
	    "t.conf:1: cluster_nodes: too small (1..1000)"),
};

/* check_case - parse one case over the defaults and look at the result */
static void
check_case(const struct ccase *t)
{
	struct config c;
	const char *at = (const char *)&c;
	char	 err[512], name[256], shown[80];
	uint64_t got = 0;
	size_t	 i, o = 0;
	int	 rc;

	/* the case's text, one line, for the test's name */
	for (i = 0; t->text[i] != '\0' && o + 4 < sizeof(shown); i++) {
		unsigned char ch = (unsigned char)t->text[i];

		if (ch == '\n')
			shown[o++] = '|';
		else if (ch < 0x20 || ch == 0x7f)
			shown[o++] = '?';
		else
			shown[o++] = (char)ch;
	}
	shown[o] = '\0';

	config_defaults(&c);
	strcpy(err, "(none)");
	rc = config_parse(&c, "t.conf", t->text, strlen(t->text), err,
	    sizeof(err));
	if (t->err != NULL) {
		snprintf(name, sizeof(name), "[%s] is refused", shown);
		T_OK(rc == -1, "%s", name);
		snprintf(name, sizeof(name), "[%s] error", shown);
		T_EQ_S(err, t->err, name);
		return;
	}
	snprintf(name, sizeof(name), "[%s] parses (err: %s)", shown, err);
	T_OK(rc == 0, "%s", name);
	switch (t->check) {
	case NONE:
		return;
	case U16:
		got = *(const uint16_t *)(const void *)(at + t->off);
		break;
	case U32:
		got = *(const uint32_t *)(const void *)(at + t->off);
		break;
	case U64:
		got = *(const uint64_t *)(const void *)(at + t->off);
		break;
	case INT:
		got = (uint64_t)*(const int *)(const void *)(at + t->off);
		break;
	case SIZE:
		got = *(const size_t *)(const void *)(at + t->off);
		break;
	case STR:
		snprintf(name, sizeof(name), "[%s] value", shown);
		T_EQ_S(at + t->off, t->s, name);
		return;
	}
	snprintf(name, sizeof(name), "[%s] value", shown);
	T_EQ_U(got, t->u, name);
}

/* test_defaults - config_defaults gives what the documentation says */
static void
test_defaults(void)
{
	struct config c;
	char	 buf[64];

	config_defaults(&c);
	T_EQ_S(c.path, "", "default path is empty");
	T_EQ_S(c.db, "/var/lib/mailgov/mailgov.db", "default db");
	T_EQ_S(c.user, "mailgov", "default user");
	T_EQ_S(c.rules_dir, "", "default rules_dir: none, the built-in "
	    "templates");
	T_EQ_U(c.n_web_uids, 1, "default web_uids: one range");
	T_EQ_U(c.web_uids[0].lo, 1000, "default web_uids low");
	T_EQ_U(c.web_uids[0].hi, 59999, "default web_uids high");
	T_EQ_U(c.n_web_gids, 0, "default web_groups empty");
	T_EQ_U(c.n_smtp_ports, 4, "default smtp_ports count");
	T_EQ_U(c.smtp_ports[0], 25, "default smtp_ports[0]");
	T_EQ_U(c.smtp_ports[1], 465, "default smtp_ports[1]");
	T_EQ_U(c.smtp_ports[2], 587, "default smtp_ports[2]");
	T_EQ_U(c.smtp_ports[3], 2525, "default smtp_ports[3]");
	T_EQ_U(c.queue_port, 2525, "default queue_port");
	T_EQ_U(c.relay_port, 10026, "default relay_port");
	T_EQ_U(c.queue_num, 0, "default queue_num");
	T_EQ_U(c.queue_maxlen, 4096, "default queue_maxlen");
	T_EQ_U(c.mark_mask, 0x00300000, "default mark_mask");
	T_EQ_U(c.mark_allow, 0x00100000, "default mark_allow");
	T_EQ_U(c.mark_reject, 0x00200000, "default mark_reject");
	T_EQ_U(c.flow_max, 1048576, "default flow_max");
	T_EQ_U(c.flow_ttl, 3600, "default flow_ttl");
	T_EQ_S(c.policy_unix, "/run/mailgov/policy.sock", "default policy_unix");
	T_EQ_S(c.policy_tcp, "127.0.0.1:10040", "default policy_tcp");
	T_EQ_S(c.control_socket, "/run/mailgov/control.sock",
	    "default control_socket");
	T_EQ_S(c.queue_config_dir, "/etc/postfix-mailgov",
	    "default queue_config_dir");
	T_EQ_S(c.postsuper, "/usr/sbin/postsuper", "default postsuper");
	T_EQ_S(c.postqueue, "/usr/sbin/postqueue", "default postqueue");
	T_EQ_U(c.release_interval, 1, "default release_interval");
	T_EQ_U(c.sync_full, 1, "default sync is full");
	T_EQ_U(c.alert_limit, 5, "default alert_limit");
	T_EQ_U(c.alert_period, 60, "default alert_period");
	T_EQ_S(c.alert_command, "", "default alert_command: none");
	T_EQ_U(c.alert_command_timeout, 10, "default alert_command_timeout");
	T_EQ_S(c.alert_mail, "", "default alert_mail: none");
	T_EQ_U(c.alert_mail_contact, 1, "default alert_mail_contact: on");
	T_EQ_U(c.alert_mail_interval, 3600, "default alert_mail_interval");
	T_EQ_S(c.metrics_listen, "", "default metrics_listen: off");
	T_EQ_U(c.metrics_accounts, 1000, "default metrics_accounts");
	T_EQ_U(c.held_messages_max, 1000, "default held_messages_max");
	T_EQ_U(c.held_bytes_max, 104857600, "default held_bytes_max (100M)");
	T_EQ_U(c.queue_minfree, 268435456, "default queue_minfree (256M)");
	T_EQ_S(budget_list_format(&c.budget[BK_MESSAGES], buf, sizeof(buf)),
	    "100/1h 1000/1d", "default messages");
	T_EQ_S(budget_list_format(&c.budget[BK_RECIPIENTS], buf, sizeof(buf)),
	    "2000/1d", "default recipients");
	T_EQ_S(budget_list_format(&c.budget[BK_RCPT_MSG], buf, sizeof(buf)),
	    "50", "default recipients_per_message");
	T_EQ_S(budget_list_format(&c.budget[BK_CONN], buf, sizeof(buf)),
	    "10", "default connections");
	T_EQ_S(budget_list_format(&c.budget[BK_NEW_CONN], buf, sizeof(buf)),
	    "30/1m", "default new_connections");
	T_EQ_U(c.budget[BK_MESSAGES].w[0].burst, 0,
	    "default burst is 0 (= limit)");
	T_OK(config_is_web_uid(&c, 1000) && config_is_web_uid(&c, 59999) &&
	    !config_is_web_uid(&c, 999) && !config_is_web_uid(&c, 60000) &&
	    !config_is_web_uid(&c, 0), "config_is_web_uid at the edges");
}

/* test_file_rules - bounds and all-or-nothing, which a table can't say */
static void
test_file_rules(void)
{
	struct config c;
	char	 err[256], *big;
	size_t	 i;
	int	 rc;

	/* a comment of exactly 1024 bytes is fine, with LF or CRLF */
	big = malloc(2 * 1024 * 1024 + 16);
	if (big == NULL)
		return;
	memset(big, ' ', 1024);
	big[0] = '#';
	memcpy(big + 1024, "\r\nqueue_num = 9\n", 17);
	config_defaults(&c);
	rc = config_parse(&c, "t.conf", big, strlen(big), err, sizeof(err));
	T_OK(rc == 0 && c.queue_num == 9, "a 1024-byte line is accepted");

	big[1024] = 'x';
	config_defaults(&c);
	rc = config_parse(&c, "t.conf", big, strlen(big), err, sizeof(err));
	T_OK(rc == -1, "a 1025-byte line is refused");
	T_EQ_S(err, "t.conf:1: line too long (max 1024 bytes)",
	    "1025-byte line error");

	/* a NUL inside a line is a control character, not an end */
	config_defaults(&c);
	rc = config_parse(&c, "t.conf", "queue_num = 1\0 junk\n", 20, err,
	    sizeof(err));
	T_OK(rc == -1, "NUL in a line is refused");
	T_EQ_S(err, "t.conf:1: control character 0x00", "NUL error");

	/* exactly 1 MiB of comments is fine, one byte more is not */
	for (i = 0; i < 1024 * 1024; i += 64) {
		memset(big + i, ' ', 63);
		big[i] = '#';
		big[i + 63] = '\n';
	}
	config_defaults(&c);
	rc = config_parse(&c, "t.conf", big, 1024 * 1024, err, sizeof(err));
	T_OK(rc == 0, "a 1 MiB file is accepted (%s)", rc ? err : "");
	big[1024 * 1024] = '\n';
	rc = config_parse(&c, "t.conf", big, 1024 * 1024 + 1, err, sizeof(err));
	T_OK(rc == -1, "a file over 1 MiB is refused");
	T_EQ_S(err, "t.conf: too large (max 1 MiB)", "over 1 MiB error");
	free(big);

	/* an error leaves the caller's config exactly as it was */
	config_defaults(&c);
	rc = config_parse(&c, "t.conf",
	    "queue_port = 3000\nweb_uids = 5-6\nfoo = 1\n", 42, err,
	    sizeof(err));
	T_OK(rc == -1 && c.queue_port == 2525 && c.n_web_uids == 1 &&
	    c.web_uids[0].lo == 1000, "a bad file changes nothing");

	/* a parse applies over what is already there */
	config_defaults(&c);
	c.queue_num = 77;
	rc = config_parse(&c, "t.conf", "queue_port = 3000\n", 18, err,
	    sizeof(err));
	T_OK(rc == 0 && c.queue_num == 77 && c.queue_port == 3000,
	    "a parse keeps keys it does not mention");

	/* an unknown key is shown printable and cut short */
	config_defaults(&c);
	rc = config_parse(&c, "t.conf",
	    "a\\bcccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
	    "ccccccccccc = 1\n", 81, err, sizeof(err));
	T_OK(rc == -1 && strstr(err, "unknown key 'a\\x5cb") != NULL &&
	    strstr(err, "...'") != NULL && strlen(err) < 100,
	    "an unknown key is cleaned and cut: %s", err);

	/* a tiny error buffer is not overrun, and NULL is allowed */
	config_defaults(&c);
	rc = config_parse(&c, "t.conf", "foo = 1\n", 8, err, 5);
	T_OK(rc == -1 && strcmp(err, "t.co") == 0, "error cut to errlen");
	rc = config_parse(&c, "t.conf", "foo = 1\n", 8, NULL, 0);
	T_OK(rc == -1, "no error buffer");
}

/* write_file - a scratch file with text in it; returns its path */
static char *
write_file(char *tmpl, const char *text, size_t len)
{
	int	 fd = mkstemp(tmpl);

	if (fd == -1)
		return NULL;
	if (write(fd, text, len) != (ssize_t)len) {
		close(fd);
		return NULL;
	}
	close(fd);
	return tmpl;
}

/* test_load - config_load on real, missing and odd files */
static void
test_load(void)
{
	struct config c;
	char	 err[512], want[512], tmpl[] = "/tmp/mailgov-test-XXXXXX";
	char	 dir[] = "/tmp/mailgov-test-XXXXXX", missing[600];
	char	*path, *big;
	int	 rc;

	path = write_file(tmpl, "# test\nqueue_port = 3000\r\n", 26);
	T_OK(path != NULL, "scratch file written");
	if (path == NULL)
		return;
	config_defaults(&c);
	rc = config_load(&c, path, 1, err, sizeof(err));
	T_OK(rc == 0 && c.queue_port == 3000, "config_load reads a file");
	T_EQ_S(c.path, path, "config_load records the path");
	unlink(path);

	config_defaults(&c);
	rc = config_load(&c, path, 0, err, sizeof(err));
	T_OK(rc == 0 && c.queue_port == 2525 && c.path[0] == '\0',
	    "a missing file is no error unless it must exist");
	rc = config_load(&c, path, 1, err, sizeof(err));
	snprintf(want, sizeof(want), "%s: %s", path, strerror(ENOENT));
	T_OK(rc == -1, "a missing file that must exist is an error");
	T_EQ_S(err, want, "missing file error");

	strcpy(tmpl, "/tmp/mailgov-test-XXXXXX");
	path = write_file(tmpl, "queue_num = 5\nbogus = 1\n", 24);
	if (path != NULL) {
		config_defaults(&c);
		rc = config_load(&c, path, 1, err, sizeof(err));
		snprintf(want, sizeof(want), "%s:2: unknown key 'bogus'", path);
		T_OK(rc == -1 && c.queue_num == 0,
		    "a bad file is refused whole");
		T_EQ_S(err, want, "file error names the path and line");
		unlink(path);
	}

	/* a file over 1 MiB is refused without reading it all in */
	big = malloc(1024 * 1024 + 100);
	if (big != NULL) {
		memset(big, '\n', 1024 * 1024 + 100);
		strcpy(tmpl, "/tmp/mailgov-test-XXXXXX");
		path = write_file(tmpl, big, 1024 * 1024 + 100);
		if (path != NULL) {
			rc = config_load(&c, path, 1, err, sizeof(err));
			snprintf(want, sizeof(want),
			    "%s: too large (max 1 MiB)", path);
			T_OK(rc == -1, "a file over 1 MiB is refused");
			T_EQ_S(err, want, "big file error");
			unlink(path);
		}
		free(big);
	}

	if (mkdtemp(dir) != NULL) {
		rc = config_load(&c, dir, 1, err, sizeof(err));
		snprintf(want, sizeof(want), "%s: not a regular file", dir);
		T_OK(rc == -1, "a directory is refused");
		T_EQ_S(err, want, "directory error");
		snprintf(missing, sizeof(missing), "%s/none.conf", dir);
		T_OK(config_load(&c, missing, 0, err, sizeof(err)) == 0,
		    "missing file in a directory, optional");
		rmdir(dir);
	}
}

/*
 * test_budget_lists - a kind's windows: budget_add's checks one by one,
 * budget_list_parse all or nothing, the older spellings' one window.
 */
static void
test_budget_lists(void)
{
	static const struct {
		int		 kind;
		const char	*in;
		int		 unl;
		const char	*out;	/* NULL: refused with err */
		const char	*err;
	} lists[] = {
		{ BK_MESSAGES, "100/1h 1000/1d", 0, "100/1h 1000/1d", NULL },
		{ BK_MESSAGES, "1000/1d 100/1h", 0, "1000/1d 100/1h", NULL },
		{ BK_MESSAGES, "unlimited", 1, "unlimited", NULL },
		{ BK_MESSAGES, "unlimited 5/1h", 1, NULL,
		  "unlimited stands alone" },
		{ BK_MESSAGES, "5/1h unlimited", 1, NULL,
		  "unlimited stands alone" },
		{ BK_MESSAGES, "0", 0, NULL,
		  "a rate needs a window: N/DURATION, e.g. 100/1h" },
		{ BK_MESSAGES, "5/0s", 0, NULL, "window too short (min 1s)" },
		{ BK_MESSAGES, "5/1d 6/24h", 0, NULL,
		  "two windows of the same length" },
		{ BK_MESSAGES, "1/1s 2/2s 3/3s 4/4s 5/5s", 0, NULL,
		  "too many windows (max 4)" },
		{ BK_MESSAGES, "", 0, NULL, "empty" },
		{ BK_MESSAGES, "   ", 0, NULL, "empty" },
		{ BK_MESSAGES, "5/1h \x01", 0, NULL, "not a number" },
		{ BK_MESSAGES, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 0, NULL,
		  "too large" },
		{ BK_RCPT_MSG, "50", 0, "50", NULL },
		{ BK_RCPT_MSG, "unlimited", 1, "unlimited", NULL },
		{ BK_RCPT_MSG, "50 60", 0, NULL, "a cap takes one value" },
		{ BK_CONN, "10/1m", 0, NULL, "a cap takes no window" },
		{ BK_NEW_CONN, "30/1m 500/1h", 0, "30/1m 500/1h", NULL },
	};
	struct budget b, keep, d;
	const char *err;
	char	 buf[160], name[160];
	size_t	 i;

	for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		snprintf(name, sizeof(name), "%s \"%s\"",
		    budget_kind_name(lists[i].kind), lists[i].in);
		memset(&b, 0x5a, sizeof(b));
		keep = b;
		err = NULL;
		if (lists[i].out != NULL) {
			T_OK(budget_list_parse(&b, lists[i].kind, lists[i].in,
			    lists[i].unl, &err) == 0, "%s parses (%s)", name,
			    err ? err : "");
			T_EQ_S(budget_list_format(&b, buf, sizeof(buf)),
			    lists[i].out, name);
			continue;
		}
		T_OK(budget_list_parse(&b, lists[i].kind, lists[i].in,
		    lists[i].unl, &err) == -1 && memcmp(&b, &keep,
		    sizeof(b)) == 0, "%s refused, nothing changed", name);
		T_EQ_S(err, lists[i].err, name);
	}

	/* the older spellings over the windows in force */
	b = *budget_default(BK_MESSAGES);
	d = b;
	T_OK(budget_old_apply(&b, "messages_per_hour", "5/1m", &d, 1, &err) ==
	    0, "messages_per_hour over the defaults");
	T_EQ_S(budget_list_format(&b, buf, sizeof(buf)), "5/1m 1000/1d",
	    "messages_per_hour: the first window only");
	T_OK(budget_old_apply(&b, "messages_per_hour", "unlimited", &d, 1,
	    &err) == 0, "messages_per_hour unlimited");
	T_EQ_S(budget_list_format(&b, buf, sizeof(buf)), "1000/1d",
	    "an unlimited window is dropped");
	T_OK(budget_old_apply(&b, "messages_per_hour", "7", &d, 1, &err) ==
	    0, "messages_per_hour again");
	T_EQ_S(budget_list_format(&b, buf, sizeof(buf)), "7/1h 1000/1d",
	    "the day window stays the second");
	T_OK(budget_old_apply(&b, "messages_per_hour", "default", &d, 1,
	    &err) == 0 && budget_equal(&b, &d), "default: the default's "
	    "window");
	T_OK(budget_old_apply(&b, "messages_per_day", "unlimited", &d, 1,
	    &err) == 0 && budget_old_apply(&b, "messages_per_hour",
	    "unlimited", &d, 1, &err) == 0 && budget_is_unlimited(&b),
	    "both windows dropped: unlimited");
	T_OK(budget_old_apply(&b, "messages_per_hour", "unlimited", &d, 0,
	    &err) == -1 && strcmp(err, "unlimited is not allowed here") == 0,
	    "dropping the last window refused where unlimited is");
	b = *budget_default(BK_MESSAGES);
	T_OK(budget_list_parse(&b, BK_MESSAGES, "1/1s 2/1m 3/1h", 0, &err) ==
	    0 && budget_old_apply(&b, "messages_per_hour", "5", &d, 1, &err)
	    == -1, "three windows: the older spelling refuses");
	T_OK(budget_equal(budget_default(BK_CONN), budget_default(BK_CONN)) &&
	    !budget_equal(budget_default(BK_CONN), budget_default(BK_RCPT_MSG)),
	    "budget_equal");
}

/*
 * test_deprecated - each older spelling in a file says the new one on
 * stderr, once, after the file parsed
 */
static void
test_deprecated(void)
{
	struct config c;
	char	 err[512], path[] = "/tmp/test_config.XXXXXX", got[2048];
	const char *conf = "messages_per_hour = 5/1m\n"
	    "recipients_per_day = 300\n";
	int	 fd, saved;
	ssize_t	 n;

	if ((fd = mkstemp(path)) == -1 || (saved = dup(2)) == -1) {
		T_OK(0, "a scratch file for stderr");
		return;
	}
	unlink(path);
	fflush(stderr);
	dup2(fd, 2);
	log_init("test_config", 1, 0);
	config_defaults(&c);
	T_OK(config_parse(&c, "t.conf", conf, strlen(conf), err,
	    sizeof(err)) == 0, "older spellings parse");
	config_defaults(&c);
	(void)config_parse(&c, "t.conf", "messages_per_day = x\n", 22, err,
	    sizeof(err));
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	n = pread(fd, got, sizeof(got) - 1, 0);
	close(fd);
	got[n > 0 ? n : 0] = '\0';
	T_OK(strstr(got, "t.conf:1: messages_per_hour is deprecated: write "
	    "messages = 5/1m 1000/1d\n") != NULL, "messages_per_hour: the "
	    "new spelling (%s)", got);
	T_OK(strstr(got, "t.conf:2: recipients_per_day is deprecated: write "
	    "recipients = 300/1d\n") != NULL, "recipients_per_day: the new "
	    "spelling");
	T_OK(strstr(got, "messages_per_day") == NULL,
	    "a file refused says nothing more");
}

/* test_budget_syntax - budget_parse and budget_format are inverses */
static void
test_budget_syntax(void)
{
	static const struct {
		const char *in, *out;
		uint64_t dflt;
	} rt[] = {
		{ "100", "100/1h", 3600 },
		{ "100/1h", "100/1h", 86400 },
		{ "10/30s", "10/30s", 3600 },
		{ "10/90s", "10/90s", 3600 },
		{ "10/120s", "10/2m", 3600 },
		{ "10/60m", "10/1h", 3600 },
		{ "10/24h", "10/1d", 3600 },
		{ "10/7d", "10/7d", 3600 },
		{ "10/25h", "10/25h", 3600 },
		{ "0/1m", "0/1m", 3600 },
		{ "unlimited", "unlimited", 3600 },
		{ "50", "50", 0 },
		{ "18446744073709551614/365d", "18446744073709551614/365d", 1 },
	};
	struct budget_limit l, l2;
	const char *err;
	char	 buf[64], name[128];
	size_t	 i;

	for (i = 0; i < sizeof(rt) / sizeof(rt[0]); i++) {
		err = NULL;
		snprintf(name, sizeof(name), "budget_parse(\"%s\")", rt[i].in);
		T_OK(budget_parse(rt[i].in, rt[i].dflt, 1, &l, &err) == 0,
		    "%s (%s)", name, err ? err : "");
		snprintf(name, sizeof(name), "budget_format(\"%s\")", rt[i].in);
		T_EQ_S(budget_format(&l, buf, sizeof(buf)), rt[i].out, name);
		snprintf(name, sizeof(name), "\"%s\" round trip", rt[i].in);
		T_OK(budget_parse(buf, rt[i].dflt, 1, &l2, &err) == 0 &&
		    l2.limit == l.limit && l2.period_us == l.period_us &&
		    l2.burst == l.burst, "%s", name);
	}
	T_OK(budget_parse("unlimited", 3600, 1, &l, &err) == 0 &&
	    l.limit == BUDGET_UNLIMITED && l.period_us == 3600000000ULL,
	    "unlimited has the default window");
	T_OK(budget_parse("unlimited", 3600, 0, &l, &err) == -1,
	    "unlimited refused when not allowed");
	T_OK(budget_parse("unlimited/1h", 3600, 1, &l, &err) == -1,
	    "unlimited takes no window");
	T_OK(budget_parse("10/1h/1h", 3600, 1, &l, &err) == -1,
	    "two windows refused");
	T_OK(budget_parse(NULL, 3600, 1, &l, NULL) == -1, "NULL refused");
	T_OK(budget_parse("123456789012345678901234567890/1h", 3600, 1, &l,
	    &err) == -1 && strcmp(err, "too large") == 0, "huge limit refused");
	l.limit = 5;
	l.period_us = 1500000;
	l.burst = 0;
	T_EQ_S(budget_format(&l, buf, sizeof(buf)), "5/2s",
	    "sub-second period shown rounded up");
	T_EQ_S(budget_format(&l, buf, 4), "5/2", "budget_format cut to len");
}

/* test_names - the kind and mode names, both ways */
static void
test_names(void)
{
	static const char *const kinds[BK_COUNT] = {
		"messages", "recipients", "new_connections",
		"recipients_per_message", "connections",
	};
	static const char *const modes[] = { "path", "hold", "defer",
	    "reject" };
	enum budget_kind ok;
	unsigned win;
	uint64_t period;
	int	 k;

	for (k = 0; k < BK_COUNT; k++) {
		T_EQ_S(budget_kind_name(k), kinds[k], "budget_kind_name");
		T_EQ_U(budget_kind_from_name(kinds[k]), k,
		    "budget_kind_from_name");
		T_EQ_U(budget_kind_is_cap(k), k == BK_RCPT_MSG || k == BK_CONN,
		    kinds[k]);
		T_EQ_U(budget_kind_is_cap(k), k >= BK_RATES,
		    "the rates come first");
	}
	T_EQ_U(budget_kind_from_name("messages_per_hour"), (uint64_t)-1,
	    "an older spelling is no kind name");
	T_EQ_U(budget_kind_from_name(NULL), (uint64_t)-1, "NULL kind name");
	T_OK(budget_old_from_name("messages_per_day", &ok, &win, &period) ==
	    0 && ok == BK_MESSAGES && win == 1 && period == 86400,
	    "messages_per_day: the second messages window, a day");
	T_OK(budget_old_from_name("connections_per_minute", &ok, &win,
	    &period) == 0 && ok == BK_NEW_CONN && win == 0 && period == 60,
	    "connections_per_minute: new_connections");
	T_OK(budget_old_from_name("messages", &ok, &win, &period) == -1,
	    "messages is no older spelling");
	T_EQ_S(budget_kind_name(BK_COUNT), "?", "kind out of range");
	T_EQ_U(MODE_PATH, 0, "MODE_PATH is 0");
	for (k = 0; k < 4; k++) {
		T_EQ_S(over_mode_name(k), modes[k], "over_mode_name");
		T_EQ_U(over_mode_from_name(modes[k]), k, "over_mode_from_name");
	}
	T_EQ_U(over_mode_from_name("Hold"), (uint64_t)-1, "unknown mode");
	T_EQ_S(over_mode_name(99), "?", "mode out of range");
}

/* test_uid_ranges - the public parser, including its limit */
static void
test_uid_ranges(void)
{
	struct uid_range r[CONFIG_MAX_RANGES];
	char	 many[2048];
	const char *err = NULL;
	size_t	 n = 99, i, o = 0;

	T_OK(uid_ranges_parse("1000-1999,2500", r, 2, &n, &err) == 0 &&
	    n == 2 && r[0].lo == 1000 && r[0].hi == 1999 && r[1].lo == 2500 &&
	    r[1].hi == 2500, "uid_ranges_parse two ranges");
	T_OK(uid_ranges_parse("1,2,3", r, 2, &n, &err) == -1 &&
	    strcmp(err, "too many ranges") == 0, "uid_ranges_parse max");
	T_OK(uid_ranges_parse("", r, 2, &n, &err) == 0 && n == 0,
	    "uid_ranges_parse empty");
	for (i = 0; i <= CONFIG_MAX_RANGES; i++)
		o += (size_t)snprintf(many + o, sizeof(many) - o, "%s%zu",
		    i ? "," : "", i * 10);
	T_OK(uid_ranges_parse(many, r, CONFIG_MAX_RANGES, &n, &err) == -1 &&
	    strcmp(err, "too many ranges") == 0,
	    "65 ranges refused at CONFIG_MAX_RANGES");
	many[strlen(many) - 4] = '\0';		/* drop ",640" */
	T_OK(uid_ranges_parse(many, r, CONFIG_MAX_RANGES, &n, &err) == 0 &&
	    n == CONFIG_MAX_RANGES, "64 ranges accepted");
}

/*
 * test_example - examples/mailgov.conf parses, and with every "#key = "
 * line uncommented gives exactly the defaults (rules_dir aside, which
 * names the installed copy of the built-in templates).
 */
static void
test_example(void)
{
	struct config dflt, c;
	char	 err[512], *buf, *out;
	size_t	 len = 0, o = 0, i;
	FILE	*f;

	if ((f = fopen("examples/mailgov.conf", "r")) == NULL) {
		T_OK(0, "examples/mailgov.conf readable from the top directory");
		return;
	}
	buf = malloc(65536);
	out = malloc(65536);
	if (buf == NULL || out == NULL) {
		fclose(f);
		free(buf);
		free(out);
		return;
	}
	len = fread(buf, 1, 65535, f);
	fclose(f);
	config_defaults(&dflt);
	c = dflt;
	T_OK(config_parse(&c, "mailgov.conf", buf, len, err, sizeof(err)) == 0,
	    "the example parses as shipped");
	/* drop the '#' of lines like "#key = value" (not "# text") */
	for (i = 0; i < len; i++) {
		if ((i == 0 || buf[i - 1] == '\n') && buf[i] == '#' &&
		    i + 1 < len && buf[i + 1] >= 'a' && buf[i + 1] <= 'z')
			continue;
		out[o++] = buf[i];
	}
	c = dflt;
	err[0] = '\0';
	T_OK(config_parse(&c, "mailgov.conf", out, o, err, sizeof(err)) == 0,
	    "the example parses uncommented (%s)", err);
	memcpy(c.rules_dir, dflt.rules_dir, sizeof(c.rules_dir));
	T_OK(memcmp(&c, &dflt, sizeof(c)) == 0,
	    "the example's values are the defaults");
	/* each key at most once (else an error above), so 53 lines = all
	 * (the older budget spellings are not shown: they are deprecated) */
	for (i = 0, len = 0; i < o; i++)
		if ((i == 0 || out[i - 1] == '\n') && out[i] >= 'a' &&
		    out[i] <= 'z')
			len++;
	T_EQ_U(len, 53, "the example shows every key");
	free(buf);
	free(out);
}

int
main(void)
{
	size_t	 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_case(&cases[i]);
	test_defaults();
	test_file_rules();
	test_load();
	test_budget_syntax();
	test_budget_lists();
	test_deprecated();
	test_names();
	test_uid_ranges();
	test_example();
	return t_done();
}
