/*
 * notify - alert_command and alert_mail (see notify.h).
 *
 * A report is not mailed at the alert: it waits NOTIFY_DELAY_MS, so that
 * it tells what the burst that tripped the budget left on hold (the held
 * rows reach the store within a group commit), and so that an alert never
 * waits for the store.  Reports wait in a small queue; one that finds
 * every program slot busy waits for the next tick instead of being lost.
 *
 * XXX spawn_start forks the daemon, whose page tables (a 1M-flow table,
 * about 100 MB) take a few milliseconds to copy on the loop thread; the
 * alert limit and NOTIFY_PROCS bound how often.  vfork or posix_spawn
 * would not copy them, but cannot run the pre-exec step (drop).
 *
 * Trusts: the configuration (root's); the account names and alert fields
 * only as text, which report.c cleans; the contact as read back through
 * store_account_contact(), which checks it again.  Nothing a program
 * prints is read: its output goes to /dev/null, and only its exit status
 * is logged.
 */
#define _GNU_SOURCE	/* PR_CAP_AMBIENT */
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "hash.h"
#include "log.h"
#include "mailer.h"
#include "notify.h"
#include "report.h"
#include "spawn.h"

#define NOTIFY_QUEUE	64		/* reports waiting to be mailed */
#define NOTIFY_DELAY_MS	2000		/* from the alert to the report */
#define NOTIFY_LOG_MS	60000		/* one line per kind per minute */
#define NOTIFY_ACCTS	65536		/* accounts whose last report is kept */
#define NOTIFY_ACCTS0	64
#define NOTIFY_MAILS	2		/* reports on their way at once */

struct proc {
	struct notify	*n;
	struct spawn_child c;
	int		 used;
	char		 what[128];	/* "event=x account=y", for logs */
};

/* a report on its way (mailer.h) */
struct sending {
	struct notify	*n;
	struct mailer	*m;
	char		 what[128];
};

struct pending {
	int64_t		 account;
	uint64_t	 due;		/* monotonic ms */
	int64_t		 when;		/* unix seconds of the alert */
	char		 event[32];
	char		 fields[REPORT_VALUE];
};

struct last {
	HASH_ENTRY;
	int64_t		 account;
	uint64_t	 next;		/* monotonic ms of the next report */
};

/* a kind of trouble logged at most once a minute, with a count */
struct limited {
	uint64_t	 tat;
	uint64_t	 count;
};

struct notify {
	struct loop	*loop;
	struct accts	*accts;
	struct store	*st;
	const struct config *cfg;
	char		 host[256];
	struct proc	 procs[NOTIFY_PROCS];
	struct sending	 sending[NOTIFY_MAILS];
	struct pending	 q[NOTIFY_QUEUE];
	size_t		 qlen;
	struct hash	 last;		/* of struct last */
	struct limited	 missing;	/* alert_command not runnable */
	struct limited	 busy;		/* every slot taken */
	struct limited	 full;		/* the report queue full */
	struct limited	 root;		/* running as root */
};

/* is_root - would a program run as root?  Then nothing runs. */
static int
is_root(void)
{
	return getuid() == 0 || geteuid() == 0;
}

/*
 * drop - the child's last step before exec: refuse uid 0 outright, and
 * clear the ambient set, the only capabilities an exec by another uid
 * could keep.  Async-signal-safe: the daemon has threads.
 */
static int
drop(void *arg)
{
	(void)arg;
	if (getuid() == 0 || geteuid() == 0 || getgid() == 0 ||
	    getegid() == 0)
		return -1;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) == -1 &&
	    errno != EINVAL)
		return -1;
	return 0;
}

/* limited - count one; 1 when its line may go out now */
static int
limited(struct limited *l, uint64_t now_ms)
{
	l->count++;
	return log_rate_ok(&l->tat, now_ms, 1, NOTIFY_LOG_MS);
}

/* last_eq - the entry is account *id's */
static int
last_eq(const void *ctx, const void *e, const void *id)
{
	(void)ctx;
	return ((const struct last *)e)->account == *(const int64_t *)id;
}

