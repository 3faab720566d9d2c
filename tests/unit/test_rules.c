/*
 * test_rules - the rule renderer: the template language on small inline
 * templates, then the shipped templates (rules/) rendered for a few
 * configurations and compared with golden files (tests/golden/rules, NAME.TARGET.ref).
 * MAILGOV_UPDATE_GOLDEN=1 rewrites the golden files instead.
 * Run from the repository root (tests/run.sh does).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "t.h"
#include "config.h"
#include "rules.h"

#define GOLDEN	"tests/golden/rules"

/* render - an inline template against c, or NULL with err */
static char *
render(const char *tmpl, const struct config *c, enum rules_target t,
    const struct rules_opts *o, char *err, size_t errlen)
{
	err[0] = '\0';
	return rules_render(tmpl, strlen(tmpl), "t.in", c, t, o, err, errlen);
}

/* esc - s on one line, newlines as \n (one of two static buffers) */
static const char *
esc(const char *s)
{
	static char buf[2][1024];
	static int which;
	char	*b = buf[which ^= 1];
	size_t	 j = 0;

	for (; s != NULL && *s != '\0' && j < sizeof(buf[0]) - 3; s++) {
		if (*s == '\n') {
			b[j++] = '\\';
			b[j++] = 'n';
		} else
			b[j++] = *s;
	}
	b[j] = '\0';
	return b;
}

/* same - got equals want; the output keeps one line per check */
static void
same(const char *name, const char *got, const char *want)
{
	T_OK(got != NULL && strcmp(got, want) == 0,
	    "%s: expected \"%s\", saw \"%s\"", name, esc(want), esc(got));
}

/* check - inline template renders to want */
static void
check(const char *name, const char *tmpl, const struct config *c,
    enum rules_target t, const struct rules_opts *o, const char *want)
{
	char	 err[256], *got;

	got = render(tmpl, c, t, o, err, sizeof(err));
	same(name, got ? got : err, want);
	free(got);
}

/* check_err - inline template fails with want */
static void
check_err(const char *name, const char *tmpl, const struct config *c,
    const char *want)
{
	char	 err[256], *got;

	got = render(tmpl, c, RULES_IPV4, NULL, err, sizeof(err));
	same(name, got ? got : err, want);
	free(got);
}

/* test_utree - syn_rate, the accounts it leaves alone, and the tree of
 * UID ranges that finds a known web user's own rules (iptables) */
