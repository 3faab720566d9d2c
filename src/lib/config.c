/*
 * config - mailgov.conf: "key = value" lines, whole-line '#' comments and
 * blank lines.  The file is trusted no more than any other input: it is
 * bounded (1 MiB, 1024-byte lines), every key is known, every value is
 * checked against its documented bounds, and an error names the file, the
 * line and the key in one line.  A file is applied all or nothing: on any
 * error the caller's struct config is left as it was.
 *
 * Also here: the budget and mode names shared by the daemon, the database
 * and mailgovctl, the "N/DURATION" budget syntax, and who the web groups'
 * members are (looked up in the passwd and group databases when asked).
 *
 * Trusts: nothing in the file: lines, keys and values are bounded and
 * checked, and a bad file changes nothing.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "budget.h"
#include "config.h"
#include "log.h"
#include "num.h"

#define LINE_MAX_LEN	1024		/* bytes, without the line end */
#define FILE_MAX_LEN	(1024 * 1024)
#define ITEM_MAX_LEN	64		/* one element of a comma list */
#define USER_MAX_LEN	32		/* what useradd accepts */
#define SOCK_MAX_LEN	(sizeof(((struct sockaddr_un *)0)->sun_path) - 1)
#define WINDOW_MAX_S	(365 * 86400ULL)	/* longest budget window */
#define US_PER_S	1000000ULL

static const char *const kind_names[BK_COUNT] = {
	[BK_MESSAGES] = "messages",
	[BK_RECIPIENTS] = "recipients",
	[BK_NEW_CONN] = "new_connections",
	[BK_RCPT_MSG] = "recipients_per_message",
	[BK_CONN] = "connections",
};

#define W(lim, secs)	{ (lim), (secs) * US_PER_S, 0 }
static const struct budget kind_defaults[BK_COUNT] = {
	[BK_MESSAGES] = { 2, { W(100, 3600), W(1000, 86400) } },
	[BK_RECIPIENTS] = { 1, { W(2000, 86400) } },
	[BK_NEW_CONN] = { 1, { W(30, 60) } },
	[BK_RCPT_MSG] = { 1, { W(50, 0) } },
	[BK_CONN] = { 1, { W(10, 0) } },
};
#undef W

/* The older spellings: one window of a rate each (config.h). */
static const struct old_name {
	const char		*name;
	enum budget_kind	 kind;
	unsigned		 win;		/* its place in the old model */
	unsigned		 slots;		/* the old model's windows */
	uint64_t		 period_s;	/* when a value has none */
} old_names[] = {
	{ "messages_per_hour", BK_MESSAGES, 0, 2, 3600 },
	{ "messages_per_day", BK_MESSAGES, 1, 2, 86400 },
	{ "recipients_per_day", BK_RECIPIENTS, 0, 1, 86400 },
	{ "connections_per_minute", BK_NEW_CONN, 0, 1, 60 },
};
#define N_OLD	(sizeof(old_names) / sizeof(old_names[0]))

static const char *const mode_names[] = {
	[MODE_PATH] = "path",
	[MODE_HOLD] = "hold",
	[MODE_DEFER] = "defer",
	[MODE_REJECT] = "reject",
};
#define N_MODES	(sizeof(mode_names) / sizeof(mode_names[0]))

/* budget_kind_name - the stable name of a kind, as in config and CLI */
const char *
budget_kind_name(enum budget_kind k)
{
	if ((unsigned)k >= BK_COUNT)
		return "?";
	return kind_names[k];
}

/* budget_kind_from_name - the kind called name, or -1 */
int
budget_kind_from_name(const char *name)
{
	int	 k;

	if (name == NULL)
		return -1;
	for (k = 0; k < BK_COUNT; k++)
		if (strcmp(name, kind_names[k]) == 0)
			return k;
	return -1;
}

/* budget_kind_is_cap - a cap limits a count at one time, not a rate */
int
budget_kind_is_cap(enum budget_kind k)
{
	return k == BK_RCPT_MSG || k == BK_CONN;
}

/* budget_default - the built-in default of a kind */
const struct budget *
budget_default(enum budget_kind k)
{
	if ((unsigned)k >= BK_COUNT)
		return &kind_defaults[BK_MESSAGES];
	return &kind_defaults[k];
}

/* over_mode_name - "path", "hold", "defer" or "reject" */
const char *
over_mode_name(enum over_mode m)
{
	if ((unsigned)m >= N_MODES)
		return "?";
	return mode_names[m];
}

/* over_mode_from_name - the mode called name, or -1 */
int
over_mode_from_name(const char *name)
{
	size_t	 m;

	if (name == NULL)
		return -1;
	for (m = 0; m < N_MODES; m++)
		if (strcmp(name, mode_names[m]) == 0)
			return (int)m;
	return -1;
}

/*
 * budget_parse - "N", "N/DURATION" or "unlimited".  A dflt_period_s of 0
 * marks a cap: it takes no window, and its period_us stays 0.
 */
int
budget_parse(const char *s, uint64_t dflt_period_s, int allow_unlimited,
    struct budget_limit *out, const char **err)
{
	char	 num[32];
	const char *slash, *e, *dummy;
	uint64_t limit, secs = dflt_period_s;
	size_t	 n;

	if (err == NULL)
		err = &dummy;
	if (s == NULL || *s == '\0') {
		*err = "empty";
		return -1;
	}
	if (strcmp(s, "unlimited") == 0) {
		if (!allow_unlimited) {
			*err = "unlimited is not allowed here";
			return -1;
		}
		limit = BUDGET_UNLIMITED;
		goto done;
	}
	slash = strchr(s, '/');
	n = slash ? (size_t)(slash - s) : strlen(s);
	if (n >= sizeof(num)) {
		*err = "too large";
		return -1;
	}
	memcpy(num, s, n);
	num[n] = '\0';
	/* UINT64_MAX is BUDGET_UNLIMITED, which has its own spelling */
	if (num_u64(num, 0, UINT64_MAX - 1, 0, &limit, err) == -1)
		return -1;
	if (slash != NULL) {
		if (dflt_period_s == 0) {
			*err = "a cap takes no window";
			return -1;
		}
		if (num_duration(slash + 1, 1, WINDOW_MAX_S, &secs, &e) == -1) {
			if (strcmp(e, "too small") == 0)
				*err = "window too short (min 1s)";
			else if (strcmp(e, "too large") == 0)
				*err = "window too long (max 365d)";
			else
				*err = "window is not a duration";
			return -1;
		}
	}
done:
	if (__builtin_mul_overflow(secs, US_PER_S, &out->period_us)) {
		*err = "window too long";
		return -1;
	}
	out->limit = limit;
	out->burst = 0;
	return 0;
}

/*
 * budget_format - "unlimited", "N" for a cap (no window), else
 * "N/DURATION" in the largest unit that is exact.  XXX a period that is
 * not whole seconds cannot be written in budget_parse's syntax; it is
 * shown rounded up to the next second.
 */
