/*
 * ctl_setup - "mailgovctl setup [--dry-run]" and "setup --undo": a new
 * server in one idempotent command.  It runs, in this order, what an
 * admin would run by hand:
 *   1. postfix setup (src/ctl/postfix.c): the queue instance, main.cf;
 *   2. rules install (src/ctl/rules.c), unless mailgov's rules are
 *      loaded already and are those the configuration gives
 *      (ctl_rules_state, as status compares them);
 *   3. PHP's sendmail_path: a drop-in file, SETUP_PHP_FILE, in the
 *      conf.d of every installed PHP version's cli and fpm (never
 *      php.ini), naming mailgov-sendmail;
 *   4. under systemd, a restart of a running mailgovd after the first
 *      postfix setup (its sandbox lets it write the queue instance's
 *      spool only if the spool existed when it started);
 * then prints what each PHP reads and "mailgovctl status" (setup_status).  --dry-run runs none of it and
 * prints every change instead: Postfix's as postfix setup --dry-run
 * does, the rules as rules show renders them, each file with its
 * content, each command.  A second run changes nothing and says so.
 *
 * --undo reverses it: postfix remove first (it refuses while the queue
 * instance holds mail, and then nothing else has been undone), rules
 * remove, then the drop-ins, each only while its first line is still
 * SETUP_PHP_MARK: a file the admin has taken over is left alone.
 *
 * A step that fails stops the run, which says what was done and what was
 * not; running it again finishes it.  A drop-in that is not mailgov's is
 * left as it is and makes the run fail at the end, after the others.
 *
 * Trusts: the configuration (already validated); the names under
 * SETUP_PHP_DIR, which are checked before use; the PHP binaries it asks
 * for their sendmail_path, run through spawn.h with a time limit, whose
 * output is bounded and only compared.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "spawn.h"

#ifndef BINDIR
#define BINDIR		"/usr/local/bin"
#endif

#define SETUP_PHP_DIR	"/etc/php"
#define SETUP_PHP_FILE	"99-mailgov.ini"	/* read after the others */
#define SETUP_PHP_MARK	"; Written by mailgovctl setup; " \
			"\"mailgovctl setup --undo\" removes it."
#define SETUP_SYSTEMCTL	"/usr/bin/systemctl"
#define SETUP_UNIT	"mailgovd.service"
#define SETUP_RUN_MS	(60u * 1000)
#define SETUP_OUT_MAX	(1u << 20)
#define SETUP_MAX_PHP	64		/* drop-ins: versions x SAPIs */

/* The SAPIs whose conf.d gets the drop-in, and the binary that reads it
 * (its name, then the version) */
static const struct sapi {
	const char	*name;
	const char	*bin;
} sapis[] = {
	{ "cli", "/usr/bin/php" },
	{ "fpm", "/usr/sbin/php-fpm" },
	{ NULL, NULL }
};

/* One drop-in: where, and who reads it. */
struct dropin {
	char	 version[16];		/* "8.2" */
	const struct sapi *sapi;
	char	 path[300];
};

/* --- PHP ------------------------------------------------------------------ */

/* php_version_ok - is name a PHP version directory ("8.2", "7.4") */
static int
php_version_ok(const char *name)
{
	size_t	 i, dots = 0;

	if (name[0] < '0' || name[0] > '9' || strlen(name) > 8)
		return 0;
	for (i = 0; name[i] != '\0'; i++) {
		if (name[i] == '.')
			dots++;
		else if (name[i] < '0' || name[i] > '9')
			return 0;
	}
	return dots == 1 && name[i - 1] != '.';
}

/* dropin_cmp - qsort by path */
static int
dropin_cmp(const void *a, const void *b)
{
	return strcmp(((const struct dropin *)a)->path,
	    ((const struct dropin *)b)->path);
}

