/*
 * ctl_account_io - "mailgovctl account export" and "account import FILE":
 * the accounts of this node as one JSON document, and that document made
 * true on another node, so that configuration management can keep the
 * web nodes of a cluster alike (docs/cluster-accounts: docs/mailgovctl.md).
 *
 * The format is defined here, both ways.  An import reads and checks the
 * whole file (bounded: lib/json) before the store is opened, then makes
 * every change in one transaction: removals first, so an identity can
 * move from one account to another, then new accounts and additions.  An
 * import that would change nothing writes nothing, and says so.  An
 * import never lifts a block (a block is an incident's answer, not
 * configuration) and never deletes an account the file does not name.
 *
 * Trusts: nothing in the file (every field is checked, and an error names
 * the account, the field and the line); the store for what it returns,
 * escaped on output.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "addr.h"
#include "json.h"

#define IO_FORMAT	"mailgov-accounts"
#define IO_VERSION	1
#define IO_MAX_BYTES	(16u << 20)	/* about 100,000 accounts */
#define UID_MAX_OK	4294967294u	/* (uid_t)-1 means "no uid" */

static const struct json_limits io_limits = {
	.max_bytes = IO_MAX_BYTES,
	.max_depth = 5,			/* doc, accounts, account, list, item */
	.max_values = 4000000,
	.max_members = 64,
	.max_string = 1024,
};

enum idkind { ID_UID, ID_GID, ID_DOMAIN, ID_SASL, ID_RELAY, ID_COUNT };

static const char *const idkey[ID_COUNT] = {
	"uids", "gids", "domains", "sasl", "relays"
};

/* One identity: a UID range, a GID (lo), a string, or a relay. */
struct ident {
	uint32_t	 lo, hi;
	uint16_t	 port;
	char		 str[256];
};

struct idlist {
	struct ident	*v;
	size_t		 n;
};

/* One account: what the file says of it, and what this node has. */
struct acc {
	char		 name[STORE_NAMELEN];
	unsigned	 line;
	int		 mode, blocked;		/* -1: not in the file */
	int		 has_contact;		/* the file sets "contact" */
	char		 contact[CONFIG_ADDRLEN];	/* from the file */
	char		 cur_contact[CONFIG_ADDRLEN];	/* this node's */
	int		 has_id[ID_COUNT];	/* the file sets this kind */
	struct idlist	 want[ID_COUNT];
	int		 has_bud[BK_COUNT], clear[BK_COUNT];
	struct budget	 lim[BK_COUNT];
	int		 exists;
	struct store_account local;
	struct idlist	 cur[ID_COUNT];
};

struct accs {
	struct acc	*v;
	size_t		 n;
	struct acc	**by_id;		/* the existing ones, by id */
	size_t		 nid;
	const char	*file;
};

/* --- shared --------------------------------------------------------- */

static void
idlist_add(struct idlist *l, const struct ident *id)
{
	l->v = ctl_xreallocarray(l->v, l->n + 1, sizeof(*l->v));
	l->v[l->n++] = *id;
}

static int
ident_eq(enum idkind k, const struct ident *a, const struct ident *b)
{
	switch (k) {
	case ID_UID:
		return a->lo == b->lo && a->hi == b->hi;
	case ID_GID:
		return a->lo == b->lo;
	case ID_RELAY:
		return a->port == b->port && strcmp(a->str, b->str) == 0;
	default:
		return strcmp(a->str, b->str) == 0;
	}
}

static int
idlist_has(enum idkind k, const struct idlist *l, const struct ident *id)
{
	size_t	 i;

	for (i = 0; i < l->n; i++)
		if (ident_eq(k, &l->v[i], id))
			return 1;
	return 0;
}

static void
accs_free(struct accs *as)
{
	size_t	 i, k;

	for (i = 0; i < as->n; i++)
		for (k = 0; k < ID_COUNT; k++) {
			free(as->v[i].want[k].v);
			free(as->v[i].cur[k].v);
		}
	free(as->v);
	free(as->by_id);
}

static int
cmp_by_id(const void *a, const void *b)
{
	const struct acc *x = *(struct acc *const *)a;
	const struct acc *y = *(struct acc *const *)b;

	return x->local.id < y->local.id ? -1 : x->local.id > y->local.id;
}

/* find_id - the account with local id, or NULL */
static struct acc *
find_id(struct accs *as, int64_t id)
{
	struct acc key, *kp = &key, **r;

	if (as->nid == 0)
		return NULL;
	key.local.id = id;
	r = bsearch(&kp, as->by_id, as->nid, sizeof(*as->by_id), cmp_by_id);
	return r ? *r : NULL;
}

