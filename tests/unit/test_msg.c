/*
 * test_msg - mailgov-sendmail's message handling: -t recipients from
 * address lists, Bcc removal, end of input, CRLF, dot-stuffing and the
 * validation boundaries.  Table-driven where a table reads better.
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "msg.h"
#include "t.h"

/* esc - a printable copy of s for a test name or message (two slots) */
static const char *
esc(const char *s)
{
	static char buf[2][2048];
	static int i;

	i = !i;
	return log_clean(buf[i], sizeof(buf[i]), s, strlen(s));
}

/* T_EQ_D - compare raw text, show it escaped */
#define T_EQ_D(got, want, name) do {					\
	const char *g2_ = (got), *w2_ = (want);				\
	T_OK(strcmp(g2_, w2_) == 0, "%s: expected \"%s\", saw \"%s\"",	\
	    (name), esc(w2_), esc(g2_));				\
} while (0)

/* parse - run msg_parse on a C string with the given flags */
static int
parse(struct msg *m, const char *in, int extract, int dot_ends)
{
	struct msg_opts o;

	memset(&o, 0, sizeof(o));
	o.max_size = MSG_SIZE_DEFAULT;
	o.extract = extract;
	o.dot_ends = dot_ends;
	msg_init(m);
	return msg_parse(m, in, strlen(in), &o);
}

/* rcpts - the recipients joined by spaces, for comparison */
static const char *
rcpts(const struct msg *m)
{
	static char buf[4096];
	size_t	 i;

	buf[0] = '\0';
	for (i = 0; i < m->nrcpt; i++) {
		if (i)
			strcat(buf, " ");
		strncat(buf, m->rcpt[i], sizeof(buf) - strlen(buf) - 2);
	}
	return buf;
}

/* data - the converted message as a C string */
static const char *
data(const struct msg *m)
{
	static char buf[8192];
	size_t	 n = m->len < sizeof(buf) - 1 ? m->len : sizeof(buf) - 1;

	memcpy(buf, m->data ? m->data : "", n);
	buf[n] = '\0';
	return buf;
}

/* test_address_lists - address lists: groups, names, comments, routes, bad syntax */
static void
test_address_lists(void)
{
	static const struct {
		const char *list, *want;
		int	 status;
	} t[] = {
		{ "a@x", "a@x", MSG_OK },
		{ " a@x , b@y ", "a@x b@y", MSG_OK },
		{ "A <a@x>", "a@x", MSG_OK },
		{ "\"Smith, John\" <j@x>, k@y", "j@x k@y", MSG_OK },
		{ "a@x (Alice, A.)", "a@x", MSG_OK },
		{ "(c (nested)) a@x", "a@x", MSG_OK },
		{ "undisclosed-recipients:;", "", MSG_OK },
		{ "team: a@x, B <b@y>;, c@z", "a@x b@y c@z", MSG_OK },
		{ "<@relay:a@x>", "a@x", MSG_OK },
		{ "\"john doe\"@x", "\"john doe\"@x", MSG_OK },
		{ "a@x,,b@y,", "a@x b@y", MSG_OK },
		{ "a@x, A@X", "a@x", MSG_OK },
		{ "root", "root", MSG_OK },
		{ "", "", MSG_OK },
		{ "=?UTF-8?B?w6k=?= <e@x>", "e@x", MSG_OK },
		{ "John Smith j@x", "", MSG_EADDR },
		{ "<a@x", "", MSG_EADDR },
		{ "a@x>", "", MSG_EADDR },
		{ "<a@x> trailing", "", MSG_EADDR },
		{ "<>", "", MSG_EADDR },
		{ "\"open", "", MSG_EADDR },
		{ "(open comment a@x", "", MSG_EADDR },
		{ "group: a@x", "", MSG_EADDR },
		{ "a@x;", "", MSG_EADDR },
		{ "<a@x\r\nRCPT TO:b@y>", "", MSG_EADDR },
		{ "<a b@x>", "", MSG_EADDR },
		{ "@x", "", MSG_EADDR },
		{ "<a@x:b@y>", "", MSG_EADDR },
		{ "< a @ x >", "a@x", MSG_OK },
		{ "a . b @ x", "a.b@x", MSG_OK },
	};
	struct msg m;
	size_t	 i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int	 rc;

		msg_init(&m);
		rc = msg_add_list(&m, t[i].list, strlen(t[i].list), "test");
		T_EQ_U(rc, t[i].status, esc(t[i].list));
		if (rc == MSG_OK)
			T_EQ_S(rcpts(&m), t[i].want, esc(t[i].list));
		msg_free(&m);
	}
}