char *
budget_format(const struct budget_limit *l, char *buf, size_t len)
{
	uint64_t secs;
	const char *unit = "s";

	if (len == 0)
		return buf;
	if (l->limit == BUDGET_UNLIMITED) {
		snprintf(buf, len, "unlimited");
		return buf;
	}
	if (l->period_us == 0) {
		snprintf(buf, len, "%" PRIu64, l->limit);
		return buf;
	}
	secs = l->period_us / US_PER_S + (l->period_us % US_PER_S != 0);
	if (secs % 86400 == 0)
		secs /= 86400, unit = "d";
	else if (secs % 3600 == 0)
		secs /= 3600, unit = "h";
	else if (secs % 60 == 0)
		secs /= 60, unit = "m";
	snprintf(buf, len, "%" PRIu64 "/%" PRIu64 "%s", l->limit, secs, unit);
	return buf;
}

/* budget_is_unlimited - nothing limits this kind */
int
budget_is_unlimited(const struct budget *b)
{
	return b->n == 0 || b->w[0].limit == BUDGET_UNLIMITED;
}

/* budget_equal - the same windows in the same order */
int
budget_equal(const struct budget *a, const struct budget *b)
{
	unsigned i;

	if (a->n != b->n)
		return 0;
	for (i = 0; i < a->n; i++)
		if (a->w[i].limit != b->w[i].limit ||
		    a->w[i].period_us != b->w[i].period_us ||
		    a->w[i].burst != b->w[i].burst)
			return 0;
	return 1;
}

/* budget_add - one more value of kind k into b, checked (config.h) */
int
budget_add(struct budget *b, enum budget_kind k, const char *v,
    int allow_unlimited, const char **err)
{
	struct budget_limit l;
	const char *dummy;
	int	 cap = budget_kind_is_cap(k);
	unsigned i;

	if (err == NULL)
		err = &dummy;
	if ((unsigned)k >= BK_COUNT) {
		*err = "unknown budget kind";
		return -1;
	}
	if (b->n > 0 && budget_is_unlimited(b)) {
		*err = "unlimited stands alone";
		return -1;
	}
	if (budget_parse(v, cap ? 0 : 1, allow_unlimited, &l, err) == -1)
		return -1;
	if (l.limit == BUDGET_UNLIMITED) {
		if (b->n > 0) {
			*err = "unlimited stands alone";
			return -1;
		}
		l.period_us = 0;
	} else if (cap) {
		if (b->n > 0) {
			*err = "a cap takes one value";
			return -1;
		}
	} else {
		/* a rate says its window: "100" alone is not one */
		if (strchr(v, '/') == NULL) {
			*err = "a rate needs a window: N/DURATION, e.g. 100/1h";
			return -1;
		}
		if (b->n >= BUDGET_WINDOWS_MAX) {
			*err = "too many windows (max 4)";
			return -1;
		}
		for (i = 0; i < b->n; i++)
			if (b->w[i].period_us == l.period_us) {
				*err = "two windows of the same length";
				return -1;
			}
	}
	b->w[b->n++] = l;
	return 0;
}

/* budget_list_parse - budget_add for each space-separated word of s */
int
budget_list_parse(struct budget *b, enum budget_kind k, const char *s,
    int allow_unlimited, const char **err)
{
	char	 word[32];
	struct budget nb = { 0 };
	const char *dummy;
	size_t	 n;

	if (err == NULL)
		err = &dummy;
	for (;;) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '\0')
			break;
		n = strcspn(s, " \t");
		if (n >= sizeof(word)) {
			*err = "too large";
			return -1;
		}
		memcpy(word, s, n);
		word[n] = '\0';
		s += n;
		if (budget_add(&nb, k, word, allow_unlimited, err) == -1)
			return -1;
	}
	if (nb.n == 0) {
		*err = "empty";
		return -1;
	}
	*b = nb;
	return 0;
}

/* budget_list_format - "100/1h 1000/1d", "50" or "unlimited" */
char *
budget_list_format(const struct budget *b, char *buf, size_t len)
{
	char	 one[48];
	size_t	 used = 0;
	unsigned i;

	if (len == 0)
		return buf;
	buf[0] = '\0';
	if (budget_is_unlimited(b)) {
		snprintf(buf, len, "unlimited");
		return buf;
	}
	for (i = 0; i < b->n && i < BUDGET_WINDOWS_MAX; i++) {
		budget_format(&b->w[i], one, sizeof(one));
		snprintf(buf + used, len - used, "%s%s", i ? " " : "", one);
		used += strlen(buf + used);
	}
	return buf;
}

/* budget_old_from_name - an older spelling: its kind, window, period */
int
budget_old_from_name(const char *name, enum budget_kind *k, unsigned *win,
    uint64_t *period_s)
{
	size_t	 i;

	for (i = 0; name != NULL && i < N_OLD; i++)
		if (strcmp(name, old_names[i].name) == 0) {
			*k = old_names[i].kind;
			*win = old_names[i].win;
			*period_s = old_names[i].period_s;
			return 0;
		}
	return -1;
}

/*
 * old_slots - b as the old model saw it: slots windows (hour and day for
 * messages), each a limit or unlimited.  A single window of a two-window
 * kind goes to the day slot when it is a day or longer.
 */
static int
old_slots(const struct budget *b, unsigned slots, struct budget_limit *s,
    const char **err)
{
	static const struct budget_limit none = { BUDGET_UNLIMITED, 0, 0 };
	unsigned i;

	for (i = 0; i < slots; i++)
		s[i] = none;
	if (budget_is_unlimited(b))
		return 0;
	if (b->n == slots) {
		for (i = 0; i < slots; i++)
			s[i] = b->w[i];
		return 0;
	}
	if (b->n == 1 && slots == 2) {
		s[b->w[0].period_us >= 86400 * US_PER_S] = b->w[0];
		return 0;
	}
	*err = "has more windows than the older spelling knows: use the "
	    "kind's own name";
	return -1;
}

/*
 * budget_old_apply - value v of older spelling name into b, the kind's
 * windows in force: the window at the name's place in the old model is
 * replaced, an "unlimited" one dropped, a "default" one taken from dflt
 * (NULL: not allowed), the rest kept.
 */
int
budget_old_apply(struct budget *b, const char *name, const char *v,
    const struct budget *dflt, int allow_unlimited, const char **err)
{
	struct budget_limit s[2], d[2];
	const struct old_name *o = NULL;
	struct budget nb = { 0 };
	const char *dummy;
	size_t	 i;
	unsigned j, k;

	if (err == NULL)
		err = &dummy;
	for (i = 0; i < N_OLD; i++)
		if (strcmp(name, old_names[i].name) == 0)
			o = &old_names[i];
	if (o == NULL) {
		*err = "not an older spelling";
		return -1;
	}
	if (old_slots(b, o->slots, s, err) == -1)
		return -1;
	if (dflt != NULL && strcmp(v, "default") == 0) {
		if (old_slots(dflt, o->slots, d, err) == -1)
			return -1;
		s[o->win] = d[o->win];
	} else if (budget_parse(v, o->period_s, allow_unlimited, &s[o->win],
	    err) == -1)
		return -1;
	for (j = 0; j < o->slots; j++) {
		if (s[j].limit == BUDGET_UNLIMITED)
			continue;
		for (k = 0; k < nb.n; k++)
			if (nb.w[k].period_us == s[j].period_us) {
				*err = "two windows of the same length";
				return -1;
			}
		nb.w[nb.n++] = s[j];
	}
	if (nb.n == 0) {
		if (!allow_unlimited) {
			*err = "unlimited is not allowed here";
			return -1;
		}
		nb.n = 1;
		nb.w[0].limit = BUDGET_UNLIMITED;
	}
	*b = nb;
	return 0;
}

