/*
 * ctl - what mailgovctl's command modules (src/ctl_*.c) share: the parsed
 * global options, the lazily opened store, and output helpers that print
 * either plain text or JSON (--json).  Every command returns an exit
 * status; errors are one line on stderr, "mailgovctl: ...".
 */
#ifndef MAILGOV_CTL_H
#define MAILGOV_CTL_H

#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "store.h"

/* sysexits-style statuses mailgovctl uses */
#define CTL_OK		0
#define CTL_ERR		1	/* the operation failed (unknown account, ...) */
#define CTL_USAGE	2	/* bad command line */
/* and those of "status" (src/ctl/status.c) */
#define CTL_STATUS_PROBLEM	1	/* something is wrong: "problem:" */
#define CTL_STATUS_DOWN		3	/* mailgovd is not running */
#define CTL_STATUS_DENIED	4	/* not root */

struct ctl {
	struct config	 cfg;
	const char	*db_path;	/* --db, else cfg.db */
	const char	*config_path;	/* --config, else the default */
	int		 json;		/* --json */
	int		 dry_run;	/* --dry-run where a command has it */
	struct store	*store;		/* opened by ctl_store() */
};

struct ctl_cmd {
	const char	*name;
	int		(*fn)(struct ctl *, int argc, char **argv);
	const char	*usage;		/* one line per subcommand */
};

/* ctl_store - the store, opened (and created) on first use; NULL = error
 * already printed */