/* test_addr_ok - the address checks that guard SMTP command lines */
static void
test_addr_ok(void)
{
	char	 a[MSG_ADDR_MAX + 2];

	memset(a, 'a', sizeof(a));
	T_OK(msg_addr_ok(a, MSG_ADDR_MAX), "a %d-byte address is fine",
	    MSG_ADDR_MAX);
	T_OK(!msg_addr_ok(a, MSG_ADDR_MAX + 1), "a %d-byte one is not",
	    MSG_ADDR_MAX + 1);
	T_OK(!msg_addr_ok("a\x01@x", 4), "control character refused");
	T_OK(!msg_addr_ok("a@x>", 4), "angle bracket refused");
	T_OK(msg_addr_ok("\xc3\xa9@x", 4), "UTF-8 local part allowed");
	T_OK(msg_addr_ok("a@[192.0.2.1]", 13), "domain literal allowed");
}

/* test_sender - -f forms, the null sender, injection */
static void
test_sender(void)
{
	char	 s[MSG_ADDR_MAX + 1];

	T_OK(msg_sender("a@x", s, sizeof(s)) == 0 && strcmp(s, "a@x") == 0,
	    "plain -f");
	T_OK(msg_sender("<a@x>", s, sizeof(s)) == 0 && strcmp(s, "a@x") == 0,
	    "-f in angle brackets");
	T_OK(msg_sender("<>", s, sizeof(s)) == 0 && s[0] == '\0',
	    "-f <> is the null sender");
	T_OK(msg_sender("", s, sizeof(s)) == 0 && s[0] == '\0',
	    "-f '' is the null sender");
	T_OK(msg_sender("a@x>\r\nRCPT TO:<b@y", s, sizeof(s)) == -1,
	    "-f with CRLF refused");
	T_OK(msg_sender("a b@x", s, sizeof(s)) == -1, "-f with a space refused");
}

/* test_extract - -t recipients and Bcc: removal */
static void
test_extract(void)
{
	struct msg m;

	T_EQ_U(parse(&m, "To: a@x,\n b@y\nCc: C <c@z>\nBcc: d@w\n"
	    "Subject: s\n\nTo: not@header\n", 1, 0), MSG_OK, "-t parse");
	T_EQ_S(rcpts(&m), "a@x b@y c@z d@w", "-t recipients, folded To:");
	T_EQ_D(data(&m), "To: a@x,\r\n b@y\r\nCc: C <c@z>\r\nSubject: s\r\n"
	    "\r\nTo: not@header\r\n", "Bcc: removed, body untouched");
	msg_free(&m);

	T_EQ_U(parse(&m, "to: a@x\nBCC: b@y,\n\tc@z\nX: 1\n\nbody\n", 1, 0),
	    MSG_OK, "case-insensitive names");
	T_EQ_S(rcpts(&m), "a@x b@y c@z", "folded Bcc: recipients");
	T_EQ_D(data(&m), "to: a@x\r\nX: 1\r\n\r\nbody\r\n",
	    "folded Bcc: removed with its continuation");
	msg_free(&m);

	T_EQ_U(parse(&m, "To: undisclosed-recipients:;\nBcc: a@x\n\nb\n", 1,
	    0), MSG_OK, "group only");
	T_EQ_S(rcpts(&m), "a@x", "empty group adds nobody");
	msg_free(&m);

	T_EQ_U(parse(&m, "To: a@x\nBcc: b@y\n\nb\n", 0, 0), MSG_OK,
	    "without -t");
	T_EQ_U(m.nrcpt, 0, "without -t no header recipients");
	T_EQ_D(data(&m), "To: a@x\r\n\r\nb\r\n", "Bcc: removed without -t");
	msg_free(&m);

	T_EQ_U(parse(&m, "Resent-Bcc: a@x\nTo: b@y\n\n", 1, 0), MSG_OK,
	    "Resent-Bcc");
	T_EQ_D(data(&m), "To: b@y\r\n\r\n", "Resent-Bcc: removed");
	msg_free(&m);

	T_EQ_U(parse(&m, "To: John Smith j@x\n\n", 1, 0), MSG_EADDR,
	    "bad To: is a data error");
	T_OK(strstr(m.err, "To: header") != NULL, "error names the field: %s",
	    m.err);
	msg_free(&m);
}

