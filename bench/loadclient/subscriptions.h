/* The indicator mix of bench/load/indicator_soak.py (BASE_SET and
   VARIANT_SWAPS there: keep the two in step), and the gRPC-framed
   IndicatorRequest bytes a stream sends right after opening. */
#ifndef TW_SUBSCRIPTIONS_H
#define TW_SUBSCRIPTIONS_H

#include <stddef.h>
#include <stdint.h>

#define SUBSCRIPTION_SET_SIZE 10

struct subscription {
    const char *symbol;          /* lower case, as the soak sends it */
    uint32_t type;               /* IndicatorType: 1 SMA, 2 EMA, 3 RSI */
    uint32_t period;
};

/* The n-th (0..9) subscription of stream `stream_index`. */
struct subscription subscription_of(int stream_index, int n);

/* Writes the first `count` SUBSCRIBEs of the stream, each with request_id
   "s<stream>-<n>", as gRPC messages; returns the bytes written, or 0 when
   `cap` is too small. A nonzero `candle_interval` (tickwire.v1.CandleInterval,
   e.g. 2 for 1m) computes each indicator on that interval's candle closes,
   with its provisional value on the forming candle (forming = true). */
size_t encode_subscribe_requests(int stream_index, int count, uint32_t candle_interval, uint8_t *out, size_t cap);

const char *indicator_type_name(uint32_t type);

#endif
