/*
 * ctl_top - "mailgovctl top": who is sending, and how fast, refreshed
 * every second from mailgovd's control socket ("top", ctlsock.h).  One
 * row per account active in the last hour or holding mail: messages per
 * minute now, a sparkline of the hour, the budget left, what is on hold,
 * and the releases, refusals and redirects of the hour.
 *
 * On a terminal it is a full-screen view drawn with plain ANSI (ECMA-48)
 * sequences, not ncurses: one table redrawn once a second needs cursor
 * homing, clear-to-end-of-line and the alternate screen, which every
 * terminal and tmux has; mailgovctl stays free of a terminfo dependency,
 * and the plain output shares every line with the full-screen one.  The
 * terminal is put back (cooked mode, cursor, main screen) on 'q', on
 * SIGINT, SIGTERM and SIGHUP, and on any error.  Not on a terminal, or
 * with -n, it prints plain frames, one table each.
 *
 * Trusts: nothing mailgovd sends: each row is parsed field by field with
 * bounds, numbers strictly, and the account name and script are cleaned
 * before they reach the terminal, so that no escape sequence can.
 */
#include <sys/ioctl.h>

#include <errno.h>
#include <inttypes.h>
#include <langinfo.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "num.h"

#define TOP_MINUTES	60
#define TOP_ROWS_MAX	1000	/* the daemon's bound too */
#define TOP_HEAD	3	/* lines above the rows */
#define TOP_NAME	12	/* the account column on a terminal */
#define TOP_SCRIPT_MIN	6
#define TOP_BUSY_MS	100	/* a frame waits no longer for SQLite */

struct row {
	char		 account[64];
	uint64_t	 rate, left, held, messages, released, refused;
	uint64_t	 redirected;
	int		 blocked;
	int		 unlimited;	/* left: no budget */
	char		 script[128];
	uint16_t	 minute[TOP_MINUTES];	/* newest first */
};

struct frame {
	uint64_t	 accounts, untracked;
	struct row	*row;
	size_t		 n;
};

static volatile sig_atomic_t stop_sig, winch;
static struct termios saved_tio;
static int	tty_on;

static const char *const key_names = "mhlrdba";
static const char *const key_desc[] = { "msg/min", "held", "released",
    "refused", "redirected", "budget left", "name" };

/* on_stop, on_winch - signal handlers do no work: the loop looks */
static void
on_stop(int sig)
{
	stop_sig = sig;
}

static void
on_winch(int sig)
{
	(void)sig;
	winch = 1;
}

/* field_u64 - a number field of a row line; -1 when absent or bad */
static int
field_u64(const char *line, const char *key, uint64_t *v)
{
	char	 buf[32];
	const char *e;

	if (ctl_kv_field(line, key, buf, sizeof(buf)) == NULL)
		return -1;
	return num_u64(buf, 0, UINT64_MAX, 0, v, &e);
}

/* parse_row - one "row ..." line; -1 when malformed */
static int
parse_row(const char *line, struct row *r)
{
	char	 buf[TOP_MINUTES * 8], *p, *end;
	unsigned long v;
	uint64_t b;
	size_t	 i;

	memset(r, 0, sizeof(*r));
	if (ctl_kv_field(line, "account", r->account, sizeof(r->account)) ==
	    NULL || field_u64(line, "rate", &r->rate) == -1 ||
	    field_u64(line, "held", &r->held) == -1 ||
	    field_u64(line, "messages", &r->messages) == -1 ||
	    field_u64(line, "released", &r->released) == -1 ||
	    field_u64(line, "refused", &r->refused) == -1 ||
	    field_u64(line, "redirected", &r->redirected) == -1 ||
	    field_u64(line, "blocked", &b) == -1 ||
	    (p = strstr(line, " script=")) == NULL ||
	    ctl_kv_field(line, "left", buf, sizeof(buf)) == NULL)
		return -1;
	/* the last field, the rest of the line: it may hold spaces */
	snprintf(r->script, sizeof(r->script), "%s", p + 8);
	r->blocked = b != 0;
	if (strcmp(buf, "unlimited") == 0)
		r->unlimited = 1;
	else if (field_u64(line, "left", &r->left) == -1)
		return -1;
	if (ctl_kv_field(line, "spark", buf, sizeof(buf)) == NULL)
		return -1;
	for (i = 0, p = buf; i < TOP_MINUTES && *p != '\0'; i++) {
		errno = 0;
		v = strtoul(p, &end, 10);
		if (end == p || errno != 0 || v > UINT16_MAX ||
		    (*end != ',' && *end != '\0'))
			return -1;
		r->minute[i] = (uint16_t)v;
		p = *end == ',' ? end + 1 : end;
	}
	return 0;
}

