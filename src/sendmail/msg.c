/*
 * msg - what mailgov-sendmail does to a message before it speaks SMTP:
 * find where the input ends (EOF, or a lone "." without -i), reject what
 * the queue would choke on or what smuggles protocol (NUL, overlong
 * lines, header lines that are no field), collect -t recipients, drop
 * Bcc: and Resent-Bcc:, turn every line ending into CRLF and dot-stuff.
 *
 * Trusts nothing in the input: every length is bounded, every address
 * that reaches an SMTP command line is checked by msg_addr_ok().  Bare CR
 * bytes are dropped (a CR is only ever half of a line ending), so no
 * "\r.\r" sequence can end DATA early on a lax server.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "msg.h"

/* msg_init - an empty message with no recipients */
void
msg_init(struct msg *m)
{
	memset(m, 0, sizeof(*m));
}

/* msg_free - release what msg_parse and msg_add_list allocated */
void
msg_free(struct msg *m)
{
	size_t	 i;

	for (i = 0; i < m->nrcpt; i++)
		free(m->rcpt[i]);
	free(m->rcpt);
	free(m->data);
	msg_init(m);
}

/* seterr - set m->err and return status, so callers can "return seterr()" */
static int __attribute__((format(printf, 3, 4)))
seterr(struct msg *m, int status, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(m->err, sizeof(m->err), fmt, ap);
	va_end(ap);
	return status;
}

/* msg_addr_ok - see msg.h */
int
msg_addr_ok(const char *a, size_t n)
{
	size_t	 i;
	int	 inq = 0;

	if (n == 0 || n > MSG_ADDR_MAX || a[0] == '@' || a[n - 1] == '@')
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)a[i];

		if (c < 0x20 || c == 0x7f)
			return 0;
		if (inq) {
			if (c == '\\') {
				if (++i == n || (unsigned char)a[i] < 0x20 ||
				    a[i] == 0x7f)
					return 0;
			} else if (c == '"')
				inq = 0;
			else if (c == '<' || c == '>')
				return 0;	/* harmless, but confuses logs */
			continue;
		}
		if (c == '"')
			inq = 1;
		else if (c == ' ' || strchr("<>(),;:\\", c) != NULL)
			return 0;
	}
	return !inq;
}

/* add_rcpt - add one checked address unless it is already there */
static int
add_rcpt(struct msg *m, const char *a, size_t n, const char *what)
{
	char	 buf[MSG_ADDR_MAX * 4 + 8];
	size_t	 i;
	char	*s;

	if (!msg_addr_ok(a, n))
		return seterr(m, MSG_EADDR, "bad address in %s: %s", what,
		    log_clean(buf, sizeof(buf), a, n));
	for (i = 0; i < m->nrcpt; i++)
		if (strlen(m->rcpt[i]) == n &&
		    strncasecmp(m->rcpt[i], a, n) == 0)
			return MSG_OK;
	if (m->nrcpt >= MSG_RCPT_MAX)
		return seterr(m, MSG_ERCPT, "too many recipients (limit %d)",
		    MSG_RCPT_MAX);
	if (m->nrcpt == m->rcpt_cap) {
		size_t	 cap = m->rcpt_cap ? m->rcpt_cap * 2 : 8;
		char	**r = realloc(m->rcpt, cap * sizeof(*r));

		if (r == NULL)
			return seterr(m, MSG_ENOMEM, "out of memory");
		m->rcpt = r;
		m->rcpt_cap = cap;
	}
	if ((s = strndup(a, n)) == NULL)
		return seterr(m, MSG_ENOMEM, "out of memory");
	for (i = 0; i < n; i++)
		if ((unsigned char)a[i] > 0x7f)
			m->eightbit = 1;
	m->rcpt[m->nrcpt++] = s;
	return MSG_OK;
}

/* One address being assembled by msg_add_list. */
struct addr_state {
	char	 bare[MSG_ADDR_MAX + 1];	/* addr-spec (or display name) */
	size_t	 blen;
	char	 ang[MSG_ADDR_MAX + 1];		/* inside <...> */
	size_t	 alen;
	int	 in_angle, had_angle, after_angle;
	int	 phrase;	/* bare text had words separated by spaces */
	int	 ws;		/* whitespace or comment since the last char */
	int	 toolong;	/* bare text overflowed */
	int	 bad;
};

