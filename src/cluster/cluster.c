/*
 * cluster - shared budgets in Redis (see cluster.h, docs/cluster.md).
 *
 * Keys: PREFIX "b:{" ACCOUNT "}:" KIND ":" PERIOD_S, one per window,
 * holding that window's GCRA state (the theoretical arrival time, in
 * microseconds of the Redis server's clock) and expiring when it has
 * nothing left to remember; and PREFIX "b:{" ACCOUNT "}:blocked", set by
 * mailgovctl block on any node, which refuses every charge.  The braces
 * keep an account's keys in one slot, so the script also runs on a Redis
 * Cluster.
 *
 * The script does what budget.c does, for N windows at once: every
 * window is checked first and all are charged only when all pass, so a
 * refused message spends nothing.  "force" charges without checking:
 * that is how the charges made during an outage catch up (backlog.c
 * keeps them, durably, in the accounts' usage rows).
 *
 * Trusts: the configuration and the accounts (names are [a-z0-9._-]).
 * Not Redis: a reply that is not the script's three integers counts as
 * "unavailable" and the local share decides.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "acct.h"
#include "backlog.h"
#include "budget.h"
#include "clock.h"
#include "cluster.h"
#include "windows.h"
#include "config.h"
#include "log.h"
#include "loop.h"
#include "redis.h"

#define CLUSTER_GRANTS_MAX	1024	/* accounts releasing held mail */
#define CLUSTER_ARGS_MAX	(4 + CLUSTER_WINDOWS_MAX * 5)
#define CLUSTER_LOG_RATE	5	/* odd-reply lines per minute */

static const char gcra_lua[] =
"local t = redis.call('TIME')\n"
"local now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n"
"local force = ARGV[1] == 'force'\n"
"local n = #KEYS - 1\n"
"if not force and redis.call('EXISTS', KEYS[#KEYS]) == 1 then\n"
"  return {2, 0, -1}\n"
"end\n"
"local new = {}\n"
"local over, worst = 0, 0\n"
"for i = 1, n do\n"
"  local b = 2 + (i - 1) * 4\n"
"  local limit = tonumber(ARGV[b])\n"
"  local period = tonumber(ARGV[b + 1])\n"
"  local burst = tonumber(ARGV[b + 2])\n"
"  local cost = tonumber(ARGV[b + 3])\n"
"  if burst == 0 then burst = limit end\n"
"  local tat = tonumber(redis.call('GET', KEYS[i]) or 0) or 0\n"
"  local base = math.max(tat, now)\n"
"  if limit == 0 or cost > burst then\n"
"    new[i] = base\n"
"    if not force then over = i; worst = -1; break end\n"
"  else\n"
"    local T = math.max(1, math.floor(period / limit))\n"
"    local nt = base + T * cost\n"
"    new[i] = nt\n"
"    if not force and nt - T * burst > now and worst >= 0 and\n"
"        nt - T * burst - now > worst then\n"
"      over = i; worst = nt - T * burst - now\n"
"    end\n"
"  end\n"
"end\n"
"if over > 0 then return {0, over, worst} end\n"
"for i = 1, n do\n"
"  if new[i] > now then\n"
"    local ttl = math.ceil((new[i] - now) / 1000)\n"
"    redis.call('SET', KEYS[i], string.format('%.0f', new[i]), 'PX', ttl)\n"
"  end\n"
"end\n"
"return {1, 0, 0}\n";

/* held mail of one account that Redis was asked to let go */
struct grant {
	char		 name[STORE_NAMELEN];
	uint32_t	 granted;	/* rcpts of a message Redis charged;
					 * 0: none yet */
	int		 asking;
	uint64_t	 retry_at;	/* Redis's last "not before" */
};

