/*
 * hist: log-linear histogram, see hist.h.
 */
#include <config.h>

#include <string.h>

#include "hist.h"

void
hist_init(struct hist *h)
{
	memset(h, 0, sizeof *h);
	h->min = UINT64_MAX;
}

static inline unsigned
bucket_of(uint64_t v)
{
	unsigned e;

	if (v < 128)
		return (unsigned)v;
	e = 63u - (unsigned)__builtin_clzll(v);	/* 7..63 */
	return 128u + (e - 7u) * 64u + (unsigned)((v >> (e - 6u)) - 64u);
}

/* the lowest value of bucket i and its width */
static void
bucket_range(unsigned i, uint64_t *lo, uint64_t *width)
{
	unsigned e, sub;

	if (i < 128) {
		*lo = i;
		*width = 1;
		return;
	}
	e = (i - 128u) / 64u + 7u;
	sub = (i - 128u) % 64u + 64u;
	*lo = (uint64_t)sub << (e - 6u);
	*width = (uint64_t)1 << (e - 6u);
}

void
hist_add(struct hist *h, uint64_t v)
{
	h->b[bucket_of(v)]++;
	h->count++;
	h->sum += (long double)v;
	if (v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
}

uint64_t
hist_quantile(const struct hist *h, double q)
{
	uint64_t want, seen = 0;

	if (h->count == 0)
		return 0;
	if (q <= 0.0)
		return h->min;
	if (q >= 1.0)
		return h->max;
	want = (uint64_t)(q * (double)h->count);
	if ((double)want < q * (double)h->count)
		want++;
	if (want == 0)
		want = 1;
	for (unsigned i = 0; i < HIST_BUCKETS; i++) {
		seen += h->b[i];
		if (seen >= want) {
			uint64_t lo, w, v;

			bucket_range(i, &lo, &w);
			v = lo + w / 2;
			if (v < h->min)
				v = h->min;
			if (v > h->max)
				v = h->max;
			return v;
		}
	}
	return h->max;
}

double
hist_mean(const struct hist *h)
{
	return h->count ? (double)(h->sum / (long double)h->count) : 0.0;
}
