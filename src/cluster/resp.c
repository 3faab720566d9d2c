/*
 * resp - Redis commands in wire form (see resp.h).  Pure.
 *
 * Trusts: its callers for the argument count; the bytes of an argument
 * can be anything (RESP carries lengths, not delimiters).
 */
#include <stdlib.h>
#include <string.h>

#include "resp.h"

/* room - make room for n more bytes; 0, or -1 (err is set) */
static int
room(struct resp *r, size_t n)
{
	char	*nb;
	size_t	 cap;

	if (r->err)
		return -1;
	if (r->len + n <= r->cap)
		return 0;
	cap = r->cap ? r->cap : 1024;
	while (cap < r->len + n)
		cap *= 2;
	if ((nb = realloc(r->buf, cap)) == NULL) {
		r->err = 1;
		return -1;
	}
	r->buf = nb;
	r->cap = cap;
	return 0;
}

/* digits - v in decimal into the end of tmp[24]; its first byte */
static char *
digits(char tmp[24], uint64_t v)
{
	char	*p = tmp + 24;

	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	return p;
}

/* line - PREFIX V "\r\n" */
static void
line(struct resp *r, char prefix, uint64_t v)
{
	char	 tmp[24], *d = digits(tmp, v);
	size_t	 n = (size_t)(tmp + 24 - d);

	if (room(r, n + 3) == -1)
		return;
	r->buf[r->len++] = prefix;
	memcpy(r->buf + r->len, d, n);
	r->len += n;
	r->buf[r->len++] = '\r';
	r->buf[r->len++] = '\n';
}

void
resp_begin(struct resp *r, size_t argc)
{
	r->len = 0;
	r->err = 0;
	line(r, '*', argc);
}

void
resp_str(struct resp *r, const char *s, size_t n)
{
	line(r, '$', n);
	if (room(r, n + 2) == -1)
		return;
	memcpy(r->buf + r->len, s, n);
	r->len += n;
	r->buf[r->len++] = '\r';
	r->buf[r->len++] = '\n';
}

void
resp_cstr(struct resp *r, const char *s)
{
	resp_str(r, s, strlen(s));
}

void
resp_u64(struct resp *r, uint64_t v)
{
	char	 tmp[24], *d = digits(tmp, v);

	resp_str(r, d, (size_t)(tmp + 24 - d));
}

void
resp_free(struct resp *r)
{
	free(r->buf);
	r->buf = NULL;
	r->len = r->cap = 0;
}
