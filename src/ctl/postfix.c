/*
 * ctl_postfix - "mailgovctl postfix setup|check|remove|users": puts mailgov
 * into Postfix and takes it out again; "users" refreshes the table of web
 * users that may not use sendmail (postdrop) when accounts come and go.
 *
 * setup creates the queue instance with Postfix's own multi-instance
 * tooling (postmulti), configures it whole (mailgov owns it), and in the
 * main instance touches only the keys mailgov needs: its policy check is
 * put first in smtpd_end_of_data_restrictions and its web-user exclusion
 * first in authorized_submit_users, keeping the administrator's entries;
 * the relay listener is added to master.cf.  All edits go through postconf
 * so the rest of each file is left as it was.  Before the first change the
 * original main.cf and master.cf are copied to <config_directory>/
 * mailgov-saved/ with a record of every previous value; remove restores
 * the files byte for byte when nothing else changed them since, and key by
 * key otherwise.  Running setup again changes nothing; --dry-run and check
 * print the difference as postconf -n style "-old"/"+new" lines.
 *
 * It also says where Postfix takes mail over TCP (ctl_postfix_listeners):
 * the rules close those ports to web users, and setup prints them.
 *
 * Trusts: mailgov.conf (already validated) and the Postfix commands it
 * runs, by absolute path, without a shell, with a minimal environment.
 */
#define _GNU_SOURCE	/* asprintf */
#include <sys/stat.h>
#include <sys/types.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <netdb.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "postfix.h"
#include "rules.h"
#include "spawn.h"

#define OUT_MAX		(8u << 20)	/* command output mailgovctl reads */
#define CTL_RUN_MS	(300u * 1000)	/* a Postfix command still running
					 * after this is stuck */

struct pfx {
	struct ctl	*ctl;
	char		 postconf[CONFIG_PATHLEN];
	char		 postmulti[CONFIG_PATHLEN];
	char		 postsuper[CONFIG_PATHLEN];
	char		 postqueue[CONFIG_PATHLEN];
	char		*main_dir;	/* the main instance's config_directory */
	char		*saved;		/* <main_dir>/mailgov-saved */
	const char	*qdir;
	int		 ndiff;
	int		 quiet;		/* count differences, print nothing */
};

/* kv - one main.cf key as postconf -n shows it */
struct kv {
	char	*key, *value;
};

struct conf {
	struct kv	*v;
	size_t		 n;
};

/* --- running Postfix commands ------------------------------------------- */

/*
 * runv - run argv[0] (an absolute path) through spawn.h: stdout into *out
 * if out != NULL (else to ours), stderr to ours unless quiet_err; stdin
 * from in if not NULL.  Returns the exit status, 127 when it could not
 * run, or -1 when it outlived CTL_RUN_MS.
 */
static int
runv(char *const argv[], char **out, const char *in, int quiet_err)
{
	struct spawn s;
	int	 st;

	memset(&s, 0, sizeof(s));
	s.path = argv[0];
	s.argv = argv;
	s.in = in;
	s.out = out != NULL ? SPAWN_CAPTURE : SPAWN_INHERIT;
	s.err = quiet_err ? SPAWN_NULL : SPAWN_INHERIT;
	s.cap_max = OUT_MAX;
	s.time_ms = CTL_RUN_MS;
	st = spawn_run(&s, out);
	if (st == SPAWN_FAILED) {
		if (!quiet_err)
			ctl_err("%s: %s", argv[0], strerror(errno));
		st = 127;
	} else if (st == SPAWN_TIMEDOUT) {
		ctl_err("%s: no answer after %u s; stopped", argv[0],
		    CTL_RUN_MS / 1000);
		st = -1;
	}
	if (out != NULL && *out == NULL)
		*out = ctl_xstrdup("");
	return st;
}

/* run - variadic runv, NULL-terminated, output discarded */
static int
run(int quiet_err, const char *path, ...)
{
	char	*argv[32];
	va_list	 ap;
	size_t	 n = 0;

	argv[n++] = (char *)path;
	va_start(ap, path);
	while (n < 31 && (argv[n] = va_arg(ap, char *)) != NULL)
		n++;
	va_end(ap);
	argv[n] = NULL;
	return runv(argv, NULL, NULL, quiet_err);
}

/* must - run and report a failure */
static int
must(const char *what, int rc)
{
	if (rc != 0) {
		ctl_err("%s failed (exit %d)", what, rc);
		return -1;
	}
	return 0;
}

/* --- reading configurations ------------------------------------------- */

/* conf_free - free a parsed postconf -n */
static void
conf_free(struct conf *c)
{
	size_t	 i;

	for (i = 0; i < c->n; i++) {
		free(c->v[i].key);
		free(c->v[i].value);
	}
	free(c->v);
	c->v = NULL;
	c->n = 0;
}

/* conf_read - postconf -c dir -n into c */
static int
conf_read(struct pfx *x, const char *dir, struct conf *c)
{
	char	*argv[] = { x->postconf, "-c", (char *)dir, "-n", NULL };
	char	*out, *line, *save = NULL, key[128];
	const char *val;
	struct kv *nv;

	memset(c, 0, sizeof(*c));
	if (runv(argv, &out, NULL, 0) != 0) {
		free(out);
		return ctl_err("postconf -c %s -n failed", dir), -1;
	}
	for (line = strtok_r(out, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (pf_conf_line(line, key, sizeof(key), &val) == -1)
			continue;
		if ((nv = reallocarray(c->v, c->n + 1, sizeof(*nv))) == NULL)
			break;
		c->v = nv;
		c->v[c->n].key = ctl_xstrdup(key);
		c->v[c->n].value = ctl_xstrdup(val);
		c->n++;
	}
	free(out);
	return 0;
}

/* conf_get - the value of key, or NULL when it is not set */
static const char *
conf_get(const struct conf *c, const char *key)
{
	size_t	 i;

	for (i = 0; i < c->n; i++)
		if (strcmp(c->v[i].key, key) == 0)
			return c->v[i].value;
	return NULL;
}

/* postconf_h - postconf -c dir -h key (the effective value), malloc'ed */
static char *
postconf_h(struct pfx *x, const char *dir, const char *key)
{
	char	*argv[] = { x->postconf, "-c", (char *)dir, "-h", (char *)key,
	    NULL };
	char	*out;
	size_t	 n;

	if (runv(argv, &out, NULL, 1) != 0) {
		free(out);
		return ctl_xstrdup("");
	}
	n = strlen(out);
	while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == ' '))
		out[--n] = '\0';
	return out;
}

