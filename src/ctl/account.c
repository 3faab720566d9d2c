/*
 * ctl_account - "mailgovctl account": create, change, delete and show
 * accounts and what identifies them (UIDs, GIDs, sender domains, SASL
 * users, exempt relays).  Every command line is checked in full before the
 * store is touched, and each command is one transaction, so a bad value
 * anywhere leaves the database as it was.
 *
 * Trusts: nothing on the command line; the store for what it returns,
 * except that strings from it are escaped or cleaned before printing.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "num.h"

#define UID_MAX_OK	4294967294u	/* (uid_t)-1 means "no uid" */

enum idkind { ID_UID, ID_GID, ID_DOMAIN, ID_SASL, ID_RELAY, ID_COUNT };

/* Option names: for "account add" and for "account set". */
static const struct {
	const char	*add, *set_add, *set_del, *label;
} idopt[ID_COUNT] = {
	[ID_UID] =	{ "--uid", "--add-uid", "--del-uid", "uid" },
	[ID_GID] =	{ "--gid", "--add-gid", "--del-gid", "gid" },
	[ID_DOMAIN] =	{ "--domain", "--add-domain", "--del-domain", "domain" },
	[ID_SASL] =	{ "--sasl", "--add-sasl", "--del-sasl", "sasl" },
	[ID_RELAY] =	{ "--relay", "--add-relay", "--del-relay", "relay" },
};

/* One change to an account's identities, parsed and checked. */
struct idop {
	enum idkind	 kind;
	int		 del;
	uint32_t	 lo, hi;	/* uid range; gid in lo */
	uint16_t	 port;
	char		 str[256];	/* domain, sasl user, relay address */
};

struct change {
	struct idop	*ops;
	size_t		 n;
	int		 mode;		/* -1: unchanged */
};

/* parse_id32 - a uid or gid: a number, or a name resolved locally */
static int
parse_id32(const char *label, const char *s, int group, uint32_t *out)
{
	const char *err;
	uint64_t v;

	if (*s != '\0' && !isdigit((unsigned char)*s) && *s != '-' &&
	    *s != '+') {
		if (group) {
			struct group *gr = getgrnam(s);
			if (gr != NULL) {
				*out = gr->gr_gid;
				return 0;
			}
			return ctl_err("%s: unknown group '%s'", label, s);
		} else {
			struct passwd *pw = getpwnam(s);
			if (pw != NULL) {
				*out = pw->pw_uid;
				return 0;
			}
			return ctl_err("%s: unknown user '%s'", label, s);
		}
	}
	if (num_u64(s, 0, UID_MAX_OK, 0, &v, &err) == -1)
		return ctl_err("%s: %s '%s'", label, err, s);
	*out = (uint32_t)v;
	return 0;
}

/* parse_uids - "N", "N-M" or a login name */
static int
parse_uids(const char *s, uint32_t *lo, uint32_t *hi)
{
	char	 buf[64];
	const char *dash = *s ? strchr(s + 1, '-') : NULL;
	const char *err;
	uint64_t a, b;

	/* a login name may contain '-': try it whole first */
	if (*s != '\0' && !isdigit((unsigned char)*s) && *s != '-' &&
	    *s != '+') {
		struct passwd *pw = getpwnam(s);
		if (pw == NULL)
			return ctl_err("uid: unknown user '%s'", s);
		*lo = *hi = pw->pw_uid;
		return 0;
	}
	if (dash == NULL) {
		if (parse_id32("uid", s, 0, lo) != 0)
			return CTL_ERR;
		*hi = *lo;
		return 0;
	}
	if ((size_t)(dash - s) >= sizeof(buf))
		return ctl_err("uid: too large '%s'", s);
	memcpy(buf, s, dash - s);
	buf[dash - s] = '\0';
	if (num_u64(buf, 0, UID_MAX_OK, 0, &a, &err) == -1 ||
	    num_u64(dash + 1, 0, UID_MAX_OK, 0, &b, &err) == -1)
		return ctl_err("uid: %s '%s'", err, s);
	if (a > b)
		return ctl_err("uid: range upside down '%s'", s);
	*lo = (uint32_t)a;
	*hi = (uint32_t)b;
	return 0;
}