static int
cur_uid(int64_t account, uint32_t lo, uint32_t hi, void *arg)
{
	struct acc *a = find_id(arg, account);
	struct ident id = { .lo = lo, .hi = hi };

	if (a != NULL)
		idlist_add(&a->cur[ID_UID], &id);
	return 0;
}

static int
cur_gid(int64_t account, uint32_t gid, void *arg)
{
	struct acc *a = find_id(arg, account);
	struct ident id = { .lo = gid, .hi = gid };

	if (a != NULL)
		idlist_add(&a->cur[ID_GID], &id);
	return 0;
}

/* cur_str - a domain or SASL name; kind by the walk that called */
static int
cur_str(struct accs *as, enum idkind k, int64_t account, const char *s)
{
	struct acc *a = find_id(as, account);
	struct ident id;

	if (a == NULL)
		return 0;
	memset(&id, 0, sizeof(id));
	snprintf(id.str, sizeof(id.str), "%s", s);
	idlist_add(&a->cur[k], &id);
	return 0;
}

static int
cur_domain(int64_t account, const char *s, void *arg)
{
	return cur_str(arg, ID_DOMAIN, account, s);
}

static int
cur_sasl(int64_t account, const char *s, void *arg)
{
	return cur_str(arg, ID_SASL, account, s);
}

static int
cur_relay(int64_t account, const char *host, uint16_t port, void *arg)
{
	struct acc *a = find_id(arg, account);
	struct ident id;

	if (a == NULL)
		return 0;
	memset(&id, 0, sizeof(id));
	snprintf(id.str, sizeof(id.str), "%s", host);
	id.port = port;
	idlist_add(&a->cur[ID_RELAY], &id);
	return 0;
}

/* index_ids - by_id over the accounts that exist here */
static void
index_ids(struct accs *as)
{
	size_t	 i;

	free(as->by_id);
	as->by_id = ctl_xreallocarray(NULL, as->n ? as->n : 1,
	    sizeof(*as->by_id));
	as->nid = 0;
	for (i = 0; i < as->n; i++)
		if (as->v[i].exists)
			as->by_id[as->nid++] = &as->v[i];
	if (as->nid > 0)
		qsort(as->by_id, as->nid, sizeof(*as->by_id), cmp_by_id);
}

/* load_idents - this node's identities of every existing account in as */
static int
load_idents(struct store *st, struct accs *as)
{
	index_ids(as);
	if (store_uid_each(st, cur_uid, as) < 0 ||
	    store_gid_each(st, cur_gid, as) < 0 ||
	    store_domain_each(st, cur_domain, as) < 0 ||
	    store_sasl_each(st, cur_sasl, as) < 0 ||
	    store_relay_each(st, cur_relay, as) < 0)
		return -1;
	return 0;
}

/* --- export ----------------------------------------------------------- */

/* all_account - every account but the auto ones, which are this node's */
static int
all_account(const struct store_account *a, void *arg)
{
	struct accs *as = arg;
	struct acc *n;

	if (a->is_auto)
		return 0;
	as->v = ctl_xreallocarray(as->v, as->n + 1, sizeof(*as->v));
	n = &as->v[as->n++];
	memset(n, 0, sizeof(*n));
	n->exists = 1;
	n->local = *a;
	return 0;
}

static int
cmp_name(const void *a, const void *b)
{
	return strcmp(((const struct acc *)a)->name,
	    ((const struct acc *)b)->name);
}

