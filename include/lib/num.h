/*
 * num - bounded parsing of numbers, durations and ports from untrusted text
 * (config files, the command line, policy attributes).  Nothing here
 * accepts a sign, leading garbage, trailing garbage or an overflow.
 */
#ifndef MAILGOV_NUM_H
#define MAILGOV_NUM_H

#include <stdint.h>

/*
 * num_u64 - parse a decimal (or 0x hex when allow_hex) integer in
 * [min, max].  Returns 0, or -1 with *err set to a static phrase such as
 * "not a number", "too large", "too small".
 */
int	num_u64(const char *s, uint64_t min, uint64_t max, int allow_hex,
	    uint64_t *out, const char **err);

/*
 * num_duration - parse "N" (seconds) or "N" followed by s, m, h or d,
 * into seconds in [min, max].  Same error convention as num_u64.
 */
int	num_duration(const char *s, uint64_t min, uint64_t max,
	    uint64_t *out, const char **err);

/*
 * num_add_counter - a + b for a lifetime counter, saturating at INT64_MAX:
 * counters are SQLite INTEGERs (signed 64 bits), and one forged input must
 * not wrap them
 */
uint64_t num_add_counter(uint64_t a, uint64_t b);

#endif
