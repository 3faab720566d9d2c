/*
 * peek - a blocking look at the shared budgets (see peek.h): TIME, then
 * one GET of the account's state, answered from the same GCRA arithmetic
 * as everything else (budget_remaining, on Redis's clock); or one DEL of
 * that state, for a reset.
 *
 * Trusts: the configuration.  Not Redis: replies go through the bounded
 * reply objects (reply.h), and any reply of the wrong type is an error
 * line, never a guess.
 */
#include <sys/time.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "budget.h"
#include "config.h"
#include "log.h"
#include "num.h"
#include "peek.h"
#include "reply.h"
#include "windows.h"

struct peek {
	const struct config	*cfg;
	redisContext		*rc;
};

/* cmd - one command; its reply (the caller frees it), or NULL with err */
static redisReply *
cmd(struct peek *p, int argc, const char **argv, char *err, size_t errlen)
{
	redisReply *r;
	char	 text[96];

	r = redisCommandArgv(p->rc, argc, argv, NULL);
	if (r == NULL) {
		snprintf(err, errlen, "redis %s: %s", p->cfg->redis,
		    p->rc->errstr[0] ? p->rc->errstr : "no reply");
		return NULL;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		log_clean(text, sizeof(text), r->str, r->len);
		snprintf(err, errlen, "redis %s: %s", p->cfg->redis, text);
		freeReplyObject(r);
		return NULL;
	}
	return r;
}

