/*
 * clock - clock_gettime() behind the three readings the programs use (see
 * clock.h).
 *
 * Trusts: the kernel's clocks.  Neither call can fail with a valid clock
 * id, so there is no error to report.
 */
#include <time.h>

#include "clock.h"

/* clock_now_us - wall-clock microseconds: budget state outlives the
 * process */
uint64_t
clock_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* clock_mono_ms - monotonic milliseconds, plus one so that it is never 0
 * (the clock starts near 0 at boot) */
uint64_t
clock_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u +
	    1;
}

/* clock_mono_us - monotonic microseconds */
uint64_t
clock_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* clock_mono_s - monotonic seconds */
uint64_t
clock_mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec;
}
