#include "stats.h"

#include <stdlib.h>

/* Values below 2^SUB_BITS each have a bucket; above, a power of two is split
   into 2^SUB_BITS equal buckets. */
static size_t bucket_of(uint64_t v)
{
    if (v < (1u << HISTOGRAM_SUB_BITS)) return (size_t)v;
    int pow = 63 - __builtin_clzll(v);                 /* >= SUB_BITS */
    if (pow > HISTOGRAM_MAX_POW) return HISTOGRAM_BUCKETS - 1;
    size_t sub = (size_t)(v >> (pow - HISTOGRAM_SUB_BITS)) & ((1u << HISTOGRAM_SUB_BITS) - 1);
    return ((size_t)(pow - HISTOGRAM_SUB_BITS + 1) << HISTOGRAM_SUB_BITS) + sub;
}

static uint64_t bucket_upper(size_t b)
{
    if (b < (1u << HISTOGRAM_SUB_BITS)) return b;
    int pow = (int)(b >> HISTOGRAM_SUB_BITS) + HISTOGRAM_SUB_BITS - 1;
    uint64_t sub = b & ((1u << HISTOGRAM_SUB_BITS) - 1);
    uint64_t width = 1ull << (pow - HISTOGRAM_SUB_BITS);
    return (1ull << pow) + (sub + 1) * width - 1;
}

void histogram_record(struct histogram *h, uint64_t value)
{
    h->buckets[bucket_of(value)]++;
    h->count++;
    if (value > h->max) h->max = value;
}

uint64_t histogram_quantile(const struct histogram *h, double q)
{
    if (h->count == 0) return 0;
    uint64_t rank = (uint64_t)(q * (double)h->count + 0.999999999);
    if (rank < 1) rank = 1;
    uint64_t seen = 0;
    for (size_t b = 0; b < HISTOGRAM_BUCKETS; b++) {
        seen += h->buckets[b];
        if (seen >= rank) {
            uint64_t upper = bucket_upper(b);
            return upper < h->max ? upper : h->max;
        }
    }
    return h->max;
}

static int compare_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

uint32_t quantile_u32(uint32_t *values, size_t n, double q)
{
    if (n == 0) return 0;
    qsort(values, n, sizeof values[0], compare_u32);
    size_t rank = (size_t)(q * (double)n + 0.999999999);
    if (rank < 1) rank = 1;
    if (rank > n) rank = n;
    return values[rank - 1];
}
