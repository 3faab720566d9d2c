/*
 * fuzz_json - libFuzzer entry: any bytes as a JSON document, the reader
 * `mailgovctl account import` uses.  json_parse must never read past the
 * input (copied to an exact-size allocation so ASan sees an overread),
 * must answer a tree or NULL with a one-line, terminated error, and a
 * tree must keep the limits and hold only NUL-free UTF-8 strings.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const struct json_limits lim = {
	.max_bytes = 1 << 16, .max_depth = 5, .max_values = 4096,
	.max_members = 64, .max_string = 1024,
};

/* walk - the tree's invariants; the number of values it holds */
static size_t
walk(const struct json *v, unsigned depth)
{
	const struct json *c;
	size_t	 n = 1, k = 0;

	if (depth > lim.max_depth + 1)
		abort();
	if (v->type == JSON_STRING &&
	    (v->str == NULL || strlen(v->str) > lim.max_string))
		abort();
	for (c = v->child; c != NULL; c = c->next, k++) {
		if ((v->type == JSON_OBJECT) != (c->key != NULL))
			abort();
		n += walk(c, depth + 1);
	}
	if (k != v->n || (v->type == JSON_OBJECT && k > lim.max_members))
		abort();
	return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json *j;
	char	*buf, err[256];

	if ((buf = malloc(size ? size : 1)) == NULL)
		return 0;
	memcpy(buf, data, size);
	memset(err, 'x', sizeof(err));
	j = json_parse(buf, size, &lim, err, sizeof(err));
	if (j == NULL) {
		if (memchr(err, '\0', sizeof(err)) == NULL ||
		    strchr(err, '\n') != NULL)
			abort();
	} else if (walk(j, 0) > lim.max_values)
		abort();
	json_free(j);
	free(buf);
	return 0;
}