static void
test_utree(const struct config *base_cfg)
{
	struct config c = *base_cfg;
	struct rules_caps norate = { NULL, 0, 0 };
	struct rules_opts o;
	const uint32_t one[] = { 64001 };
	const uint32_t nine[] = { 1000, 64001, 64002, 64003, 64004, 64005,
	    64006, 64007, 64050 };
	const char *tree = "root @UTREE@\n"
	    ":@UCHAIN.NAME@\n"
	    "-A @UNODE.CHAIN@ @UNODE.IDS@ -g @UNODE.NEXT@\n"
	    "-A @ULEAF.CHAIN@ @ULEAF.ID@\n";

	memset(&o, 0, sizeof(o));
	check("syn_rate and burst", "@SYN_RATE@/@SYN_BURST@\n", &c,
	    RULES_IPV4, NULL, "50/100\n");
	c.syn_rate = 0;
	check("syn_rate 0: its lines drop", "a\n@SYN_RATE@\nb\n", &c,
	    RULES_NFT, NULL, "a\nb\n");
	c.syn_rate = 7;
	o.syn_rate_off = 1;
	check("syn_rate off: the nftables backend's queue step",
	    "a\n@SYN_RATE@\nb\n", &c, RULES_IPV4, &o, "a\nb\n");
	o.syn_rate_off = 0;
	check("no known UID: no tree", "a\n" "x @UTREE@\n", &c, RULES_IPV4,
	    &o, "a\n");
	o.uids = one;
	o.n_uids = 1;
	check("one UID: the root is its leaf", tree, &c, RULES_IPV4, &o,
	    "root MAILGOV_U0\n:MAILGOV_U0\n-A MAILGOV_U0 64001\n");
	check("nft: no tree", tree, &c, RULES_NFT, &o, "");
	o.uids = nine;
	o.n_uids = 9;
	/* 9 > 4: two ranges; 4 stay a leaf, 5 split again into 2 and 3 */
	check("nine UIDs: a tree of leaves of at most 4", tree, &c,
	    RULES_IPV4, &o,
	    "root MAILGOV_U0\n"
	    ":MAILGOV_U0\n:MAILGOV_U1\n:MAILGOV_U2\n:MAILGOV_U3\n"
	    ":MAILGOV_U4\n"
	    "-A MAILGOV_U0 1000-64003 -g MAILGOV_U1\n"
	    "-A MAILGOV_U0 64004-64050 -g MAILGOV_U2\n"
	    "-A MAILGOV_U2 64004-64005 -g MAILGOV_U3\n"
	    "-A MAILGOV_U2 64006-64050 -g MAILGOV_U4\n"
	    "-A MAILGOV_U1 1000\n-A MAILGOV_U1 64001\n"
	    "-A MAILGOV_U1 64002\n-A MAILGOV_U1 64003\n"
	    "-A MAILGOV_U3 64004\n-A MAILGOV_U3 64005\n"
	    "-A MAILGOV_U4 64006\n-A MAILGOV_U4 64007\n"
	    "-A MAILGOV_U4 64050\n");
	/* accounts with new_connections unlimited, clipped to the
	 * web users like the caps */
	rules_caps_add_uids(&norate, &c, "bulk", 64010, 64011, 0);
	rules_caps_add_uids(&norate, &c, "outside", 10, 20, 0);
	o.norate = &norate;
	check("norate", "@NORATE.KIND@ @NORATE.ID@\n", &c, RULES_NFT, &o,
	    "uid 64010-64011\n");
	rules_caps_free(&norate);
}

/* test_web_groups - a web group's supplementary members are matched */
static void
test_web_groups(const struct config *base_cfg)
{
	struct config c = *base_cfg;
	struct uid_range m[2] = { { 2001, 2001 }, { 3000, 3002 } };
	struct rules_opts o = { NULL, 0, m, 2, NULL, 0, NULL, 0, NULL, 0, NULL, 0 };
	const char *t = "@WEB.KIND@ @WEB.ID@\n";
	const uint32_t never[] = { 0, 102 };

	c.web_gids[0] = 33;
	c.n_web_gids = 1;
	check("iptables: a web group with its supplementary members", t, &c,
	    RULES_IPV4, &o, "uid 64000-64099\nuid 1000\n"
	    "gid 33 --suppl-groups\n");
	check("ip6tables: the same", t, &c, RULES_IPV6, NULL,
	    "uid 64000-64099\nuid 1000\ngid 33 --suppl-groups\n");
	check("nft: a web group, then its members by UID", t, &c, RULES_NFT,
	    &o, "uid 64000-64099\nuid 1000\ngid 33\n"
	    "uid { 2001, 3000-3002 }\n");
	o.n_members = 1;
	check("nft: one member is a set too", "meta sk@WEB.KIND@ @WEB.ID@\n",
	    &c, RULES_NFT, &o, "meta skuid 64000-64099\nmeta skuid 1000\n"
	    "meta skgid 33\nmeta skuid { 2001 }\n");
	check("nft: no members, no set", t, &c, RULES_NFT, NULL,
	    "uid 64000-64099\nuid 1000\ngid 33\n");

	/* --suppl-groups would take Postfix's daemons, which carry the
	 * postfix user's groups: they come first and return */
	o.never = never;
	o.n_never = 2;
	check("iptables: never web users return first",
	    "-m owner --uid-owner @NEVER.UID@ -j RETURN\n", &c, RULES_IPV4,
	    &o, "-m owner --uid-owner 0 -j RETURN\n"
	    "-m owner --uid-owner 102 -j RETURN\n");
	check("nft: no need", "@NEVER.UID@\n", &c, RULES_NFT, &o, "");
	c.n_web_gids = 0;
	check("iptables: no web group, no need", "@NEVER.UID@\n", &c,
	    RULES_IPV4, &o, "");
}