struct store *ctl_store(struct ctl *);
/* ctl_err - print "mailgovctl: ..." to stderr; returns CTL_ERR */
int	ctl_err(const char *, ...) __attribute__((format(printf, 1, 2)));
/* ctl_usage_err - print the message and the command's usage; CTL_USAGE */
int	ctl_usage_err(const char *cmd, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
/* ctl_json_str - print s as a JSON string literal (quoted, escaped) */
void	ctl_json_str(FILE *, const char *s);

/*
 * The command table, in src/ctl/main.c: one line per command,
 * ended by a NULL name.  `mailgovctl --help` prints every usage line and
 * `mailgovctl CMD --help` the command's own.  The main program strips
 * "--json" anywhere in a command's arguments (before "--") into ctl->json
 * and answers "CMD --help" itself, so commands never see either.
 */
extern const struct ctl_cmd ctl_cmds[];

/* ctl_cmd_find - the table entry named name, or NULL */
const struct ctl_cmd *ctl_cmd_find(const char *name);
/* ctl_cmd_usage - print the command's usage lines, "usage: mailgovctl ..." */
void	ctl_cmd_usage(FILE *, const struct ctl_cmd *);

/* ctl_store_read - the store for commands that only read: an existing
 * file, never created; NULL = error already printed */
struct store *ctl_store_read(struct ctl *);

/* ctl_fail - print store_error() of the open store as the one error line,
 * roll back the transaction if one is open (in_tx), return CTL_ERR */
int	ctl_fail(struct ctl *, int in_tx);

/*
 * ctl_opt - is argv[*i] the option name ("--uid")?  Takes its value from
 * "--uid=V" or the next argument (advancing *i).  Returns 1 with *val set,
 * 0 when argv[*i] is something else, -1 (usage error printed, *val NULL)
 * when the value is missing.  For a flag without value pass val = NULL.
 */
int	ctl_opt(const char *cmd, int argc, char **argv, int *i,
	    const char *name, const char **val);

/* ctl_time - unix seconds as "YYYY-MM-DD HH:MM:SS" local time, or "never" */
const char *ctl_time(int64_t, char *buf, size_t len);
/* ctl_clean - an untrusted string made printable for a text table */
const char *ctl_clean(const char *, char *buf, size_t len);

/* Aligned plain-text tables: add rows of ncols strings (copied), print
 * once; columns are padded to their widest cell. */
struct ctl_table;
struct ctl_table *ctl_table_new(size_t ncols, ...);	/* the headers */
void	ctl_table_row(struct ctl_table *, ...);		/* ncols cells */
/* ctl_table_print - print and free */
void	ctl_table_print(struct ctl_table *, FILE *);
void	ctl_table_free(struct ctl_table *);

/* ctl_xstrdup / ctl_xasprintf - allocate or exit with a one-line error */
char	*ctl_xstrdup(const char *);
char	*ctl_xasprintf(const char *, ...) __attribute__((format(printf, 1, 2)));
void	*ctl_xreallocarray(void *, size_t, size_t);

/* Budgets as the account commands show them (src/ctl/budget.c). */
/* ctl_budget_of - the windows in force: the account's rows, else the
 * configured default */
const struct budget *ctl_budget_of(const struct ctl *,
	    const struct store_account *, int kind);
/* ctl_budget_json - a "budgets" object value: kind -> ctl_kind_json */
void	ctl_budget_json(FILE *, const struct ctl *,
	    const struct store_account *);
/* ctl_budget_text - the budget table of one account */
void	ctl_budget_text(FILE *, const struct ctl *,
	    const struct store_account *);
/* ctl_window_json - one window as an open object: {"limit":N,
 * "period":S,"burst":N,"text":"100/1h" -- the caller adds fields and '}' */
void	ctl_window_json(FILE *, const struct budget_limit *);
/*
 * ctl_kind_json - one kind as an open object (the caller adds '}'):
 * {"text":"100/1h 1000/1d","source":S, then a cap's "limit":N|null or a
 * rate's "windows":[...] (empty when unlimited).  remaining, if not
 * NULL, ends each window object instead of a bare '}'.
 */
void	ctl_kind_json(FILE *, const struct budget *, int kind,
	    const char *source, void (*remaining)(FILE *, int kind,
	    unsigned win, const struct budget_limit *, void *), void *arg);

/*
 * ctl_rules_state - are mailgov's rules loaded, and are they the rules
 * "rules install" would load now (src/ctl/rules.c)?  One of CTL_RULES_*,
 * with a line saying why in why.
 */
#define CTL_RULES_OK		0
#define CTL_RULES_MISSING	1
#define CTL_RULES_DIFFER	2
#define CTL_RULES_UNKNOWN	3	/* could not tell */
int	ctl_rules_state(struct ctl *, char *why, size_t whylen);

/* mailgovd's control socket (src/ctl/daemon.c). */
#define CTL_DAEMON_UP		0
#define CTL_DAEMON_DOWN		1	/* no socket, or nobody on it */
#define CTL_DAEMON_DENIED	2	/* not root or mailgovd's user */
#define CTL_DAEMON_ERROR	3
/* ctl_daemon_connect - connect to control_socket: CTL_DAEMON_UP with *fd,
 * else one of the others with a line in why */
int	ctl_daemon_connect(const struct ctl *, int *fd, char *why,
	    size_t len);
/* ctl_daemon_ask - send cmd, return the answer without its empty line
 * (malloc'd), or NULL with why (also for an "error=" answer) */
char	*ctl_daemon_ask(int fd, const char *cmd, char *why, size_t len);
/* ctl_kv - the value of "key=" on a line of its own in text, into val;
 * NULL when absent.  ctl_kv_field - the same for " key=" within one
 * line of space-separated fields. */
const char *ctl_kv(const char *text, const char *key, char *val,
	    size_t len);
const char *ctl_kv_field(const char *line, const char *key, char *val,
	    size_t len);

/* Where Postfix takes mail over TCP (src/ctl/postfix.c), for the rules. */
struct ctl_port {
	uint16_t	 port;
	char		 why[512];	/* "127.0.0.1:10025 in .../master.cf" */
};
/*
 * ctl_postfix_listeners - the ports of every instance's mail listeners
 * (smtpd, postscreen, qmqpd) and content filters, read with postconf; *v
 * is malloc'd.  0, also when Postfix is not installed; -1 when a
 * configuration could not be read (a warning printed, *v has the rest).
 */
int	ctl_postfix_listeners(const struct config *, struct ctl_port **v,
	    size_t *n);
/* ctl_closed_text - "10025 (smtpd ...), 10026 (relay_port)": every port
 * the rules close to web users and why (malloc'd) */
char	*ctl_closed_text(const struct config *, const struct ctl_port *,
	    size_t);

/* Command entry points, one per src/ctl_*.c module. */
int	ctl_account(struct ctl *, int, char **);
int	ctl_budget(struct ctl *, int, char **);
int	ctl_usage(struct ctl *, int, char **);
int	ctl_reset(struct ctl *, int, char **);
int	ctl_block(struct ctl *, int, char **);
int	ctl_unblock(struct ctl *, int, char **);
int	ctl_events(struct ctl *, int, char **);
int	ctl_rules(struct ctl *, int, char **);
int	ctl_hold(struct ctl *, int, char **);
int	ctl_postfix(struct ctl *, int, char **);
int	ctl_status(struct ctl *, int, char **);
int	ctl_top(struct ctl *, int, char **);

#endif
