/*
 * ctl_hold - "mailgovctl hold list|release|delete": the administrator's
 * view of held mail and the way to let it go (regardless of the budget)
 * or throw it away.  mailgovctl runs as root, so it calls postsuper and
 * postqueue of the queue instance itself: absolute paths, fixed argv, no
 * shell, queue IDs validated and handed over on standard input.
 *
 * Trusts: nothing on the command line; queue IDs and senders from the
 * store are validated or cleaned before use or output.
 */
#include <sys/types.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "queueid.h"
#include "spawn.h"
#include "store.h"

#define HOLD_OUT_MAX	(4u << 20)
#define HOLD_RUN_MS	(300u * 1000)	/* postsuper still running after
					 * this is stuck */

struct idlist {
	struct store_held *v;
	size_t		 n;
};

/* collect - append one held row */
static int
collect(const struct store_held *h, void *arg)
{
	struct idlist *l = arg;

	l->v = ctl_xreallocarray(l->v, l->n + 1, sizeof(*l->v));
	l->v[l->n++] = *h;
	return 0;
}

/* run_cmd - run argv with in on stdin through spawn.h; returns the exit
 * status (-1 when it could not run or outlived HOLD_RUN_MS) and its
 * output (stdout and stderr together) in *out */
static int
run_cmd(char *const argv[], const char *in, char **out)
{
	struct spawn s;
	int	 st;

	memset(&s, 0, sizeof(s));
	s.path = argv[0];
	s.argv = argv;
	s.in = in;
	s.out = SPAWN_CAPTURE;
	s.err = SPAWN_TO_OUT;
	s.cap_max = HOLD_OUT_MAX;
	s.time_ms = HOLD_RUN_MS;
	st = spawn_run(&s, out);
	if (st == SPAWN_TIMEDOUT)
		ctl_err("%s: no answer after %u s; stopped", argv[0],
		    HOLD_RUN_MS / 1000);
	return st < 0 ? -1 : st;
}

/* done_for - did postsuper report this ID with the given phrase
 * ("postsuper: ID: released from hold") */
static int
done_for(const char *out, const char *id, const char *phrase)
{
	char	*needle;
	int	 r;

	needle = ctl_xasprintf(" %s: %s", id, phrase);
	r = strstr(out, needle) != NULL;
	free(needle);
	return r;
}

