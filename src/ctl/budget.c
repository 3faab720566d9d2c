/*
 * ctl_budget - "mailgovctl budget": set an account's budget of a kind
 * (its windows, "messages 100/1h 1000/1d"), or clear it back to the
 * configured default, and show them.  Every value is checked before the
 * store is touched; all kinds of one command line are one transaction.
 * The older spellings (messages_per_hour N ...) still work, one window
 * each, with a line naming the new spelling.
 *
 * Trusts: nothing on the command line; values go through budget_add()
 * and budget_parse().  Limits read from the store were range-checked
 * there.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

/* ctl_budget_of - the account's own windows, else the config default */
const struct budget *
ctl_budget_of(const struct ctl *ctl, const struct store_account *a, int k)
{
	return a->has[k] ? &a->budget[k] : &ctl->cfg.budget[k];
}

/* ctl_window_json - one window as an open object: the caller adds
 * fields and '}' */
void
ctl_window_json(FILE *fp, const struct budget_limit *l)
{
	char	 buf[64];

	fprintf(fp, "{\"limit\":%llu,\"period\":%llu,\"burst\":%llu,"
	    "\"text\":", (unsigned long long)l->limit,
	    (unsigned long long)(l->period_us / 1000000u),
	    (unsigned long long)(l->burst ? l->burst : l->limit));
	ctl_json_str(fp, budget_format(l, buf, sizeof(buf)));
}

/*
 * ctl_kind_json - one kind as an open object: "text" and "source", then
 * a cap's "limit" (null: unlimited) or a rate's "windows" (empty:
 * unlimited), each window closed unless remaining is given: then
 * remaining(k, i, arg) fills it in (it prints the field and the '}').
 */
void
ctl_kind_json(FILE *fp, const struct budget *b, int k, const char *source,
    void (*remaining)(FILE *, int, unsigned, const struct budget_limit *,
    void *), void *arg)
{
	char	 buf[160];
	unsigned i;

	fputs("{\"text\":", fp);
	ctl_json_str(fp, budget_list_format(b, buf, sizeof(buf)));
	fprintf(fp, ",\"source\":\"%s\"", source);
	if (budget_kind_is_cap(k)) {
		if (budget_is_unlimited(b))
			fputs(",\"limit\":null", fp);
		else
			fprintf(fp, ",\"limit\":%llu",
			    (unsigned long long)b->w[0].limit);
		return;
	}
	fputs(",\"windows\":[", fp);
	for (i = 0; !budget_is_unlimited(b) && i < b->n; i++) {
		if (i)
			fputc(',', fp);
		ctl_window_json(fp, &b->w[i]);
		if (remaining != NULL)
			remaining(fp, k, i, &b->w[i], arg);
		else
			fputc('}', fp);
	}
	fputc(']', fp);
}

/* ctl_budget_json - {"messages":{"text":...,"source":...,"windows":[...]},
 * "recipients_per_message":{...,"limit":50},...} */
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
		ctl_kind_json(fp, ctl_budget_of(ctl, a, k), k,
		    a->has[k] ? "account" : "default", NULL, NULL);
		fputc('}', fp);
	}
	fputc('}', fp);
}

/* ctl_budget_text - KIND LIMIT SOURCE, one row per budget kind */
void
ctl_budget_text(FILE *fp, const struct ctl *ctl,
    const struct store_account *a)
{
	struct ctl_table *t;
	char	 buf[160];
	int	 k;

	t = ctl_table_new(3, "BUDGET", "LIMIT", "SOURCE");
	for (k = 0; k < BK_COUNT; k++)
		ctl_table_row(t, budget_kind_name(k),
		    budget_list_format(ctl_budget_of(ctl, a, k), buf,
		    sizeof(buf)), a->has[k] ? "account" : "default");
	ctl_table_print(t, fp);
}

/*
 * One KIND VALUE... group of the command line.  A kind's own name takes
 * one or more values (checked into b); an older spelling takes one,
 * applied to the account's windows in force once the store is open.
 */
struct group {
	int		 kind;
	const char	*name;		/* as written */
	int		 old;		/* an older spelling */
	int		 clear;		/* "default" */
	const char	*value;		/* an older spelling's */
	struct budget	 b;
};

/* is_kind - a kind's name, or an older spelling of one: the kind */
static int
is_kind(const char *s, int *old)
{
	enum budget_kind k;
	unsigned win;
	uint64_t period;
	int	 kind;

	*old = 0;
	if ((kind = budget_kind_from_name(s)) >= 0)
		return kind;
	if (budget_old_from_name(s, &k, &win, &period) == 0) {
		*old = 1;
		return (int)k;
	}
	return -1;
}

/* parse_group - KIND VALUE... from argv[*i]; one error line on failure */
static int
parse_group(const char *name, int argc, char **argv, int *i,
    struct group *g)
{
	const char *ks = argv[*i], *err = NULL, *vs;
	int	 deflt = strcmp(name, STORE_DEFAULT_NAME) == 0, old, n = 0;
	struct budget_limit l;
	enum budget_kind k;
	unsigned win;
	uint64_t period;

