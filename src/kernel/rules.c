/*
 * rules - render mailgov's netfilter rules from the templates in
 * rules_dir (see include/kernel/rules.h for the template language).
 *
 * Trusts: the configuration, already range-checked by config_load, and
 * the template text; an error in a template is reported with its line.
 * Nothing here runs a tool; rules_render_file only reads the template.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"

#define MAX_LISTS	4	/* distinct lists one template line may name */
#define MULTIPORT_MAX	15	/* iptables' multiport match takes 15 ports */
#define TLS_PORT	465	/* implicit TLS: never redirected */

/* A growing string. */
struct sbuf {
	char	*s;
	size_t	 len, size;
	int	 oom;
};

/* A scalar value, or a list of items with named fields. */
struct var {
	const char	*name;
	char		*val;		/* scalars; NULL for a list */
	const char	*const *fields;	/* lists: field names, NULL-ended */
	size_t		 nfields;
	size_t		 nitems;
	char		**items;	/* nitems * nfields values */
};

struct vars {
	struct var	v[32];
	size_t		n;
	int		oom;
};

static const char *const web_fields[] = { "KIND", "ID", NULL };
static const char *const closed_fields[] = { "PORTS", NULL };
static const char *const never_fields[] = { "UID", NULL };
static const char *const cap_fields[] = { "KIND", "ID", "LIMIT", "ACCOUNT",
	NULL };
static const char *const uchain_fields[] = { "NAME", NULL };
static const char *const unode_fields[] = { "CHAIN", "IDS", "NEXT", NULL };
static const char *const uleaf_fields[] = { "CHAIN", "ID", NULL };

/* sb_add - append n bytes */
static void
sb_add(struct sbuf *b, const char *p, size_t n)
{
	char	*ns;
	size_t	 size;

	if (b->oom)
		return;
	if (b->len + n + 1 > b->size) {
		size = b->size ? b->size : 1024;
		while (size < b->len + n + 1)
			size *= 2;
		if ((ns = realloc(b->s, size)) == NULL) {
			b->oom = 1;
			return;
		}
		b->s = ns;
		b->size = size;
	}
	memcpy(b->s + b->len, p, n);
	b->len += n;
	b->s[b->len] = '\0';
}

/* sb_str - append a string */
static void
sb_str(struct sbuf *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

/* var_scalar - define a scalar; val is copied */
static void
var_scalar(struct vars *vs, const char *name, const char *val)
{
	struct var *v;

	if (vs->n >= sizeof(vs->v) / sizeof(vs->v[0]))
		abort();	/* a programming error: the table is fixed */
	v = &vs->v[vs->n++];
	memset(v, 0, sizeof(*v));
	v->name = name;
	if ((v->val = strdup(val)) == NULL)
		vs->oom = 1;
}

/* var_list - define an empty list with the given fields */
static struct var *
var_list(struct vars *vs, const char *name, const char *const *fields)
{
	struct var *v;

	if (vs->n >= sizeof(vs->v) / sizeof(vs->v[0]))
		abort();
	v = &vs->v[vs->n++];
	memset(v, 0, sizeof(*v));
	v->name = name;
	v->fields = fields;
	while (fields[v->nfields] != NULL)
		v->nfields++;
	return v;
}

/* var_item - append an item; the nfields values are copied */
static void
var_item(struct vars *vs, struct var *v, ...)
{
	va_list	 ap;
	char	**items;
	size_t	 i;
	const char *s;

	if (vs->oom)
		return;
	items = realloc(v->items, (v->nitems + 1) * v->nfields *
	    sizeof(*items));
	if (items == NULL) {
		vs->oom = 1;
		return;
	}
	v->items = items;
	va_start(ap, v);
	for (i = 0; i < v->nfields; i++) {
		s = va_arg(ap, const char *);
		if ((items[v->nitems * v->nfields + i] = strdup(s)) == NULL)
			vs->oom = 1;
	}
	va_end(ap);
	v->nitems++;
}

/* vars_free - release every value */
static void
vars_free(struct vars *vs)
{
	size_t	 i, j;

	for (i = 0; i < vs->n; i++) {
		free(vs->v[i].val);
		for (j = 0; j < vs->v[i].nitems * vs->v[i].nfields; j++)
			free(vs->v[i].items[j]);
		free(vs->v[i].items);
	}
	vs->n = 0;
}

/* var_find - the variable called name[0..len) */
static struct var *
var_find(struct vars *vs, const char *name, size_t len)
{
	size_t	 i;

	for (i = 0; i < vs->n; i++)
		if (strlen(vs->v[i].name) == len &&
		    memcmp(vs->v[i].name, name, len) == 0)
			return &vs->v[i];
	return NULL;
}

/* ports_join - the ports as "25,587" (sep between them) */
static char *
ports_join(const uint16_t *p, size_t n, const char *sep)
{
	struct sbuf b = { NULL, 0, 0, 0 };
	char	 num[8];
	size_t	 i;

	sb_add(&b, "", 0);
	for (i = 0; i < n; i++) {
		snprintf(num, sizeof(num), "%u", p[i]);
		if (i > 0)
			sb_str(&b, sep);
		sb_str(&b, num);
	}
	if (b.oom) {
		free(b.s);
		return NULL;
	}
	return b.s;
}

/* port_in - is port among p[0..n) */
static int
port_in(const uint16_t *p, size_t n, uint16_t port)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (p[i] == port)
			return 1;
	return 0;
}

