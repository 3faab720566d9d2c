/*
 * mailgovctl - the administrator's tool: accounts, budgets, usage, the
 * hold queue, the rules and the Postfix setup.  This file parses the
 * global options, reads the configuration and hands the rest of the
 * command line to one entry of the command table.
 *
 * Trusts: nothing on the command line or in the configuration file; both
 * are checked by the modules that interpret them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "log.h"

/*
 * The commands, one line each.  A usage string holds one line per
 * subcommand, without the leading "mailgovctl ".
 */
const struct ctl_cmd ctl_cmds[] = {
	{ "account", ctl_account,
	    "account add NAME [--uid N|N-M]... [--gid G]... [--domain D]... "
	    "[--sasl USER]... [--mode hold|defer|reject|path] "
	    "[--relay HOST:PORT]...\n"
	    "account set NAME [--add-uid N|N-M] [--del-uid N|N-M] "
	    "[--add-gid G] [--del-gid G] [--add-domain D] [--del-domain D] "
	    "[--add-sasl USER] [--del-sasl USER] [--add-relay HOST:PORT] "
	    "[--del-relay HOST:PORT] [--mode MODE]\n"
	    "account del NAME\n"
	    "account show NAME [--json]\n"
	    "account list [--json]" },
	{ "budget", ctl_budget,
	    "budget set NAME KIND VALUE... [KIND VALUE...]...\n"
	    "budget show NAME [--json]" },
	{ "usage", ctl_usage, "usage [NAME] [--json]" },
	{ "reset", ctl_reset, "reset NAME [--all]" },
	{ "block", ctl_block, "block NAME" },
	{ "unblock", ctl_unblock, "unblock NAME" },
	{ "events", ctl_events, "events [NAME] [--limit N] [--json]" },
	{ "rules", ctl_rules,
	    "rules show|install|remove [--backend iptables|nftables]\n"
	    "rules refresh" },
	{ "postfix", ctl_postfix,
	    "postfix setup [--dry-run]|check|remove [--force]|users" },
	{ "hold", ctl_hold,
	    "hold list [ACCOUNT] [--json]\n"
	    "hold release|delete ACCOUNT|QUEUE_ID" },
	{ "status", ctl_status, "status [--json]" },
	{ "top", ctl_top, "top [-n COUNT] [-s m|h|l|r|d|b|a]" },
	{ NULL, NULL, NULL }
};

/* usage - the whole synopsis: global options, then every command */
static void
usage(FILE *fp)
{
	const struct ctl_cmd *c;
	const char *p, *nl;
	int	 k;

	fprintf(fp, "usage: mailgovctl [--db PATH] [--config PATH] [--json] "
	    "COMMAND [ARGS]\n"
	    "       mailgovctl COMMAND --help\n\n"
	    "global options:\n"
	    "  --db PATH      the database (default: db in mailgov.conf)\n"
	    "  --config PATH  the configuration (default: %s)\n"
	    "  --json         print one JSON document instead of text\n"
	    "  --help         this text\n\n"
	    "commands:\n", CONFIG_PATH);
	for (c = ctl_cmds; c->name != NULL; c++)
		for (p = c->usage; *p != '\0'; p = nl + (*nl == '\n')) {
			nl = strchr(p, '\n');
			if (nl == NULL)
				nl = p + strlen(p);
			fprintf(fp, "  %.*s\n", (int)(nl - p), p);
		}
	fprintf(fp, "\nbudget kinds:");
	for (k = 0; k < BK_COUNT; k++)
		fprintf(fp, " %s", budget_kind_name(k));
	fprintf(fp, "\nbudget values: a rate's windows N/DURATION... (up to "
	    "4: messages 100/1h 1000/1d),\n  a cap's N "
	    "(recipients_per_message 50), unlimited, default\n"
	    "modes: path (hold on the queue, defer on main), hold, defer, "
	    "reject\n");
}

