/*
 * ctl_rules - "mailgovctl rules show|install|remove [--backend
 * iptables|nftables]" and "rules refresh": print, load, take out or
 * reload the netfilter rules that send web users' SMTP through mailgovd
 * and the queue instance.
 *
 * iptables: a chain MAILGOV in mangle, nat and filter (IPv4 and IPv6),
 * each reached from OUTPUT by one jump commented "mailgov", loaded with
 * iptables-restore --noflush so that each family's chains are flushed and
 * refilled in one transaction.  nftables: the table inet mailgov, loaded
 * with nft -f (delete and define in one transaction); when the kernel has
 * no nft queue expression the queue step is an xt NFQUEUE rule in
 * iptables' mangle MAILGOV chain instead.  Removing deletes exactly those
 * jumps, chains and the table; every other rule stays as it was.
 *
 * iptables-nft creates a table, and a built-in chain in it, the first time
 * a rule needs them, and never deletes them.  So that remove leaves the
 * ruleset as install found it, the jump's comment records what install
 * created (see jump_comment[]); it stays in the kernel with the rules, per
 * network namespace, and a reinstall keeps the jump and so the record.
 *
 * Besides the configuration, the rules are rendered from the accounts'
 * own caps, the web groups' members, the UIDs no web group makes web users
 * and the ports on which Postfix takes mail (ctl_postfix_listeners), all
 * read again at each show, install and refresh.
 *
 * Trusts: the tools found in PATH (or /usr/sbin, /sbin) and their output,
 * which is only searched for mailgov's own lines.  Tool messages are
 * passed on, cleaned, in the error line.
 */
#define _GNU_SOURCE	/* unshare */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <sched.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "rules.h"
#include "spawn.h"

#define TOOL_OUT_MAX	(1 << 20)	/* what we read of a tool's output */
#define RULES_RUN_MS	(300u * 1000)	/* a tool still running after this
					 * is stuck */

enum backend { BE_IPTABLES, BE_NFTABLES, BE_ALL };

static const char *const ipt_tables[] = { "mangle", "nat", "filter", NULL };
static const char *const jump_insert =
    "-I OUTPUT 1 -m comment --comment " RULES_COMMENT " -j " RULES_CHAIN;

/*
 * What the jump from OUTPUT says about what install found.  iptables-save
 * prints these without quotes (letters and '-' only).  Only the
 * nf_tables variant of iptables gets the last two: the legacy one has
 * every table and built-in chain from the start.
 */
enum jump_kind {
	J_PLAIN = 0,	/* OUTPUT was there */
	J_CHAIN,	/* install created OUTPUT; the table was there */
	J_TABLE,	/* install created the table, and OUTPUT in it */
	J_KINDS
};
static const char *const jump_comment[J_KINDS] = {
	RULES_COMMENT,
	RULES_COMMENT "-created-chain",
	RULES_COMMENT "-created-table",
};

static const char *const queue_missing_msg =
    "nft queue expression not available in this kernel; "
    "using an xt NFQUEUE rule for the queue step";

/* What a tool said. */
struct run {
	int	 status;	/* exit status, or -1 when it did not run */
	char	*out;		/* stdout and stderr, NUL-terminated */
};

/* find_tool - the tool's path in PATH, /usr/sbin or /sbin; NULL if none */
static char *
find_tool(const char *name)
{
	const char *path = getenv("PATH"), *p, *e;
	char	*try;

	if (path == NULL || *path == '\0')
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin";
	for (p = path;; p = e + 1) {
		if ((e = strchr(p, ':')) == NULL)
			e = p + strlen(p);
		if (e > p) {
			try = ctl_xasprintf("%.*s/%s", (int)(e - p), p, name);
			if (access(try, X_OK) == 0)
				return try;
			free(try);
		}
		if (*e == '\0')
			break;
	}
	/* root's tools are often outside a user's PATH */
	try = ctl_xasprintf("/usr/sbin/%s", name);
	if (access(try, X_OK) == 0)
		return try;
	free(try);
	try = ctl_xasprintf("/sbin/%s", name);
	if (access(try, X_OK) == 0)
		return try;
	free(try);
	return NULL;
}

/* have_tool - 1 if find_tool finds name, else 0 (frees the path) */
static int
have_tool(const char *name)
{
	char	*path = find_tool(name);
	int	 found = path != NULL;

	free(path);
	return found;
}

/* run - run argv[0] (a path) with input on stdin, collecting its output
 * (stdout and stderr) through spawn.h; returns 0 when it ran (see
 * r->status: -1 when it outlived RULES_RUN_MS and was stopped), -1 when
 * it could not be run (errno) */
static int
run(char *const argv[], const char *input, struct run *r)
{
	struct spawn s;

	memset(&s, 0, sizeof(s));
	s.path = argv[0];
	s.argv = argv;
	s.in = input;
	s.out = SPAWN_CAPTURE;
	s.err = SPAWN_TO_OUT;
	s.cap_max = TOOL_OUT_MAX;
	s.time_ms = RULES_RUN_MS;
	r->status = spawn_run(&s, &r->out);
	if (r->status == SPAWN_FAILED) {
		r->status = -1;
		r->out = ctl_xstrdup("");
		return -1;
	}
	if (r->status == SPAWN_TIMEDOUT) {
		free(r->out);
		r->out = ctl_xasprintf("no answer after %u s; stopped",
		    RULES_RUN_MS / 1000);
		r->status = -1;
	}
	return 0;
}

/* tool_msg - a tool's output as one clean line for an error message */
static const char *
tool_msg(const char *out, char *buf, size_t len)
{
	char	 line[1024];
	size_t	 i, j = 0;

	/* join the lines; drop nft's caret lines ("   ^^^^") */
	for (i = 0; out[i] != '\0' && j < sizeof(line) - 2; i++) {
		if (out[i] == '\n') {
			if (j > 0 && line[j - 1] != ' ')
				line[j++] = ' ';
			continue;
		}
		line[j++] = out[i];
	}
	while (j > 0 && line[j - 1] == ' ')
		j--;
	line[j] = '\0';
	return ctl_clean(line, buf, len);
}

/* tool - run name with args (NULL-ended) and input; a missing tool or a
 * failure is one error line naming it.  Returns the status or -1. */
static int
tool(const char *name, const char *const *args, const char *input,
    struct run *r, int quiet)
{
	char	*path, *argv[16], msg[1024];
	size_t	 i;
	int	 rv;