/* test_closed - the ports closed to web users, and their lists */
static void
test_closed(const struct config *base_cfg)
{
	struct config c = *base_cfg;
	const uint16_t extra[] = { 10025, 25, 2525, 465, 10026, 10025, 587 };
	uint16_t many[20], out[RULES_CLOSED_MAX(20)];
	struct rules_opts o = { NULL, 0, NULL, 0, extra, 7, NULL, 0, NULL, 0, NULL, 0 };
	const char *t = "@CLOSED.PORTS@\n";
	size_t	 i, n;

	check("closed: the relay port and the policy port", t, &c, RULES_IPV4,
	    NULL, "10026,10040\n");
	check("closed: nft", "{ @CLOSED.PORTS@ }\n", &c, RULES_NFT, NULL,
	    "{ 10026, 10040 }\n");
	check("closed: listeners, but not the SMTP ports or the queue port",
	    t, &c, RULES_IPV6, &o, "10025,10026,10040\n");
	c.closed_ports[0] = 10024;
	c.n_closed_ports = 1;
	check("closed: closed_ports too", t, &c, RULES_NFT, &o,
	    "10024, 10025, 10026, 10040\n");
	c.policy_tcp[0] = '\0';
	c.n_closed_ports = 0;
	check("closed: no policy_tcp, no policy port", t, &c, RULES_IPV4,
	    NULL, "10026\n");
	snprintf(c.policy_tcp, sizeof(c.policy_tcp), "[::1]:2525");
	check("closed: a policy port that is the queue port stays open", t,
	    &c, RULES_IPV4, NULL, "10026\n");
	snprintf(c.policy_tcp, sizeof(c.policy_tcp), "localhost:10041");
	T_EQ_U(rules_policy_port(&c), 10041, "closed: policy port of a name");

	for (i = 0; i < 20; i++)
		many[i] = (uint16_t)(11000 + i);
	o.closed = many;
	o.n_closed = 20;
	n = rules_closed_ports(&c, many, 20, out, RULES_CLOSED_MAX(20));
	T_EQ_U(n, 22, "closed: 20 listeners, relay and policy");
	T_EQ_U(out[0], 10026, "closed: sorted");
	check("closed: iptables takes 15 ports to a rule",
	    "-m multiport --dports @CLOSED.PORTS@ @WEB.ID@\n", &c, RULES_IPV4,
	    &o, "-m multiport --dports 10026,10041,11000,11001,11002,11003,"
	    "11004,11005,11006,11007,11008,11009,11010,11011,11012 64000-64099\n"
	    "-m multiport --dports 10026,10041,11000,11001,11002,11003,"
	    "11004,11005,11006,11007,11008,11009,11010,11011,11012 1000\n"
	    "-m multiport --dports 11013,11014,11015,11016,11017,11018,11019 "
	    "64000-64099\n"
	    "-m multiport --dports 11013,11014,11015,11016,11017,11018,11019 "
	    "1000\n");
	o.n_closed = 13;
	check("closed: 15 ports are one rule", t, &c, RULES_IPV4, &o,
	    "10026,10041,11000,11001,11002,11003,11004,11005,11006,11007,"
	    "11008,11009,11010,11011,11012\n");
	n = rules_closed_ports(&c, many, 20, out, 3);
	T_EQ_U(n, 3, "closed: no more than the room given");
}

