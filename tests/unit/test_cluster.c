/*
 * test_cluster - the shared budgets against a real redis-server, started
 * by the test on a unix socket in a scratch directory (no TCP port): the
 * GCRA script's answers match budget.c's, a whole turn of charges is one
 * pipelined batch, NOSCRIPT reloads, a wrong password and a server that
 * answers nonsense or too much mean "unavailable" and never a crash, and
 * the local share's charges catch up when Redis is back.
 */
#define _GNU_SOURCE		/* memmem, accept4 */
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acct.h"
#include "budget.h"
#include "clock.h"
#include "cluster.h"
#include "config.h"
#include "log.h"
#include "loop.h"
#include "store.h"
#include "t.h"
#include "windows.h"

#define HOUR_US	3600000000ULL
#define DAY_US	86400000000ULL

static char dir[64], sock[128], dbpath[128];
static pid_t server = -1;
static struct loop *L;

/* --- the loop, run for a while ------------------------------------------ */

static int (*until)(void *);
static void *until_arg;
static uint64_t until_end;

static void
on_tick(int fd, uint32_t ev, void *arg)
{
	uint64_t x;

	(void)ev;
	(void)arg;
	while (read(fd, &x, sizeof(x)) == -1 && errno == EINTR)
		;
	if ((until != NULL && until(until_arg)) ||
	    clock_mono_ms() >= until_end)
		loop_stop(L);
}

/* spin - run the loop until pred(arg) or ms passed; pred's last answer */
static int
spin(int (*pred)(void *), void *arg, unsigned ms)
{
	until = pred;
	until_arg = arg;
	until_end = clock_mono_ms() + ms;
	loop_run(L);
	return pred != NULL ? pred(arg) : 0;
}

static int
is_ready(void *c)
{
	return cluster_ready(c);
}

/* --- the server ---------------------------------------------------------- */

