/*
 * t.h - the smallest table-friendly unit test harness.  Each check prints
 * "ok N - name" or "not ok N - name: expected X, saw Y"; t_done() prints
 * "N passed, N failed" and returns the exit status.
 */
#ifndef MAILGOV_T_H
#define MAILGOV_T_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static unsigned t_pass, t_fail;

#define T_OK(cond, ...) do {						\
	if (cond) {							\
		t_pass++;						\
		printf("ok %u - ", t_pass + t_fail);			\
	} else {							\
		t_fail++;						\
		printf("not ok %u - %s:%d: ", t_pass + t_fail,		\
		    __FILE__, __LINE__);				\
	}								\
	printf(__VA_ARGS__);						\
	printf("\n");							\
} while (0)

#define T_EQ_U(got, want, name) do {					\
	uint64_t g_ = (uint64_t)(got), w_ = (uint64_t)(want);		\
	T_OK(g_ == w_, "%s: expected %" PRIu64 ", saw %" PRIu64,	\
	    (name), w_, g_);						\
} while (0)

#define T_EQ_S(got, want, name) do {					\
	const char *g_ = (got), *w_ = (want);				\
	T_OK(g_ && w_ && strcmp(g_, w_) == 0,				\
	    "%s: expected \"%s\", saw \"%s\"", (name),			\
	    w_ ? w_ : "(null)", g_ ? g_ : "(null)");			\
} while (0)

static inline int
t_done(void)
{
	printf("%u passed, %u failed\n", t_pass, t_fail);
	return t_fail ? 1 : 0;
}

#endif
