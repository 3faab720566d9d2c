/*
 * log - stderr in the foreground, syslog LOG_MAIL otherwise.  Every
 * function keeps errno as it found it, so a caller may log and then still
 * look at errno.  Nothing here trusts its string arguments to be
 * printable: callers pass untrusted text through log_clean() first.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "budget.h"
#include "log.h"

static int	log_fg = 1;
static int	log_verb;
static const char *log_ident = "mailgov";

/* log_init - choose stderr or syslog once, at start-up */
void
log_init(const char *ident, int foreground, int verbose)
{
	log_ident = ident;
	log_fg = foreground;
	log_verb = verbose;
	if (!foreground)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

int
log_verbose(void)
{
	return log_verb;
}

/* vlog - the one place a line leaves the process */
static void vlog(int, const char *, va_list, int)
    __attribute__((format(printf, 2, 0)));
static void
vlog(int pri, const char *fmt, va_list ap, int with_errno)
{
	char	 msg[2048];
	int	 saved = errno;
	int	 n;

	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n < 0)
		n = 0;
	if (with_errno && (size_t)n < sizeof(msg))
		snprintf(msg + n, sizeof(msg) - n, ": %s", strerror(saved));
	if (log_fg)
		fprintf(stderr, "%s: %s\n", log_ident, msg);
	else
		syslog(pri, "%s", msg);
	errno = saved;
}

#define LOG_BODY(pri, e) do {			\
	va_list ap;				\
	va_start(ap, fmt);			\
	vlog((pri), fmt, ap, (e));		\
	va_end(ap);				\
} while (0)

void log_warn(const char *fmt, ...) { LOG_BODY(LOG_WARNING, 1); }
void log_warnx(const char *fmt, ...) { LOG_BODY(LOG_WARNING, 0); }
void log_info(const char *fmt, ...) { LOG_BODY(LOG_INFO, 0); }

void
log_debug(const char *fmt, ...)
{
	if (log_verb)
		LOG_BODY(LOG_DEBUG, 0);
}

void
fatal(const char *fmt, ...)
{
	LOG_BODY(LOG_CRIT, 1);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	LOG_BODY(LOG_CRIT, 0);
	exit(1);
}

void
log_panic(const char *file, int line, const char *fmt, ...)
{
	char	 msg[1024];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warnx("panic: %s:%d: %s", file, line, msg);
	abort();
}

/* log_clean - bounded, printable copy of untrusted bytes (see log.h) */
char *
log_clean(char *dst, size_t dstlen, const char *src, size_t srclen)
{
	static const char hex[] = "0123456789abcdef";
	size_t	 i, o = 0;

	if (dstlen == 0)
		return dst;
	if (src == NULL)
		src = "", srclen = 0;
	for (i = 0; i < srclen; i++) {
		unsigned char c = (unsigned char)src[i];
		size_t	 need = (c >= 0x20 && c < 0x7f && c != '\\') ? 1 : 4;

		if (o + need + 4 > dstlen) {	/* room for "..." and NUL */
			if (o + 3 < dstlen)
				memcpy(dst + o, "...", 3), o += 3;
			break;
		}
		if (need == 1) {
			dst[o++] = (char)c;
		} else {
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 0xf];
		}
	}
	dst[o] = '\0';
	return dst;
}

/* log_rate_ok - a line of a kind within its rate */
int
log_rate_ok(uint64_t *tat, uint64_t now, uint64_t lines, uint64_t period)
{
	struct budget_limit lim = { lines, period, lines };

	return budget_charge(&lim, tat, now, 1, NULL) == BUDGET_OK;
}

char *
log_endpoint(char *buf, size_t len, int family, const uint8_t *addr,
    uint16_t port)
{
	char	a[INET6_ADDRSTRLEN];

	if (inet_ntop(family, addr, a, sizeof(a)) == NULL)
		snprintf(a, sizeof(a), "?");
	snprintf(buf, len, family == AF_INET6 ? "[%s]:%u" : "%s:%u", a, port);
	return buf;
}