/* var_ports - define name as the ports joined by sep */
static void
var_ports(struct vars *vs, const char *name, const uint16_t *p, size_t n,
    const char *sep)
{
	char	*s;

	if ((s = ports_join(p, n, sep)) == NULL) {
		vs->oom = 1;
		return;
	}
	var_scalar(vs, name, s);
	free(s);
}

/* id_text - "64000-64099", or "64000" for a range of one */
static void
id_text(char *buf, size_t len, uint32_t lo, uint32_t hi)
{
	if (lo == hi)
		snprintf(buf, len, "%u", lo);
	else
		snprintf(buf, len, "%u-%u", lo, hi);
}

/* var_members - one "uid" item of web: nft's set of the UIDs r[0..n) */
static void
var_members(struct vars *vs, struct var *web, const struct uid_range *r,
    size_t n)
{
	struct sbuf b = { NULL, 0, 0, 0 };
	char	 id[32];
	size_t	 i;

	sb_str(&b, "{ ");
	for (i = 0; i < n; i++) {
		id_text(id, sizeof(id), r[i].lo, r[i].hi);
		if (i > 0)
			sb_str(&b, ", ");
		sb_str(&b, id);
	}
	sb_str(&b, " }");
	if (b.oom)
		vs->oom = 1;
	else
		var_item(vs, web, "uid", b.s);
	free(b.s);
}

/* rules_policy_port - see rules.h */
uint16_t
rules_policy_port(const struct config *c)
{
	const char *colon;
	unsigned long port;
	char	*end;

	/* config_load checked it: "host:port" or "[v6]:port", or "" */
	if (c->policy_tcp[0] == '\0' ||
	    (colon = strrchr(c->policy_tcp, ':')) == NULL)
		return 0;
	port = strtoul(colon + 1, &end, 10);
	return *end == '\0' && port > 0 && port <= 65535 ? (uint16_t)port : 0;
}

/* rules_closed_ports - see rules.h */
size_t
rules_closed_ports(const struct config *c, const uint16_t *extra, size_t n,
    uint16_t *out, size_t max)
{
	uint8_t	 on[65536 / 8];
	size_t	 i, k = 0;
	uint32_t p;

	memset(on, 0, sizeof(on));
#define SET(x)	(on[(x) / 8] |= (uint8_t)(1u << ((x) % 8)))
#define CLR(x)	(on[(x) / 8] &= (uint8_t)~(1u << ((x) % 8)))
	SET(c->relay_port);
	SET(rules_policy_port(c));
	for (i = 0; i < c->n_closed_ports; i++)
		SET(c->closed_ports[i]);
	for (i = 0; extra != NULL && i < n; i++)
		SET(extra[i]);
	/* web users are meant to reach these: the redirect takes them from
	 * an SMTP port to the queue instance (465 has rules of its own) */
	for (i = 0; i < c->n_smtp_ports; i++)
		CLR(c->smtp_ports[i]);
	CLR(c->queue_port);
	CLR(0);
	for (p = 1; p <= 65535 && k < max; p++)
		if (on[p / 8] & (1u << (p % 8)))
			out[k++] = (uint16_t)p;
#undef SET
#undef CLR
	return k;
}

