/*
 * addr - the notification address validator (see addr.h).
 *
 * Trusts: nothing; s is any NUL-terminated string.
 */
#include <string.h>

#include "addr.h"

#define LOCAL_MAX	64
#define LABEL_MAX	63

/* alnum - an ASCII letter or digit (no locale) */
static int
alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

/* local_ok - the local part, n bytes */
static int
local_ok(const char *s, size_t n)
{
	size_t	 i;

	if (n == 0 || n > LOCAL_MAX || !alnum((unsigned char)s[0]) ||
	    s[n - 1] == '.')
		return 0;
	for (i = 1; i < n; i++) {
		if (alnum((unsigned char)s[i]))
			continue;
		if (strchr("._+-=", s[i]) == NULL || s[i] == '\0')
			return 0;
		if (s[i] == '.' && s[i - 1] == '.')
			return 0;
	}
	return 1;
}

/* domain_ok - LDH labels joined by dots, none empty */
static int
domain_ok(const char *s)
{
	size_t	 lab = 0;

	if (*s == '\0' || strlen(s) > 253)
		return 0;
	for (; *s != '\0'; s++) {
		if (*s == '.') {
			if (lab == 0 || s[-1] == '-')
				return 0;
			lab = 0;
		} else if (alnum((unsigned char)*s) || *s == '-') {
			if ((lab == 0 && *s == '-') || ++lab > LABEL_MAX)
				return 0;
		} else
			return 0;
	}
	return lab > 0 && s[-1] != '-';
}

/* addr_ok - one strict address (see addr.h) */
int
addr_ok(const char *s, int local_only_ok, const char **why)
{
	const char *at, *dummy;

	if (why == NULL)
		why = &dummy;
	if (s == NULL || *s == '\0') {
		*why = "empty address";
		return 0;
	}
	if (strlen(s) > ADDR_MAX) {
		*why = "address too long (max 254 bytes)";
		return 0;
	}
	if ((at = strchr(s, '@')) == NULL) {
		if (local_only_ok && local_ok(s, strlen(s)))
			return 1;
		*why = local_only_ok ? "not an address (local@domain or a "
		    "local name of a-z 0-9 . _ + - =)" : "not an address "
		    "(local@domain)";
		return 0;
	}
	if (!local_ok(s, (size_t)(at - s)) || !domain_ok(at + 1)) {
		*why = "not an address (local@domain: a-z 0-9 . _ + - = "
		    "before the @, a domain name after it)";
		return 0;
	}
	return 1;
}
