/*
 * json - the strict, bounded JSON reader (see json.h).  Recursive descent,
 * with the depth bounded by the caller; decoded strings go to one arena
 * the size of the input (a decoded string is never longer than its
 * quoted form), so no string allocation can grow past what was read.
 *
 * Trusts: nothing in the input; limits come from the caller.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "utf8.h"

/* A value and the chain every value of the document is on, to free. */
struct jnode {
	struct json	 v;
	struct jnode	*all;
};

/* The root's node also holds the document's arena and chain. */
struct jdoc {
	struct jnode	 root;
	char		*arena;
};

struct parser {
	const char	*p, *end;
	unsigned	 line, depth;
	size_t		 values;
	const struct json_limits *lim;
	char		*arena;
	size_t		 used;
	struct jnode	*all;
	struct jdoc	*doc;
	char		*err;
	size_t		 errlen;
};

static int	value(struct parser *, struct json *);

/* fail - the one error line, with where it happened */
static int __attribute__((format(printf, 2, 3)))
fail(struct parser *ps, const char *fmt, ...)
{
	char	 msg[200];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(ps->err, ps->errlen, "line %u: %s", ps->line, msg);
	return -1;
}

/* skip_ws - the four white-space characters JSON has */
static void
skip_ws(struct parser *ps)
{
	while (ps->p < ps->end) {
		if (*ps->p == '\n')
			ps->line++;
		else if (*ps->p != ' ' && *ps->p != '\t' && *ps->p != '\r')
			return;
		ps->p++;
	}
}

/* new_value - one more value, counted against the limit */
static struct json *
new_value(struct parser *ps)
{
	struct jnode *n;

	if (++ps->values > ps->lim->max_values) {
		fail(ps, "more than %zu values", ps->lim->max_values);
		return NULL;
	}
	if ((n = calloc(1, sizeof(*n))) == NULL) {
		fail(ps, "out of memory");
		return NULL;
	}
	n->all = ps->all;
	ps->all = n;
	return &n->v;
}

/* literal - "true", "false" or "null" */
static int
literal(struct parser *ps, struct json *v)
{
	static const struct {
		const char	*word;
		enum json_type	 type;
	} lits[] = {
		{ "true", JSON_TRUE }, { "false", JSON_FALSE },
		{ "null", JSON_NULL },
	};
	size_t	 i, n;

	for (i = 0; i < sizeof(lits) / sizeof(lits[0]); i++) {
		n = strlen(lits[i].word);
		if ((size_t)(ps->end - ps->p) >= n &&
		    memcmp(ps->p, lits[i].word, n) == 0) {
			ps->p += n;
			v->type = lits[i].type;
			return 0;
		}
	}
	return fail(ps, "not a JSON value");
}

/* number - a non-negative integer without leading zeros */
static int
number(struct parser *ps, struct json *v)
{
	uint64_t x = 0;
	const char *start = ps->p;

	while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') {
		if (ps->p > start && *start == '0')
			return fail(ps, "number with a leading zero");
		if (x > (UINT64_MAX - (uint64_t)(*ps->p - '0')) / 10)
			return fail(ps, "number too large");
		x = x * 10 + (uint64_t)(*ps->p - '0');
		ps->p++;
	}
	if (ps->p < ps->end && (*ps->p == '.' || *ps->p == 'e' ||
	    *ps->p == 'E'))
		return fail(ps, "only whole numbers are accepted");
	v->type = JSON_NUMBER;
	v->num = x;
	return 0;
}

/* hex4 - four hex digits of a \u escape */
static int
hex4(struct parser *ps, uint32_t *out)
{
	uint32_t x = 0;
	int	 i;
	char	 c;

	if (ps->end - ps->p < 4)
		return fail(ps, "short \\u escape");
	for (i = 0; i < 4; i++) {
		c = *ps->p++;
		x <<= 4;
		if (c >= '0' && c <= '9')
			x |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			x |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			x |= (uint32_t)(c - 'A' + 10);
		else
			return fail(ps, "bad \\u escape");
	}
	*out = x;
	return 0;
}