/* var_closed - the CLOSED list: the closed ports as one item for nft,
 * in items of at most MULTIPORT_MAX for iptables */
static void
var_closed(struct vars *vs, const struct config *c, enum rules_target t,
    const struct rules_opts *o)
{
	struct var *v;
	uint16_t *ports;
	size_t	 n = o != NULL && o->closed != NULL ? o->n_closed : 0, k, i;
	size_t	 chunk = t == RULES_NFT ? 65535 : MULTIPORT_MAX;
	char	*s;

	v = var_list(vs, "CLOSED", closed_fields);
	if ((ports = calloc(RULES_CLOSED_MAX(n), sizeof(*ports))) == NULL) {
		vs->oom = 1;
		return;
	}
	k = rules_closed_ports(c, n ? o->closed : NULL, n, ports,
	    RULES_CLOSED_MAX(n));
	for (i = 0; i < k; i += chunk) {
		s = ports_join(ports + i, k - i < chunk ? k - i : chunk,
		    t == RULES_NFT ? ", " : ",");
		if (s == NULL) {
			vs->oom = 1;
			break;
		}
		var_item(vs, v, s);
		free(s);
	}
	free(ports);
}

/* utree_node - chain number me of the UID tree, over u[lo..hi): a leaf
 * of at most RULES_LEAF_UIDS UIDs, or two ranges, each to a subtree */
static void
utree_node(struct vars *vs, struct var *ch, struct var *node,
    struct var *leaf, const uint32_t *u, size_t lo, size_t hi,
    unsigned me, unsigned *next)
{
	char	 name[32], kid[32], ids[32];
	unsigned left, right;
	size_t	 i, mid;

	snprintf(name, sizeof(name), RULES_UCHAIN "%u", me);
	var_item(vs, ch, name);
	if (hi - lo <= RULES_LEAF_UIDS) {
		for (i = lo; i < hi; i++) {
			snprintf(ids, sizeof(ids), "%u", u[i]);
			var_item(vs, leaf, name, ids);
		}
		return;
	}
	mid = lo + (hi - lo) / 2;
	left = (*next)++;
	right = (*next)++;
	snprintf(kid, sizeof(kid), RULES_UCHAIN "%u", left);
	id_text(ids, sizeof(ids), u[lo], u[mid - 1]);
	var_item(vs, node, name, ids, kid);
	snprintf(kid, sizeof(kid), RULES_UCHAIN "%u", right);
	id_text(ids, sizeof(ids), u[mid], u[hi - 1]);
	var_item(vs, node, name, ids, kid);
	utree_node(vs, ch, node, leaf, u, lo, mid, left, next);
	utree_node(vs, ch, node, leaf, u, mid, hi, right, next);
}

/* var_utree - the UID tree of rules_opts (rules.h), iptables only: a
 * lookup walks about 2 log2(n / RULES_LEAF_UIDS) range rules and its
 * leaf, not a rule per web user */
static void
var_utree(struct vars *vs, enum rules_target t, const struct rules_opts *o)
{
	struct var *ch, *node, *leaf;
	unsigned next = 1;
	int	 on = t != RULES_NFT && o != NULL && o->uids != NULL &&
		    o->n_uids > 0;

	var_scalar(vs, "UTREE", on ? RULES_UCHAIN "0" : "");
	ch = var_list(vs, "UCHAIN", uchain_fields);
	node = var_list(vs, "UNODE", unode_fields);
	leaf = var_list(vs, "ULEAF", uleaf_fields);
	if (on)
		utree_node(vs, ch, node, leaf, o->uids, 0, o->n_uids, 0,
		    &next);
}

