/*
 * config - /etc/mailgov/mailgov.conf: "key = value" lines, '#' comments,
 * blank lines.  Every key is known and documented (docs/mailgov.conf.md,
 * examples/mailgov.conf), every value bounded; an unknown key, a repeated
 * key or a bad value is an error naming the file, line and key.
 */
#ifndef MAILGOV_CONFIG_H
#define MAILGOV_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "budget.h"

#define CONFIG_PATH	SYSCONFDIR "/mailgov/mailgov.conf"
#define CONFIG_DB	"/var/lib/mailgov/mailgov.db"

#define CONFIG_MAX_RANGES	64
#define CONFIG_MAX_GROUPS	64
#define CONFIG_MAX_PORTS	16
#define CONFIG_PATHLEN		256
#define CONFIG_ADDRLEN		256	/* an address (addr.h) and NUL */
#define CONFIG_SECRETLEN	128	/* redis_password, redis_user */
#define CONFIG_PREFIXLEN	64	/* redis_prefix */

/*
 * The budget kinds every account has.  The rates come first: each has
 * one or more windows (messages 100/1h 1000/1d), and their engine state
 * is kept per window (store_usage.tat).  The caps after them limit a
 * count at one time and have one value and no window.  The numbers are
 * stored in the database.
 */
enum budget_kind {
	BK_MESSAGES = 0,	/* messages, over each window */
	BK_RECIPIENTS,		/* recipients, over each window */
	BK_NEW_CONN,		/* new SMTP connections, over each window */
	BK_RCPT_MSG,		/* recipients per message (a cap) */
	BK_CONN,		/* concurrent SMTP connections (a cap) */
	BK_COUNT
};
#define BK_RATES	3	/* kinds below this are rates */

/*
 * At most four windows per rate: every window is asked on every message
 * or SYN, and each is a fixed slot of each account's usage row, redo
 * record and memory.  Four is a minute, an hour, a day and a week, more
 * than any hosting plan asks for, and keeps that state fixed-size.
 */
#define BUDGET_WINDOWS_MAX	4

/*
 * budget - one kind's limits: n windows, in the order written (the
 * engine state follows each window by its position).  A cap has one,
 * with period_us 0.  Unlimited is one window of limit BUDGET_UNLIMITED.
 */
struct budget {
	unsigned		n;	/* 1..BUDGET_WINDOWS_MAX */
	struct budget_limit	w[BUDGET_WINDOWS_MAX];
};

/* Over-budget behaviour. MODE_PATH: hold on the queue, defer on main. */
enum over_mode {
	MODE_PATH = 0,
	MODE_HOLD,
	MODE_DEFER,
	MODE_REJECT,
};

struct uid_range {
	uint32_t	lo, hi;		/* inclusive */
};

struct config {
	char		path[CONFIG_PATHLEN];	/* file it came from, or "" */
	char		db[CONFIG_PATHLEN];
	char		user[64];		/* mailgovd drops to this user */
	char		rules_dir[CONFIG_PATHLEN];

	/* who is a web UID */
	struct uid_range web_uids[CONFIG_MAX_RANGES];
	size_t		n_web_uids;
	uint32_t	web_gids[CONFIG_MAX_GROUPS];	/* resolved at load */
	size_t		n_web_gids;

	/* kernel path */
	uint16_t	smtp_ports[CONFIG_MAX_PORTS];
	size_t		n_smtp_ports;
	uint16_t	queue_port;		/* intermediate queue, 2525 */
	uint16_t	relay_port;		/* main instance's relay port */
	uint16_t	closed_ports[CONFIG_MAX_PORTS];	/* reset for web users
						 * too (rules_closed_ports) */
	size_t		n_closed_ports;
	uint16_t	queue_num;		/* NFQUEUE number */
	uint32_t	queue_maxlen;
	uint32_t	mark_mask, mark_allow, mark_reject;
	uint32_t	flow_max;
	uint32_t	flow_ttl;		/* seconds */
	uint32_t	flow_uid_max;		/* one UID's share; 0: auto */
	uint32_t	syn_rate, syn_burst;	/* per UID, before NFQUEUE;
						 * rate 0: no limit */

	/* queue path */
	char		policy_unix[CONFIG_PATHLEN];	/* "" disables */
	char		policy_tcp[CONFIG_PATHLEN];	/* host:port, "" disables */
	char		control_socket[CONFIG_PATHLEN];
	char		queue_config_dir[CONFIG_PATHLEN]; /* /etc/postfix-mailgov */
	char		postsuper[CONFIG_PATHLEN];
	char		postqueue[CONFIG_PATHLEN];
	char		postcat[CONFIG_PATHLEN];
	uint32_t	release_interval;	/* seconds */
	int		sync_full;		/* fsync every group commit */
	int		redo_log;		/* group commits go to the redo
						 * log, SQLite behind (redo.h) */

	/* held mail: past either cap an account's next message is deferred
	 * (4xx) instead of held; the queue instance's free-space floor */
	uint32_t	held_messages_max;	/* per account */
	uint64_t	held_bytes_max;		/* per account */
	uint64_t	queue_minfree;		/* bytes; setup writes it */

	/* Prometheus metrics (mailgovd's metrics module) */
	char		metrics_listen[CONFIG_PATHLEN];	/* address:port, ""
						 * off */
	uint32_t	metrics_accounts;	/* accounts with series of
						 * their own */

	/* alerts: at most alert_limit lines per account per alert_period */
	uint32_t	alert_limit;
	uint32_t	alert_period;		/* seconds */

