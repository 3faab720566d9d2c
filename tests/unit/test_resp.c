/*
 * test_resp - resp.c writes exactly what hiredis's redisFormatCommandArgv
 * writes for the same arguments: empty, binary, long, numbers at the
 * edges, and many arguments (the buffer grows).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "resp.h"
#include "t.h"

/* same - r holds what hiredis formats for argv */
static int
same(const struct resp *r, int argc, const char **argv, const size_t *len)
{
	char	*cmd = NULL;
	int	 n, ok;

	n = redisFormatCommandArgv(&cmd, argc, argv, len);
	ok = n > 0 && !r->err && (size_t)n == r->len &&
	    memcmp(cmd, r->buf, r->len) == 0;
	redisFreeCommand(cmd);
	return ok;
}

int
main(void)
{
	static const uint64_t nums[] = { 0, 9, 10, 99, 100, 4294967296ULL,
	    UINT64_MAX };
	const char *argv[1200];
	size_t	 len[1200], i;
	char	 txt[7][24], big[70000], bin[3] = { 'a', '\0', '\r' };
	struct resp r;

	memset(&r, 0, sizeof(r));
	resp_begin(&r, 3);
	resp_cstr(&r, "EVALSHA");
	resp_str(&r, "", 0);
	resp_str(&r, bin, 3);
	argv[0] = "EVALSHA"; len[0] = 7;
	argv[1] = ""; len[1] = 0;
	argv[2] = bin; len[2] = 3;
	T_OK(same(&r, 3, argv, len), "text, empty and binary arguments");

	resp_begin(&r, 7);
	for (i = 0; i < 7; i++) {
		resp_u64(&r, nums[i]);
		snprintf(txt[i], sizeof(txt[i]), "%" PRIu64, nums[i]);
		argv[i] = txt[i];
		len[i] = strlen(txt[i]);
	}
	T_OK(same(&r, 7, argv, len), "numbers: 0, 9, 10, 99, 100, 2^32, "
	    "2^64-1");

	memset(big, 'x', sizeof(big));
	resp_begin(&r, 1200);
	for (i = 0; i < 1200; i++) {
		argv[i] = i == 600 ? big : "charge";
		len[i] = i == 600 ? sizeof(big) : 6;
		resp_str(&r, argv[i], len[i]);
	}
	T_OK(same(&r, 1200, argv, len), "1200 arguments and one of 70000 "
	    "bytes (the buffer grew to %zu)", r.cap);
	resp_begin(&r, 0);
	T_EQ_U(r.len, 4, "begin empties it: \"*0\\r\\n\"");
	resp_free(&r);
	resp_free(&r);
	return t_done();
}
