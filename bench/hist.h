/*
 * hist: a log-linear histogram of nanosecond values (HdrHistogram-like).
 *
 * Values below 128 have a bucket each; above, every power of two is cut
 * into 64 buckets, so a reported percentile is within 1/64 (1.6 %) of the
 * true value. The exact minimum, maximum and sum are kept as well. A
 * histogram is a fixed 30 KiB array: no allocation, no failure.
 */
#ifndef SHMBENCH_HIST_H
#define SHMBENCH_HIST_H

#include <stdint.h>

#define HIST_BUCKETS (128 + 57 * 64)

struct hist {
	uint64_t count;
	uint64_t min, max;
	long double sum;
	uint64_t b[HIST_BUCKETS];
};

void hist_init(struct hist *h);
void hist_add(struct hist *h, uint64_t v);
/* the value at quantile q (0..1): the middle of its bucket, clamped to
 * [min, max]; 0 for an empty histogram */
uint64_t hist_quantile(const struct hist *h, double q);
double hist_mean(const struct hist *h);

#endif
