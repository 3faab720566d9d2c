/*
 * postfix - pure helpers for mailgov's side of Postfix: the main.cf and
 * master.cf settings mailgov wants in the main instance and in its queue
 * instance, merging mailgov's element into a restriction list without
 * disturbing the administrator's, "postconf -n" lines, and one line of
 * "postqueue -j" output.  No I/O here: mailgovctl and mailgovd run the
 * Postfix commands and hand the text to these functions.
 *
 * Trusts: nothing.  postqueue -j lines carry envelope senders chosen by
 * whoever submitted the mail; the parser is bounded and tolerant, and a
 * line it does not understand is simply rejected.
 */
#ifndef MAILGOV_POSTFIX_H
#define MAILGOV_POSTFIX_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define PF_INSTANCE		"postfix-mailgov"
#define PF_GROUP		"mailgov"
/* the table of web users that authorized_submit_users refuses */
#define PF_WEB_USERS		"/etc/postfix/mailgov-web-users"
#define PF_WEB_USERS_ELEM	"!texthash:" PF_WEB_USERS

/* How a main.cf key is wanted. */
enum pf_how {
	PF_SET,		/* exactly this value (a key mailgov owns) */
	PF_LIST,	/* this element first in a list; others are kept */
};

struct pf_param {
	const char	*key;
	char		*value;		/* PF_SET: the value; PF_LIST: our part */
	enum pf_how	 how;
	const char	*dflt;		/* PF_LIST: list when the key is unset */
};

struct pf_service {
	char		*name;		/* "127.0.0.1:10026/inet" (postconf -M) */
	char		*line;		/* the whole master.cf entry, or NULL:
					 * the service must not be active */
};

/* What mailgov wants in one instance. */
struct pf_want {
	struct pf_param	 *params;
	size_t		  n_params;
	struct pf_service *services;
	size_t		  n_services;
	int		  chroot_n;	/* every service with chroot = n */
};

/*
 * pf_want_main / pf_want_queue - the settings for the main instance and
 * the queue instance under cfg.  ipv6 says whether the host has ::1 (the
 * queue instance then listens there too).  message_size_limit is the main
 * instance's, copied so the queue never refuses what main would take;
 * when it is 0 (no limit), NULL or not a number, the queue instance gets
 * PF_QUEUE_SIZE_DEFAULT.  Its queue_minfree is cfg's, at least twice its
 * size limit.  NULL when out of memory.
 */
#define PF_QUEUE_SIZE_DEFAULT	52428800	/* bytes: 50 MiB */
#define PF_SIZE_MAX		(1ULL << 40)	/* main's above this counts as none */
struct pf_want *pf_want_main(const struct config *);
struct pf_want *pf_want_queue(const struct config *, int ipv6,
	    const char *message_size_limit);
void	pf_want_free(struct pf_want *);

/* pf_policy_check - "check_policy_service { inet:..., ... }" for context */
char	*pf_policy_check(const struct config *, const char *default_action,
	    const char *context);

/*
 * Restriction lists.  Elements are separated by commas and/or white space;
 * a "{ ... }" group is one element.  pf_list_split returns the elements
 * (malloc'ed array of malloc'ed strings) or NULL on a syntax error
 * (unbalanced braces) or no memory.
 */
char	**pf_list_split(const char *, size_t *n);
void	pf_list_free(char **, size_t n);

/*
 * pf_list_merge - value with ours as its first element.  An element that
 * is mailgov's (pf_elem_is_ours) and differs from ours is replaced; the
 * administrator's elements are kept in their order.  When ours is already
 * first and equal, returns a copy of cur unchanged (so the caller sees no
 * difference).  NULL on a syntax error or no memory.
 */
char	*pf_list_merge(const char *cur, const char *ours);
/* pf_list_remove - cur without mailgov's elements; NULL as above */
char	*pf_list_remove(const char *cur);
/* pf_elem_is_ours - is this (rendered) element one mailgov puts in lists */
int	pf_elem_is_ours(const char *);

/* pf_conf_line - split "key = value" from postconf -n; 0, or -1 if not */
int	pf_conf_line(const char *line, char *key, size_t keylen,
	    const char **value);

/* pf_space_eq - equal when runs of white space count as one space */
int	pf_space_eq(const char *, const char *);

/*
 * Where Postfix takes mail over TCP, so that the rules can close it to web
 * users.  A port comes back as text, as Postfix has it: a number or a
 * services(5) name ("10025", "submission"); the caller looks names up.
 *
 * pf_listener_line - one line of "postconf -F '*'/inet/command"
 * ("127.0.0.1:10025/inet/command = smtpd -o ..."): 1 when the service
 * takes mail (its command is smtpd, postscreen or qmqpd), with the
 * service name in name ("127.0.0.1:10025", "[::1]:10025", "10025") and its
 * port in port; 0 for any other command; -1 when the line is not
 * understood.
 */
int	pf_listener_line(const char *line, char *name, size_t namelen,
	    char *port, size_t portlen);

/*
 * pf_filter_port - the port of a content filter's or a before-queue
 * filter's next hop, where an SMTP server takes the mail and hands it back
 * to Postfix: content_filter ("smtp-amavis:[127.0.0.1]:10024", with
 * transport set) or smtpd_proxy_filter ("127.0.0.1:10024",
 * "inet:[::1]:10024").  1 with the port; 0 when the value names no TCP
 * port (empty, "unix:...", a next hop without one); -1 when not
 * understood.
 */
int	pf_filter_port(const char *value, int transport, char *port,
	    size_t portlen);

/* One entry of "postqueue -j" (one JSON object per line). */
struct pf_qentry {
	char		queue_name[16];		/* hold, deferred, active, ... */
	char		queue_id[32];
	int64_t		arrival_time;
	uint64_t	message_size;
	uint32_t	recipients;
	char		sender[256];
};

#define PF_QLINE_MAX	65536	/* longer lines are refused */

/*
 * pf_qline_parse - one line of postqueue -j.  Unknown keys are skipped,
 * nesting and lengths are bounded.  Returns 0, or -1 when the line is not
 * an object with a queue_name and a queue_id that queueid_ok
 * accepts.
 */
int	pf_qline_parse(const char *line, size_t len, struct pf_qentry *);

#endif