/* parse_domain - a DNS name, stored lower case; letters, digits, '-'
 * and dots between labels */
static int
parse_domain(const char *s, char *out, size_t len)
{
	size_t	 i, n = strlen(s), lab = 0;

	if (n == 0 || n > 253 || n >= len)
		return ctl_err("domain: bad length '%s'", s);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '.') {
			if (lab == 0)
				goto bad;
			lab = 0;
		} else if (isalnum(c) || c == '-' || c == '_') {
			if (++lab > 63)
				goto bad;
		} else
			goto bad;
		out[i] = (char)tolower(c);
	}
	if (lab == 0)
		goto bad;
	out[n] = '\0';
	return 0;
bad:
	return ctl_err("domain: not a domain name '%s'", s);
}

/* parse_sasl - a SASL login: printable, no blanks, at most 255 bytes */
static int
parse_sasl(const char *s, char *out, size_t len)
{
	size_t	 i, n = strlen(s);

	if (n == 0 || n >= len || n > 255)
		return ctl_err("sasl: bad length '%s'", s);
	for (i = 0; i < n; i++)
		if (!isgraph((unsigned char)s[i]))
			return ctl_err("sasl: not a login name '%s'", s);
	memcpy(out, s, n + 1);
	return 0;
}

/* parse_relay - "192.0.2.25:587" or "[2001:db8::25]:587"; the address is
 * kept in the canonical form the kernel path will compare with */
static int
parse_relay(const char *s, char *out, size_t len, uint16_t *port)
{
	char	 host[INET6_ADDRSTRLEN + 2];
	unsigned char bin[sizeof(struct in6_addr)];
	const char *p, *err, *colon, *orig = s;
	uint64_t v;
	size_t	 n;
	int	 af;

	if (*s == '[') {
		p = strchr(s, ']');
		if (p == NULL || p[1] != ':')
			goto bad;
		n = p - (s + 1);
		colon = p + 1;
		s++;
		af = AF_INET6;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL || memchr(s, ':', colon - s) != NULL)
			goto bad;
		n = colon - s;
		af = AF_INET;
	}
	if (n == 0 || n >= sizeof(host))
		goto bad;
	memcpy(host, s, n);
	host[n] = '\0';
	if (inet_pton(af, host, bin) != 1)
		return ctl_err("relay: not a numeric address '%s'", host);
	if (num_u64(colon + 1, 1, 65535, 0, &v, &err) == -1)
		return ctl_err("relay: port: %s '%s'", err, colon + 1);
	if (inet_ntop(af, bin, out, (socklen_t)len) == NULL)
		goto bad;
	*port = (uint16_t)v;
	return 0;
bad:
	return ctl_err("relay: not HOST:PORT '%s'", orig);
}

/* parse_idop - one identity value for kind into op */
static int
parse_idop(enum idkind kind, const char *val, struct idop *op)
{
	memset(op, 0, sizeof(*op));
	op->kind = kind;
	switch (kind) {
	case ID_UID:
		return parse_uids(val, &op->lo, &op->hi);
	case ID_GID:
		return parse_id32("gid", val, 1, &op->lo);
	case ID_DOMAIN:
		return parse_domain(val, op->str, sizeof(op->str));
	case ID_SASL:
		return parse_sasl(val, op->str, sizeof(op->str));
	case ID_RELAY:
		return parse_relay(val, op->str, sizeof(op->str), &op->port);
	default:
		return CTL_ERR;
	}
}

/* parse_change - every option after NAME; add = "account add" spelling */
static int
parse_change(const char *sub, int argc, char **argv, int add,
    struct change *ch)
{
	const char *val;
	int	 i, k, r, del;