/* export_one - one account, on a line of its own */
static void
export_one(FILE *fp, const struct acc *a)
{
	char	 buf[256];
	size_t	 k, j;
	int	 b;

	fputs("{\"name\":", fp);
	ctl_json_str(fp, a->local.name);
	fputs(",\"mode\":", fp);
	ctl_json_str(fp, over_mode_name(a->local.mode));
	fprintf(fp, ",\"blocked\":%s", a->local.blocked ? "true" : "false");
	fputs(",\"contact\":", fp);
	if (a->cur_contact[0] == '\0')
		fputs("null", fp);
	else
		ctl_json_str(fp, a->cur_contact);
	for (k = 0; k < ID_COUNT; k++) {
		fprintf(fp, ",\"%s\":[", idkey[k]);
		for (j = 0; j < a->cur[k].n; j++) {
			const struct ident *id = &a->cur[k].v[j];

			if (j)
				fputc(',', fp);
			if (k == ID_UID)
				fprintf(fp, "{\"lo\":%u,\"hi\":%u}", id->lo,
				    id->hi);
			else if (k == ID_GID)
				fprintf(fp, "%u", id->lo);
			else if (k == ID_RELAY) {
				fputs("{\"host\":", fp);
				ctl_json_str(fp, id->str);
				fprintf(fp, ",\"port\":%u}", id->port);
			} else
				ctl_json_str(fp, id->str);
		}
		fputc(']', fp);
	}
	fputs(",\"budgets\":{", fp);
	for (b = 0; b < BK_COUNT; b++) {
		if (b)
			fputc(',', fp);
		ctl_json_str(fp, budget_kind_name(b));
		fputc(':', fp);
		ctl_json_str(fp, a->local.has[b] ? budget_list_format(
		    &a->local.budget[b], buf, sizeof(buf)) : "default");
	}
	fputs("}}", fp);
}

/* load_contacts - each known account's contact ("" for none) */
static int
load_contacts(struct store *st, struct accs *as)
{
	size_t	 i;

	for (i = 0; i < as->n; i++)
		if (as->v[i].local.id > 0 && store_account_contact(st,
		    as->v[i].local.id, as->v[i].cur_contact,
		    sizeof(as->v[i].cur_contact)) == -1)
			return -1;
	return 0;
}

/* account_export - every account as one JSON document */
int
ctl_account_export(struct ctl *ctl, int argc, char **argv)
{
	struct accs as;
	struct store *st;
	size_t	 i;

	(void)argv;
	if (argc != 2)
		return ctl_usage_err("account", "account export: no arguments "
		    "expected");
	memset(&as, 0, sizeof(as));
	if ((st = ctl_store_read(ctl)) == NULL)
		return CTL_ERR;
	/* one snapshot: accounts and identities from the same moment */
	if (store_begin_read(st) == -1)
		return ctl_fail(ctl, 0);
	if (store_account_each(st, all_account, &as) < 0 ||
	    load_idents(st, &as) == -1 || load_contacts(st, &as) == -1) {
		accs_free(&as);
		return ctl_fail(ctl, 1);
	}
	store_commit(st);
	for (i = 0; i < as.n; i++)
		memcpy(as.v[i].name, as.v[i].local.name, sizeof(as.v[i].name));
	if (as.n > 0)
		qsort(as.v, as.n, sizeof(*as.v), cmp_name);
	printf("{\"format\":\"%s\",\"version\":%d,\"accounts\":[",
	    IO_FORMAT, IO_VERSION);
	for (i = 0; i < as.n; i++) {
		fputs(i ? ",\n" : "\n", stdout);
		export_one(stdout, &as.v[i]);
	}
	puts("\n]}");
	accs_free(&as);
	return CTL_OK;
}

/* --- import: reading and checking the file ----------------------------- */

/* bad - the one error line: file, account, field, line, reason */
static int __attribute__((format(printf, 5, 6)))
bad(const struct accs *as, const struct acc *a, const char *field,
    const struct json *at, const char *fmt, ...)
{
	char	 msg[512], where[200];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (a != NULL && a->name[0] != '\0')
		snprintf(where, sizeof(where), "account '%s': ", a->name);
	else if (a != NULL)
		snprintf(where, sizeof(where), "account #%zu: ",
		    (size_t)(a - as->v) + 1);
	else
		where[0] = '\0';
	return ctl_err("%s: line %u: %s%s%s%s", as->file, at ? at->line : 0,
	    where, field ? field : "", field ? ": " : "", msg);
}

/* want_type - at is of type t (JSON_TRUE standing for either boolean) */
static int
want_type(const struct accs *as, const struct acc *a, const char *field,
    const struct json *at, enum json_type t)
{
	if (at->type == t || (t == JSON_TRUE && at->type == JSON_FALSE))
		return 0;
	return bad(as, a, field, at, "want %s, not %s", json_type_name(t),
	    json_type_name(at->type));
}

/* quoted - a file string, made printable for an error line */
static const char *
quoted(const char *s, char *buf, size_t len)
{
	return ctl_clean(s, buf, len);
}

/* read_u32 - a number in 0..max */
static int
read_u32(const struct accs *as, const struct acc *a, const char *field,
    const struct json *v, uint32_t max, uint32_t *out)
{
	if (want_type(as, a, field, v, JSON_NUMBER) != 0)
		return -1;
	if (v->num > max)
		return bad(as, a, field, v, "%llu is out of range (0 to %u)",
		    (unsigned long long)v->num, max), -1;
	*out = (uint32_t)v->num;
	return 0;
}

