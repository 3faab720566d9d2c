/*
 * resp - a command in Redis's wire form (RESP: "*N\r\n" then "$LEN\r\n"
 * DATA "\r\n" per argument), written straight into a growing buffer.
 * Why not hiredis's redisFormatCommandArgv: it needs every argument as a
 * string first and prints each length with sprintf; a batch of charges
 * is mostly numbers, and that formatting was a visible part of
 * mailgovd's time per message with budget_store = redis.
 */
#ifndef MAILGOV_RESP_H
#define MAILGOV_RESP_H

#include <stddef.h>
#include <stdint.h>

struct resp {
	char	*buf;
	size_t	 len, cap;
	int	 err;		/* out of memory: the command is unusable */
};

/* resp_begin - start a command of argc arguments in r (emptied) */
void	resp_begin(struct resp *, size_t argc);
/* resp_str - one argument: n bytes of s */
void	resp_str(struct resp *, const char *s, size_t n);
/* resp_cstr - one argument: the string s */
void	resp_cstr(struct resp *, const char *s);
/* resp_u64 - one argument: v in decimal */
void	resp_u64(struct resp *, uint64_t v);
void	resp_free(struct resp *);

#endif
