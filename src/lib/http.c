/*
 * http - the bounded HTTP/1.x request-head parser (see http.h).  Each
 * call reparses from the first byte: a head is at most HTTP_HEAD_MAX
 * bytes, so that costs little, and it keeps the parser without state.
 * The same checks run on a line whether it is complete or not, in the
 * same order, so that an early verdict is the one the whole line would
 * get.
 *
 * Trusts: nothing in its input.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "http.h"

#define METHOD_MAX	16
/* the longest request line: method SP target SP "HTTP/1.1" CR */
#define LINE_MAX_	(METHOD_MAX + 1 + HTTP_TARGET_MAX + 1 + 8 + 1)

/* tchar - a token character (RFC 9110, 5.6.2) */
static int
tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != '\0' &&
	    strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* long_line - the verdict on a request line of more than LINE_MAX_
 * bytes, of which n are at s: 414 when its target alone is too long */
static int
long_line(const char *s, size_t n)
{
	const char *sp, *sp2;

	if ((sp = memchr(s, ' ', n)) == NULL || sp - s > METHOD_MAX)
		return 400;
	sp2 = memchr(sp + 1, ' ', n - (size_t)(sp + 1 - s));
	if (sp2 == NULL)
		sp2 = s + n;
	return sp2 - (sp + 1) >= HTTP_TARGET_MAX ? 414 : 400;
}

/* request_line - the first line, n bytes at s without its LF */
static int
request_line(const char *s, size_t n, struct http_req *r)
{
	const char *sp, *t, *v, *q;
	size_t	 ml, tl, vl;
	int	 verdict = 0;

	if (n > 0 && s[n - 1] == '\r')
		n--;
	if (memchr(s, '\r', n) != NULL)
		return 400;		/* a bare CR */
	if ((sp = memchr(s, ' ', n)) == NULL)
		return 400;
	ml = (size_t)(sp - s);
	if (ml == 0 || ml > METHOD_MAX)
		return 400;
	for (size_t i = 0; i < ml; i++)
		if (!tchar((unsigned char)s[i]))
			return 400;
	t = sp + 1;
	if ((v = memchr(t, ' ', n - (size_t)(t - s))) == NULL)
		return 400;		/* HTTP/0.9, or no version */
	tl = (size_t)(v - t);
	if (tl >= HTTP_TARGET_MAX)
		return 414;
	if (tl == 0 || t[0] != '/')
		return 400;		/* origin-form only */
	for (size_t i = 0; i < tl; i++)
		if ((unsigned char)t[i] <= 0x20 || (unsigned char)t[i] >= 0x7f)
			return 400;
	v++;
	vl = n - (size_t)(v - s);
	if (vl != 8 || memcmp(v, "HTTP/", 5) != 0 || v[6] != '.' ||
	    v[5] < '0' || v[5] > '9' || v[7] < '0' || v[7] > '9')
		return 400;
	if (v[5] != '1' || (v[7] != '0' && v[7] != '1'))
		verdict = 505;
	else if (!(ml == 3 && memcmp(s, "GET", 3) == 0) &&
	    !(ml == 4 && memcmp(s, "HEAD", 4) == 0))
		verdict = 405;
	if (verdict != 0)
		return verdict;
	memcpy(r->method, s, ml);
	r->method[ml] = '\0';
	q = memchr(t, '?', tl);
	if (q != NULL)
		tl = (size_t)(q - t);
	memcpy(r->path, t, tl);
	r->path[tl] = '\0';
	r->minor = v[7] - '0';
	return 0;
}

struct fields {
	unsigned	n;
	unsigned	host;
};

/* has_name - is the field at s (n bytes) named name (case-insensitive) */
static int
has_name(const char *s, size_t n, const char *name)
{
	size_t	 k = strlen(name);

	return n > k && s[k] == ':' && strncasecmp(s, name, k) == 0;
}

/* field_line - one header field, n bytes at s without its LF */
static int
field_line(const char *s, size_t n, struct fields *f)
{
	const char *colon, *v;
	size_t	 i, vl;

	if (n > 0 && s[n - 1] == '\r')
		n--;
	if (++f->n > HTTP_FIELDS_MAX)
		return 431;
	if ((colon = memchr(s, ':', n)) == NULL || colon == s)
		return 400;	/* also obs-fold: a line starting with SP */
	for (i = 0; s + i < colon; i++)
		if (!tchar((unsigned char)s[i]))
			return 400;
	for (v = colon + 1; v < s + n; v++)
		if (((unsigned char)*v < 0x20 && *v != '\t') ||
		    (unsigned char)*v == 0x7f)
			return 400;
	if (has_name(s, n, "host"))
		f->host++;
	else if (has_name(s, n, "transfer-encoding"))
		return 400;	/* no body, ever */
	else if (has_name(s, n, "content-length")) {
		v = colon + 1;
		vl = (size_t)(s + n - v);
		while (vl > 0 && (*v == ' ' || *v == '\t')) {
			v++;
			vl--;
		}
		while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
			vl--;
		if (vl != 1 || *v != '0')
			return 400;
	}
	return 0;
}

/* http_parse - see http.h */
int
http_parse(const char *buf, size_t len, struct http_req *r)
{
	struct fields f;
	const char *s = buf, *nl;
	size_t	 lim = len < HTTP_HEAD_MAX ? len : HTTP_HEAD_MAX, n;
	int	 first = 1, v;

	memset(r, 0, sizeof(*r));
	memset(&f, 0, sizeof(f));
	for (;;) {
		n = (size_t)(buf + lim - s);
		nl = memchr(s, '\n', n);
		if (nl != NULL)
			n = (size_t)(nl - s);
		/* the checks a line gets complete or not, in order; a
		 * request line is judged on its first LINE_MAX_ + 1 bytes
		 * once it is longer, whatever follows */
		if (first && n > LINE_MAX_) {
			if (memchr(s, '\0', LINE_MAX_ + 1) != NULL)
				return 400;
			return long_line(s, LINE_MAX_ + 1);
		}
		if (memchr(s, '\0', n) != NULL)
			return 400;
		if (nl == NULL)
			return len >= HTTP_HEAD_MAX ? 431 : HTTP_MORE;
		if (first) {
			if ((v = request_line(s, n, r)) != 0)
				return v;
			first = 0;
		} else if (n == 0 || (n == 1 && s[0] == '\r')) {
			if (r->minor == 1 && f.host != 1)
				return 400;	/* RFC 9112, 3.2 */
			if (f.host > 1)
				return 400;
			r->len = (size_t)(nl + 1 - buf);
			return 200;
		} else if ((v = field_line(s, n, &f)) != 0)
			return v;
		s = nl + 1;
	}
}

/* http_reason - the reason phrase of a status this server sends */
const char *
http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 414: return "URI Too Long";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Error";
	}
}