/* var_norate - the accounts syn_rate leaves alone, as KIND and ID */
static void
var_norate(struct vars *vs, const struct rules_opts *o)
{
	struct var *v = var_list(vs, "NORATE", web_fields);
	const struct rules_cap *k;
	char	 buf[32];
	size_t	 i;

	for (i = 0; o != NULL && o->norate != NULL && i < o->norate->n;
	    i++) {
		k = &o->norate->v[i];
		id_text(buf, sizeof(buf), k->lo, k->hi);
		var_item(vs, v, k->is_gid ? "gid" : "uid", buf);
	}
}

/* define - every value a template may use, for target */
static int
define(struct vars *vs, const struct config *c, enum rules_target t,
    const struct rules_opts *o, const char *tmpl_name, char *err,
    size_t errlen)
{
	uint16_t redirect[CONFIG_MAX_PORTS], tls[CONFIG_MAX_PORTS];
	uint16_t capp[CONFIG_MAX_PORTS + 1];
	size_t	 nredirect = 0, ntls = 0, ncap = 0, i;
	const char *sep = t == RULES_NFT ? ", " : ",";
	struct var *web, *cap, *never;
	char	 buf[64], lim[24];
	const struct rules_cap *k;

	for (i = 0; i < c->n_smtp_ports; i++) {
		if (c->smtp_ports[i] == TLS_PORT)
			tls[ntls++] = c->smtp_ports[i];
		else
			redirect[nredirect++] = c->smtp_ports[i];
		if (!port_in(capp, ncap, c->smtp_ports[i]))
			capp[ncap++] = c->smtp_ports[i];
	}
	if (!port_in(capp, ncap, c->queue_port))
		capp[ncap++] = c->queue_port;
	if (t != RULES_NFT && ncap > MULTIPORT_MAX) {
		snprintf(err, errlen, "%s: iptables' multiport match takes at "
		    "most %d ports; smtp_ports and queue_port make %zu",
		    tmpl_name, MULTIPORT_MAX, ncap);
		return -1;
	}

	var_scalar(vs, "TEMPLATE", tmpl_name);
	var_scalar(vs, "FAMILY", t == RULES_IPV4 ? "IPv4" :
	    t == RULES_IPV6 ? "IPv6" : "IPv4 and IPv6");
	var_scalar(vs, "LOOPBACK", t == RULES_IPV4 ? "127.0.0.1/32" :
	    t == RULES_IPV6 ? "::1/128" : "");
	snprintf(buf, sizeof(buf), "%u", c->queue_num);
	var_scalar(vs, "QUEUE_NUM", buf);
	snprintf(buf, sizeof(buf), "%u", c->queue_port);
	var_scalar(vs, "QUEUE_PORT", buf);
	snprintf(buf, sizeof(buf), "%u", c->relay_port);
	var_scalar(vs, "RELAY_PORT", buf);
	snprintf(buf, sizeof(buf), "0x%x", c->mark_mask);
	var_scalar(vs, "MARK_MASK", buf);
	snprintf(buf, sizeof(buf), "0x%x", c->mark_allow);
	var_scalar(vs, "MARK_ALLOW", buf);
	snprintf(buf, sizeof(buf), "0x%x", c->mark_reject);
	var_scalar(vs, "MARK_REJECT", buf);

	var_ports(vs, "SMTP_PORTS", c->smtp_ports, c->n_smtp_ports, sep);
	var_ports(vs, "REDIRECT_PORTS", redirect, nredirect, sep);
	var_ports(vs, "TLS_PORTS", tls, ntls, sep);
	var_ports(vs, "CAP_PORTS", capp, ncap, sep);

	/* The default cap; connlimit and ct count take 32 bits. */
	if (c->budget[BK_CONN].w[0].limit <= UINT32_MAX)
		snprintf(buf, sizeof(buf), "%llu",
		    (unsigned long long)c->budget[BK_CONN].w[0].limit);
	else
		buf[0] = '\0';
	var_scalar(vs, "CONN_DEFAULT", buf);
	var_scalar(vs, "NFT_QUEUE", o != NULL && o->nft_queue ? "yes" : "");
	/* syn_rate 0: no limit, and the lines that limit drop */
	if (c->syn_rate > 0 && (o == NULL || !o->syn_rate_off))
		snprintf(buf, sizeof(buf), "%u", c->syn_rate);
	else
		buf[0] = '\0';
	var_scalar(vs, "SYN_RATE", buf);
	snprintf(buf, sizeof(buf), "%u", c->syn_burst);
	var_scalar(vs, "SYN_BURST", buf);
	var_norate(vs, o);
	var_utree(vs, t, o);

	web = var_list(vs, "WEB", web_fields);
	for (i = 0; i < c->n_web_uids; i++) {
		id_text(buf, sizeof(buf), c->web_uids[i].lo,
		    c->web_uids[i].hi);
		var_item(vs, web, "uid", buf);
	}
	/* A member of a web group is a web user whether the group is its
	 * file group (after sg or newgrp, or a setgid program) or only a
	 * supplementary one. */
	for (i = 0; i < c->n_web_gids; i++) {
		snprintf(buf, sizeof(buf), t == RULES_NFT ? "%u" :
		    "%u --suppl-groups", c->web_gids[i]);
		var_item(vs, web, "gid", buf);
	}
	if (t == RULES_NFT && o != NULL && o->n_members > 0)
		var_members(vs, web, o->members, o->n_members);

	var_closed(vs, c, t, o);
	/* nft needs none: skgid is a socket's own group, and the members'
	 * set leaves these UIDs out */
	never = var_list(vs, "NEVER", never_fields);
	for (i = 0; t != RULES_NFT && c->n_web_gids > 0 && o != NULL &&
	    o->never != NULL && i < o->n_never; i++) {
		snprintf(buf, sizeof(buf), "%u", o->never[i]);
		var_item(vs, never, buf);
	}

	cap = var_list(vs, "CAP", cap_fields);
	for (i = 0; o != NULL && o->caps != NULL && i < o->caps->n; i++) {
		k = &o->caps->v[i];
		/* unlimited: an empty LIMIT drops the lines that cap, and
		 * keeps those that only exempt it from the default cap */
		id_text(buf, sizeof(buf), k->lo, k->hi);
		if (k->limit > UINT32_MAX)
			lim[0] = '\0';
		else
			snprintf(lim, sizeof(lim), "%llu",
			    (unsigned long long)k->limit);
		var_item(vs, cap, k->is_gid ? "gid" : "uid", buf, lim,
		    k->account);
	}
	if (vs->oom) {
		snprintf(err, errlen, "%s: out of memory", tmpl_name);
		return -1;
	}
	return 0;
}