/* peek_open - see peek.h */
struct peek *
peek_open(const struct config *cfg, char *err, size_t errlen)
{
	struct timeval tv;
	struct peek *p;
	redisReply *r;
	const char *argv[3];
	char	 host[CONFIG_PATHLEN];
	const char *port;
	uint64_t portn;
	size_t	 n;
	int	 argc = 0;

	if ((p = calloc(1, sizeof(*p))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	p->cfg = cfg;
	tv.tv_sec = cfg->redis_timeout_ms / 1000;
	tv.tv_usec = (suseconds_t)(cfg->redis_timeout_ms % 1000) * 1000;
	if (strncmp(cfg->redis, "unix:", 5) == 0)
		p->rc = redisConnectUnixWithTimeout(cfg->redis + 5, tv);
	else {
		/* checked by the configuration: host:port or [v6]:port */
		port = strrchr(cfg->redis, ':');
		if (port == NULL)
			goto bad;
		n = (size_t)(port - cfg->redis);
		if (cfg->redis[0] == '[') {
			memcpy(host, cfg->redis + 1, n - 2);
			host[n - 2] = '\0';
		} else {
			memcpy(host, cfg->redis, n);
			host[n] = '\0';
		}
		if (num_u64(port + 1, 1, 65535, 0, &portn, NULL) == -1)
			goto bad;
		p->rc = redisConnectWithTimeout(host, (int)portn, tv);
	}
	if (p->rc == NULL || p->rc->err) {
		snprintf(err, errlen, "redis %s: %s", cfg->redis,
		    p->rc ? p->rc->errstr : "out of memory");
		goto fail;
	}
	(void)redisSetTimeout(p->rc, tv);
	p->rc->reader->fn = &reply_bounded;
	if (cfg->redis_password[0] != '\0') {
		argv[argc++] = "AUTH";
		if (cfg->redis_user[0] != '\0')
			argv[argc++] = cfg->redis_user;
		argv[argc++] = cfg->redis_password;
		if ((r = cmd(p, argc, argv, err, errlen)) == NULL)
			goto fail;
		freeReplyObject(r);
	}
	return p;
bad:
	snprintf(err, errlen, "redis %s: not host:port or unix:PATH",
	    cfg->redis);
fail:
	peek_close(p);
	return NULL;
}

void
peek_close(struct peek *p)
{
	if (p == NULL)
		return;
	if (p->rc != NULL)
		redisFree(p->rc);
	free(p);
}

/* peek_remaining - see peek.h */
int
peek_remaining(struct peek *p, const char *name,
    const struct budget *const lim[BK_COUNT],
    uint64_t rem[BK_COUNT][BUDGET_WINDOWS_MAX], char *err, size_t errlen)
{
	struct cluster_window w[CLUSTER_WINDOWS_MAX];
	char	 key[256];
	const char *argv[2];
	redisReply *r;
	uint64_t now, tat;
	size_t	 nw, i;
	int	 k;

	for (k = 0; k < BK_COUNT; k++)
		for (i = 0; i < BUDGET_WINDOWS_MAX; i++)
			rem[k][i] = UINT64_MAX;
	argv[0] = "TIME";
	if ((r = cmd(p, 1, argv, err, errlen)) == NULL)
		return -1;
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
	    r->element[0]->type != REDIS_REPLY_STRING ||
	    r->element[1]->type != REDIS_REPLY_STRING ||
	    num_u64(r->element[0]->str, 0, UINT64_MAX / 2000000, 0, &now,
	    NULL) == -1 ||
	    num_u64(r->element[1]->str, 0, 999999, 0, &tat, NULL) == -1) {
		freeReplyObject(r);
		snprintf(err, errlen, "redis %s: TIME: unexpected reply",
		    p->cfg->redis);
		return -1;
	}
	now = now * 1000000 + tat;
	freeReplyObject(r);
	if (cluster_key(key, sizeof(key), p->cfg->redis_prefix, name,
	    CLUSTER_STATE_ID) == -1) {
		snprintf(err, errlen, "account name too long");
		return -1;
	}
	argv[0] = "GET";
	argv[1] = key;
	if ((r = cmd(p, 2, argv, err, errlen)) == NULL)
		return -1;
	if (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_NIL) {
		freeReplyObject(r);
		snprintf(err, errlen, "redis %s: GET: unexpected reply",
		    p->cfg->redis);
		return -1;
	}
	nw = cluster_windows(lim[BK_MESSAGES], lim[BK_RECIPIENTS], 1, 1, w,
	    CLUSTER_WINDOWS_MAX);
	for (i = 0; i < nw; i++) {
		tat = 0;
		if (r->type == REDIS_REPLY_STRING && cluster_state_tat(r->str,
		    r->len, w[i].id, &tat) == -1) {
			freeReplyObject(r);
			snprintf(err, errlen, "redis %s: %s holds no budget "
			    "state", p->cfg->redis, key);
			return -1;
		}
		rem[w[i].kind][w[i].win] = budget_remaining(&w[i].lim, tat,
		    now);
	}
	freeReplyObject(r);
	return 0;
}

/* peek_reset - see peek.h: the state of every window goes at once,
 * those of budgets no longer configured too */
int
peek_reset(struct peek *p, const char *name, char *err, size_t errlen)
{
	char	 key[256];
	const char *argv[2];
	redisReply *r;

	if (cluster_key(key, sizeof(key), p->cfg->redis_prefix, name,
	    CLUSTER_STATE_ID) == -1) {
		snprintf(err, errlen, "account name too long");
		return -1;
	}
	argv[0] = "DEL";
	argv[1] = key;
	if ((r = cmd(p, 2, argv, err, errlen)) == NULL)
		return -1;
	if (r->type != REDIS_REPLY_INTEGER) {
		freeReplyObject(r);
		snprintf(err, errlen, "redis %s: DEL: unexpected reply",
		    p->cfg->redis);
		return -1;
	}
	freeReplyObject(r);
	return 0;
}

/* peek_block - see peek.h */
int
peek_block(struct peek *p, const char *name, int on, char *err,
    size_t errlen)
{
	char	 key[256];
	const char *argv[3];
	redisReply *r;

	if (cluster_key(key, sizeof(key), p->cfg->redis_prefix, name,
	    CLUSTER_BLOCKED_ID) == -1) {
		snprintf(err, errlen, "account name too long");
		return -1;
	}
	argv[0] = on ? "SET" : "DEL";
	argv[1] = key;
	argv[2] = "1";
	if ((r = cmd(p, on ? 3 : 2, argv, err, errlen)) == NULL)
		return -1;
	freeReplyObject(r);
	return 0;
}
