/*
 * ctl_status - "mailgovctl status": is everything mailgov needs up and as
 * configured?  mailgovd (through its control socket: uptime, the flow
 * table, the group commit, the redo log), NFQUEUE bound (the kernel's
 * /proc/net/netfilter/nfnetlink_queue), both Postfix instances running
 * (`postfix -c DIR status`), the rules loaded and equal to what
 * `rules install` would load now (ctl_rules_state), and the mail on hold
 * (the store).  Each check that fails is one "problem:" line, and the
 * exit status says the worst (ctl.h, CTL_STATUS_*), so that a monitoring
 * system can run it as it is.
 *
 * Trusts: nothing mailgovd, the kernel or Postfix print: numbers are
 * parsed strictly and text is cleaned before it is shown.
 */
#include <sys/types.h>

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "num.h"
#include "spawn.h"

#define NFQ_PROC	"/proc/net/netfilter/nfnetlink_queue"
#define PF_RUN_MS	10000		/* postfix status, postconf */
#define FLOW_FULL_PCT	90		/* a fuller flow table is a problem */
#define PROBLEMS_MAX	16

struct pf_inst {
	char		 dir[CONFIG_PATHLEN];
	int		 running;	/* -1: could not tell */
};

struct status {
	int		 daemon;	/* CTL_DAEMON_* */
	char		 daemon_why[256];
	uint64_t	 pid, uptime, flows, flow_max, commits, failing;
	uint64_t	 redo_logged, redo_applied;
	int64_t		 commit_age_ms;	/* -1: none yet */
	int		 redo;
	int		 queue_bound;	/* in the kernel's list */
	uint64_t	 queue_dropped, user_dropped;
	struct pf_inst	 main, queue;
	int		 rules;		/* CTL_RULES_* */
	char		 rules_why[512];
	int		 held_ok;
	uint64_t	 held, held_bytes;
	char		*problem[PROBLEMS_MAX];
	size_t		 nproblem;
};