/* trim - strip spaces and tabs at both ends, in place */
static char *
trim(char *s)
{
	size_t	 n;

	while (*s == ' ' || *s == '\t')
		s++;
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	return s;
}

/*
 * next_item - copy the next comma-separated element of *sp, trimmed, into
 * item; 0 when there is none left, -1 (with *err) when it is bad.
 */
static int
next_item(const char **sp, char *item, size_t len, const char **err)
{
	const char *s = *sp, *comma;
	char	 tmp[ITEM_MAX_LEN + 1];
	size_t	 n;

	if (s == NULL)
		return 0;
	comma = strchr(s, ',');
	n = comma ? (size_t)(comma - s) : strlen(s);
	*sp = comma ? comma + 1 : NULL;
	if (n > ITEM_MAX_LEN) {
		*err = "list element too long";
		return -1;
	}
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	s = trim(tmp);
	if (*s == '\0') {
		*err = "empty list element";
		return -1;
	}
	if (strlen(s) >= len) {
		*err = "list element too long";
		return -1;
	}
	strcpy(item, s);
	return 1;
}

/* blank - is s empty or only spaces and tabs (an empty list) */
static int
blank(const char *s)
{
	return s[strspn(s, " \t")] == '\0';
}

/* uid_ranges_parse - "1000-1999,2500"; reversed or overlapping is an error */
int
uid_ranges_parse(const char *s, struct uid_range *out, size_t max,
    size_t *n, const char **err)
{
	char	 item[ITEM_MAX_LEN + 1], *dash;
	const char *dummy;
	uint64_t lo, hi;
	size_t	 count = 0, i;
	int	 r;

	if (err == NULL)
		err = &dummy;
	if (s == NULL || blank(s)) {
		*n = 0;
		return 0;
	}
	while ((r = next_item(&s, item, sizeof(item), err)) == 1) {
		dash = strchr(item, '-');
		if (dash != NULL)
			*dash++ = '\0';
		/* (uid_t)-1 means "no uid" to the kernel, so it is never one */
		if (num_u64(item, 0, UINT32_MAX - 1, 0, &lo, err) == -1)
			return -1;
		hi = lo;
		if (dash != NULL &&
		    num_u64(dash, 0, UINT32_MAX - 1, 0, &hi, err) == -1)
			return -1;
		if (hi < lo) {
			*err = "reversed range";
			return -1;
		}
		for (i = 0; i < count; i++) {
			if (lo <= out[i].hi && out[i].lo <= hi) {
				*err = "overlapping ranges";
				return -1;
			}
		}
		if (count >= max) {
			*err = "too many ranges";
			return -1;
		}
		out[count].lo = (uint32_t)lo;
		out[count].hi = (uint32_t)hi;
		count++;
	}
	if (r == -1)
		return -1;
	*n = count;
	return 0;
}

/* config_is_web_uid - is uid inside one of the web_uids ranges */
int
config_is_web_uid(const struct config *c, uint32_t uid)
{
	size_t	 i;

	for (i = 0; i < c->n_web_uids; i++)
		if (uid >= c->web_uids[i].lo && uid <= c->web_uids[i].hi)
			return 1;
	return 0;
}

/* is_web_gid - is gid one of the web groups */
static int
is_web_gid(const struct config *c, uint32_t gid)
{
	size_t	 i;

	for (i = 0; i < c->n_web_gids; i++)
		if (c->web_gids[i] == gid)
			return 1;
	return 0;
}

/*
 * never_member - root, mailgov's own user and Postfix's: a web group that
 * lists one of them must not make it a web user (the policy service would
 * turn Postfix away).  Their UIDs go into out[0..2] (UINT32_MAX: none).
 */
static void
never_member(const struct config *c, uint32_t out[3])
{
	struct passwd *pw;

	out[0] = 0;
	out[1] = (pw = getpwnam(c->user)) != NULL ? (uint32_t)pw->pw_uid :
	    UINT32_MAX;
	out[2] = (pw = getpwnam("postfix")) != NULL ? (uint32_t)pw->pw_uid :
	    UINT32_MAX;
}

/* config_in_web_group - see config.h */
int
config_in_web_group(const struct config *c, uint32_t uid)
{
	struct passwd *pw;
	char	 name[256];
	gid_t	 gid, some[64], *gs = some;
	uint32_t never[3];
	int	 n = (int)(sizeof(some) / sizeof(some[0])), i, yes = 0;

	if (c->n_web_gids == 0)
		return 0;
	/* before getpwuid: getpwnam shares its buffer */
	never_member(c, never);
	if (uid == never[0] || uid == never[1] || uid == never[2] ||
	    (pw = getpwuid((uid_t)uid)) == NULL)
		return 0;
	if (is_web_gid(c, (uint32_t)pw->pw_gid))
		return 1;
	if (strlen(pw->pw_name) >= sizeof(name))
		return 0;
	snprintf(name, sizeof(name), "%s", pw->pw_name);
	gid = pw->pw_gid;
	if (getgrouplist(name, gid, gs, &n) == -1) {
		/* n is now the number of groups the user has */
		if (n <= 0 || (gs = calloc((size_t)n, sizeof(*gs))) == NULL)
			return 0;
		if (getgrouplist(name, gid, gs, &n) == -1)
			n = 0;
	}
	for (i = 0; i < n && !yes; i++)
		yes = is_web_gid(c, (uint32_t)gs[i]);
	if (gs != some)
		free(gs);
	return yes;
}

/* uid_cmp - qsort uint32_t */
static int
uid_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* uid_push - append uid to a growing vector; -1 when out of memory */
static int
uid_push(uint32_t **v, size_t *n, size_t *size, uint32_t uid)
{
	uint32_t *nv;

	if (*n == *size) {
		*size = *size ? *size * 2 : 64;
		if ((nv = realloc(*v, *size * sizeof(**v))) == NULL)
			return -1;
		*v = nv;
	}
	(*v)[(*n)++] = uid;
	return 0;
}