/* notify_new - see notify.h */
struct notify *
notify_new(struct loop *loop, struct accts *accts, struct store *st,
    const struct config *cfg)
{
	struct notify *n;
	size_t	 i;

	if (cfg->alert_command[0] == '\0' && cfg->alert_mail[0] == '\0' &&
	    !cfg->alert_mail_contact)
		return NULL;
	if ((n = calloc(1, sizeof(*n))) == NULL ||
	    hash_init(&n->last, sizeof(struct last), NOTIFY_ACCTS0) == -1) {
		log_warn("notify");
		free(n);
		return NULL;
	}
	n->loop = loop;
	n->accts = accts;
	n->st = st;
	n->cfg = cfg;
	if (gethostname(n->host, sizeof(n->host)) == -1)
		snprintf(n->host, sizeof(n->host), "localhost");
	n->host[sizeof(n->host) - 1] = '\0';
	for (i = 0; i < NOTIFY_PROCS; i++)
		n->procs[i].n = n;
	for (i = 0; i < NOTIFY_MAILS; i++)
		n->sending[i].n = n;
	/* said once now, then once a minute when an alert finds it so */
	if (cfg->alert_command[0] != '\0' &&
	    access(cfg->alert_command, X_OK) == -1) {
		log_warn("alert_command %s: not runnable; alerts will be "
		    "logged but not run", cfg->alert_command);
		(void)log_rate_ok(&n->missing.tat, clock_mono_ms(), 1,
		    NOTIFY_LOG_MS);
	}
	return n;
}

/* finished - a program is over: say how, free its slot */
static void
finished(struct proc *p, int st)
{
	struct notify *n = p->n;
	const char *prog = n->cfg->alert_command;

	if (st == SPAWN_FAILED) {
		if (limited(&n->missing, clock_mono_ms())) {
			log_warnx("alert_command %s: cannot run: %s (%llu "
			    "alerts not run this minute)", prog,
			    strerror(errno),
			    (unsigned long long)n->missing.count);
			n->missing.count = 0;
		}
	} else if (st == SPAWN_TIMEDOUT)
		log_warnx("alert_command %s: killed after %u s (%s)", prog,
		    n->cfg->alert_command_timeout, p->what);
	else if (st >= SPAWN_SIGNAL)
		log_warnx("alert_command %s: ended by signal %d (%s)", prog,
		    st - SPAWN_SIGNAL, p->what);
	else if (st != 0)
		log_warnx("alert_command %s: exited %d (%s)", prog, st,
		    p->what);
	else
		log_debug("alert_command done (%s)", p->what);
	p->used = 0;
}

/* on_exit - a program's pidfd is readable: collect it */
static void
on_exit_fd(int fd, uint32_t events, void *arg)
{
	struct proc *p = arg;
	int	 st;

	(void)events;
	if ((st = spawn_check(&p->c, clock_mono_ms())) == SPAWN_RUNNING)
		return;
	/* spawn_check closed fd, which took it out of epoll; this drops
	 * the loop's registration */
	loop_del(p->n->loop, fd);
	finished(p, st);
}

/* slot - a free program slot, or NULL */
static struct proc *
slot(struct notify *n)
{
	size_t	 i;

	for (i = 0; i < NOTIFY_PROCS; i++)
		if (!n->procs[i].used)
			return &n->procs[i];
	return NULL;
}

/* start - run s in slot p; 0, or -1 (logged) */
static int
start(struct proc *p, struct spawn *s)
{
	struct notify *n = p->n;

	s->out = SPAWN_NULL;
	s->err = SPAWN_NULL;
	s->time_ms = n->cfg->alert_command_timeout * 1000u;
	s->pre_exec = drop;
	if (spawn_start(s, &p->c) == -1) {
		log_warn("%s: cannot start %s", p->what, s->path);
		return -1;
	}
	p->used = 1;
	if (p->c.pidfd != -1 && loop_add(n->loop, p->c.pidfd, EPOLLIN,
	    on_exit_fd, p) == -1) {
		/* the tick collects it instead */
		close(p->c.pidfd);
		p->c.pidfd = -1;
	}
	return 0;
}