/* service_get - the master.cf entry of name (postconf -M), or NULL */
static char *
service_get(struct pfx *x, const char *dir, const char *name)
{
	char	*argv[] = { x->postconf, "-c", (char *)dir, "-M", (char *)name,
	    NULL };
	char	*out;
	size_t	 n;

	if (runv(argv, &out, NULL, 1) != 0 || out[0] == '\0') {
		free(out);
		return NULL;
	}
	n = strlen(out);
	while (n > 0 && out[n - 1] == '\n')
		out[--n] = '\0';
	return out;
}

/* chroot_off - is every service of the instance chroot = n */
static int
chroot_off(struct pfx *x, const char *dir)
{
	char	*argv[] = { x->postconf, "-c", (char *)dir, "-F",
	    "*/*/chroot", NULL };
	char	*out, *p;
	int	 ok = 1;

	if (runv(argv, &out, NULL, 1) != 0) {
		free(out);
		return 0;
	}
	for (p = out; (p = strstr(p, "/chroot = ")) != NULL; p += 10)
		if (p[10] != 'n')
			ok = 0;
	free(out);
	return ok;
}

/* instance_state - 0 absent, 1 present and disabled, 2 enabled */
static int
instance_state(struct pfx *x)
{
	char	*argv[] = { x->postmulti, "-l", NULL };
	char	*out, *line, *save = NULL, name[128], grp[128], en[8];
	int	 st = 0;

	if (runv(argv, &out, NULL, 1) != 0) {
		free(out);
		return 0;
	}
	for (line = strtok_r(out, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		if (sscanf(line, "%127s %127s %7s", name, grp, en) == 3 &&
		    strcmp(name, PF_INSTANCE) == 0)
			st = strcmp(en, "y") == 0 ? 2 : 1;
	free(out);
	return st;
}

/* --- web users ---------------------------------------------------------- */

/* is_web_gid - is gid one of the web groups */
static int
is_web_gid(const struct config *cfg, gid_t gid)
{
	size_t	 i;

	for (i = 0; i < cfg->n_web_gids; i++)
		if (cfg->web_gids[i] == gid)
			return 1;
	return 0;
}

/* name_cmp - qsort strings */
static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* web_users_text - the table file: every login in a web UID range or
 * web group, from the passwd and group databases as they are now */
static char *
web_users_text(const struct config *cfg, size_t *count)
{
	struct passwd *pw;
	struct group *gr;
	char	**names = NULL, *text, *p, **m;
	size_t	 n = 0, i, len;

	setpwent();
	while ((pw = getpwent()) != NULL)
		if (config_is_web_uid(cfg, pw->pw_uid) ||
		    is_web_gid(cfg, pw->pw_gid)) {
			names = ctl_xreallocarray(names, n + 1, sizeof(*names));
			names[n++] = ctl_xstrdup(pw->pw_name);
		}
	endpwent();
	for (i = 0; i < cfg->n_web_gids; i++)
		if ((gr = getgrgid(cfg->web_gids[i])) != NULL)
			for (m = gr->gr_mem; *m != NULL; m++) {
				names = ctl_xreallocarray(names, n + 1,
				    sizeof(*names));
				names[n++] = ctl_xstrdup(*m);
			}
	if (n > 0)
		qsort(names, n, sizeof(*names), name_cmp);
	len = 300;	/* the header below */
	for (i = 0; i < n; i++)
		len += strlen(names[i]) + 6;
	text = p = malloc(len);
	if (text == NULL) {
		ctl_err("out of memory");
		exit(CTL_ERR);
	}
	p += sprintf(p, "# Web users that may not submit mail with sendmail "
	    "(postdrop).\n# Written by mailgovctl postfix setup; "
	    "\"mailgovctl postfix users\" rewrites it\n# when web users are "
	    "added (the unit mailgov-web-users.path).\n");
	*count = 0;
	for (i = 0; i < n; i++) {
		if (i > 0 && strcmp(names[i], names[i - 1]) == 0)
			continue;
		p += sprintf(p, "%s web\n", names[i]);
		(*count)++;
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return text;
}

/* read_file - a whole small file, or NULL (errno set) */
static char *
read_file(const char *path, size_t *lenp)
{
	FILE	*fp;
	char	*buf = NULL, *nb;
	size_t	 n = 0, cap = 0, r;

	if ((fp = fopen(path, "re")) == NULL)
		return NULL;
	for (;;) {
		if (n + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 8192;
			if (cap > OUT_MAX || (nb = realloc(buf, cap)) == NULL) {
				free(buf);
				fclose(fp);
				errno = EFBIG;
				return NULL;
			}
			buf = nb;
		}
		if ((r = fread(buf + n, 1, cap - n - 1, fp)) == 0)
			break;
		n += r;
	}
	fclose(fp);
	if (buf == NULL && (buf = malloc(1)) == NULL)
		return NULL;
	buf[n] = '\0';
	if (lenp != NULL)
		*lenp = n;
	return buf;
}

/* write_file - replace path atomically with len bytes of text */
static int
write_file(const char *path, const char *text, size_t len, mode_t mode)
{
	char	*tmp;
	int	 fd;

	tmp = ctl_xasprintf("%s.mailgov-new", path);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode))
	    == -1 || write(fd, text, len) != (ssize_t)len || fsync(fd) == -1 ||
	    fchmod(fd, mode) == -1 || close(fd) == -1 ||
	    rename(tmp, path) == -1) {
		ctl_err("%s: %s", path, strerror(errno));
		unlink(tmp);
		free(tmp);
		return -1;
	}
	free(tmp);
	return 0;
}

/* files_equal - does path hold exactly the bytes of copy */
static int
files_equal(const char *path, const char *copy)
{
	char	*a, *b;
	size_t	 na = 0, nb = 0;
	int	 eq;

	a = read_file(path, &na);
	b = read_file(copy, &nb);
	eq = a != NULL && b != NULL && na == nb && memcmp(a, b, na) == 0;
	free(a);
	free(b);
	return eq;
}

/* copy_file - copy src to dst (dst removed when src does not exist) */
static int
copy_file(const char *src, const char *dst)
{
	char	*t;
	size_t	 n = 0;
	int	 r;

	if ((t = read_file(src, &n)) == NULL) {
		if (errno == ENOENT)
			return unlink(dst) == -1 && errno != ENOENT ? -1 : 0;
		return ctl_err("%s: %s", src, strerror(errno)), -1;
	}
	r = write_file(dst, t, n, 0644);
	free(t);
	return r;
}

/* --- the difference ------------------------------------------------------ */

/* diff_head - print the file name once before its first difference */
static void
diff_head(struct pfx *x, const char *file, int *printed)
{
	x->ndiff++;
	if (x->quiet || *printed)
		return;
	printf("%s:\n", file);
	*printed = 1;
}

/* want_value - what key should become, given its current value (NULL:
 * unset); NULL when it is already right */