/* problem - one more thing wrong */
static void __attribute__((format(printf, 2, 3)))
problem(struct status *s, const char *fmt, ...)
{
	va_list	 ap;
	char	 buf[600];

	if (s->nproblem == PROBLEMS_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	s->problem[s->nproblem++] = ctl_xstrdup(buf);
}

/* kv_u64 - a number from the daemon's answer; 0 when absent or bad */
static uint64_t
kv_u64(const char *ans, const char *key)
{
	char	 v[32];
	uint64_t n;
	const char *e;

	if (ctl_kv(ans, key, v, sizeof(v)) == NULL ||
	    num_u64(v, 0, UINT64_MAX, 0, &n, &e) == -1)
		return 0;
	return n;
}

/* ask_daemon - the control socket's "status" */
static void
ask_daemon(struct ctl *ctl, struct status *s)
{
	char	*ans, v[32];
	int	 fd;

	s->commit_age_ms = -1;
	s->daemon = ctl_daemon_connect(ctl, &fd, s->daemon_why,
	    sizeof(s->daemon_why));
	if (s->daemon != CTL_DAEMON_UP)
		return;
	ans = ctl_daemon_ask(fd, "status", s->daemon_why,
	    sizeof(s->daemon_why));
	close(fd);
	if (ans == NULL) {
		s->daemon = CTL_DAEMON_ERROR;
		return;
	}
	s->pid = kv_u64(ans, "pid");
	s->uptime = kv_u64(ans, "uptime");
	s->flows = kv_u64(ans, "flows");
	s->flow_max = kv_u64(ans, "flow_max");
	s->commits = kv_u64(ans, "commits");
	s->failing = kv_u64(ans, "commit_failing");
	if (ctl_kv(ans, "commit_age_ms", v, sizeof(v)) != NULL &&
	    strcmp(v, "-") != 0)
		s->commit_age_ms = (int64_t)kv_u64(ans, "commit_age_ms");
	s->redo = ctl_kv(ans, "redo", v, sizeof(v)) != NULL &&
	    strcmp(v, "on") == 0;
	s->redo_logged = kv_u64(ans, "redo_logged");
	s->redo_applied = kv_u64(ans, "redo_applied");
	free(ans);
}

/* nfq_bound - is queue num in the kernel's list of bound queues (of
 * this network namespace); its drop counters */
static void
nfq_bound(struct ctl *ctl, struct status *s)
{
	unsigned q, portid, total, mode, range, dropped, udropped;
	char	 line[256];
	FILE	*fp;

	if ((fp = fopen(NFQ_PROC, "r")) == NULL)
		return;		/* no nfnetlink_queue: nothing is bound */
	while (fgets(line, sizeof(line), fp) != NULL)
		if (sscanf(line, "%u %u %u %u %u %u %u", &q, &portid, &total,
		    &mode, &range, &dropped, &udropped) == 7 &&
		    q == ctl->cfg.queue_num) {
			s->queue_bound = 1;
			s->queue_dropped = dropped;
			s->user_dropped = udropped;
		}
	fclose(fp);
}

/* tool_path - name beside postsuper (the Postfix mailgov was set up
 * with), into buf */
static void
tool_path(const struct config *cfg, const char *name, char *buf,
    size_t len)
{
	const char *slash = strrchr(cfg->postsuper, '/');

	snprintf(buf, len, "%.*s/%s", slash ? (int)(slash - cfg->postsuper) :
	    0, cfg->postsuper, name);
}

/* pf_running - `postfix -c dir status`: 1 running, 0 not, -1 no Postfix */
static int
pf_running(const struct config *cfg, const char *dir)
{
	char	 path[CONFIG_PATHLEN + 16];
	char	*argv[] = { path, "-c", (char *)dir, "status", NULL };
	struct spawn sp;
	int	 st;

	tool_path(cfg, "postfix", path, sizeof(path));
	memset(&sp, 0, sizeof(sp));
	sp.path = path;
	sp.argv = argv;
	sp.out = SPAWN_NULL;
	sp.err = SPAWN_NULL;
	sp.time_ms = PF_RUN_MS;
	st = spawn_run(&sp, NULL);
	if (st == SPAWN_FAILED)
		return -1;
	return st == 0;
}

/* main_dir - the main instance's configuration directory */
static void
main_dir(const struct config *cfg, char *dir, size_t len)
{
	char	 path[CONFIG_PATHLEN + 16];
	char	*argv[] = { path, "-d", "-h", "config_directory", NULL };
	char	*out = NULL;
	struct spawn sp;

	snprintf(dir, len, "/etc/postfix");
	tool_path(cfg, "postconf", path, sizeof(path));
	memset(&sp, 0, sizeof(sp));
	sp.path = path;
	sp.argv = argv;
	sp.out = SPAWN_CAPTURE;
	sp.err = SPAWN_NULL;
	sp.cap_max = CONFIG_PATHLEN;
	sp.time_ms = PF_RUN_MS;
	if (spawn_run(&sp, &out) == 0 && out != NULL && out[0] == '/') {
		out[strcspn(out, "\n")] = '\0';
		snprintf(dir, len, "%s", out);
	}
	free(out);
}

/* count_held - one held row */
static int
count_held(const struct store_held *h, void *arg)
{
	struct status *s = arg;

	s->held++;
	s->held_bytes += h->size;
	return 0;
}

/* check - every check, each failure a problem */
static void
check(struct ctl *ctl, struct status *s)
{
	char	 buf[CONFIG_PATHLEN + 64];
	struct store *st;

	ask_daemon(ctl, s);
	if (s->daemon != CTL_DAEMON_UP)
		problem(s, "%s", s->daemon_why);
	nfq_bound(ctl, s);
	if (!s->queue_bound)
		problem(s, "NFQUEUE %u is not bound: %s", ctl->cfg.queue_num,
		    s->daemon == CTL_DAEMON_UP ? "mailgovd does not hold it" :
		    "web users' SMTP goes straight to the queue instance");
	main_dir(&ctl->cfg, s->main.dir, sizeof(s->main.dir));
	snprintf(s->queue.dir, sizeof(s->queue.dir), "%s",
	    ctl->cfg.queue_config_dir);
	s->main.running = pf_running(&ctl->cfg, s->main.dir);
	s->queue.running = pf_running(&ctl->cfg, s->queue.dir);
	if (s->main.running != 1)
		problem(s, "the main Postfix instance (%s) is %s",
		    ctl_clean(s->main.dir, buf, sizeof(buf)),
		    s->main.running == 0 ? "not running" :
		    "not installed");
	if (s->queue.running != 1)
		problem(s, "the queue instance (%s) is %s: web users' mail "
		    "is refused", ctl_clean(s->queue.dir, buf, sizeof(buf)),
		    s->queue.running == 0 ? "not running" : "not installed");
	s->rules = ctl_rules_state(ctl, s->rules_why, sizeof(s->rules_why));
	if (s->rules == CTL_RULES_MISSING)
		problem(s, "rules missing: %s", s->rules_why);
	else if (s->rules != CTL_RULES_OK)
		problem(s, "rules: %s", s->rules_why);
	if (s->daemon == CTL_DAEMON_UP) {
		if (s->flow_max > 0 &&
		    s->flows * 100 >= s->flow_max * FLOW_FULL_PCT)
			problem(s, "the flow table is %" PRIu64 "%% full "
			    "(raise flow_max)", s->flows * 100 / s->flow_max);
		if (s->failing)
			problem(s, "the group commit is failing (see "
			    "mailgovd's log): counts wait in memory");
	}
	if ((st = ctl_store_read(ctl)) != NULL &&
	    store_held_each(st, -1, HELD, count_held, s) == 0)
		s->held_ok = 1;
	else
		problem(s, "cannot read the held mail from the database");
}

/* dur - seconds as "3d04h", "2h05m", "4m10s", "12s" */
static const char *
dur(uint64_t s, char *buf, size_t len)
{
	if (s >= 86400)
		snprintf(buf, len, "%" PRIu64 "d%02" PRIu64 "h", s / 86400,
		    s % 86400 / 3600);
	else if (s >= 3600)
		snprintf(buf, len, "%" PRIu64 "h%02" PRIu64 "m", s / 3600,
		    s % 3600 / 60);
	else if (s >= 60)
		snprintf(buf, len, "%" PRIu64 "m%02" PRIu64 "s", s / 60,
		    s % 60);
	else
		snprintf(buf, len, "%" PRIu64 "s", s);
	return buf;
}

static const char *const rules_names[] = { "ok", "missing", "differ",
    "unknown" };

/* print_text - one line per check, then the problems */
static void
print_text(const struct ctl *ctl, const struct status *s)
{
	char	 a[32], b[CONFIG_PATHLEN + 8], c[600];
	size_t	 i;

	if (s->daemon == CTL_DAEMON_UP)
		printf("mailgovd:       running, pid %" PRIu64 ", up %s\n",
		    s->pid, dur(s->uptime, a, sizeof(a)));
	else
		printf("mailgovd:       not running\n");
	printf("NFQUEUE %-6u  %s", ctl->cfg.queue_num,
	    s->queue_bound ? "bound" : "not bound");
	if (s->queue_bound)
		printf(" (dropped %" PRIu64 " by the kernel, %" PRIu64
		    " by mailgovd)", s->queue_dropped, s->user_dropped);
	printf("\nmain instance:  %s (%s)\n", s->main.running == 1 ?
	    "running" : s->main.running == 0 ? "not running" : "not installed",
	    ctl_clean(s->main.dir, b, sizeof(b)));
	printf("queue instance: %s (%s)\n", s->queue.running == 1 ?
	    "running" : s->queue.running == 0 ? "not running" :
	    "not installed", ctl_clean(s->queue.dir, b, sizeof(b)));
	/* not OK: the problem line below says why */
	printf("rules:          %s\n", s->rules == CTL_RULES_OK ?
	    ctl_clean(s->rules_why, c, sizeof(c)) : s->rules ==
	    CTL_RULES_DIFFER ? "loaded, but not as configured" :
	    s->rules == CTL_RULES_MISSING ? "not loaded" : "unknown");
	if (s->held_ok)
		printf("held:           %" PRIu64 " messages, %" PRIu64
		    " bytes\n", s->held, s->held_bytes);
	if (s->daemon == CTL_DAEMON_UP) {
		printf("flow table:     %" PRIu64 " of %" PRIu64 " (%" PRIu64
		    "%%)\n", s->flows, s->flow_max, s->flow_max ?
		    s->flows * 100 / s->flow_max : 0);
		if (s->commit_age_ms >= 0)
			printf("group commit:   %s ago, %" PRIu64
			    " since start%s\n", dur((uint64_t)s->commit_age_ms
			    / 1000, a, sizeof(a)), s->commits, s->failing ?
			    ", FAILING" : "");
		else
			printf("group commit:   none since start%s\n",
			    s->failing ? ", FAILING" : "");
		if (s->redo)
			printf("redo log:       %" PRIu64 " record%s not yet "
			    "in the database\n", s->redo_logged -
			    s->redo_applied, s->redo_logged - s->redo_applied
			    == 1 ? "" : "s");
		else
			printf("redo log:       off\n");
	}
	for (i = 0; i < s->nproblem; i++)
		printf("problem: %s\n", ctl_clean(s->problem[i], c,
		    sizeof(c)));
	if (s->nproblem == 0)
		printf("all well\n");
}

/* print_json - the same as one object */
static void
print_json(const struct ctl *ctl, const struct status *s)
{
	size_t	 i;

	printf("{\"ok\": %s, \"mailgovd\": {\"running\": %s",
	    s->nproblem == 0 ? "true" : "false",
	    s->daemon == CTL_DAEMON_UP ? "true" : "false");
	if (s->daemon == CTL_DAEMON_UP)
		printf(", \"pid\": %" PRIu64 ", \"uptime\": %" PRIu64, s->pid,
		    s->uptime);
	printf("}, \"nfqueue\": {\"num\": %u, \"bound\": %s",
	    ctl->cfg.queue_num, s->queue_bound ? "true" : "false");
	if (s->queue_bound)
		printf(", \"queue_dropped\": %" PRIu64 ", \"user_dropped\": %"
		    PRIu64, s->queue_dropped, s->user_dropped);
	printf("}, \"postfix\": {\"main\": {\"config_directory\": ");
	ctl_json_str(stdout, s->main.dir);
	printf(", \"running\": %s}, \"queue\": {\"config_directory\": ",
	    s->main.running == 1 ? "true" : "false");
	ctl_json_str(stdout, s->queue.dir);
	printf(", \"running\": %s}}, \"rules\": {\"state\": \"%s\", "
	    "\"detail\": ", s->queue.running == 1 ? "true" : "false",
	    rules_names[s->rules]);
	ctl_json_str(stdout, s->rules_why);
	printf("}, \"held\": ");
	if (s->held_ok)
		printf("{\"messages\": %" PRIu64 ", \"bytes\": %" PRIu64 "}",
		    s->held, s->held_bytes);
	else
		printf("null");
	if (s->daemon == CTL_DAEMON_UP) {
		printf(", \"flows\": {\"count\": %" PRIu64 ", \"max\": %"
		    PRIu64 "}, \"commit\": {\"age_ms\": ", s->flows,
		    s->flow_max);
		if (s->commit_age_ms >= 0)
			printf("%" PRId64, s->commit_age_ms);
		else
			printf("null");
		printf(", \"batches\": %" PRIu64 ", \"failing\": %s}, "
		    "\"redo\": {\"enabled\": %s, \"logged\": %" PRIu64
		    ", \"applied\": %" PRIu64 ", \"lag\": %" PRIu64 "}",
		    s->commits, s->failing ? "true" : "false",
		    s->redo ? "true" : "false", s->redo_logged,
		    s->redo_applied, s->redo_logged - s->redo_applied);
	}
	printf(", \"problems\": [");
	for (i = 0; i < s->nproblem; i++) {
		printf("%s", i ? ", " : "");
		ctl_json_str(stdout, s->problem[i]);
	}
	printf("]}\n");
}

/* ctl_status - "status [--json]" */
int
ctl_status(struct ctl *ctl, int argc, char **argv)
{
	struct status s;
	size_t	 i;
	int	 rc;

	if (argc > 1)
		return ctl_usage_err("status", "unexpected argument '%s'",
		    argv[1]);
	if (geteuid() != 0) {
		ctl_err("status: permission denied: it reads the ruleset, "
		    "Postfix's state and mailgovd's control socket, so it "
		    "must run as root");
		return CTL_STATUS_DENIED;
	}
	memset(&s, 0, sizeof(s));
	check(ctl, &s);
	if (ctl->json)
		print_json(ctl, &s);
	else
		print_text(ctl, &s);
	if (s.daemon == CTL_DAEMON_DENIED)
		rc = CTL_STATUS_DENIED;
	else if (s.daemon != CTL_DAEMON_UP)
		rc = CTL_STATUS_DOWN;
	else
		rc = s.nproblem > 0 ? CTL_STATUS_PROBLEM : CTL_OK;
	for (i = 0; i < s.nproblem; i++)
		free(s.problem[i]);
	return rc;
}