	ch->mode = -1;
	for (i = 3; i < argc; i++) {
		if ((r = ctl_opt("account", argc, argv, &i, "--mode",
		    &val)) != 0) {
			if (r < 0)
				return CTL_USAGE;
			if ((ch->mode = over_mode_from_name(val)) < 0)
				return ctl_err("mode: not hold, defer, reject "
				    "or path '%s'", val);
			continue;
		}
		for (k = 0; k < ID_COUNT; k++) {
			for (del = 0; del <= !add; del++) {
				const char *o = add ? idopt[k].add :
				    del ? idopt[k].set_del : idopt[k].set_add;
				if ((r = ctl_opt("account", argc, argv, &i, o,
				    &val)) != 0)
					goto found;
			}
		}
		return ctl_usage_err("account", "account %s: unknown option "
		    "or extra argument '%s'", sub, argv[i]);
	found:
		if (r < 0)
			return CTL_USAGE;
		ch->ops = ctl_xreallocarray(ch->ops, ch->n + 1,
		    sizeof(*ch->ops));
		if (parse_idop(k, val, &ch->ops[ch->n]) != 0)
			return CTL_ERR;
		ch->ops[ch->n++].del = del;
	}
	return CTL_OK;
}

/* apply_op - one identity change, inside the caller's transaction */
static int
apply_op(struct store *st, const char *name, const struct idop *op)
{
	switch (op->kind) {
	case ID_UID:
		return op->del ? store_uid_del(st, name, op->lo, op->hi) :
		    store_uid_add(st, name, op->lo, op->hi);
	case ID_GID:
		return op->del ? store_gid_del(st, name, op->lo) :
		    store_gid_add(st, name, op->lo);
	case ID_DOMAIN:
		return op->del ? store_domain_del(st, name, op->str) :
		    store_domain_add(st, name, op->str);
	case ID_SASL:
		return op->del ? store_sasl_del(st, name, op->str) :
		    store_sasl_add(st, name, op->str);
	case ID_RELAY:
		return op->del ? store_relay_del(st, name, op->str, op->port) :
		    store_relay_add(st, name, op->str, op->port);
	default:
		return -1;
	}
}

/* check_name - account names are what store_account_name_ok accepts */
static int
check_name(const char *name)
{
	if (store_account_name_ok(name))
		return 0;
	return ctl_err("bad account name '%s' (1 to 63 of a-z 0-9 . _ -, "
	    "starting with a letter or digit)", name);
}

/* account_write - "account add" (create) or "account set" */
static int
account_write(struct ctl *ctl, int argc, char **argv, int create)
{
	struct change ch = { NULL, 0, -1 };
	struct store *st;
	const char *name;
	size_t	 i;
	int	 rc;

	if (argc < 3)
		return ctl_usage_err("account", "account %s: no account name",
		    argv[1]);
	name = argv[2];
	if (check_name(name) != 0)
		return CTL_ERR;
	if ((rc = parse_change(argv[1], argc, argv, create, &ch)) != CTL_OK)
		goto out;
	if (!create && ch.n == 0 && ch.mode < 0) {
		rc = ctl_usage_err("account", "account set: nothing to change");
		goto out;
	}
	rc = CTL_ERR;
	if ((st = ctl_store(ctl)) == NULL)
		goto out;
	if (store_begin(st) == -1) {
		rc = ctl_fail(ctl, 0);
		goto out;
	}
	if (create && store_account_add(st, name, 0, NULL) == -1)
		goto fail;
	if (!create) {
		struct store_account a;
		if (store_account_get(st, name, &a) == -1)
			goto fail;
	}
	for (i = 0; i < ch.n; i++)
		if (apply_op(st, name, &ch.ops[i]) == -1)
			goto fail;
	if (ch.mode >= 0 && store_account_set_mode(st, name, ch.mode) == -1)
		goto fail;
	if (store_commit(st) == -1)
		goto fail;
	rc = CTL_OK;
	goto out;
fail:
	rc = ctl_fail(ctl, 1);
out:
	free(ch.ops);
	return rc;
}

/* account_del - remove an account and its identities */
static int
account_del(struct ctl *ctl, int argc, char **argv)
{
	struct store *st;

	if (argc != 3)
		return ctl_usage_err("account", "account del: give one "
		    "account name");
	if ((st = ctl_store(ctl)) == NULL)
		return CTL_ERR;
	if (store_begin(st) == -1)
		return ctl_fail(ctl, 0);
	if (store_account_del(st, argv[2]) == -1 || store_commit(st) == -1)
		return ctl_fail(ctl, 1);
	return CTL_OK;
}

