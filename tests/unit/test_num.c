/*
 * test_num - the strict number and duration parsers: every form accepted,
 * every kind of garbage refused, bounds and overflow at the edges.
 */
#include <stdint.h>
#include <stdio.h>

#include "num.h"
#include "t.h"

struct u64_case {
	const char	*in;
	uint64_t	 min, max;
	int		 hex;
	int		 rc;
	uint64_t	 want;		/* when rc == 0 */
	const char	*err;		/* when rc == -1 */
};

static const struct u64_case u64_cases[] = {
	{ "0", 0, 10, 0, 0, 0, NULL },
	{ "10", 0, 10, 0, 0, 10, NULL },
	{ "11", 0, 10, 0, -1, 0, "too large" },
	{ "4", 5, 10, 0, -1, 0, "too small" },
	{ "5", 5, 10, 0, 0, 5, NULL },
	{ "007", 0, 10, 0, 0, 7, NULL },
	{ "18446744073709551615", 0, UINT64_MAX, 0, 0, UINT64_MAX, NULL },
	{ "18446744073709551616", 0, UINT64_MAX, 0, -1, 0, "too large" },
	{ "99999999999999999999999", 0, UINT64_MAX, 0, -1, 0, "too large" },
	{ "", 0, 10, 0, -1, 0, "not a number" },
	{ "-1", 0, 10, 0, -1, 0, "not a number" },
	{ "+1", 0, 10, 0, -1, 0, "not a number" },
	{ " 1", 0, 10, 0, -1, 0, "not a number" },
	{ "1 ", 0, 10, 0, -1, 0, "not a number" },
	{ "1x", 0, 10, 0, -1, 0, "not a number" },
	{ "1.0", 0, 10, 0, -1, 0, "not a number" },
	{ "1e3", 0, 10000, 0, -1, 0, "not a number" },
	{ "0x10", 0, 100, 0, -1, 0, "not a number" },
	{ "0x10", 0, 100, 1, 0, 16, NULL },
	{ "0X1f", 0, 100, 1, 0, 31, NULL },
	{ "0x00300000", 0, UINT32_MAX, 1, 0, 0x00300000, NULL },
	{ "0xffffffffffffffff", 0, UINT64_MAX, 1, 0, UINT64_MAX, NULL },
	{ "0x10000000000000000", 0, UINT64_MAX, 1, -1, 0, "too large" },
	{ "0x100000000", 0, UINT32_MAX, 1, -1, 0, "too large" },
	{ "0x", 0, 100, 1, -1, 0, "not a number" },
	{ "0xg", 0, 100, 1, -1, 0, "not a number" },
	{ "ff", 0, 1000, 1, -1, 0, "not a number" },
	{ "12", 0, 100, 1, 0, 12, NULL },
};

struct dur_case {
	const char	*in;
	uint64_t	 min, max;
	int		 rc;
	uint64_t	 want;
	const char	*err;
};

static const struct dur_case dur_cases[] = {
	{ "0", 0, 100, 0, 0, NULL },
	{ "30", 0, 100, 0, 30, NULL },
	{ "30s", 0, 100, 0, 30, NULL },
	{ "2m", 0, 1000, 0, 120, NULL },
	{ "1h", 0, 86400, 0, 3600, NULL },
	{ "1d", 0, 86400, 0, 86400, NULL },
	{ "2d", 0, 86400, -1, 0, "too large" },
	{ "9s", 10, 86400, -1, 0, "too small" },
	{ "10s", 10, 86400, 0, 10, NULL },
	{ "213503982334601d", 0, UINT64_MAX, 0, 213503982334601ULL * 86400,
	    NULL },
	{ "213503982334602d", 0, UINT64_MAX, -1, 0, "too large" },
	{ "18446744073709551615", 0, UINT64_MAX, 0, UINT64_MAX, NULL },
	{ "18446744073709551616s", 0, UINT64_MAX, -1, 0, "too large" },
	{ "", 0, 100, -1, 0, "not a duration" },
	{ "s", 0, 100, -1, 0, "not a duration" },
	{ "-1s", 0, 100, -1, 0, "not a duration" },
	{ " 1s", 0, 100, -1, 0, "not a duration" },
	{ "1s ", 0, 100, -1, 0, "not a duration" },
	{ "1ss", 0, 100, -1, 0, "not a duration" },
	{ "1w", 0, 1000000, -1, 0, "not a duration" },
	{ "1H", 0, 100000, -1, 0, "not a duration" },
	{ "1h30m", 0, 100000, -1, 0, "not a duration" },
	{ "0x10", 0, 100, -1, 0, "not a duration" },
};

int
main(void)
{
	const char *err;
	uint64_t v;
	size_t	 i;
	int	 rc;

	for (i = 0; i < sizeof(u64_cases) / sizeof(u64_cases[0]); i++) {
		const struct u64_case *t = &u64_cases[i];
		char	 name[128];

		v = 12345;
		err = NULL;
		rc = num_u64(t->in, t->min, t->max, t->hex, &v, &err);
		snprintf(name, sizeof(name), "num_u64(\"%s\", %d) rc", t->in,
		    t->hex);
		T_EQ_U((uint64_t)(int64_t)rc, (uint64_t)(int64_t)t->rc, name);
		if (t->rc == 0) {
			snprintf(name, sizeof(name), "num_u64(\"%s\") value",
			    t->in);
			T_EQ_U(v, t->want, name);
		} else {
			snprintf(name, sizeof(name), "num_u64(\"%s\") error",
			    t->in);
			T_EQ_S(err, t->err, name);
			T_EQ_U(v, 12345, "num_u64 leaves *out alone on error");
		}
	}
	for (i = 0; i < sizeof(dur_cases) / sizeof(dur_cases[0]); i++) {
		const struct dur_case *t = &dur_cases[i];
		char	 name[128];

		err = NULL;
		rc = num_duration(t->in, t->min, t->max, &v, &err);
		snprintf(name, sizeof(name), "num_duration(\"%s\") rc", t->in);
		T_EQ_U((uint64_t)(int64_t)rc, (uint64_t)(int64_t)t->rc, name);
		if (t->rc == 0) {
			snprintf(name, sizeof(name),
			    "num_duration(\"%s\") value", t->in);
			T_EQ_U(v, t->want, name);
		} else {
			snprintf(name, sizeof(name),
			    "num_duration(\"%s\") error", t->in);
			T_EQ_S(err, t->err, name);
		}
	}
	T_EQ_U((uint64_t)(int64_t)num_u64(NULL, 0, 1, 0, &v, &err),
	    (uint64_t)(int64_t)-1, "num_u64(NULL) refused");
	T_EQ_U((uint64_t)(int64_t)num_u64("1", 0, 1, 0, &v, NULL), 0,
	    "num_u64 with a NULL err pointer");
	T_EQ_U((uint64_t)(int64_t)num_duration(NULL, 0, 1, &v, NULL),
	    (uint64_t)(int64_t)-1, "num_duration(NULL) refused");
	return t_done();
}
