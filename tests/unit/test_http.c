/*
 * test_http - the HTTP request-head parser: good requests, each status
 * it gives, and the exact boundaries of each limit.  Every case is parsed
 * whole and again one byte at a time: a verdict other than "more" must
 * be the same however the bytes arrive.
 */
#include <stdlib.h>

#include "http.h"
#include "t.h"

#define H11	" HTTP/1.1\r\nHost: x\r\n"

struct tcase {
	const char	*name;
	const char	*in;
	size_t		 len;		/* 0: strlen */
	int		 want;
	const char	*path;		/* when 200 */
};

static const struct tcase cases[] = {
	{ "curl", "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:9464\r\n"
	    "User-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n", 0, 200,
	    "/metrics" },
	{ "prometheus", "GET /metrics HTTP/1.1\r\nHost: h:9464\r\n"
	    "Accept: application/openmetrics-text;version=1.0.0,text/plain;"
	    "version=0.0.4;q=0.5,*/*;q=0.1\r\nAccept-Encoding: gzip\r\n"
	    "X-Prometheus-Scrape-Timeout-Seconds: 10\r\n\r\n", 0, 200,
	    "/metrics" },
	{ "HTTP/1.0 without Host", "GET /metrics HTTP/1.0\r\n\r\n", 0, 200,
	    "/metrics" },
	{ "bare LF", "GET /metrics HTTP/1.1\nHost: x\n\n", 0, 200,
	    "/metrics" },
	{ "HEAD", "HEAD /metrics" H11 "\r\n", 0, 200, "/metrics" },
	{ "query dropped", "GET /metrics?x=1" H11 "\r\n", 0, 200,
	    "/metrics" },
	{ "Content-Length 0", "GET /m" H11 "Content-Length: 0\r\n\r\n", 0,
	    200, "/m" },
	{ "incomplete", "GET /metrics HTTP/1.1\r\nHost: x\r\n", 0,
	    HTTP_MORE, NULL },
	{ "nothing", "", 0, HTTP_MORE, NULL },
	{ "POST", "POST /metrics" H11 "\r\n", 0, 405, NULL },
	{ "DELETE", "DELETE /metrics" H11 "\r\n", 0, 405, NULL },
	{ "lower-case get", "get /metrics" H11 "\r\n", 0, 405, NULL },
	{ "HTTP/0.9", "GET /metrics\r\n\r\n", 0, 400, NULL },
	{ "HTTP/2.0", "GET /metrics HTTP/2.0\r\n\r\n", 0, 505, NULL },
	{ "HTTP/1.2", "GET /metrics HTTP/1.2\r\n\r\n", 0, 505, NULL },
	{ "garbage version", "GET /metrics FOO/1.1\r\n\r\n", 0, 400, NULL },
	{ "no Host in 1.1", "GET /metrics HTTP/1.1\r\n\r\n", 0, 400, NULL },
	{ "two Hosts", "GET /m" H11 "Host: y\r\n\r\n", 0, 400, NULL },
	{ "absolute form", "GET http://x/metrics" H11 "\r\n", 0, 400, NULL },
	{ "asterisk", "OPTIONS *" H11 "\r\n", 0, 400, NULL },
	{ "space in target", "GET /a b" H11 "\r\n", 0, 400, NULL },
	{ "no method", " /metrics" H11 "\r\n", 0, 400, NULL },
	{ "bad method char", "G(T /metrics" H11 "\r\n", 0, 400, NULL },
	{ "bare CR", "GET /m\rX HTTP/1.1\r\nHost: x\r\n\r\n", 0, 400, NULL },
	{ "NUL in line", "GET /m\0 HTTP/1.1\r\n\r\n", 22, 400, NULL },
	{ "NUL in a partial line", "GET /m\0", 7, 400, NULL },
	{ "binary", "\001\002\003\377 x\r\n\r\n", 0, 400, NULL },
	{ "field without colon", "GET /m" H11 "Broken\r\n\r\n", 0, 400,
	    NULL },
	{ "obs-fold", "GET /m" H11 "X: a\r\n b\r\n\r\n", 0, 400, NULL },
	{ "space before colon", "GET /m" H11 "X : a\r\n\r\n", 0, 400, NULL },
	{ "control in value", "GET /m" H11 "X: a\001b\r\n\r\n", 0, 400,
	    NULL },
	{ "a body", "GET /m" H11 "Content-Length: 5\r\n\r\nhello", 0, 400,
	    NULL },
	{ "chunked", "GET /m" H11 "Transfer-Encoding: chunked\r\n\r\n", 0,
	    400, NULL },
};

/* once - parse in[0..len) whole */
static int
once(const char *in, size_t len, struct http_req *r)
{
	return http_parse(in, len, r);
}

/* bytewise - feed one more byte each time; the first verdict other
 * than HTTP_MORE, or HTTP_MORE */