/* put_utf8 - code point cp into the arena */
static void
put_utf8(struct parser *ps, uint32_t cp)
{
	char	*o = ps->arena + ps->used;

	if (cp < 0x80) {
		o[0] = (char)cp;
		ps->used += 1;
	} else if (cp < 0x800) {
		o[0] = (char)(0xc0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3f));
		ps->used += 2;
	} else if (cp < 0x10000) {
		o[0] = (char)(0xe0 | cp >> 12);
		o[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		ps->used += 3;
	} else {
		o[0] = (char)(0xf0 | cp >> 18);
		o[1] = (char)(0x80 | (cp >> 12 & 0x3f));
		o[2] = (char)(0x80 | (cp >> 6 & 0x3f));
		o[3] = (char)(0x80 | (cp & 0x3f));
		ps->used += 4;
	}
}

/* escape - one backslash escape (the backslash already read) */
static int
escape(struct parser *ps)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *k;
	uint32_t cp, lo;

	if (ps->p >= ps->end)
		return fail(ps, "unterminated string");
	if (*ps->p != 'u') {
		if (*ps->p == '\0' || (k = strchr(from, *ps->p)) == NULL)
			return fail(ps, "bad escape in a string");
		ps->arena[ps->used++] = to[k - from];
		ps->p++;
		return 0;
	}
	ps->p++;
	if (hex4(ps, &cp) == -1)
		return -1;
	if (cp >= 0xdc00 && cp <= 0xdfff)
		return fail(ps, "lone surrogate in a string");
	if (cp >= 0xd800 && cp <= 0xdbff) {
		if (ps->end - ps->p < 2 || ps->p[0] != '\\' || ps->p[1] != 'u')
			return fail(ps, "lone surrogate in a string");
		ps->p += 2;
		if (hex4(ps, &lo) == -1)
			return -1;
		if (lo < 0xdc00 || lo > 0xdfff)
			return fail(ps, "lone surrogate in a string");
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
	}
	if (cp == 0)
		return fail(ps, "NUL in a string");
	put_utf8(ps, cp);
	return 0;
}

/* string - a quoted string (at its '"'), decoded into the arena */
static int
string(struct parser *ps, const char **out)
{
	size_t	 start = ps->used, n;
	unsigned char c;

	ps->p++;
	for (;;) {
		if (ps->p >= ps->end)
			return fail(ps, "unterminated string");
		if (ps->used - start > ps->lim->max_string)
			return fail(ps, "string longer than %zu bytes",
			    ps->lim->max_string);
		c = (unsigned char)*ps->p;
		if (c == '"')
			break;
		if (c < 0x20)
			return fail(ps, "control character in a string");
		if (c == '\\') {
			ps->p++;
			if (escape(ps) == -1)
				return -1;
		} else if (c < 0x80) {
			ps->arena[ps->used++] = (char)c;
			ps->p++;
		} else {
			if ((n = utf8_seq((const unsigned char *)ps->p,
			    (const unsigned char *)ps->end)) == 0)
				return fail(ps, "invalid UTF-8 in a string");
			memcpy(ps->arena + ps->used, ps->p, n);
			ps->used += n;
			ps->p += n;
		}
	}
	if (ps->used - start > ps->lim->max_string)
		return fail(ps, "string longer than %zu bytes",
		    ps->lim->max_string);
	ps->p++;
	ps->arena[ps->used++] = '\0';
	*out = ps->arena + start;
	return 0;
}