/* test_line_endings - every line ending becomes CRLF, bare CRs go */
static void
test_line_endings(void)
{
	static const struct {
		const char *in, *out;
	} t[] = {
		{ "A: 1\n\nb\n", "A: 1\r\n\r\nb\r\n" },
		{ "A: 1\r\n\r\nb\r\n", "A: 1\r\n\r\nb\r\n" },
		{ "A: 1\r\n\r\nb", "A: 1\r\n\r\nb\r\n" },
		{ "A: 1\r\r\n\r\nb\r\r\n", "A: 1\r\n\r\nb\r\n" },
		{ "A: 1\n\na\rb\n", "A: 1\r\n\r\nab\r\n" },
		{ "", "" },
		{ "\nbody only\n", "\r\nbody only\r\n" },
	};
	struct msg m;
	size_t	 i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		T_EQ_U(parse(&m, t[i].in, 0, 0), MSG_OK, "crlf parse");
		T_EQ_D(data(&m), t[i].out, "CRLF normalised");
		msg_free(&m);
	}
}

/* test_dots - dot-stuffing, and a lone "." ending input without -i */
static void
test_dots(void)
{
	struct msg m;

	T_EQ_U(parse(&m, "A: 1\n\n.x\n..\nx.\n.\r\n", 0, 0), MSG_OK, "-i");
	T_EQ_D(data(&m), "A: 1\r\n\r\n..x\r\n...\r\nx.\r\n..\r\n",
	    "dot-stuffed with -i, lone dot kept");
	msg_free(&m);

	T_EQ_U(parse(&m, "A: 1\n\nb\n.\nafter\n", 0, 1), MSG_OK, "no -i");
	T_EQ_D(data(&m), "A: 1\r\n\r\nb\r\n", "lone dot ends input");
	msg_free(&m);

	T_EQ_U(parse(&m, "A: 1\n\nb\n.", 0, 1), MSG_OK, "dot at EOF");
	T_EQ_D(data(&m), "A: 1\r\n\r\nb\r\n", "dot at EOF ends input");
	msg_free(&m);

	T_EQ_U(parse(&m, "A: 1\n\nb\n.\r\n\0junk", 0, 1), MSG_OK, "dot CRLF");
	T_EQ_D(data(&m), "A: 1\r\n\r\nb\r\n", "dot CRLF ends input");
	msg_free(&m);

	T_EQ_U(parse(&m, ".\n", 0, 1), MSG_OK, "dot first");
	T_EQ_U(m.len, 0, "dot first: empty message");
	msg_free(&m);
}