/* config_web_group_members - see config.h */
int
config_web_group_members(const struct config *c, struct uid_range **out,
    size_t *nout)
{
	struct passwd *pw;
	struct group *gr;
	struct uid_range *r = NULL;
	uint32_t *uids = NULL, never[3], u;
	char	**names = NULL, **m, **nn;
	size_t	 n = 0, size = 0, nnames = 0, i, j, k = 0;
	int	 rc = -1;

	*out = NULL;
	*nout = 0;
	if (c->n_web_gids == 0)
		return 0;
	never_member(c, never);
	/* primary members; then the groups' member lists, by name */
	setpwent();
	while ((pw = getpwent()) != NULL)
		if (is_web_gid(c, (uint32_t)pw->pw_gid) &&
		    !config_is_web_uid(c, (uint32_t)pw->pw_uid) &&
		    uid_push(&uids, &n, &size, (uint32_t)pw->pw_uid) == -1) {
			endpwent();
			goto done;
		}
	endpwent();
	for (i = 0; i < c->n_web_gids; i++) {
		if ((gr = getgrgid((gid_t)c->web_gids[i])) == NULL)
			continue;
		for (m = gr->gr_mem; *m != NULL; m++) {
			if ((nn = realloc(names, (nnames + 1) *
			    sizeof(*names))) == NULL)
				goto done;
			names = nn;
			if ((names[nnames] = strdup(*m)) == NULL)
				goto done;
			nnames++;
		}
	}
	for (i = 0; i < nnames; i++)
		if ((pw = getpwnam(names[i])) != NULL &&
		    !config_is_web_uid(c, (uint32_t)pw->pw_uid) &&
		    uid_push(&uids, &n, &size, (uint32_t)pw->pw_uid) == -1)
			goto done;
	for (i = j = 0; i < n; i++)
		if ((u = uids[i]) != never[0] && u != never[1] &&
		    u != never[2])
			uids[j++] = u;
	n = j;
	rc = 0;
	if (n == 0)
		goto done;
	qsort(uids, n, sizeof(*uids), uid_cmp);
	if ((r = calloc(n, sizeof(*r))) == NULL) {
		rc = -1;
		goto done;
	}
	for (i = 0; i < n; i++) {
		/* sorted: uids[i] >= r[k - 1].hi, and a UID may repeat */
		if (k > 0 && uids[i] - r[k - 1].hi <= 1) {
			r[k - 1].hi = uids[i];
			continue;
		}
		r[k].lo = r[k].hi = uids[i];
		k++;
	}
	*out = r;
	*nout = k;
done:
	for (i = 0; i < nnames; i++)
		free(names[i]);
	free(names);
	free(uids);
	return rc;
}

/* config_defaults - the documented defaults (docs/mailgov.conf.md) */
void
config_defaults(struct config *c)
{
	int	 k;

	memset(c, 0, sizeof(*c));
	snprintf(c->db, sizeof(c->db), "%s", CONFIG_DB);
	snprintf(c->user, sizeof(c->user), "mailgov");
	/* rules_dir stays empty: the templates built in (rules.h) */
	c->web_uids[0].lo = 1000;
	c->web_uids[0].hi = 59999;
	c->n_web_uids = 1;
	c->smtp_ports[0] = 25;
	c->smtp_ports[1] = 465;
	c->smtp_ports[2] = 587;
	c->smtp_ports[3] = 2525;
	c->n_smtp_ports = 4;
	c->queue_port = 2525;
	c->relay_port = 10026;
	c->queue_num = 0;
	c->queue_maxlen = 4096;
	c->mark_mask = 0x00300000;
	c->mark_allow = 0x00100000;
	c->mark_reject = 0x00200000;
	c->flow_max = 1048576;
	c->flow_ttl = 3600;
	c->syn_rate = 50;
	c->syn_burst = 100;
	snprintf(c->policy_unix, sizeof(c->policy_unix),
	    "/run/mailgov/policy.sock");
	snprintf(c->policy_tcp, sizeof(c->policy_tcp), "127.0.0.1:10040");
	snprintf(c->control_socket, sizeof(c->control_socket),
	    "/run/mailgov/control.sock");
	snprintf(c->queue_config_dir, sizeof(c->queue_config_dir),
	    "/etc/postfix-mailgov");
	snprintf(c->postsuper, sizeof(c->postsuper), "/usr/sbin/postsuper");
	snprintf(c->postqueue, sizeof(c->postqueue), "/usr/sbin/postqueue");
	snprintf(c->postcat, sizeof(c->postcat), "/usr/sbin/postcat");
	c->release_interval = 1;
	c->sync_full = 1;
	c->redo_log = 1;
	c->held_messages_max = 1000;
	c->held_bytes_max = 100ULL << 20;
	c->queue_minfree = 256ULL << 20;
	c->alert_limit = 5;
	c->alert_period = 60;
	c->alert_command_timeout = 10;
	c->alert_mail_contact = 1;
	c->alert_mail_interval = 3600;
	c->metrics_accounts = 1000;
	c->budget_store = STORE_LOCAL;
	snprintf(c->redis_prefix, sizeof(c->redis_prefix), "mailgov:");
	c->redis_timeout_ms = 500;
	c->cluster_nodes = 1;
	for (k = 0; k < BK_COUNT; k++)
		c->budget[k] = kind_defaults[k];
}

/* How a key's value is read. */
enum ktype {
	K_PATH,		/* absolute path */
	K_SOCK,		/* absolute path that fits sun_path */
	K_SOCK_OPT,	/* the same, or "" / "none" to disable */
	K_TCP,		/* host:port, [v6]:port, or "" / "none" */
	K_LISTEN,	/* K_TCP with a numeric address only */
	K_USER,
	K_UIDS,
	K_GROUPS,
	K_PORTS,
	K_PORT,		/* uint16_t, 1..65535 */
	K_U16,		/* uint16_t, min..max */
	K_U32,		/* uint32_t, min..max, hex allowed when hex */
	K_DUR,		/* uint32_t seconds, min..max */
	K_SIZE,		/* uint64_t bytes, N[kMG], min..max */
	K_SYNC,
	K_ONOFF,
	K_BUDGET,	/* budget[min] */
	K_OLDBUDGET,	/* one window of budget[min], an older spelling */
	K_PATH_OPT,	/* absolute path, or "" / "none" */
	K_ADDR,		/* an address or local name (addr.h), or "" / "none" */
	K_STORE,	/* budget_store: local or redis */
	K_REDIS,	/* host:port, unix:/path, or "" / "none" */
	K_SECRET,	/* printable, no space, < CONFIG_SECRETLEN; "" unset */
	K_PREFIX,	/* a Redis key prefix: no space, wildcard, control */
	K_MS,		/* uint32_t milliseconds: "Nms" or a duration */
};

struct key {
	const char	*name;
	enum ktype	 type;
	size_t		 off;
	uint64_t	 min, max;
	int		 hex;
	const char	*bounds;	/* shown after a bad number */
};