/* run_command - alert_command for one alert */
static void
run_command(struct notify *n, const struct acct *a, const char *event,
    const char *fields)
{
	char	*env[SPAWN_ENV_MAX + 1], buf[REPORT_ENVLEN];
	char	 script[REPORT_VALUE];
	char	*argv[2];
	struct report r;
	struct spawn s;
	struct proc *p;
	uint64_t now = clock_mono_ms();

	if (access(n->cfg->alert_command, X_OK) == -1) {
		if (limited(&n->missing, now)) {
			log_warn("alert_command %s: not run (%llu alerts "
			    "this minute)", n->cfg->alert_command,
			    (unsigned long long)n->missing.count);
			n->missing.count = 0;
		}
		return;
	}
	if ((p = slot(n)) == NULL) {
		if (limited(&n->busy, now)) {
			log_warnx("alert_command: %d programs already "
			    "running; %llu alerts dropped this minute",
			    NOTIFY_PROCS, (unsigned long long)n->busy.count);
			n->busy.count = 0;
		}
		return;
	}
	memset(&r, 0, sizeof(r));
	r.host = n->host;
	r.account = a->name;
	r.event = event;
	r.fields = fields;
	r.script = report_script(fields, script, sizeof(script));
	r.when = (int64_t)(clock_now_us() / 1000000u);
	r.held = a->n_held;
	if (report_env(&r, env, buf, sizeof(buf)) == -1) {
		log_warnx("alert_command: the environment does not fit");
		return;
	}
	argv[0] = (char *)n->cfg->alert_command;
	argv[1] = NULL;
	memset(&s, 0, sizeof(s));
	s.path = n->cfg->alert_command;
	s.argv = argv;
	s.env = env;
	snprintf(p->what, sizeof(p->what), "event=%s account=%s", event,
	    a->name);
	(void)start(p, &s);
}

/* reports - does this event get a report mail? */
static int
reports(const char *event, const char *fields)
{
	return strcmp(event, "budget_over") == 0 ||
	    strcmp(event, "blocked") == 0 ||
	    strcmp(event, "hold_full") == 0 ||
	    (strcmp(event, "reject") == 0 &&
	    strncmp(fields, "reason=blocked ", 15) == 0);
}

/* queue_report - a report for a, unless one went out lately */
static void
queue_report(struct notify *n, const struct acct *a, const char *event,
    const char *fields)
{
	uint64_t now = clock_mono_ms(), h = hash_u64((uint64_t)a->id);
	struct pending *q;
	struct last *l;

	if ((l = hash_find(&n->last, h, last_eq, NULL, &a->id)) == NULL) {
		if (hash_count(&n->last) >= NOTIFY_ACCTS ||
		    (l = hash_insert(&n->last, h)) == NULL)
			return;		/* XXX no memory of it: no report */
		l->account = a->id;
		l->next = 0;
	}
	if (l->next > now)
		return;
	if (n->qlen == NOTIFY_QUEUE) {
		if (limited(&n->full, now)) {
			log_warnx("alert_mail: %d reports waiting; %llu "
			    "dropped this minute", NOTIFY_QUEUE,
			    (unsigned long long)n->full.count);
			n->full.count = 0;
		}
		return;
	}
	l->next = now + (uint64_t)n->cfg->alert_mail_interval * 1000u;
	q = &n->q[n->qlen++];
	memset(q, 0, sizeof(*q));
	q->account = a->id;
	q->due = now + NOTIFY_DELAY_MS;
	q->when = (int64_t)(clock_now_us() / 1000000u);
	snprintf(q->event, sizeof(q->event), "%s", event);
	snprintf(q->fields, sizeof(q->fields), "%s", fields);
}

/* notify_alert - the alert hook (see notify.h) */
void
notify_alert(void *arg, const struct acct *a, const char *event,
    const char *fields, uint64_t now)
{
	struct notify *n = arg;

	(void)now;
	if (n == NULL || a == NULL)
		return;
	if (is_root()) {
		if (limited(&n->root, clock_mono_ms())) {
			log_warnx("notifications: mailgovd runs as root; "
			    "alert_command and alert_mail never run as root "
			    "(%llu not sent this minute)",
			    (unsigned long long)n->root.count);
			n->root.count = 0;
		}
		return;
	}
	if (n->cfg->alert_command[0] != '\0')
		run_command(n, a, event, fields);
	if (reports(event, fields))
		queue_report(n, a, event, fields);
}

/* sent - a report's session is over */
static void
sent(void *arg, const char *why)
{
	struct sending *x = arg;

	if (why != NULL)
		log_warnx("report (%s) not sent: 127.0.0.1:%u: %s", x->what,
		    (unsigned)x->n->cfg->relay_port, why);
	else
		log_info("event=report %s", x->what);
	x->m = NULL;
}