/* A placeholder found on a line. */
struct ph {
	const char	*start;		/* at the opening '@' */
	size_t		 len;		/* through the closing '@' */
	struct var	*var;
	size_t		 field;		/* lists: the field's index */
};

/* is_name_char - may c appear in a placeholder name */
static int
is_name_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
	    c == '.';
}

/*
 * next_ph - the next placeholder in p[0..n): '@', an upper-case letter,
 * name characters, '@'.  Anything else ("@connlimit") is plain text.
 */
static const char *
next_ph(const char *p, size_t n, size_t *len)
{
	size_t	 i, j;

	for (i = 0; i < n; i++) {
		if (p[i] != '@' || i + 1 >= n || p[i + 1] < 'A' ||
		    p[i + 1] > 'Z')
			continue;
		for (j = i + 1; j < n && is_name_char(p[j]); j++)
			;
		if (j < n && p[j] == '@') {
			*len = j - i + 1;
			return p + i;
		}
	}
	return NULL;
}

/* resolve - look a placeholder up; -1 with err set when unknown */
static int
resolve(struct vars *vs, struct ph *ph, const char *where, char *err,
    size_t errlen)
{
	const char *name = ph->start + 1, *dot;
	size_t	 nlen = ph->len - 2, i;

	dot = memchr(name, '.', nlen);
	ph->var = var_find(vs, name, dot ? (size_t)(dot - name) : nlen);
	if (ph->var == NULL || (dot == NULL) != (ph->var->val != NULL))
		goto unknown;
	if (dot == NULL)
		return 0;
	for (i = 0; i < ph->var->nfields; i++)
		if (strlen(ph->var->fields[i]) == nlen - (size_t)(dot + 1 -
		    name) && memcmp(ph->var->fields[i], dot + 1,
		    nlen - (size_t)(dot + 1 - name)) == 0) {
			ph->field = i;
			return 0;
		}
unknown:
	snprintf(err, errlen, "%s: unknown placeholder %.*s", where,
	    (int)ph->len > 64 ? 64 : (int)ph->len, ph->start);
	return -1;
}