static char *
want_value(const struct pf_param *p, const char *cur)
{
	char	*nv;

	if (p->how == PF_SET) {
		if (cur != NULL && pf_space_eq(cur, p->value))
			return NULL;
		return ctl_xstrdup(p->value);
	}
	nv = pf_list_merge(cur != NULL ? cur : p->dflt, p->value);
	if (nv == NULL) {
		ctl_err("%s: cannot parse '%s'", p->key, cur ? cur : "");
		exit(CTL_ERR);
	}
	if (cur != NULL && strcmp(nv, cur) == 0) {
		free(nv);
		return NULL;
	}
	return nv;
}

/* params_diff - print and count what differs in one main.cf */
static void
params_diff(struct pfx *x, const char *file, const struct pf_want *w,
    const struct conf *c, int *printed)
{
	const char *cur;
	char	*nv;
	size_t	 i;

	for (i = 0; i < w->n_params; i++) {
		cur = c != NULL ? conf_get(c, w->params[i].key) : NULL;
		if ((nv = want_value(&w->params[i], cur)) == NULL)
			continue;
		diff_head(x, file, printed);
		if (!x->quiet) {
			if (cur != NULL)
				printf("-%s = %s\n", w->params[i].key, cur);
			printf("+%s = %s\n", w->params[i].key, nv);
		}
		free(nv);
	}
}

/* services_diff - print and count what differs in one master.cf */
static void
services_diff(struct pfx *x, const char *file, const char *dir,
    const struct pf_want *w, int exists, int *printed)
{
	char	*cur;
	size_t	 i;

	for (i = 0; i < w->n_services; i++) {
		cur = exists ? service_get(x, dir, w->services[i].name) : NULL;
		if (w->services[i].line == NULL) {
			/* must be off: in a fresh instance it is on */
			if (exists && cur == NULL)
				continue;
			diff_head(x, file, printed);
			if (!x->quiet)
				printf("-%s\n", cur ? cur : w->services[i].name);
		} else if (cur == NULL ||
		    !pf_space_eq(cur, w->services[i].line)) {
			diff_head(x, file, printed);
			if (!x->quiet) {
				if (cur != NULL)
					printf("-%s\n", cur);
				printf("+%s\n", w->services[i].line);
			}
		}
		free(cur);
	}
	if (w->chroot_n && (!exists || !chroot_off(x, dir))) {
		diff_head(x, file, printed);
		if (!x->quiet)
			printf("+*/*/chroot = n\n");
	}
}

/* has_ipv6 - does this host (network namespace) have ::1 */
static int
has_ipv6(void)
{
	char	*t;
	int	 r;

	if ((t = read_file("/proc/net/if_inet6", NULL)) == NULL)
		return 0;
	r = strstr(t, "00000000000000000000000000000001") != NULL;
	free(t);
	return r;
}

struct plan {
	struct pf_want	*wmain, *wqueue;
	struct conf	 cmain, cqueue;
	int		 inst;		/* instance_state() */
	int		 have_wrapper;
	char		*web, *web_old;
	size_t		 n_web;
};

/* plan_free - free a plan */
static void
plan_free(struct plan *p)
{
	pf_want_free(p->wmain);
	pf_want_free(p->wqueue);
	conf_free(&p->cmain);
	conf_free(&p->cqueue);
	free(p->web);
	free(p->web_old);
}

/* plan_make - read both instances and what mailgov wants in them */
static int
plan_make(struct pfx *x, struct plan *p)
{
	const struct config *cfg = &x->ctl->cfg;
	const char *w;
	char	*msl;

	memset(p, 0, sizeof(*p));
	if (conf_read(x, x->main_dir, &p->cmain) == -1)
		return -1;
	w = conf_get(&p->cmain, "multi_instance_wrapper");
	p->have_wrapper = w != NULL && *w != '\0';
	p->inst = p->have_wrapper ? instance_state(x) : 0;
	if (p->inst > 0 && conf_read(x, x->qdir, &p->cqueue) == -1)
		return -1;
	msl = postconf_h(x, x->main_dir, "message_size_limit");
	p->wmain = pf_want_main(cfg);
	p->wqueue = pf_want_queue(cfg, has_ipv6(), msl);
	free(msl);
	if (p->wmain == NULL || p->wqueue == NULL)
		return ctl_err("out of memory"), -1;
	p->web = web_users_text(cfg, &p->n_web);
	p->web_old = read_file(PF_WEB_USERS, NULL);
	return 0;
}

/* plan_diff - print (unless quiet) and count every difference */
static int
plan_diff(struct pfx *x, struct plan *p)
{
	char	*f;
	int	 printed;

	x->ndiff = 0;
	if (!p->have_wrapper) {
		x->ndiff++;
		if (!x->quiet)
			printf("postmulti: enable multiple instances "
			    "(postmulti -e init)\n");
	}
	if (p->inst == 0) {
		x->ndiff++;
		if (!x->quiet)
			printf("postmulti: create the instance %s in %s "
			    "(postmulti -I %s -G %s -e create)\n",
			    PF_INSTANCE, x->qdir, PF_INSTANCE, PF_GROUP);
	}
	f = ctl_xasprintf("%s/main.cf", x->qdir);
	printed = 0;
	params_diff(x, f, p->wqueue, p->inst ? &p->cqueue : NULL, &printed);
	free(f);
	f = ctl_xasprintf("%s/master.cf", x->qdir);
	printed = 0;
	services_diff(x, f, x->qdir, p->wqueue, p->inst > 0, &printed);
	free(f);
	if (p->inst != 2) {
		x->ndiff++;
		if (!x->quiet)
			printf("postmulti: enable the instance %s (postmulti "
			    "-i %s -e enable)\n", PF_INSTANCE, PF_INSTANCE);
	}
	f = ctl_xasprintf("%s/main.cf", x->main_dir);
	printed = 0;
	params_diff(x, f, p->wmain, &p->cmain, &printed);
	free(f);
	f = ctl_xasprintf("%s/master.cf", x->main_dir);
	printed = 0;
	services_diff(x, f, x->main_dir, p->wmain, 1, &printed);
	free(f);
	if (p->web_old == NULL || strcmp(p->web, p->web_old) != 0) {
		x->ndiff++;
		if (!x->quiet)
			printf("%s: %zu web users refused by "
			    "authorized_submit_users (%s)\n", PF_WEB_USERS,
			    p->n_web, p->web_old ? "changed" : "new file");
	}
	return x->ndiff;
}

/* --- the record of previous values ------------------------------------- */