/* put - append c to the bare or angle buffer of the address */
static void
put(struct addr_state *st, char c)
{
	if (st->in_angle) {
		/* blanks may surround '.' and '@' only (obs-local-part) */
		if (st->ws && st->alen > 0 && c != '.' && c != '@' &&
		    st->ang[st->alen - 1] != '.' &&
		    st->ang[st->alen - 1] != '@')
			st->bad = 1;
		st->ws = 0;
		if (st->alen >= MSG_ADDR_MAX)
			st->bad = 1;
		else
			st->ang[st->alen++] = c;
		return;
	}
	if (st->had_angle) {		/* text after <addr>: not an address */
		st->after_angle = 1;
		return;
	}
	/* "john smith" without <>: a phrase, but "a . b @ c" is obs syntax */
	if (st->ws && st->blen > 0 && c != '.' && c != '@' &&
	    st->bare[st->blen - 1] != '.' && st->bare[st->blen - 1] != '@')
		st->phrase = 1;
	st->ws = 0;
	if (st->blen >= MSG_ADDR_MAX)
		st->toolong = 1;	/* fine for a display name before <> */
	else
		st->bare[st->blen++] = c;
}

/* finish - the address in st is complete: check and add it */
static int
finish(struct msg *m, struct addr_state *st, const char *what)
{
	int	 rc = MSG_OK;

	if (st->in_angle || st->bad || st->after_angle)
		rc = add_rcpt(m, "", 0, what);	/* reports "bad address" */
	else if (st->had_angle)
		rc = add_rcpt(m, st->ang, st->alen, what);
	else if (st->blen > 0) {
		if (st->phrase || st->toolong)
			st->blen = 0;	/* fails msg_addr_ok, so reported */
		rc = add_rcpt(m, st->bare, st->blen, what);
	}
	memset(st, 0, sizeof(*st));
	return rc;
}

/* msg_add_list - see msg.h */
int
msg_add_list(struct msg *m, const char *s, size_t n, const char *what)
{
	struct addr_state st;
	char	 buf[160];
	size_t	 i;
	int	 group = 0, depth, rc;

	memset(&st, 0, sizeof(st));
	for (i = 0; i < n; i++) {
		char	 c = s[i];

		switch (c) {
		case '(':		/* comment, nested, with quoted pairs */
			for (depth = 0; i < n; i++) {
				if (s[i] == '\\' && i + 1 < n)
					i++;
				else if (s[i] == '(')
					depth++;
				else if (s[i] == ')' && --depth == 0)
					break;
			}
			if (i == n)
				goto bad;
			st.ws = 1;
			break;
		case '"':		/* quoted string, kept with its quotes */
			put(&st, c);
			for (i++; i < n && s[i] != '"'; i++) {
				if (s[i] == '\\' && i + 1 < n)
					put(&st, s[i++]);
				put(&st, s[i]);
			}
			if (i == n)
				goto bad;
			put(&st, '"');
			break;
		case '<':
			if (st.in_angle || st.had_angle)
				goto bad;
			st.in_angle = st.had_angle = 1;
			st.ws = 0;
			break;
		case '>':
			if (!st.in_angle)
				goto bad;
			st.in_angle = 0;
			break;
		case ':':
			if (st.in_angle) {	/* end of a source route */
				if (st.alen == 0 || st.ang[0] != '@')
					goto bad;
				st.alen = 0;
				break;
			}
			if (group || st.had_angle)
				goto bad;
			group = 1;		/* the bare text was its name */
			memset(&st, 0, sizeof(st));
			break;
		case ',':
		case ';':
			if (st.in_angle) {	/* inside a source route */
				put(&st, c);
				break;
			}
			if (c == ';') {
				if (!group)
					goto bad;
				group = 0;
			}
			if ((rc = finish(m, &st, what)) != MSG_OK)
				return rc;
			break;
		case ' ':
		case '\t':
		case '\r':
		case '\n':
			st.ws = 1;
			break;
		default:
			put(&st, c);
			break;
		}
	}
	if (group)			/* "name: a@b" without ";" */
		goto bad;
	return finish(m, &st, what);
bad:
	return seterr(m, MSG_EADDR, "bad address list in %s: %s", what,
	    log_clean(buf, sizeof(buf), s, n));
}

