/*
 * fuzz_policy - libFuzzer entry for the policy request parser.  The input
 * is a client's byte stream: it is parsed as pipelined requests, whole
 * and in two pieces split at a point taken from the input, and both ways
 * must agree.  Every attribute handed back must lie inside the buffer and
 * be NUL-terminated there.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pparse.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* walk - parse every complete request; returns the bytes consumed and the
 * final status */
static size_t
walk(char *buf, size_t len, size_t split, enum pp_status *last)
{
	static struct pp_req r;
	size_t		 off = 0, have;
	enum pp_status	 st = PP_MORE;
	unsigned	 i;

	for (;;) {
		pp_init(&r);
		/* first feed up to split (if inside this request), then all */
		have = split > off && split < len ? split - off : len - off;
		st = pp_parse(&r, buf + off, have);
		if (st == PP_MORE && have < len - off)
			st = pp_parse(&r, buf + off, len - off);
		if (st != PP_DONE)
			break;
		if (r.len == 0 || r.len > len - off || r.len > PP_REQ_MAX ||
		    r.n > PP_ATTR_MAX)
			abort();
		for (i = 0; i < r.n; i++) {
			const char *n = r.attr[i].name, *v = r.attr[i].value;

			if (n < buf + off || v < n || v >= buf + off + r.len ||
			    strlen(n) > PP_LINE_MAX || strlen(v) > PP_LINE_MAX ||
			    n[0] == '\0')
				abort();
		}
		if (pp_get(&r, "request") == NULL)
			abort();
		off += r.len;
	}
	*last = st;
	return off;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char		*a, *b;
	size_t		 split, oa, ob;
	enum pp_status	 sa, sb;

	if (size < 2)
		return 0;
	split = data[0] * 256u + data[1];
	data += 2;
	size -= 2;
	a = malloc(size + 1);
	b = malloc(size + 1);
	if (a == NULL || b == NULL)
		abort();
	memcpy(a, data, size);
	memcpy(b, data, size);
	oa = walk(a, size, 0, &sa);
	ob = walk(b, size, split % (size + 1), &sb);
	if (oa != ob || sa != sb)
		abort();
	free(a);
	free(b);
	return 0;
}
