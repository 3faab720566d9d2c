/*
 * cluster - shared budgets in Redis (see cluster.h, docs/cluster.md).
 *
 * Keys: PREFIX "b:{" ACCOUNT "}:tat", the account's GCRA state: one
 * "KIND:PERIOD_S=TAT" pair per window still running (TAT, the theoretical
 * arrival time, in microseconds of the Redis server's clock), expiring
 * when none of them has anything left to remember; and PREFIX "b:{"
 * ACCOUNT "}:blocked", set by mailgovctl block on any node, which
 * refuses every charge.  Why one key for all windows: a message charges
 * them all at once, so one write replaces one per window; an account is
 * one key, not three, at 100k accounts; and a reset is one DEL that also
 * takes the windows of budgets since removed.  (It is not faster: in a
 * micro-benchmark the parsing costs Redis what the writes saved.)
 *
 * The script does what budget.c does, for N windows at once: every
 * window is checked first and all are charged only when all pass, so a
 * refused message spends nothing.  "force" charges without checking:
 * that is how the charges made during an outage catch up (backlog.c
 * keeps them, durably, in the accounts' usage rows).  "refund" gives a
 * charge back (a release that did not happen), never below the
 * server's now: a window cannot hold more than full.
 *
 * Why one EVALSHA carries a whole loop turn's messages (up to
 * CLUSTER_BATCH_MAX, each with its own windows, in order): Redis runs
 * one script at a time on one thread, and calling a script costs it far
 * more than the few GET and SET inside.  One call per message put
 * redis-server's CPU, on the same few cores as mailgovd, at the head of
 * the queue path's costs; one call per turn leaves the round trip.  The
 * messages of a call are charged one after the other, exactly as
 * separate calls would be.  So one call touches several accounts' keys:
 * a single Redis (or Sentinel's primary), not Redis Cluster, which
 * mailgovd does not speak anyway (no MOVED).
 *
 * Trusts: the configuration and the accounts (names are [a-z0-9._-]).
 * Not Redis: a reply that is not the script's integers, three per
 * message, counts as "unavailable" and the local share decides.
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
#include "reply.h"
#include "resp.h"

#define CLUSTER_GRANTS_MAX	1024	/* accounts releasing held mail */
#define CLUSTER_CATCHUP_ROUND	1024	/* accounts a catch-up round writes */
#define CLUSTER_BATCH_MAX	64	/* messages per EVALSHA */
#define CLUSTER_KEYLEN		(CONFIG_PREFIXLEN + STORE_NAMELEN + 40)
#define CLUSTER_LOG_RATE	5	/* odd-reply lines per minute */