/* msg_sender - see msg.h */
int
msg_sender(const char *arg, char *out, size_t outlen)
{
	size_t	 n = strlen(arg);

	if (n >= 2 && arg[0] == '<' && arg[n - 1] == '>')
		arg++, n -= 2;
	if (n >= outlen || (n > 0 && !msg_addr_ok(arg, n)))
		return -1;
	memcpy(out, arg, n);
	out[n] = '\0';
	return 0;
}

/* field_is - whether the header line starts field name (nlen bytes) */
static int
field_is(const char *name, size_t nlen, const char *want)
{
	return strlen(want) == nlen && strncasecmp(name, want, nlen) == 0;
}

/* field_name - length of the field name of a header line, 0 if none */
static size_t
field_name(const char *l, size_t n, size_t *colon)
{
	size_t	 i, k;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)l[i];

		if (c <= 0x20 || c >= 0x7f || c == ':')
			break;
	}
	/* obsolete syntax allows blanks between the name and the colon */
	for (k = i; k < n && (l[k] == ' ' || l[k] == '\t'); k++)
		;
	if (i == 0 || k == n || l[k] != ':')
		return 0;
	*colon = k;
	return i;
}

/* b64 - base64 of n bytes into out, padded with "="; its length */
static size_t
b64(char *out, const unsigned char *in, size_t n)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t	 i, o = 0;
	uint32_t v;

	for (i = 0; i + 2 < n; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = tab[v >> 18];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = tab[(v >> 6) & 63];
		out[o++] = tab[v & 63];
	}
	if (i < n) {
		v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 :
		    0);
		out[o++] = tab[v >> 18];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
		out[o++] = '=';
	}
	return o;
}

/*
 * utf8_next - is there a well-formed UTF-8 character at p (n > 0 bytes
 * left)?  *len gets its length; when there is none, the length of the
 * maximal ill-formed subpart to replace with one U+FFFD (Unicode 15,
 * 3.9: a lead byte and the continuation bytes that could still follow
 * it, or a single byte).  Overlongs, surrogates and code points beyond
 * U+10FFFF are ill-formed.
 */
static int
utf8_next(const unsigned char *p, size_t n, size_t *len)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t	 want, i;

	if (p[0] < 0x80) {
		*len = 1;
		return 1;
	}
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		want = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		want = 3;
		if (p[0] == 0xe0)
			lo = 0xa0;		/* overlong */
		else if (p[0] == 0xed)
			hi = 0x9f;		/* surrogates */
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		want = 4;
		if (p[0] == 0xf0)
			lo = 0x90;		/* overlong */
		else if (p[0] == 0xf4)
			hi = 0x8f;		/* beyond U+10FFFF */
	} else {
		*len = 1;
		return 0;
	}
	for (i = 1; i < want; i++) {
		if (i >= n || p[i] < lo || p[i] > hi) {
			*len = i;
			return 0;
		}
		lo = 0x80;
		hi = 0xbf;
	}
	*len = want;
	return 1;
}

/*
 * emit_from - the "From: Name <sender>" line for -F, into out.  A name
 * with bytes beyond ASCII goes out as RFC 2047 encoded-words of at most
 * 45 bytes each (72 characters), never split inside a character and
 * folded onto their own lines, since a raw 8-bit header is not valid
 * mail.  The words say UTF-8, so they hold nothing else: a byte sequence
 * that is not UTF-8 becomes U+FFFD, the replacement character, which a
 * reader sees where the name was broken (the charset the bytes were meant
 * in cannot be known, and labelling them unknown-8bit would make the whole
 * name unreadable).  An ASCII name is quoted when it has specials, or
 * "=?", so that a reader shows it as it is and never decodes it as an
 * encoded-word (RFC 2047, 5).  Control characters are dropped either
 * way: no header injection.
 */
