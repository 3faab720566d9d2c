/*
 * msg - pure handling of a message submitted through mailgov-sendmail:
 * where the input ends, header syntax, recipients from To/Cc/Bcc (-t),
 * Bcc removal, line-ending normalisation and SMTP dot-stuffing.  The input
 * is untrusted bytes from whoever ran the program; nothing here does I/O.
 */
#ifndef MAILGOV_MSG_H
#define MAILGOV_MSG_H

#include <stddef.h>

#define MSG_LINE_MAX	998		/* RFC 5322 2.1.1, without CRLF */
#define MSG_ADDR_MAX	254		/* RFC 5321 path of 256, without <> */
#define MSG_RCPT_MAX	1000		/* Postfix's smtpd_recipient_limit */
#define MSG_SIZE_DEFAULT (64UL << 20)	/* bound on the input (bytes) */

enum msg_status {
	MSG_OK = 0,
	MSG_ENUL,		/* a NUL byte in the message */
	MSG_ELINE,		/* a line over MSG_LINE_MAX bytes */
	MSG_EHEADER,		/* a header line that is no field */
	MSG_EBIG,		/* more than max_size bytes */
	MSG_EADDR,		/* an address that cannot be used */
	MSG_ERCPT,		/* more than MSG_RCPT_MAX recipients */
	MSG_ENOMEM,
};

struct msg_opts {
	size_t		 max_size;	/* input bytes that may count */
	int		 dot_ends;	/* a line "." alone ends input (no -i) */
	int		 extract;	/* -t: recipients from To/Cc/Bcc */
	int		 truncated;	/* more input followed what was given */
	const char	*full_name;	/* -F: From: display name, or NULL */
	const char	*sender;	/* envelope sender for that From: */
};

struct msg {
	char		*data;		/* CRLF lines, dot-stuffed, no "." */
	size_t		 len;
	char		**rcpt;		/* unique recipient addresses */
	size_t		 nrcpt;
	size_t		 rcpt_cap;
	int		 eightbit;	/* some byte (or address) > 0x7f */
	int		 has_from;	/* the message had a From: field */
	char		 err[320];	/* why, after a status other than MSG_OK */
};

void	msg_init(struct msg *);
void	msg_free(struct msg *);

/*
 * msg_parse - check and convert the input; with opts->extract, add the
 * To/Cc/Bcc recipients.  Returns MSG_OK or a status with m->err set.
 */
int	msg_parse(struct msg *, const char *in, size_t len,
	    const struct msg_opts *);

/*
 * msg_add_list - add every address of an RFC 5322 address list (groups,
 * "Name <addr>", comments, a bare addr-spec) as a recipient.  what names
 * the source in m->err ("To: header", "argument").  Duplicates are kept
 * once.  Returns MSG_OK, MSG_EADDR, MSG_ERCPT or MSG_ENOMEM.
 */
int	msg_add_list(struct msg *, const char *list, size_t len,
	    const char *what);

/*
 * msg_addr_ok - whether addr (no angle brackets) is safe to put in
 * "MAIL FROM:<>" or "RCPT TO:<>": bounded, no control characters, no
 * unquoted specials or spaces.  Unqualified local parts are allowed.
 */
int	msg_addr_ok(const char *addr, size_t len);

/*
 * msg_sender - normalise a -f argument ("a@b", "<a@b>", "" or "<>" for
 * the null sender) into out.  Returns 0, or -1 if it is no usable address.
 */
int	msg_sender(const char *arg, char *out, size_t outlen);

#endif
