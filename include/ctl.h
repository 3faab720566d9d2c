/*
 * ctl - what mailgovctl's command modules (src/ctl_*.c) share: the parsed
 * global options, the lazily opened store, and output helpers that print
 * either plain text or JSON (--json).  Every command returns an exit
 * status; errors are one line on stderr, "mailgovctl: ...".
 */
#ifndef MAILGOV_CTL_H
#define MAILGOV_CTL_H

#include <stdio.h>

#include "config.h"
#include "store.h"

/* sysexits-style statuses mailgovctl uses */
#define CTL_OK		0
#define CTL_ERR		1	/* the operation failed (unknown account, ...) */
#define CTL_USAGE	2	/* bad command line */

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

#endif