/*
 * php_dropins - the drop-in of every installed version's cli and fpm
 * (those whose conf.d directory exists), sorted; *n of them.  0, or -1
 * when SETUP_PHP_DIR cannot be read (no PHP at all is 0 with *n = 0).
 */
static int
php_dropins(struct dropin *v, size_t max, size_t *n)
{
	DIR	*d;
	struct dirent *e;
	struct stat st;
	char	 dir[240];
	size_t	 k;

	*n = 0;
	if ((d = opendir(SETUP_PHP_DIR)) == NULL) {
		if (errno == ENOENT)
			return 0;
		ctl_err("%s: %s", SETUP_PHP_DIR, strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		if (!php_version_ok(e->d_name))
			continue;
		for (k = 0; sapis[k].name != NULL; k++) {
			snprintf(dir, sizeof(dir), "%s/%s/%s/conf.d",
			    SETUP_PHP_DIR, e->d_name, sapis[k].name);
			if (stat(dir, &st) == -1 || !S_ISDIR(st.st_mode))
				continue;
			if (*n == max) {
				closedir(d);
				ctl_err("%s: more than %zu PHP configurations",
				    SETUP_PHP_DIR, max);
				return -1;
			}
			snprintf(v[*n].version, sizeof(v[*n].version), "%s",
			    e->d_name);
			v[*n].sapi = &sapis[k];
			snprintf(v[*n].path, sizeof(v[*n].path), "%s/%s", dir,
			    SETUP_PHP_FILE);
			(*n)++;
		}
	}
	closedir(d);
	qsort(v, *n, sizeof(*v), dropin_cmp);
	return 0;
}

/* sendmail_ok - can path go into a php.ini value as it is: absolute,
 * and only characters that need no quoting or escaping */
static int
sendmail_ok(const char *path)
{
	const char *p;

	if (path[0] != '/' || strlen(path) > 200)
		return 0;
	for (p = path; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("/._+-", *p) != NULL))
			return 0;
	return 1;
}

/* dropin_text - what the drop-in holds (malloc'd) */
static char *
dropin_text(const char *sendmail)
{
	return ctl_xasprintf("%s\n"
	    "; PHP's mail() hands each message to mailgov-sendmail, which\n"
	    "; submits it to mailgov's queue instance (see mailgov(7)).\n"
	    "sendmail_path = \"%s -t -i\"\n", SETUP_PHP_MARK, sendmail);
}

/* read_small - a whole small file, NUL-terminated, or NULL (errno) */
static char *
read_small(const char *path)
{
	char	*buf;
	ssize_t	 r;
	size_t	 len = 0;
	int	 fd;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return NULL;
	buf = ctl_xreallocarray(NULL, 1, 65537);
	while (len < 65536 && (r = read(fd, buf + len, 65536 - len)) != 0) {
		if (r == -1) {
			if (errno == EINTR)
				continue;
			free(buf);
			close(fd);
			return NULL;
		}
		len += (size_t)r;
	}
	close(fd);
	buf[len] = '\0';
	return buf;
}

/* is_ours - does text start with the marker line */
static int
is_ours(const char *text)
{
	size_t	 n = strlen(SETUP_PHP_MARK);

	return strncmp(text, SETUP_PHP_MARK, n) == 0 &&
	    (text[n] == '\n' || text[n] == '\0');
}

/* write_atomic - path becomes text (0644), through a temporary file in
 * the same directory and a rename */
static int
write_atomic(const char *path, const char *text)
{
	char	 tmp[300];
	size_t	 len = strlen(text), off = 0;
	ssize_t	 w;
	int	 fd;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	(void)unlink(tmp);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0644)) == -1) {
		ctl_err("%s: %s", tmp, strerror(errno));
		return -1;
	}
	while (off < len) {
		if ((w = write(fd, text + off, len - off)) == -1) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		off += (size_t)w;
	}
	if (fchmod(fd, 0644) == -1 || fsync(fd) == -1)
		goto fail;
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	if (rename(tmp, path) == -1) {
		fd = -1;
		goto fail;
	}
	return 0;