static void
test_language(void)
{
	struct config c;
	struct rules_caps caps = { NULL, 0, 0 };
	struct rules_opts o = { &caps, 0, NULL, 0, NULL, 0, NULL, 0, NULL, 0, NULL, 0 };
	int	 i;

	config_defaults(&c);
	c.web_uids[0].lo = 64000;
	c.web_uids[0].hi = 64099;
	c.web_uids[1].lo = 1000;
	c.web_uids[1].hi = 1000;
	c.n_web_uids = 2;

	check("plain text is copied", "a b c\n", &c, RULES_IPV4, NULL,
	    "a b c\n");
	check("a last line without newline gets one", "a", &c, RULES_IPV4,
	    NULL, "a\n");
	check("notes are left out", "## note\n  ## indented\nx\n", &c,
	    RULES_IPV4, NULL, "x\n");
	check("scalars", "q @QUEUE_NUM@ p @QUEUE_PORT@ r @RELAY_PORT@\n", &c,
	    RULES_IPV4, NULL, "q 0 p 2525 r 10026\n");
	check("marks in hex", "@MARK_ALLOW@/@MARK_MASK@ @MARK_REJECT@\n", &c,
	    RULES_IPV4, NULL, "0x100000/0x300000 0x200000\n");
	check("ports, iptables", "@SMTP_PORTS@|@REDIRECT_PORTS@|@TLS_PORTS@|"
	    "@CAP_PORTS@\n", &c, RULES_IPV4, NULL,
	    "25,465,587,2525|25,587,2525|465|25,465,587,2525\n");
	check("ports, nft", "{ @SMTP_PORTS@ }\n", &c, RULES_NFT, NULL,
	    "{ 25, 465, 587, 2525 }\n");
	check("loopback per family", "@LOOPBACK@\n", &c, RULES_IPV6, NULL,
	    "::1/128\n");
	check("a list repeats the line", "-@WEB.KIND@ @WEB.ID@\n", &c,
	    RULES_IPV4, NULL, "-uid 64000-64099\n-uid 1000\n");
	test_web_groups(&c);
	test_closed(&c);
	test_utree(&c);
	check("an empty list drops the line", "a\ncap @CAP.ID@\nb\n", &c,
	    RULES_IPV4, &o, "a\nb\n");
	check("an empty value drops the line", "x @LOOPBACK@\ny\n", &c,
	    RULES_NFT, NULL, "y\n");
	check("nft set references are text",
	    "add @connlimit { ct count over @CONN_DEFAULT@ } @x @ @a@\n", &c,
	    RULES_NFT, NULL, "add @connlimit { ct count over 10 } @x @ @a@\n");
	check("@if false", "@if NFT_QUEUE@\nq\n@else@\nno q\n@endif@\nz\n",
	    &c, RULES_NFT, NULL, "no q\nz\n");
	o.nft_queue = 1;
	check("@if true", "@if NFT_QUEUE@\nq\n@else@\nno q\n@endif@\nz\n",
	    &c, RULES_NFT, &o, "q\nz\n");
	check("@if on a list", "@if CAP@\ncaps\n@endif@\n", &c, RULES_NFT, &o,
	    "");

	T_OK(rules_caps_add_uids(&caps, &c, "acme", 63990, 64005, 2) == 0,
	    "caps: add a range");
	T_EQ_U(caps.n, 1, "caps: clipped to one web range");
	T_EQ_U(caps.v[0].lo, 64000, "caps: clipped low end");
	T_EQ_U(caps.v[0].hi, 64005, "caps: high end");
	rules_caps_add_uids(&caps, &c, "root", 0, 0, 1);
	T_EQ_U(caps.n, 1, "caps: a non-web UID gets no cap");
	rules_caps_add_gid(&caps, &c, "grp", 33, 1);
	T_EQ_U(caps.n, 1, "caps: a non-web group gets no cap");
	rules_caps_add_uids(&caps, &c, "Bad Name\"", 1000, 1000, 3);
	T_EQ_S(caps.v[1].account, "_ad__ame_", "caps: account names cleaned");
	check("two lists: every combination",
	    "@WEB.ID@ x @CAP.ID@=@CAP.LIMIT@\n", &c, RULES_IPV4, &o,
	    "64000-64099 x 64000-64005=2\n64000-64099 x 1000=3\n"
	    "1000 x 64000-64005=2\n1000 x 1000=3\n");
	caps.v[1].limit = BUDGET_UNLIMITED;
	check("an unlimited cap has no capping line",
	    "@CAP.ACCOUNT@ over @CAP.LIMIT@\n", &c, RULES_IPV4, &o,
	    "acme over 2\n");
	check("an unlimited cap still skips the default",
	    "@CAP.ACCOUNT@ return\n", &c, RULES_IPV4, &o,
	    "acme return\n_ad__ame_ return\n");
	rules_caps_free(&caps);

	c.budget[BK_CONN].w[0].limit = BUDGET_UNLIMITED;
	check("an unlimited default has no rule", "d @CONN_DEFAULT@\ne\n",
	    &c, RULES_NFT, NULL, "e\n");

	check_err("unknown placeholder", "a\nb @NOPE@\n", &c,
	    "t.in:2: unknown placeholder @NOPE@");
	check_err("unknown field", "@WEB.NOPE@\n", &c,
	    "t.in:1: unknown placeholder @WEB.NOPE@");
	check_err("list used as a value", "@WEB@\n", &c,
	    "t.in:1: unknown placeholder @WEB@");
	check_err("value used as a list", "@QUEUE_PORT.X@\n", &c,
	    "t.in:1: unknown placeholder @QUEUE_PORT.X@");
	check_err("@else without @if", "@else@\n", &c,
	    "t.in:1: @else@ without @if");
	check_err("@endif without @if", "x\n@endif@\n", &c,
	    "t.in:2: @endif@ without @if");
	check_err("@if without @endif", "@if CAP@\n", &c,
	    "t.in: @if without @endif@ at the end");
	check_err("unknown @if name", "@if NOPE@\n@endif@\n", &c,
	    "t.in:1: unknown name in @if: NOPE");

	for (i = 0; i < 15; i++)
		c.smtp_ports[i] = (uint16_t)(100 + i);
	c.n_smtp_ports = 15;
	check_err("more than 15 ports for multiport", "x\n", &c,
	    "t.in: iptables' multiport match takes at most 15 ports; "
	    "smtp_ports and queue_port make 16");
}