	r->out = NULL;
	r->status = -1;
	if ((path = find_tool(name)) == NULL) {
		if (!quiet)
			ctl_err("%s not found (is the %s package "
			    "installed?)", name, strncmp(name, "nft", 3) == 0 ?
			    "nftables" : "iptables");
		r->out = ctl_xstrdup("");
		return -1;
	}
	argv[0] = path;
	for (i = 0; args[i] != NULL && i < 14; i++)
		argv[i + 1] = (char *)args[i];
	argv[i + 1] = NULL;
	rv = run(argv, input, r);
	free(path);
	if (rv == -1) {
		if (!quiet)
			ctl_err("cannot run %s: %s", name, strerror(errno));
		return -1;
	}
	if (r->status != 0 && !quiet)
		ctl_err("%s failed (exit %d): %s", name, r->status,
		    tool_msg(r->out, msg, sizeof(msg)));
	return r->status;
}

/* count_lines - how many lines of text are exactly line */
static int
count_lines(const char *text, const char *line)
{
	size_t	 n = strlen(line);
	const char *p;
	int	 count = 0;

	for (p = text; (p = strstr(p, line)) != NULL; p += n)
		if ((p == text || p[-1] == '\n') &&
		    (p[n] == '\n' || p[n] == '\0'))
			count++;
	return count;
}

/* jump_line - the jump of kind as "iptables -S" prints it (malloc'd) */
static char *
jump_line(enum jump_kind k)
{
	return ctl_xasprintf("-A OUTPUT -m comment --comment %s -j "
	    RULES_CHAIN, jump_comment[k]);
}

/* count_jumps - how many jumps of each kind the "-S" listing holds;
 * returns their sum */
static int
count_jumps(const char *listing, int n[J_KINDS])
{
	char	*line;
	int	 k, sum = 0;

	for (k = 0; k < J_KINDS; k++) {
		line = jump_line((enum jump_kind)k);
		n[k] = count_lines(listing, line);
		sum += n[k];
		free(line);
	}
	return sum;
}

/* --- the explicit caps from the store ----------------------------------- */

struct capacct {
	int64_t		id;
	char		name[STORE_NAMELEN];
	uint64_t	limit;
};

struct capwalk {
	const struct config *cfg;
	struct capacct	*a;
	size_t		 n;
	struct rules_caps *caps;
	int		 kind;		/* BK_CONN, or BK_NEW_CONN */
};

/* cap_account - remember accounts with their own `connections` budget
 * (kind BK_CONN), or whose new_connections is unlimited (kind
 * BK_NEW_CONN: syn_rate leaves them alone) */
static int
cap_account(const struct store_account *a, void *arg)
{
	struct capwalk *w = arg;

	/* an unlimited account is listed too: it must skip the default cap */
	if (!a->has[w->kind] || (w->kind == BK_NEW_CONN &&
	    !budget_is_unlimited(&a->budget[BK_NEW_CONN])))
		return 0;
	w->a = ctl_xreallocarray(w->a, w->n + 1, sizeof(*w->a));
	w->a[w->n].id = a->id;
	snprintf(w->a[w->n].name, sizeof(w->a[w->n].name), "%s", a->name);
	w->a[w->n].limit = a->budget[w->kind].w[0].limit;
	w->n++;
	return 0;
}

/* cap_find - the capped account id, or NULL */
static struct capacct *
cap_find(struct capwalk *w, int64_t id)
{
	size_t	 i;

	for (i = 0; i < w->n; i++)
		if (w->a[i].id == id)
			return &w->a[i];
	return NULL;
}

/* cap_uid - one UID range of a capped account */
static int
cap_uid(int64_t id, uint32_t lo, uint32_t hi, void *arg)
{
	struct capwalk *w = arg;
	struct capacct *a;

	if ((a = cap_find(w, id)) == NULL)
		return 0;
	return rules_caps_add_uids(w->caps, w->cfg, a->name, lo, hi,
	    a->limit) == -1 ? -1 : 0;
}

/* cap_gid - one group of a capped account */
static int
cap_gid(int64_t id, uint32_t gid, void *arg)
{
	struct capwalk *w = arg;
	struct capacct *a;

	if ((a = cap_find(w, id)) == NULL)
		return 0;
	return rules_caps_add_gid(w->caps, w->cfg, a->name, gid,
	    a->limit) == -1 ? -1 : 0;
}

/* load_caps - every explicit cap of kind (see cap_account); a database
 * that does not exist yet has none.  Returns 0, or -1 with the error
 * printed. */
static int
load_caps(struct ctl *ctl, struct rules_caps *caps, int kind)
{
	struct capwalk w;
	struct store *s;
	int	 rc = 0;

	memset(caps, 0, sizeof(*caps));
	if (access(ctl->db_path, F_OK) == -1 && errno == ENOENT)
		return 0;
	if ((s = ctl_store_read(ctl)) == NULL)
		return -1;
	memset(&w, 0, sizeof(w));
	w.cfg = &ctl->cfg;
	w.caps = caps;
	w.kind = kind;
	if (store_account_each(s, cap_account, &w) != 0 ||
	    (w.n > 0 && (store_uid_each(s, cap_uid, &w) != 0 ||
	    store_gid_each(s, cap_gid, &w) != 0))) {
		ctl_err("%s", store_error(s)[0] ? store_error(s) :
		    "out of memory");
		rc = -1;
	}
	free(w.a);
	return rc;
}

/* --- what else the rules are rendered from ----------------------------- */

/* What the rules are rendered from besides the configuration. */
struct inputs {
	struct rules_caps caps;		/* the accounts' own caps */
	uint16_t	*closed;	/* where Postfix takes mail */
	size_t		 n_closed;
	char		*closed_text;	/* every closed port, and why */
	uint32_t	 never[3];	/* never web users (rules_opts) */
	size_t		 n_never;
	struct rules_caps norate;	/* syn_rate leaves them alone */
	uint32_t	*uids;		/* the known web users (rules_opts) */
	size_t		 n_uids;
	int		 nft_backend;	/* rendering for the nftables one */
};

/*
 * load_never - root's, mailgov's and Postfix's UIDs, which no web group
 * makes web users (as config.c's never_member has it for mailgovd and
 * the nftables members)
 */
static void
load_never(struct ctl *ctl, struct inputs *in)
{
	const char *names[] = { ctl->cfg.user, "postfix", NULL };
	struct passwd *pw;
	size_t	 i, j;

	in->never[0] = 0;
	in->n_never = 1;
	for (i = 0; names[i] != NULL; i++) {
		if ((pw = getpwnam(names[i])) == NULL)
			continue;
		for (j = 0; j < in->n_never; j++)
			if (in->never[j] == (uint32_t)pw->pw_uid)
				break;
		if (j == in->n_never)
			in->never[in->n_never++] = (uint32_t)pw->pw_uid;
	}
}