/* read_domain - a DNS name, lower-cased as the store keeps it */
static int
read_domain(const char *s, char *out, size_t len)
{
	size_t	 i, n = strlen(s), lab = 0;

	if (n == 0 || n > 253 || n >= len)
		return -1;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '.') {
			if (lab == 0)
				return -1;
			lab = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_') {
			if (++lab > 63)
				return -1;
		} else
			return -1;
		out[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
	}
	out[n] = '\0';
	return lab == 0 || out[0] == '-' ? -1 : 0;
}

/* read_ident - one element of an identity list */
static int
read_ident(const struct accs *as, const struct acc *a, enum idkind k,
    const struct json *v, struct ident *id)
{
	const struct json *m, *lo, *hi, *host, *port;
	unsigned char bin[sizeof(struct in6_addr)];
	const char *f = idkey[k];
	char	 q[300];
	size_t	 i;

	memset(id, 0, sizeof(*id));
	switch (k) {
	case ID_UID:
		if (v->type == JSON_NUMBER) {
			if (read_u32(as, a, f, v, UID_MAX_OK, &id->lo) == -1)
				return -1;
			id->hi = id->lo;
			return 0;
		}
		if (want_type(as, a, f, v, JSON_OBJECT) != 0)
			return -1;
		for (m = v->child; m != NULL; m = m->next)
			if (strcmp(m->key, "lo") != 0 &&
			    strcmp(m->key, "hi") != 0)
				return bad(as, a, f, m, "unknown member '%s'",
				    quoted(m->key, q, sizeof(q)));
		if ((lo = json_member(v, "lo")) == NULL ||
		    (hi = json_member(v, "hi")) == NULL)
			return bad(as, a, f, v, "a range needs \"lo\" and "
			    "\"hi\"");
		if (read_u32(as, a, f, lo, UID_MAX_OK, &id->lo) == -1 ||
		    read_u32(as, a, f, hi, UID_MAX_OK, &id->hi) == -1)
			return -1;
		if (id->lo > id->hi)
			return bad(as, a, f, v, "range upside down %u-%u",
			    id->lo, id->hi);
		return 0;
	case ID_GID:
		if (read_u32(as, a, f, v, UID_MAX_OK, &id->lo) == -1)
			return -1;
		id->hi = id->lo;
		return 0;
	case ID_DOMAIN:
		if (want_type(as, a, f, v, JSON_STRING) != 0)
			return -1;
		if (read_domain(v->str, id->str, sizeof(id->str)) == -1)
			return bad(as, a, f, v, "not a domain name '%s'",
			    quoted(v->str, q, sizeof(q)));
		return 0;
	case ID_SASL:
		if (want_type(as, a, f, v, JSON_STRING) != 0)
			return -1;
		for (i = 0; v->str[i] != '\0'; i++)
			if ((unsigned char)v->str[i] <= ' ' ||
			    (unsigned char)v->str[i] == 0x7f)
				break;
		if (i == 0 || v->str[i] != '\0' || i > 255)
			return bad(as, a, f, v, "not a login name '%s'",
			    quoted(v->str, q, sizeof(q)));
		memcpy(id->str, v->str, i + 1);
		return 0;
	case ID_RELAY:
		if (want_type(as, a, f, v, JSON_OBJECT) != 0)
			return -1;
		for (m = v->child; m != NULL; m = m->next)
			if (strcmp(m->key, "host") != 0 &&
			    strcmp(m->key, "port") != 0)
				return bad(as, a, f, m, "unknown member '%s'",
				    quoted(m->key, q, sizeof(q)));
		if ((host = json_member(v, "host")) == NULL ||
		    (port = json_member(v, "port")) == NULL)
			return bad(as, a, f, v, "a relay needs \"host\" and "
			    "\"port\"");
		if (want_type(as, a, f, host, JSON_STRING) != 0 ||
		    read_u32(as, a, f, port, 65535, &id->lo) == -1)
			return -1;
		id->port = (uint16_t)id->lo;
		id->lo = 0;
		/* the canonical form, which the store compares */
		if (inet_pton(AF_INET, host->str, bin) == 1)
			inet_ntop(AF_INET, bin, id->str, sizeof(id->str));
		else if (inet_pton(AF_INET6, host->str, bin) == 1)
			inet_ntop(AF_INET6, bin, id->str, sizeof(id->str));
		else
			return bad(as, a, f, host, "not a numeric address "
			    "'%s'", quoted(host->str, q, sizeof(q)));
		return 0;
	default:
		return -1;
	}
}

