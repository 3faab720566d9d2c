/*
 * origin - the process behind a message, clean and bounded (see origin.h).
 *
 * /proc is read with fixed bounds: a link is read into ORIGIN_READ_MAX
 * bytes at most, a command line only that far, so a 1 MB command line
 * costs one bounded read.  A cwd too long for the kernel to print
 * (readlink fails with ENAMETOOLONG) is left empty rather than guessed.
 *
 * Trusts: nothing it reads: every byte goes through origin_clean().
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "num.h"
#include "origin.h"

/* Postfix's smtpd turns these into '?' in a HELO name; ',' and '='
 * separate the fields */
#define HELO_SPECIALS	" <>()\\\";@,="

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* escape - %XX every byte outside 0x21..0x7e, in bad, or a '%' that
 * starts no escape; cut at a whole escape, "..." when cut */
static char *
escape(char *dst, size_t dstlen, const char *src, size_t len,
    const char *bad)
{
	static const char hex[] = "0123456789abcdef";
	size_t	 i, o = 0, need;

	if (dstlen == 0)
		return dst;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)src[i];
		int	 keep = c > 0x20 && c < 0x7f && strchr(bad, c) == NULL;

		if (c == '%')
			keep = i + 2 < len && hexval(src[i + 1]) >= 0 &&
			    hexval(src[i + 2]) >= 0;
		need = keep ? 1 : 3;
		/* room for "..." after it, unless it is the last byte */
		if (o + need + (i + 1 < len ? 3 : 0) >= dstlen) {
			if (o + 3 < dstlen) {
				memcpy(dst + o, "...", 3);
				o += 3;
			}
			break;
		}
		if (keep)
			dst[o++] = (char)c;
		else {
			dst[o++] = '%';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 0xf];
		}
	}
	dst[o] = '\0';
	return dst;
}

/* origin_clean - see origin.h */
char *
origin_clean(char *dst, size_t dstlen, const char *src, size_t len)
{
	return escape(dst, dstlen, src ? src : "", src ? len : 0, "\\\"");
}

/* unescape - decode %XX in place; a '%' that starts no escape stays */
static size_t
unescape(char *s)
{
	size_t	 i, o = 0;
	int	 h, l;

	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] == '%' && (h = hexval(s[i + 1])) >= 0 &&
		    (l = hexval(s[i + 2])) >= 0) {
			s[o++] = (char)(h << 4 | l);
			i += 2;
		} else
			s[o++] = s[i];
	}
	s[o] = '\0';
	return o;
}

/* read_link - a /proc link, cleaned; empty when unreadable */
static void
read_link(const char *path, char *out)
{
	char	 buf[ORIGIN_READ_MAX];
	ssize_t	 n;

	out[0] = '\0';
	if ((n = readlink(path, buf, sizeof(buf))) <= 0)
		return;
	origin_clean(out, ORIGIN_MAX, buf, (size_t)n);
}

/* read_cmdline - the first ORIGIN_READ_MAX bytes, NULs as spaces */
static void
read_cmdline(const char *path, char *out)
{
	char	 buf[ORIGIN_READ_MAX];
	ssize_t	 n;
	size_t	 i, len;
	int	 fd;

	out[0] = '\0';
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		return;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n <= 0)
		return;
	len = (size_t)n;
	while (len > 0 && buf[len - 1] == '\0')
		len--;
	for (i = 0; i < len; i++)
		if (buf[i] == '\0')
			buf[i] = ' ';
	origin_clean(out, ORIGIN_MAX, buf, len);
}

/* origin_proc - see origin.h */
int
origin_proc(const char *root, pid_t pid, struct origin *o)
{
	char	 path[128];
	int	 n;

	memset(o, 0, sizeof(*o));
	if (pid <= 0)
		return -1;
	n = snprintf(path, sizeof(path), "%s/%ld", root, (long)pid);
	if (n < 0 || (size_t)n >= sizeof(path) - 16)
		return -1;
	if (access(path, F_OK) == -1)
		return -1;
	snprintf(path + n, sizeof(path) - (size_t)n, "/exe");
	read_link(path, o->exe);
	snprintf(path + n, sizeof(path) - (size_t)n, "/cwd");
	read_link(path, o->cwd);
	snprintf(path + n, sizeof(path) - (size_t)n, "/cmdline");
	read_cmdline(path, o->cmd);
	o->pid = (uint32_t)pid;
	return 0;
}

/* origin_ppid - the parent of pid by /proc/PID/stat, or -1 */
pid_t
origin_ppid(const char *root, pid_t pid)
{
	char	 path[128], buf[1024], *p;
	ssize_t	 n;
	long	 pp;
	int	 fd;

	snprintf(path, sizeof(path), "%s/%ld/stat", root, (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* "PID (COMM) STATE PPID ...": COMM may hold anything, ')' too */
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 1, " %*c %ld", &pp) != 1 || pp <= 0)
		return -1;
	return (pid_t)pp;
}

