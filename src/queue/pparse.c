/*
 * pparse - the Postfix policy request parser (see pparse.h).  Pure: no
 * I/O, no allocation, no global state.  Every byte comes from an untrusted
 * client; the only thing written is the caller's buffer, in place.
 *
 * Trusts: nothing a client sends.
 */
#include <string.h>

#include "pparse.h"

/* pp_init - ready req for a new request at the start of the buffer */
void
pp_init(struct pp_req *r)
{
	r->pos = 0;
	r->line = 0;
	r->has_request = 0;
	r->n = 0;
	r->len = 0;
}

/* pp_line - take the complete line buf[r->line .. nl) as an attribute */
static enum pp_status
pp_line(struct pp_req *r, char *buf, size_t nl)
{
	char	*eq;

	if (r->n == PP_ATTR_MAX)
		return PP_ERR_ATTRS;
	eq = memchr(buf + r->line, '=', nl - r->line);
	if (eq == NULL || eq == buf + r->line)
		return PP_ERR_SYNTAX;
	*eq = '\0';
	buf[nl] = '\0';
	r->attr[r->n].name = buf + r->line;
	r->attr[r->n].value = eq + 1;
	r->n++;
	if (strcmp(buf + r->line, "request") == 0 &&
	    strcmp(eq + 1, "smtpd_access_policy") == 0)
		r->has_request = 1;
	return PP_MORE;
}

/* pp_parse - scan buf[0..len) for one request (see pparse.h) */
enum pp_status
pp_parse(struct pp_req *r, char *buf, size_t len)
{
	enum pp_status	 st;
	size_t		 end, line_end;
	char		*nl, *nul;

	for (;;) {
		/*
		 * The current line's "\n" may sit at most PP_LINE_MAX bytes
		 * after its start, and no later than the last byte a
		 * request may have.  Never look past either bound, so the
		 * verdict does not depend on how the bytes were split.
		 */
		line_end = r->line + PP_LINE_MAX + 1;
		end = len;
		if (end > line_end)
			end = line_end;
		if (end > PP_REQ_MAX)
			end = PP_REQ_MAX;
		if (r->pos > end)	/* caller shrank the buffer */
			return PP_ERR_SIZE;
		nl = memchr(buf + r->pos, '\n', end - r->pos);
		nul = memchr(buf + r->pos, '\0',
		    (nl ? (size_t)(nl - buf) : end) - r->pos);
		if (nul != NULL)
			return PP_ERR_NUL;
		if (nl == NULL) {
			r->pos = end;
			if (end == line_end)	/* implies <= PP_REQ_MAX */
				return PP_ERR_LINE;
			if (end == PP_REQ_MAX)
				return PP_ERR_SIZE;
			return PP_MORE;
		}
		if ((size_t)(nl - buf) == r->line) {	/* the empty line */
			if (!r->has_request)
				return PP_ERR_REQUEST;
			r->len = (size_t)(nl - buf) + 1;
			r->pos = r->len;
			return PP_DONE;
		}
		st = pp_line(r, buf, (size_t)(nl - buf));
		if (st != PP_MORE)
			return st;
		r->line = r->pos = (size_t)(nl - buf) + 1;
	}
}

/* pp_get - the value of the first attribute called name, or NULL */
const char *
pp_get(const struct pp_req *r, const char *name)
{
	unsigned	i;

	for (i = 0; i < r->n; i++)
		if (strcmp(r->attr[i].name, name) == 0)
			return r->attr[i].value;
	return NULL;
}

/* pp_strerror - a short phrase for a status, for the log */
const char *
pp_strerror(enum pp_status st)
{
	switch (st) {
	case PP_DONE:		return "complete";
	case PP_MORE:		return "incomplete";
	case PP_ERR_LINE:	return "line too long";
	case PP_ERR_SIZE:	return "request too large";
	case PP_ERR_ATTRS:	return "too many attributes";
	case PP_ERR_NUL:	return "NUL byte";
	case PP_ERR_SYNTAX:	return "line without name=value";
	case PP_ERR_REQUEST:	return "no request=smtpd_access_policy";
	}
	return "unknown";
}