/* --- listings ---------------------------------------------------------- */

/* An account with its identities, as text cells and JSON values. */
struct view {
	struct store_account a;
	struct {
		char	**text, **json;
		size_t	  n;
	} id[ID_COUNT];
};

struct views {
	struct view	*v;
	size_t		 n;
	int64_t		 only;		/* one account id, or -1 */
};

/* views_account - collect one account row */
static int
views_account(const struct store_account *a, void *arg)
{
	struct views *vs = arg;

	if (vs->only >= 0 && a->id != vs->only)
		return 0;
	vs->v = ctl_xreallocarray(vs->v, vs->n + 1, sizeof(*vs->v));
	memset(&vs->v[vs->n], 0, sizeof(vs->v[0]));
	vs->v[vs->n++].a = *a;
	return 0;
}

static int
view_cmp_id(const void *a, const void *b)
{
	const struct view *x = a, *y = b;

	return x->a.id < y->a.id ? -1 : x->a.id > y->a.id;
}

static int
view_cmp_name(const void *a, const void *b)
{
	const struct view *x = a, *y = b;

	return strcmp(x->a.name, y->a.name);
}

/* views_add - attach one identity to its account (views sorted by id) */
static void
views_add(struct views *vs, int64_t account, enum idkind k, char *text,
    char *json)
{
	struct view key, *v;

	key.a.id = account;
	/* no accounts: a NULL array, which bsearch may not be given */
	v = vs->n == 0 ? NULL :
	    bsearch(&key, vs->v, vs->n, sizeof(*vs->v), view_cmp_id);
	if (v == NULL) {
		free(text);
		free(json);
		return;
	}
	v->id[k].text = ctl_xreallocarray(v->id[k].text, v->id[k].n + 1,
	    sizeof(char *));
	v->id[k].json = ctl_xreallocarray(v->id[k].json, v->id[k].n + 1,
	    sizeof(char *));
	v->id[k].text[v->id[k].n] = text;
	v->id[k].json[v->id[k].n++] = json;
}

/* json_strdup - a JSON string literal in a fresh buffer */
static char *
json_strdup(const char *s)
{
	char	*buf = NULL;
	size_t	 len = 0;
	FILE	*fp;

	if ((fp = open_memstream(&buf, &len)) == NULL)
		return ctl_xstrdup("\"\"");
	ctl_json_str(fp, s);
	fclose(fp);
	return buf ? buf : ctl_xstrdup("\"\"");
}

static int
each_uid(int64_t account, uint32_t lo, uint32_t hi, void *arg)
{
	views_add(arg, account, ID_UID, lo == hi ?
	    ctl_xasprintf("%u", lo) : ctl_xasprintf("%u-%u", lo, hi),
	    ctl_xasprintf("{\"lo\":%u,\"hi\":%u}", lo, hi));
	return 0;
}

static int
each_gid(int64_t account, uint32_t gid, void *arg)
{
	views_add(arg, account, ID_GID, ctl_xasprintf("%u", gid),
	    ctl_xasprintf("%u", gid));
	return 0;
}

static int
each_domain(int64_t account, const char *s, void *arg)
{
	char	 buf[300];

	views_add(arg, account, ID_DOMAIN,
	    ctl_xstrdup(ctl_clean(s, buf, sizeof(buf))), json_strdup(s));
	return 0;
}

static int
each_sasl(int64_t account, const char *s, void *arg)
{
	char	 buf[300];

	views_add(arg, account, ID_SASL,
	    ctl_xstrdup(ctl_clean(s, buf, sizeof(buf))), json_strdup(s));
	return 0;
}

static int
each_relay(int64_t account, const char *host, uint16_t port, void *arg)
{
	char	 buf[100], *j;
	char	*hj = json_strdup(host);

	ctl_clean(host, buf, sizeof(buf));
	j = ctl_xasprintf("{\"host\":%s,\"port\":%u}", hj, port);
	free(hj);
	views_add(arg, account, ID_RELAY, strchr(buf, ':') ?
	    ctl_xasprintf("[%s]:%u", buf, port) :
	    ctl_xasprintf("%s:%u", buf, port), j);
	return 0;
}