/* load_closed - the ports on which Postfix takes mail, read from its
 * configuration now; a configuration that cannot be read was a warning,
 * and the rules still close what is known */
static void
load_closed(struct ctl *ctl, struct inputs *in)
{
	struct ctl_port *v;
	size_t	 n, i;

	(void)ctl_postfix_listeners(&ctl->cfg, &v, &n);
	in->closed = ctl_xreallocarray(NULL, n + 1, sizeof(*in->closed));
	for (i = 0; i < n; i++)
		in->closed[i] = v[i].port;
	in->n_closed = n;
	in->closed_text = ctl_closed_text(&ctl->cfg, v, n);
	free(v);
}

/* uid_cmp - qsort's order of UIDs */
static int
uid_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * load_uids - every web user the passwd and group databases know, for
 * iptables' per-UID rules (rules_opts.uids): the users in web_uids and
 * the web groups' members, but never root, mailgov's user or Postfix's
 * (load_never first).  Sorted, once each, at most RULES_UIDS_MAX: beyond
 * that one rule each costs the kernel too much (connlimit keeps 2 kB per
 * rule), and install says so.
 */
static void
load_uids(struct ctl *ctl, struct inputs *in)
{
	struct uid_range *m = NULL;
	struct passwd *pw;
	size_t	 nm = 0, n = 0, size = 0, i, j;
	uint32_t u, *v = NULL;

#define PUSH(x)	do {							\
	if (n == size) {						\
		size = size ? size * 2 : 256;				\
		v = ctl_xreallocarray(v, size, sizeof(*v));		\
	}								\
	v[n++] = (x);							\
} while (0)
	setpwent();
	while ((pw = getpwent()) != NULL)
		if (config_is_web_uid(&ctl->cfg, (uint32_t)pw->pw_uid))
			PUSH((uint32_t)pw->pw_uid);
	endpwent();
	if (config_web_group_members(&ctl->cfg, &m, &nm) == 0)
		for (i = 0; i < nm; i++)
			for (u = m[i].lo; u >= m[i].lo && u <= m[i].hi; u++)
				PUSH(u);
#undef PUSH
	free(m);
	if (n > 0)
		qsort(v, n, sizeof(*v), uid_cmp);
	for (i = j = 0; i < n; i++) {
		if (j > 0 && v[j - 1] == v[i])
			continue;
		for (u = 0; u < in->n_never && in->never[u] != v[i]; u++)
			;
		if (u == in->n_never)
			v[j++] = v[i];
	}
	if (j > RULES_UIDS_MAX) {
		fprintf(stderr, "mailgovctl: %zu web users: iptables gives a "
		    "rate limit and a connection cap of their own to the "
		    "first %d only (UIDs up to %u); the nftables backend has "
		    "no such limit\n", j, RULES_UIDS_MAX,
		    v[RULES_UIDS_MAX - 1]);
		j = RULES_UIDS_MAX;
	}
	in->uids = v;
	in->n_uids = j;
}

/* inputs_free - release what load_caps and load_closed read */
static void
inputs_free(struct inputs *in)
{
	rules_caps_free(&in->caps);
	rules_caps_free(&in->norate);
	free(in->uids);
	free(in->closed);
	free(in->closed_text);
}

/* render - one target's text, or NULL with the error printed.  For nft,
 * the web groups' members as they are now (see rules_opts). */
static char *
render(struct ctl *ctl, enum rules_target t, const struct inputs *in,
    int nft_queue)
{
	struct rules_opts o;
	struct uid_range *members = NULL;
	size_t	 n = 0;
	char	 err[512], *text;

	memset(&o, 0, sizeof(o));
	o.caps = &in->caps;
	o.nft_queue = nft_queue;
	o.closed = in->closed;
	o.n_closed = in->n_closed;
	o.never = in->never;
	o.n_never = in->n_never;
	o.norate = &in->norate;
	/* the nftables backend limits the rate, and caps per UID, in its
	 * own table; iptables' mangle is only its queue step */
	o.syn_rate_off = in->nft_backend && t != RULES_NFT;
	if (t != RULES_NFT && !in->nft_backend) {
		o.uids = in->uids;
		o.n_uids = in->n_uids;
	}
	if (t == RULES_NFT && config_web_group_members(&ctl->cfg, &members,
	    &n) == -1) {
		ctl_err("out of memory listing the web groups' members");
		return NULL;
	}
	o.members = members;
	o.n_members = n;
	if ((text = rules_render_file(&ctl->cfg, t, &o, err,
	    sizeof(err))) == NULL)
		ctl_err("%s", err);
	free(members);
	return text;
}

/* --- iptables ------------------------------------------------------------ */

/* ipt_name - the tool of a family: iptables, ip6tables, *-restore */
static const char *
ipt_name(enum rules_target t, int restore)
{
	if (t == RULES_IPV4)
		return restore ? "iptables-restore" : "iptables";
	return restore ? "ip6tables-restore" : "ip6tables";
}

/* ipt_list - "iptables -t table -S" into r; -1 when it failed */
static int
ipt_list(enum rules_target t, const char *table, struct run *r)
{
	const char *args[] = { "-w", "-t", table, "-S", NULL };

	return tool(ipt_name(t, 0), args, NULL, r, 1) == 0 ? 0 : -1;
}

/* ipt_family - nft's name of the family of iptables target t */
static const char *
ipt_family(enum rules_target t)
{
	return t == RULES_IPV4 ? "ip" : "ip6";
}

/* ipt_is_nft - is this iptables the nf_tables variant (iptables-nft) */
static int
ipt_is_nft(enum rules_target t)
{
	const char *args[] = { "-V", NULL };
	struct run r;
	int	 yes;

	yes = tool(ipt_name(t, 0), args, NULL, &r, 1) == 0 &&
	    strstr(r.out, "nf_tables") != NULL;
	free(r.out);
	return yes;
}

/*
 * nft_absent - does nft say that table (chain NULL), or chain in it, does
 * not exist?  iptables-nft cannot tell: it lists a built-in chain that is
 * not there as if it were.  1: absent; 0: there, or nft cannot tell (no
 * nft, another error), which makes install record nothing.
 */