static void
test_section(void)
{
	const char *text = "# head\n*mangle\n:M - [0:0]\nCOMMIT\n# nat\n"
	    "*nat\n-A X\nCOMMIT\n";
	char	*s;

	s = rules_section(text, "mangle");
	same("section mangle", s, "# head\n*mangle\n:M - [0:0]\nCOMMIT\n");
	free(s);
	s = rules_section(text, "nat");
	same("section nat", s, "# head\n*nat\n-A X\nCOMMIT\n");
	free(s);
	T_OK(rules_section(text, "filter") == NULL, "no section filter");
	T_OK(rules_section(text, "man") == NULL, "no section by prefix");
}

/* slurp - a whole file, or NULL */
static char *
slurp(const char *path)
{
	FILE	*fp;
	char	*buf;
	long	 n;

	if ((fp = fopen(path, "r")) == NULL)
		return NULL;
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	if (n < 0 || (buf = malloc((size_t)n + 1)) == NULL) {
		fclose(fp);
		return NULL;
	}
	buf[fread(buf, 1, (size_t)n, fp)] = '\0';
	fclose(fp);
	return buf;
}

/* golden - render the shipped template and compare with NAME.SUFFIX.ref */
static void
golden(const char *name, const struct config *c, enum rules_target t,
    const struct rules_opts *o)
{
	static const char *const suffix[] = { "iptables", "ip6tables", "nft" };
	char	 path[256], err[256], *got, *want;
	FILE	*fp;

	snprintf(path, sizeof(path), GOLDEN "/%s.%s%s.ref", name, suffix[t],
	    t == RULES_NFT && o != NULL && o->nft_queue ? "-queue" : "");
	got = rules_render_file(c, t, o, err, sizeof(err));
	if (got == NULL) {
		T_OK(0, "%s: %s", path, err);
		return;
	}
	if (getenv("MAILGOV_UPDATE_GOLDEN") != NULL) {
		if ((fp = fopen(path, "w")) != NULL) {
			fputs(got, fp);
			fclose(fp);
		}
	}
	want = slurp(path);
	T_OK(want != NULL && strcmp(got, want) == 0,
	    "%s%s", path, want == NULL ? ": missing" :
	    strcmp(got, want) ? ": differs (MAILGOV_UPDATE_GOLDEN=1 shows "
	    "how)" : "");
	free(got);
	free(want);
}