/* read_idents - one identity list of the file, duplicates refused */
static int
read_idents(const struct accs *as, struct acc *a, enum idkind k,
    const struct json *v)
{
	const struct json *e;
	struct ident id;

	if (want_type(as, a, idkey[k], v, JSON_ARRAY) != 0)
		return -1;
	a->has_id[k] = 1;
	for (e = v->child; e != NULL; e = e->next) {
		if (read_ident(as, a, k, e, &id) != 0)
			return -1;
		if (idlist_has(k, &a->want[k], &id))
			return bad(as, a, idkey[k], e, "listed twice");
		idlist_add(&a->want[k], &id);
	}
	return 0;
}

/* read_budgets - {"KIND": "WINDOWS" | "unlimited" | "default"} */
static int
read_budgets(const struct accs *as, struct acc *a, const struct json *v)
{
	const struct json *m;
	const char *err = NULL;
	char	 q[300];
	int	 k, deflt = strcmp(a->name, STORE_DEFAULT_NAME) == 0;

	if (want_type(as, a, "budgets", v, JSON_OBJECT) != 0)
		return -1;
	for (m = v->child; m != NULL; m = m->next) {
		if ((k = budget_kind_from_name(m->key)) < 0)
			return bad(as, a, "budgets", m, "unknown budget kind "
			    "'%s'", quoted(m->key, q, sizeof(q)));
		if (want_type(as, a, m->key, m, JSON_STRING) != 0)
			return -1;
		a->has_bud[k] = 1;
		if (strcmp(m->str, "default") == 0) {
			a->clear[k] = 1;
			continue;
		}
		/* the catch-all account takes mail nobody claims */
		if (deflt && strcmp(m->str, "unlimited") == 0)
			return bad(as, a, m->key, m, "the default account "
			    "cannot be unlimited");
		memset(&a->lim[k], 0, sizeof(a->lim[k]));
		if (budget_list_parse(&a->lim[k], k, m->str, !deflt,
		    &err) == -1)
			return bad(as, a, m->key, m, "%s '%s'", err ? err :
			    "bad value", quoted(m->str, q, sizeof(q)));
	}
	return 0;
}

/* read_account - one element of "accounts" */
static int
read_account(struct accs *as, struct acc *a, const struct json *v)
{
	const struct json *m;
	char	 q[300];
	size_t	 i;
	int	 k;

	memset(a, 0, sizeof(*a));
	a->mode = a->blocked = -1;
	a->line = v->line;
	if (want_type(as, a, NULL, v, JSON_OBJECT) != 0)
		return -1;
	if ((m = json_member(v, "name")) == NULL)
		return bad(as, a, NULL, v, "no \"name\"");
	if (want_type(as, a, "name", m, JSON_STRING) != 0)
		return -1;
	if (!store_account_name_ok(m->str))
		return bad(as, a, "name", m, "bad account name '%s' (1 to 63 "
		    "of a-z 0-9 . _ -, starting with a letter or digit)",
		    quoted(m->str, q, sizeof(q)));
	snprintf(a->name, sizeof(a->name), "%s", m->str);
	for (i = 0; i < (size_t)(a - as->v); i++)
		if (strcmp(as->v[i].name, a->name) == 0)
			return bad(as, a, "name", m, "named twice (first on "
			    "line %u)", as->v[i].line);
	for (m = v->child; m != NULL; m = m->next) {
		if (strcmp(m->key, "name") == 0)
			continue;
		if (strcmp(m->key, "mode") == 0) {
			if (want_type(as, a, "mode", m, JSON_STRING) != 0)
				return -1;
			if ((a->mode = over_mode_from_name(m->str)) < 0)
				return bad(as, a, "mode", m, "not hold, defer, "
				    "reject or path '%s'",
				    quoted(m->str, q, sizeof(q)));
			continue;
		}
		if (strcmp(m->key, "blocked") == 0) {
			if (want_type(as, a, "blocked", m, JSON_TRUE) != 0)
				return -1;
			a->blocked = m->type == JSON_TRUE;
			continue;
		}
		if (strcmp(m->key, "contact") == 0) {
			const char *why;

			a->has_contact = 1;
			if (m->type == JSON_NULL)
				continue;
			if (want_type(as, a, "contact", m, JSON_STRING) != 0)
				return -1;
			if (!addr_ok(m->str, 0, &why))
				return bad(as, a, "contact", m, "%s '%s'", why,
				    quoted(m->str, q, sizeof(q)));
			snprintf(a->contact, sizeof(a->contact), "%s", m->str);
			continue;
		}
		if (strcmp(m->key, "budgets") == 0) {
			if (read_budgets(as, a, m) != 0)
				return -1;
			continue;
		}
		for (k = 0; k < ID_COUNT; k++)
			if (strcmp(m->key, idkey[k]) == 0)
				break;
		if (k == ID_COUNT)
			return bad(as, a, NULL, m, "unknown member '%s'",
			    quoted(m->key, q, sizeof(q)));
		if (read_idents(as, a, k, m) != 0)
			return -1;
	}
	return 0;
}