/* global_opt - one global option at argv[*i]; -1 on a usage error */
static int
global_opt(struct ctl *ctl, int argc, char **argv, int *i, int *help)
{
	const char *v;
	int	 r;

	if (strcmp(argv[*i], "--json") == 0) {
		ctl->json = 1;
		return 0;
	}
	if (strcmp(argv[*i], "--help") == 0 || strcmp(argv[*i], "-h") == 0) {
		*help = 1;
		return 0;
	}
	if ((r = ctl_opt(NULL, argc, argv, i, "--db", &v)) != 0) {
		if (r < 0 || *v == '\0')
			goto missing;
		ctl->db_path = v;
		return 0;
	}
	if ((r = ctl_opt(NULL, argc, argv, i, "--config", &v)) != 0) {
		if (r < 0 || *v == '\0')
			goto missing;
		ctl->config_path = v;
		return 0;
	}
	fprintf(stderr, "mailgovctl: unknown option '%s'\n", argv[*i]);
	usage(stderr);
	return -1;
missing:
	/* ctl_opt printed the reason when the value was absent */
	if (r > 0)
		fprintf(stderr, "mailgovctl: empty option value\n");
	usage(stderr);
	return -1;
}

int
main(int argc, char **argv)
{
	struct ctl ctl;
	const struct ctl_cmd *cmd;
	char	 err[512];
	int	 i, j, n, help = 0, rc, dashdash = 0;

	log_init("mailgovctl", 1, 0);
	memset(&ctl, 0, sizeof(ctl));

	for (i = 1; i < argc && argv[i][0] == '-'; i++)
		if (global_opt(&ctl, argc, argv, &i, &help) == -1)
			return CTL_USAGE;
	if (help || (i < argc && strcmp(argv[i], "help") == 0 &&
	    i + 1 == argc)) {
		usage(stdout);
		return CTL_OK;
	}
	if (i >= argc) {
		fprintf(stderr, "mailgovctl: no command given\n");
		usage(stderr);
		return CTL_USAGE;
	}
	/* "mailgovctl help CMD" is "mailgovctl CMD --help" */
	if (strcmp(argv[i], "help") == 0) {
		i++;
		help = 1;
	}
	if ((cmd = ctl_cmd_find(argv[i])) == NULL) {
		fprintf(stderr, "mailgovctl: unknown command '%s'\n", argv[i]);
		usage(stderr);
		return CTL_USAGE;
	}

	/* The command's own argv: --json and --help are handled here for
	 * every command alike; "--" ends that and is passed on. */
	argc -= i;
	argv += i;
	for (j = n = 1; j < argc; j++) {
		if (!dashdash && strcmp(argv[j], "--json") == 0) {
			ctl.json = 1;
			continue;
		}
		if (!dashdash && (strcmp(argv[j], "--help") == 0 ||
		    strcmp(argv[j], "-h") == 0)) {
			help = 1;
			continue;
		}
		if (strcmp(argv[j], "--") == 0)
			dashdash = 1;
		argv[n++] = argv[j];
	}
	argv[n] = NULL;
	argc = n;
	if (help) {
		ctl_cmd_usage(stdout, cmd);
		return CTL_OK;
	}

	config_defaults(&ctl.cfg);
	err[0] = '\0';
	if (config_load(&ctl.cfg, ctl.config_path ? ctl.config_path :
	    CONFIG_PATH, ctl.config_path != NULL, err, sizeof(err)) == -1) {
		ctl_err("%s", err[0] ? err : "cannot read the configuration");
		return CTL_ERR;
	}
	if (ctl.db_path == NULL)
		ctl.db_path = ctl.cfg.db;

	rc = cmd->fn(&ctl, argc, argv);
	if (ctl.store != NULL)
		store_close(ctl.store);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		ctl_err("write error on standard output");
		rc = CTL_ERR;
	}
	return rc;
}