struct cluster {
	struct loop		*loop;
	const struct config	*cfg;
	struct redis		*rd;
	char			 sha[41];	/* "" until SCRIPT LOAD answers */
	int			 loading;
	int			 fallback;	/* the outage was announced */
	uint64_t		 log_tat;
	struct backlog		*bl;		/* catch-ups in flight */
	struct accts		*as;		/* who owes them */
	struct grant		 gr[CLUSTER_GRANTS_MAX];
	size_t			 ngr;
	void			(*kick)(void *);
	void			*kick_arg;
};

/* one EVALSHA in flight */
struct charge {
	struct cluster	*c;
	cluster_cb	 cb;
	void		*arg;
	int		 kinds[CLUSTER_WINDOWS_MAX];
	size_t		 nw;
	struct backlog_due *catchup;	/* a catch-up: paid when written */
	struct grant	*grant;		/* a release's question */
	uint32_t	 rcpts;
};

static void	load_script(struct cluster *);
static void	catch_up(struct cluster *);

/* odd - log a reply the script cannot have given (rate-limited) */
static void
odd(struct cluster *c, const struct redisReply *rep)
{
	char	 text[96];

	if (!log_rate_ok(&c->log_tat, clock_now_us(), CLUSTER_LOG_RATE,
	    60000000))
		return;
	if (rep->type == REDIS_REPLY_ERROR || rep->type == REDIS_REPLY_STATUS)
		log_clean(text, sizeof(text), rep->str, rep->len);
	else
		snprintf(text, sizeof(text), "reply of type %d", rep->type);
	log_warnx("cluster: redis %s: unexpected answer (%s); using the "
	    "local share", redis_name(c->rd), text);
}

/* announce - Redis went away or came back: one line each way (syslog,
 * LOG_MAIL, as every alert) */
static void
announce(struct cluster *c, int ready)
{
	if (!ready && !c->fallback) {
		c->fallback = 1;
		log_warnx("cluster: redis %s unavailable: budgets fall back "
		    "to limit/%u on this node until it is back",
		    redis_name(c->rd), (unsigned)c->cfg->cluster_nodes);
	} else if (ready && c->fallback) {
		c->fallback = 0;
		log_info("cluster: redis %s back: shared budgets again",
		    redis_name(c->rd));
	}
}

/* on_load - SCRIPT LOAD's answer: the SHA1 to EVALSHA from now on */
static void
on_load(void *arg, const struct redisReply *rep)
{
	struct cluster *c = arg;

	c->loading = 0;
	if (rep == NULL)
		return;
	if (rep->type != REDIS_REPLY_STRING || rep->len != 40 ||
	    strspn(rep->str, "0123456789abcdef") != 40) {
		odd(c, rep);
		return;
	}
	memcpy(c->sha, rep->str, 41);
	announce(c, 1);
	catch_up(c);
}

/* load_script - SCRIPT LOAD, once per connection or after NOSCRIPT */
static void
load_script(struct cluster *c)
{
	const char *argv[3] = { "SCRIPT", "LOAD", gcra_lua };
	size_t	 len[3] = { 6, 4, sizeof(gcra_lua) - 1 };

	if (c->loading)
		return;
	c->sha[0] = '\0';
	if (redis_command(c->rd, on_load, c, 3, argv, len) == 0)
		c->loading = 1;
}

/* on_state - the link came up (load the script) or broke */
static void
on_state(void *arg, int up)
{
	struct cluster *c = arg;

	c->sha[0] = '\0';
	c->loading = 0;
	if (up)
		load_script(c);
	else
		announce(c, 0);
}

