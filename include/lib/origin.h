/*
 * origin - which process sent a message: its PID, executable, working
 * directory, command line and (from PHP) script, read from /proc, made
 * safe to log and store, and carried from mailgov-sendmail to the policy
 * server in the SMTP greeting's name.
 *
 * Every field but the PID is held "clean": bytes outside printable ASCII,
 * the space, '%', '\' and '"' are written as %XX, and the field is cut to
 * ORIGIN_MAX - 1 bytes ("..." at the end when cut).  A clean string has
 * no control character, no space (a key=value log line cannot be faked)
 * and cleaning it again changes nothing.
 *
 * Trusts: nothing.  What a process says about itself (its cwd, its
 * command line, PHP's script header) is a claim of the web user, and so
 * is everything in a greeting: only a socket owner's UID that the kernel
 * reports is proof of who sent.
 */
#ifndef MAILGOV_ORIGIN_H
#define MAILGOV_ORIGIN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ORIGIN_MAX	160	/* a clean field, with its NUL */
#define ORIGIN_READ_MAX	4096	/* bytes read of a /proc file or link */
/* the greeting name mailgov-sendmail uses; the fields follow it */
#define ORIGIN_HELO	"mailgov-sendmail"
#define ORIGIN_HELO_MAX	1500	/* the whole greeting name */

struct origin {
	uint32_t	pid;			/* 0: unknown */
	char		exe[ORIGIN_MAX];
	char		cwd[ORIGIN_MAX];
	char		cmd[ORIGIN_MAX];	/* arguments, space-separated */
	char		script[ORIGIN_MAX];	/* PHP's, a claim */
};

/* origin_clean - the clean form of len bytes of src into dst (dstlen) */
char	*origin_clean(char *dst, size_t dstlen, const char *src, size_t len);

/*
 * origin_proc - what /proc says about pid under root (normally "/proc").
 * A file that cannot be read leaves its field empty.  -1 (and o->pid 0)
 * when the process is gone.
 */
int	origin_proc(const char *root, pid_t pid, struct origin *o);

/* origin_ppid - the parent of pid, or -1 */
pid_t	origin_ppid(const char *root, pid_t pid);

/*
 * origin_caller - origin_proc of ppid, or of its parent when ppid is a
 * shell running one command ("sh -c ...", as popen() does): that shell
 * did not want the mail sent.  -1 when ppid is gone.
 */
int	origin_caller(const char *root, pid_t ppid, struct origin *o);

/*
 * origin_php_script - the file of PHP's "X-PHP-Originating-Script:
 * UID:file" header in the header section of a message (in, len), clean,
 * into out; 0, or -1 when there is none.  Only the first one counts.
 */
int	origin_php_script(const char *in, size_t len, char *out, size_t outlen);

/* origin_helo - the greeting name that carries o: "mailgov-sendmail,
 * pid=N,exe=...,cwd=...,cmd=...,script=..." within ORIGIN_HELO_MAX */
void	origin_helo(const struct origin *o, char *out, size_t outlen);

/*
 * origin_from_helo - o from a greeting name made by origin_helo; 0, or -1
 * (o empty) for any other name.  Unknown keys are ignored.
 */
int	origin_from_helo(const char *helo, struct origin *o);

/* origin_empty - nothing is known */
int	origin_empty(const struct origin *o);

#endif