#define OFF(f)	offsetof(struct config, f)
static const struct key keys[] = {
	{ "db", K_PATH, OFF(db), 0, 0, 0, NULL },
	{ "user", K_USER, OFF(user), 0, 0, 0, NULL },
	{ "rules_dir", K_PATH, OFF(rules_dir), 0, 0, 0, NULL },
	{ "web_uids", K_UIDS, 0, 0, 0, 0, NULL },
	{ "web_groups", K_GROUPS, 0, 0, 0, 0, NULL },
	{ "smtp_ports", K_PORTS, OFF(smtp_ports), 1, 0, 0, "1..65535" },
	{ "queue_port", K_PORT, OFF(queue_port), 1, 65535, 0, "1..65535" },
	{ "relay_port", K_PORT, OFF(relay_port), 1, 65535, 0, "1..65535" },
	{ "closed_ports", K_PORTS, OFF(closed_ports), 0, 0, 0, "1..65535" },
	{ "queue_num", K_U16, OFF(queue_num), 0, 65535, 0, "0..65535" },
	{ "queue_maxlen", K_U32, OFF(queue_maxlen), 16, 1048576, 0,
	    "16..1048576" },
	{ "mark_mask", K_U32, OFF(mark_mask), 1, UINT32_MAX, 1,
	    "1..0xffffffff" },
	{ "mark_allow", K_U32, OFF(mark_allow), 1, UINT32_MAX, 1,
	    "1..0xffffffff" },
	{ "mark_reject", K_U32, OFF(mark_reject), 1, UINT32_MAX, 1,
	    "1..0xffffffff" },
	{ "flow_max", K_U32, OFF(flow_max), 1024, 16777216, 0,
	    "1024..16777216" },
	{ "flow_ttl", K_DUR, OFF(flow_ttl), 10, 86400, 0, "10s..1d" },
	{ "flow_uid_max", K_U32, OFF(flow_uid_max), 0, 16777216, 0,
	    "0..16777216" },
	{ "syn_rate", K_U32, OFF(syn_rate), 0, 10000, 0, "0..10000" },
	{ "syn_burst", K_U32, OFF(syn_burst), 1, 10000, 0, "1..10000" },
	{ "policy_unix", K_SOCK_OPT, OFF(policy_unix), 0, 0, 0, NULL },
	{ "policy_tcp", K_TCP, OFF(policy_tcp), 0, 0, 0, NULL },
	{ "control_socket", K_SOCK, OFF(control_socket), 0, 0, 0, NULL },
	{ "metrics_listen", K_LISTEN, OFF(metrics_listen), 0, 0, 0, NULL },
	{ "metrics_accounts", K_U32, OFF(metrics_accounts), 0, 20000, 0,
	    "0..20000" },
	{ "queue_config_dir", K_PATH, OFF(queue_config_dir), 0, 0, 0, NULL },
	{ "postsuper", K_PATH, OFF(postsuper), 0, 0, 0, NULL },
	{ "postqueue", K_PATH, OFF(postqueue), 0, 0, 0, NULL },
	{ "postcat", K_PATH, OFF(postcat), 0, 0, 0, NULL },
	{ "release_interval", K_DUR, OFF(release_interval), 1, 3600, 0,
	    "1s..1h" },
	{ "sync", K_SYNC, 0, 0, 0, 0, NULL },
	{ "redo_log", K_ONOFF, OFF(redo_log), 0, 0, 0, NULL },
	{ "held_messages_max", K_U32, OFF(held_messages_max), 1, 10000000, 0,
	    "1..10000000" },
	{ "held_bytes_max", K_SIZE, OFF(held_bytes_max), 1ULL << 10,
	    1ULL << 40, 0, "1k..1024G" },
	{ "queue_minfree", K_SIZE, OFF(queue_minfree), 0, 1ULL << 40, 0,
	    "0..1024G" },
	{ "alert_limit", K_U32, OFF(alert_limit), 1, 1000000, 0,
	    "1..1000000" },
	{ "alert_period", K_DUR, OFF(alert_period), 1, 86400, 0, "1s..1d" },
	{ "alert_command", K_PATH_OPT, OFF(alert_command), 0, 0, 0, NULL },
	{ "alert_command_timeout", K_DUR, OFF(alert_command_timeout), 1, 300,
	    0, "1s..5m" },
	{ "alert_mail", K_ADDR, OFF(alert_mail), 0, 0, 0, NULL },
	{ "alert_mail_contact", K_ONOFF, OFF(alert_mail_contact), 0, 0, 0,
	    NULL },
	{ "alert_mail_interval", K_DUR, OFF(alert_mail_interval), 60, 86400,
	    0, "1m..1d" },
	{ "messages", K_BUDGET, 0, BK_MESSAGES, 0, 0, NULL },
	{ "recipients", K_BUDGET, 0, BK_RECIPIENTS, 0, 0, NULL },
	{ "recipients_per_message", K_BUDGET, 0, BK_RCPT_MSG, 0, 0, NULL },
	{ "connections", K_BUDGET, 0, BK_CONN, 0, 0, NULL },
	{ "new_connections", K_BUDGET, 0, BK_NEW_CONN, 0, 0, NULL },
	/* older spellings: accepted, with a line saying the new one */
	{ "messages_per_hour", K_OLDBUDGET, 0, BK_MESSAGES, 0, 0, NULL },
	{ "messages_per_day", K_OLDBUDGET, 0, BK_MESSAGES, 0, 0, NULL },
	{ "recipients_per_day", K_OLDBUDGET, 0, BK_RECIPIENTS, 0, 0, NULL },
	{ "connections_per_minute", K_OLDBUDGET, 0, BK_NEW_CONN, 0, 0, NULL },
	{ "budget_store", K_STORE, OFF(budget_store), 0, 0, 0, NULL },
	{ "redis", K_REDIS, OFF(redis), 0, 0, 0, NULL },
	{ "redis_password", K_SECRET, OFF(redis_password), 0, 0, 0, NULL },
	{ "redis_user", K_SECRET, OFF(redis_user), 0, 0, 0, NULL },
	{ "redis_prefix", K_PREFIX, OFF(redis_prefix), 0, 0, 0, NULL },
	{ "redis_timeout", K_MS, OFF(redis_timeout_ms), 10, 60000, 0,
	    "10ms..60s" },
	{ "cluster_nodes", K_U32, OFF(cluster_nodes), 1, 1000, 0, "1..1000" },
};
#define N_KEYS	(sizeof(keys) / sizeof(keys[0]))

/* One parse: the scratch config and where problems are reported. */
struct parse {
	struct config	 c;
	const char	*name;
	unsigned	 line[N_KEYS];	/* where each key was set, 0 if not */
	char		*err;
	size_t		 errlen;
	char		 why[128];	/* a problem that needs words filled in */
};

/* perr - "NAME:LINE: message" into the caller's buffer; returns -1 */
static int perr(struct parse *, unsigned, const char *, ...)
    __attribute__((format(printf, 3, 4)));
static int
perr(struct parse *p, unsigned line, const char *fmt, ...)
{
	char	 msg[512];
	va_list	 ap;

	if (p->err == NULL || p->errlen == 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line > 0)
		snprintf(p->err, p->errlen, "%s:%u: %s", p->name, line, msg);
	else
		snprintf(p->err, p->errlen, "%s: %s", p->name, msg);
	return -1;
}

/* set_path - an absolute path that fits the field (and sun_path if sock) */
static int
set_path(char *dst, const char *v, int sock, const char **err)
{
	if (v[0] != '/') {
		*err = "not an absolute path";
		return -1;
	}
	if (strlen(v) >= CONFIG_PATHLEN) {
		*err = "path too long (max 255 bytes)";
		return -1;
	}
	if (sock && strlen(v) > SOCK_MAX_LEN) {
		*err = "too long for a socket path (max 107 bytes)";
		return -1;
	}
	strcpy(dst, v);
	return 0;
}

/* set_tcp - "host:port" or "[v6]:port"; the host is checked, not
 * resolved; with numeric, it must be an address */