static size_t
emit_from(char *out, const char *name, const char *sender)
{
	static const unsigned char fffd[] = { 0xef, 0xbf, 0xbd };
	unsigned char clean[300];
	const unsigned char *u = (const unsigned char *)name, *ch;
	size_t	 o = 0, i, j, n = 0, k, w, len = strlen(name);
	int	 quote = 0, high = 0;

	for (i = 0; i < len; i += k) {
		if (u[i] < 0x80) {
			k = 1;
			if (u[i] < 0x20 || u[i] == 0x7f)
				continue;	/* no CR/LF header injection */
			if (strchr("()<>[]:;@\\,.\"", u[i]) != NULL)
				quote = 1;
			ch = u + i;
			w = 1;
		} else {
			high = 1;
			if (utf8_next(u + i, len - i, &k)) {
				ch = u + i;
				w = k;
			} else {
				ch = fffd;
				w = sizeof(fffd);
			}
		}
		if (n + w > sizeof(clean))
			break;		/* whole characters only */
		memcpy(clean + n, ch, w);
		n += w;
	}
	for (i = 0; i + 1 < n && !quote; i++)
		if (clean[i] == '=' && clean[i + 1] == '?')
			quote = 1;
	memcpy(out, "From: ", 6), o = 6;
	if (high) {
		for (i = 0; i < n; i += k) {
			k = n - i > 45 ? 45 : n - i;
			/* not inside a character: clean is UTF-8 */
			for (j = k; j > 0 && i + j < n &&
			    (clean[i + j] & 0xc0) == 0x80; j--)
				;
			if (j > 0)
				k = j;
			if (i > 0)
				memcpy(out + o, "\r\n ", 3), o += 3;
			memcpy(out + o, "=?UTF-8?B?", 10), o += 10;
			o += b64(out + o, clean + i, k);
			memcpy(out + o, "?=", 2), o += 2;
		}
	} else {
		if (quote)
			out[o++] = '"';
		for (i = 0; i < n; i++) {
			if (quote && (clean[i] == '"' || clean[i] == '\\'))
				out[o++] = '\\';
			out[o++] = (char)clean[i];
		}
		if (quote)
			out[o++] = '"';
	}
	o += (size_t)sprintf(out + o, " <%s>\r\n", sender);
	return o;
}

/* The header field being read, for -t and Bcc removal. */
struct field {
	int	 drop;		/* Bcc: or Resent-Bcc: */
	int	 addrs;		/* To/Cc/Bcc with -t: collect the value */
	const char *what;
	char	*val;		/* unfolded value */
	size_t	 vlen, vcap;
};

/* field_add - append a line's bytes (without CR) to the field's value */
static int
field_add(struct field *f, const char *p, size_t n)
{
	size_t	 i;

	if (f->vlen + n + 1 > f->vcap) {
		size_t	 cap = (f->vlen + n + 1) * 2;
		char	*v = realloc(f->val, cap);

		if (v == NULL)
			return -1;
		f->val = v;
		f->vcap = cap;
	}
	for (i = 0; i < n; i++)
		if (p[i] != '\r')
			f->val[f->vlen++] = p[i];
	f->val[f->vlen++] = ' ';	/* the folding point */
	return 0;
}

/* field_end - a header field is complete: collect its recipients */
static int
field_end(struct msg *m, struct field *f)
{
	int	 rc = MSG_OK;

	if (f->addrs)
		rc = msg_add_list(m, f->val, f->vlen, f->what);
	f->drop = f->addrs = 0;
	f->vlen = 0;
	return rc;
}