static int
nft_absent(enum rules_target t, const char *table, const char *chain)
{
	const char *tables[] = { "list", "tables", ipt_family(t), NULL };
	const char *chains[] = { "list", "chain", ipt_family(t), table, chain,
	    NULL };
	char	*want;
	struct run r;
	int	 rc, absent;

	if (chain != NULL) {
		rc = tool("nft", chains, NULL, &r, 1);
		absent = rc > 0 && strstr(r.out, "No such file or directory");
		free(r.out);
		return absent;
	}
	if (tool("nft", tables, NULL, &r, 1) != 0) {
		free(r.out);
		return 0;
	}
	want = ctl_xasprintf("table %s %s", ipt_family(t), table);
	absent = count_lines(r.out, want) == 0;
	free(want);
	free(r.out);
	return absent;
}

/* ipt_created - what loading a jump into table's OUTPUT would create */
static enum jump_kind
ipt_created(enum rules_target t, const char *table)
{
	if (nft_absent(t, table, NULL))
		return J_TABLE;
	if (nft_absent(t, table, "OUTPUT"))
		return J_CHAIN;
	return J_PLAIN;
}

/*
 * uchain_lines - for each chain of the UID tree in an "iptables -S"
 * listing ("-N MAILGOV_U3") that the rendered section does not declare
 * (NULL: no section), the line pre NAME post; malloc'd, "" when there is
 * none
 */
static char *
uchain_lines(const char *listing, const char *section, const char *pre,
    const char *post)
{
	const char *p, *nl;
	char	*out = ctl_xstrdup(""), *decl;
	size_t	 len, n = strlen("-N " RULES_UCHAIN), olen = 0, add;

	for (p = listing; *p != '\0'; p = nl + (*nl == '\n')) {
		if ((nl = strchr(p, '\n')) == NULL)
			nl = p + strlen(p);
		len = (size_t)(nl - p);
		if (len <= n || strncmp(p, "-N " RULES_UCHAIN, n) != 0)
			continue;
		if (section != NULL) {
			decl = ctl_xasprintf(":%.*s - [0:0]", (int)(len - 3),
			    p + 3);
			len = (size_t)count_lines(section, decl);
			free(decl);
			if (len > 0)
				continue;
			len = (size_t)(nl - p);
		}
		add = strlen(pre) + (len - 3) + strlen(post);
		out = ctl_xreallocarray(out, olen + add + 1, 1);
		olen += (size_t)snprintf(out + olen, add + 1, "%s%.*s%s", pre,
		    (int)(len - 3), p + 3, post);
	}
	return out;
}

/*
 * ipt_jumps - the text to load: a table whose OUTPUT already jumps to
 * MAILGOV loses its jump line (installing again keeps the jump, and what
 * its comment recorded); with iptables-nft, another table's jump says what
 * loading it creates.  mangle_only: the text has the mangle table alone.
 */
static char *
ipt_jumps(enum rules_target t, const char *text, int mangle_only)
{
	const char *p, *nl, *table = NULL;
	char	*out, *o, *sec, *decl[3] = { NULL, NULL, NULL };
	char	*del[3] = { NULL, NULL, NULL };
	struct run r;
	int	 have[3] = { 0, 0, 0 }, n[J_KINDS], i, cur = -1, is_nft;
	size_t	 len, more = 0;
	enum jump_kind kind[3] = { J_PLAIN, J_PLAIN, J_PLAIN };

	is_nft = ipt_is_nft(t);
	for (i = 0; ipt_tables[i] != NULL; i++) {
		if (mangle_only && i > 0)
			break;
		if (ipt_list(t, ipt_tables[i], &r) == 0) {
			have[i] = count_jumps(r.out, n) > 0;
			/* UID tree chains a smaller tree no longer has:
			 * flushed, then deleted, in the same transaction */
			sec = rules_section(text, ipt_tables[i]);
			decl[i] = uchain_lines(r.out, sec ? sec : "", ":",
			    " - [0:0]\n");
			del[i] = uchain_lines(r.out, sec ? sec : "", "-X ",
			    "\n");
			more += strlen(decl[i]) + strlen(del[i]);
			free(sec);
		}
		free(r.out);
		if (!have[i] && is_nft)
			kind[i] = ipt_created(t, ipt_tables[i]);
	}
	/* room for the longest comment on every jump line */
	out = o = ctl_xreallocarray(NULL, strlen(text) + 1 + more +
	    (size_t)count_lines(text, jump_insert) *
	    strlen(jump_comment[J_TABLE]), 1);
	for (p = text; *p != '\0'; p = nl + (*nl == '\n')) {
		if ((nl = strchr(p, '\n')) == NULL)
			nl = p + strlen(p);
		len = (size_t)(nl - p);
		if (*p == '*') {
			table = p + 1;
			for (cur = -1, i = 0; ipt_tables[i] != NULL; i++)
				if (len - 1 == strlen(ipt_tables[i]) &&
				    memcmp(table, ipt_tables[i], len - 1) == 0)
					cur = i;
			memcpy(o, p, len + (*nl == '\n'));
			o += len + (*nl == '\n');
			if (cur >= 0 && decl[cur] != NULL)
				o += sprintf(o, "%s", decl[cur]);
			continue;
		}
		if (cur >= 0 && del[cur] != NULL && len == 6 &&
		    memcmp(p, "COMMIT", 6) == 0)
			o += sprintf(o, "%s", del[cur]);
		if (cur >= 0 && len == strlen(jump_insert) &&
		    memcmp(p, jump_insert, len) == 0) {
			if (have[cur])
				continue;
			o += sprintf(o, "-I OUTPUT 1 -m comment --comment %s "
			    "-j " RULES_CHAIN "%s", jump_comment[kind[cur]],
			    *nl == '\n' ? "\n" : "");
			continue;
		}
		memcpy(o, p, len + (*nl == '\n'));
		o += len + (*nl == '\n');
	}
	*o = '\0';
	for (i = 0; i < 3; i++) {
		free(decl[i]);
		free(del[i]);
	}
	return out;
}

/* ipt_load - load rendered restore text for one family */
static int
ipt_load(enum rules_target t, const char *text, int mangle_only)
{
	const char *args[] = { "-w", "--noflush", NULL };
	struct run r;
	char	*in;
	int	 rc;

	in = ipt_jumps(t, text, mangle_only);
	rc = tool(ipt_name(t, 1), args, in, &r, 0);
	free(in);
	free(r.out);
	return rc == 0 ? 0 : -1;
}

/* only_policy_accept - is an "iptables -S CHAIN" listing an empty chain
 * with policy ACCEPT */
static int
only_policy_accept(const char *listing)
{
	const char *p, *nl;

	for (p = listing; *p != '\0'; p = nl + (*nl == '\n')) {
		if ((nl = strchr(p, '\n')) == NULL)
			nl = p + strlen(p);
		if (nl == p)
			continue;
		if (strncmp(p, "-P ", 3) != 0 || (size_t)(nl - p) < 7 ||
		    memcmp(nl - 7, " ACCEPT", 7) != 0)
			return 0;
	}
	return 1;
}

