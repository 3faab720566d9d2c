/*
 * ctl_common - what every mailgovctl command shares: opening the store,
 * the one-line error convention, option values, JSON strings and aligned
 * text tables.
 *
 * Trusts: nothing it prints.  Strings that came from the database or the
 * command line go through ctl_json_str() or ctl_clean() before output.
 */
#define _GNU_SOURCE	/* vasprintf */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "log.h"
#include "utf8.h"

#define CTL_BUSY_MS	2000

/* ctl_open - open the store once with flags */
static struct store *
ctl_open(struct ctl *ctl, int flags)
{
	char	 err[512];

	if (ctl->store != NULL)
		return ctl->store;
	if (ctl->db_path == NULL || *ctl->db_path == '\0') {
		ctl_err("no database path (set db in mailgov.conf or use --db)");
		return NULL;
	}
	err[0] = '\0';
	ctl->store = store_open(ctl->db_path, flags, CTL_BUSY_MS, err,
	    sizeof(err));
	if (ctl->store == NULL) {
		/* the database is root's and the daemon user's alone */
		if (errno == EACCES && geteuid() != 0)
			ctl_err("%s (run as root)", err[0] ? err :
			    "cannot open the database");
		else
			ctl_err("%s", err[0] ? err : "cannot open the database");
	}
	return ctl->store;
}

/* ctl_store - the store, created on first use (write commands) */
struct store *
ctl_store(struct ctl *ctl)
{
	return ctl_open(ctl, STORE_CREATE);
}

/* ctl_store_read - an existing store, read-only: a listing never creates
 * a file and works on a database it may not write */
struct store *
ctl_store_read(struct ctl *ctl)
{
	return ctl_open(ctl, STORE_RDONLY);
}

/* ctl_fail - report the store's error once, undoing an open transaction */
int
ctl_fail(struct ctl *ctl, int in_tx)
{
	/* read the message first: a rollback may overwrite it */
	ctl_err("%s", store_error(ctl->store));
	if (in_tx)
		store_rollback(ctl->store);
	return CTL_ERR;
}