/* views_load - accounts (all, or only one) with their identities, sorted
 * by name; -1 after printing the store's error */
static int
views_load(struct ctl *ctl, struct store *st, struct views *vs)
{
	if (store_account_each(st, views_account, vs) < 0)
		return -1;
	if (vs->n == 0)		/* a NULL array, which qsort may not be given */
		return 0;
	qsort(vs->v, vs->n, sizeof(*vs->v), view_cmp_id);
	if (store_uid_each(st, each_uid, vs) < 0 ||
	    store_gid_each(st, each_gid, vs) < 0 ||
	    store_domain_each(st, each_domain, vs) < 0 ||
	    store_sasl_each(st, each_sasl, vs) < 0 ||
	    store_relay_each(st, each_relay, vs) < 0)
		return -1;
	qsort(vs->v, vs->n, sizeof(*vs->v), view_cmp_name);
	(void)ctl;
	return 0;
}

static void
views_free(struct views *vs)
{
	size_t	 i, k, j;

	for (i = 0; i < vs->n; i++)
		for (k = 0; k < ID_COUNT; k++) {
			for (j = 0; j < vs->v[i].id[k].n; j++) {
				free(vs->v[i].id[k].text[j]);
				free(vs->v[i].id[k].json[j]);
			}
			free(vs->v[i].id[k].text);
			free(vs->v[i].id[k].json);
		}
	free(vs->v);
}

/* joined - the identities of one kind as "a,b,c", or "-" */
static char *
joined(const struct view *v, enum idkind k)
{
	size_t	 i, len = 1;
	char	*s;

	if (v->id[k].n == 0)
		return ctl_xstrdup("-");
	for (i = 0; i < v->id[k].n; i++)
		len += strlen(v->id[k].text[i]) + 1;
	s = ctl_xreallocarray(NULL, len, 1);
	*s = '\0';
	for (i = 0; i < v->id[k].n; i++) {
		if (i)
			strcat(s, ",");
		strcat(s, v->id[k].text[i]);
	}
	return s;
}

/* view_json - one account as a JSON object */
static void
view_json(FILE *fp, const struct ctl *ctl, const struct view *v)
{
	static const char *keys[ID_COUNT] = {
		"uids", "gids", "domains", "sasl", "relays"
	};
	size_t	 k, j;

	fputs("{\"name\":", fp);
	ctl_json_str(fp, v->a.name);
	fprintf(fp, ",\"id\":%lld,\"auto\":%s,\"mode\":", (long long)v->a.id,
	    v->a.is_auto ? "true" : "false");
	ctl_json_str(fp, over_mode_name(v->a.mode));
	fprintf(fp, ",\"blocked\":%s,\"created\":%lld",
	    v->a.blocked ? "true" : "false", (long long)v->a.created);
	for (k = 0; k < ID_COUNT; k++) {
		fprintf(fp, ",\"%s\":[", keys[k]);
		for (j = 0; j < v->id[k].n; j++)
			fprintf(fp, "%s%s", j ? "," : "", v->id[k].json[j]);
		fputc(']', fp);
	}
	fputs(",\"budgets\":", fp);
	ctl_budget_json(fp, ctl, &v->a);
	fputc('}', fp);
}