/* fetch - one frame: the daemon's answer to "top LIMIT KEY" */
static int
fetch(int fd, size_t limit, char key, struct frame *f, char *why,
    size_t len)
{
	char	 cmd[64], v[32], *ans, *line, *save = NULL;
	const char *e;

	f->n = 0;
	snprintf(cmd, sizeof(cmd), "top %zu %c", limit, key);
	if ((ans = ctl_daemon_ask(fd, cmd, why, len)) == NULL)
		return -1;
	if (ctl_kv(ans, "accounts", v, sizeof(v)) == NULL ||
	    num_u64(v, 0, UINT64_MAX, 0, &f->accounts, &e) == -1) {
		snprintf(why, len, "mailgovd's answer to top is not one this "
		    "mailgovctl reads (an older mailgovd?)");
		free(ans);
		return -1;
	}
	if (ctl_kv(ans, "untracked", v, sizeof(v)) == NULL ||
	    num_u64(v, 0, UINT64_MAX, 0, &f->untracked, &e) == -1)
		f->untracked = 0;
	for (line = strtok_r(ans, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "row ", 4) != 0 || f->n == limit)
			continue;
		if (parse_row(line, &f->row[f->n]) == 0)
			f->n++;
	}
	free(ans);
	return 0;
}

/* scriptpick - scripts()'s search: the first script seen since since */
struct scriptpick {
	char		*out;
	size_t		 len;
	int64_t		 since;
};

static int
pick_script(const char *script, uint64_t messages, int64_t last, void *arg)
{
	struct scriptpick *p = arg;

	(void)messages;
	if (last < p->since)
		return 0;
	snprintf(p->out, p->len, "%s", script);
	return 1;
}

/*
 * scripts - the SCRIPT column, from the database: of the account's
 * scripts seen in the last hour, the one with the most messages counted
 * (usage --scripts has them all).  mailgovd keeps no script per account
 * in memory, so its rows say "-"; without a readable database they stay
 * so.  The names are the web user's claims, cleaned when stored and
 * again when drawn.
 */
static void
scripts(struct store *st, struct frame *f)
{
	struct store_account a;
	struct scriptpick p;
	size_t	 i;

	if (st == NULL)
		return;
	p.since = (int64_t)time(NULL) - 3600;
	for (i = 0; i < f->n; i++) {
		if (strcmp(f->row[i].script, "-") != 0 ||
		    store_account_get(st, f->row[i].account, &a) == -1)
			continue;
		p.out = f->row[i].script;
		p.len = sizeof(f->row[i].script);
		(void)store_script_each(st, a.id, 0, pick_script, &p);
	}
}

/* spark - the row's hour in width cells, oldest on the left; each cell
 * sums 60/width minutes and is scaled to the row's own busiest cell */
static void
spark(const struct row *r, size_t width, int utf8, char *out, size_t len)
{
	static const char *const blocks[] = { " ", "\u2581", "\u2582",
	    "\u2583", "\u2584", "\u2585", "\u2586", "\u2587", "\u2588" };
	static const char ascii[] = " .:-=+*#%";
	uint64_t cell[TOP_MINUTES], max = 0;
	size_t	 per = TOP_MINUTES / width, i, j, o = 0;
	unsigned lvl;

	for (i = 0; i < width; i++) {
		cell[i] = 0;
		/* cell i holds minutes (width-1-i)*per .. +per-1 ago */
		for (j = 0; j < per; j++)
			cell[i] += r->minute[(width - 1 - i) * per + j];
		if (cell[i] > max)
			max = cell[i];
	}
	for (i = 0; i < width && o + 4 < len; i++) {
		lvl = max == 0 || cell[i] == 0 ? 0 :
		    (unsigned)(1 + (cell[i] * 7 + max - 1) / max);
		if (lvl > 8)
			lvl = 8;
		if (utf8)
			o += (size_t)snprintf(out + o, len - o, "%s",
			    blocks[lvl]);
		else
			out[o++] = ascii[lvl];
	}
	out[o] = '\0';
}