/* record_has - is there a line starting with "prefix KEY" (exactly) */
static int
record_has(const char *rec, const char *kind, const char *key)
{
	const char *p;
	size_t	 kl = strlen(kind), keyl = strlen(key);

	for (p = rec; p != NULL && *p != '\0'; p = strchr(p, '\n'),
	    p = p ? p + 1 : NULL)
		if (strncmp(p, kind, kl) == 0 && p[kl] == ' ' &&
		    strncmp(p + kl + 1, key, keyl) == 0 &&
		    (p[kl + 1 + keyl] == '=' || p[kl + 1 + keyl] == '\n' ||
		    p[kl + 1 + keyl] == '\0'))
			return 1;
	return 0;
}

/* record_add - append to the record text */
static void
record_add(char **rec, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
record_add(char **rec, const char *fmt, ...)
{
	va_list	 ap;
	char	*line, *n;

	va_start(ap, fmt);
	if (vasprintf(&line, fmt, ap) == -1) {
		va_end(ap);
		ctl_err("out of memory");
		exit(CTL_ERR);
	}
	va_end(ap);
	n = ctl_xasprintf("%s%s\n", *rec, line);
	free(line);
	free(*rec);
	*rec = n;
}

/* record_key - note the previous state of a main.cf key, once */
static void
record_key(char **rec, const struct conf *c, const char *key)
{
	const char *v;

	if (record_has(*rec, "set", key) || record_has(*rec, "unset", key))
		return;
	if ((v = conf_get(c, key)) != NULL)
		record_add(rec, "set %s=%s", key, v);
	else
		record_add(rec, "unset %s", key);
}

/* --- setup --------------------------------------------------------------- */

/* apply_params - postconf -e every key that differs */
static int
apply_params(struct pfx *x, const char *dir, const struct pf_want *w,
    const struct conf *c, char **rec)
{
	char	*argv[64], *vals[64];
	size_t	 i, n = 0, k;
	int	 rc;
	char	*nv;

	argv[n++] = x->postconf;
	argv[n++] = "-c";
	argv[n++] = (char *)dir;
	argv[n++] = "-e";
	k = 0;
	for (i = 0; i < w->n_params && n < 62; i++) {
		nv = want_value(&w->params[i], c ? conf_get(c,
		    w->params[i].key) : NULL);
		if (nv == NULL)
			continue;
		if (rec != NULL)
			record_key(rec, c, w->params[i].key);
		vals[k] = ctl_xasprintf("%s=%s", w->params[i].key, nv);
		argv[n++] = vals[k++];
		free(nv);
	}
	argv[n] = NULL;
	rc = k > 0 ? runv(argv, NULL, NULL, 0) : 0;
	for (i = 0; i < k; i++)
		free(vals[i]);
	return must("postconf -e", rc);
}

/* apply_services - master.cf entries, and chroot n where wanted */
static int
apply_services(struct pfx *x, const char *dir, const struct pf_want *w,
    char **rec)
{
	char	*cur, *arg;
	size_t	 i;
	int	 rc;

	for (i = 0; i < w->n_services; i++) {
		cur = service_get(x, dir, w->services[i].name);
		if (w->services[i].line == NULL) {
			if (cur != NULL && must("postconf -M#", run(0,
			    x->postconf, "-c", dir, "-M#", w->services[i].name,
			    NULL)) == -1) {
				free(cur);
				return -1;
			}
		} else if (cur == NULL ||
		    !pf_space_eq(cur, w->services[i].line)) {
			if (rec != NULL && !record_has(*rec, "service",
			    w->services[i].name))
				record_add(rec, "service %s%s",
				    w->services[i].name, cur ? "=" : "");
			arg = ctl_xasprintf("%s=%s", w->services[i].name,
			    w->services[i].line);
			rc = run(0, x->postconf, "-c", dir, "-Me", arg, NULL);
			free(arg);
			if (must("postconf -Me", rc) == -1) {
				free(cur);
				return -1;
			}
		}
		free(cur);
	}
	if (w->chroot_n && !chroot_off(x, dir) &&
	    must("postconf -F", run(0, x->postconf, "-c", dir, "-F",
	    "*/*/chroot=n", NULL)) == -1)
		return -1;
	return 0;
}

/* running - is the instance's master running (postmulti -p status) */
static int
running(struct pfx *x, const char *inst)
{
	return run(1, x->postmulti, "-i", inst, "-p", "status", NULL) == 0;
}

/* saved_path - <saved>/name */
static char *
saved_path(struct pfx *x, const char *name)
{
	return ctl_xasprintf("%s/%s", x->saved, name);
}

/* do_setup - apply the plan */
static int
do_setup(struct pfx *x, struct plan *p)
{
	char	*rec, *recpath, *mainf, *masterf, *t, *dirarg;
	const char *keys[] = { "multi_instance_wrapper",
	    "multi_instance_enable", "multi_instance_directories", NULL };
	size_t	 i;
	int	 first = 0, main_was_running;

	mainf = ctl_xasprintf("%s/main.cf", x->main_dir);
	masterf = ctl_xasprintf("%s/master.cf", x->main_dir);
	recpath = saved_path(x, "record");
	if ((rec = read_file(recpath, NULL)) == NULL) {
		/* the first setup: keep the originals */
		first = 1;
		if (mkdir(x->saved, 0700) == -1 && errno != EEXIST)
			return ctl_err("%s: %s", x->saved, strerror(errno));
		t = saved_path(x, "orig-main.cf");
		if (copy_file(mainf, t) == -1)
			return -1;
		free(t);
		t = saved_path(x, "orig-master.cf");
		if (copy_file(masterf, t) == -1)
			return -1;
		free(t);
		rec = ctl_xstrdup("# mailgovctl postfix setup: what it "
		    "changed, for postfix remove\n");
	}
	for (i = 0; keys[i] != NULL; i++)
		record_key(&rec, &p->cmain, keys[i]);
	main_was_running = running(x, "-");

	if (!p->have_wrapper && must("postmulti -e init", run(0,
	    x->postmulti, "-e", "init", NULL)) == -1)
		goto fail;
	if (p->inst == 0) {
		dirarg = ctl_xasprintf("config_directory=%s", x->qdir);
		if (must("postmulti -e create", run(0, x->postmulti, "-I",
		    PF_INSTANCE, "-G", PF_GROUP, "-e", "create", dirarg,
		    NULL)) == -1) {
			free(dirarg);
			goto fail;
		}
		free(dirarg);
		if (!record_has(rec, "created", PF_INSTANCE))
			record_add(&rec, "created %s", PF_INSTANCE);
		conf_free(&p->cqueue);
		if (conf_read(x, x->qdir, &p->cqueue) == -1)
			goto fail;
	}
	/* the web-user table before any authorized_submit_users names it */
	if ((p->web_old == NULL || strcmp(p->web, p->web_old) != 0) &&
	    write_file(PF_WEB_USERS, p->web, strlen(p->web), 0644) == -1)
		goto fail;
	if (apply_params(x, x->qdir, p->wqueue, &p->cqueue, NULL) == -1 ||
	    apply_services(x, x->qdir, p->wqueue, NULL) == -1)
		goto fail;
	if (p->inst != 2 && must("postmulti -e enable", run(0, x->postmulti,
	    "-i", PF_INSTANCE, "-e", "enable", NULL)) == -1)
		goto fail;
	/* record before touching the main instance: a failure half-way
	 * must still leave remove what it needs */
	if (write_file(recpath, rec, strlen(rec), 0600) == -1)
		goto fail;
	if (apply_params(x, x->main_dir, p->wmain, &p->cmain, &rec) == -1 ||
	    apply_services(x, x->main_dir, p->wmain, &rec) == -1 ||
	    write_file(recpath, rec, strlen(rec), 0600) == -1)
		goto fail;
	t = saved_path(x, "setup-main.cf");
	if (copy_file(mainf, t) == -1)
		goto fail;
	free(t);
	t = saved_path(x, "setup-master.cf");
	if (copy_file(masterf, t) == -1)
		goto fail;
	free(t);

	/* a running Postfix picks the change up now */
	if (main_was_running) {
		if (must("postfix reload", run(0, x->postmulti, "-i", "-", "-p",
		    "reload", NULL)) == -1)
			goto fail;
		if (running(x, PF_INSTANCE))
			(void)run(0, x->postmulti, "-i", PF_INSTANCE, "-p",
			    "reload", NULL);
		else if (must("starting " PF_INSTANCE, run(0, x->postmulti,
		    "-i", PF_INSTANCE, "-p", "start", NULL)) == -1)
			goto fail;
	}
	x->ctl->changed++;
	printf("postfix: set up for mailgov%s\n", first ?
	    "; previous settings saved in " : "");
	if (first)
		printf("  %s\n", x->saved);
	free(rec);
	free(recpath);
	free(mainf);
	free(masterf);
	return CTL_OK;
fail:
	(void)write_file(recpath, rec, strlen(rec), 0600);
	free(rec);
	free(recpath);
	free(mainf);
	free(masterf);
	return CTL_ERR;
}

/* --- remove ---------------------------------------------------------------- */

/* queue_count - messages in the queue instance (-1: cannot tell) */
static long
queue_count(struct pfx *x)
{
	char	*argv[] = { x->postqueue, "-c", (char *)x->qdir, "-j", NULL };
	char	*out, *p;
	long	 n = 0;

	if (runv(argv, &out, NULL, 1) != 0) {
		free(out);
		return -1;
	}
	for (p = out; *p != '\0'; p++)
		if (*p == '\n')
			n++;
	free(out);
	return n;
}

/* undo_key - put one main.cf key back key by key */
static int
undo_key(struct pfx *x, const struct conf *c, const char *line,
    const struct pf_want *w)
{
	const char *key, *eq, *cur, *dflt = "";
	char	*k, *nv = NULL, *arg;
	size_t	 i;
	int	 rc, is_list = 0;

	if (strncmp(line, "set ", 4) == 0) {
		key = line + 4;
		if ((eq = strchr(key, '=')) == NULL)
			return 0;
		k = strndup(key, (size_t)(eq - key));
	} else if (strncmp(line, "unset ", 6) == 0) {
		k = strdup(line + 6);
		eq = NULL;
	} else
		return 0;
	if (k == NULL)
		return -1;
	for (i = 0; i < w->n_params; i++)
		if (strcmp(w->params[i].key, k) == 0 &&
		    w->params[i].how == PF_LIST) {
			is_list = 1;
			dflt = w->params[i].dflt;
		}
	cur = conf_get(c, k);
	/* a list the administrator edited since: take out only ours */
	if (is_list && cur != NULL) {
		if ((nv = pf_list_remove(cur)) == NULL) {
			free(k);
			return -1;
		}
		if (eq != NULL && pf_space_eq(nv, eq + 1)) {
			free(nv);
			nv = strdup(eq + 1);
		} else if (eq == NULL && (*nv == '\0' ||
		    pf_space_eq(nv, dflt))) {
			free(nv);
			nv = NULL;
		}
		if (nv == NULL && eq != NULL)
			return free(k), -1;
	} else if (eq != NULL)
		nv = strdup(eq + 1);
	if (nv != NULL) {
		arg = ctl_xasprintf("%s=%s", k, nv);
		rc = run(0, x->postconf, "-c", x->main_dir, "-e", arg, NULL);
		free(arg);
	} else
		rc = run(0, x->postconf, "-c", x->main_dir, "-X", k, NULL);
	free(nv);
	free(k);
	return must("postconf", rc);
}

/* main_has_ours - does the main instance still carry anything of setup:
 * our element in one of its lists, or the relay listener */
static int
main_has_ours(struct pfx *x, const struct plan *p)
{
	const char *cur;
	char	*nv, *svc;
	size_t	 i;
	int	 ours = 0;

	for (i = 0; !ours && i < p->wmain->n_params; i++) {
		if (p->wmain->params[i].how != PF_LIST ||
		    (cur = conf_get(&p->cmain, p->wmain->params[i].key)) ==
		    NULL)
			continue;
		if ((nv = pf_list_remove(cur)) == NULL)
			return 1;	/* cannot tell: assume so */
		ours = !pf_space_eq(nv, cur);
		free(nv);
	}
	if (!ours && p->wmain->n_services > 0 && (svc = service_get(x,
	    x->main_dir, p->wmain->services[0].name)) != NULL) {
		ours = 1;
		free(svc);
	}
	return ours;
}

/* do_remove - undo setup */
static int
do_remove(struct pfx *x, int force)
{
	struct plan p;
	char	*rec, *recpath, *mainf, *masterf, *t, *line, *save = NULL;
	int	 main_same, master_same, rc = CTL_OK, main_running;
	long	 n;

	if (plan_make(x, &p) == -1) {
		plan_free(&p);
		return CTL_ERR;
	}
	recpath = saved_path(x, "record");
	rec = read_file(recpath, NULL);
	mainf = ctl_xasprintf("%s/main.cf", x->main_dir);
	masterf = ctl_xasprintf("%s/master.cf", x->main_dir);
	t = saved_path(x, "setup-main.cf");
	main_same = rec != NULL && files_equal(mainf, t);
	free(t);
	t = saved_path(x, "setup-master.cf");
	master_same = rec != NULL && files_equal(masterf, t);
	free(t);
	main_running = running(x, "-");

	if (rec == NULL && p.inst == 0 && access(PF_WEB_USERS, F_OK) == -1 &&
	    !main_has_ours(x, &p)) {
		printf("postfix: not set up for mailgov; nothing to remove\n");
		goto done;
	}
	x->ctl->changed++;
	if (p.inst > 0) {
		if ((n = queue_count(x)) != 0 && !force) {
			if (n < 0)
				ctl_err("cannot list the queue of %s; use "
				    "--force to destroy it anyway", PF_INSTANCE);
			else
				ctl_err("%ld message%s still queued in %s "
				    "(held mail?): release or delete them with "
				    "mailgovctl hold, or use --force to delete "
				    "them", n, n == 1 ? "" : "s", PF_INSTANCE);
			rc = CTL_ERR;
			goto done;
		}
		if (n > 0)
			(void)run(0, x->postsuper, "-c", x->qdir, "-d", "ALL",
			    NULL);
		if (running(x, PF_INSTANCE))
			(void)run(0, x->postmulti, "-i", PF_INSTANCE, "-p",
			    "stop", NULL);
		if (p.inst == 2 && must("postmulti -e disable", run(0,
		    x->postmulti, "-i", PF_INSTANCE, "-e", "disable", NULL))
		    == -1) {
			rc = CTL_ERR;
			goto done;
		}
		if (must("postmulti -e destroy", run(0, x->postmulti, "-i",
		    PF_INSTANCE, "-e", "destroy", NULL)) == -1) {
			rc = CTL_ERR;
			goto done;
		}
	}
	if (main_same) {
		t = saved_path(x, "orig-main.cf");
		if (copy_file(t, mainf) == -1)
			rc = CTL_ERR;
		free(t);
	} else {
		/* edited since setup (or no record): key by key */
		conf_free(&p.cmain);
		if (conf_read(x, x->main_dir, &p.cmain) == -1) {
			rc = CTL_ERR;
			goto done;
		}
		if (rec != NULL) {
			for (line = strtok_r(rec, "\n", &save); line != NULL;
			    line = strtok_r(NULL, "\n", &save))
				if (undo_key(x, &p.cmain, line, p.wmain) == -1)
					rc = CTL_ERR;
			free(rec);
			rec = read_file(recpath, NULL);
		} else {
			(void)undo_key(x, &p.cmain,
			    "unset smtpd_end_of_data_restrictions", p.wmain);
			(void)undo_key(x, &p.cmain,
			    "unset authorized_submit_users", p.wmain);
		}
	}
	if (master_same) {
		t = saved_path(x, "orig-master.cf");
		if (copy_file(t, masterf) == -1)
			rc = CTL_ERR;
		free(t);
	} else if (p.wmain->n_services > 0)
		(void)run(1, x->postconf, "-c", x->main_dir, "-MX",
		    p.wmain->services[0].name, NULL);
	if (unlink(PF_WEB_USERS) == -1 && errno != ENOENT)
		rc = ctl_err("%s: %s", PF_WEB_USERS, strerror(errno));
	if (rc == CTL_OK) {
		const char *names[] = { "record", "orig-main.cf",
		    "orig-master.cf", "setup-main.cf", "setup-master.cf",
		    NULL };
		size_t	 i;

		for (i = 0; names[i] != NULL; i++) {
			t = saved_path(x, names[i]);
			(void)unlink(t);
			free(t);
		}
		(void)rmdir(x->saved);
	}
	if (main_running)
		(void)run(0, x->postmulti, "-i", "-", "-p", "reload", NULL);
	if (rc == CTL_OK)
		printf("postfix: mailgov removed%s\n", main_same ?
		    "; main.cf restored as it was" : "");
done:
	free(rec);
	free(recpath);
	free(mainf);
	free(masterf);
	plan_free(&p);
	return rc;
}

/* --- the command ----------------------------------------------------------- */

/* sibling - path of a Postfix command next to postsuper */
static void
sibling(const char *postsuper, const char *name, char *out, size_t len)
{
	char	*d = ctl_xstrdup(postsuper);

	snprintf(out, len, "%s/%s", dirname(d), name);
	free(d);
}

/* --- where Postfix takes mail, for the rules ------------------------------- */

/* port_add - remember a port Postfix takes mail on, port being a number
 * or a services(5) name as Postfix has it; why is copied */
static void
port_add(struct ctl_port **v, size_t *n, const char *port, const char *why)
{
	struct servent *se;
	unsigned long p;
	char	*end;

	errno = 0;
	p = strtoul(port, &end, 10);
	if (*port < '0' || *port > '9' || *end != '\0' || errno != 0) {
		/* Postfix looks a name up the same way when it binds */
		if ((se = getservbyname(port, "tcp")) == NULL) {
			ctl_err("warning: %s: no such TCP service '%s'; not "
			    "closed to web users", why, port);
			return;
		}
		p = ntohs((uint16_t)se->s_port);
	}
	if (p == 0 || p > 65535) {
		ctl_err("warning: %s: port '%s' out of range", why, port);
		return;
	}
	*v = ctl_xreallocarray(*v, *n + 1, sizeof(**v));
	(*v)[*n].port = (uint16_t)p;
	snprintf((*v)[*n].why, sizeof((*v)[*n].why), "%s", why);
	(*n)++;
}

/* next_line - the next line of text (cut in place), or NULL */
static char *
next_line(char **p)
{
	char	*line = *p, *nl;

	if (line == NULL || *line == '\0')
		return NULL;
	if ((nl = strchr(line, '\n')) != NULL) {
		*nl = '\0';
		*p = nl + 1;
	} else
		*p = line + strlen(line);
	return line;
}

/* filter_add - the port of a content_filter or smtpd_proxy_filter value
 * (where: "main.cf" or "SERVICE in .../master.cf") */
static void
filter_add(struct ctl_port **v, size_t *n, const char *key,
    const char *value, const char *where)
{
	char	 port[64], why[640], clean[96];
	int	 r;

	r = pf_filter_port(value, strcmp(key, "content_filter") == 0, port,
	    sizeof(port));
	if (r == 0)
		return;
	if (r == -1) {
		ctl_err("warning: %s: cannot read %s = %s; its port is not "
		    "closed to web users", where, key,
		    ctl_clean(value, clean, sizeof(clean)));
		return;
	}
	snprintf(why, sizeof(why), "%s %s %s", key,
	    strstr(where, " in ") != NULL ? "of" : "in", where);
	port_add(v, n, port, why);
}

/*
 * instance_listeners - one instance's mail listeners: inet services whose
 * command is smtpd, postscreen or qmqpd (master.cf), and the next hops of
 * content_filter and smtpd_proxy_filter, in main.cf and as -o overrides
 * in master.cf.  Their host does not matter: a service with a bare port
 * listens on inet_interfaces, which are this host's addresses, and the
 * rules close a port on every local address.  -1 when postconf fails.
 */
static int
instance_listeners(char *postconf, char *dir, struct ctl_port **v,
    size_t *n)
{
	char	*fargv[] = { postconf, "-c", dir, "-F", "*/inet/command",
	    NULL };
	char	*cargv[] = { postconf, "-c", dir, "content_filter",
	    "smtpd_proxy_filter", NULL };
	char	*pargv[] = { postconf, "-c", dir, "-P", "*/*/content_filter",
	    "*/*/smtpd_proxy_filter", NULL };
	char	*out = NULL, *p, *line, *eq, *k, name[128], port[64];
	char	 why[512], where[CONFIG_PATHLEN + 64], clean[128], key[64];
	char	 of[sizeof(where) + sizeof(clean)];
	const char *val;
	int	 r, rc = 0;

	if (runv(fargv, &out, NULL, 1) != 0) {
		ctl_err("warning: postconf -c %s -F failed; that instance's "
		    "listeners are not closed to web users", dir);
		free(out);
		return -1;
	}
	snprintf(where, sizeof(where), "%s/master.cf", dir);
	for (p = out; (line = next_line(&p)) != NULL;) {
		r = pf_listener_line(line, name, sizeof(name), port,
		    sizeof(port));
		if (r == 0)
			continue;
		if (r == -1) {
			ctl_err("warning: %s: cannot read the service '%s'; "
			    "its port is not closed to web users", where,
			    ctl_clean(line, clean, sizeof(clean)));
			rc = -1;
			continue;
		}
		snprintf(why, sizeof(why), "%s in %s",
		    ctl_clean(name, clean, sizeof(clean)), where);
		port_add(v, n, port, why);
	}
	free(out);

	snprintf(where, sizeof(where), "%s/main.cf", dir);
	if (runv(cargv, &out, NULL, 1) != 0) {
		ctl_err("warning: postconf -c %s failed", dir);
		rc = -1;
	}
	for (p = out; (line = next_line(&p)) != NULL;)
		if (pf_conf_line(line, key, sizeof(key), &val) == 0)
			filter_add(v, n, key, val, where);
	free(out);

	/* "service/type/key = value" for each -o override */
	snprintf(where, sizeof(where), "%s/master.cf", dir);
	if (runv(pargv, &out, NULL, 1) != 0) {
		ctl_err("warning: postconf -c %s -P failed", dir);
		rc = -1;
	}
	for (p = out; (line = next_line(&p)) != NULL;) {
		if ((eq = strchr(line, '=')) == NULL)
			continue;
		for (k = eq; k > line && (k[-1] == ' ' || k[-1] == '\t'); k--)
			;
		*k = '\0';
		if ((k = strrchr(line, '/')) == NULL)
			continue;
		for (val = eq + 1; *val == ' ' || *val == '\t'; val++)
			;
		line[strcspn(line, "/")] = '\0';	/* the service */
		snprintf(of, sizeof(of), "%s in %s",
		    ctl_clean(line, clean, sizeof(clean)), where);
		filter_add(v, n, k + 1, val, of);
	}
	free(out);
	return rc;
}

/* ctl_postfix_listeners - see ctl.h */
int
ctl_postfix_listeners(const struct config *cfg, struct ctl_port **v,
    size_t *n)
{
	char	 postconf[CONFIG_PATHLEN], *out = NULL, *dirs = NULL, *d;
	char	*save = NULL, *seen = NULL, *t;
	int	 rc = 0, unconfigured;

	*v = NULL;
	*n = 0;
	sibling(cfg->postsuper, "postconf", postconf, sizeof(postconf));
	if (access(postconf, X_OK) == -1)
		return 0;	/* no Postfix: nothing of it listens */
	{
		/* -d: postconf insists on a main.cf otherwise */
		char	*argv[] = { postconf, "-d", "-h", "config_directory",
		    NULL };

		if (runv(argv, &out, NULL, 1) != 0 || out[0] == '\0') {
			free(out);
			ctl_err("warning: postconf cannot say where Postfix's "
			    "configuration is; its listeners are not closed "
			    "to web users");
			return -1;
		}
	}
	out[strcspn(out, "\n")] = '\0';
	t = ctl_xasprintf("%s/main.cf", out);
	unconfigured = access(t, F_OK) == -1 && errno == ENOENT;
	free(t);
	if (unconfigured) {
		free(out);
		return 0;	/* installed, never configured: not running */
	}
	if (instance_listeners(postconf, out, v, n) == -1)
		rc = -1;
	{
		/* the other instances: postmulti's, and those listed by hand */
		char	*argv[] = { postconf, "-c", out, "-h",
		    "multi_instance_directories",
		    "alternate_config_directories", NULL };

		if (runv(argv, &dirs, NULL, 1) != 0) {
			ctl_err("warning: postconf -c %s -h "
			    "multi_instance_directories failed", out);
			rc = -1;
		}
	}
	seen = ctl_xasprintf("\n%s\n", out);
	for (d = dirs ? strtok_r(dirs, " ,\t\n", &save) : NULL; d != NULL;
	    d = strtok_r(NULL, " ,\t\n", &save)) {
		t = ctl_xasprintf("\n%s\n", d);
		if (d[0] != '/' || strstr(seen, t) != NULL) {
			free(t);
			continue;
		}
		free(t);
		t = ctl_xasprintf("%s%s\n", seen, d);
		free(seen);
		seen = t;
		if (instance_listeners(postconf, d, v, n) == -1)
			rc = -1;
	}
	free(seen);
	free(dirs);
	free(out);
	return rc;
}

/* ctl_closed_text - see ctl.h */
char *
ctl_closed_text(const struct config *cfg, const struct ctl_port *v, size_t n)
{
	uint16_t *extra, *out;
	size_t	 k, i, j;
	char	*text = ctl_xstrdup(""), *t;
	const char *why;

	extra = ctl_xreallocarray(NULL, n + 1, sizeof(*extra));
	out = ctl_xreallocarray(NULL, RULES_CLOSED_MAX(n), sizeof(*out));
	for (i = 0; i < n; i++)
		extra[i] = v[i].port;
	k = rules_closed_ports(cfg, extra, n, out, RULES_CLOSED_MAX(n));
	for (i = 0; i < k; i++) {
		why = NULL;
		if (out[i] == cfg->relay_port)
			why = "relay_port";
		else if (out[i] == rules_policy_port(cfg))
			why = "policy_tcp";
		else if (out[i] == rules_metrics_port(cfg))
			why = "metrics_listen";
		for (j = 0; why == NULL && j < cfg->n_closed_ports; j++)
			if (out[i] == cfg->closed_ports[j])
				why = "closed_ports";
		for (j = 0; why == NULL && j < n; j++)
			if (out[i] == v[j].port)
				why = v[j].why;
		t = ctl_xasprintf("%s%s%u (%s)", text, i > 0 ? ", " : "",
		    (unsigned)out[i], why != NULL ? why : "?");
		free(text);
		text = t;
	}
	free(extra);
	free(out);
	if (k == 0) {
		free(text);
		text = ctl_xstrdup("none");
	}
	return text;
}

/*
 * print_closed - after setup: the ports the rules close to web users, which
 * the rules only close once they are loaded again (a listener the
 * administrator added to master.cf before setup is among them)
 */
static void
print_closed(const struct config *cfg)
{
	struct ctl_port *v;
	size_t	 n;
	char	*t;

	(void)ctl_postfix_listeners(cfg, &v, &n);
	t = ctl_closed_text(cfg, v, n);
	printf("postfix: ports the rules close to web users: %s; load them "
	    "with mailgovctl rules install (or rules refresh)\n", t);
	free(t);
	free(v);
}

/*
 * do_users - rewrite the web-user table alone, for a trigger on passwd
 * changes (the unit mailgov-web-users.path, systemd/): cheap, no reload (postdrop
 * reads a texthash table at each submission), and never the first set-up.
 */
static int
do_users(const struct config *cfg)
{
	char	*web, *old;
	size_t	 n;
	int	 rc = CTL_OK;

	if ((old = read_file(PF_WEB_USERS, NULL)) == NULL)
		return ctl_err("%s: %s (run mailgovctl postfix setup first)",
		    PF_WEB_USERS, strerror(errno));
	web = web_users_text(cfg, &n);
	if (strcmp(web, old) == 0)
		printf("postfix: %zu web users refused by "
		    "authorized_submit_users; unchanged\n", n);
	else if (write_file(PF_WEB_USERS, web, strlen(web), 0644) == -1)
		rc = CTL_ERR;
	else
		printf("postfix: %zu web users refused by "
		    "authorized_submit_users; updated\n", n);
	free(web);
	free(old);
	return rc;
}

/* unconfigured - is the main instance without a main.cf (Postfix
 * installed with "No configuration"): postconf -d still answers then */
static int
unconfigured(char *postconf)
{
	char	*argv[] = { postconf, "-d", "-h", "config_directory", NULL };
	char	*out, *t;
	int	 r;

	if (runv(argv, &out, NULL, 1) != 0 || out[0] == '\0') {
		free(out);
		return 0;	/* cannot tell: the caller finds out */
	}
	out[strcspn(out, "\n")] = '\0';
	t = ctl_xasprintf("%s/main.cf", out);
	r = access(t, F_OK) == -1 && errno == ENOENT;
	free(t);
	free(out);
	return r;
}

/* ctl_postfix - mailgovctl postfix setup|check|remove|users */
int
ctl_postfix(struct ctl *ctl, int argc, char **argv)
{
	struct pfx x;
	struct plan p;
	const char *sub;
	char	*d;
	int	 i, dry = 0, force = 0, rc;

	if (argc < 2)
		return ctl_usage_err("postfix", "missing subcommand");
	sub = argv[1];
	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--dry-run") == 0)
			dry = 1;
		else if (strcmp(argv[i], "--force") == 0)
			force = 1;
		else
			return ctl_usage_err("postfix", "unknown argument "
			    "'%s'", argv[i]);
	}
	if (strcmp(sub, "setup") != 0 && strcmp(sub, "check") != 0 &&
	    strcmp(sub, "remove") != 0 && strcmp(sub, "users") != 0)
		return ctl_usage_err("postfix", "unknown subcommand '%s'", sub);
	if ((dry && strcmp(sub, "setup") != 0) ||
	    (force && strcmp(sub, "remove") != 0))
		return ctl_usage_err("postfix", "option not valid for %s", sub);
	if (geteuid() != 0 && strcmp(sub, "check") != 0)
		return ctl_err("postfix %s must run as root", sub);
	if (strcmp(sub, "users") == 0)
		return do_users(&ctl->cfg);

	memset(&x, 0, sizeof(x));
	x.ctl = ctl;
	x.qdir = ctl->cfg.queue_config_dir;
	snprintf(x.postsuper, sizeof(x.postsuper), "%s", ctl->cfg.postsuper);
	snprintf(x.postqueue, sizeof(x.postqueue), "%s", ctl->cfg.postqueue);
	sibling(ctl->cfg.postsuper, "postconf", x.postconf,
	    sizeof(x.postconf));
	sibling(ctl->cfg.postsuper, "postmulti", x.postmulti,
	    sizeof(x.postmulti));
	/* no Postfix, or one never configured: nothing of mailgov's in it */
	if (strcmp(sub, "remove") == 0 && (access(x.postconf, X_OK) == -1 ||
	    unconfigured(x.postconf))) {
		printf("postfix: not set up for mailgov; nothing to remove\n");
		return CTL_OK;
	}
	if (access(x.postconf, X_OK) == -1)
		return ctl_err("%s: %s (is Postfix installed?)", x.postconf,
		    strerror(errno));
	if (unconfigured(x.postconf))
		return ctl_err("Postfix's main instance has no main.cf (was it "
		    "installed with \"No configuration\"?): configure it "
		    "first, then run this again");
	{
		char	*argv2[] = { x.postconf, "-h", "config_directory",
		    NULL };

		if (runv(argv2, &d, NULL, 0) != 0 || d[0] == '\0') {
			free(d);
			return ctl_err("postconf cannot say where the main "
			    "instance's configuration is");
		}
		d[strcspn(d, "\n")] = '\0';
		x.main_dir = d;
	}
	x.saved = ctl_xasprintf("%s/mailgov-saved", x.main_dir);

	if (strcmp(sub, "remove") == 0) {
		rc = do_remove(&x, force);
		goto out;
	}
	if (plan_make(&x, &p) == -1) {
		plan_free(&p);
		rc = CTL_ERR;
		goto out;
	}
	if (strcmp(sub, "check") == 0) {
		if (plan_diff(&x, &p) > 0) {
			fflush(stdout);
			rc = ctl_err("postfix is not set up for mailgov: %d "
			    "difference%s (run mailgovctl postfix setup)",
			    x.ndiff, x.ndiff == 1 ? "" : "s");
		} else {
			printf("postfix: set up for mailgov\n");
			rc = CTL_OK;
		}
	} else if (dry) {
		if (plan_diff(&x, &p) == 0)
			printf("postfix: nothing to change\n");
		else
			ctl->changed++;
		rc = CTL_OK;
	} else {
		x.quiet = 1;
		if (plan_diff(&x, &p) == 0) {
			printf("postfix: already set up for mailgov; nothing "
			    "changed\n");
			rc = CTL_OK;
		} else
			rc = do_setup(&x, &p);
		if (rc == CTL_OK)
			print_closed(&ctl->cfg);
	}
	plan_free(&p);
out:
	free(x.main_dir);
	free(x.saved);
	return rc;
}