/* account_show - everything about one account */
static int
account_show(struct ctl *ctl, int argc, char **argv)
{
	struct views vs = { NULL, 0, -1 };
	struct store_account a;
	struct store *st;
	struct view *v;
	char	 tbuf[64], nbuf[STORE_NAMELEN * 4 + 4], *s;
	size_t	 k;

	if (argc != 3)
		return ctl_usage_err("account", "account show: give one "
		    "account name");
	if ((st = ctl_store_read(ctl)) == NULL)
		return CTL_ERR;
	if (store_account_get(st, argv[2], &a) == -1)
		return ctl_fail(ctl, 0);
	/* mailgov never makes one, and -1 would mean "every account" */
	if (a.id < 0)
		return ctl_err("account '%s': bad id %lld in the database",
		    argv[2], (long long)a.id);
	vs.only = a.id;
	if (views_load(ctl, st, &vs) == -1) {
		views_free(&vs);
		return ctl_fail(ctl, 0);
	}
	if (vs.n != 1) {
		views_free(&vs);
		return ctl_err("unknown account '%s'", argv[2]);
	}
	v = &vs.v[0];
	if (ctl->json) {
		view_json(stdout, ctl, v);
		putchar('\n');
	} else {
		static const char *labels[ID_COUNT] = {
			"uids", "gids", "domains", "sasl", "relays"
		};
		/* the store may hold anything: escaped like every field */
		printf("%-9s %s\n", "account",
		    ctl_clean(v->a.name, nbuf, sizeof(nbuf)));
		printf("%-9s %lld\n", "id", (long long)v->a.id);
		printf("%-9s %s\n", "mode", over_mode_name(v->a.mode));
		printf("%-9s %s\n", "blocked", v->a.blocked ? "yes" : "no");
		printf("%-9s %s\n", "auto", v->a.is_auto ? "yes" : "no");
		printf("%-9s %s\n", "created",
		    ctl_time(v->a.created, tbuf, sizeof(tbuf)));
		for (k = 0; k < ID_COUNT; k++) {
			s = joined(v, k);
			printf("%-9s %s\n", labels[k], s);
			free(s);
		}
		putchar('\n');
		ctl_budget_text(stdout, ctl, &v->a);
	}
	views_free(&vs);
	return CTL_OK;
}

/* account_list - one line (or object) per account, by name */
static int
account_list(struct ctl *ctl, int argc, char **argv)
{
	struct views vs = { NULL, 0, -1 };
	struct ctl_table *t;
	struct store *st;
	char	*c[ID_COUNT], nbuf[STORE_NAMELEN * 4 + 4];
	size_t	 i, k;

	(void)argv;
	if (argc != 2)
		return ctl_usage_err("account", "account list: no arguments "
		    "expected");
	if ((st = ctl_store_read(ctl)) == NULL)
		return CTL_ERR;
	if (views_load(ctl, st, &vs) == -1) {
		views_free(&vs);
		return ctl_fail(ctl, 0);
	}
	if (ctl->json) {
		putchar('[');
		for (i = 0; i < vs.n; i++) {
			if (i)
				putchar(',');
			view_json(stdout, ctl, &vs.v[i]);
		}
		puts("]");
	} else {
		t = ctl_table_new(8, "NAME", "MODE", "BLOCKED", "UIDS", "GIDS",
		    "DOMAINS", "SASL", "RELAYS");
		for (i = 0; i < vs.n; i++) {
			for (k = 0; k < ID_COUNT; k++)
				c[k] = joined(&vs.v[i], k);
			ctl_table_row(t, ctl_clean(vs.v[i].a.name, nbuf,
			    sizeof(nbuf)),
			    over_mode_name(vs.v[i].a.mode),
			    vs.v[i].a.blocked ? "yes" : "no", c[ID_UID],
			    c[ID_GID], c[ID_DOMAIN], c[ID_SASL], c[ID_RELAY]);
			for (k = 0; k < ID_COUNT; k++)
				free(c[k]);
		}
		ctl_table_print(t, stdout);
	}
	views_free(&vs);
	return CTL_OK;
}

/* ctl_account - "mailgovctl account SUBCOMMAND ..." */
int
ctl_account(struct ctl *ctl, int argc, char **argv)
{
	if (argc < 2)
		return ctl_usage_err("account", "account: no subcommand");
	if (strcmp(argv[1], "add") == 0)
		return account_write(ctl, argc, argv, 1);
	if (strcmp(argv[1], "set") == 0)
		return account_write(ctl, argc, argv, 0);
	if (strcmp(argv[1], "del") == 0)
		return account_del(ctl, argc, argv);
	if (strcmp(argv[1], "show") == 0)
		return account_show(ctl, argc, argv);
	if (strcmp(argv[1], "list") == 0)
		return account_list(ctl, argc, argv);
	if (strcmp(argv[1], "export") == 0)
		return ctl_account_export(ctl, argc, argv);
	if (strcmp(argv[1], "import") == 0)
		return ctl_account_import(ctl, argc, argv);
	return ctl_usage_err("account", "account: unknown subcommand '%s'",
	    argv[1]);
}