/* test_validation - 998/999-byte lines, NUL, malformed header lines */
static void
test_validation(void)
{
	struct msg_opts o;
	struct msg m;
	char	*buf;
	size_t	 n;

	memset(&o, 0, sizeof(o));
	o.max_size = MSG_SIZE_DEFAULT;
	buf = malloc(4096);
	/* "A: " + x... so the line is exactly 998 / 999 bytes */
	for (n = 998; n <= 999; n++) {
		memcpy(buf, "A: ", 3);
		memset(buf + 3, 'x', n - 3);
		memcpy(buf + n, "\r\n\r\nb\r\n", 7);
		msg_init(&m);
		T_EQ_U(msg_parse(&m, buf, n + 7, &o),
		    n == 998 ? MSG_OK : MSG_ELINE, "header line length");
		msg_free(&m);
		/* an empty header section, then a body line of n bytes */
		memcpy(buf, "\r\n", 2);
		memset(buf + 2, 'y', n);
		memcpy(buf + 2 + n, "\n", 1);
		msg_init(&m);
		T_EQ_U(msg_parse(&m, buf, n + 3, &o),
		    n == 998 ? MSG_OK : MSG_ELINE, "body line length");
		if (n == 999)
			T_OK(strstr(m.err, "line 2 ") != NULL, "names line 2: %s",
			    m.err);
		msg_free(&m);
	}
	/* CRs do not count: 998 bytes then CRCRLF is still fine */
	memcpy(buf, "\n", 1);
	memset(buf + 1, 'z', 998);
	memcpy(buf + 999, "\r\r\n", 3);
	msg_init(&m);
	T_EQ_U(msg_parse(&m, buf, 1002, &o), MSG_OK, "998 + CRCRLF");
	msg_free(&m);
	msg_init(&m);
	T_EQ_U(msg_parse(&m, buf + 1, 1001, &o), MSG_EHEADER, "no colon");
	T_EQ_S(m.err, "malformed header line 1", "malformed header text");
	msg_free(&m);

	msg_init(&m);
	T_EQ_U(msg_parse(&m, "A: 1\n\nb\0c\n", 10, &o), MSG_ENUL, "NUL body");
	T_OK(strstr(m.err, "NUL byte") != NULL, "NUL message: %s", m.err);
	msg_free(&m);

	static const struct {
		const char *in;
		int	 status;
	} t[] = {
		{ "Subject: x\nnot a header\n\nb\n", MSG_EHEADER },
		{ " continuation first\n\n", MSG_EHEADER },
		{ ": empty name\n\n", MSG_EHEADER },
		{ "Na me: x\n\n", MSG_EHEADER },
		{ "Name\xc3\xa9: x\n\n", MSG_EHEADER },
		{ "From sender Mon Jan 1\n\n", MSG_EHEADER },
		{ "Subject : obsolete blank\n\n", MSG_OK },
		{ "X-Empty:\n\tfolded\n\nbody: not a header\n", MSG_OK },
		{ "Subject: x\n", MSG_OK },
	};
	size_t	 i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		T_EQ_U(parse(&m, t[i].in, 0, 0), t[i].status, esc(t[i].in));
		msg_free(&m);
	}
	T_EQ_U(parse(&m, "A: 1\nB: 2\nbad\n\n", 0, 0), MSG_EHEADER, "line 3");
	T_EQ_S(m.err, "malformed header line 3", "names line 3");
	msg_free(&m);
	free(buf);
}

/* test_size - the size bound, and a "." just after it */
static void
test_size(void)
{
	struct msg_opts o;
	struct msg m;
	const char *in = "A: 1\n\n0123456789\n";	/* 17 bytes */

	memset(&o, 0, sizeof(o));
	o.max_size = 17;
	msg_init(&m);
	T_EQ_U(msg_parse(&m, in, 17, &o), MSG_OK, "exactly max_size");
	msg_free(&m);
	o.max_size = 16;
	msg_init(&m);
	T_EQ_U(msg_parse(&m, in, 17, &o), MSG_EBIG, "one byte over");
	msg_free(&m);
	/* the lone "." after max_size bytes ends input in time */
	o.max_size = 17;
	o.dot_ends = 1;
	o.truncated = 1;
	msg_init(&m);
	T_EQ_U(msg_parse(&m, "A: 1\n\n0123456789\n.\n", 20, &o), MSG_OK,
	    "dot right after max_size");
	msg_free(&m);
	msg_init(&m);
	T_EQ_U(msg_parse(&m, "A: 1\n\n0123456789\nx\n", 20, &o), MSG_EBIG,
	    "truncated input without a dot");
	msg_free(&m);
}

/*
 * utf8_count - characters in p[0..n) if it is well-formed UTF-8, else -1.
 * Decodes each code point and checks it the other way round from msg.c:
 * shortest form, no surrogate, at most U+10FFFF.
 */