/* mail - send report q now in slot x; 0 when it is done with (on its
 * way, nobody to send it to, or its account gone) */
static int
mail(struct notify *n, struct sending *x, const struct pending *q)
{
	char	 contact[CONFIG_ADDRLEN], script[REPORT_VALUE];
	char	 msg[REPORT_MAX];
	const char *to[REPORT_RCPTS];
	struct report r;
	struct acct *a;
	uint64_t held = 0, bytes = 0;
	int64_t oldest = 0;
	size_t	 nto;

	if ((a = acct_by_id(n->accts, q->account)) == NULL)
		return 0;
	contact[0] = '\0';
	if (n->cfg->alert_mail_contact &&
	    store_account_contact(n->st, a->id, contact, sizeof(contact)) ==
	    -1)
		log_warnx("report for %s: its contact: %s", a->name,
		    store_error(n->st));
	if (store_held_summary(n->st, a->id, &held, &bytes, &oldest) == -1)
		log_warnx("report for %s: held mail: %s", a->name,
		    store_error(n->st));
	memset(&r, 0, sizeof(r));
	r.host = n->host;
	r.account = a->name;
	r.event = q->event;
	r.fields = q->fields;
	r.script = report_script(q->fields, script, sizeof(script));
	r.when = q->when;
	r.held = held;
	r.held_bytes = bytes;
	r.oldest = oldest;
	r.interval = n->cfg->alert_mail_interval;
	r.rcpt[0] = n->cfg->alert_mail;
	r.rcpt[1] = contact;
	if ((nto = report_rcpts(&r, to)) == 0)
		return 0;
	if (report_mail(&r, msg, sizeof(msg)) == 0) {
		log_warnx("report for %s: does not fit", a->name);
		return 0;
	}
	snprintf(x->what, sizeof(x->what), "account=%s to=%s%s%s", a->name,
	    to[0], nto > 1 ? "," : "", nto > 1 ? to[1] : "");
	x->m = mailer_start(n->loop, n->cfg->relay_port, to, nto, msg,
	    n->cfg->alert_command_timeout * 1000u, sent, x);
	return 0;
}

/* notify_tick - see notify.h */
void
notify_tick(struct notify *n)
{
	uint64_t now;
	struct proc *p;
	size_t	 i, j;
	int	 st;

	if (n == NULL)
		return;
	now = clock_mono_ms();
	for (i = 0; i < NOTIFY_PROCS; i++) {
		p = &n->procs[i];
		if (!p->used)
			continue;
		j = (size_t)p->c.pidfd;
		if ((st = spawn_check(&p->c, now)) == SPAWN_RUNNING)
			continue;
		if ((int)j != -1)
			loop_del(n->loop, (int)j);
		finished(p, st);
	}
	for (i = 0; i < NOTIFY_MAILS; i++)
		if (n->sending[i].m != NULL)
			mailer_tick(n->sending[i].m, now);
	for (i = 0; i < n->qlen; ) {
		if (n->q[i].due > now || is_root()) {
			i++;
			continue;
		}
		for (j = 0; j < NOTIFY_MAILS; j++)
			if (n->sending[j].m == NULL)
				break;
		if (j == NOTIFY_MAILS)
			break;		/* the next tick */
		(void)mail(n, &n->sending[j], &n->q[i]);
		memmove(&n->q[i], &n->q[i + 1],
		    (n->qlen - i - 1) * sizeof(n->q[0]));
		n->qlen--;
	}
}

/* notify_free - see notify.h */
void
notify_free(struct notify *n)
{
	size_t	 i;

	if (n == NULL)
		return;
	for (i = 0; i < NOTIFY_PROCS; i++) {
		if (!n->procs[i].used)
			continue;
		if (spawn_check(&n->procs[i].c, clock_mono_ms()) ==
		    SPAWN_RUNNING) {
			(void)kill(-n->procs[i].c.pid, SIGTERM);
			if (n->procs[i].c.pidfd != -1)
				close(n->procs[i].c.pidfd);
			close(n->procs[i].c.report);
		}
	}
	for (i = 0; i < NOTIFY_MAILS; i++)
		mailer_abort(n->sending[i].m);
	if (n->qlen > 0)
		log_warnx("alert_mail: %zu reports not sent (stopping)",
		    n->qlen);
	hash_fini(&n->last);
	free(n);
}