/* on_charge - the script's answer: {1,0,0}, or {0, window, retry_us} */
static void
on_charge(void *arg, const struct redisReply *rep)
{
	struct charge	*ch = arg;
	struct cluster	*c = ch->c;
	enum cluster_answer ans = CLUSTER_UNAVAILABLE;
	enum budget_kind which = BK_MESSAGES;
	uint64_t	 retry_at = 0;
	long long	 ok, idx, us;

	if (rep == NULL)
		goto done;
	if (rep->type == REDIS_REPLY_ERROR &&
	    strncmp(rep->str, "NOSCRIPT", 8) == 0) {
		/* flushed, or a replica promoted without it: this charge
		 * takes the local share, the next ones the script again */
		load_script(c);
		goto done;
	}
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 3 ||
	    rep->element[0]->type != REDIS_REPLY_INTEGER ||
	    rep->element[1]->type != REDIS_REPLY_INTEGER ||
	    rep->element[2]->type != REDIS_REPLY_INTEGER) {
		odd(c, rep);
		goto done;
	}
	ok = rep->element[0]->integer;
	idx = rep->element[1]->integer;
	us = rep->element[2]->integer;
	if (ok == 1) {
		ans = CLUSTER_OK;
		goto done;
	}
	if (ok == 2) {
		ans = CLUSTER_BLOCKED;
		goto done;
	}
	if (ok != 0 || idx < 1 || (size_t)idx > ch->nw || us < -1) {
		odd(c, rep);
		goto done;
	}
	ans = CLUSTER_OVER;
	which = (enum budget_kind)ch->kinds[idx - 1];
	retry_at = us == -1 ? UINT64_MAX : clock_now_us() + (uint64_t)us;
done:
	if (ch->catchup != NULL)
		backlog_done(c->bl, c->as, ch->catchup, ans == CLUSTER_OK);
	else if (ch->grant != NULL) {
		ch->grant->asking = 0;
		if (ans == CLUSTER_OK) {
			ch->grant->granted = ch->rcpts;
			if (c->kick != NULL)
				c->kick(c->kick_arg);
		} else if (ans == CLUSTER_OVER)
			ch->grant->retry_at = retry_at;
		else if (ans == CLUSTER_BLOCKED)	/* ask again later */
			ch->grant->retry_at = clock_now_us() + 1000000;
	} else if (ch->cb != NULL)
		ch->cb(ch->arg, ans, which, retry_at);
	free(ch);
}

/* send_charge - EVALSHA the script over windows w of account name */
static int
send_charge(struct cluster *c, const char *name, const char *mode,
    const struct cluster_window *w, size_t nw, struct charge *ch)
{
	const char *argv[CLUSTER_ARGS_MAX];
	size_t	 len[CLUSTER_ARGS_MAX], i;
	char	 keys[CLUSTER_WINDOWS_MAX + 1][CONFIG_PREFIXLEN +
		    STORE_NAMELEN + 40];
	char	 nums[CLUSTER_WINDOWS_MAX][4][24];
	char	 nkeys[8];
	int	 argc = 0;

	if (c->sha[0] == '\0' || !redis_up(c->rd))
		return -1;
	snprintf(nkeys, sizeof(nkeys), "%zu", nw + 1);
	argv[argc++] = "EVALSHA";
	argv[argc++] = c->sha;
	argv[argc++] = nkeys;
	for (i = 0; i < nw; i++) {
		if (cluster_key(keys[i], sizeof(keys[i]), c->cfg->redis_prefix,
		    name, w[i].id) == -1)
			return -1;
		argv[argc++] = keys[i];
		ch->kinds[i] = w[i].kind;
	}
	if (cluster_key(keys[nw], sizeof(keys[nw]), c->cfg->redis_prefix,
	    name, CLUSTER_BLOCKED_ID) == -1)
		return -1;
	argv[argc++] = keys[nw];
	ch->nw = nw;
	argv[argc++] = mode;
	for (i = 0; i < nw; i++) {
		snprintf(nums[i][0], 24, "%" PRIu64, w[i].lim.limit);
		snprintf(nums[i][1], 24, "%" PRIu64, w[i].lim.period_us);
		snprintf(nums[i][2], 24, "%" PRIu64, w[i].lim.burst);
		snprintf(nums[i][3], 24, "%" PRIu64, w[i].cost);
		for (int k = 0; k < 4; k++)
			argv[argc++] = nums[i][k];
	}
	for (i = 0; i < (size_t)argc; i++)
		len[i] = strlen(argv[i]);
	return redis_command(c->rd, on_charge, ch, argc, argv, len);
}