fail:
	ctl_err("%s: %s", tmp, strerror(errno));
	if (fd != -1)
		close(fd);
	(void)unlink(tmp);
	return -1;
}

/*
 * later_sendmail - a conf.d file read after ours that sets sendmail_path
 * too (PHP reads conf.d in name order, so the last one wins): its name
 * into out, 1; else 0
 */
static int
later_sendmail(const char *dropin, char *out, size_t len)
{
	char	 dir[256], path[600], *text, *p;
	DIR	*d;
	struct dirent *e;
	size_t	 n;
	int	 found = 0;

	snprintf(dir, sizeof(dir), "%s", dropin);
	if ((p = strrchr(dir, '/')) == NULL)
		return 0;
	*p = '\0';
	if ((d = opendir(dir)) == NULL)
		return 0;
	while (!found && (e = readdir(d)) != NULL) {
		n = strlen(e->d_name);
		if (strcmp(e->d_name, SETUP_PHP_FILE) <= 0 || n < 5 ||
		    strcmp(e->d_name + n - 4, ".ini") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if ((text = read_small(path)) == NULL)
			continue;
		for (p = text; !found && p != NULL; p = strchr(p, '\n')) {
			p += *p == '\n';
			p += strspn(p, " \t");
			if (strncmp(p, "sendmail_path", 13) == 0) {
				snprintf(out, len, "%s", path);
				found = 1;
			}
		}
		free(text);
	}
	closedir(d);
	return found;
}

/*
 * pool_overrides - warn for each FPM pool of the drop-in's version that
 * sets sendmail_path itself (php_value[] or php_admin_value[]): a pool's
 * value wins over every ini file, so that pool's mail() never reaches
 * mailgov-sendmail.  Left to the admin: a pool file is the admin's
 * (or the panel's) to change, never setup's.
 */
static void
pool_overrides(const char *dropin, const char *sendmail)
{
	char	 dir[256], path[600], *text, *p, *nl, *q;
	DIR	*d;
	struct dirent *e;
	size_t	 n, line;

	/* .../VERSION/fpm/conf.d/FILE -> .../VERSION/fpm/pool.d */
	snprintf(dir, sizeof(dir), "%s", dropin);
	if ((p = strrchr(dir, '/')) == NULL)
		return;
	*p = '\0';
	if ((p = strrchr(dir, '/')) == NULL || strcmp(p, "/conf.d") != 0)
		return;
	snprintf(p, sizeof(dir) - (size_t)(p - dir), "/pool.d");
	if ((d = opendir(dir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		n = strlen(e->d_name);
		if (n < 6 || strcmp(e->d_name + n - 5, ".conf") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if ((text = read_small(path)) == NULL)
			continue;
		for (p = text, line = 1; *p != '\0'; p = nl + 1, line++) {
			if ((nl = strchr(p, '\n')) == NULL)
				nl = p + strlen(p);
			p += strspn(p, " \t");
			if (strncmp(p, "php_value[sendmail_path]", 24) != 0 &&
			    strncmp(p, "php_admin_value[sendmail_path]", 30) != 0)
				goto next;
			/* the pool that names mailgov-sendmail is fine */
			q = strchr(p, '=');
			if (q != NULL && q < nl) {
				q += 1 + strspn(q + 1, " \t\"");
				if (strncmp(q, sendmail, strlen(sendmail)) == 0)
					goto next;
			}
			fprintf(stderr, "mailgovctl: warning: %s line %zu sets "
			    "sendmail_path for its pool, which overrides %s: "
			    "that pool's mail() does not go through %s (set it "
			    "to \"%s -t -i\" or remove it)\n", path, line,
			    SETUP_PHP_FILE, sendmail, sendmail);
		next:
			if (*nl == '\0')
				break;
		}
		free(text);
	}
	closedir(d);
}

/*
 * php_step - write (or, dry, print) each drop-in that differs.  Returns 0,
 * or -1 when a drop-in could not be written or is not mailgov's (the
 * others are still done).
 */
static int
php_step(struct ctl *ctl, const struct dropin *v, size_t n,
    const char *sendmail, int dry)
{
	char	*want, *have, later[600];
	const char *p, *nl;
	size_t	 i;
	int	 rc = 0;

	if (n == 0) {
		printf("php: no PHP cli or fpm configuration under %s; "
		    "nothing to do\n", SETUP_PHP_DIR);
		return 0;
	}
	want = dropin_text(sendmail);
	for (i = 0; i < n; i++) {
		have = read_small(v[i].path);
		if (have == NULL && errno != ENOENT) {
			ctl_err("%s: %s", v[i].path, strerror(errno));
			rc = -1;
			continue;
		}
		if (have != NULL && !is_ours(have)) {
			ctl_err("%s exists and is not mailgov's (its first line "
			    "is not mailgovctl setup's); left as it is",
			    v[i].path);
			rc = -1;
			free(have);
			continue;
		}
		if (have != NULL && strcmp(have, want) == 0) {
			printf("php: %s unchanged\n", v[i].path);
		} else if (dry) {
			printf("php: would %s %s:\n", have != NULL ?
			    "rewrite" : "write", v[i].path);
			for (p = want; *p != '\0'; p = nl + 1) {
				nl = strchr(p, '\n');
				printf("    %.*s\n", (int)(nl - p), p);
			}
			ctl->changed++;
		} else if (write_atomic(v[i].path, want) == -1) {
			rc = -1;
		} else {
			printf("php: %s %s (sendmail_path = %s -t -i)\n",
			    have != NULL ? "rewrote" : "wrote", v[i].path,
			    sendmail);
			ctl->changed++;
		}
		if (later_sendmail(v[i].path, later, sizeof(later)))
			fprintf(stderr, "mailgovctl: warning: %s sets "
			    "sendmail_path too, and PHP reads it after %s\n",
			    later, SETUP_PHP_FILE);
		if (strcmp(v[i].sapi->name, "fpm") == 0)
			pool_overrides(v[i].path, sendmail);
		free(have);
	}
	free(want);
	return rc;
}

/* php_undo - remove each drop-in that is still mailgov's */
static int
php_undo(struct ctl *ctl, const struct dropin *v, size_t n)
{
	char	*have;
	size_t	 i, gone = 0;
	int	 rc = 0;

	for (i = 0; i < n; i++) {
		if ((have = read_small(v[i].path)) == NULL) {
			if (errno != ENOENT) {
				ctl_err("%s: %s", v[i].path, strerror(errno));
				rc = -1;
			}
			continue;
		}
		if (!is_ours(have))
			printf("php: %s is not mailgov's (its first line was "
			    "changed); left as it is\n", v[i].path);
		else if (unlink(v[i].path) == -1) {
			ctl_err("%s: %s", v[i].path, strerror(errno));
			rc = -1;
		} else {
			printf("php: removed %s\n", v[i].path);
			ctl->changed++;
			gone++;
		}
		free(have);
	}
	if (gone == 0 && rc == 0)
		printf("php: no drop-in of mailgov's; nothing to remove\n");
	return rc;
}

/*
 * php_reads - the sendmail_path that the PHP binary of d reads, asked
 * with "-i" (phpinfo as text, which php and php-fpm both print) through
 * spawn.h: malloc'd, or NULL when the binary is not there or says
 * nothing of it
 */
static char *
php_reads(const struct dropin *d)
{
	char	 bin[64], *argv[3], *out = NULL, *p, *nl, *v = NULL;
	struct spawn s;

	snprintf(bin, sizeof(bin), "%.32s%.15s", d->sapi->bin, d->version);
	if (access(bin, X_OK) == -1)
		return NULL;
	argv[0] = bin;
	argv[1] = "-i";
	argv[2] = NULL;
	memset(&s, 0, sizeof(s));
	s.path = bin;
	s.argv = argv;
	s.out = SPAWN_CAPTURE;
	s.err = SPAWN_NULL;
	s.cap_max = SETUP_OUT_MAX;
	s.time_ms = SETUP_RUN_MS;
	if (spawn_run(&s, &out) != 0) {
		free(out);
		return NULL;
	}
	/* "sendmail_path => LOCAL => MASTER" */
	for (p = out; p != NULL && *p != '\0'; p = nl != NULL ? nl + 1 : NULL) {
		nl = strchr(p, '\n');
		if (nl != NULL)
			*nl = '\0';
		if (strncmp(p, "sendmail_path => ", 17) == 0) {
			p += 17;
			p[strcspn(p, "=")] = '\0';
			while (*p != '\0' && p[strlen(p) - 1] == ' ')
				p[strlen(p) - 1] = '\0';
			v = ctl_xstrdup(p);
			break;
		}
	}
	free(out);
	return v;
}

/* --- the other steps ------------------------------------------------------ */

/* sub - run one mailgovctl command in this process, with its own argv */
static int
sub(struct ctl *ctl, int (*fn)(struct ctl *, int, char **), const char *a0,
    const char *a1, const char *a2, const char *a3)
{
	char	*argv[5] = { (char *)a0, (char *)a1, (char *)a2, (char *)a3,
	    NULL };
	int	 argc = 0, rc;

	while (argc < 4 && argv[argc] != NULL)
		argc++;
	rc = fn(ctl, argc, argv);
	fflush(stdout);
	return rc;
}

/* under_systemd - is systemd the init here */
static int
under_systemd(void)
{
	struct stat st;

	return lstat("/run/systemd/system", &st) == 0 && S_ISDIR(st.st_mode) &&
	    access(SETUP_SYSTEMCTL, X_OK) == 0;
}

/* restart_step - a running mailgovd restarted under systemd, so that its
 * sandbox sees the queue instance's new spool */
static int
restart_step(int dry)
{
	char	*argv[] = { SETUP_SYSTEMCTL, "try-restart", SETUP_UNIT, NULL };
	struct spawn s;
	int	 st;

	if (!under_systemd()) {
		printf("mailgovd: if it is running, restart it, so that it "
		    "may write the queue instance's new spool\n");
		return 0;
	}
	if (dry) {
		printf("mailgovd: would run %s try-restart %s\n",
		    SETUP_SYSTEMCTL, SETUP_UNIT);
		return 0;
	}
	memset(&s, 0, sizeof(s));
	s.path = argv[0];
	s.argv = argv;
	s.out = SPAWN_INHERIT;
	s.err = SPAWN_INHERIT;
	s.time_ms = SETUP_RUN_MS;
	if ((st = spawn_run(&s, NULL)) != 0) {
		ctl_err("systemctl try-restart %s failed (%s %d)", SETUP_UNIT,
		    st < 0 ? "error" : "exit", st);
		return -1;
	}
	printf("mailgovd: restarted if it was running (%s)\n", SETUP_UNIT);
	return 0;
}

/*
 * setup_status - the state setup leaves: what each PHP reads (status does
 * not look at PHP), then "mailgovctl status", whose problems it prints
 * itself; its exit status is not setup's
 */
static void
setup_status(struct ctl *ctl, const struct dropin *v, size_t n,
    const char *sendmail)
{
	const char *what;
	char	*reads, *have, want[300];
	size_t	 i;

	printf("== state\n");
	snprintf(want, sizeof(want), "%s -t -i", sendmail);
	for (i = 0; i < n; i++) {
		if ((reads = php_reads(&v[i])) == NULL) {
			have = read_small(v[i].path);
			what = have == NULL ? "no drop-in" : is_ours(have) ?
			    "mailgov's drop-in in place (no binary to ask)" :
			    "a drop-in that is not mailgov's";
			printf("php %s %s: %s\n", v[i].version, v[i].sapi->name,
			    what);
			free(have);
			continue;
		}
		printf("php %s %s: sendmail_path = %s%s\n", v[i].version,
		    v[i].sapi->name, reads, strcmp(reads, want) == 0 ?
		    " (mailgov)" : " (not mailgov's)");
		free(reads);
	}
	fflush(stdout);
	(void)sub(ctl, ctl_status, "status", NULL, NULL, NULL);
}

/* --- the command ---------------------------------------------------------- */

/* do_setup - the steps in order; the first that fails stops the run */
static int
do_setup(struct ctl *ctl, const char *backend, const char *sendmail,
    int dry)
{
	struct dropin v[SETUP_MAX_PHP];
	const char *be;
	char	 why[512];
	size_t	 n;
	int	 pchanged, php_rc, st;

	if (access(sendmail, X_OK) == -1)
		return ctl_err("%s: %s (install mailgov first, or give "
		    "--sendmail PATH)", sendmail, strerror(errno));
	if (php_dropins(v, SETUP_MAX_PHP, &n) == -1)
		return CTL_ERR;
	if (dry)
		printf("setup --dry-run: what setup would change; nothing is "
		    "changed\n");

	printf("== 1/4 postfix: mailgovctl postfix setup%s\n", dry ?
	    " --dry-run" : "");
	fflush(stdout);
	pchanged = ctl->changed;
	if (sub(ctl, ctl_postfix, "postfix", "setup", dry ? "--dry-run" :
	    NULL, NULL) != CTL_OK)
		return ctl_err("setup stopped at postfix setup: nothing else "
		    "was changed; run mailgovctl setup again once fixed");
	pchanged = ctl->changed - pchanged;

	be = ctl_rules_loaded();
	if (be != NULL && (backend == NULL || strcmp(be, backend) == 0) &&
	    (st = ctl_rules_state(ctl, why, sizeof(why))) != CTL_RULES_DIFFER) {
		if (st == CTL_RULES_OK)
			printf("== 2/4 rules: loaded already (%s); unchanged\n",
			    why);
		else
			printf("== 2/4 rules: loaded already (%s), left as they "
			    "are: %s\n", be, why);
	} else {
		if (be != NULL && backend == NULL) {
			printf("== 2/4 rules: %s\n", why);
			backend = be;
		}
		if (backend == NULL)
			backend = "iptables";
		printf("== 2/4 rules: mailgovctl rules %s --backend %s%s\n",
		    dry ? "show" : "install", backend, dry ?
		    " (what install would load)" : "");
		fflush(stdout);
		if (sub(ctl, ctl_rules, "rules", dry ? "show" : "install",
		    "--backend", backend) != CTL_OK)
			return ctl_err("setup stopped at rules install: Postfix "
			    "is set up, PHP is not; run mailgovctl setup again "
			    "once fixed");
		if (dry)
			ctl->changed++;
	}

	printf("== 3/4 php: %s in each cli and fpm conf.d\n", SETUP_PHP_FILE);
	php_rc = php_step(ctl, v, n, sendmail, dry);

	printf("== 4/4 mailgovd\n");
	if (pchanged > 0) {
		if (restart_step(dry) == -1)
			return ctl_err("setup: all but the restart of "
			    "mailgovd done; restart it by hand");
	} else
		printf("mailgovd: Postfix unchanged; no restart needed\n");

	if (dry) {
		if (ctl->changed == 0)
			printf("setup --dry-run: nothing to change\n");
		else
			printf("setup --dry-run: the changes above are what "
			    "setup would make; nothing was changed\n");
		return php_rc == 0 ? CTL_OK : CTL_ERR;
	}
	fflush(stdout);
	setup_status(ctl, v, n, sendmail);
	if (php_rc != 0)
		return ctl_err("setup: done but for the PHP drop-ins named "
		    "above");
	if (ctl->changed == 0)
		printf("setup: already set up; nothing changed\n");
	else
		printf("setup: done\n");
	return CTL_OK;
}

/* do_undo - postfix remove, rules remove, then the drop-ins */
static int
do_undo(struct ctl *ctl, int force)
{
	struct dropin v[SETUP_MAX_PHP];
	size_t	 n;

	if (php_dropins(v, SETUP_MAX_PHP, &n) == -1)
		return CTL_ERR;
	printf("== 1/3 postfix: mailgovctl postfix remove%s\n", force ?
	    " --force" : "");
	fflush(stdout);
	if (sub(ctl, ctl_postfix, "postfix", "remove", force ? "--force" :
	    NULL, NULL) != CTL_OK)
		return ctl_err("setup --undo stopped at postfix remove: the "
		    "rules and the PHP drop-ins are still in place");
	printf("== 2/3 rules: mailgovctl rules remove\n");
	fflush(stdout);
	if (sub(ctl, ctl_rules, "rules", "remove", NULL, NULL) != CTL_OK)
		return ctl_err("setup --undo stopped at rules remove: Postfix "
		    "is undone; the rules and the PHP drop-ins are still in "
		    "place");
	printf("== 3/3 php: %s\n", SETUP_PHP_FILE);
	if (php_undo(ctl, v, n) == -1)
		return ctl_err("setup --undo: done but for the PHP drop-ins "
		    "named above");
	if (ctl->changed == 0)
		printf("setup --undo: nothing was set up; nothing changed\n");
	else
		printf("setup --undo: done\n");
	return CTL_OK;
}

/* ctl_setup - "setup [--dry-run] [--backend B] [--sendmail PATH]",
 * "setup --undo [--force]" */
int
ctl_setup(struct ctl *ctl, int argc, char **argv)
{
	const char *backend = NULL, *sendmail = BINDIR "/mailgov-sendmail", *v;
	char	 clean[256];
	int	 i, r, dry = 0, undo = 0, force = 0, other = 0;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--dry-run") == 0)
			dry = 1;
		else if (strcmp(argv[i], "--undo") == 0)
			undo = 1;
		else if (strcmp(argv[i], "--force") == 0)
			force = 1;
		else if ((r = ctl_opt("setup", argc, argv, &i, "--backend",
		    &v)) != 0) {
			if (r == -1)
				return CTL_USAGE;
			if (strcmp(v, "iptables") != 0 &&
			    strcmp(v, "nftables") != 0)
				return ctl_usage_err("setup", "unknown backend "
				    "'%s' (iptables or nftables)", v);
			backend = v;
			other = 1;
		} else if ((r = ctl_opt("setup", argc, argv, &i, "--sendmail",
		    &v)) != 0) {
			if (r == -1)
				return CTL_USAGE;
			if (!sendmail_ok(v))
				return ctl_usage_err("setup", "--sendmail: '%s' "
				    "is not an absolute path of [A-Za-z0-9/._+-]",
				    ctl_clean(v, clean, sizeof(clean)));
			sendmail = v;
			other = 1;
		} else
			return ctl_usage_err("setup", "unexpected argument "
			    "'%s'", argv[i]);
	}
	if (undo && (dry || other))
		return ctl_usage_err("setup", "--undo takes only --force");
	if (force && !undo)
		return ctl_usage_err("setup", "--force goes with --undo");
	if (!sendmail_ok(sendmail))
		return ctl_err("%s: not a path PHP's sendmail_path can take",
		    sendmail);
	if (geteuid() != 0)
		return ctl_err("setup must run as root");
	ctl->changed = 0;
	return undo ? do_undo(ctl, force) : do_setup(ctl, backend, sendmail,
	    dry);
}