/* nft_table_empty - does "nft list table" show a table holding nothing */
static int
nft_table_empty(const char *listing, const char *family, const char *table)
{
	char	*head;
	const char *p, *nl;
	size_t	 n;
	int	 empty = 1;

	head = ctl_xasprintf("table %s %s {", family, table);
	for (p = listing; *p != '\0' && empty; p = nl + (*nl == '\n')) {
		if ((nl = strchr(p, '\n')) == NULL)
			nl = p + strlen(p);
		n = (size_t)(nl - p);
		/* nft's own notes ("# Warning: table ... is managed by
		 * iptables-nft") and blank lines say nothing about it */
		if (n == 0 || *p == '#' || (n == 1 && *p == '}') ||
		    (n == strlen(head) && memcmp(p, head, n) == 0))
			continue;
		empty = 0;
	}
	free(head);
	return empty;
}

/*
 * ipt_tidy - after mailgov's jump and chain left table: delete what
 * install created there (kind), if it still holds nothing: the built-in
 * OUTPUT chain when it is empty with policy ACCEPT, then for J_TABLE the
 * table when nothing else is in it.  Something the admin put there since
 * stays.  iptables cannot delete either, so nft does.
 */
static void
ipt_tidy(enum rules_target t, const char *table, enum jump_kind kind)
{
	const char *fam = ipt_family(t);
	const char *show[] = { "-w", "-t", table, "-S", "OUTPUT", NULL };
	const char *delc[] = { "delete", "chain", fam, table, "OUTPUT", NULL };
	const char *listt[] = { "list", "table", fam, table, NULL };
	const char *delt[] = { "delete", "table", fam, table, NULL };
	struct run r;
	int	 rc;

	rc = tool(ipt_name(t, 0), show, NULL, &r, 1);
	if (rc == 0 && only_policy_accept(r.out) &&
	    !nft_absent(t, table, "OUTPUT")) {
		free(r.out);
		/* the kernel refuses to delete a chain that holds a rule */
		tool("nft", delc, NULL, &r, 0);
	}
	free(r.out);
	if (kind != J_TABLE)
		return;
	/* XXX nft deletes a table with whatever it holds: a rule added
	 * between this listing and the delete would go with it */
	rc = tool("nft", listt, NULL, &r, 1);
	if (rc == 0 && nft_table_empty(r.out, fam, table)) {
		free(r.out);
		tool("nft", delt, NULL, &r, 0);
	}
	free(r.out);
}

/* Which of ipt_tables[] ipt_remove looks at. */
#define T_MANGLE	0x1
#define T_NAT		0x2
#define T_FILTER	0x4
#define T_ALL		(T_MANGLE | T_NAT | T_FILTER)

/* ipt_remove - delete mailgov's jumps and chains of one family in the
 * tables of mask, and with iptables-nft what install created for them;
 * *found is set when there was anything to delete */
static int
ipt_remove(enum rules_target t, int mask, int *found)
{
	const char *args[] = { "-w", "--noflush", NULL };
	char	*in = ctl_xstrdup(""), *s, *uf, *ux;
	struct run r;
	int	 i, j, k, n[J_KINDS], jumps, chain, rc = 0, ntables = 0;
	enum jump_kind created[3];

	for (i = 0; ipt_tables[i] != NULL; i++) {
		created[i] = J_PLAIN;
		if (!(mask & (1 << i)))
			continue;
		if (ipt_list(t, ipt_tables[i], &r) == -1) {
			free(r.out);
			continue;	/* no such table in this kernel */
		}
		jumps = count_jumps(r.out, n);
		chain = count_lines(r.out, "-N " RULES_CHAIN) > 0;
		/* and the UID tree's chains: all flushed, then deleted */
		uf = uchain_lines(r.out, NULL, "-F ", "\n");
		ux = uchain_lines(r.out, NULL, "-X ", "\n");
		free(r.out);
		if (jumps == 0 && !chain) {
			free(uf);
			free(ux);
			continue;
		}
		s = ctl_xasprintf("%s*%s\n", in, ipt_tables[i]);
		free(in);
		in = s;
		for (k = 0; k < J_KINDS; k++)
			for (j = 0; j < n[k]; j++) {
				s = ctl_xasprintf("%s-D OUTPUT -m comment "
				    "--comment %s -j " RULES_CHAIN "\n", in,
				    jump_comment[k]);
				free(in);
				in = s;
			}
		/* the most that install created, if it ran more than once */
		created[i] = n[J_TABLE] > 0 ? J_TABLE : n[J_CHAIN] > 0 ?
		    J_CHAIN : J_PLAIN;
		s = ctl_xasprintf("%s%s%s%s%sCOMMIT\n", in, chain ?
		    "-F " RULES_CHAIN "\n" : "", uf, chain ?
		    "-X " RULES_CHAIN "\n" : "", ux);
		free(in);
		free(uf);
		free(ux);
		in = s;
		ntables++;
	}
	if (ntables > 0) {
		*found = 1;
		if (tool(ipt_name(t, 1), args, in, &r, 0) != 0)
			rc = -1;
		free(r.out);
		for (i = 0; rc == 0 && ipt_tables[i] != NULL; i++)
			if (created[i] != J_PLAIN && ipt_is_nft(t))
				ipt_tidy(t, ipt_tables[i], created[i]);
	}
	free(in);
	return rc;
}

/* --- nftables ------------------------------------------------------------ */

/*
 * nft_probe - does the kernel have nft's queue expression?  Checked with
 * "nft -c" on a throwaway table, so nothing is ever loaded: first the
 * table and chain alone (nft itself must work), then with a queue rule.
 * Returns 1 (yes), 0 (no) or -1 (nft does not work; error printed).
 */
static int
nft_probe(const struct config *cfg)
{
	const char *args[] = { "-c", "-f", "-", NULL };
	const char *base =
	    "add table inet mailgov_probe\n"
	    "add chain inet mailgov_probe probe { type route hook output "
	    "priority mangle; policy accept; }\n";
	char	*in;
	struct run r;
	int	 rc;

	rc = tool("nft", args, base, &r, 0);
	free(r.out);
	if (rc != 0)
		return -1;
	in = ctl_xasprintf("%sadd rule inet mailgov_probe probe meta l4proto "
	    "tcp queue num %u bypass\n", base, cfg->queue_num);
	rc = tool("nft", args, in, &r, 1);
	free(in);
	free(r.out);
	return rc == 0;
}

