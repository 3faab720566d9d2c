/*
 * clock - the programs' clocks, read in one place.  Pure modules (budget,
 * flow, live, the rate limit of log lines) never call these: they take
 * the time as an argument, so a test can run a day in a microsecond.
 *
 * The wall clock is for what is stored and must mean the same after a
 * restart (budget state); the monotonic one for timeouts, ages and retry
 * delays, which a change of the wall clock must neither stretch nor cut.
 */
#ifndef MAILGOV_CLOCK_H
#define MAILGOV_CLOCK_H

#include <stdint.h>

/* clock_now_us - the wall clock (CLOCK_REALTIME) in microseconds */
uint64_t clock_now_us(void);
/* clock_mono_ms - the monotonic clock in milliseconds; never 0, so a
 * caller may keep 0 for "not set" */
uint64_t clock_mono_ms(void);
/* clock_mono_us - the monotonic clock in microseconds (durations) */
uint64_t clock_mono_us(void);
/* clock_mono_s - the monotonic clock in seconds */
uint64_t clock_mono_s(void);

#endif
