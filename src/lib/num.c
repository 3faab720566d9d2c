/*
 * num - strict, bounded parsing of unsigned numbers and durations.  The
 * input is untrusted text (a config line, a command-line argument, a
 * policy attribute): no sign, no whitespace, no trailing garbage and no
 * overflow is accepted, unlike strtoul(), which allows all four.
 *
 * Trusts: nothing in its input.
 */
#include <stddef.h>
#include <stdint.h>

#include "num.h"

/* digit_value - the value of c in base 16, or -1 */
static int
digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* parse_digits - the run of base-b digits at s, up to *end */
static int
parse_digits(const char *s, unsigned base, uint64_t *out, const char **end,
    const char **err)
{
	uint64_t v = 0;
	int	 d, overflow = 0;
	const char *p;

	for (p = s; (d = digit_value(*p)) >= 0 && (unsigned)d < base; p++) {
		/* keep scanning after an overflow so "too large" beats garbage */
		if (__builtin_mul_overflow(v, base, &v) ||
		    __builtin_add_overflow(v, (uint64_t)d, &v))
			overflow = 1;
	}
	if (p == s) {
		*err = "not a number";
		return -1;
	}
	if (overflow) {
		*err = "too large";
		return -1;
	}
	*out = v;
	*end = p;
	return 0;
}

/* check_range - min/max with the usual phrases */
static int
check_range(uint64_t v, uint64_t min, uint64_t max, uint64_t *out,
    const char **err)
{
	if (v < min) {
		*err = "too small";
		return -1;
	}
	if (v > max) {
		*err = "too large";
		return -1;
	}
	*out = v;
	return 0;
}

/* num_u64 - decimal (or 0x hex) in [min, max], nothing else accepted */
int
num_u64(const char *s, uint64_t min, uint64_t max, int allow_hex,
    uint64_t *out, const char **err)
{
	const char *dummy, *end;
	unsigned base = 10;
	uint64_t v;

	if (err == NULL)
		err = &dummy;
	if (s == NULL || *s == '\0') {
		*err = "not a number";
		return -1;
	}
	if (allow_hex && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		s += 2;
		base = 16;
	}
	if (parse_digits(s, base, &v, &end, err) == -1)
		return -1;
	if (*end != '\0') {
		*err = "not a number";
		return -1;
	}
	return check_range(v, min, max, out, err);
}

/* num_duration - "N", "Ns", "Nm", "Nh" or "Nd" into seconds in [min, max] */
int
num_duration(const char *s, uint64_t min, uint64_t max, uint64_t *out,
    const char **err)
{
	const char *dummy, *end;
	uint64_t v, mult;

	if (err == NULL)
		err = &dummy;
	if (s == NULL || *s < '0' || *s > '9') {
		*err = "not a duration";
		return -1;
	}
	if (parse_digits(s, 10, &v, &end, err) == -1)
		return -1;		/* only "too large" is left */
	switch (*end) {
	case '\0':
	case 's':
		mult = 1;
		break;
	case 'm':
		mult = 60;
		break;
	case 'h':
		mult = 3600;
		break;
	case 'd':
		mult = 86400;
		break;
	default:
		*err = "not a duration";
		return -1;
	}
	if (*end != '\0' && end[1] != '\0') {
		*err = "not a duration";
		return -1;
	}
	if (__builtin_mul_overflow(v, mult, &v)) {
		*err = "too large";
		return -1;
	}
	return check_range(v, min, max, out, err);
}

/* num_add_counter - saturating sum, at most INT64_MAX (see num.h) */
uint64_t
num_add_counter(uint64_t a, uint64_t b)
{
	if (a >= INT64_MAX || b >= INT64_MAX - a)
		return INT64_MAX;
	return a + b;
}