/* nft_load - load the table inet mailgov */
static int
nft_load(const char *text)
{
	const char *args[] = { "-f", "-", NULL };
	struct run r;
	int	 rc;

	rc = tool("nft", args, text, &r, 0);
	free(r.out);
	return rc == 0 ? 0 : -1;
}

/* nft_remove - delete the table inet mailgov if it exists */
static int
nft_remove(int *found)
{
	const char *list[] = { "list", "table", "inet", RULES_NFT_TABLE, NULL };
	const char *del[] = { "delete", "table", "inet", RULES_NFT_TABLE,
	    NULL };
	struct run r;
	int	 rc;

	if (!have_tool("nft"))
		return 0;	/* no nft: no table of ours either */
	rc = tool("nft", list, NULL, &r, 1);
	free(r.out);
	if (rc != 0)
		return 0;
	*found = 1;
	rc = tool("nft", del, NULL, &r, 0);
	free(r.out);
	return rc == 0 ? 0 : -1;
}

/* loaded - the backend whose rules are loaded (the table inet mailgov, or
 * a jump in IPv4 or IPv6 nat or filter OUTPUT), or BE_ALL when none is */
static enum backend
loaded(void)
{
	const char *list[] = { "list", "table", "inet", RULES_NFT_TABLE, NULL };
	enum rules_target t;
	struct run r;
	int	 i, n[J_KINDS], rc;

	if (have_tool("nft")) {
		rc = tool("nft", list, NULL, &r, 1);
		free(r.out);
		if (rc == 0)
			return BE_NFTABLES;
	}
	/* not mangle: the nftables backend may have its queue step there */
	for (t = RULES_IPV4; t <= RULES_IPV6; t++)
		for (i = 1; ipt_tables[i] != NULL; i++) {
			if (ipt_list(t, ipt_tables[i], &r) == 0 &&
			    count_jumps(r.out, n) > 0) {
				free(r.out);
				return BE_IPTABLES;
			}
			free(r.out);
		}
	return BE_ALL;
}

/* --- status: are the rules loaded, as they would be now? ----------------- */

/* keep_line - append line (len bytes) to *o when it is mailgov's, with
 * what varies between two loads of the same rules taken out: the record
 * of what install created, and counters */
static void
keep_line(char **o, size_t *olen, const char *pre, const char *line,
    size_t len)
{
	char	*l, *p;

	l = ctl_xasprintf("%s%.*s", pre, (int)len, line);
	/* "-created-chain" and "-created-table": 14 bytes either way */
	if ((p = strstr(l, " --comment " RULES_COMMENT "-created-")) != NULL) {
		p += strlen(" --comment " RULES_COMMENT);
		memmove(p, p + 14, strlen(p + 14) + 1);
	}
	if ((p = strstr(l, "counter packets ")) != NULL)
		p[7] = '\0';
	*o = ctl_xreallocarray(*o, *olen + strlen(l) + 2, 1);
	*olen += (size_t)sprintf(*o + *olen, "%s\n", l);
	free(l);
}

/*
 * mailgov_lines - mailgov's part of the ruleset, as the tools list it:
 * every iptables line naming a MAILGOV chain (both families, every
 * table), and the table inet mailgov without its dynamic sets' elements.
 * malloc'd, "" when nothing of mailgov is loaded.
 */
static char *
mailgov_lines(void)
{
	const char *nlist[] = { "list", "table", "inet", RULES_NFT_TABLE,
	    NULL };
	const char *p, *nl;
	enum rules_target t;
	struct run r;
	char	*o = ctl_xstrdup(""), pre[32];
	size_t	 olen = 0;
	int	 i, skip;

	for (t = RULES_IPV4; t <= RULES_IPV6; t++)
		for (i = 0; ipt_tables[i] != NULL; i++) {
			if (ipt_list(t, ipt_tables[i], &r) == 0) {
				snprintf(pre, sizeof(pre), "%s %s: ",
				    ipt_name(t, 0), ipt_tables[i]);
				for (p = r.out; *p != '\0'; p = nl +
				    (*nl == '\n')) {
					nl = p + strcspn(p, "\n");
					if (memmem(p, (size_t)(nl - p),
					    RULES_CHAIN, strlen(RULES_CHAIN)))
						keep_line(&o, &olen, pre, p,
						    (size_t)(nl - p));
				}
			}
			free(r.out);
		}
	if (have_tool("nft") && tool("nft", nlist, NULL, &r, 1) == 0) {
		/* a dynamic set's elements are what it has seen, which
		 * a fresh copy has not */
		for (skip = 0, p = r.out; *p != '\0'; p = nl + (*nl == '\n')) {
			nl = p + strcspn(p, "\n");
			if (memmem(p, (size_t)(nl - p), "elements = {", 12))
				skip = 1;
			if (!skip)
				keep_line(&o, &olen, "nft: ", p,
				    (size_t)(nl - p));
			if (skip && memchr(p, '}', (size_t)(nl - p)))
				skip = 0;
		}
	}
	free(r.out);
	return o;
}

/*
 * scratch_lines - what mailgov_lines would say after loading texts[]
 * (NULL-ended, each with its tool: "iptables-restore", ...) into an
 * empty network namespace of a child process, which goes with it: the
 * tools' own spelling of the rules that install would load now.  NULL
 * (with why) when the namespace or a load failed.
 */
static char *
scratch_lines(const char *const *tools, char *const *texts, char *why,
    size_t whylen)
{
	const char *rargs[] = { "-w", "--noflush", NULL };
	const char *nargs[] = { "-f", "-", NULL };
	char	*out = NULL, *lines, buf[8192];
	size_t	 len = 0, off;
	ssize_t	 n;
	struct run r;
	int	 fd[2], st, i;
	pid_t	 pid;

	if (pipe(fd) == -1) {
		snprintf(why, whylen, "pipe: %s", strerror(errno));
		return NULL;
	}
	fflush(NULL);
	if ((pid = fork()) == -1) {
		snprintf(why, whylen, "fork: %s", strerror(errno));
		close(fd[0]);
		close(fd[1]);
		return NULL;
	}
	if (pid == 0) {
		close(fd[0]);
		if (unshare(CLONE_NEWNET) == -1)
			_exit(3);
		for (i = 0; texts[i] != NULL; i++) {
			if (tool(tools[i], strcmp(tools[i], "nft") == 0 ?
			    nargs : rargs, texts[i], &r, 1) != 0)
				_exit(4);
			free(r.out);
		}
		lines = mailgov_lines();
		for (off = 0, len = strlen(lines); off < len; off += (size_t)n)
			if ((n = write(fd[1], lines + off, len - off)) <= 0)
				_exit(5);
		_exit(0);
	}
	close(fd[1]);
	while ((n = read(fd[0], buf, sizeof(buf))) > 0 &&
	    len + (size_t)n < TOOL_OUT_MAX * 4) {
		out = ctl_xreallocarray(out, len + (size_t)n + 1, 1);
		memcpy(out + len, buf, (size_t)n);
		len += (size_t)n;
		out[len] = '\0';
	}
	close(fd[0]);
	while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
		;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		snprintf(why, whylen, WIFEXITED(st) && WEXITSTATUS(st) == 3 ?
		    "cannot make a network namespace to compare them in" :
		    "the rules of this configuration do not load");
		free(out);
		return NULL;
	}
	return out != NULL ? out : ctl_xstrdup("");
}