/* emit_line - expand one template line (without its newline) into out */
static int
emit_line(struct vars *vs, const char *line, size_t n, struct sbuf *out,
    const char *where, char *err, size_t errlen)
{
	struct ph ph[32];
	struct var *lists[MAX_LISTS];
	size_t	 idx[MAX_LISTS];
	size_t	 nph = 0, nlists = 0, i, j, len, mark;
	const char *p = line, *q, *val;
	int	 drop;

	while ((q = next_ph(p, n - (size_t)(p - line), &len)) != NULL) {
		if (nph >= sizeof(ph) / sizeof(ph[0])) {
			snprintf(err, errlen, "%s: too many placeholders",
			    where);
			return -1;
		}
		ph[nph].start = q;
		ph[nph].len = len;
		if (resolve(vs, &ph[nph], where, err, errlen) == -1)
			return -1;
		/* An empty value or list drops the whole line. */
		if (ph[nph].var->val != NULL && ph[nph].var->val[0] == '\0')
			return 0;
		if (ph[nph].var->val == NULL) {
			if (ph[nph].var->nitems == 0)
				return 0;
			for (j = 0; j < nlists; j++)
				if (lists[j] == ph[nph].var)
					break;
			if (j == nlists) {
				if (nlists == MAX_LISTS) {
					snprintf(err, errlen, "%s: more than "
					    "%d lists on one line", where,
					    MAX_LISTS);
					return -1;
				}
				lists[nlists++] = ph[nph].var;
			}
		}
		nph++;
		p = q + len;
	}

	/* Every combination of the lists' items, the first list slowest. */
	memset(idx, 0, sizeof(idx));
	for (;;) {
		mark = out->len;
		drop = 0;
		p = line;
		for (i = 0; i < nph; i++) {
			sb_add(out, p, (size_t)(ph[i].start - p));
			if (ph[i].var->val != NULL)
				val = ph[i].var->val;
			else {
				for (j = 0; lists[j] != ph[i].var; j++)
					;
				val = ph[i].var->items[idx[j] *
				    ph[i].var->nfields + ph[i].field];
				/* an empty field drops this item's line */
				if (val[0] == '\0')
					drop = 1;
			}
			sb_str(out, val);
			p = ph[i].start + ph[i].len;
		}
		sb_add(out, p, n - (size_t)(p - line));
		sb_add(out, "\n", 1);
		if (drop && out->s != NULL && out->len >= mark) {
			out->len = mark;
			out->s[mark] = '\0';
		}
		for (j = nlists; j > 0; j--) {
			if (++idx[j - 1] < lists[j - 1]->nitems)
				break;
			idx[j - 1] = 0;
		}
		if (j == 0)
			break;
	}
	return 0;
}