/* send_due - backlog_catch_up's sender: one account's debt, forced */
static int
send_due(void *arg, struct backlog_due *d)
{
	struct cluster	*c = arg;
	struct charge	*ch;

	if ((ch = calloc(1, sizeof(*ch))) == NULL)
		return -1;
	ch->c = c;
	ch->catchup = d;
	if (send_charge(c, d->name, "force", d->w, d->nw, ch) == -1) {
		free(ch);
		return -1;
	}
	return 0;
}

/* catch_up - Redis is back: write what each account charged meanwhile,
 * here or before a restart (the debt is in the usage rows) */
static void
catch_up(struct cluster *c)
{
	size_t	 n;

	if ((n = backlog_catch_up(c->bl, c->as, send_due, c)) > 0)
		log_info("cluster: redis %s: writing what %zu accounts "
		    "charged on this node alone meanwhile", redis_name(c->rd),
		    n);
}

/* cluster_new - see cluster.h */
struct cluster *
cluster_new(struct loop *loop, const struct config *cfg)
{
	struct cluster *c;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_warn("cluster");
		return NULL;
	}
	if ((c->bl = backlog_new()) == NULL) {
		free(c);
		return NULL;
	}
	c->loop = loop;
	c->cfg = cfg;
	if ((c->rd = redis_new(loop, cfg, on_state, c)) == NULL) {
		backlog_free(c->bl);
		free(c);
		return NULL;
	}
	return c;
}

/* cluster_set_accts - see cluster.h */
void
cluster_set_accts(struct cluster *c, struct accts *as)
{
	c->as = as;
	if (cluster_ready(c))
		catch_up(c);
}

void
cluster_free(struct cluster *c)
{
	if (c == NULL)
		return;
	redis_free(c->rd);
	backlog_free(c->bl);
	free(c);
}

int
cluster_ready(const struct cluster *c)
{
	return c->sha[0] != '\0' && redis_up(c->rd);
}

/* cluster_charge - see cluster.h */
int
cluster_charge(struct cluster *c, const struct acct *a, uint32_t rcpts,
    cluster_cb cb, void *arg)
{
	struct cluster_window w[CLUSTER_WINDOWS_MAX];
	struct charge	*ch;
	size_t		 nw;

	if (!cluster_ready(c))
		return -1;
	nw = cluster_windows(a->lim[BK_MESSAGES], a->lim[BK_RECIPIENTS], 1,
	    rcpts, w, CLUSTER_WINDOWS_MAX);
	if ((ch = calloc(1, sizeof(*ch))) == NULL)
		return -1;
	ch->c = c;
	ch->cb = cb;
	ch->arg = arg;
	if (send_charge(c, a->name, "charge", w, nw, ch) == -1) {
		free(ch);
		return -1;
	}
	return 0;
}

/* share - this node's part of l while Redis is away: limit/N and
 * burst/N, at least 1 (0 stays 0: it refuses everything anyway) */
static struct budget_limit
share(const struct cluster *c, const struct budget_limit *l)
{
	struct budget_limit s = *l;
	uint64_t n = c->cfg->cluster_nodes ? c->cfg->cluster_nodes : 1;

	if (s.limit != 0 && s.limit != BUDGET_UNLIMITED) {
		s.limit = s.limit / n ? s.limit / n : 1;
		if (s.burst != 0)
			s.burst = s.burst / n ? s.burst / n : 1;
	}
	return s;
}