/* line_count - lines of text */
static size_t
line_count(const char *text)
{
	size_t	 n = 0;

	for (; *text != '\0'; text++)
		n += *text == '\n';
	return n;
}

/*
 * ctl_rules_state - see ctl.h: the rules loaded now against those that
 * "rules install" (of the backend loaded) would load, compared as the
 * tools list both after loading the fresh ones into a scratch network
 * namespace
 */
int
ctl_rules_state(struct ctl *ctl, char *why, size_t whylen)
{
	struct inputs in;
	const char *tools[5];
	char	*texts[5] = { NULL }, *live = NULL, *want = NULL;
	char	*t4 = NULL, *t6 = NULL;
	enum backend be;
	int	 q = 1, rc = CTL_RULES_UNKNOWN, n = 0, i;

	why[0] = '\0';
	if ((be = loaded()) == BE_ALL) {
		snprintf(why, whylen, "no mailgov rules are loaded "
		    "(mailgovctl rules install)");
		return CTL_RULES_MISSING;
	}
	memset(&in, 0, sizeof(in));
	if (load_caps(ctl, &in.caps, BK_CONN) == -1 ||
	    load_caps(ctl, &in.norate, BK_NEW_CONN) == -1) {
		snprintf(why, whylen, "cannot read the accounts' caps");
		goto done;
	}
	load_closed(ctl, &in);
	load_never(ctl, &in);
	in.nft_backend = be == BE_NFTABLES;
	if (be == BE_IPTABLES)
		load_uids(ctl, &in);
	if ((t4 = render(ctl, RULES_IPV4, &in, 0)) == NULL ||
	    (t6 = render(ctl, RULES_IPV6, &in, 0)) == NULL) {
		snprintf(why, whylen, "the rules do not render");
		goto done;
	}
	if (be == BE_IPTABLES) {
		tools[n] = "iptables-restore";
		texts[n++] = ctl_xstrdup(t4);
		if (have_tool("ip6tables-restore")) {
			tools[n] = "ip6tables-restore";
			texts[n++] = ctl_xstrdup(t6);
		}
	} else {
		if ((q = nft_probe(&ctl->cfg)) == -1 ||
		    (texts[n] = render(ctl, RULES_NFT, &in, q)) == NULL) {
			snprintf(why, whylen, "the nftables rules do not "
			    "render");
			goto done;
		}
		tools[n++] = "nft";
		if (!q) {
			tools[n] = "iptables-restore";
			if ((texts[n++] = rules_section(t4, "mangle")) ==
			    NULL || (tools[n] = "ip6tables-restore",
			    texts[n++] = rules_section(t6, "mangle")) == NULL) {
				snprintf(why, whylen, "%s: no *mangle table",
				    RULES_IPTABLES_IN);
				goto done;
			}
		}
	}
	texts[n] = NULL;
	if ((want = scratch_lines(tools, texts, why, whylen)) == NULL)
		goto done;
	live = mailgov_lines();
	if (strcmp(live, want) == 0) {
		snprintf(why, whylen, "%s, %zu lines, as configured",
		    be == BE_IPTABLES ? "iptables" : "nftables",
		    line_count(live));
		rc = CTL_RULES_OK;
	} else {
		snprintf(why, whylen, "the loaded %s rules (%zu lines) differ "
		    "from those the configuration gives (%zu lines): "
		    "mailgovctl rules refresh", be == BE_IPTABLES ?
		    "iptables" : "nftables", line_count(live),
		    line_count(want));
		rc = CTL_RULES_DIFFER;
	}
done:
	for (i = 0; i < n; i++)
		free(texts[i]);
	free(t4);
	free(t6);
	free(live);
	free(want);
	inputs_free(&in);
	return rc;
}

/* --- the command --------------------------------------------------------- */

/* show - print what install would load */
static int
show(struct ctl *ctl, enum backend be, const struct inputs *in)
{
	char	*t4 = NULL, *t6 = NULL, *q4 = NULL, *q6 = NULL, *nt = NULL;
	int	 q = 1, rc = CTL_ERR;

	if (be == BE_IPTABLES) {
		if ((t4 = render(ctl, RULES_IPV4, in, 0)) == NULL ||
		    (t6 = render(ctl, RULES_IPV6, in, 0)) == NULL)
			goto done;
		printf("# closed to web users: %s\n", in->closed_text);
		printf("# iptables-restore --noflush (IPv4)\n%s"
		    "# ip6tables-restore --noflush (IPv6)\n%s", t4, t6);
		rc = CTL_OK;
		goto done;
	}
	/* Without a working nft (not root, say) show the native form. */
	if (have_tool("nft") && geteuid() == 0 &&
	    (q = nft_probe(&ctl->cfg)) == -1)
		goto done;
	if ((nt = render(ctl, RULES_NFT, in, q)) == NULL)
		goto done;
	if (!q) {
		if ((t4 = render(ctl, RULES_IPV4, in, 0)) == NULL ||
		    (t6 = render(ctl, RULES_IPV6, in, 0)) == NULL ||
		    (q4 = rules_section(t4, "mangle")) == NULL ||
		    (q6 = rules_section(t6, "mangle")) == NULL) {
			if (t4 != NULL && t6 != NULL)
				ctl_err("%s: no *mangle table",
				    RULES_IPTABLES_IN);
			goto done;
		}
		printf("# %s\n", queue_missing_msg);
	}
	printf("# closed to web users: %s\n", in->closed_text);
	printf("# nft -f -\n%s", nt);
	if (!q)
		printf("# iptables-restore --noflush (IPv4, queue step)\n%s"
		    "# ip6tables-restore --noflush (IPv6, queue step)\n%s",
		    q4, q6);
	rc = CTL_OK;
done:
	free(t4);
	free(t6);
	free(q4);
	free(q6);
	free(nt);
	return rc;
}