static void	golden_members(const char *, const struct config *,
		    const struct rules_caps *, const struct uid_range *, size_t);
static void	golden_opts(const char *, const struct config *,
		    const struct rules_caps *, const struct uid_range *, size_t,
		    const uint16_t *, size_t);

/* golden_all - every target of one configuration */
static void
golden_all(const char *name, const struct config *c,
    const struct rules_caps *caps)
{
	golden_members(name, c, caps, NULL, 0);
}

/* golden_members - the same, with the web groups' members m[0..n) */
static void
golden_members(const char *name, const struct config *c,
    const struct rules_caps *caps, const struct uid_range *m, size_t n)
{
	golden_opts(name, c, caps, m, n, NULL, 0);
}

/* golden_opts - the same, with the Postfix listeners l[0..nl) */
static void
golden_opts(const char *name, const struct config *c,
    const struct rules_caps *caps, const struct uid_range *m, size_t n,
    const uint16_t *l, size_t nl)
{
	/* root, mailgov's user, Postfix's */
	static const uint32_t never[] = { 0, 64190, 102 };
	struct rules_opts o = { caps, 0, m, n, l, nl, never, 3, NULL, 0, NULL, 0 };

	golden(name, c, RULES_IPV4, &o);
	golden(name, c, RULES_IPV6, &o);
	golden(name, c, RULES_NFT, &o);
	o.nft_queue = 1;
	golden(name, c, RULES_NFT, &o);
}

/* golden_rate - every target, with the known web users u[0..n) and the
 * accounts syn_rate leaves alone */
static void
golden_rate(const char *name, const struct config *c,
    const struct rules_caps *caps, const struct rules_caps *norate,
    const uint32_t *u, size_t n)
{
	static const uint32_t never[] = { 0, 64190, 102 };
	struct rules_opts o;

	memset(&o, 0, sizeof(o));
	o.caps = caps;
	o.never = never;
	o.n_never = 3;
	o.uids = u;
	o.n_uids = n;
	o.norate = norate;
	golden(name, c, RULES_IPV4, &o);
	golden(name, c, RULES_IPV6, &o);
	golden(name, c, RULES_NFT, &o);
	o.nft_queue = 1;
	golden(name, c, RULES_NFT, &o);
	/* the nftables backend's xt queue step: its own table limits,
	 * and its own set caps per UID */
	o.syn_rate_off = 1;
	o.uids = NULL;
	o.n_uids = 0;
	golden("rate-queue-step", c, RULES_IPV4, &o);
}

/* base - the defaults with the shipped templates and one web range */
static void
base(struct config *c)
{
	config_defaults(c);
	snprintf(c->rules_dir, sizeof(c->rules_dir), "rules");
	c->web_uids[0].lo = 64000;
	c->web_uids[0].hi = 64099;
	c->n_web_uids = 1;
}

