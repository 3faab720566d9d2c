/*
 * test_prom - the exposition writer: label values escaped as the text
 * format wants, samples and families written exactly, histograms
 * cumulative with their sum and count, and the output bound.
 */
#include <stdlib.h>

#include "prom.h"
#include "t.h"

static void
test_escape(void)
{
	static const struct {
		const char *in, *want, *name;
	} c[] = {
		{ "site1", "site1", "plain" },
		{ "a\\b", "a\\\\b", "backslash" },
		{ "a\"b", "a\\\"b", "double quote" },
		{ "a\nb", "a\\nb", "newline" },
		{ "a\tb\001", "a?b?", "other control bytes" },
		{ "caf\xc3\xa9", "caf??", "bytes past ASCII" },
		{ "\\\"\n", "\\\\\\\"\\n", "all three" },
		{ "", "", "empty" },
	};
	char	 buf[64];
	size_t	 i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		T_EQ_S(prom_escape(buf, sizeof(buf), c[i].in), c[i].want,
		    c[i].name);
	/* an escape is never cut in half */
	T_EQ_S(prom_escape(buf, 4, "ab\"c"), "ab", "cut before an escape");
	T_EQ_S(prom_escape(buf, 5, "ab\"c"), "ab\\\"", "escape that fits");
}

static void
test_samples(void)
{
	struct prom p;
	size_t	 len;
	char	*s;

	prom_init(&p, 1 << 20);
	prom_family(&p, "x_total", "counter", "Things.");
	prom_u64(&p, "x_total", "account", "a\"b", 18446744073709551615ULL);
	prom_u64(&p, "x_total", NULL, NULL, 0);
	prom_secs(&p, "t_seconds", NULL, NULL, 1500001);
	s = prom_take(&p, &len);
	T_EQ_S(s, "# HELP x_total Things.\n# TYPE x_total counter\n"
	    "x_total{account=\"a\\\"b\"} 18446744073709551615\n"
	    "x_total 0\nt_seconds 1.500001\n", "samples");
	T_EQ_U(len, strlen(s), "length");
	free(s);
	prom_fini(&p);
}

static void
test_histogram(void)
{
	static const uint64_t b[] = { 100, 1000, 10000 };
	struct prom_hist h;
	struct prom p;
	size_t	 len;
	char	*s;

	prom_hist_init(&h, b, 3);
	prom_hist_observe(&h, 50);
	prom_hist_observe(&h, 100);	/* le is inclusive */
	prom_hist_observe(&h, 101);
	prom_hist_observe(&h, 20000);
	prom_init(&p, 1 << 20);
	prom_hist_write(&p, "l_seconds", "Latency.", &h);
	s = prom_take(&p, &len);
	T_EQ_S(s, "# HELP l_seconds Latency.\n# TYPE l_seconds histogram\n"
	    "l_seconds_bucket{le=\"0.000100\"} 2\n"
	    "l_seconds_bucket{le=\"0.001000\"} 3\n"
	    "l_seconds_bucket{le=\"0.010000\"} 3\n"
	    "l_seconds_bucket{le=\"+Inf\"} 4\n"
	    "l_seconds_sum 0.020251\nl_seconds_count 4\n", "histogram");
	free(s);
	prom_fini(&p);
}

static void
test_bound(void)
{
	struct prom p;
	int	 i;

	prom_init(&p, 100);
	for (i = 0; i < 10; i++)
		prom_u64(&p, "some_metric_total", NULL, NULL, 12345);
	T_OK(prom_failed(&p), "past the bound: failed");
	T_OK(p.len <= 100, "never more than the bound: %zu", p.len);
	prom_fini(&p);
	prom_init(&p, 100);
	prom_u64(&p, "ok", NULL, NULL, 1);
	T_OK(!prom_failed(&p), "within the bound");
	prom_fini(&p);
}

int
main(void)
{
	test_escape();
	test_samples();
	test_histogram();
	test_bound();
	return t_done();
}