/* cluster_charge_local - see cluster.h */
enum budget_verdict
cluster_charge_local(struct cluster *c, struct acct *a, uint32_t rcpts,
    uint64_t now, enum budget_kind *which, uint64_t *retry_at)
{
	struct cluster_window w[CLUSTER_WINDOWS_MAX];
	struct budget_limit s;
	uint64_t	 at, worst = 0;
	size_t		 nw, i;
	int		 over = -1;

	nw = cluster_windows(a->lim[BK_MESSAGES], a->lim[BK_RECIPIENTS], 1,
	    rcpts, w, CLUSTER_WINDOWS_MAX);
	for (i = 0; i < nw; i++) {
		s = share(c, &w[i].lim);
		at = 0;
		if (budget_peek(&s, a->use.tat[w[i].kind][w[i].win], now, w[i].cost,
		    &at) == BUDGET_OK)
			continue;
		if (over == -1 || at > worst) {
			worst = at;
			over = w[i].kind;
		}
	}
	if (over != -1) {
		if (which)
			*which = (enum budget_kind)over;
		if (retry_at)
			*retry_at = worst;
		return BUDGET_OVER;
	}
	for (i = 0; i < nw; i++) {
		s = share(c, &w[i].lim);
		if (budget_charge(&s, &a->use.tat[w[i].kind][w[i].win], now, w[i].cost,
		    NULL) != BUDGET_OK)
			panic("budget_charge refused what budget_peek allowed");
	}
	if (nw > 0) {
		/* owed in the same usage row, so durable in the same group
		 * commit as the charge, before the answer */
		backlog_owe(&a->use, w, nw);
		acct_touch(a);
	}
	return BUDGET_OK;
}

/* gr_find - the release state of name; NULL when full */
static struct grant *
gr_find(struct cluster *c, const char *name)
{
	size_t	 i;

	for (i = 0; i < c->ngr; i++)
		if (strcmp(c->gr[i].name, name) == 0)
			return &c->gr[i];
	for (i = 0; i < c->ngr; i++) {
		/* reuse a slot nobody waits on */
		if (!c->gr[i].asking && c->gr[i].granted == 0)
			break;
	}
	if (i == c->ngr) {
		if (c->ngr == CLUSTER_GRANTS_MAX)
			return NULL;
		c->ngr++;
	}
	memset(&c->gr[i], 0, sizeof(c->gr[i]));
	snprintf(c->gr[i].name, STORE_NAMELEN, "%s", name);
	return &c->gr[i];
}

/* cluster_release_ok - see cluster.h */
int
cluster_release_ok(struct cluster *c, struct acct *a, uint32_t rcpts,
    uint64_t now, uint64_t *retry_at)
{
	struct cluster_window w[CLUSTER_WINDOWS_MAX];
	struct grant	*g;
	struct charge	*ch;
	enum budget_kind which;
	size_t		 nw;

	if (!cluster_ready(c))
		return cluster_charge_local(c, a, rcpts, now, &which,
		    retry_at) == BUDGET_OK;
	if ((g = gr_find(c, a->name)) == NULL)
		goto later;
	if (g->granted != 0) {
		/* granted for the oldest message; a larger one waits for
		 * its own grant, a smaller one takes it */
		if (rcpts <= g->granted) {
			g->granted = 0;
			return 1;
		}
		g->granted = 0;
	}
	if (g->asking)
		goto later;
	if (g->retry_at > now)
		goto later_at;
	nw = cluster_windows(a->lim[BK_MESSAGES], a->lim[BK_RECIPIENTS], 1,
	    rcpts, w, CLUSTER_WINDOWS_MAX);
	if ((ch = calloc(1, sizeof(*ch))) == NULL)
		goto later;
	ch->c = c;
	ch->grant = g;
	ch->rcpts = rcpts ? rcpts : 1;
	if (send_charge(c, a->name, "charge", w, nw, ch) == -1) {
		free(ch);
		goto later;
	}
	g->asking = 1;
later:
	if (retry_at)
		*retry_at = now + 1000000;
	return 0;
later_at:
	if (retry_at)
		*retry_at = g->retry_at;
	return 0;
}

void
cluster_on_grant(struct cluster *c, void (*kick)(void *), void *arg)
{
	c->kick = kick;
	c->kick_arg = arg;
}
