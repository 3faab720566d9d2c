/*
 * log - the one way mailgov reports: stderr in the foreground, syslog
 * (LOG_MAIL) otherwise.  Follows the OpenSMTPD split: *_warn appends
 * strerror(errno), *_warnx does not; fatal* are for start-up only.
 * Every function saves and restores errno.
 */
#ifndef MAILGOV_LOG_H
#define MAILGOV_LOG_H

#include <stddef.h>
#include <stdint.h>

#define LOG_FMT(a, b) __attribute__((format(printf, a, b)))

/* log_init - choose the sink; ident is the syslog ident ("mailgovd") */
void	log_init(const char *ident, int foreground, int verbose);
int	log_verbose(void);

void	log_warn(const char *, ...) LOG_FMT(1, 2);
void	log_warnx(const char *, ...) LOG_FMT(1, 2);
void	log_info(const char *, ...) LOG_FMT(1, 2);
void	log_debug(const char *, ...) LOG_FMT(1, 2);
void	fatal(const char *, ...) LOG_FMT(1, 2) __attribute__((noreturn));
void	fatalx(const char *, ...) LOG_FMT(1, 2) __attribute__((noreturn));

/* A broken invariant: log where, then abort. */
#define panic(...) log_panic(__FILE__, __LINE__, __VA_ARGS__)
void	log_panic(const char *, int, const char *, ...) LOG_FMT(3, 4)
	    __attribute__((noreturn));

/*
 * log_clean - copy an untrusted string into dst for logging: at most
 * dstlen-1 bytes, non-printable bytes as \xNN, a trailing "..." when cut.
 * Returns dst, so it can sit inside a log call.
 */
char	*log_clean(char *dst, size_t dstlen, const char *src, size_t srclen);
/* log_endpoint - "a.b.c.d:port" or "[v6]:port" of a raw address (4 or
 * 16 bytes, by family) into buf; "?" for an address it cannot print */
char	*log_endpoint(char *buf, size_t len, int family, const uint8_t *addr,
	    uint16_t port);

/*
 * log_rate_ok - may one more line of a kind go out at now: at most lines
 * per period, all of them at once after a quiet spell (budget.h's GCRA).
 * *tat is the kind's state, 0 when fresh.  now and period are in one
 * unit, read from one clock for a given tat; the caller passes the time.
 */
int	log_rate_ok(uint64_t *tat, uint64_t now, uint64_t lines,
	    uint64_t period);

#endif
