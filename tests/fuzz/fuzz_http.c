/*
 * fuzz_http - libFuzzer entry for the HTTP request-head parser.  The
 * input is what a client sends.  It is parsed whole and at a split point
 * taken from the input: a verdict on the prefix other than "more" must
 * be the verdict on the whole.  A complete request must lie inside the
 * buffer, within HTTP_HEAD_MAX, with a bounded path that starts with '/'.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_req	 r, rp;
	size_t		 split;
	char		*buf;
	int		 v, vp;

	if (size < 2)
		return 0;
	split = data[0] * 256u + data[1];
	data += 2;
	size -= 2;
	/* exactly size bytes: a read past them is ASan's to catch */
	if ((buf = malloc(size ? size : 1)) == NULL)
		abort();
	memcpy(buf, data, size);
	v = http_parse(buf, size, &r);
	if (v == 200) {
		if (r.len == 0 || r.len > size || r.len > HTTP_HEAD_MAX ||
		    strnlen(r.path, HTTP_TARGET_MAX) >= HTTP_TARGET_MAX ||
		    r.path[0] != '/' || (r.minor != 0 && r.minor != 1) ||
		    (strcmp(r.method, "GET") != 0 &&
		    strcmp(r.method, "HEAD") != 0))
			abort();
	} else if (v != HTTP_MORE && (v < 400 || v > 505))
		abort();
	split %= size + 1;
	vp = http_parse(buf, split, &rp);
	if (vp != HTTP_MORE && vp != v)
		abort();
	free(buf);
	return 0;
}