static const char gcra_lua[] =
"local t = redis.call('TIME')\n"
"local now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n"
"local out = {}\n"
"local k, a = 1, 1\n"
"while a < #ARGV do\n"
"  local mode = ARGV[a]\n"
"  local force = mode ~= 'charge'\n"
"  local n = tonumber(ARGV[a + 1])\n"
"  a = a + 2\n"
"  local ok, over, worst = 1, 0, 0\n"
"  local got = redis.call('MGET', KEYS[k], KEYS[k + 1])\n"
"  if not force and got[2] then\n"
"    ok, worst = 2, -1\n"
"  else\n"
"    local st = {}\n"
"    if got[1] then\n"
"      for id, v in string.gmatch(got[1], '([^ =]+)=(%d+)') do\n"
"        st[id] = tonumber(v)\n"
"      end\n"
"    end\n"
"    local new = {}\n"
"    for i = 1, n do\n"
"      local b = a + (i - 1) * 5\n"
"      local limit = tonumber(ARGV[b + 1])\n"
"      local period = tonumber(ARGV[b + 2])\n"
"      local burst = tonumber(ARGV[b + 3])\n"
"      local cost = tonumber(ARGV[b + 4])\n"
"      if burst == 0 then burst = limit end\n"
"      local base = math.max(st[ARGV[b]] or 0, now)\n"
"      if limit == 0 or cost > burst then\n"
"        new[i] = base\n"
"        if not force then over = i; worst = -1; break end\n"
"      elseif mode == 'refund' then\n"
"        local T = math.max(1, math.floor(period / limit))\n"
"        new[i] = math.max(now, base - T * cost)\n"
"      else\n"
"        local T = math.max(1, math.floor(period / limit))\n"
"        local nt = base + T * cost\n"
"        new[i] = nt\n"
"        if not force and nt - T * burst > now and worst >= 0 and\n"
"            nt - T * burst - now > worst then\n"
"          over = i; worst = nt - T * burst - now\n"
"        end\n"
"      end\n"
"    end\n"
"    if over > 0 then\n"
"      ok = 0\n"
"    else\n"
"      for i = 1, n do\n"
"        st[ARGV[a + (i - 1) * 5]] = new[i]\n"
"      end\n"
"      local parts, top = {}, 0\n"
"      for id, v in pairs(st) do\n"
"        if v > now then\n"
"          parts[#parts + 1] = id .. '=' .. string.format('%d', v)\n"
"          if v > top then top = v end\n"
"        end\n"
"      end\n"
"      if top > 0 then\n"
"        redis.call('SET', KEYS[k], table.concat(parts, ' '), 'PX',\n"
"            math.ceil((top - now) / 1000))\n"
"      elseif got[1] then\n"
"        redis.call('DEL', KEYS[k])\n"
"      end\n"
"    end\n"
"  end\n"
"  out[#out + 1] = ok\n"
"  out[#out + 1] = over\n"
"  out[#out + 1] = worst\n"
"  k = k + 2\n"
"  a = a + 5 * n\n"
"end\n"
"return out\n";

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
	struct batch		*open;		/* this turn's, not sent yet */
	struct resp		 cmd;		/* its EVALSHA, reused */
};

/* one message's charge, from its question to its answer */
struct charge {
	struct cluster	*c;
	cluster_cb	 cb;
	void		*arg;
	char		 name[STORE_NAMELEN];
	struct cluster_window w[CLUSTER_WINDOWS_MAX];
	size_t		 nw;
	const char	*mode;		/* "charge", "force" or "refund" */
	struct backlog_due *catchup;	/* a catch-up: paid when written */
	struct grant	*grant;		/* a release's question */
	uint32_t	 rcpts;
};

/* the charges of one EVALSHA, in the order of the script's answers */
struct batch {
	struct cluster	*c;
	size_t		 n;
	struct charge	*ch[CLUSTER_BATCH_MAX];
};

/* three integers per message must fit one bounded reply array */
_Static_assert(CLUSTER_BATCH_MAX * 3 <= REPLY_MAXELEM, "batch too large");

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