static int
set_tcp(char *dst, const char *v, int numeric, const char **err)
{
	char	 host[CONFIG_PATHLEN];
	struct in6_addr a6;
	const char *colon;
	uint64_t port;
	size_t	 n;

	if (strlen(v) >= CONFIG_PATHLEN) {
		*err = "too long";
		return -1;
	}
	if (v[0] == '[') {
		colon = strchr(v, ']');
		if (colon == NULL || colon[1] != ':') {
			*err = "expected [address]:port";
			return -1;
		}
		n = (size_t)(colon - v - 1);
		memcpy(host, v + 1, n);
		host[n] = '\0';
		if (inet_pton(AF_INET6, host, &a6) != 1) {
			*err = "not an IPv6 address";
			return -1;
		}
		colon++;
	} else {
		colon = strchr(v, ':');
		if (colon == NULL) {
			*err = "expected host:port";
			return -1;
		}
		if (strchr(colon + 1, ':') != NULL) {
			*err = "an IPv6 address goes in brackets: [::1]:port";
			return -1;
		}
		n = (size_t)(colon - v);
		if (n == 0 || strspn(v, "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") != n ||
		    v[0] == '-') {
			*err = "not a host name or address";
			return -1;
		}
		memcpy(host, v, n);
		host[n] = '\0';
		if (numeric && inet_pton(AF_INET, host, &a6) != 1) {
			*err = "not an IPv4 address (an IPv6 one goes in "
			    "brackets: [::1]:port)";
			return -1;
		}
	}
	if (num_u64(colon + 1, 1, 65535, 0, &port, err) == -1) {
		*err = "port is not a number in 1..65535";
		return -1;
	}
	strcpy(dst, v);
	return 0;
}

/* set_user - a conventional user name: [a-z_][a-z0-9_-]* */
static int
set_user(char *dst, const char *v, const char **err)
{
	size_t	 n = strlen(v);

	if (n == 0 || n > USER_MAX_LEN ||
	    strchr("abcdefghijklmnopqrstuvwxyz_", v[0]) == NULL ||
	    strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789_-") != n) {
		*err = "not a user name ([a-z_][a-z0-9_-]*, max 32)";
		return -1;
	}
	strcpy(dst, v);
	return 0;
}

/* set_groups - names (looked up now) or numeric gids */
static int
set_groups(struct parse *p, const char *v, const char **err)
{
	char	 item[ITEM_MAX_LEN + 1];
	const char *s = v;
	struct group *gr;
	uint64_t gid;
	size_t	 n = 0, i, len;
	int	 r;

	if (blank(v)) {
		p->c.n_web_gids = 0;
		return 0;
	}
	while ((r = next_item(&s, item, sizeof(item), err)) == 1) {
		len = strlen(item);
		if (strspn(item, "0123456789") == len) {
			if (num_u64(item, 0, UINT32_MAX - 1, 0, &gid, err)
			    == -1)
				return -1;
		} else {
			/* keep what reaches NSS to a plain group name */
			if (strspn(item, "abcdefghijklmnopqrstuvwxyz"
			    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != len ||
			    item[0] == '-') {
				*err = "not a group name";
				return -1;
			}
			if ((gr = getgrnam(item)) == NULL) {
				snprintf(p->why, sizeof(p->why),
				    "unknown group '%s'", item);
				*err = p->why;
				return -1;
			}
			gid = gr->gr_gid;
		}
		for (i = 0; i < n; i++) {
			if (p->c.web_gids[i] == gid) {
				snprintf(p->why, sizeof(p->why),
				    "group '%s' given twice", item);
				*err = p->why;
				return -1;
			}
		}
		if (n >= CONFIG_MAX_GROUPS) {
			*err = "too many groups (max 64)";
			return -1;
		}
		p->c.web_gids[n++] = (uint32_t)gid;
	}
	if (r == -1)
		return -1;
	p->c.n_web_gids = n;
	return 0;
}

/* set_ports - a list of distinct ports; empty only when k->min is 0 */
static int
set_ports(struct parse *p, const struct key *k, const char *v,
    const char **err)
{
	char	 item[ITEM_MAX_LEN + 1];
	const char *s = v;
	uint16_t *ports = (uint16_t *)((char *)&p->c + k->off);
	size_t	*np = k->off == OFF(smtp_ports) ? &p->c.n_smtp_ports :
		    &p->c.n_closed_ports;
	uint64_t port;
	size_t	 n = 0, i;
	int	 r;

	if (blank(v) && k->min > 0) {
		*err = "empty: at least one port is needed";
		return -1;
	}
	if (blank(v))
		s = NULL;	/* no port */
	while ((r = next_item(&s, item, sizeof(item), err)) == 1) {
		if (num_u64(item, 1, 65535, 0, &port, err) == -1)
			return -1;
		for (i = 0; i < n; i++) {
			if (ports[i] == port) {
				snprintf(p->why, sizeof(p->why),
				    "port %" PRIu64 " given twice", port);
				*err = p->why;
				return -1;
			}
		}
		if (n >= CONFIG_MAX_PORTS) {
			*err = "too many ports (max 16)";
			return -1;
		}
		ports[n++] = (uint16_t)port;
	}
	if (r == -1)
		return -1;
	*np = n;
	return 0;
}

/*
 * size_parse - bytes: "N", or N followed by k, M or G (KiB, MiB, GiB;
 * either case), in [min, max].  Same error convention as num_u64.
 */
static int
size_parse(const char *v, uint64_t min, uint64_t max, uint64_t *out,
    const char **err)
{
	char	 num[24];
	size_t	 n = strlen(v);
	unsigned shift = 0;
	uint64_t u;

	if (n > 0) {
		switch (v[n - 1]) {
		case 'k': case 'K': shift = 10; break;
		case 'm': case 'M': shift = 20; break;
		case 'g': case 'G': shift = 30; break;
		}
	}
	if (shift != 0)
		n--;
	if (n == 0 || n >= sizeof(num)) {
		*err = n == 0 ? "not a size" : "too large";
		return -1;
	}
	memcpy(num, v, n);
	num[n] = '\0';
	if (num_u64(num, 0, UINT64_MAX >> shift, 0, &u, err) == -1) {
		if (strcmp(*err, "not a number") == 0)
			*err = "not a size";
		return -1;
	}
	u <<= shift;
	if (u < min || u > max) {
		*err = u < min ? "too small" : "too large";
		return -1;
	}
	*out = u;
	return 0;
}

/* set_redis - "host:port" (set_tcp) or "unix:/absolute/path" */
static int
set_redis(char *dst, const char *v, const char **err)
{
	if (v[0] == '\0' || strcmp(v, "none") == 0) {
		dst[0] = '\0';
		return 0;
	}
	if (strncmp(v, "unix:", 5) == 0) {
		char	 path[CONFIG_PATHLEN];

		if (set_path(path, v + 5, 1, err) == -1)
			return -1;
		strcpy(dst, v);
		return 0;
	}
	return set_tcp(dst, v, 0, err);
}

/* set_secret - a password or ACL user name: printable ASCII without
 * spaces, so that it never needs quoting on the wire or in this file */
static int
set_secret(char *dst, const char *v, const char **err)
{
	size_t	 n = strlen(v), i;

	if (n >= CONFIG_SECRETLEN) {
		*err = "too long (max 127 bytes)";
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (v[i] <= 0x20 || v[i] >= 0x7f) {
			*err = "only printable ASCII without spaces";
			return -1;
		}
	}
	strcpy(dst, v);
	return 0;
}

/* set_prefix - a Redis key prefix.  A space would split a command in the
 * logs and in redis-cli, and a glob character would make every SCAN or
 * KEYS for this prefix match other applications' keys too. */
static int
set_prefix(char *dst, const char *v, const char **err)
{
	size_t	 n = strlen(v), i;

	if (n == 0) {
		*err = "empty: a prefix keeps mailgov's keys apart";
		return -1;
	}
	if (n >= CONFIG_PREFIXLEN) {
		*err = "too long (max 63 bytes)";
		return -1;
	}
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)v[i];

		if (ch == ' ' || ch == '\t') {
			*err = "contains a space";
			return -1;
		}
		if (strchr("*?[]\\", ch) != NULL) {
			*err = "contains a wildcard (* ? [ ] \\)";
			return -1;
		}
		if (ch < 0x20 || ch >= 0x7f) {
			*err = "contains a control or non-ASCII character";
			return -1;
		}
	}
	strcpy(dst, v);
	return 0;
}