/* directive - is the trimmed line "@if NAME@", "@else@" or "@endif@" */
static int
directive(const char *line, size_t n, const char **name, size_t *nlen)
{
	while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t' ||
	    line[n - 1] == '\r'))
		n--;
	while (n > 0 && (*line == ' ' || *line == '\t')) {
		line++;
		n--;
	}
	if (n == 6 && memcmp(line, "@else@", 6) == 0)
		return 2;
	if (n == 7 && memcmp(line, "@endif@", 7) == 0)
		return 3;
	if (n > 5 && memcmp(line, "@if ", 4) == 0 && line[n - 1] == '@') {
		*name = line + 4;
		*nlen = n - 5;
		return 1;
	}
	return 0;
}

/* rules_render - see rules.h */
char *
rules_render(const char *tmpl, size_t len, const char *name,
    const struct config *c, enum rules_target t, const struct rules_opts *o,
    char *err, size_t errlen)
{
	struct vars vs;
	struct sbuf out = { NULL, 0, 0, 0 };
	struct var *v;
	const char *p = tmpl, *end = tmpl + len, *nl, *s, *cname;
	char	 where[128];
	int	 keep[16], depth = 0, seen_else[16], lineno = 0, d, on = 1;
	size_t	 n, nlen, i;

	memset(&vs, 0, sizeof(vs));
	if (define(&vs, c, t, o, name, err, errlen) == -1)
		goto fail;
	sb_add(&out, "", 0);
	for (; p < end; p = nl < end ? nl + 1 : end) {
		lineno++;
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		n = (size_t)(nl - p);
		snprintf(where, sizeof(where), "%s:%d", name, lineno);
		for (s = p; s < nl && (*s == ' ' || *s == '\t'); s++)
			;
		if (nl - s >= 2 && s[0] == '#' && s[1] == '#')
			continue;	/* a note for the reader */
		switch ((d = directive(p, n, &cname, &nlen))) {
		case 1:
			if (depth == (int)(sizeof(keep) / sizeof(keep[0]))) {
				snprintf(err, errlen, "%s: @if nested too "
				    "deep", where);
				goto fail;
			}
			if ((v = var_find(&vs, cname, nlen)) == NULL) {
				snprintf(err, errlen, "%s: unknown name in "
				    "@if: %.*s", where, nlen > 64 ? 64 :
				    (int)nlen, cname);
				goto fail;
			}
			keep[depth] = v->val != NULL ? v->val[0] != '\0' :
			    v->nitems > 0;
			seen_else[depth++] = 0;
			break;
		case 2:
		case 3:
			if (depth == 0 || (d == 2 && seen_else[depth - 1])) {
				snprintf(err, errlen, "%s: %s without @if",
				    where, d == 2 ? "@else@" : "@endif@");
				goto fail;
			}
			if (d == 2) {
				keep[depth - 1] = !keep[depth - 1];
				seen_else[depth - 1] = 1;
			} else
				depth--;
			break;
		}
		for (on = 1, i = 0; i < (size_t)depth; i++)
			on = on && keep[i];
		if (d != 0 || !on)
			continue;
		if (emit_line(&vs, p, n, &out, where, err, errlen) == -1)
			goto fail;
	}
	if (depth != 0) {
		snprintf(err, errlen, "%s: @if without @endif@ at the end",
		    name);
		goto fail;
	}
	if (out.oom) {
		snprintf(err, errlen, "%s: out of memory", name);
		goto fail;
	}
	vars_free(&vs);
	return out.s;
fail:
	vars_free(&vs);
	free(out.s);
	return NULL;
}

/* rules_template - the template of target */
const char *
rules_template(enum rules_target t)
{
	return t == RULES_NFT ? RULES_NFTABLES_IN : RULES_IPTABLES_IN;
}

/* rules_section - see rules.h */
char *
rules_section(const char *text, const char *table)
{
	struct sbuf out = { NULL, 0, 0, 0 };
	const char *p, *nl;
	size_t	 tlen = strlen(table), n;
	int	 in = 0, found = 0, started = 0;

	sb_add(&out, "", 0);
	for (p = text; *p != '\0'; p = nl + 1) {
		if ((nl = strchr(p, '\n')) == NULL)
			nl = p + strlen(p);
		n = (size_t)(nl - p);
		if (*p == '*') {
			started = 1;
			in = n == tlen + 1 && memcmp(p + 1, table, tlen) == 0;
			found |= in;
		}
		if (in || !started)
			sb_add(&out, p, n + (*nl == '\n'));
		if (in && n == 6 && memcmp(p, "COMMIT", 6) == 0)
			in = 0;
		if (*nl == '\0')
			break;
	}
	if (!found || out.oom) {
		free(out.s);
		return NULL;
	}
	return out.s;
}

