/* Latency histogram with fixed log-linear buckets (HDR-like: 2^SUB_BITS
   linear buckets per power of two, under 1% relative error), and exact
   nearest-rank percentiles of small arrays. No allocation while recording. */
#ifndef TW_STATS_H
#define TW_STATS_H

#include <stddef.h>
#include <stdint.h>

#define HISTOGRAM_SUB_BITS 7
#define HISTOGRAM_MAX_POW 42   /* values up to 2^42 ns (~73 min); larger are clamped */
#define HISTOGRAM_BUCKETS ((HISTOGRAM_MAX_POW - HISTOGRAM_SUB_BITS + 2) << HISTOGRAM_SUB_BITS)

struct histogram {
    uint64_t count;
    uint64_t max;
    uint64_t buckets[HISTOGRAM_BUCKETS];
};

void histogram_record(struct histogram *h, uint64_t value);
/* The value at quantile q (0..1), nearest rank: the upper edge of its bucket,
   capped by the maximum seen; 0 when empty. */
uint64_t histogram_quantile(const struct histogram *h, double q);

/* Nearest-rank quantile of values (sorted in place). */
uint32_t quantile_u32(uint32_t *values, size_t n, double q);

#endif