/* num - a count in at most 5 columns: 12345, 123k, 12M */
static const char *
num(uint64_t v, char *buf, size_t len)
{
	if (v < 100000)
		snprintf(buf, len, "%" PRIu64, v);
	else if (v < 100000000)
		snprintf(buf, len, "%" PRIu64 "k", v / 1000);
	else
		snprintf(buf, len, "%" PRIu64 "M", v / 1000000);
	return buf;
}

/* left_text - the LEFT column */
static const char *
left_text(const struct row *r, char *buf, size_t len)
{
	if (r->blocked)
		return "block";
	if (r->unlimited)
		return "unlim";
	return num(r->left, buf, len);
}

/* spark_width - the widest sparkline of 60, 30, 20, 15, 12, 10 cells
 * that leaves cols - used room for the script column */
static size_t
spark_width(size_t cols, size_t used)
{
	static const size_t w[] = { 60, 30, 20, 15, 12, 10 };
	size_t	 i;

	for (i = 0; i < sizeof(w) / sizeof(w[0]); i++)
		if (used + w[i] + 1 + TOP_SCRIPT_MIN <= cols)
			return w[i];
	return 10;
}

/*
 * draw - one frame as lines of at most cols columns (each cell is one
 * column, a sparkline block too); end is "\033[K\r\n" on a terminal
 * (clear what the last frame left), "\n" otherwise
 */
static void
draw(const struct frame *f, char key, size_t cols, size_t rows, int utf8,
    const char *end)
{
	char	 name[TOP_NAME * 4 + 8], scr[512], sp[TOP_MINUTES * 3 + 1];
	char	 a[16], b[16], c[16], d[16], e[16], g[16], now[16], head[256];
	const struct row *r;
	size_t	 i, sw, used, namew;
	const char *k = strchr(key_names, key);
	time_t	 t = time(NULL);

	strftime(now, sizeof(now), "%H:%M:%S", localtime(&t));
	snprintf(head, sizeof(head), "mailgovctl top  %s  %" PRIu64 " "
	    "account%s active in the last hour or holding mail", now,
	    f->accounts, f->accounts == 1 ? "" : "s");
	if (f->untracked > 0)
		snprintf(head + strlen(head), sizeof(head) - strlen(head),
		    " (%" PRIu64 " more untracked)", f->untracked);
	printf("%.*s%s", (int)cols, head, end);
	/* 79 columns with the longest sort name */
	snprintf(head, sizeof(head), "sort: %-11s keys: m msg/min h held "
	    "l rel r ref d rdr b left a name q quit",
	    k ? key_desc[k - key_names] : "?");
	printf("%.*s%s", (int)cols, head, end);
	/* ACCOUNT MSG/M LAST HOUR LEFT HELD REL REF RDR SCRIPT */
	namew = TOP_NAME;
	used = namew + 1 + 5 + 1 + 6 + 5 * 5;
	sw = spark_width(cols, used);
	snprintf(head, sizeof(head), "%-*s %5s %-*s %5s %5s %5s %5s %5s %s",
	    (int)namew, "ACCOUNT", "MSG/M", (int)sw, "LAST HOUR", "LEFT",
	    "HELD", "REL", "REF", "RDR", "SCRIPT");
	printf("%.*s%s", (int)cols, head, end);
	for (i = 0; i < f->n && i + TOP_HEAD < rows; i++) {
		r = &f->row[i];
		ctl_clean(r->account, name, sizeof(name));
		if (strlen(name) > namew)
			name[namew] = '\0';
		ctl_clean(r->script, scr, sizeof(scr));
		spark(r, sw, utf8, sp, sizeof(sp));
		/* the script column takes what the line has left */
		if (used + sw + 1 < cols && strlen(scr) > cols - used - sw - 1)
			scr[cols - used - sw - 1] = '\0';
		printf("%-*s %5s %s %5s %5s %5s %5s %5s %s%s", (int)namew, name,
		    num(r->rate, a, sizeof(a)), sp,
		    left_text(r, b, sizeof(b)), num(r->held, c, sizeof(c)),
		    num(r->released, d, sizeof(d)),
		    num(r->refused, e, sizeof(e)),
		    num(r->redirected, g, sizeof(g)), scr, end);
	}
}

