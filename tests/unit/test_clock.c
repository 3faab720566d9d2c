/*
 * test_clock - the three readings: the wall clock agrees with time(),
 * the monotonic ones never go back, milliseconds are never 0, and the
 * units are what their names say.
 */
#include <time.h>

#include "clock.h"
#include "t.h"

int
main(void)
{
	struct timespec nap = { 0, 20 * 1000000L };
	uint64_t us, ms0, ms1, s0, s1;
	time_t t;

	t = time(NULL);
	us = clock_now_us();
	T_OK(us / 1000000u >= (uint64_t)t && us / 1000000u <= (uint64_t)t + 1,
	    "wall clock in microseconds: %llu s, time() says %lld",
	    (unsigned long long)(us / 1000000u), (long long)t);
	ms0 = clock_mono_ms();
	s0 = clock_mono_s();
	nanosleep(&nap, NULL);
	ms1 = clock_mono_ms();
	s1 = clock_mono_s();
	T_OK(ms0 != 0, "monotonic milliseconds are never 0");
	T_OK(ms1 >= ms0 + 20 && ms1 < ms0 + 5000,
	    "20 ms asleep: %llu ms passed", (unsigned long long)(ms1 - ms0));
	T_OK(s1 >= s0 && s1 - s0 <= 5, "seconds do not go back");
	T_OK(s0 <= ms0 / 1000u + 1 && ms0 / 1000u <= s0 + 1,
	    "seconds and milliseconds read the same clock");
	return t_done();
}