static int
bytewise(const char *in, size_t len)
{
	struct http_req r;
	size_t	 i;
	int	 v;

	for (i = 1; i <= len; i++)
		if ((v = http_parse(in, i, &r)) != HTTP_MORE)
			return v;
	return HTTP_MORE;
}

/* filled - n bytes: prefix, then c up to n - strlen(suffix), then suffix */
static char *
filled(const char *prefix, char c, const char *suffix, size_t n)
{
	char	*s = malloc(n + 1);
	size_t	 p = strlen(prefix), q = strlen(suffix);

	if (s == NULL)
		abort();
	memcpy(s, prefix, p);
	memset(s + p, c, n - p - q);
	memcpy(s + n - q, suffix, q);
	s[n] = '\0';
	return s;
}

static void
test_limits(void)
{
	struct http_req r;
	char	*s;
	size_t	 n;

	/* the longest target that fits, and one byte more */
	s = filled("GET /", 'a', H11 "\r\n", 4 + (HTTP_TARGET_MAX - 1) +
	    strlen(H11 "\r\n"));
	T_EQ_U(http_parse(s, strlen(s), &r), 200, "target of 255 bytes");
	T_EQ_U(strlen(r.path), HTTP_TARGET_MAX - 1, "its path is whole");
	free(s);
	s = filled("GET /", 'a', H11 "\r\n", 4 + HTTP_TARGET_MAX +
	    strlen(H11 "\r\n"));
	T_EQ_U(http_parse(s, strlen(s), &r), 414, "target of 256 bytes");
	T_EQ_U(bytewise(s, strlen(s)), 414, "the same, byte by byte");
	free(s);
	/* a long target with no end yet is judged early */
	s = filled("GET /", 'a', "", 1000);
	T_EQ_U(http_parse(s, strlen(s), &r), 414, "1000 bytes of target, "
	    "no end yet");
	free(s);
	/* what follows the first LINE_MAX_ + 1 bytes cannot change the
	 * verdict (found by fuzz_http: a NUL later in the line) */
	s = filled("GET /", 'a', "\0 HTTP/1.1\r\n\r\n", 400);
	T_EQ_U(http_parse(s, 400, &r), 414, "a NUL after a long target");
	T_EQ_U(bytewise(s, 400), 414, "the same, byte by byte");
	free(s);
	s = filled("GETGETGETGETGETGETGET", 'a', "", 1000);
	T_EQ_U(http_parse(s, strlen(s), &r), 400, "1000 bytes, no space");
	free(s);
	/* a head of exactly HTTP_HEAD_MAX bytes, and one more */
	n = HTTP_HEAD_MAX;
	s = filled("GET /m" H11 "X: ", 'a', "\r\n\r\n", n);
	T_EQ_U(http_parse(s, n, &r), 200, "a head of HTTP_HEAD_MAX bytes");
	T_EQ_U(r.len, n, "its length");
	free(s);
	s = filled("GET /m" H11 "X: ", 'a', "\r\n\r\n", n + 1);
	T_EQ_U(http_parse(s, n + 1, &r), 431, "one byte more");
	T_EQ_U(bytewise(s, n + 1), 431, "the same, byte by byte");
	free(s);
	s = filled("GET /m" H11 "X: ", 'a', "", n);
	T_EQ_U(http_parse(s, n, &r), 431, "HTTP_HEAD_MAX bytes and no end");
	free(s);
}

static void
test_fields_max(void)
{
	struct http_req r;
	char	 buf[2048];
	size_t	 n;
	int	 i;

	n = (size_t)snprintf(buf, sizeof(buf), "GET /m HTTP/1.1\r\n");
	for (i = 0; i < HTTP_FIELDS_MAX; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s: v\r\n",
		    i == 0 ? "Host" : "X");
	snprintf(buf + n, sizeof(buf) - n, "\r\n");
	T_EQ_U(http_parse(buf, strlen(buf), &r), 200, "HTTP_FIELDS_MAX fields");
	snprintf(buf + n, sizeof(buf) - n, "Y: v\r\n\r\n");
	T_EQ_U(http_parse(buf, strlen(buf), &r), 431, "one field more");
}

int
main(void)
{
	struct http_req r;
	size_t	 i, len;
	int	 v, b;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		len = cases[i].len ? cases[i].len : strlen(cases[i].in);
		v = once(cases[i].in, len, &r);
		T_EQ_U(v, cases[i].want, cases[i].name);
		if (v == 200 && cases[i].path != NULL)
			T_EQ_S(r.path, cases[i].path, cases[i].name);
		b = bytewise(cases[i].in, len);
		T_OK(b == v, "%s: byte by byte %d, whole %d", cases[i].name, b,
		    v);
	}
	test_limits();
	test_fields_max();
	T_EQ_S(http_reason(431), "Request Header Fields Too Large", "reason");
	T_EQ_S(http_reason(999), "Error", "unknown reason");
	return t_done();
}
