/*
 * reply - bounded reply objects for hiredis's reader (see reply.c), for
 * redisReaderCreateWithFunctions or a redisContext's reader.
 */
#ifndef MAILGOV_REPLY_H
#define MAILGOV_REPLY_H

#include <hiredis/read.h>

#define REPLY_MAXLEN	65536	/* one string in a reply, bytes */
#define REPLY_MAXELEM	256	/* one array in a reply */

extern redisReplyObjectFunctions reply_bounded;

#endif