/* hold_list - mailgovctl hold list [ACCOUNT] */
static int
hold_list(struct ctl *ctl, const char *name)
{
	struct store *st;
	struct store_account a;
	struct idlist l = { NULL, 0 };
	struct ctl_table *t;
	char	 tbuf[32], sbuf[96], rbuf[16], zbuf[24], pbuf[16];
	char	 cbuf[ORIGIN_MAX * 4], xbuf[ORIGIN_MAX * 4];
	const struct origin *o;
	char	 qbuf[sizeof(l.v->queue_id) * 4 + 4];
	char	 acc[STORE_NAMELEN], abuf[STORE_NAMELEN * 4 + 4];
	int64_t	 id = -1, cached = 0;
	size_t	 i;

	if ((st = ctl_store_read(ctl)) == NULL)
		return CTL_ERR;
	if (name != NULL) {
		if (store_account_get(st, name, &a) == -1)
			return ctl_fail(ctl, 0);
		id = a.id;
	}
	if (store_held_each(st, id, HELD, collect, &l) == -1)
		return ctl_fail(ctl, 0);
	acc[0] = '\0';
	if (ctl->json) {
		printf("{\"held\": [");
		for (i = 0; i < l.n; i++) {
			if (cached != l.v[i].account) {
				cached = l.v[i].account;
				if (store_account_get_id(st, cached, &a) == 0)
					snprintf(acc, sizeof(acc), "%s", a.name);
				else
					snprintf(acc, sizeof(acc), "?");
			}
			printf("%s\n  {\"queue_id\": ", i ? "," : "");
			ctl_json_str(stdout, l.v[i].queue_id);
			printf(", \"account\": ");
			ctl_json_str(stdout, acc);
			printf(", \"since\": %" PRId64 ", \"recipients\": %u, "
			    "\"size\": %" PRIu64 ", \"sender\": ",
			    l.v[i].since, l.v[i].recipients, l.v[i].size);
			ctl_json_str(stdout, l.v[i].sender);
			/* who sent it, as its sender said: a claim */
			printf(", \"origin\": {\"pid\": %u, \"exe\": ",
			    l.v[i].origin.pid);
			ctl_json_str(stdout, l.v[i].origin.exe);
			printf(", \"cwd\": ");
			ctl_json_str(stdout, l.v[i].origin.cwd);
			printf(", \"cmdline\": ");
			ctl_json_str(stdout, l.v[i].origin.cmd);
			printf(", \"script\": ");
			ctl_json_str(stdout, l.v[i].origin.script);
			printf("}}");
		}
		printf("%s]}\n", l.n ? "\n" : "");
		free(l.v);
		return CTL_OK;
	}
	t = ctl_table_new(9, "QUEUE_ID", "ACCOUNT", "SINCE", "RCPTS", "SIZE",
	    "SENDER", "PID", "CWD", "SCRIPT");
	for (i = 0; i < l.n; i++) {
		if (cached != l.v[i].account) {
			cached = l.v[i].account;
			if (store_account_get_id(st, cached, &a) == 0)
				snprintf(acc, sizeof(acc), "%s", a.name);
			else
				snprintf(acc, sizeof(acc), "?");
		}
		snprintf(rbuf, sizeof(rbuf), "%u", l.v[i].recipients);
		snprintf(zbuf, sizeof(zbuf), "%" PRIu64, l.v[i].size);
		o = &l.v[i].origin;
		if (o->pid != 0)
			snprintf(pbuf, sizeof(pbuf), "%u", o->pid);
		else
			snprintf(pbuf, sizeof(pbuf), "-");
		/* the store may hold anything: escaped like every field */
		ctl_table_row(t, ctl_clean(l.v[i].queue_id, qbuf, sizeof(qbuf)),
		    ctl_clean(acc, abuf, sizeof(abuf)),
		    ctl_time(l.v[i].since, tbuf, sizeof(tbuf)), rbuf, zbuf,
		    ctl_clean(l.v[i].sender[0] ? l.v[i].sender : "<>", sbuf,
		    sizeof(sbuf)), pbuf,
		    ctl_clean(o->cwd[0] ? o->cwd : "-", cbuf, sizeof(cbuf)),
		    ctl_clean(o->script[0] ? o->script : o->exe[0] ? o->exe :
		    "-", xbuf, sizeof(xbuf)));
	}
	ctl_table_print(t, stdout);
	free(l.v);
	return CTL_OK;
}