/* ctl_err - the one error line of a failed command */
int
ctl_err(const char *fmt, ...)
{
	va_list	 ap;

	fflush(stdout);
	fputs("mailgovctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return CTL_ERR;
}

/* ctl_cmd_find - look a command up in the table */
const struct ctl_cmd *
ctl_cmd_find(const char *name)
{
	const struct ctl_cmd *c;

	for (c = ctl_cmds; c->name != NULL; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

/* ctl_cmd_usage - each usage line of the command, prefixed */
void
ctl_cmd_usage(FILE *fp, const struct ctl_cmd *c)
{
	const char *p, *nl;
	const char *pfx = "usage: ";

	for (p = c->usage; *p != '\0'; p = nl + (*nl == '\n')) {
		nl = strchr(p, '\n');
		if (nl == NULL)
			nl = p + strlen(p);
		fprintf(fp, "%smailgovctl %.*s\n", pfx, (int)(nl - p), p);
		pfx = "       ";
	}
}

/* ctl_usage_err - a command-line mistake: the reason, then the usage */
int
ctl_usage_err(const char *cmd, const char *fmt, ...)
{
	const struct ctl_cmd *c;
	va_list	 ap;

	fflush(stdout);
	fputs("mailgovctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (cmd != NULL && (c = ctl_cmd_find(cmd)) != NULL)
		ctl_cmd_usage(stderr, c);
	return CTL_USAGE;
}

/* ctl_opt - match one option and fetch its value */
int
ctl_opt(const char *cmd, int argc, char **argv, int *i, const char *name,
    const char **val)
{
	const char *a = argv[*i];
	size_t	 n = strlen(name);

	if (strncmp(a, name, n) != 0)
		return 0;
	if (val == NULL)
		return a[n] == '\0';
	*val = NULL;
	if (a[n] == '=') {
		*val = a + n + 1;
		return 1;
	}
	if (a[n] != '\0')
		return 0;
	if (*i + 1 >= argc) {
		ctl_usage_err(cmd, "%s needs a value", name);
		return -1;
	}
	*val = argv[++*i];
	return 1;
}

/* ctl_json_str - a JSON string literal: control bytes escaped, valid
 * UTF-8 kept, any other byte replaced by U+FFFD so the document stays
 * valid whatever the database holds */
void
ctl_json_str(FILE *fp, const char *s)
{
	const unsigned char *p;
	size_t	 n;

	fputc('"', fp);
	for (p = (const unsigned char *)(s ? s : ""); *p != '\0'; p++) {
		switch (*p) {
		case '"':  fputs("\\\"", fp); break;
		case '\\': fputs("\\\\", fp); break;
		case '\n': fputs("\\n", fp); break;
		case '\r': fputs("\\r", fp); break;
		case '\t': fputs("\\t", fp); break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				fprintf(fp, "\\u%04x", *p);
			else if (*p < 0x80)
				fputc(*p, fp);
			else if ((n = utf8_seq(p, p + 4)) > 0) {
				fwrite(p, 1, n, fp);
				p += n - 1;
			} else
				fputs("\\ufffd", fp);
		}
	}
	fputc('"', fp);
}

/* ctl_time - a readable timestamp for the text tables */
const char *
ctl_time(int64_t t, char *buf, size_t len)
{
	struct tm tm;
	time_t	 tt = (time_t)t;

	if (t <= 0 || localtime_r(&tt, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(buf, len, "%s", t <= 0 ? "never" : "?");
	return buf;
}

/* ctl_clean - printable, bounded copy of an untrusted string */
const char *
ctl_clean(const char *s, char *buf, size_t len)
{
	return log_clean(buf, len, s ? s : "", s ? strlen(s) : 0);
}

/* ctl_oom - nothing sensible is left to do */
static void __attribute__((noreturn))
ctl_oom(void)
{
	ctl_err("out of memory");
	exit(CTL_ERR);
}

void *
ctl_xreallocarray(void *p, size_t n, size_t size)
{
	if (size != 0 && n > SIZE_MAX / size)
		ctl_oom();
	if ((p = realloc(p, n * size != 0 ? n * size : 1)) == NULL)
		ctl_oom();
	return p;
}

char *
ctl_xstrdup(const char *s)
{
	char	*d;

	if ((d = strdup(s)) == NULL)
		ctl_oom();
	return d;
}

char *
ctl_xasprintf(const char *fmt, ...)
{
	va_list	 ap;
	char	*s;
	int	 r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0)
		ctl_oom();
	return s;
}

/* --- tables ------------------------------------------------------------ */

struct ctl_table {
	size_t	 ncols, nrows, cap;
	char	**cells;	/* (nrows + 1) * ncols, row 0 = headers */
};

/* ctl_table_add - append one row from a va_list of ncols strings */
static void
ctl_table_add(struct ctl_table *t, va_list ap)
{
	size_t	 i;

	if (t->nrows + 1 >= t->cap) {
		t->cap = t->cap ? t->cap * 2 : 16;
		t->cells = ctl_xreallocarray(t->cells, t->cap * t->ncols,
		    sizeof(char *));
	}
	for (i = 0; i < t->ncols; i++) {
		const char *s = va_arg(ap, const char *);
		t->cells[t->nrows * t->ncols + i] = ctl_xstrdup(s ? s : "-");
	}
	t->nrows++;
}

struct ctl_table *
ctl_table_new(size_t ncols, ...)
{
	struct ctl_table *t;
	va_list	 ap;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		ctl_oom();
	t->ncols = ncols;
	va_start(ap, ncols);
	ctl_table_add(t, ap);
	va_end(ap);
	return t;
}

void
ctl_table_row(struct ctl_table *t, ...)
{
	va_list	 ap;

	va_start(ap, t);
	ctl_table_add(t, ap);
	va_end(ap);
}

/* ctl_table_print - two spaces between columns, no trailing blanks */
void
ctl_table_print(struct ctl_table *t, FILE *fp)
{
	size_t	*w, r, c, n;

	w = calloc(t->ncols, sizeof(*w));
	if (w == NULL)
		ctl_oom();
	for (r = 0; r < t->nrows; r++)
		for (c = 0; c < t->ncols; c++) {
			n = strlen(t->cells[r * t->ncols + c]);
			if (n > w[c])
				w[c] = n;
		}
	for (r = 0; r < t->nrows; r++) {
		for (c = 0; c < t->ncols; c++) {
			const char *s = t->cells[r * t->ncols + c];
			if (c + 1 == t->ncols)
				fprintf(fp, "%s\n", s);
			else
				fprintf(fp, "%-*s  ", (int)w[c], s);
		}
	}
	free(w);
	ctl_table_free(t);
}

/* ctl_table_free - drop a table unprinted */
void
ctl_table_free(struct ctl_table *t)
{
	size_t	 i;

	for (i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t);
}