/* read_doc - the whole document into as; -1 after one error line */
static int
read_doc(struct accs *as, const struct json *doc)
{
	const struct json *m, *f, *ver, *list;
	char	 q[300];
	size_t	 i;

	if (want_type(as, NULL, NULL, doc, JSON_OBJECT) != 0)
		return -1;
	for (m = doc->child; m != NULL; m = m->next)
		if (strcmp(m->key, "format") != 0 &&
		    strcmp(m->key, "version") != 0 &&
		    strcmp(m->key, "accounts") != 0)
			return bad(as, NULL, NULL, m, "unknown member '%s'",
			    quoted(m->key, q, sizeof(q)));
	f = json_member(doc, "format");
	if (f == NULL || f->type != JSON_STRING ||
	    strcmp(f->str, IO_FORMAT) != 0)
		return bad(as, NULL, "format", f ? f : doc, "not a mailgov "
		    "account export (want \"format\":\"%s\")", IO_FORMAT);
	ver = json_member(doc, "version");
	if (ver == NULL || ver->type != JSON_NUMBER ||
	    ver->num != IO_VERSION)
		return bad(as, NULL, "version", ver ? ver : doc, "this "
		    "mailgovctl reads version %d only", IO_VERSION);
	if ((list = json_member(doc, "accounts")) == NULL)
		return bad(as, NULL, NULL, doc, "no \"accounts\"");
	if (want_type(as, NULL, "accounts", list, JSON_ARRAY) != 0)
		return -1;
	as->v = ctl_xreallocarray(NULL, list->n ? list->n : 1,
	    sizeof(*as->v));
	for (i = 0, m = list->child; m != NULL; m = m->next, i++) {
		as->n = i + 1;
		if (read_account(as, &as->v[i], m) != 0)
			return -1;
	}
	return 0;
}