/* start_server - redis-server on sock, with requirepass pass if not NULL */
static void
start_server(const char *pass)
{
	char	 conf[400];
	FILE	*f;
	int	 i;

	snprintf(conf, sizeof(conf), "%s/redis.conf", dir);
	if ((f = fopen(conf, "w")) == NULL)
		exit(2);
	fprintf(f, "port 0\nunixsocket %s\nunixsocketperm 700\ndir %s\n"
	    "save \"\"\nappendonly no\nlogfile %s/redis.log\n", sock, dir,
	    dir);
	if (pass != NULL)
		fprintf(f, "requirepass %s\n", pass);
	fclose(f);
	unlink(sock);
	if ((server = fork()) == 0) {
		execlp("redis-server", "redis-server", conf, (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 500 && access(sock, F_OK) == -1; i++)
		usleep(10000);
	T_OK(access(sock, F_OK) == 0, "redis-server listens on its socket");
}

static void
stop_server(void)
{
	if (server > 0) {
		kill(server, SIGTERM);
		waitpid(server, NULL, 0);
		server = -1;
	}
}

/* cli - run redis-cli on the socket; its first output line into out */
static void
cli(const char *args, char *out, size_t len)
{
	char	 cmd[600];
	FILE	*p;

	snprintf(cmd, sizeof(cmd), "redis-cli -s %s %s 2>&1", sock, args);
	out[0] = '\0';
	if ((p = popen(cmd, "r")) == NULL)
		return;
	if (fgets(out, (int)len, p) != NULL)
		out[strcspn(out, "\n")] = '\0';
	pclose(p);
}

/* --- charges ------------------------------------------------------------- */

struct answers {
	unsigned	 n, ok, over, unavail, blocked;
	enum budget_kind which;
	uint64_t	 retry_at;
};

static void
on_answer(void *arg, enum cluster_answer ans, enum budget_kind which,
    uint64_t retry_at)
{
	struct answers *a = arg;

	a->n++;
	if (ans == CLUSTER_OK)
		a->ok++;
	else if (ans == CLUSTER_OVER) {
		a->over++;
		a->which = which;
		a->retry_at = retry_at;
	} else if (ans == CLUSTER_BLOCKED)
		a->blocked++;
	else
		a->unavail++;
}

static unsigned want_n;

static int
answered(void *arg)
{
	return ((struct answers *)arg)->n >= want_n;
}

/* charge - n charges of rcpts in one turn; wait for their answers */
static struct answers
charge(struct cluster *c, struct acct *a, unsigned n, uint32_t rcpts)
{
	struct answers ans;
	unsigned i;

	memset(&ans, 0, sizeof(ans));
	for (i = 0; i < n; i++)
		if (cluster_charge(c, a, rcpts, on_answer, &ans) == -1)
			ans.unavail++, ans.n++;
	want_n = n;
	spin(answered, &ans, 3000);
	return ans;
}

/* --- the tests ------------------------------------------------------------ */

static struct config cfg;
static struct accts *as;

/* test_gcra_matches_budget_c - 3/h: three pass, the fourth is refused
 * with the same retry budget.c gives; recipients/day counts rcpts */
static void
test_gcra_matches_budget_c(struct cluster *c)
{
	struct acct *a = acct_by_name(as, "alice");
	struct budget_limit l = a->lim[BK_MESSAGES]->w[0];
	struct answers r;
	uint64_t tat = 0, now = clock_now_us(), retry = 0;
	unsigned i, local_ok = 0;

	r = charge(c, a, 4, 1);
	for (i = 0; i < 4; i++)
		local_ok += budget_charge(&l, &tat, now, 1, &retry) ==
		    BUDGET_OK;
	T_EQ_U(r.ok, local_ok, "charges Redis allowed, as budget.c would");
	T_EQ_U(r.over, 1, "the fourth message is refused");
	T_EQ_U(r.which, BK_MESSAGES, "refused by messages");
	T_OK(r.retry_at > now + (retry - now) - 2000000 &&
	    r.retry_at < now + (retry - now) + 2000000,
	    "retry in %" PRIu64 " s, budget.c says %" PRIu64 " s",
	    (r.retry_at - now) / 1000000, (retry - now) / 1000000);

	a = acct_by_name(as, "bob");
	r = charge(c, a, 1, 8);
	T_EQ_U(r.ok, 1, "8 of 10 recipients a day");
	r = charge(c, a, 1, 3);
	T_EQ_U(r.over, 1, "3 more are refused, all or nothing");
	T_EQ_U(r.which, BK_RECIPIENTS, "by recipients");
	r = charge(c, a, 1, 2);
	T_EQ_U(r.ok, 1, "but 2 still pass: the refusal spent nothing");
	r = charge(c, a, 1, 11);
	T_OK(r.over == 1 && r.retry_at == UINT64_MAX,
	    "a message above the burst is refused for good");
}

/* test_block_from_any_node - the account's blocked key refuses every
 * charge, spending nothing; gone, charges pass again */
static void
test_block_from_any_node(struct cluster *c)
{
	struct acct *a = acct_by_name(as, "frank");
	struct answers r;
	char	 out[64];

	cli("SET 'mgt:b:{frank}:blocked' 1", out, sizeof(out));
	r = charge(c, a, 2, 1);
	T_EQ_U(r.blocked, 2, "blocked: both refused");
	cli("EXISTS 'mgt:b:{frank}:messages:3600'", out,
	    sizeof(out));
	T_EQ_S(out, "0", "a blocked charge spends nothing");
	cli("DEL 'mgt:b:{frank}:blocked'", out, sizeof(out));
	r = charge(c, a, 1, 1);
	T_EQ_U(r.ok, 1, "unblocked: it passes");
}

/* test_keys_expire - each window's key carries a TTL */
static void
test_keys_expire(void)
{
	char	 out[128];

	cli("PTTL 'mgt:b:{alice}:tat'", out, sizeof(out));
	T_OK(atoll(out) > 0 && atoll(out) <= 3600000 + 1,
	    "an hour window's state expires by itself (PTTL %s)", out);
	cli("PTTL 'mgt:b:{bob}:tat'", out, sizeof(out));
	T_OK(atoll(out) > 3600000,
	    "a day window's lives as long as it has to (PTTL %s)", out);
	cli("GET 'mgt:b:{bob}:tat'", out, sizeof(out));
	T_OK(strstr(out, "recipients:86400=") != NULL,
	    "one key holds the windows by name (%s)", out);
}

/* test_one_turn_is_pipelined - 200 charges of one turn: one EVALSHA per
 * 64 of them, no other command */
static void
test_one_turn_is_pipelined(struct cluster *c)
{
	struct acct *a = acct_by_name(as, "carol");
	struct answers r;
	char	 out[256];

	cli("CONFIG RESETSTAT", out, sizeof(out));
	r = charge(c, a, 200, 1);
	T_EQ_U(r.ok, 100, "carol's 100 an hour pass");
	T_EQ_U(r.over, 100, "the next 100 are held back");
	{
		char cmd[600];
		FILE *p;
		unsigned calls = 0, other = 0;

		snprintf(cmd, sizeof(cmd), "redis-cli -s %s INFO commandstats"
		    " | tr -d '\\r'", sock);
		if ((p = popen(cmd, "r")) != NULL) {
			while (fgets(out, sizeof(out), p) != NULL) {
				unsigned n;

				if (sscanf(out, "cmdstat_evalsha:calls=%u", &n)
				    == 1)
					calls = n;
				else if (strncmp(out, "cmdstat_", 8) == 0 &&
				    strncmp(out, "cmdstat_info", 12) != 0 &&
				    strncmp(out, "cmdstat_config", 14) != 0 &&
				    strncmp(out, "cmdstat_command", 15) != 0 &&
				    /* the script's own calls */
				    strncmp(out, "cmdstat_mget:", 13) != 0 &&
				    strncmp(out, "cmdstat_set:", 12) != 0 &&
				    strncmp(out, "cmdstat_time:", 13) != 0)
					other++;
			}
			pclose(p);
		}
		T_EQ_U(calls, 4, "one EVALSHA per 64 messages");
		T_EQ_U(other, 0, "and no other command but the script's");
	}
}

/*
 * test_refund - a release that did not happen gives its charge back:
 * in Redis (3/h: three pass, one refunded, one more passes, then none;
 * all three refunded and the key is gone), and in the local share
 * while Redis is away, with its debt
 */
static void
test_refund(struct cluster *c)
{
	struct acct *a = acct_by_name(as, "hank");
	enum cluster_paid paid = 0;
	enum budget_kind which;
	uint64_t retry, now;
	struct answers r;
	char	 out[64];
	unsigned i, ok;

	r = charge(c, a, 4, 1);
	T_OK(r.ok == 3 && r.over == 1, "hank: 3 of 4 charged");
	cluster_refund(c, a, 1, CLUSTER_PAID_REDIS);
	spin(NULL, NULL, 200);
	r = charge(c, a, 2, 1);
	T_OK(r.ok == 1 && r.over == 1, "one refunded in Redis: one more "
	    "passes, not two (%u, %u)", r.ok, r.over);
	for (i = 0; i < 3; i++)
		cluster_refund(c, a, 1, CLUSTER_PAID_REDIS);
	spin(NULL, NULL, 200);
	cli("EXISTS 'mgt:b:{hank}:tat'", out, sizeof(out));
	T_EQ_S(out, "0", "all refunded: the window is empty, its key gone");

	/* Redis away: the local share (3/h over 2 nodes: 1 an hour) pays
	 * and owes; the refund undoes both */
	stop_server();
	spin(NULL, NULL, 300);
	now = clock_now_us();
	T_OK(cluster_release_ok(c, a, 1, now, &retry, &paid) == 1 &&
	    paid == CLUSTER_PAID_SHARE, "Redis away: the share pays");
	T_EQ_U(a->use.owed[BK_MESSAGES][0], 1, "and owes one");
	T_OK(cluster_charge_local(c, a, 1, now, &which, &retry) == BUDGET_OVER,
	    "the share (3/2 = 1 an hour) is spent");
	cluster_refund(c, a, 1, paid);
	T_EQ_U(a->use.owed[BK_MESSAGES][0], 0, "refunded: nothing owed");
	for (i = 0, ok = 0; i < 3; i++)
		ok += cluster_charge_local(c, a, 1, now, &which, &retry) ==
		    BUDGET_OK;
	T_EQ_U(ok, 1, "and the share's one message may go again");
	cluster_refund(c, a, 1, CLUSTER_PAID_SHARE);
	start_server(NULL);
	T_OK(spin(is_ready, c, 6000), "Redis back: ready again");
}

/* test_noscript_reloads - after SCRIPT FLUSH one charge is unavailable
 * (it takes the local share) and the script is loaded again */
static void
test_noscript_reloads(struct cluster *c)
{
	struct acct *a = acct_by_name(as, "dave");
	struct answers r;
	char	 out[64];

	cli("SCRIPT FLUSH", out, sizeof(out));
	r = charge(c, a, 1, 1);
	T_EQ_U(r.unavail, 1, "NOSCRIPT: that charge is unavailable");
	spin(is_ready, c, 2000);
	r = charge(c, a, 1, 1);
	T_EQ_U(r.ok, 1, "the script is loaded again");
}

/* test_fallback_and_catch_up - Redis stopped: unavailable at once; the
 * local share is limit/cluster_nodes; restarted: the local charges are
 * written so that the shared count catches up */
static void
test_fallback_and_catch_up(struct cluster *c)
{
	struct acct *a = acct_by_name(as, "erin");
	enum budget_kind which;
	uint64_t retry, now = clock_now_us();
	unsigned i, ok = 0;
	struct answers r;
	char	 out[64];

	stop_server();
	spin(NULL, NULL, 300);
	T_OK(!cluster_ready(c), "Redis stopped: not ready");
	r = charge(c, a, 1, 1);
	T_EQ_U(r.unavail, 1, "a charge is unavailable, not lost in the air");
	for (i = 0; i < 10; i++)
		ok += cluster_charge_local(c, a, 1, now, &which, &retry) ==
		    BUDGET_OK;
	T_EQ_U(ok, 3, "erin's local share: 6 an hour over 2 nodes = 3");
	start_server(NULL);
	T_OK(spin(is_ready, c, 6000), "Redis back: ready again");
	spin(NULL, NULL, 300);
	r = charge(c, a, 4, 1);
	T_EQ_U(r.ok, 3, "the shared count caught up: 3 of 6 left");
	cli("EXISTS 'mgt:b:{erin}:tat'", out, sizeof(out));
	T_EQ_S(out, "1", "erin's key was written");
}

/*
 * test_catch_up_after_restart - Redis stopped, gina charges her local
 * share; the node's usage is written (as its group commit would) and the
 * cluster and the accounts are built again from the database, as after a
 * restart; Redis back: what she charged before the restart reaches the
 * shared count, and her debt is paid
 */
static struct cluster *
test_catch_up_after_restart(struct cluster *c)
{
	struct acct *a = acct_by_name(as, "gina");
	struct store *st = acct_store(as);
	struct store_usage u;
	enum budget_kind which;
	uint64_t retry, now = clock_now_us();
	unsigned i, ok = 0;
	struct answers r;
	char	 out[64];

	stop_server();
	spin(NULL, NULL, 300);
	for (i = 0; i < 10; i++)
		ok += cluster_charge_local(c, a, 1, now, &which, &retry) ==
		    BUDGET_OK;
	T_EQ_U(ok, 3, "gina's local share: 6 an hour over 2 nodes = 3");
	T_EQ_U(a->use.owed[BK_MESSAGES][0], 3, "3 messages owed");
	T_EQ_U(acct_flush(as), 0, "usage written, debt with it");
	cluster_free(c);
	acct_free(as);
	as = acct_load(st, &cfg);
	c = cluster_new(L, &cfg);
	if (as == NULL || c == NULL) {
		T_OK(0, "rebuilt after the restart");
		return c;
	}
	cluster_set_accts(c, as);
	a = acct_by_name(as, "gina");
	T_EQ_U(a->use.owed[BK_MESSAGES][0], 3, "the debt survived the restart");
	start_server(NULL);
	T_OK(spin(is_ready, c, 6000), "Redis back after the restart: ready");
	spin(NULL, NULL, 300);
	T_EQ_U(a->use.owed[BK_MESSAGES][0], 0, "the debt is paid");
	cli("GET 'mgt:b:{gina}:tat'", out, sizeof(out));
	T_OK(strncmp(out, "messages:3600=", 14) == 0,
	    "gina's hour was written (%s)", out);
	r = charge(c, a, 4, 1);
	T_EQ_U(r.ok, 3, "the shared count caught up: 3 of 6 left");
	T_EQ_U(acct_flush(as), 0, "usage written again");
	store_usage_get(st, a->id, &u);
	T_EQ_U(u.owed[BK_MESSAGES][0], 0, "nothing owed in the database");
	return c;
}

/* test_wrong_password - AUTH fails: never ready, no crash */
static void
test_wrong_password(void)
{
	struct config bad = cfg;
	struct cluster *c;

	stop_server();
	start_server("right");
	snprintf(bad.redis_password, sizeof(bad.redis_password), "wrong");
	c = cluster_new(L, &bad);
	T_OK(c != NULL, "cluster_new with a wrong password");
	T_OK(!spin(is_ready, c, 800), "a wrong password is never ready");
	cluster_free(c);
	snprintf(bad.redis_password, sizeof(bad.redis_password), "right");
	c = cluster_new(L, &bad);
	T_OK(spin(is_ready, c, 2000), "the right one is");
	snprintf(bad.redis_user, sizeof(bad.redis_user), "default");
	cluster_free(c);
	c = cluster_new(L, &bad);
	T_OK(spin(is_ready, c, 2000), "and so is AUTH with an ACL user");
	cluster_free(c);
}

/* --- a server that answers nonsense ----------------------------------------- */

static const char *evil_reply;
static int evil_fd = -1;

static void
on_evil_conn(int fd, uint32_t ev, void *arg)
{
	char	 buf[4096];
	ssize_t	 n;

	(void)ev;
	(void)arg;
	n = read(fd, buf, sizeof(buf));
	if (n <= 0) {
		loop_del(L, fd);
		close(fd);
		return;
	}
	/* PING: PONG; anything else (SCRIPT LOAD): the evil reply */
	if (memmem(buf, (size_t)n, "PING", 4) != NULL)
		(void)!write(fd, "+PONG\r\n", 7);
	else
		(void)!write(fd, evil_reply, strlen(evil_reply));
}

static void
on_evil(int fd, uint32_t ev, void *arg)
{
	int	 c;

	(void)ev;
	(void)arg;
	if ((c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0)
		loop_add(L, c, EPOLLIN, on_evil_conn, NULL);
}

/* test_bad_replies - wrong types and huge replies: unavailable */
static void
test_bad_replies(void)
{
	static const char *replies[] = {
		":42\r\n",				/* wrong type */
		"$100000000\r\nxxxx",			/* too large */
		"*100000000\r\n",			/* too many */
		"*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n",
		"!garbage\r\n",				/* not RESP */
		"$40\r\nzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz\r\n",
	};
	struct sockaddr_un un;
	struct config evil = cfg;
	struct cluster *c;
	size_t	 i;

	memset(&un, 0, sizeof(un));
	un.sun_family = AF_UNIX;
	if (snprintf(un.sun_path, sizeof(un.sun_path), "%.64s/evil.sock",
	    dir) < 0)
		return;
	evil_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (bind(evil_fd, (struct sockaddr *)&un, sizeof(un)) == -1 ||
	    listen(evil_fd, 8) == -1) {
		T_OK(0, "the nonsense server listens");
		return;
	}
	loop_add(L, evil_fd, EPOLLIN, on_evil, NULL);
	snprintf(evil.redis, sizeof(evil.redis), "unix:%s", un.sun_path);
	for (i = 0; i < sizeof(replies) / sizeof(replies[0]); i++) {
		evil_reply = replies[i];
		c = cluster_new(L, &evil);
		T_OK(c != NULL && !spin(is_ready, c, 300),
		    "reply %zu is no script SHA: unavailable, alive", i);
		cluster_free(c);
	}
	loop_del(L, evil_fd);
	close(evil_fd);
}

/* test_state_parse - the state value mailgovctl reads back: exact ids,
 * bounded numbers, anything else refused */
static void
test_state_parse(void)
{
	static const struct {
		const char	*val, *id;
		int		 rc;
		uint64_t	 tat;
	} t[] = {
		{ "messages:3600=17", "messages:3600", 0, 17 },
		{ "messages:36000=5 messages:3600=17", "messages:3600", 0, 17 },
		{ "messages:3600=17", "messages:360", 1, 0 },
		{ "recipients:86400=18446744073709551615", "recipients:86400",
		    0, UINT64_MAX },
		{ "recipients:86400=18446744073709551616", "x", -1, 0 },
		{ "", "messages:3600", 1, 0 },
		{ "=5", "messages:3600", -1, 0 },
		{ "messages:3600=", "messages:3600", -1, 0 },
		{ "messages:3600=1x", "messages:3600", -1, 0 },
		{ "messages:3600=1 ", "messages:3600", -1, 0 },
		{ "messages:3600=1  a=2", "messages:3600", -1, 0 },
		{ "garbage", "messages:3600", -1, 0 },
	};
	uint64_t tat;
	size_t	 i;
	int	 rc;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		tat = 0;
		rc = cluster_state_tat(t[i].val, strlen(t[i].val), t[i].id,
		    &tat);
		T_OK(rc == t[i].rc && (rc != 0 || tat == t[i].tat),
		    "state \"%s\" id %s: %d %llu", t[i].val, t[i].id, rc,
		    (unsigned long long)tat);
	}
}

static struct store *
scratch(void)
{
	const char *t = getenv("TMPDIR");
	struct budget three = { 1, { { 3, HOUR_US, 0 } } };
	struct budget ten = { 1, { { 10, DAY_US, 0 } } };
	struct budget six = { 1, { { 6, HOUR_US, 0 } } };
	struct store *s;
	char err[256];

	snprintf(dir, sizeof(dir), "%.40s/mailgov-cluster.XXXXXX",
	    t ? t : "/tmp");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		exit(2);
	}
	snprintf(sock, sizeof(sock), "%s/redis.sock", dir);
	snprintf(dbpath, sizeof(dbpath), "%s/mailgov.db", dir);
	if ((s = store_open(dbpath, STORE_CREATE, 1000, err, sizeof(err)))
	    == NULL) {
		printf("not ok - store_open: %s\n", err);
		exit(1);
	}
	store_account_add(s, "alice", 0, NULL);
	store_budget_set(s, "alice", BK_MESSAGES, &three);
	store_account_add(s, "bob", 0, NULL);
	store_budget_set(s, "bob", BK_RECIPIENTS, &ten);
	store_account_add(s, "carol", 0, NULL);
	store_account_add(s, "dave", 0, NULL);
	store_account_add(s, "erin", 0, NULL);
	store_account_add(s, "frank", 0, NULL);
	store_account_add(s, "gina", 0, NULL);
	store_budget_set(s, "gina", BK_MESSAGES, &six);
	store_budget_set(s, "erin", BK_MESSAGES, &six);
	store_account_add(s, "hank", 0, NULL);
	store_budget_set(s, "hank", BK_MESSAGES, &three);
	return s;
}

int
main(void)
{
	struct itimerspec its = { { 0, 5000000 }, { 0, 5000000 } };
	struct cluster *c;
	struct store *s;
	char	 cmd[300];
	int	 tfd;

	signal(SIGPIPE, SIG_IGN);
	log_init("test_cluster", 1, 0);
	test_state_parse();
	s = scratch();
	config_defaults(&cfg);
	cfg.budget_store = STORE_REDIS;
	cfg.cluster_nodes = 2;
	snprintf(cfg.redis, sizeof(cfg.redis), "unix:%.128s", sock);
	snprintf(cfg.redis_prefix, sizeof(cfg.redis_prefix), "mgt:");
	if ((as = acct_load(s, &cfg)) == NULL) {
		printf("not ok - acct_load\n");
		return 1;
	}
	L = loop_new();
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
	timerfd_settime(tfd, 0, &its, NULL);
	loop_add(L, tfd, EPOLLIN, on_tick, NULL);

	start_server(NULL);
	c = cluster_new(L, &cfg);
	T_OK(c != NULL, "cluster_new");
	cluster_set_accts(c, as);
	T_OK(spin(is_ready, c, 3000), "connected and the script loaded");
	test_gcra_matches_budget_c(c);
	test_keys_expire();
	test_block_from_any_node(c);
	test_one_turn_is_pipelined(c);
	test_noscript_reloads(c);
	test_refund(c);
	test_fallback_and_catch_up(c);
	c = test_catch_up_after_restart(c);
	cluster_free(c);
	test_wrong_password();
	test_bad_replies();

	stop_server();
	acct_free(as);
	store_close(s);
	loop_free(L);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
	return t_done();
}