static long
utf8_count(const unsigned char *p, size_t n)
{
	static const uint32_t min[] = { 0, 0, 0x80, 0x800, 0x10000 };
	size_t	 i = 0, k, len;
	uint32_t cp;
	long	 chars = 0;

	while (i < n) {
		len = p[i] < 0x80 ? 1 : (p[i] & 0xe0) == 0xc0 ? 2 :
		    (p[i] & 0xf0) == 0xe0 ? 3 : (p[i] & 0xf8) == 0xf0 ? 4 : 0;
		if (len == 0 || i + len > n)
			return -1;
		cp = len == 1 ? p[i] : p[i] & (0x7f >> len);
		for (k = 1; k < len; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return -1;
			cp = cp << 6 | (p[i + k] & 0x3f);
		}
		if (cp < min[len] || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return -1;
		i += len;
		chars++;
	}
	return chars;
}

/* unb64 - decode base64 (with padding) into out; its length, or -1 */
static long
unb64(const char *in, size_t n, unsigned char *out)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789+/";
	uint32_t v = 0;
	size_t	 i, bits = 0;
	long	 o = 0;
	const char *c;

	if (n % 4 != 0)
		return -1;
	for (i = 0; i < n && in[i] != '='; i++) {
		if ((c = strchr(tab, in[i])) == NULL || *c == '\0')
			return -1;
		v = v << 6 | (uint32_t)(c - tab);
		if ((bits += 6) >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(v >> bits);
		}
	}
	return o;
}

/*
 * words_ok - check every RFC 2047 word of the From: line: "=?UTF-8?B?",
 * at most 75 characters, its text well-formed UTF-8 of whole characters.
 * Returns the characters of the name, -1 if a word is bad.
 */
static long
words_ok(const char *d)
{
	const char *p = d, *e;
	unsigned char buf[128];
	long	 n, c, chars = 0;

	while ((p = strstr(p, "=?")) != NULL) {
		if (strncmp(p, "=?UTF-8?B?", 10) != 0 ||
		    (e = strstr(p + 10, "?=")) == NULL || e + 2 - p > 75 ||
		    (n = unb64(p + 10, (size_t)(e - p - 10), buf)) < 0 ||
		    (c = utf8_count(buf, (size_t)n)) < 0)
			return -1;
		chars += c;
		p = e + 2;
	}
	return chars;
}