/* ms_parse - "Nms", else a duration (num_duration) in milliseconds */
static int
ms_parse(const char *v, uint64_t min, uint64_t max, uint64_t *out,
    const char **err)
{
	char	 num[24];
	size_t	 n = strlen(v);
	uint64_t u;

	if (n > 2 && strcmp(v + n - 2, "ms") == 0) {
		if (n - 2 >= sizeof(num)) {
			*err = "too large";
			return -1;
		}
		memcpy(num, v, n - 2);
		num[n - 2] = '\0';
		if (num_u64(num, 0, UINT32_MAX, 0, &u, err) == -1) {
			if (strcmp(*err, "not a number") == 0)
				*err = "not a duration";
			return -1;
		}
	} else {
		if (num_duration(v, 0, UINT32_MAX / 1000, &u, err) == -1)
			return -1;
		u *= 1000;
	}
	if (u < min || u > max) {
		*err = u < min ? "too small" : "too large";
		return -1;
	}
	*out = u;
	return 0;
}

/* set_value - parse v for key k into the scratch config */
static int
set_value(struct parse *p, const struct key *k, const char *v,
    const char **err)
{
	char	*base = (char *)&p->c;
	uint64_t u;

	switch (k->type) {
	case K_PATH:
		return set_path(base + k->off, v, 0, err);
	case K_SOCK:
		return set_path(base + k->off, v, 1, err);
	case K_SOCK_OPT:
		if (v[0] == '\0' || strcmp(v, "none") == 0) {
			base[k->off] = '\0';
			return 0;
		}
		return set_path(base + k->off, v, 1, err);
	case K_TCP:
		if (v[0] == '\0' || strcmp(v, "none") == 0) {
			base[k->off] = '\0';
			return 0;
		}
		return set_tcp(base + k->off, v, 0, err);
	case K_LISTEN:
		if (v[0] == '\0' || strcmp(v, "none") == 0) {
			base[k->off] = '\0';
			return 0;
		}
		return set_tcp(base + k->off, v, 1, err);
	case K_USER:
		return set_user(base + k->off, v, err);
	case K_UIDS:
		return uid_ranges_parse(v, p->c.web_uids, CONFIG_MAX_RANGES,
		    &p->c.n_web_uids, err);
	case K_GROUPS:
		return set_groups(p, v, err);
	case K_PORTS:
		return set_ports(p, k, v, err);
	case K_PORT:
	case K_U16:
		if (num_u64(v, k->min, k->max, k->hex, &u, err) == -1)
			return -1;
		*(uint16_t *)(void *)(base + k->off) = (uint16_t)u;
		return 0;
	case K_U32:
		if (num_u64(v, k->min, k->max, k->hex, &u, err) == -1)
			return -1;
		*(uint32_t *)(void *)(base + k->off) = (uint32_t)u;
		return 0;
	case K_DUR:
		if (num_duration(v, k->min, k->max, &u, err) == -1)
			return -1;
		*(uint32_t *)(void *)(base + k->off) = (uint32_t)u;
		return 0;
	case K_SIZE:
		if (size_parse(v, k->min, k->max, &u, err) == -1)
			return -1;
		*(uint64_t *)(void *)(base + k->off) = u;
		return 0;
	case K_SYNC:
		if (strcmp(v, "full") == 0)
			p->c.sync_full = 1;
		else if (strcmp(v, "normal") == 0)
			p->c.sync_full = 0;
		else {
			*err = "expected full or normal";
			return -1;
		}
		return 0;
	case K_ONOFF:
		if (strcmp(v, "on") == 0)
			*(int *)(void *)(base + k->off) = 1;
		else if (strcmp(v, "off") == 0)
			*(int *)(void *)(base + k->off) = 0;
		else {
			*err = "expected on or off";
			return -1;
		}
		return 0;
	case K_BUDGET:
		return budget_list_parse(&p->c.budget[k->min], k->min, v, 0,
		    err);
	case K_OLDBUDGET:
		return budget_old_apply(&p->c.budget[k->min], k->name, v,
		    NULL, 0, err);
	case K_PATH_OPT:
		if (v[0] == '\0' || strcmp(v, "none") == 0) {
			base[k->off] = '\0';
			return 0;
		}
		return set_path(base + k->off, v, 0, err);
	case K_ADDR:
		if (v[0] == '\0' || strcmp(v, "none") == 0) {
			base[k->off] = '\0';
			return 0;
		}
		if (!addr_ok(v, 1, err))
			return -1;
		snprintf(base + k->off, CONFIG_ADDRLEN, "%s", v);
		return 0;
	case K_STORE:
		if (strcmp(v, "local") == 0)
			p->c.budget_store = STORE_LOCAL;
		else if (strcmp(v, "redis") == 0)
			p->c.budget_store = STORE_REDIS;
		else {
			*err = "expected local or redis";
			return -1;
		}
		return 0;
	case K_REDIS:
		return set_redis(base + k->off, v, err);
	case K_SECRET:
		return set_secret(base + k->off, v, err);
	case K_PREFIX:
		return set_prefix(base + k->off, v, err);
	case K_MS:
		if (ms_parse(v, k->min, k->max, &u, err) == -1)
			return -1;
		*(uint32_t *)(void *)(base + k->off) = (uint32_t)u;
		return 0;
	}
	*err = "internal error: unknown key type";
	return -1;
}

/* key_line - the line key name was set on, 0 for a default */
static unsigned
key_line(const struct parse *p, const char *name)
{
	size_t	 i;

	for (i = 0; i < N_KEYS; i++)
		if (strcmp(keys[i].name, name) == 0)
			return p->line[i];
	return 0;
}

/* later - the later of two lines: the one that made a pair inconsistent */
static unsigned
later(unsigned a, unsigned b)
{
	return a > b ? a : b;
}

static int	check_old(struct parse *);

