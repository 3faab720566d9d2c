/*
 * prom - the text exposition writer and its histograms (see prom.h).
 *
 * Trusts: its callers for metric and label names (constants); nothing in
 * a label value, which is escaped.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prom.h"

/* prom_init - an empty output of at most max bytes */
void
prom_init(struct prom *p, size_t max)
{
	memset(p, 0, sizeof(*p));
	p->max = max;
}

/* prom_fini - free the text */
void
prom_fini(struct prom *p)
{
	free(p->s);
	p->s = NULL;
	p->len = p->cap = 0;
}

/* prom_failed - did some output not fit */
int
prom_failed(const struct prom *p)
{
	return p->failed;
}

/* prom_take - hand the text over */
char *
prom_take(struct prom *p, size_t *len)
{
	char	*s = p->s;

	*len = p->len;
	p->s = NULL;
	p->len = p->cap = 0;
	return s;
}

/* put - append formatted text, or fail for good */
static void __attribute__((format(printf, 2, 3)))
put(struct prom *p, const char *fmt, ...)
{
	va_list	 ap;
	size_t	 cap;
	char	*n;
	int	 k;

	if (p->failed)
		return;
	va_start(ap, fmt);
	k = vsnprintf(p->s != NULL ? p->s + p->len : NULL,
	    p->s != NULL ? p->cap - p->len : 0, fmt, ap);
	va_end(ap);
	if (k < 0) {
		p->failed = 1;
		return;
	}
	if (p->s != NULL && (size_t)k < p->cap - p->len) {
		p->len += (size_t)k;
		return;
	}
	if (p->len + (size_t)k + 1 > p->max) {
		p->failed = 1;
		return;
	}
	cap = p->cap ? p->cap : 4096;
	while (cap < p->len + (size_t)k + 1)
		cap *= 2;
	if (cap > p->max)
		cap = p->max;
	if ((n = realloc(p->s, cap)) == NULL) {
		p->failed = 1;
		return;
	}
	p->s = n;
	p->cap = cap;
	va_start(ap, fmt);
	vsnprintf(p->s + p->len, p->cap - p->len, fmt, ap);
	va_end(ap);
	p->len += (size_t)k;
}

/* prom_escape - see prom.h */
char *
prom_escape(char *dst, size_t dstlen, const char *src)
{
	size_t	 o = 0;
	unsigned char c;

	if (dstlen == 0)
		return dst;
	for (; (c = (unsigned char)*src) != '\0'; src++) {
		const char *e = NULL;
		char	 one[2] = { (char)c, '\0' };

		if (c == '\\')
			e = "\\\\";
		else if (c == '"')
			e = "\\\"";
		else if (c == '\n')
			e = "\\n";
		else if (c < 0x20 || c >= 0x7f)
			one[0] = '?';
		if (e == NULL)
			e = one;
		if (o + strlen(e) >= dstlen)
			break;
		memcpy(dst + o, e, strlen(e));
		o += strlen(e);
	}
	dst[o] = '\0';
	return dst;
}

/* prom_family - HELP and TYPE */
void
prom_family(struct prom *p, const char *name, const char *type,
    const char *help)
{
	put(p, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* sample_name - name, or name{label="value"} */
static void
sample_name(struct prom *p, const char *name, const char *label,
    const char *value)
{
	char	 esc[512];

	if (label == NULL)
		put(p, "%s ", name);
	else
		put(p, "%s{%s=\"%s\"} ", name, label,
		    prom_escape(esc, sizeof(esc), value));
}

/* prom_u64 - an integer sample */
void
prom_u64(struct prom *p, const char *name, const char *label,
    const char *value, uint64_t v)
{
	sample_name(p, name, label, value);
	put(p, "%" PRIu64 "\n", v);
}

/* prom_secs - microseconds as seconds, exactly */
void
prom_secs(struct prom *p, const char *name, const char *label,
    const char *value, uint64_t us)
{
	sample_name(p, name, label, value);
	put(p, "%" PRIu64 ".%06" PRIu64 "\n", us / 1000000u, us % 1000000u);
}

/* prom_hist_init - empty, with these bounds */
void
prom_hist_init(struct prom_hist *h, const uint64_t *bounds, size_t nb)
{
	memset(h, 0, sizeof(*h));
	h->bounds = bounds;
	h->nb = nb > PROM_BUCKETS ? PROM_BUCKETS : nb;
}

/* prom_hist_observe - a short scan: a dozen bounds fit a cache line or
 * two, and most observations stop in the first few */
void
prom_hist_observe(struct prom_hist *h, uint64_t us)
{
	size_t	 i;

	for (i = 0; i < h->nb && us > h->bounds[i]; i++)
		;
	h->count[i]++;
	h->n++;
	h->sum_us += us;
}

/* prom_hist_write - cumulative buckets, as the format wants */
void
prom_hist_write(struct prom *p, const char *name, const char *help,
    const struct prom_hist *h)
{
	char	 sname[128], le[32];
	uint64_t cum = 0;
	size_t	 i;

	prom_family(p, name, "histogram", help);
	snprintf(sname, sizeof(sname), "%s_bucket", name);
	for (i = 0; i < h->nb; i++) {
		cum += h->count[i];
		snprintf(le, sizeof(le), "%" PRIu64 ".%06" PRIu64,
		    h->bounds[i] / 1000000u, h->bounds[i] % 1000000u);
		prom_u64(p, sname, "le", le, cum);
	}
	prom_u64(p, sname, "le", "+Inf", h->n);
	snprintf(sname, sizeof(sname), "%s_sum", name);
	prom_secs(p, sname, NULL, NULL, h->sum_us);
	snprintf(sname, sizeof(sname), "%s_count", name);
	prom_u64(p, sname, NULL, NULL, h->n);
}