/* read_file - the whole file (or standard input for "-"), bounded */
static char *
read_file(const char *path, size_t *len)
{
	FILE	*fp;
	char	*buf;
	size_t	 n = 0, r;
	int	 ioerr;

	if (strcmp(path, "-") == 0)
		fp = stdin;
	else if ((fp = fopen(path, "r")) == NULL) {
		ctl_err("%s: %s", path, strerror(errno));
		return NULL;
	}
	buf = ctl_xreallocarray(NULL, IO_MAX_BYTES + 1, 1);
	while (n <= IO_MAX_BYTES &&
	    (r = fread(buf + n, 1, IO_MAX_BYTES + 1 - n, fp)) > 0)
		n += r;
	ioerr = ferror(fp);
	if (fp != stdin)
		fclose(fp);
	if (ioerr || n > IO_MAX_BYTES) {
		if (ioerr)
			ctl_err("%s: read error", path);
		else
			ctl_err("%s: larger than %u bytes", path,
			    IO_MAX_BYTES);
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}

/* --- import: applying it ------------------------------------------------ */

/* Every account of this node, sorted by name, to find the file's in. */
struct names {
	struct store_account	*v;
	size_t			 n;
};

static int
names_add(const struct store_account *a, void *arg)
{
	struct names *ns = arg;

	ns->v = ctl_xreallocarray(ns->v, ns->n + 1, sizeof(*ns->v));
	ns->v[ns->n++] = *a;
	return 0;
}

static int
cmp_acc_name(const void *a, const void *b)
{
	return strcmp(((const struct store_account *)a)->name,
	    ((const struct store_account *)b)->name);
}

/* local_accounts - note what this node has of the file's accounts */
static int
local_accounts(struct store *st, struct accs *as)
{
	struct names ns = { NULL, 0 };
	struct store_account key, *hit;
	size_t	 i;

	if (store_account_each(st, names_add, &ns) < 0) {
		free(ns.v);
		return -1;
	}
	if (ns.n > 0)
		qsort(ns.v, ns.n, sizeof(*ns.v), cmp_acc_name);
	for (i = 0; i < as->n && ns.n > 0; i++) {
		memcpy(key.name, as->v[i].name, sizeof(key.name));
		hit = bsearch(&key, ns.v, ns.n, sizeof(*ns.v), cmp_acc_name);
		if (hit != NULL) {
			as->v[i].exists = 1;
			as->v[i].local = *hit;
		}
	}
	free(ns.v);
	if (load_contacts(st, as) == -1)
		return -1;
	return load_idents(st, as);
}

/* store_bad - a store refusal, with the account and field it concerns */
static int
store_bad(struct ctl *ctl, const struct accs *as, const struct acc *a,
    const char *field)
{
	ctl_err("%s: line %u: account '%s': %s: %s", as->file, a->line,
	    a->name, field, store_error(ctl->store));
	store_rollback(ctl->store);
	return CTL_ERR;
}

/* edit_ident - add or remove one identity */
static int
edit_ident(struct store *st, const char *name, enum idkind k,
    const struct ident *id, int del)
{
	switch (k) {
	case ID_UID:
		return del ? store_uid_del(st, name, id->lo, id->hi) :
		    store_uid_add(st, name, id->lo, id->hi);
	case ID_GID:
		return del ? store_gid_del(st, name, id->lo) :
		    store_gid_add(st, name, id->lo);
	case ID_DOMAIN:
		return del ? store_domain_del(st, name, id->str) :
		    store_domain_add(st, name, id->str);
	case ID_SASL:
		return del ? store_sasl_del(st, name, id->str) :
		    store_sasl_add(st, name, id->str);
	case ID_RELAY:
		return del ? store_relay_del(st, name, id->str, id->port) :
		    store_relay_add(st, name, id->str, id->port);
	default:
		return -1;
	}
}

/* idents - remove what this node has and the file does not (del), or
 * add what the file has and this node does not; *changed set on any */
static int
idents(struct ctl *ctl, const struct accs *as, struct acc *a, int del,
    int *changed)
{
	const struct idlist *from, *other;
	size_t	 k, i;

	for (k = 0; k < ID_COUNT; k++) {
		if (!a->has_id[k])
			continue;
		from = del ? &a->cur[k] : &a->want[k];
		other = del ? &a->want[k] : &a->cur[k];
		for (i = 0; i < from->n; i++) {
			if (idlist_has(k, other, &from->v[i]))
				continue;
			if (edit_ident(ctl->store, a->name, k, &from->v[i],
			    del) == -1)
				return store_bad(ctl, as, a, idkey[k]);
			*changed = 1;
		}
	}
	return CTL_OK;
}

/* settings - mode, budgets and a block; *changed set on any */
static int
settings(struct ctl *ctl, const struct accs *as, struct acc *a,
    int *changed)
{
	const struct budget *have;
	int	 k;

	if (a->mode >= 0 && a->mode != a->local.mode) {
		if (store_account_set_mode(ctl->store, a->name, a->mode) == -1)
			return store_bad(ctl, as, a, "mode");
		*changed = 1;
	}
	for (k = 0; k < BK_COUNT; k++) {
		if (!a->has_bud[k])
			continue;
		have = &a->local.budget[k];
		if (a->clear[k] ? !a->local.has[k] : (a->local.has[k] &&
		    budget_equal(have, &a->lim[k])))
			continue;
		if (store_budget_set(ctl->store, a->name, k,
		    a->clear[k] ? NULL : &a->lim[k]) == -1)
			return store_bad(ctl, as, a, budget_kind_name(k));
		*changed = 1;
	}
	if (a->has_contact && strcmp(a->contact, a->cur_contact) != 0) {
		if (store_account_set_contact(ctl->store, a->name,
		    a->contact) == -1)
			return store_bad(ctl, as, a, "contact");
		*changed = 1;
	}
	/* a block is lifted on purpose, one node at a time: never here */
	if (a->blocked == 1 && !a->local.blocked) {
		if (store_account_set_blocked(ctl->store, a->name, 1) == -1)
			return store_bad(ctl, as, a, "blocked");
		*changed = 1;
	}
	return CTL_OK;
}

/* apply - the whole file in the open transaction; counts what changed */
static int
apply(struct ctl *ctl, struct accs *as, int *changed, size_t *added,
    size_t *nchanged)
{
	size_t	 i;

	for (i = 0; i < as->n; i++)
		changed[i] = 0;
	/* removals first: an identity may move between two accounts */
	for (i = 0; i < as->n; i++)
		if (as->v[i].exists &&
		    idents(ctl, as, &as->v[i], 1, &changed[i]) != CTL_OK)
			return CTL_ERR;
	for (i = 0; i < as->n; i++) {
		if (as->v[i].exists)
			continue;
		if (store_account_add(ctl->store, as->v[i].name, 0,
		    NULL) == -1)
			return store_bad(ctl, as, &as->v[i], "name");
		if (store_account_get(ctl->store, as->v[i].name,
		    &as->v[i].local) == -1)
			return store_bad(ctl, as, &as->v[i], "name");
		changed[i] = 2;
	}
	for (i = 0; i < as->n; i++) {
		int c = 0;

		if (idents(ctl, as, &as->v[i], 0, &c) != CTL_OK ||
		    settings(ctl, as, &as->v[i], &c) != CTL_OK)
			return CTL_ERR;
		if (c && changed[i] == 0)
			changed[i] = 1;
	}
	*added = *nchanged = 0;
	for (i = 0; i < as->n; i++) {
		if (changed[i] == 2)
			(*added)++;
		else if (changed[i] == 1)
			(*nchanged)++;
	}
	return CTL_OK;
}

/* ctl_account_import - "account import FILE [--no-uids]" */
int
ctl_account_import(struct ctl *ctl, int argc, char **argv)
{
	struct accs as;
	struct json *doc = NULL;
	struct store *st;
	char	 err[300], *buf = NULL;
	const char *file = NULL;
	size_t	 len, i, added, nchanged;
	int	*changed = NULL, no_uids = 0, rc = CTL_ERR;

	memset(&as, 0, sizeof(as));
	for (i = 2; i < (size_t)argc; i++) {
		if (strcmp(argv[i], "--no-uids") == 0)
			no_uids = 1;
		else if (file == NULL && (argv[i][0] != '-' ||
		    strcmp(argv[i], "-") == 0))
			file = argv[i];
		else
			return ctl_usage_err("account", "account import: "
			    "unknown option or extra argument '%s'", argv[i]);
	}
	if (file == NULL)
		return ctl_usage_err("account", "account import: give a file "
		    "(- for standard input)");
	as.file = strcmp(file, "-") == 0 ? "standard input" : file;
	if ((buf = read_file(file, &len)) == NULL)
		return CTL_ERR;
	if ((doc = json_parse(buf, len, &io_limits, err,
	    sizeof(err))) == NULL) {
		ctl_err("%s: %s", as.file, err);
		goto out;
	}
	if (read_doc(&as, doc) != 0)
		goto out;
	/* UIDs and GIDs are each node's own: leave this node's as they are */
	if (no_uids)
		for (i = 0; i < as.n; i++)
			as.v[i].has_id[ID_UID] = as.v[i].has_id[ID_GID] = 0;
	if ((st = ctl_store(ctl)) == NULL)
		goto out;
	if (store_begin(st) == -1) {
		rc = ctl_fail(ctl, 0);
		goto out;
	}
	if (local_accounts(st, &as) == -1) {
		rc = ctl_fail(ctl, 1);
		goto out;
	}
	changed = ctl_xreallocarray(NULL, as.n ? as.n : 1, sizeof(*changed));
	if (apply(ctl, &as, changed, &added, &nchanged) != CTL_OK)
		goto out;
	if (added + nchanged == 0) {
		/* nothing written: not even the generation that makes
		 * mailgovd reload */
		store_rollback(st);
		printf("%s: nothing to change (%zu account%s as in the "
		    "file)\n", as.file, as.n, as.n == 1 ? "" : "s");
		rc = CTL_OK;
		goto out;
	}
	if (store_commit(st) == -1) {
		rc = ctl_fail(ctl, 1);
		goto out;
	}
	for (i = 0; i < as.n; i++)
		if (changed[i])
			printf("%s %s\n", changed[i] == 2 ? "added" :
			    "changed", as.v[i].name);
	printf("%s: %zu added, %zu changed, %zu unchanged\n", as.file, added,
	    nchanged, as.n - added - nchanged);
	rc = CTL_OK;
out:
	free(changed);
	json_free(doc);
	free(buf);
	accs_free(&as);
	return rc;
}