/* test_full_name - -F adds a From: only when there is none */
static void
test_full_name(void)
{
	struct msg_opts o;
	struct msg m;
	const char *in = "Subject: s\n\nb\n";

	memset(&o, 0, sizeof(o));
	o.max_size = MSG_SIZE_DEFAULT;
	o.full_name = "Web Shop";
	o.sender = "shop@x";
	msg_init(&m);
	T_EQ_U(msg_parse(&m, in, strlen(in), &o), MSG_OK, "-F parse");
	T_EQ_D(data(&m), "From: Web Shop <shop@x>\r\nSubject: s\r\n\r\nb\r\n",
	    "-F adds From:");
	msg_free(&m);

	o.full_name = "Shop, \"Inc.\"\r\nBcc: x@y";
	msg_init(&m);
	T_EQ_U(msg_parse(&m, in, strlen(in), &o), MSG_OK, "-F quoted");
	T_EQ_D(data(&m), "From: \"Shop, \\\"Inc.\\\"Bcc: x@y\" <shop@x>\r\n"
	    "Subject: s\r\n\r\nb\r\n", "-F quoted, no CRLF injection");
	msg_free(&m);

	in = "from: a@b\n\nb\n";
	msg_init(&m);
	T_EQ_U(msg_parse(&m, in, strlen(in), &o), MSG_OK, "-F with From:");
	T_EQ_D(data(&m), "from: a@b\r\n\r\nb\r\n", "-F leaves From: alone");
	msg_free(&m);
	/* beyond ASCII: RFC 2047 encoded-words, never split in a character */
	o.full_name = "Café Ünïcode";
	in = "Subject: s\n\nb\n";
	msg_init(&m);
	T_EQ_U(msg_parse(&m, in, strlen(in), &o), MSG_OK, "-F UTF-8");
	T_EQ_D(data(&m), "From: =?UTF-8?B?Q2Fmw6kgw5xuw69jb2Rl?= <shop@x>\r\n"
	    "Subject: s\r\n\r\nb\r\n", "-F UTF-8 encoded");
	T_EQ_U(m.eightbit, 0, "an encoded name is 7-bit");
	msg_free(&m);

	o.full_name = "ééééééééééééééééééééééééééééééx€€€€€€€€€€€€€€€€€€€€";
	msg_init(&m);
	T_EQ_U(msg_parse(&m, in, strlen(in), &o), MSG_OK, "-F long UTF-8");
	T_EQ_D(data(&m), "From: =?UTF-8?B?w6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6k=?=\r\n =?UTF-8?B?w6nDqcOpw6nDqcOpw6nDqXjigqzigqzigqzigqzigqzigqzigqzigqzigqw=?=\r\n =?UTF-8?B?4oKs4oKs4oKs4oKs4oKs4oKs4oKs4oKs4oKs4oKs4oKs?= <shop@x>\r\n"
	    "Subject: s\r\n\r\nb\r\n", "-F long UTF-8, folded words");
	msg_free(&m);

	/* not UTF-8: a long run of continuation bytes still makes words
	 * of at most 45 bytes (the fuzzer found this looping); each byte
	 * is a U+FFFD, and the 300-byte bound takes 100 of them */
	{
		char	 bad[120];

		memset(bad, 0xb0, sizeof(bad) - 1);
		bad[sizeof(bad) - 1] = '\0';
		o.full_name = bad;
		msg_init(&m);
		T_EQ_U(msg_parse(&m, in, strlen(in), &o), MSG_OK,
		    "-F not UTF-8");
		T_OK(m.len > 0 && m.len < 700 && strstr(data(&m),
		    "=?UTF-8?B?77+977+9") != NULL, "-F not UTF-8: bounded words");
		T_EQ_U(words_ok(data(&m)), 100, "-F not UTF-8: 100 "
		    "characters, each word well-formed UTF-8");
		msg_free(&m);
	}

	/* an ASCII name that looks like an encoded-word is quoted: a
	 * reader shows it as typed and decodes nothing */
	o.full_name = "=?UTF-8?B?/w==?=";
	msg_init(&m);
	T_EQ_U(msg_parse(&m, in, strlen(in), &o), MSG_OK, "-F =?");
	T_EQ_D(data(&m), "From: \"=?UTF-8?B?/w==?=\" <shop@x>\r\n"
	    "Subject: s\r\n\r\nb\r\n", "-F =? quoted");
	msg_free(&m);

	/* the 300-byte bound falls inside the euro sign: it goes whole */
	o.full_name = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa€";
	msg_init(&m);
	T_EQ_U(msg_parse(&m, in, strlen(in), &o), MSG_OK, "-F cut");
	T_EQ_D(data(&m), "From: =?UTF-8?B?YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFh?=\r\n =?UTF-8?B?YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFh?=\r\n =?UTF-8?B?YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFh?=\r\n =?UTF-8?B?YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFh?=\r\n =?UTF-8?B?YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFh?=\r\n =?UTF-8?B?YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFh?=\r\n =?UTF-8?B?YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYQ==?= <shop@x>\r\n"
	    "Subject: s\r\n\r\nb\r\n", "-F cut at a character");
	msg_free(&m);
}

/* test_full_name_not_utf8 - bytes that are not UTF-8 become U+FFFD, one
 * per maximal ill-formed subpart, so the words are what they say */