/* settle - a message's answer reaches whoever asked */
static void
settle(struct charge *ch, enum cluster_answer ans, enum budget_kind which,
    uint64_t retry_at)
{
	struct cluster	*c = ch->c;

	if (ch->catchup != NULL) {
		if (backlog_done(c->bl, c->as, ch->catchup, ans == CLUSTER_OK))
			catch_up(c);
	} else if (ch->grant != NULL) {
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

/* answer_of - one message's three integers: {1,0,0} charged, {2,0,-1}
 * blocked, or {0, window, retry_us} over; anything else is odd */
static enum cluster_answer
answer_of(const struct charge *ch, struct redisReply **e,
    enum budget_kind *which, uint64_t *retry_at)
{
	long long	 ok, idx, us;

	if (e[0]->type != REDIS_REPLY_INTEGER ||
	    e[1]->type != REDIS_REPLY_INTEGER ||
	    e[2]->type != REDIS_REPLY_INTEGER)
		return CLUSTER_UNAVAILABLE;
	ok = e[0]->integer;
	idx = e[1]->integer;
	us = e[2]->integer;
	if (ok == 1)
		return CLUSTER_OK;
	if (ok == 2)
		return CLUSTER_BLOCKED;
	if (ok != 0 || idx < 1 || (size_t)idx > ch->nw || us < -1)
		return CLUSTER_UNAVAILABLE;
	*which = (enum budget_kind)ch->w[idx - 1].kind;
	*retry_at = us == -1 ? UINT64_MAX : clock_now_us() + (uint64_t)us;
	return CLUSTER_OVER;
}

/* on_batch - the script's answer for every message of a batch */
static void
on_batch(void *arg, const struct redisReply *rep)
{
	struct batch	*b = arg;
	struct cluster	*c = b->c;
	enum cluster_answer ans;
	enum budget_kind which;
	uint64_t	 retry_at;
	size_t		 i;
	int		 whole;

	whole = rep != NULL && rep->type == REDIS_REPLY_ARRAY &&
	    rep->elements == b->n * 3;
	if (rep != NULL && rep->type == REDIS_REPLY_ERROR &&
	    strncmp(rep->str, "NOSCRIPT", 8) == 0) {
		/* flushed, or a replica promoted without it: these
		 * charges take the local share, the next ones the script */
		load_script(c);
	} else if (rep != NULL && !whole)
		odd(c, rep);
	for (i = 0; i < b->n; i++) {
		ans = CLUSTER_UNAVAILABLE;
		which = BK_MESSAGES;
		retry_at = 0;
		if (whole) {
			ans = answer_of(b->ch[i], &rep->element[i * 3], &which,
			    &retry_at);
			if (ans == CLUSTER_UNAVAILABLE)
				odd(c, rep);
		}
		settle(b->ch[i], ans, which, retry_at);
	}
	free(b);
}

/* send_batch - EVALSHA the open batch; its charges are settled as
 * unavailable when it cannot go (the link broke during the turn) */
static void
send_batch(struct cluster *c)
{
	struct batch	*b = c->open;
	struct charge	*ch;
	char		 key[CLUSTER_KEYLEN];
	size_t		 i, j, argc = 3;
	int		 k, sent = -1;

	if (b == NULL)
		return;
	c->open = NULL;
	for (i = 0; i < b->n; i++)
		argc += 2 + 2 + b->ch[i]->nw * 5;
	resp_begin(&c->cmd, argc);
	resp_cstr(&c->cmd, "EVALSHA");
	resp_cstr(&c->cmd, c->sha);
	resp_u64(&c->cmd, b->n * 2);
	for (i = 0; i < b->n; i++) {
		for (k = 0; k < 2; k++) {
			if (cluster_key(key, sizeof(key), c->cfg->redis_prefix,
			    b->ch[i]->name, k == 0 ? CLUSTER_STATE_ID :
			    CLUSTER_BLOCKED_ID) == -1)
				goto out;
			resp_cstr(&c->cmd, key);
		}
	}
	for (i = 0; i < b->n; i++) {
		ch = b->ch[i];
		resp_cstr(&c->cmd, ch->mode);
		resp_u64(&c->cmd, ch->nw);
		for (j = 0; j < ch->nw; j++) {
			resp_cstr(&c->cmd, ch->w[j].id);
			resp_u64(&c->cmd, ch->w[j].lim.limit);
			resp_u64(&c->cmd, ch->w[j].lim.period_us);
			resp_u64(&c->cmd, ch->w[j].lim.burst);
			resp_u64(&c->cmd, ch->w[j].cost);
		}
	}
	if (!c->cmd.err)
		sent = redis_command_raw(c->rd, on_batch, b, c->cmd.buf,
		    c->cmd.len);
out:
	if (sent == -1)
		on_batch(b, NULL);
}

/* on_turn - the turn's charges go out as one call.  Registered before
 * the connection's own turn hook, so the call leaves in this turn's
 * write (redis.c). */
static void
on_turn(void *arg)
{
	struct cluster *c = arg;

	if (c->open != NULL)
		send_batch(c);
}

/* send_charge - add ch, for the windows w of account name, to this
 * turn's call; -1 when Redis is not ready (ch is the caller's again) */
static int
send_charge(struct cluster *c, const char *name, const char *mode,
    const struct cluster_window *w, size_t nw, struct charge *ch)
{
	if (c->sha[0] == '\0' || !redis_up(c->rd) || nw > CLUSTER_WINDOWS_MAX)
		return -1;
	if (c->open == NULL) {
		if ((c->open = calloc(1, sizeof(*c->open))) == NULL)
			return -1;
		c->open->c = c;
	}
	snprintf(ch->name, sizeof(ch->name), "%s", name);
	memcpy(ch->w, w, nw * sizeof(*w));
	ch->nw = nw;
	ch->mode = mode;
	c->open->ch[c->open->n++] = ch;
	if (c->open->n == CLUSTER_BATCH_MAX)
		send_batch(c);
	return 0;
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
	if ((c->bl = backlog_new(CLUSTER_CATCHUP_ROUND)) == NULL) {
		free(c);
		return NULL;
	}
	c->loop = loop;
	c->cfg = cfg;
	if (loop_on_turn(loop, on_turn, c) == -1) {
		log_warn("cluster");
		backlog_free(c->bl);
		free(c);
		return NULL;
	}
	if ((c->rd = redis_new(loop, cfg, on_state, c)) == NULL) {
		loop_off_turn(loop, on_turn, c);
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
	loop_off_turn(c->loop, on_turn, c);
	if (c->open != NULL) {
		/* asked this turn, never sent: nobody waits any more */
		for (size_t i = 0; i < c->open->n; i++) {
			free(c->open->ch[i]->catchup);
			free(c->open->ch[i]);
		}
		free(c->open);
	}
	redis_free(c->rd);
	resp_free(&c->cmd);
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
    uint64_t now, uint64_t *retry_at, enum cluster_paid *paid)
{
	struct cluster_window w[CLUSTER_WINDOWS_MAX];
	struct grant	*g;
	struct charge	*ch;
	enum budget_kind which;
	size_t		 nw;

	if (!cluster_ready(c)) {
		*paid = CLUSTER_PAID_SHARE;
		return cluster_charge_local(c, a, rcpts, now, &which,
		    retry_at) == BUDGET_OK;
	}
	if ((g = gr_find(c, a->name)) == NULL)
		goto later;
	if (g->granted != 0) {
		/* granted for the oldest message; a larger one waits for
		 * its own grant, a smaller one takes it (Redis keeps the
		 * difference, and a refund gives back only its own) */
		if (rcpts <= g->granted) {
			g->granted = 0;
			*paid = CLUSTER_PAID_REDIS;
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

/* cluster_refund - see cluster.h */
void
cluster_refund(struct cluster *c, struct acct *a, uint32_t rcpts,
    enum cluster_paid paid)
{
	struct cluster_window w[CLUSTER_WINDOWS_MAX];
	struct budget_limit s;
	struct charge	*ch;
	uint64_t	 pay[CLUSTER_WINDOWS_MAX];
	size_t		 nw, i;

	nw = cluster_windows(a->lim[BK_MESSAGES], a->lim[BK_RECIPIENTS], 1,
	    rcpts, w, CLUSTER_WINDOWS_MAX);
	if (nw == 0)
		return;
	if (paid == CLUSTER_PAID_SHARE) {
		/* not written to Redis yet, or written by a catch-up since:
		 * then Redis keeps it, and pays once too often */
		for (i = 0; i < nw; i++) {
			s = share(c, &w[i].lim);
			budget_refund(&s, &a->use.tat[w[i].kind][w[i].win],
			    w[i].cost);
			pay[i] = w[i].cost;
		}
		backlog_paid(&a->use, w, pay, nw);
		acct_touch(a);
		return;
	}
	if ((ch = calloc(1, sizeof(*ch))) == NULL)
		return;
	ch->c = c;
	if (send_charge(c, a->name, "refund", w, nw, ch) == -1)
		free(ch);
}

void
cluster_on_grant(struct cluster *c, void (*kick)(void *), void *arg)
{
	c->kick = kick;
	c->kick_arg = arg;
}