/* plain - a frame for a pipe or a file: every row, full names */
static void
plain(const struct frame *f, char key)
{
	char	 name[256], scr[512], sp[TOP_MINUTES + 1], b[16], now[32];
	const struct row *r;
	size_t	 i;
	time_t	 t = time(NULL);

	strftime(now, sizeof(now), "%Y-%m-%d %H:%M:%S", localtime(&t));
	printf("# %s, %" PRIu64 " accounts active in the last hour or "
	    "holding mail, %" PRIu64
	    " untracked, sorted by %s\n", now, f->accounts, f->untracked,
	    key_desc[strchr(key_names, key) - key_names]);
	printf("ACCOUNT MSG/M LEFT HELD REL REF RDR SCRIPT LAST-HOUR\n");
	for (i = 0; i < f->n; i++) {
		r = &f->row[i];
		spark(r, TOP_MINUTES, 0, sp, sizeof(sp));
		printf("%s %" PRIu64 " %s %" PRIu64 " %" PRIu64 " %" PRIu64
		    " %" PRIu64 " %s |%s|\n",
		    ctl_clean(r->account, name, sizeof(name)), r->rate,
		    left_text(r, b, sizeof(b)), r->held, r->released,
		    r->refused, r->redirected,
		    ctl_clean(r->script, scr, sizeof(scr)), sp);
	}
}

/* json - a frame as one JSON object */
static void
json(const struct frame *f, char key)
{
	const struct row *r;
	size_t	 i, j;

	printf("{\"accounts\": %" PRIu64 ", \"untracked\": %" PRIu64
	    ", \"sort\": \"%c\", \"rows\": [", f->accounts, f->untracked, key);
	for (i = 0; i < f->n; i++) {
		r = &f->row[i];
		printf("%s{\"account\": ", i ? ", " : "");
		ctl_json_str(stdout, r->account);
		printf(", \"rate\": %" PRIu64 ", \"left\": ", r->rate);
		if (r->unlimited)
			printf("null");
		else
			printf("%" PRIu64, r->blocked ? 0 : r->left);
		printf(", \"blocked\": %s, \"held\": %" PRIu64 ", \"messages\": %"
		    PRIu64 ", \"released\": %" PRIu64 ", \"refused\": %"
		    PRIu64 ", \"redirected\": %" PRIu64 ", \"script\": ",
		    r->blocked ? "true" : "false", r->held, r->messages,
		    r->released, r->refused, r->redirected);
		if (strcmp(r->script, "-") == 0)
			printf("null");
		else
			ctl_json_str(stdout, r->script);
		printf(", \"minutes\": [");
		for (j = 0; j < TOP_MINUTES; j++)
			printf("%s%u", j ? ", " : "", r->minute[j]);
		printf("]}");
	}
	printf("]}\n");
}

/* tty_restore - the terminal as it was: cooked, cursor, main screen */
static void
tty_restore(void)
{
	if (!tty_on)
		return;
	tty_on = 0;
	printf("\033[?25h\033[?1049l");
	fflush(stdout);
	(void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tio);
}

/* tty_setup - keys without Enter or echo, the alternate screen */
static int
tty_setup(void)
{
	struct termios t;

	if (tcgetattr(STDIN_FILENO, &saved_tio) == -1)
		return -1;
	t = saved_tio;
	t.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
	t.c_cc[VMIN] = 0;
	t.c_cc[VTIME] = 0;
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &t) == -1)
		return -1;
	tty_on = 1;
	printf("\033[?1049h\033[?25l\033[H\033[2J");
	return 0;
}

/* tty_size - the terminal's columns and lines (80x24 when unknown) */
static void
tty_size(size_t *cols, size_t *rows)
{
	struct winsize ws;

	*cols = 80;
	*rows = 24;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 &&
	    ws.ws_row > 0) {
		*cols = ws.ws_col;
		*rows = ws.ws_row;
	}
	if (*cols > 400)
		*cols = 400;
}