/* msg_parse - see msg.h */
int
msg_parse(struct msg *m, const char *in, size_t len,
    const struct msg_opts *o)
{
	struct field f;
	const char *p = in, *end = in + len, *lf;
	size_t	 lineno = 0, from_len = 0, k, colon, nlen;
	char	*out, *q;
	int	 in_header = 1, have_field = 0, rc = MSG_OK;

	memset(&f, 0, sizeof(f));
	free(m->data);
	m->data = NULL;
	m->len = 0;
	m->has_from = 0;
	/* at most two bytes out per byte in ("\n" -> "\r\n", "." -> "..") */
	if (len > (((size_t)-1) - 1024) / 2)
		return seterr(m, MSG_EBIG, "message is too large");
	if ((out = malloc(2 * len + 8)) == NULL)
		return seterr(m, MSG_ENOMEM, "out of memory");
	q = out;

	while (p < end) {
		size_t	 raw, n = 0;

		lineno++;
		lf = memchr(p, '\n', (size_t)(end - p));
		raw = lf ? (size_t)(lf - p) : (size_t)(end - p);
		for (k = 0; k < raw; k++)
			if (p[k] != '\r')
				n++;
		/* a lone "." (CRs do not count) ends input, classic sendmail */
		if (o->dot_ends && n == 1 && memchr(p, '.', raw) != NULL)
			goto eof;
		if ((size_t)(p - in) + raw + (lf != NULL) > o->max_size) {
			rc = seterr(m, MSG_EBIG, "message is larger than %zu "
			    "bytes", o->max_size);
			goto fail;
		}
		if (memchr(p, '\0', raw) != NULL) {
			rc = seterr(m, MSG_ENUL, "message contains a NUL byte "
			    "(line %zu)", lineno);
			goto fail;
		}
		if (n > MSG_LINE_MAX) {
			rc = seterr(m, MSG_ELINE, "line %zu is longer than %d "
			    "bytes", lineno, MSG_LINE_MAX);
			goto fail;
		}
		if (in_header && n == 0) {
			in_header = 0;
			if ((rc = field_end(m, &f)) != MSG_OK)
				goto fail;
		} else if (in_header && (p[0] == ' ' || p[0] == '\t')) {
			if (!have_field) {
				rc = seterr(m, MSG_EHEADER, "malformed header "
				    "line %zu", lineno);
				goto fail;
			}
			if (f.addrs && field_add(&f, p, raw) == -1)
				goto nomem;
			if (f.drop)
				goto next;
		} else if (in_header) {
			/* a CR inside the name is as malformed as any byte */
			if ((nlen = field_name(p, raw, &colon)) == 0) {
				rc = seterr(m, MSG_EHEADER, "malformed header "
				    "line %zu", lineno);
				goto fail;
			}
			if ((rc = field_end(m, &f)) != MSG_OK)
				goto fail;
			have_field = 1;
			if (field_is(p, nlen, "From"))
				m->has_from = 1;
			f.drop = field_is(p, nlen, "Bcc") ||
			    field_is(p, nlen, "Resent-Bcc");
			if (o->extract && (field_is(p, nlen, "To") ||
			    field_is(p, nlen, "Cc") ||
			    field_is(p, nlen, "Bcc"))) {
				f.addrs = 1;
				f.what = field_is(p, nlen, "To") ? "To: header" :
				    field_is(p, nlen, "Cc") ? "Cc: header" :
				    "Bcc: header";
				if (field_add(&f, p + colon + 1,
				    raw - colon - 1) == -1)
					goto nomem;
			}
			if (f.drop)
				goto next;
		}
		if (n > 0 && memchr(p, '.', raw) != NULL) {
			/* dot-stuff when the first non-CR byte is '.' */
			for (k = 0; k < raw && p[k] == '\r'; k++)
				;
			if (p[k] == '.')
				*q++ = '.';
		}
		for (k = 0; k < raw; k++) {
			if (p[k] == '\r')
				continue;
			if ((unsigned char)p[k] > 0x7f)
				m->eightbit = 1;
			*q++ = p[k];
		}
		*q++ = '\r';
		*q++ = '\n';
next:
		p = lf ? lf + 1 : end;
	}
	if (o->truncated) {
		rc = seterr(m, MSG_EBIG, "message is larger than %zu bytes",
		    o->max_size);
		goto fail;
	}
eof:
	if (in_header && (rc = field_end(m, &f)) != MSG_OK)
		goto fail;
	free(f.val);
	f.val = NULL;
	if (o->full_name != NULL && !m->has_from && o->sender != NULL &&
	    o->sender[0] != '\0') {
		char	*nd, line[1024];

		if (strlen(o->sender) > MSG_ADDR_MAX) {
			rc = seterr(m, MSG_EADDR, "sender address too long");
			goto fail;
		}
		from_len = emit_from(line, o->full_name, o->sender);
		for (k = 0; k < from_len; k++)
			if ((unsigned char)line[k] > 0x7f)
				m->eightbit = 1;
		if ((nd = malloc(from_len + (size_t)(q - out) + 1)) == NULL)
			goto nomem;
		memcpy(nd, line, from_len);
		memcpy(nd + from_len, out, (size_t)(q - out));
		m->len = from_len + (size_t)(q - out);
		free(out);
		m->data = nd;
		m->has_from = 1;
		return MSG_OK;
	}
	m->data = out;
	m->len = (size_t)(q - out);
	return MSG_OK;
nomem:
	rc = seterr(m, MSG_ENOMEM, "out of memory");
fail:
	free(f.val);
	free(out);
	return rc;
}