/* cap_push - append one cap item */
static int
cap_push(struct rules_caps *cs, const char *account, int is_gid,
    uint32_t lo, uint32_t hi, uint64_t limit)
{
	struct rules_cap *v, *k;
	size_t	 size, i;

	if (cs->n == cs->size) {
		size = cs->size ? cs->size * 2 : 16;
		if ((v = realloc(cs->v, size * sizeof(*v))) == NULL)
			return -1;
		cs->v = v;
		cs->size = size;
	}
	k = &cs->v[cs->n++];
	memset(k, 0, sizeof(*k));
	/* Account names are [a-z0-9._-]; anything else cannot reach a
	 * rule comment. */
	for (i = 0; account[i] != '\0' && i < sizeof(k->account) - 1; i++)
		k->account[i] = (account[i] >= 'a' && account[i] <= 'z') ||
		    (account[i] >= '0' && account[i] <= '9') ||
		    account[i] == '.' || account[i] == '_' ||
		    account[i] == '-' ? account[i] : '_';
	k->is_gid = is_gid;
	k->lo = lo;
	k->hi = hi;
	k->limit = limit;
	return 0;
}

/* rules_caps_add_uids - see rules.h */
int
rules_caps_add_uids(struct rules_caps *cs, const struct config *c,
    const char *account, uint32_t lo, uint32_t hi, uint64_t limit)
{
	size_t	 i;
	uint32_t a, b;

	for (i = 0; i < c->n_web_uids; i++) {
		a = lo > c->web_uids[i].lo ? lo : c->web_uids[i].lo;
		b = hi < c->web_uids[i].hi ? hi : c->web_uids[i].hi;
		if (a <= b && cap_push(cs, account, 0, a, b, limit) == -1)
			return -1;
	}
	return 0;
}

/* rules_caps_add_gid - see rules.h */
int
rules_caps_add_gid(struct rules_caps *cs, const struct config *c,
    const char *account, uint32_t gid, uint64_t limit)
{
	size_t	 i;

	for (i = 0; i < c->n_web_gids; i++)
		if (c->web_gids[i] == gid)
			return cap_push(cs, account, 1, gid, gid, limit);
	return 0;
}

/* rules_caps_free - release the items */
void
rules_caps_free(struct rules_caps *cs)
{
	free(cs->v);
	memset(cs, 0, sizeof(*cs));
}

/* rules_render_file - read rules_dir/template of target and render it */
char *
rules_render_file(const struct config *c, enum rules_target t,
    const struct rules_opts *o, char *err, size_t errlen)
{
	char	 path[CONFIG_PATHLEN + 32], *buf = NULL, *out = NULL, *nb;
	size_t	 len = 0, size = 0, r;
	FILE	*fp;

	snprintf(path, sizeof(path), "%s/%s", c->rules_dir, rules_template(t));
	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	for (;;) {
		if (len + 4096 > size) {
			if (size >= (1 << 20)) {
				snprintf(err, errlen, "%s: larger than 1 MB",
				    path);
				goto done;
			}
			size = size ? size * 2 : 8192;
			if ((nb = realloc(buf, size)) == NULL) {
				snprintf(err, errlen, "%s: out of memory",
				    path);
				goto done;
			}
			buf = nb;
		}
		r = fread(buf + len, 1, size - len, fp);
		len += r;
		if (r == 0)
			break;
	}
	if (ferror(fp)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto done;
	}
	out = rules_render(buf, len, rules_template(t), c, t, o, err, errlen);
done:
	fclose(fp);
	free(buf);
	return out;
}