/* signals - stop and resize set flags; no SA_RESTART, so poll wakes */
static void
signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGINT, &sa, NULL);
	(void)sigaction(SIGTERM, &sa, NULL);
	(void)sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = on_winch;
	(void)sigaction(SIGWINCH, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* wait_key - up to ms for a key: the key, 0 for none, -1 on a signal */
static int
wait_key(int ms)
{
	struct pollfd p;
	unsigned char ch;

	p.fd = STDIN_FILENO;
	p.events = POLLIN;
	if (poll(&p, 1, ms) <= 0)
		return stop_sig ? -1 : 0;
	if (read(STDIN_FILENO, &ch, 1) != 1)
		return 0;
	return ch;
}

/* ctl_top - "top [-n COUNT] [-s KEY]" */
int
ctl_top(struct ctl *ctl, int argc, char **argv)
{
	struct frame f;
	struct store *st;
	const char *v, *e;
	char	 why[512], dberr[256], key = 'm';
	uint64_t frames = 0;	/* 0: until q */
	size_t	 cols, rows;
	int	 i, r, fd, tty, utf8, k, rc = CTL_OK;

	for (i = 1; i < argc; i++) {
		if ((r = ctl_opt("top", argc, argv, &i, "-n", &v)) == -1)
			return CTL_USAGE;
		if (r == 1) {
			if (num_u64(v, 1, UINT32_MAX, 0, &frames, &e) == -1)
				return ctl_usage_err("top", "-n %s: %s", v, e);
			continue;
		}
		if ((r = ctl_opt("top", argc, argv, &i, "-s", &v)) == -1)
			return CTL_USAGE;
		if (r == 1) {
			if (strlen(v) != 1 || strchr(key_names, *v) == NULL)
				return ctl_usage_err("top", "-s %s: not a "
				    "sort key (m h l r d b a)", v);
			key = *v;
			continue;
		}
		return ctl_usage_err("top", "unexpected argument '%s'",
		    argv[i]);
	}
	switch (ctl_daemon_connect(ctl, &fd, why, sizeof(why))) {
	case CTL_DAEMON_UP:
		break;
	case CTL_DAEMON_DOWN:
		ctl_err("%s", why);
		return CTL_STATUS_DOWN;
	case CTL_DAEMON_DENIED:
		ctl_err("%s", why);
		return CTL_STATUS_DENIED;
	default:
		return ctl_err("%s", why);
	}
	/* -n asks for frames to keep: plain ones, on a terminal too */
	tty = !ctl->json && frames == 0 && isatty(STDOUT_FILENO) &&
	    isatty(STDIN_FILENO);
	if (!tty && frames == 0)
		frames = 1;
	setlocale(LC_CTYPE, "");
	utf8 = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
	f.row = ctl_xreallocarray(NULL, TOP_ROWS_MAX, sizeof(*f.row));
	/* quietly: top works without the database, only the scripts go */
	st = ctl->db_path == NULL ? NULL : store_open(ctl->db_path,
	    STORE_RDONLY, TOP_BUSY_MS, dberr, sizeof(dberr));
	signals();
	if (tty && tty_setup() == -1)
		tty = 0;
	for (;;) {
		if (tty) {
			tty_size(&cols, &rows);
			winch = 0;
		} else
			cols = rows = TOP_ROWS_MAX + TOP_HEAD;
		if (fetch(fd, rows > TOP_HEAD ? rows - TOP_HEAD : 1, key, &f,
		    why, sizeof(why)) == -1) {
			tty_restore();
			rc = ctl_err("%s", why);
			break;
		}
		scripts(st, &f);
		if (tty) {
			printf("\033[H");
			draw(&f, key, cols, rows, utf8, "\033[K\r\n");
			printf("\033[J");
		} else if (ctl->json)
			json(&f, key);
		else
			plain(&f, key);
		fflush(stdout);
		if (ferror(stdout) || (frames > 0 && --frames == 0))
			break;
		if (!tty) {
			for (k = 0; k < 10 && !stop_sig; k++)
				(void)poll(NULL, 0, 100);
			if (stop_sig)
				break;
			if (!ctl->json)
				printf("\n");
			continue;
		}
		/* a key redraws at once; a second passes otherwise */
		k = wait_key(1000);
		if (k == -1 || k == 'q' || k == 'Q')
			break;
		if (k > 0 && strchr(key_names, k) != NULL)
			key = (char)k;
	}
	tty_restore();
	close(fd);
	free(f.row);
	if (st != NULL)
		store_close(st);
	if (stop_sig != 0 && rc == CTL_OK)
		rc = 128 + stop_sig;
	return rc;
}