	/* notifications (mailgovd's notify.h) */
	char		alert_command[CONFIG_PATHLEN];	/* "": none */
	uint32_t	alert_command_timeout;	/* seconds */
	char		alert_mail[CONFIG_ADDRLEN];	/* "": none */
	int		alert_mail_contact;	/* the account's contact too */
	uint32_t	alert_mail_interval;	/* seconds between reports */

	/* budgets for the default account, auto accounts and missing rows */
	struct budget	budget[BK_COUNT];

	/* cluster: one budget per account across nodes (docs/cluster.md) */
	int		budget_store;		/* enum budget_store */
	char		redis[CONFIG_PATHLEN];	/* host:port, unix:/path, "" */
	char		redis_password[CONFIG_SECRETLEN];
	char		redis_user[CONFIG_SECRETLEN];	/* "": "default" */
	char		redis_prefix[CONFIG_PREFIXLEN];	/* key prefix */
	uint32_t	redis_timeout_ms;
	uint32_t	cluster_nodes;		/* fallback share: limit/N */
};

enum budget_store {
	STORE_LOCAL = 0,	/* this node's budgets only */
	STORE_REDIS,		/* shared through Redis (cluster.h) */
};

/* config_defaults - fill c with the documented defaults */
void	config_defaults(struct config *c);

/*
 * config_load - read path over the defaults already in c.  A missing file
 * is an error only when must_exist.  On error returns -1 and writes a
 * one-line message ("mailgov.conf:12: unknown key 'foo'") into err.
 */
int	config_load(struct config *c, const char *path, int must_exist,
	    char *err, size_t errlen);

/* config_parse - the same, from a buffer (used by tests and the fuzzer) */
int	config_parse(struct config *c, const char *name, const char *buf,
	    size_t len, char *err, size_t errlen);

/* config_is_web_uid - is uid in a web range (groups are checked apart) */
int	config_is_web_uid(const struct config *c, uint32_t uid);

/*
 * config_in_web_group - does uid's login belong to a web group, as its
 * primary group (passwd) or as a member (group: getgrouplist)?  Asks the
 * passwd and group databases each time: cache the answer on a hot path.
 * A process's own group (after sg or newgrp) is the caller's to check.
 * Root, the daemon's user and Postfix's ("postfix") never are members.
 */
int	config_in_web_group(const struct config *c, uint32_t uid);

/*
 * config_web_group_members - every UID outside web_uids whose login
 * belongs to a web group (primary group, or listed as a member), read from
 * the passwd and group databases now, but root, the daemon's user and
 * Postfix's; sorted, adjacent UIDs merged into ranges.  *out is malloc'd,
 * NULL when there is none.  Returns 0, or -1 when out of memory.
 */
int	config_web_group_members(const struct config *c,
	    struct uid_range **out, size_t *n);

/*
 * budget_parse - "N", "N/DURATION" (10/30s, 100/1h), or "unlimited" when
 * allow_unlimited.  dflt_period is used when no window is given; 0 marks
 * a cap (budget_kind_period of a cap kind): no window is accepted and
 * period_us is 0.  Windows are 1s..365d.  Returns 0 or -1 with *err set.
 */
int	budget_parse(const char *s, uint64_t dflt_period_s, int allow_unlimited,
	    struct budget_limit *out, const char **err);

/* budget_format - the inverse of budget_parse, into buf ("N" for a cap) */
char	*budget_format(const struct budget_limit *, char *buf, size_t len);

/*
 * budget_add - one VALUE of kind k into b (b->n 0 to start): a rate
 * takes N/DURATION windows, up to BUDGET_WINDOWS_MAX of distinct
 * lengths; a cap takes one N; "unlimited" (when allow_unlimited) stands
 * alone.  Returns 0 or -1 with *err set; b is then unchanged.
 */
int	budget_add(struct budget *b, enum budget_kind k, const char *v,
	    int allow_unlimited, const char **err);
/* budget_list_parse - budget_add for each word of s (space-separated) */
int	budget_list_parse(struct budget *b, enum budget_kind k, const char *s,
	    int allow_unlimited, const char **err);
/* budget_list_format - the windows separated by spaces, into buf */
char	*budget_list_format(const struct budget *, char *buf, size_t len);
/* budget_is_unlimited - nothing limits this kind */
int	budget_is_unlimited(const struct budget *);
/* budget_equal - the same windows in the same order */
int	budget_equal(const struct budget *, const struct budget *);

/* budget_kind_name / budget_kind_from_name - "messages", ... */
const char *budget_kind_name(enum budget_kind);
int	budget_kind_from_name(const char *);	/* -1 if unknown */
int	budget_kind_is_cap(enum budget_kind);	/* rcpt/msg and concurrent */
/* budget_default - the built-in default of kind k (docs/mailgov.conf.md) */
const struct budget *budget_default(enum budget_kind);

/*
 * The older spellings, one window each: messages_per_hour (the first
 * messages window), messages_per_day (the second), recipients_per_day
 * and connections_per_minute (the first of recipients, new_connections).
 * budget_old_from_name - is name one: its kind, window and natural
 * period (used when a value has no window of its own); -1 if not.
 * budget_old_apply - put value v of older spelling name into b, which
 * holds the kind's windows in force: a window of "unlimited" (or "", the
 * default window dflt holds at that place) ... see config.c.
 */
int	budget_old_from_name(const char *name, enum budget_kind *k,
	    unsigned *win, uint64_t *period_s);
int	budget_old_apply(struct budget *b, const char *name, const char *v,
	    const struct budget *dflt, int allow_unlimited, const char **err);

const char *over_mode_name(enum over_mode);
int	over_mode_from_name(const char *);	/* -1 if unknown */

/* uid_ranges_parse - "1000-1999,2500" into out; overlap is an error */
int	uid_ranges_parse(const char *s, struct uid_range *out, size_t max,
	    size_t *n, const char **err);

#endif
