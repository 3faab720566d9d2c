/*
 * reply - hiredis's reply objects, built the way hiredis builds them
 * (freeReplyObject frees them) but refusing a string longer than
 * REPLY_MAXLEN or an array of more than REPLY_MAXELEM elements: the
 * reader then reports an error and the caller drops the connection.
 * hiredis 0.14's own functions would allocate whatever the server
 * announces.
 *
 * Trusts: nothing a server sends; lengths are checked before any
 * allocation.
 */
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "reply.h"

/* attach - put o into its parent array, as hiredis's functions do */
static void *
attach(const redisReadTask *t, redisReply *o)
{
	redisReply *parent;

	if (t->parent != NULL) {
		parent = t->parent->obj;
		if (parent == NULL || t->idx < 0 ||
		    (size_t)t->idx >= parent->elements) {
			freeReplyObject(o);
			return NULL;
		}
		parent->element[t->idx] = o;
	}
	return o;
}

static void *
mk_string(const redisReadTask *t, char *s, size_t len)
{
	redisReply *o;

	if (len > REPLY_MAXLEN)
		return NULL;	/* the reader calls that out of memory */
	if ((o = calloc(1, sizeof(*o))) == NULL)
		return NULL;
	if ((o->str = malloc(len + 1)) == NULL) {
		free(o);
		return NULL;
	}
	memcpy(o->str, s, len);
	o->str[len] = '\0';
	o->len = len;
	o->type = t->type;
	return attach(t, o);
}

static void *
mk_array(const redisReadTask *t, int n)
{
	redisReply *o;

	if (n < 0 || n > REPLY_MAXELEM)
		return NULL;
	if ((o = calloc(1, sizeof(*o))) == NULL)
		return NULL;
	if (n > 0 && (o->element = calloc((size_t)n,
	    sizeof(*o->element))) == NULL) {
		free(o);
		return NULL;
	}
	o->elements = (size_t)n;
	o->type = REDIS_REPLY_ARRAY;
	return attach(t, o);
}

static void *
mk_integer(const redisReadTask *t, long long v)
{
	redisReply *o;

	if ((o = calloc(1, sizeof(*o))) == NULL)
		return NULL;
	o->type = REDIS_REPLY_INTEGER;
	o->integer = v;
	return attach(t, o);
}

static void *
mk_nil(const redisReadTask *t)
{
	redisReply *o;

	if ((o = calloc(1, sizeof(*o))) == NULL)
		return NULL;
	o->type = REDIS_REPLY_NIL;
	return attach(t, o);
}

redisReplyObjectFunctions reply_bounded = {
	mk_string, mk_array, mk_integer, mk_nil, freeReplyObject
};

