/*
 * fuzz_mark - libFuzzer entry: "QUEUE_ID\nVALUE" as an account header
 * read from a held message.  The value is the sender's to write, so
 * mark_check must never read past it (exact-size copy for ASan), must
 * answer 0 or -1, and may accept only what mark_make makes for that queue
 * ID with the key.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mark.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t key[MARK_KEYLEN] = "0123456789abcdef";
	const uint8_t *nl = memchr(data, '\n', size);
	char	*qid, *val, name[64], made[MARK_VALUE_MAX];
	size_t	 ql;
	int	 r;

	if (nl == NULL)
		return 0;
	ql = (size_t)(nl - data);
	if ((qid = malloc(ql + 1)) == NULL ||
	    (val = malloc(size - ql)) == NULL) {
		free(qid);
		return 0;
	}
	memcpy(qid, data, ql);
	qid[ql] = '\0';
	memcpy(val, nl + 1, size - ql - 1);
	val[size - ql - 1] = '\0';
	r = mark_check(key, qid, val, name, sizeof(name));
	if (r != 0 && r != -1)
		abort();
	if (r == 0 && (memchr(name, '\0', sizeof(name)) == NULL ||
	    mark_make(key, qid, name, made, sizeof(made)) != 0 ||
	    strstr(val, made) == NULL))
		abort();
	free(qid);
	free(val);
	return 0;
}
