/*
 * httpd - a minimal HTTP/1.1 server on the loop, for one read-only
 * resource (mailgovd's /metrics).  GET and HEAD of that one path; every
 * connection closes after its response.  Bounded: the request head
 * (http.h), the number of connections, and the time a connection may
 * take from accept to the last byte of its response.  Writes never
 * block: a large body waits for EPOLLOUT.
 */
#ifndef MAILGOV_HTTPD_H
#define MAILGOV_HTTPD_H

#include <stddef.h>
#include <stdint.h>

#include "loop.h"

#define HTTPD_CONNS	16	/* connections at once; more are closed */
#define HTTPD_DEADLINE	10	/* s from accept to the end of the answer,
				 * unless httpd_new is given another */

/*
 * httpd_fn - the resource: a malloc'd body of *len bytes for the server
 * to send and free, and its Content-Type in *ctype (a constant); NULL
 * when it cannot be made (the client gets a 500)
 */
typedef char *(*httpd_fn)(void *arg, size_t *len, const char **ctype);

struct httpd;

/*
 * httpd_new - listen on addr ("IPv4:port" or "[IPv6]:port", numeric) and
 * serve fn at path; a connection lives deadline seconds at most (0:
 * HTTPD_DEADLINE).  NULL with the reason in err.
 */
struct httpd *httpd_new(struct loop *, const char *addr, const char *path,
	    unsigned deadline, httpd_fn fn, void *arg, char *err,
	    size_t errlen);
/* httpd_tick - once a second: close what passed its deadline (408 when
 * the request never came), resume accepting after EMFILE */
void	httpd_tick(struct httpd *);
void	httpd_free(struct httpd *);

#endif