	memset(g, 0, sizeof(*g));
	g->name = ks;
	if ((g->kind = is_kind(ks, &g->old)) < 0)
		return ctl_err("unknown budget kind '%s'", ks);
	for ((*i)++; *i < argc && is_kind(argv[*i], &old) < 0; (*i)++, n++) {
		vs = argv[*i];
		if (g->old && n > 0)
			return ctl_err("%s: one value (the older spelling "
			    "sets one window) '%s'", ks, vs);
		if (strcmp(vs, "default") == 0) {
			if (n > 0 || (*i + 1 < argc &&
			    is_kind(argv[*i + 1], &old) < 0))
				return ctl_err("%s: default stands alone", ks);
			g->clear = 1;
			g->value = vs;
			continue;
		}
		/* the catch-all account takes mail nobody claims: never
		 * unbounded */
		if (deflt && strcmp(vs, "unlimited") == 0)
			return ctl_err("%s: the default account cannot be "
			    "unlimited", ks);
		/* a word followed by a number, where a value should be: a
		 * misspelt kind ("recipents 50/1d") */
		if (isalpha((unsigned char)vs[0]) &&
		    strcmp(vs, "unlimited") != 0 && *i + 1 < argc &&
		    isdigit((unsigned char)argv[*i + 1][0]))
			return ctl_err("unknown budget kind '%s'", vs);
		if (g->old) {
			(void)budget_old_from_name(ks, &k, &win, &period);
			if (budget_parse(vs, period, !deflt, &l, &err) == -1)
				return ctl_err("%s: %s '%s'", ks,
				    err ? err : "bad value", vs);
			g->value = vs;
			continue;
		}
		if (budget_add(&g->b, g->kind, vs, !deflt, &err) == -1)
			return ctl_err("%s: %s '%s'", ks, err ? err :
			    "bad value", vs);
	}
	if (n == 0)
		return ctl_usage_err("budget", "budget set: %s: give a value",
		    ks);
	return 0;
}

/* budget_set - every group, then one transaction */
static int
budget_set(struct ctl *ctl, int argc, char **argv)
{
	struct store_account a;
	struct group *g;
	struct store *st;
	struct budget cur[BK_COUNT];
	const char *name, *err = NULL;
	char	 buf[160];
	int	 i, j, n = 0, rc = CTL_ERR, k;
	int	 touched[BK_COUNT] = { 0 }, clear[BK_COUNT] = { 0 };
	int	 own[BK_COUNT] = { 0 };

	if (argc < 5)
		return ctl_usage_err("budget", "budget set: give NAME and "
		    "KIND VALUE...");
	name = argv[2];
	g = ctl_xreallocarray(NULL, (size_t)argc, sizeof(*g));
	for (i = 3; i < argc; n++)
		if ((rc = parse_group(name, argc, argv, &i, &g[n])) != 0)
			goto out;
	rc = CTL_ERR;
	/* one kind, one meaning: its own name at most once, and not
	 * beside an older spelling of it */
	for (i = 0; i < n; i++)
		for (j = 0; j < i; j++)
			if (g[i].kind == g[j].kind && (!g[i].old ||
			    !g[j].old)) {
				rc = ctl_err("%s: given twice", budget_kind_name(
				    g[i].kind));
				goto out;
			}
	if ((st = ctl_store(ctl)) == NULL)
		goto out;
	if (store_begin(st) == -1) {
		rc = ctl_fail(ctl, 0);
		goto out;
	}
	if (store_account_get(st, name, &a) == -1) {
		rc = ctl_fail(ctl, 1);
		goto out;
	}
	for (k = 0; k < BK_COUNT; k++)
		cur[k] = *ctl_budget_of(ctl, &a, k);
	for (i = 0; i < n; i++) {
		k = g[i].kind;
		touched[k] = 1;
		if (!g[i].old) {
			clear[k] = g[i].clear;
			if (!g[i].clear)
				cur[k] = g[i].b;
			own[k] = 1;
			continue;
		}
		if (budget_old_apply(&cur[k], g[i].name, g[i].value,
		    &ctl->cfg.budget[k], strcmp(name, STORE_DEFAULT_NAME) != 0,
		    &err) == -1) {
			store_rollback(st);
			rc = ctl_err("%s: %s '%s'", g[i].name, err, g[i].value);
			goto out;
		}
		/* an older spelling that lands on the default is "default" */
		clear[k] = budget_equal(&cur[k], &ctl->cfg.budget[k]);
	}
	for (k = 0; k < BK_COUNT; k++) {
		if (!touched[k])
			continue;
		if (store_budget_set(st, name, k, clear[k] && (own[k] ||
		    budget_equal(&cur[k], &ctl->cfg.budget[k])) ? NULL :
		    &cur[k]) == -1) {
			rc = ctl_fail(ctl, 1);
			goto out;
		}
	}
	if (store_commit(st) == -1) {
		rc = ctl_fail(ctl, 1);
		goto out;
	}
	/* each older spelling used: the spelling of what the kind is now */
	for (i = 0; i < n; i++)
		if (g[i].old)
			fprintf(stderr, "mailgovctl: %s is deprecated: write "
			    "'budget set %s %s %s'\n", g[i].name, name,
			    budget_kind_name(g[i].kind), clear[g[i].kind] ?
			    "default" : budget_list_format(&cur[g[i].kind], buf,
			    sizeof(buf)));
	rc = CTL_OK;
out:
	free(g);
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
