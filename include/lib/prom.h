/*
 * prom - Prometheus's text exposition format (version 0.0.4): a bounded
 * output buffer, the lines of counters, gauges and histograms, the
 * escaping of label values, and histograms cheap enough to observe on a
 * hot path (integer microseconds, a dozen buckets, no allocation).
 */
#ifndef MAILGOV_PROM_H
#define MAILGOV_PROM_H

#include <stddef.h>
#include <stdint.h>

/* the output: grows up to max bytes; past that, or out of memory, it
 * stops growing and says so (prom_failed) */
struct prom {
	char	*s;
	size_t	 len, cap, max;
	int	 failed;
};

void	prom_init(struct prom *, size_t max);
void	prom_fini(struct prom *);
int	prom_failed(const struct prom *);
/* prom_take - the text (NUL-terminated, len bytes), now the caller's to
 * free; the buffer is empty again */
char	*prom_take(struct prom *, size_t *len);

/* prom_family - the HELP and TYPE lines of a metric ("counter", "gauge",
 * "histogram"); help is the caller's constant text */
void	prom_family(struct prom *, const char *name, const char *type,
	    const char *help);
/* prom_u64 / prom_secs - one sample: name{label="value"} v, the label
 * left out when label is NULL; value is escaped (prom_escape) */
void	prom_u64(struct prom *, const char *name, const char *label,
	    const char *value, uint64_t v);
/* prom_secs - v microseconds, written in seconds */
void	prom_secs(struct prom *, const char *name, const char *label,
	    const char *value, uint64_t us);

/*
 * prom_escape - a label value for the exposition: backslash, double
 * quote and newline escaped as the format wants (\\ \" \n); any other
 * control byte and any byte past ASCII becomes '?', so that the text
 * stays valid UTF-8 whatever the value.  Cut to fit dstlen.
 */
char	*prom_escape(char *dst, size_t dstlen, const char *src);

#define PROM_BUCKETS	16	/* at most, +Inf apart */

/* a histogram of durations; bounds in microseconds, ascending */
struct prom_hist {
	const uint64_t	*bounds;
	size_t		 nb;
	uint64_t	 count[PROM_BUCKETS + 1];	/* not cumulative */
	uint64_t	 n;
	uint64_t	 sum_us;
};

/* prom_hist_init - nb bounds (at most PROM_BUCKETS), kept by pointer */
void	prom_hist_init(struct prom_hist *, const uint64_t *bounds, size_t nb);
/* prom_hist_observe - one duration of us microseconds */
void	prom_hist_observe(struct prom_hist *, uint64_t us);
/* prom_hist_write - the family, buckets (le in seconds), _sum, _count */
void	prom_hist_write(struct prom *, const char *name, const char *help,
	    const struct prom_hist *);

#endif
