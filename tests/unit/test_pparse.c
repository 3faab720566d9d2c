/*
 * test_pparse - the policy request parser: good requests, pipelining,
 * every malformed kind, and the exact boundaries of each limit.  Each
 * case is parsed whole and again one byte at a time: the verdict must
 * not depend on how the bytes arrive.
 */
#include <stdlib.h>

#include "pparse.h"
#include "t.h"

#define REQ	"request=smtpd_access_policy\n"

struct tcase {
	const char	*name;
	const char	*in;
	enum pp_status	 want;
	unsigned	 n;		/* attributes, when PP_DONE */
};

static const struct tcase cases[] = {
	{ "minimal", REQ "\n", PP_DONE, 1 },
	{ "typical", REQ "protocol_state=END-OF-MESSAGE\n"
	    "sasl_username=alice\nsender=\nsize=1234\n\n", PP_DONE, 5 },
	{ "empty value", REQ "sender=\n\n", PP_DONE, 2 },
	{ "value with =", REQ "x=a=b\n\n", PP_DONE, 2 },
	{ "unknown attribute", REQ "frobnicate=1\n\n", PP_DONE, 2 },
	{ "request last", "a=1\n" REQ "\n", PP_DONE, 2 },
	{ "incomplete line", REQ "sender=x", PP_MORE, 0 },
	{ "no empty line", REQ "sender=x\n", PP_MORE, 0 },
	{ "nothing", "", PP_MORE, 0 },
	{ "empty request", "\n", PP_ERR_REQUEST, 0 },
	{ "missing request", "sender=a\n\n", PP_ERR_REQUEST, 0 },
	{ "wrong request", "request=other\n\n", PP_ERR_REQUEST, 0 },
	{ "no =", REQ "garbage\n\n", PP_ERR_SYNTAX, 0 },
	{ "empty name", REQ "=x\n\n", PP_ERR_SYNTAX, 0 },
	{ "NUL in value", REQ "sender=a\0b\n\n", PP_ERR_NUL, 0 },
};

/* inlen - case lengths include embedded NULs, so measure to "\n\n" */
static size_t
inlen(const struct tcase *c)
{
	size_t	 n = strlen(c->in);

	if (c->want == PP_ERR_NUL)
		n += 1 + strlen(c->in + n + 1);
	return n;
}

/* run - parse in[0..len) fed in steps of step bytes; the final status */
static enum pp_status
run(const char *in, size_t len, size_t step, struct pp_req *r)
{
	char		*buf = malloc(len + 1);
	size_t		 have = 0;
	enum pp_status	 st = PP_MORE;

	pp_init(r);
	while (have < len || have == 0) {
		size_t	k = len - have < step ? len - have : step;

		memcpy(buf + have, in + have, k);
		have += k;
		st = pp_parse(r, buf, have);
		if (st != PP_MORE || len == 0)
			break;
	}
	free(buf);		/* attributes are not looked at after this */
	return st;
}

/* line_req - a request with one attribute line of exactly n bytes */
static char *
line_req(size_t n, size_t *len)
{
	char	*s = malloc(n + 64);
	size_t	 k = strlen(REQ);

	memcpy(s, REQ, k);
	memcpy(s + k, "x=", 2);
	memset(s + k + 2, 'a', n - 2);
	s[k + n] = '\n';
	s[k + n + 1] = '\n';
	*len = k + n + 2;
	return s;
}

/* attrs_req - a request with n attribute lines, request= among them */
static char *
attrs_req(unsigned n, size_t *len)
{
	char	*s = malloc(64 * (size_t)n + 64);
	size_t	 k = 0;
	unsigned i;

	k += (size_t)sprintf(s, REQ);
	for (i = 1; i < n; i++)
		k += (size_t)sprintf(s + k, "a%u=1\n", i);
	s[k++] = '\n';
	*len = k;
	return s;
}

/* size_req - a request of exactly n bytes made of 2000-byte lines */
static char *
size_req(size_t n, size_t *len)
{
	char	*s = malloc(n + 1);
	size_t	 k = strlen(REQ);

	memcpy(s, REQ, k);
	while (n - k - 1 > 0) {
		size_t	 l = n - k - 1 - 1;	/* line + "\n" */

		if (l > 2000)
			l = 2000;
		if (l < 2) {	/* too short for "x=": widen the previous */
			l = 2;
		}
		memcpy(s + k, "y=", 2);
		memset(s + k + 2, 'b', l - 2);
		s[k + l] = '\n';
		k += l + 1;
	}
	s[k++] = '\n';
	*len = k;
	return s;
}