/* check_whole - rules that tie keys together, after the last line */
static int
check_whole(struct parse *p)
{
	const struct config *c = &p->c;
	unsigned lm = key_line(p, "mark_mask");
	unsigned la = key_line(p, "mark_allow");
	unsigned lr = key_line(p, "mark_reject");

	if (c->mark_allow & ~c->mark_mask)
		return perr(p, later(lm, la),
		    "mark_allow: 0x%08" PRIx32 " is not inside mark_mask "
		    "0x%08" PRIx32, c->mark_allow, c->mark_mask);
	if (c->mark_reject & ~c->mark_mask)
		return perr(p, later(lm, lr),
		    "mark_reject: 0x%08" PRIx32 " is not inside mark_mask "
		    "0x%08" PRIx32, c->mark_reject, c->mark_mask);
	if (c->mark_allow & c->mark_reject)
		return perr(p, later(la, lr),
		    "mark_reject: 0x%08" PRIx32 " overlaps mark_allow "
		    "0x%08" PRIx32, c->mark_reject, c->mark_allow);
	if (c->relay_port == c->queue_port)
		return perr(p, later(key_line(p, "relay_port"),
		    key_line(p, "queue_port")),
		    "relay_port: the same as queue_port (%u)",
		    (unsigned)c->queue_port);
	if (c->budget_store == STORE_REDIS && c->redis[0] == '\0')
		return perr(p, key_line(p, "budget_store"),
		    "budget_store: redis needs redis = HOST:PORT or "
		    "unix:PATH");
	if (c->redis_user[0] != '\0' && c->redis_password[0] == '\0')
		return perr(p, key_line(p, "redis_user"),
		    "redis_user: needs redis_password too");
	return check_old(p);
}

/*
 * check_old - an older spelling sets one window of a kind; with the
 * kind's own key in the same file, which wins would be a guess.  Each use
 * says the new spelling once the file is known good (note_old).
 */
static int
check_old(struct parse *p)
{
	size_t	 i, j;

	for (i = 0; i < N_KEYS; i++) {
		if (keys[i].type != K_OLDBUDGET || p->line[i] == 0)
			continue;
		for (j = 0; j < N_KEYS; j++)
			if (keys[j].type == K_BUDGET &&
			    keys[j].min == keys[i].min && p->line[j] != 0)
				return perr(p, later(p->line[i], p->line[j]),
				    "%s: an older spelling of one %s window, "
				    "and %s is set too (line %u): keep %s",
				    keys[i].name, keys[j].name, keys[j].name,
				    p->line[j], keys[j].name);
	}
	return 0;
}

/* note_old - one line per older spelling used, naming the new one */
static void
note_old(const struct parse *p)
{
	char	 buf[160];
	size_t	 i;

	for (i = 0; i < N_KEYS; i++) {
		if (keys[i].type != K_OLDBUDGET || p->line[i] == 0)
			continue;
		log_warnx("%s:%u: %s is deprecated: write %s = %s", p->name,
		    p->line[i], keys[i].name, budget_kind_name(keys[i].min),
		    budget_list_format(&p->c.budget[keys[i].min], buf,
		    sizeof(buf)));
	}
}

/* parse_line - one line, already cut at its end and free of CR */
static int
parse_line(struct parse *p, unsigned lineno, char *line)
{
	char	 shown[64];
	char	*s, *eq, *key, *val;
	const char *why = NULL;
	size_t	 i;

	s = trim(line);
	if (*s == '\0' || *s == '#')
		return 0;
	if ((eq = strchr(s, '=')) == NULL)
		return perr(p, lineno, "expected 'key = value'");
	*eq = '\0';
	key = trim(s);
	val = trim(eq + 1);
	if (*key == '\0')
		return perr(p, lineno, "expected 'key = value'");
	/* "" written out is the empty value, e.g. policy_unix = "" */
	if (strcmp(val, "\"\"") == 0)
		val[0] = '\0';
	for (i = 0; i < N_KEYS; i++)
		if (strcmp(keys[i].name, key) == 0)
			break;
	if (i == N_KEYS)
		return perr(p, lineno, "unknown key '%s'",
		    log_clean(shown, sizeof(shown), key, strlen(key)));
	if (p->line[i] != 0)
		return perr(p, lineno, "key '%s' given twice (first on line "
		    "%u)", key, p->line[i]);
	p->line[i] = lineno;
	if (set_value(p, &keys[i], val, &why) == -1) {
		if (why == NULL)
			why = "bad value";
		if (keys[i].bounds != NULL && (strcmp(why, "too large") == 0 ||
		    strcmp(why, "too small") == 0 ||
		    strcmp(why, "not a number") == 0 ||
		    strcmp(why, "not a duration") == 0 ||
		    strcmp(why, "not a size") == 0))
			return perr(p, lineno, "%s: %s (%s)", key, why,
			    keys[i].bounds);
		return perr(p, lineno, "%s: %s", key, why);
	}
	return 0;
}

/* config_parse - apply buf over c, all or nothing (see config.h) */
int
config_parse(struct config *c, const char *name, const char *buf,
    size_t len, char *err, size_t errlen)
{
	struct parse *p;
	char	 line[LINE_MAX_LEN + 1];
	const char *at, *nl;
	size_t	 pos = 0, n, i;
	unsigned lineno = 0;
	int	 rc = -1;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	/* about 6 KiB: too much for the stack of a library call */
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "%s: out of memory",
			    name ? name : "config");
		return -1;
	}
	p->c = *c;
	p->name = name ? name : "config";
	p->err = err;
	p->errlen = errlen;
	if (len > FILE_MAX_LEN) {
		perr(p, 0, "too large (max 1 MiB)");
		goto done;
	}
	while (pos < len) {
		lineno++;
		at = buf + pos;
		nl = memchr(at, '\n', len - pos);
		n = nl ? (size_t)(nl - at) : len - pos;
		pos += n + (nl != NULL);
		if (n > 0 && at[n - 1] == '\r')	/* CRLF from an editor */
			n--;
		if (n > LINE_MAX_LEN) {
			perr(p, lineno, "line too long (max %d bytes)",
			    LINE_MAX_LEN);
			goto done;
		}
		for (i = 0; i < n; i++) {
			unsigned char ch = (unsigned char)at[i];

			if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
				perr(p, lineno, "control character 0x%02x",
				    ch);
				goto done;
			}
		}
		memcpy(line, at, n);
		line[n] = '\0';
		if (parse_line(p, lineno, line) == -1)
			goto done;
	}
	if (check_whole(p) == -1)
		goto done;
	note_old(p);
	*c = p->c;
	rc = 0;
done:
	free(p);
	return rc;
}

/* config_load - read path (bounded) and config_parse it */
int
config_load(struct config *c, const char *path, int must_exist, char *err,
    size_t errlen)
{
	struct stat st;
	char	*buf = NULL;
	size_t	 len = 0;
	ssize_t	 r;
	int	 fd, rc = -1;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (strlen(path) >= CONFIG_PATHLEN) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "%.64s...: path too long", path);
		return -1;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		if (errno == ENOENT && !must_exist)
			return 0;
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "%s: not a regular file", path);
		goto done;
	}
	/* one byte more than allowed, to tell "full" from "too large" */
	if ((buf = malloc(FILE_MAX_LEN + 1)) == NULL) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "%s: out of memory", path);
		goto done;
	}
	while (len < FILE_MAX_LEN + 1) {
		r = read(fd, buf + len, FILE_MAX_LEN + 1 - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			if (err != NULL && errlen > 0)
				snprintf(err, errlen, "%s: %s", path,
				    strerror(errno));
			goto done;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	if (config_parse(c, path, buf, len, err, errlen) == -1)
		goto done;
	snprintf(c->path, sizeof(c->path), "%s", path);
	rc = 0;
done:
	free(buf);
	close(fd);
	return rc;
}
