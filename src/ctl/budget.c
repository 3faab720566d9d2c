/*
 * ctl_budget - "mailgovctl budget": set an account's limits per budget
 * kind, or clear them back to the configured default, and show them.
 * Every KIND VALUE pair is checked before the store is touched; all pairs
 * of one command line are one transaction.
 *
 * Trusts: nothing on the command line; budget values go through
 * budget_parse().  Limits read from the store were range-checked there.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

/* ctl_budget_limit - the account's own limit, else the config default */
const struct budget_limit *
ctl_budget_limit(const struct ctl *ctl, const struct store_account *a,
    int k)
{
	return a->has[k] ? &a->budget[k] : &ctl->cfg.budget[k];
}

/* ctl_limit_json - a limit object without its closing brace */
void
ctl_limit_json(FILE *fp, const struct budget_limit *l)
{
	char	 buf[64];

	if (l->limit == BUDGET_UNLIMITED)
		fputs("{\"limit\":null", fp);
	else
		fprintf(fp, "{\"limit\":%llu", (unsigned long long)l->limit);
	fprintf(fp, ",\"period\":%llu,\"burst\":%llu,\"text\":",
	    (unsigned long long)(l->period_us / 1000000u),
	    (unsigned long long)(l->burst ? l->burst : l->limit ==
	    BUDGET_UNLIMITED ? 0 : l->limit));
	ctl_json_str(fp, budget_format(l, buf, sizeof(buf)));
}

/* ctl_budget_json - {"messages_per_hour":{...,"source":"account"},...} */
void
ctl_budget_json(FILE *fp, const struct ctl *ctl,
    const struct store_account *a)
{
	int	 k;

	fputc('{', fp);
	for (k = 0; k < BK_COUNT; k++) {
		if (k)
			fputc(',', fp);
		ctl_json_str(fp, budget_kind_name(k));
		fputc(':', fp);
		ctl_limit_json(fp, ctl_budget_limit(ctl, a, k));
		fprintf(fp, ",\"source\":\"%s\"}",
		    a->has[k] ? "account" : "default");
	}
	fputc('}', fp);
}

/* ctl_budget_text - KIND LIMIT SOURCE, one row per budget kind */
void
ctl_budget_text(FILE *fp, const struct ctl *ctl,
    const struct store_account *a)
{
	struct ctl_table *t;
	char	 buf[64];
	int	 k;

	t = ctl_table_new(3, "BUDGET", "LIMIT", "SOURCE");
	for (k = 0; k < BK_COUNT; k++)
		ctl_table_row(t, budget_kind_name(k),
		    budget_format(ctl_budget_limit(ctl, a, k), buf,
		    sizeof(buf)), a->has[k] ? "account" : "default");
	ctl_table_print(t, fp);
}

/* One parsed KIND VALUE pair: lim NULL-equivalent when clear. */
struct pair {
	int			kind;
	int			clear;
	struct budget_limit	lim;
};

/* parse_pair - KIND VALUE into p; one error line on failure */
static int
parse_pair(const char *name, const char *ks, const char *vs, struct pair *p)
{
	const char *err = NULL;
	int	 deflt = strcmp(name, STORE_DEFAULT_NAME) == 0;

	memset(p, 0, sizeof(*p));
	if ((p->kind = budget_kind_from_name(ks)) < 0)
		return ctl_err("unknown budget kind '%s'", ks);
	if (strcmp(vs, "default") == 0) {
		p->clear = 1;
		return 0;
	}
	/* the catch-all account takes mail nobody claims: never unbounded */
	if (deflt && strcmp(vs, "unlimited") == 0)
		return ctl_err("%s: the default account cannot be unlimited",
		    ks);
	if (budget_parse(vs, budget_kind_period(p->kind), !deflt, &p->lim,
	    &err) == -1)
		return ctl_err("%s: %s '%s'", ks, err ? err : "bad value", vs);
	return 0;
}

/* budget_set - every pair, then one transaction */
static int
budget_set(struct ctl *ctl, int argc, char **argv)
{
	struct pair *p;
	struct store *st;
	const char *name;
	int	 i, n, rc = CTL_ERR;

	if (argc < 5 || (argc - 3) % 2 != 0)
		return ctl_usage_err("budget", "budget set: give NAME and "
		    "KIND VALUE pairs");
	name = argv[2];
	n = (argc - 3) / 2;
	p = ctl_xreallocarray(NULL, n, sizeof(*p));
	for (i = 0; i < n; i++)
		if (parse_pair(name, argv[3 + 2 * i], argv[4 + 2 * i],
		    &p[i]) != 0)
			goto out;
	if ((st = ctl_store(ctl)) == NULL)
		goto out;
	if (store_begin(st) == -1) {
		rc = ctl_fail(ctl, 0);
		goto out;
	}
	for (i = 0; i < n; i++)
		if (store_budget_set(st, name, p[i].kind,
		    p[i].clear ? NULL : &p[i].lim) == -1) {
			rc = ctl_fail(ctl, 1);
			goto out;
		}
	if (store_commit(st) == -1) {
		rc = ctl_fail(ctl, 1);
		goto out;
	}
	rc = CTL_OK;
out:
	free(p);
	return rc;
}

/* budget_show - the limits in force and where each comes from */
static int
budget_show(struct ctl *ctl, int argc, char **argv)
{
	struct store_account a;
	struct store *st;

	if (argc != 3)
		return ctl_usage_err("budget", "budget show: give one account "
		    "name");
	if ((st = ctl_store_read(ctl)) == NULL)
		return CTL_ERR;
	if (store_account_get(st, argv[2], &a) == -1)
		return ctl_fail(ctl, 0);
	if (ctl->json) {
		fputs("{\"name\":", stdout);
		ctl_json_str(stdout, a.name);
		fputs(",\"budgets\":", stdout);
		ctl_budget_json(stdout, ctl, &a);
		puts("}");
	} else
		ctl_budget_text(stdout, ctl, &a);
	return CTL_OK;
}

/* ctl_budget - "mailgovctl budget SUBCOMMAND ..." */
int
ctl_budget(struct ctl *ctl, int argc, char **argv)
{
	if (argc < 2)
		return ctl_usage_err("budget", "budget: no subcommand");
	if (strcmp(argv[1], "set") == 0)
		return budget_set(ctl, argc, argv);
	if (strcmp(argv[1], "show") == 0)
		return budget_show(ctl, argc, argv);
	return ctl_usage_err("budget", "budget: unknown subcommand '%s'",
	    argv[1]);
}