static void
check(const char *name, const char *in, size_t len, enum pp_status want,
    unsigned n)
{
	struct pp_req	*r = malloc(sizeof(*r));
	size_t		 steps[] = { len ? len : 1, 1, 7, 1000 };
	size_t		 i;
	char		 label[128];

	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		enum pp_status st = run(in, len, steps[i], r);

		snprintf(label, sizeof(label), "%s (step %zu): %s", name,
		    steps[i], pp_strerror(want));
		T_EQ_U(st, want, label);
		if (want == PP_DONE && st == PP_DONE) {
			T_EQ_U(r->n, n, label);
			T_EQ_U(r->len, len, label);
		}
	}
	free(r);
}

static void
test_table(void)
{
	size_t	i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check(cases[i].name, cases[i].in, inlen(&cases[i]),
		    cases[i].want, cases[i].n);
}

static void
test_pipelined(void)
{
	char		 buf[] = REQ "sender=a@b\n\n" REQ "sender=c@d\n\n"
			    REQ "protocol_state=RCPT";
	size_t		 len = sizeof(buf) - 1, off = 0;
	struct pp_req	 r;
	enum pp_status	 st;

	pp_init(&r);
	st = pp_parse(&r, buf, len);
	T_EQ_U(st, PP_DONE, "pipelined: first");
	T_EQ_S(pp_get(&r, "sender"), "a@b", "pipelined: first sender");
	off += r.len;
	pp_init(&r);
	st = pp_parse(&r, buf + off, len - off);
	T_EQ_U(st, PP_DONE, "pipelined: second");
	T_EQ_S(pp_get(&r, "sender"), "c@d", "pipelined: second sender");
	T_EQ_U(pp_get(&r, "protocol_state") == NULL, 1, "no leak across");
	off += r.len;
	pp_init(&r);
	st = pp_parse(&r, buf + off, len - off);
	T_EQ_U(st, PP_MORE, "pipelined: third incomplete");
}

static void
test_bounds(void)
{
	char	*s;
	size_t	 len;

	s = line_req(PP_LINE_MAX, &len);
	check("line of 2048 bytes", s, len, PP_DONE, 2);
	free(s);
	s = line_req(PP_LINE_MAX + 1, &len);
	check("line of 2049 bytes", s, len, PP_ERR_LINE, 0);
	free(s);
	/* a long line without any "\n" is refused without waiting */
	s = line_req(PP_LINE_MAX + 1, &len);
	check("2049 bytes, no newline yet", s, len - 2, PP_ERR_LINE, 0);
	free(s);

	s = attrs_req(PP_ATTR_MAX, &len);
	check("128 attributes", s, len, PP_DONE, PP_ATTR_MAX);
	free(s);
	s = attrs_req(PP_ATTR_MAX + 1, &len);
	check("129 attributes", s, len, PP_ERR_ATTRS, 0);
	free(s);
	s = attrs_req(10000, &len);
	check("10000 attributes", s, len, PP_ERR_ATTRS, 0);
	free(s);

	s = size_req(PP_REQ_MAX, &len);
	T_EQ_U(len, PP_REQ_MAX, "size_req builds 16384 bytes");
	check("request of 16384 bytes", s, len, PP_DONE, 10);
	free(s);
	s = size_req(PP_REQ_MAX + 1, &len);
	T_EQ_U(len, PP_REQ_MAX + 1, "size_req builds 16385 bytes");
	check("request of 16385 bytes", s, len, PP_ERR_SIZE, 0);
	free(s);
}

static void
test_in_place(void)
{
	char		 buf[] = REQ "client_address=192.0.2.1\n"
			    "client_port=40000\n\n";
	struct pp_req	 r;

	pp_init(&r);
	T_EQ_U(pp_parse(&r, buf, sizeof(buf) - 1), PP_DONE, "in place");
	T_EQ_S(pp_get(&r, "client_address"), "192.0.2.1", "address");
	T_EQ_S(pp_get(&r, "client_port"), "40000", "port");
	T_EQ_S(pp_get(&r, "request"), "smtpd_access_policy", "request");
	T_OK(pp_get(&r, "client") == NULL, "no prefix match");
}

int
main(void)
{
	test_table();
	test_pipelined();
	test_bounds();
	test_in_place();
	return t_done();
}