/* container - an array or object (at its bracket) */
static int
container(struct parser *ps, struct json *v, int obj)
{
	struct json *m, **tail = &v->child, *o;
	const char *key = NULL;
	char	 close = obj ? '}' : ']';

	if (++ps->depth > ps->lim->max_depth)
		return fail(ps, "nested deeper than %u", ps->lim->max_depth);
	v->type = obj ? JSON_OBJECT : JSON_ARRAY;
	ps->p++;
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == close) {
		ps->p++;
		ps->depth--;
		return 0;
	}
	for (;;) {
		skip_ws(ps);
		if (obj) {
			if (ps->p >= ps->end || *ps->p != '"')
				return fail(ps, "expected a member name");
			if (v->n >= ps->lim->max_members)
				return fail(ps, "object with more than %zu "
				    "members", ps->lim->max_members);
			if (string(ps, &key) == -1)
				return -1;
			for (o = v->child; o != NULL; o = o->next)
				if (strcmp(o->key, key) == 0)
					return fail(ps, "duplicate member "
					    "'%.64s'", key);
			skip_ws(ps);
			if (ps->p >= ps->end || *ps->p != ':')
				return fail(ps, "expected ':'");
			ps->p++;
			skip_ws(ps);
		}
		if ((m = new_value(ps)) == NULL)
			return -1;
		m->key = key;
		*tail = m;
		tail = &m->next;
		v->n++;
		if (value(ps, m) == -1)
			return -1;
		skip_ws(ps);
		if (ps->p >= ps->end)
			return fail(ps, "unterminated %s", obj ? "object" :
			    "array");
		if (*ps->p == close) {
			ps->p++;
			ps->depth--;
			return 0;
		}
		if (*ps->p != ',')
			return fail(ps, "expected ',' or '%c'", close);
		ps->p++;
	}
}

/* value - any value at ps->p, white space already skipped */
static int
value(struct parser *ps, struct json *v)
{
	v->line = ps->line;
	if (ps->p >= ps->end)
		return fail(ps, "unexpected end of input");
	switch (*ps->p) {
	case '{':
		return container(ps, v, 1);
	case '[':
		return container(ps, v, 0);
	case '"':
		v->type = JSON_STRING;
		return string(ps, &v->str);
	case '-':
		return fail(ps, "negative numbers are not accepted");
	default:
		if (*ps->p >= '0' && *ps->p <= '9')
			return number(ps, v);
		return literal(ps, v);
	}
}

/* free_all - every value on the chain */
static void
free_all(struct jnode *n)
{
	struct jnode *next;

	for (; n != NULL; n = next) {
		next = n->all;
		free(n);
	}
}

struct json *
json_parse(const char *buf, size_t len, const struct json_limits *lim,
    char *err, size_t errlen)
{
	struct parser ps;
	struct jdoc *doc;

	memset(&ps, 0, sizeof(ps));
	ps.line = 1;
	ps.lim = lim;
	ps.err = err;
	ps.errlen = errlen;
	if (errlen > 0)
		err[0] = '\0';
	if (len > lim->max_bytes) {
		snprintf(err, errlen, "larger than %zu bytes", lim->max_bytes);
		return NULL;
	}
	if ((doc = calloc(1, sizeof(*doc))) == NULL ||
	    (doc->arena = malloc(len + 1)) == NULL) {
		free(doc);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	ps.arena = doc->arena;
	ps.p = buf;
	ps.end = buf + len;
	ps.values = 1;
	skip_ws(&ps);
	if (value(&ps, &doc->root.v) == -1)
		goto bad;
	skip_ws(&ps);
	if (ps.p != ps.end) {
		fail(&ps, "text after the JSON value");
		goto bad;
	}
	doc->root.all = ps.all;
	return &doc->root.v;
bad:
	free_all(ps.all);
	free(doc->arena);
	free(doc);
	return NULL;
}

void
json_free(struct json *root)
{
	struct jdoc *doc = (struct jdoc *)root;

	if (doc == NULL)
		return;
	free_all(doc->root.all);
	free(doc->arena);
	free(doc);
}

const struct json *
json_member(const struct json *o, const char *key)
{
	const struct json *m;

	if (o == NULL || o->type != JSON_OBJECT)
		return NULL;
	for (m = o->child; m != NULL; m = m->next)
		if (strcmp(m->key, key) == 0)
			return m;
	return NULL;
}

const char *
json_type_name(enum json_type t)
{
	switch (t) {
	case JSON_NULL:		return "null";
	case JSON_FALSE:
	case JSON_TRUE:		return "a boolean";
	case JSON_NUMBER:	return "a number";
	case JSON_STRING:	return "a string";
	case JSON_ARRAY:	return "an array";
	case JSON_OBJECT:	return "an object";
	}
	return "?";
}