static void
test_full_name_not_utf8(void)
{
	static const struct {
		const char *name, *from, *what;
	} t[] = {
		{ "Caf\xe9", "=?UTF-8?B?Q2Fm77+9?=", "Latin-1 byte" },
		{ "\xe2\x82x", "=?UTF-8?B?77+9eA==?=",
		    "truncated 3-byte: one U+FFFD" },
		{ "a\xe2\x82", "=?UTF-8?B?Ye+/vQ==?=", "truncated at the end" },
		{ "\xc0\xaf", "=?UTF-8?B?77+977+9?=", "overlong: two" },
		{ "\xe0\x80\xaf", "=?UTF-8?B?77+977+977+9?=",
		    "overlong 3-byte: three" },
		{ "\xed\xa0\x80", "=?UTF-8?B?77+977+977+9?=",
		    "surrogate: three" },
		{ "\xf4\x90\x80\x80", "=?UTF-8?B?77+977+977+977+9?=",
		    "beyond U+10FFFF: four" },
		{ "\xf8\x88\x80\x80\x80", "=?UTF-8?B?77+977+977+977+977+9?=",
		    "5-byte form: five" },
		{ "\xf0\x9f\x98\x80!", "=?UTF-8?B?8J+YgCE=?=",
		    "4-byte character kept" },
		{ "\xef\xbf\xbd", "=?UTF-8?B?77+9?=", "U+FFFD itself kept" },
		{ "x\xff\r\ny", "=?UTF-8?B?eO+/vXk=?=",
		    "0xff, and CR LF dropped" },
	};
	struct msg_opts o;
	struct msg m;
	const char *in = "Subject: s\n\nb\n";
	char	 want[256];
	size_t	 i;

	memset(&o, 0, sizeof(o));
	o.max_size = MSG_SIZE_DEFAULT;
	o.sender = "shop@x";
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		o.full_name = t[i].name;
		snprintf(want, sizeof(want), "From: %s <shop@x>\r\n"
		    "Subject: s\r\n\r\nb\r\n", t[i].from);
		msg_init(&m);
		T_EQ_U(msg_parse(&m, in, strlen(in), &o), MSG_OK, t[i].what);
		T_EQ_D(data(&m), want, t[i].what);
		T_OK(words_ok(data(&m)) > 0, "%s: well-formed words",
		    t[i].what);
		T_EQ_U(m.eightbit, 0, "an encoded name is 7-bit");
		msg_free(&m);
	}

	/* any bytes at all: every word is whole, well-formed UTF-8 */
	{
		unsigned char name[400];
		uint32_t x = 12345;
		size_t	 n, k, bad = 0;

		for (i = 0; i < 2000; i++) {
			n = 1 + i % (sizeof(name) - 1);
			for (k = 0; k < n; k++) {
				x = x * 1103515245u + 12345u;
				/* mostly high bytes, so that sequences form */
				name[k] = (unsigned char)((x >> 16) | 0x80);
				if ((x >> 8) % 7 == 0)
					name[k] &= 0x7f;
				if (name[k] == 0)
					name[k] = 'a';
			}
			name[n] = '\0';
			o.full_name = (const char *)name;
			msg_init(&m);
			if (msg_parse(&m, in, strlen(in), &o) != MSG_OK ||
			    words_ok(data(&m)) < 0)
				bad++;
			msg_free(&m);
		}
		T_EQ_U(bad, 0, "2000 random names: every word well-formed");
	}
}

/* test_rcpt_limit - no more than MSG_RCPT_MAX recipients */
static void
test_rcpt_limit(void)
{
	struct msg m;
	char	 a[32];
	int	 i, rc = MSG_OK;

	msg_init(&m);
	for (i = 0; i <= MSG_RCPT_MAX && rc == MSG_OK; i++) {
		snprintf(a, sizeof(a), "u%d@x", i);
		rc = msg_add_list(&m, a, strlen(a), "test");
	}
	T_EQ_U(rc, MSG_ERCPT, "recipient limit");
	T_EQ_U(m.nrcpt, MSG_RCPT_MAX, "recipients kept at the limit");
	msg_free(&m);
}

int
main(void)
{
	test_address_lists();
	test_addr_ok();
	test_sender();
	test_extract();
	test_line_endings();
	test_dots();
	test_validation();
	test_size();
	test_full_name();
	test_full_name_not_utf8();
	test_rcpt_limit();
	return t_done();
}