/* install - load the rules of be */
static int
install(struct ctl *ctl, enum backend be, const struct inputs *in)
{
	char	*t4 = NULL, *t6 = NULL, *q4 = NULL, *q6 = NULL, *nt = NULL;
	int	 q, found, mask, rc = CTL_ERR;

	if ((t4 = render(ctl, RULES_IPV4, in, 0)) == NULL ||
	    (t6 = render(ctl, RULES_IPV6, in, 0)) == NULL)
		goto done;
	if (be == BE_IPTABLES) {
		if (ipt_load(RULES_IPV4, t4, 0) == -1 ||
		    ipt_load(RULES_IPV6, t6, 0) == -1)
			goto done;
		/* switching backends: the other one's table goes */
		found = 0;
		if (nft_remove(&found) == -1)
			goto done;
		if (found)
			printf("deleted the nftables backend's table inet %s\n",
			    RULES_NFT_TABLE);
		printf("closed to web users: %s\n", in->closed_text);
		printf("mailgov rules installed (iptables: IPv4, IPv6)\n");
		rc = CTL_OK;
		goto done;
	}
	if ((q = nft_probe(&ctl->cfg)) == -1 ||
	    (nt = render(ctl, RULES_NFT, in, q)) == NULL)
		goto done;
	if (!q && ((q4 = rules_section(t4, "mangle")) == NULL ||
	    (q6 = rules_section(t6, "mangle")) == NULL)) {
		ctl_err("%s: no *mangle table", RULES_IPTABLES_IN);
		goto done;
	}
	if (!q)
		printf("%s\n", queue_missing_msg);
	if (nft_load(nt) == -1)
		goto done;
	if (!q && (ipt_load(RULES_IPV4, q4, 1) == -1 ||
	    ipt_load(RULES_IPV6, q6, 1) == -1))
		goto done;
	/* switching backends: the iptables backend's chains go (and its
	 * queue step too when nft queues natively) */
	found = 0;
	mask = q ? T_ALL : T_NAT | T_FILTER;
	if (ipt_remove(RULES_IPV4, mask, &found) == -1 ||
	    (have_tool("ip6tables-restore") &&
	    ipt_remove(RULES_IPV6, mask, &found) == -1))
		goto done;
	if (found)
		printf("deleted the iptables backend's %s chains\n",
		    RULES_CHAIN);
	printf("closed to web users: %s\n", in->closed_text);
	printf("mailgov rules installed (nftables: table inet %s%s)\n",
	    RULES_NFT_TABLE, q ? "" : "; queue step: iptables mangle "
	    RULES_CHAIN);
	rc = CTL_OK;
done:
	free(t4);
	free(t6);
	free(q4);
	free(q6);
	free(nt);
	return rc;
}

/* uninstall - take out mailgov's rules of be (or of both) */
static int
uninstall(enum backend be)
{
	int	 found = 0, rc = 0, mask;

	if (be != BE_IPTABLES && nft_remove(&found) == -1)
		rc = -1;
	/* the nftables backend's queue step lives in iptables' mangle */
	mask = be == BE_NFTABLES ? T_MANGLE : T_ALL;
	if (have_tool("iptables-restore")) {
		if (ipt_remove(RULES_IPV4, mask, &found) == -1)
			rc = -1;
		if (have_tool("ip6tables-restore") &&
		    ipt_remove(RULES_IPV6, mask, &found) == -1)
			rc = -1;
	} else if (be == BE_IPTABLES) {
		return ctl_err("iptables-restore not found (is the iptables "
		    "package installed?)");
	}
	if (rc == -1)
		return CTL_ERR;
	printf(found ? "mailgov rules removed\n" :
	    "no mailgov rules were installed\n");
	return CTL_OK;
}

/* ctl_rules - "rules show|install|remove [--backend iptables|nftables]",
 * "rules refresh" */
int
ctl_rules(struct ctl *ctl, int argc, char **argv)
{
	struct inputs in;
	const char *sub, *v;
	enum backend be = BE_ALL;
	int	 i, r, rc;

	if (argc < 2)
		return ctl_usage_err("rules", "no subcommand given");
	sub = argv[1];
	if (strcmp(sub, "show") != 0 && strcmp(sub, "install") != 0 &&
	    strcmp(sub, "remove") != 0 && strcmp(sub, "refresh") != 0)
		return ctl_usage_err("rules", "unknown subcommand '%s'", sub);
	if (strcmp(sub, "refresh") == 0 && argc > 2)
		return ctl_usage_err("rules", "refresh reloads the backend "
		    "that is loaded; it takes no argument");
	for (i = 2; i < argc; i++) {
		if ((r = ctl_opt("rules", argc, argv, &i, "--backend",
		    &v)) == -1)
			return CTL_USAGE;
		if (r == 0)
			return ctl_usage_err("rules", "unexpected argument "
			    "'%s'", argv[i]);
		if (strcmp(v, "iptables") == 0)
			be = BE_IPTABLES;
		else if (strcmp(v, "nftables") == 0)
			be = BE_NFTABLES;
		else
			return ctl_usage_err("rules", "unknown backend '%s' "
			    "(iptables or nftables)", v);
	}
	if (strcmp(sub, "remove") == 0)
		return uninstall(be);
	if (strcmp(sub, "refresh") == 0) {
		/* what a path unit runs when users or groups change: the
		 * rules are rendered again from the configuration, the
		 * accounts and the web groups' members as they are now */
		if ((be = loaded()) == BE_ALL) {
			printf("no mailgov rules are installed; nothing to "
			    "refresh\n");
			return CTL_OK;
		}
		sub = "install";
	}
	if (be == BE_ALL)
		be = BE_IPTABLES;	/* the default for show and install */
	memset(&in, 0, sizeof(in));
	if (load_caps(ctl, &in.caps, BK_CONN) == -1 ||
	    load_caps(ctl, &in.norate, BK_NEW_CONN) == -1) {
		inputs_free(&in);
		return CTL_ERR;
	}
	/* read now, so that a listener added since the last install (or
	 * refresh) is closed by this one */
	load_closed(ctl, &in);
	load_never(ctl, &in);
	in.nft_backend = be == BE_NFTABLES;
	if (be == BE_IPTABLES)
		load_uids(ctl, &in);
	if (strcmp(sub, "show") == 0)
		rc = show(ctl, be, &in);
	else
		rc = install(ctl, be, &in);
	inputs_free(&in);
	return rc;
}