/* hold_act - release or delete one account's held mail or one message */
static int
hold_act(struct ctl *ctl, const char *what, int release)
{
	struct store *st;
	struct store_account a;
	struct idlist l = { NULL, 0 };
	struct store_held one;
	const char *cfgdir = ctl->cfg.queue_config_dir;
	char	*in, *out = NULL, *p, *detail;
	char	*argv[] = { ctl->cfg.postsuper, "-c", (char *)cfgdir,
	    release ? "-H" : "-d", "-", NULL };
	char	*qargv[] = { ctl->cfg.postqueue, "-c", (char *)cfgdir, "-i",
	    NULL, NULL };
	const char *phrase = release ? "released from hold" : "removed";
	size_t	 i, done = 0, len;
	int	 rc, is_account = 0;

	if ((st = ctl_store(ctl)) == NULL)
		return CTL_ERR;
	if (store_account_name_ok(what) && store_account_get(st, what, &a)
	    == 0) {
		is_account = 1;
		if (store_held_each(st, a.id, HELD, collect, &l) == -1)
			return ctl_fail(ctl, 0);
		if (l.n == 0) {
			printf("hold: account %s has no held mail\n", what);
			return CTL_OK;
		}
	} else if (queueid_ok(what)) {
		/* one message, known to the store or not (an administrator
		 * may also clear what mailgov never recorded) */
		memset(&one, 0, sizeof(one));
		snprintf(one.queue_id, sizeof(one.queue_id), "%s", what);
		one.account = -1;
		(void)store_held_each(st, -1, -1, collect, &l);
		for (i = 0; i < l.n; i++)
			if (strcmp(l.v[i].queue_id, what) == 0)
				one = l.v[i];
		free(l.v);
		l.v = ctl_xreallocarray(NULL, 1, sizeof(*l.v));
		l.v[0] = one;
		l.n = 1;
	} else
		return ctl_err("'%s' is neither an account nor a queue ID",
		    what);

	for (i = 0, len = 1; i < l.n; i++)
		len += strlen(l.v[i].queue_id) + 1;
	in = p = ctl_xreallocarray(NULL, len, 1);
	for (i = 0; i < l.n; i++)
		p += sprintf(p, "%s\n", l.v[i].queue_id);
	*p = '\0';
	rc = run_cmd(argv, in, &out);
	free(in);
	if (rc != 0) {
		ctl_err("postsuper %s failed (exit %d): %s", argv[3], rc,
		    out ? strtok(out, "\n") : "");
		free(out);
		free(l.v);
		return CTL_ERR;
	}
	for (i = 0; i < l.n; i++) {
		if (!done_for(out, l.v[i].queue_id, phrase)) {
			if (!is_account)
				fprintf(stderr, "mailgovctl: %s: not %s in "
				    "the queue\n", l.v[i].queue_id, release ?
				    "on hold" : "found");
			/* gone from Postfix: no longer held either way */
			if (l.v[i].account >= 0 && l.v[i].state == HELD)
				(void)store_held_set_state(st, l.v[i].queue_id,
				    HELD_DELETED);
			continue;
		}
		done++;
		if (release) {
			char	*qo = NULL;

			/* released mail waits in deferred: send it now */
			qargv[4] = l.v[i].queue_id;
			(void)run_cmd(qargv, "", &qo);
			free(qo);
		}
		if (l.v[i].account >= 0) {
			/* mailgovd counts the release (HELD_ADMIN) */
			if (store_held_set_state(st, l.v[i].queue_id, release ?
			    HELD_ADMIN : HELD_DELETED) == -1)
				ctl_err("%s", store_error(st));
			detail = ctl_xasprintf("queue_id=%s by=admin",
			    l.v[i].queue_id);
			(void)store_event(st, l.v[i].account, release ?
			    "released" : "deleted", detail);
			free(detail);
		}
	}
	free(out);
	free(l.v);
	printf("hold: %s %zu message%s\n", release ? "released" : "deleted",
	    done, done == 1 ? "" : "s");
	return done > 0 || is_account ? CTL_OK : CTL_ERR;
}

/* ctl_hold - mailgovctl hold list|release|delete */
int
ctl_hold(struct ctl *ctl, int argc, char **argv)
{
	if (argc < 2)
		return ctl_usage_err("hold", "missing subcommand");
	if (strcmp(argv[1], "list") == 0) {
		if (argc > 3)
			return ctl_usage_err("hold", "too many arguments");
		return hold_list(ctl, argc == 3 ? argv[2] : NULL);
	}
	if (strcmp(argv[1], "release") == 0 || strcmp(argv[1], "delete") == 0) {
		if (argc != 3)
			return ctl_usage_err("hold", "%s needs one ACCOUNT or "
			    "QUEUE_ID", argv[1]);
		if (geteuid() != 0)
			return ctl_err("hold %s must run as root (postsuper)",
			    argv[1]);
		return hold_act(ctl, argv[2], strcmp(argv[1], "release") == 0);
	}
	return ctl_usage_err("hold", "unknown subcommand '%s'", argv[1]);
}