/* is_shell_c - o is a shell running one command: "sh -c ..." (popen) */
static int
is_shell_c(const struct origin *o)
{
	const char *base = strrchr(o->exe, '/');

	base = base ? base + 1 : o->exe;
	if (strcmp(base, "dash") != 0 && strcmp(base, "bash") != 0 &&
	    strcmp(base, "sh") != 0 && strcmp(base, "busybox") != 0)
		return 0;
	return strstr(o->cmd, "%20-c%20") != NULL;
}

/* origin_caller - see origin.h */
int
origin_caller(const char *root, pid_t ppid, struct origin *o)
{
	struct origin up;
	pid_t	 gp;

	if (origin_proc(root, ppid, o) == -1)
		return -1;
	/* PHP's mail() and most callers run "sh -c 'sendmail ...'": the
	 * shell is not who wanted the mail sent, its parent is */
	if (is_shell_c(o) && (gp = origin_ppid(root, ppid)) > 1 &&
	    origin_proc(root, gp, &up) == 0)
		*o = up;
	return 0;
}

/* origin_php_script - see origin.h */
int
origin_php_script(const char *in, size_t len, char *out, size_t outlen)
{
	static const char name[] = "X-PHP-Originating-Script:";
	const size_t	 nlen = sizeof(name) - 1;
	size_t		 i = 0, e, s;

	while (i < len) {
		for (e = i; e < len && in[e] != '\n'; e++)
			;
		s = e;
		if (s > i && in[s - 1] == '\r')
			s--;
		if (s == i)			/* the header section ended */
			break;
		if (s - i > nlen && strncasecmp(in + i, name, nlen) == 0) {
			i += nlen;
			while (i < s && (in[i] == ' ' || in[i] == '\t'))
				i++;
			/* "UID:file": the UID is PHP's claim too; the kernel
			 * tells the real one */
			for (e = i; e < s && isdigit((unsigned char)in[e]); e++)
				;
			if (e > i && e < s && in[e] == ':')
				i = e + 1;
			while (s > i && (in[s - 1] == ' ' || in[s - 1] == '\t'))
				s--;
			if (s == i)
				return -1;
			origin_clean(out, outlen, in + i, s - i);
			return 0;
		}
		i = e + 1;
	}
	return -1;
}

/* origin_helo - see origin.h */
void
origin_helo(const struct origin *o, char *out, size_t outlen)
{
	static const char *const key[] = { "exe", "cwd", "cmd", "script" };
	const char	*val[] = { o->exe, o->cwd, o->cmd, o->script };
	/* four fields that fit whatever they hold: one made of nothing but
	 * specials is cut further here, which only shortens a claim */
	char		 enc[(ORIGIN_HELO_MAX - 64) / 4 - 8];
	size_t		 len, i;
	int		 n;

	n = snprintf(out, outlen, "%s,pid=%lu", ORIGIN_HELO,
	    (unsigned long)o->pid);
	if (n < 0 || (size_t)n >= outlen)
		return;
	len = (size_t)n;
	/* within ORIGIN_HELO_MAX, below Postfix's 2048-byte line and the
	 * policy server's */
	for (i = 0; i < 4; i++) {
		if (val[i][0] == '\0')
			continue;
		escape(enc, sizeof(enc), val[i], strlen(val[i]), HELO_SPECIALS);
		n = snprintf(out + len, outlen - len, ",%s=%s", key[i], enc);
		if (n < 0 || (size_t)n >= outlen - len) {
			out[len] = '\0';
			return;
		}
		len += (size_t)n;
	}
}

/* origin_from_helo - see origin.h */
int
origin_from_helo(const char *helo, struct origin *o)
{
	char		 buf[ORIGIN_HELO_MAX + 1], *p, *f, *v;
	const size_t	 plen = sizeof(ORIGIN_HELO) - 1;
	uint64_t	 pid;
	const char	*err;
	size_t		 len;

	memset(o, 0, sizeof(*o));
	if (helo == NULL || strncmp(helo, ORIGIN_HELO, plen) != 0 ||
	    helo[plen] != ',' || strlen(helo) > ORIGIN_HELO_MAX)
		return -1;
	snprintf(buf, sizeof(buf), "%s", helo + plen + 1);
	for (p = buf; (f = strsep(&p, ",")) != NULL; ) {
		if ((v = strchr(f, '=')) == NULL)
			continue;
		*v++ = '\0';
		len = unescape(v);
		if (strcmp(f, "pid") == 0) {
			if (num_u64(v, 1, 4194304, 0, &pid, &err) == 0)
				o->pid = (uint32_t)pid;
		} else if (strcmp(f, "exe") == 0)
			origin_clean(o->exe, sizeof(o->exe), v, len);
		else if (strcmp(f, "cwd") == 0)
			origin_clean(o->cwd, sizeof(o->cwd), v, len);
		else if (strcmp(f, "cmd") == 0)
			origin_clean(o->cmd, sizeof(o->cmd), v, len);
		else if (strcmp(f, "script") == 0)
			origin_clean(o->script, sizeof(o->script), v, len);
	}
	return 0;
}

/* origin_empty - see origin.h */
int
origin_empty(const struct origin *o)
{
	return o->pid == 0 && o->exe[0] == '\0' && o->cwd[0] == '\0' &&
	    o->cmd[0] == '\0' && o->script[0] == '\0';
}