static void
test_golden(void)
{
	struct config c;
	struct rules_caps caps = { NULL, 0, 0 };
	struct uid_range members[2] = { { 2001, 2001 }, { 3000, 3002 } };
	const uint16_t listeners[] = { 10025, 587, 2525, 10026, 10030, 25 };
	struct rules_caps norate = { NULL, 0, 0 };
	const uint32_t uids[] = { 64001, 64002, 64003, 64004, 64005, 64006,
	    64007, 64008, 64009, 64010, 64050, 65001 };

	/* one web range, every default */
	base(&c);
	golden_all("single", &c, NULL);

	/* several ranges and a web group */
	base(&c);
	c.web_uids[0].lo = 1000;
	c.web_uids[0].hi = 1999;
	c.web_uids[1].lo = 5000;
	c.web_uids[1].hi = 5000;
	c.web_uids[2].lo = 64000;
	c.web_uids[2].hi = 64099;
	c.n_web_uids = 3;
	c.web_gids[0] = 33;
	c.n_web_gids = 1;
	golden_all("ranges", &c, NULL);

	/* custom ports and marks, no 465, no default cap */
	base(&c);
	c.smtp_ports[0] = 25;
	c.smtp_ports[1] = 587;
	c.smtp_ports[2] = 26;
	c.n_smtp_ports = 3;
	c.queue_port = 10025;
	c.relay_port = 10027;
	c.queue_num = 7;
	c.mark_mask = 0xc;
	c.mark_allow = 0x4;
	c.mark_reject = 0x8;
	c.budget[BK_CONN].w[0].limit = BUDGET_UNLIMITED;
	c.policy_tcp[0] = '\0';	/* no policy port to close */
	golden_all("ports", &c, NULL);

	/* explicit account caps: ranges, a group, clipped and dropped ones */
	base(&c);
	c.web_uids[1].lo = 70000;
	c.web_uids[1].hi = 70999;
	c.n_web_uids = 2;
	c.web_gids[0] = 33;
	c.n_web_gids = 1;
	rules_caps_add_uids(&caps, &c, "acme", 64002, 64003, 2);
	rules_caps_add_uids(&caps, &c, "acme", 70010, 70010, 2);
	rules_caps_add_uids(&caps, &c, "wide", 64090, 70005, 20);
	rules_caps_add_uids(&caps, &c, "outside", 100, 200, 1);
	rules_caps_add_gid(&caps, &c, "shared", 33, 4);
	rules_caps_add_gid(&caps, &c, "notweb", 99, 4);
	golden_all("caps", &c, &caps);
	rules_caps_free(&caps);

	/* web groups with supplementary members, and a group's own cap,
	 * which counts the sockets whose group is that group */
	base(&c);
	c.web_gids[0] = 33;
	c.web_gids[1] = 1001;
	c.n_web_gids = 2;
	rules_caps_add_gid(&caps, &c, "shared", 33, 4);
	golden_members("groups", &c, &caps, members, 2);
	rules_caps_free(&caps);

	/* Postfix's listeners and closed_ports, a web group; those in
	 * smtp_ports and the queue port stay open */
	base(&c);
	c.web_gids[0] = 33;
	c.n_web_gids = 1;
	c.closed_ports[0] = 10024;
	c.n_closed_ports = 1;
	snprintf(c.policy_tcp, sizeof(c.policy_tcp), "[::1]:10041");
	golden_opts("closed", &c, NULL, NULL, 0, listeners,
	    sizeof(listeners) / sizeof(listeners[0]));

	/* syn_rate with a web group, twelve known web users, an account
	 * with its own cap (it leaves the default cap first) and one whose
	 * new_connections is unlimited (syn_rate leaves it alone) */
	base(&c);
	c.web_gids[0] = 33;
	c.n_web_gids = 1;
	rules_caps_add_uids(&caps, &c, "acme", 64002, 64003, 2);
	rules_caps_add_uids(&norate, &c, "bulk", 64005, 64005, 0);
	golden_rate("rate", &c, &caps, &norate, uids,
	    sizeof(uids) / sizeof(uids[0]));
	rules_caps_free(&caps);
	rules_caps_free(&norate);
}

int
main(void)
{
	test_language();
	test_section();
	test_golden();
	return t_done();
}
